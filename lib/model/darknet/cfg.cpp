#include "model/darknet/cfg.hpp"

#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <fstream>

#include "core/error.hpp"

namespace osprey::darknet {

std::string CfgSection::where(const std::string& file) const { return cat(file, ":", line, ": [", type, "]"); }

const CfgOption* CfgSection::find(const std::string& key) const {
  // Darknet takes the first occurrence of a key
  for (const auto& o : options)
    if (o.key == key) return &o;
  return nullptr;
}

bool CfgSection::has(const std::string& key) const { return find(key) != nullptr; }

void Cfg::fail(const CfgSection& s, const std::string& problem) const { throw ModelError(cat(s.where(path), ": ", problem)); }

void Cfg::fail(const CfgSection& s, const std::string& key, const std::string& problem) const {
  const CfgOption* o = s.find(key);
  throw ModelError(cat(path, ":", o ? o->line : s.line, ": [", s.type, "] ", key, ": ", problem));
}

namespace {

bool parse_long(const std::string& text, long& out) {
  if (text.empty()) return false;
  char* end = nullptr;
  errno = 0;
  out = std::strtol(text.c_str(), &end, 10);
  return errno == 0 && *end == '\0';
}

bool parse_float(const std::string& text, float& out) {
  if (text.empty()) return false;
  char* end = nullptr;
  errno = 0;
  out = std::strtof(text.c_str(), &end);
  return errno == 0 && *end == '\0';
}

std::vector<std::string> split_commas(const std::string& text) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    const size_t comma = text.find(',', start);
    parts.push_back(text.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  if (!parts.empty() && parts.back().empty()) parts.pop_back();  // "1,2," as Darknet tolerates
  return parts;
}

}  // namespace

int Cfg::integer(const CfgSection& s, const std::string& key, int fallback) const {
  const CfgOption* o = s.find(key);
  if (!o) return fallback;
  long v = 0;
  if (!parse_long(o->value, v) || v < -1000000000L || v > 1000000000L) fail(s, key, cat("expected an integer, got '", o->value, "'"));
  return static_cast<int>(v);
}

float Cfg::number(const CfgSection& s, const std::string& key, float fallback) const {
  const CfgOption* o = s.find(key);
  if (!o) return fallback;
  float v = 0;
  if (!parse_float(o->value, v)) fail(s, key, cat("expected a number, got '", o->value, "'"));
  return v;
}

std::string Cfg::string(const CfgSection& s, const std::string& key, const std::string& fallback) const {
  const CfgOption* o = s.find(key);
  return o ? o->value : fallback;
}

std::vector<int> Cfg::integers(const CfgSection& s, const std::string& key) const {
  std::vector<int> out;
  const CfgOption* o = s.find(key);
  if (!o) return out;
  for (const auto& part : split_commas(o->value)) {
    long v = 0;
    if (!parse_long(part, v) || v < -1000000000L || v > 1000000000L)
      fail(s, key, cat("expected comma-separated integers, got '", o->value, "'"));
    out.push_back(static_cast<int>(v));
  }
  return out;
}

std::vector<float> Cfg::numbers(const CfgSection& s, const std::string& key) const {
  std::vector<float> out;
  const CfgOption* o = s.find(key);
  if (!o) return out;
  for (const auto& part : split_commas(o->value)) {
    float v = 0;
    if (!parse_float(part, v)) fail(s, key, cat("expected comma-separated numbers, got '", o->value, "'"));
    out.push_back(v);
  }
  return out;
}

Cfg read_cfg(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ModelError(cat(path, ": cannot open Darknet cfg file"));
  Cfg cfg;
  cfg.path = path;
  std::string raw;
  for (int line = 1; std::getline(in, raw); ++line) {
    std::string text;
    for (char c : raw)
      if (!std::isspace(static_cast<unsigned char>(c))) text += c;
    if (text.empty() || text[0] == '#' || text[0] == ';') continue;
    if (text[0] == '[') {
      if (text.back() != ']') throw ModelError(cat(path, ":", line, ": malformed section header '", raw, "'"));
      cfg.sections.push_back({text.substr(1, text.size() - 2), line, {}});
      continue;
    }
    const size_t eq = text.find('=');
    if (eq == std::string::npos || eq == 0) throw ModelError(cat(path, ":", line, ": expected key=value, got '", raw, "'"));
    if (cfg.sections.empty()) throw ModelError(cat(path, ":", line, ": option '", text.substr(0, eq), "' before the first section"));
    cfg.sections.back().options.push_back({text.substr(0, eq), text.substr(eq + 1), line});
  }
  if (cfg.sections.empty()) throw ModelError(cat(path, ": no sections (is this a Darknet .cfg file?)"));
  if (cfg.sections[0].type != "net" && cfg.sections[0].type != "network")
    throw ModelError(cat(path, ":", cfg.sections[0].line, ": the first section must be [net], got [", cfg.sections[0].type, "]"));
  return cfg;
}

}  // namespace osprey::darknet
