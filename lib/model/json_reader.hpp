// Strict reading of JSON objects: every key is read through a reader that knows where it
// is ("configs/resnet50.json: input.mean"), so a wrong type or an unknown key is a
// one-line error naming the file and the key, never silence.
#pragma once

#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "core/error.hpp"

namespace osprey {

class ObjectReader {
 public:
  // `where` prefixes every message: "<file>: <path>".
  ObjectReader(const nlohmann::json& object, std::string file, std::string path = "");

  bool has(const std::string& key) const;
  const nlohmann::json& raw(const std::string& key);  // marks the key as read

  std::string string(const std::string& key);
  std::string string(const std::string& key, const std::string& fallback);
  int integer(const std::string& key);
  int integer(const std::string& key, int fallback);
  double number(const std::string& key);
  double number(const std::string& key, double fallback);
  bool boolean(const std::string& key, bool fallback);
  std::vector<double> numbers(const std::string& key);
  std::vector<int> integers(const std::string& key);
  // An int or a pair of ints ([h, w]); a single int means both.
  std::array<int, 2> pair(const std::string& key, std::array<int, 2> fallback);
  ObjectReader object(const std::string& key);

  // Throws if the object has a key nobody read.
  void finish() const;

  [[noreturn]] void fail(const std::string& key, const std::string& problem) const;
  const std::string& file() const { return file_; }
  std::string where(const std::string& key) const;

 private:
  const nlohmann::json& get(const std::string& key, nlohmann::json::value_t type, const char* type_name);

  const nlohmann::json& object_;
  std::string file_;
  std::string path_;
  std::set<std::string> read_;
};

// Parses a JSON file; errors name the file (and line for syntax errors).
nlohmann::json read_json_file(const std::string& path);

}  // namespace osprey
