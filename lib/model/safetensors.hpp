// Reader for safetensors files, the weights format Osprey loads.
//
// Format: an 8-byte little-endian unsigned header length N; N bytes of UTF-8 JSON mapping
// each tensor name to {"dtype", "shape", "data_offsets": [begin, end]} (plus an optional
// "__metadata__" object of strings); then the data section, where each tensor's bytes
// (little-endian, row-major) lie at [begin, end) relative to the section's start.
//
// Everything is validated when the file is opened: the header length against the file
// size, the JSON, each dtype, that end - begin equals the shape's byte size, and that
// every range lies inside the file. The file is memory-mapped; tensors are converted to
// float32 on read (F16, BF16 and F64 are accepted).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "core/tensor.hpp"

namespace osprey {

class SafetensorsFile {
 public:
  struct Entry {
    std::string dtype;
    Shape shape;
    size_t begin = 0;  // absolute file offsets
    size_t end = 0;
  };

  explicit SafetensorsFile(const std::string& path);
  ~SafetensorsFile();
  SafetensorsFile(const SafetensorsFile&) = delete;
  SafetensorsFile& operator=(const SafetensorsFile&) = delete;

  const std::string& path() const { return path_; }
  const std::map<std::string, Entry>& entries() const { return entries_; }
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  bool contains(const std::string& name) const { return entries_.count(name) != 0; }
  Tensor read(const std::string& name) const;

 private:
  std::string path_;
  const unsigned char* data_ = nullptr;
  size_t size_ = 0;
  std::map<std::string, Entry> entries_;
  std::map<std::string, std::string> metadata_;
};

// Writes tensors as F32 (used by tools and tests); atomically replaces `path`.
void write_safetensors(const std::string& path, const std::map<std::string, Tensor>& tensors,
                       const std::map<std::string, std::string>& metadata = {});

}  // namespace osprey
