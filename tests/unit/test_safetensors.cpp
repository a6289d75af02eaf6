// The safetensors reader: round trip, and every way a file can be broken gives a clear error.
#include <doctest/doctest.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "core/error.hpp"
#include "model/safetensors.hpp"

using namespace osprey;

namespace {

std::string temp_path(const std::string& name) { return std::string(OSPREY_BINARY_DIR) + "/unit_" + name; }

std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void write_all(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out << bytes;
}

// A raw file: 8-byte length, header text, data.
std::string raw_file(const std::string& header, const std::string& data) {
  std::string bytes(8, '\0');
  for (int i = 0; i < 8; ++i) bytes[i] = static_cast<char>((header.size() >> (8 * i)) & 0xff);
  return bytes + header + data;
}

std::string error_of(const std::string& path) {
  try {
    SafetensorsFile f(path);
  } catch (const ModelError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("round trip keeps names + shapes + values and metadata") {
  const std::string path = temp_path("roundtrip.safetensors");
  std::map<std::string, Tensor> tensors{{"a.weight", Tensor({2, 3}, {1, 2, 3, 4, 5, 6})}, {"b", Tensor({1}, {-7.5f})}};
  write_safetensors(path, tensors, {{"model", "test"}});
  SafetensorsFile f(path);
  CHECK(f.entries().size() == 2);
  CHECK(f.metadata().at("model") == "test");
  CHECK(f.read("a.weight").shape == Shape{2, 3});
  CHECK(f.read("a.weight").data == std::vector<float>{1, 2, 3, 4, 5, 6});
  CHECK(f.read("b").data[0] == -7.5f);
}

TEST_CASE("F16 and BF16 tensors are widened to float32") {
  const std::string path = temp_path("half.safetensors");
  // 1.0 = 0x3c00 (f16), -2.0 = 0xc000; bf16 1.5 = 0x3fc0
  const std::string data("\x00\x3c\x00\xc0\xc0\x3f", 6);
  write_all(path, raw_file(R"({"h":{"dtype":"F16","shape":[2],"data_offsets":[0,4]},"b":{"dtype":"BF16","shape":[1],"data_offsets":[4,6]}})", data));
  SafetensorsFile f(path);
  CHECK(f.read("h").data == std::vector<float>{1.0f, -2.0f});
  CHECK(f.read("b").data[0] == 1.5f);
}

TEST_CASE("truncated files are rejected with the tensor and the sizes") {
  const std::string path = temp_path("trunc.safetensors");
  write_safetensors(path, {{"w", Tensor({4, 4})}});
  const std::string bytes = read_all(path);
  write_all(path, bytes.substr(0, bytes.size() - 10));
  const std::string err = error_of(path);
  CHECK(err.find("'w'") != std::string::npos);
  CHECK(err.find("truncated") != std::string::npos);
  CHECK(err.find(path) != std::string::npos);

  write_all(path, bytes.substr(0, 5));
  CHECK(error_of(path).find("shorter than the 8-byte header length") != std::string::npos);
  write_all(path, bytes.substr(0, 20));
  CHECK(error_of(path).find("exceeds the file size") != std::string::npos);
}

TEST_CASE("malformed headers are rejected") {
  const std::string path = temp_path("bad.safetensors");
  write_all(path, raw_file("{not json", ""));
  CHECK(error_of(path).find("not valid JSON") != std::string::npos);
  write_all(path, raw_file(R"({"w":{"dtype":"F99","shape":[1],"data_offsets":[0,4]}})", std::string(4, '\0')));
  CHECK(error_of(path).find("unknown dtype") != std::string::npos);
  write_all(path, raw_file(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}})", std::string(4, '\0')));
  CHECK(error_of(path).find("needs 8") != std::string::npos);
  write_all(path, raw_file(R"({"w":{"dtype":"F32","shape":[1]}})", std::string(4, '\0')));
  CHECK(error_of(path).find("needs dtype, shape and data_offsets") != std::string::npos);
  CHECK(error_of(temp_path("does_not_exist.safetensors")).find("cannot open") != std::string::npos);
}
