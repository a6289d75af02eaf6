#include "model/safetensors.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "core/half.hpp"

namespace osprey {

namespace {

size_t dtype_size(const std::string& dtype) {
  if (dtype == "F32" || dtype == "I32" || dtype == "U32") return 4;
  if (dtype == "F16" || dtype == "BF16" || dtype == "I16" || dtype == "U16") return 2;
  if (dtype == "F64" || dtype == "I64" || dtype == "U64") return 8;
  if (dtype == "I8" || dtype == "U8" || dtype == "BOOL") return 1;
  return 0;
}


}  // namespace

SafetensorsFile::SafetensorsFile(const std::string& path) : path_(path) {
  const int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0) throw ModelError(cat(path, ": cannot open weights file: ", std::strerror(errno)));
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    throw ModelError(cat(path, ": not a regular file"));
  }
  size_ = static_cast<size_t>(st.st_size);
  if (size_ < 8) {
    ::close(fd);
    throw ModelError(cat(path, ": not a safetensors file (", size_, " bytes, shorter than the 8-byte header length)"));
  }
  void* map = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
  ::close(fd);
  if (map == MAP_FAILED) throw ModelError(cat(path, ": cannot map file: ", std::strerror(errno)));
  data_ = static_cast<const unsigned char*>(map);

  try {
    uint64_t header_len = 0;
    for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | data_[i];
    if (header_len > size_ - 8)
      throw ModelError(cat(path, ": header length ", header_len, " exceeds the file size ", size_, " (truncated or not safetensors)"));
    nlohmann::json header;
    try {
      header = nlohmann::json::parse(data_ + 8, data_ + 8 + header_len);
    } catch (const nlohmann::json::exception& e) {
      throw ModelError(cat(path, ": safetensors header is not valid JSON (", e.what(), ")"));
    }
    if (!header.is_object()) throw ModelError(cat(path, ": safetensors header is not a JSON object"));
    const size_t data_start = 8 + header_len;
    const size_t data_size = size_ - data_start;
    for (const auto& [name, info] : header.items()) {
      if (name == "__metadata__") {
        if (info.is_object())
          for (const auto& [k, v] : info.items())
            if (v.is_string()) metadata_[k] = v.get<std::string>();
        continue;
      }
      if (!info.is_object() || !info.contains("dtype") || !info.contains("shape") || !info.contains("data_offsets"))
        throw ModelError(cat(path, ": tensor '", name, "': entry needs dtype, shape and data_offsets"));
      Entry e;
      e.dtype = info["dtype"].is_string() ? info["dtype"].get<std::string>() : "";
      const size_t elem = dtype_size(e.dtype);
      if (elem == 0) throw ModelError(cat(path, ": tensor '", name, "': unknown dtype ", info["dtype"].dump()));
      const auto& shape = info["shape"];
      const auto& offsets = info["data_offsets"];
      if (!shape.is_array() || !offsets.is_array() || offsets.size() != 2 || !offsets[0].is_number_unsigned() ||
          !offsets[1].is_number_unsigned())
        throw ModelError(cat(path, ": tensor '", name, "': malformed shape or data_offsets"));
      size_t count = 1;
      for (const auto& d : shape) {
        if (!d.is_number_unsigned()) throw ModelError(cat(path, ": tensor '", name, "': malformed shape ", shape.dump()));
        e.shape.push_back(d.get<int64_t>());
        count *= d.get<size_t>();
      }
      const size_t begin = offsets[0].get<size_t>(), end = offsets[1].get<size_t>();
      if (end < begin || end - begin != count * elem)
        throw ModelError(cat(path, ": tensor '", name, "': data_offsets [", begin, ", ", end, ") hold ", end - begin,
                             " bytes but shape ", to_string(e.shape), " of ", e.dtype, " needs ", count * elem));
      if (end > data_size)
        throw ModelError(cat(path, ": tensor '", name, "' ends at byte ", end, " of the data section but the file holds only ",
                             data_size, " (truncated file)"));
      e.begin = data_start + begin;
      e.end = data_start + end;
      entries_[name] = std::move(e);
    }
  } catch (...) {
    ::munmap(const_cast<unsigned char*>(data_), size_);
    throw;
  }
}

SafetensorsFile::~SafetensorsFile() {
  if (data_) ::munmap(const_cast<unsigned char*>(data_), size_);
}

Tensor SafetensorsFile::read(const std::string& name) const {
  auto it = entries_.find(name);
  if (it == entries_.end()) throw ModelError(cat(path_, ": no tensor '", name, "'"));
  const Entry& e = it->second;
  Tensor t(e.shape);
  const unsigned char* src = data_ + e.begin;
  const size_t n = t.data.size();
  if (e.dtype == "F32") {
    std::memcpy(t.data.data(), src, n * 4);
  } else if (e.dtype == "F16") {
    for (size_t i = 0; i < n; ++i) t.data[i] = half_to_float(static_cast<uint16_t>(src[2 * i] | (src[2 * i + 1] << 8)));
  } else if (e.dtype == "BF16") {
    for (size_t i = 0; i < n; ++i) t.data[i] = bfloat16_to_float(static_cast<uint16_t>(src[2 * i] | (src[2 * i + 1] << 8)));
  } else if (e.dtype == "F64") {
    for (size_t i = 0; i < n; ++i) {
      double d;
      std::memcpy(&d, src + 8 * i, 8);
      t.data[i] = static_cast<float>(d);
    }
  } else {
    throw ModelError(cat(path_, ": tensor '", name, "' has dtype ", e.dtype, ", expected a floating-point type"));
  }
  return t;
}

void write_safetensors(const std::string& path, const std::map<std::string, Tensor>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  nlohmann::json header = nlohmann::json::object();
  size_t offset = 0;
  for (const auto& [name, t] : tensors) {
    const size_t bytes = t.data.size() * 4;
    header[name] = {{"dtype", "F32"}, {"shape", t.shape}, {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
  }
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::string text = header.dump();
  while (text.size() % 8) text += ' ';
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary);
    if (!out) throw ModelError(cat(path, ": cannot write"));
    const uint64_t len = text.size();
    unsigned char le[8];
    for (int i = 0; i < 8; ++i) le[i] = static_cast<unsigned char>(len >> (8 * i));
    out.write(reinterpret_cast<const char*>(le), 8);
    out << text;
    for (const auto& [name, t] : tensors) out.write(reinterpret_cast<const char*>(t.data.data()), t.data.size() * 4);
    if (!out) throw ModelError(cat(path, ": write failed"));
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) throw ModelError(cat(path, ": cannot rename temporary file"));
}

}  // namespace osprey
