#include "model/json_reader.hpp"

#include <fstream>
#include <sstream>

namespace osprey {

using nlohmann::json;

static const char* type_name(const json& value) {
  switch (value.type()) {
    case json::value_t::null: return "null";
    case json::value_t::object: return "an object";
    case json::value_t::array: return "an array";
    case json::value_t::string: return "a string";
    case json::value_t::boolean: return "a boolean";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned: return "an integer";
    case json::value_t::number_float: return "a number";
    default: return "something else";
  }
}

ObjectReader::ObjectReader(const json& object, std::string file, std::string path)
    : object_(object), file_(std::move(file)), path_(std::move(path)) {
  if (!object_.is_object())
    throw ModelError(cat(file_, ": ", path_.empty() ? "the top level" : path_, " should be an object, got ", type_name(object_)));
}

std::string ObjectReader::where(const std::string& key) const { return path_.empty() ? key : path_ + "." + key; }

void ObjectReader::fail(const std::string& key, const std::string& problem) const {
  throw ModelError(cat(file_, ": ", where(key), ": ", problem));
}

bool ObjectReader::has(const std::string& key) const { return object_.contains(key); }

const json& ObjectReader::raw(const std::string& key) {
  if (!has(key)) fail(key, "missing");
  read_.insert(key);
  return object_.at(key);
}

const json& ObjectReader::get(const std::string& key, json::value_t type, const char* wanted) {
  const json& value = raw(key);
  const bool ok = value.type() == type || (type == json::value_t::number_float && value.is_number()) ||
                  (type == json::value_t::number_integer && value.is_number_integer());
  if (!ok) fail(key, cat("expected ", wanted, ", got ", type_name(value)));
  return value;
}

std::string ObjectReader::string(const std::string& key) { return get(key, json::value_t::string, "a string").get<std::string>(); }
std::string ObjectReader::string(const std::string& key, const std::string& fallback) { return has(key) ? string(key) : fallback; }
int ObjectReader::integer(const std::string& key) { return get(key, json::value_t::number_integer, "an integer").get<int>(); }
int ObjectReader::integer(const std::string& key, int fallback) { return has(key) ? integer(key) : fallback; }
double ObjectReader::number(const std::string& key) { return get(key, json::value_t::number_float, "a number").get<double>(); }
double ObjectReader::number(const std::string& key, double fallback) { return has(key) ? number(key) : fallback; }
bool ObjectReader::boolean(const std::string& key, bool fallback) {
  return has(key) ? get(key, json::value_t::boolean, "true or false").get<bool>() : fallback;
}

std::vector<double> ObjectReader::numbers(const std::string& key) {
  const json& value = get(key, json::value_t::array, "an array of numbers");
  std::vector<double> out;
  for (const auto& v : value) {
    if (!v.is_number()) fail(key, cat("expected an array of numbers, found ", type_name(v), " in it"));
    out.push_back(v.get<double>());
  }
  return out;
}

std::vector<int> ObjectReader::integers(const std::string& key) {
  const json& value = get(key, json::value_t::array, "an array of integers");
  std::vector<int> out;
  for (const auto& v : value) {
    if (!v.is_number_integer()) fail(key, cat("expected an array of integers, found ", type_name(v), " in it"));
    out.push_back(v.get<int>());
  }
  return out;
}

std::array<int, 2> ObjectReader::pair(const std::string& key, std::array<int, 2> fallback) {
  if (!has(key)) return fallback;
  const json& value = raw(key);
  if (value.is_number_integer()) return {value.get<int>(), value.get<int>()};
  if (value.is_array() && value.size() == 2 && value[0].is_number_integer() && value[1].is_number_integer())
    return {value[0].get<int>(), value[1].get<int>()};
  fail(key, cat("expected an integer or [h, w], got ", type_name(value)));
}

ObjectReader ObjectReader::object(const std::string& key) {
  return ObjectReader(get(key, json::value_t::object, "an object"), file_, where(key));
}

void ObjectReader::finish() const {
  for (const auto& [key, value] : object_.items())
    if (!read_.count(key)) fail(key, "unknown key");
}

json read_json_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw ModelError(cat(path, ": cannot open file"));
  std::stringstream text;
  text << in.rdbuf();
  try {
    return json::parse(text.str());
  } catch (const json::parse_error& e) {
    throw ModelError(cat(path, ": invalid JSON: ", e.what()));
  }
}

}  // namespace osprey
