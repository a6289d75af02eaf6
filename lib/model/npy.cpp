#include "model/npy.hpp"

#include <cstring>
#include <fstream>
#include <regex>

#include "core/error.hpp"

namespace osprey {

Tensor read_npy(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ModelError(cat(path, ": cannot open"));
  char magic[8];
  if (!in.read(magic, 8) || std::memcmp(magic, "\x93NUMPY", 6) != 0) throw ModelError(cat(path, ": not a .npy file"));
  uint32_t header_len = 0;
  unsigned char len_bytes[4] = {0, 0, 0, 0};
  const int len_size = magic[6] == 1 ? 2 : 4;
  if (!in.read(reinterpret_cast<char*>(len_bytes), len_size)) throw ModelError(cat(path, ": truncated .npy header"));
  for (int i = len_size - 1; i >= 0; --i) header_len = (header_len << 8) | len_bytes[i];
  std::string header(header_len, '\0');
  if (!in.read(header.data(), header_len)) throw ModelError(cat(path, ": truncated .npy header"));

  std::smatch m;
  if (!std::regex_search(header, m, std::regex("'descr':\\s*'([^']*)'"))) throw ModelError(cat(path, ": .npy header has no descr"));
  const std::string descr = m[1];
  if (std::regex_search(header, std::regex("'fortran_order':\\s*True"))) throw ModelError(cat(path, ": Fortran-order arrays are not supported"));
  if (!std::regex_search(header, m, std::regex("'shape':\\s*\\(([^)]*)\\)"))) throw ModelError(cat(path, ": .npy header has no shape"));
  Shape shape;
  const std::string dims = m[1];
  const std::regex number("\\d+");
  for (std::sregex_iterator it(dims.begin(), dims.end(), number), end; it != end; ++it) shape.push_back(std::stoll(it->str()));

  Tensor t(shape);
  const size_t n = t.data.size();
  if (descr == "<f4") {
    if (!in.read(reinterpret_cast<char*>(t.data.data()), static_cast<std::streamsize>(n * 4))) throw ModelError(cat(path, ": truncated data"));
  } else if (descr == "<f8") {
    std::vector<double> d(n);
    if (!in.read(reinterpret_cast<char*>(d.data()), static_cast<std::streamsize>(n * 8))) throw ModelError(cat(path, ": truncated data"));
    for (size_t i = 0; i < n; ++i) t.data[i] = static_cast<float>(d[i]);
  } else {
    throw ModelError(cat(path, ": dtype '", descr, "' is not supported (float32 or float64 expected)"));
  }
  return t;
}

void write_npy(const std::string& path, const Tensor& tensor) {
  std::string shape;
  for (size_t i = 0; i < tensor.shape.size(); ++i) shape += std::to_string(tensor.shape[i]) + (tensor.shape.size() == 1 || i + 1 < tensor.shape.size() ? "," : "");
  std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': (" + shape + "), }";
  while ((10 + header.size() + 1) % 64) header += ' ';
  header += '\n';
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary);
    if (!out) throw ModelError(cat(path, ": cannot write"));
    out.write("\x93NUMPY\x01\x00", 8);
    const uint16_t len = static_cast<uint16_t>(header.size());
    const char le[2] = {static_cast<char>(len & 0xff), static_cast<char>(len >> 8)};
    out.write(le, 2);
    out << header;
    out.write(reinterpret_cast<const char*>(tensor.data.data()), static_cast<std::streamsize>(tensor.data.size() * 4));
    if (!out) throw ModelError(cat(path, ": write failed"));
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) throw ModelError(cat(path, ": cannot rename temporary file"));
}

}  // namespace osprey
