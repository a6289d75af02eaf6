// Darknet's network description (.cfg): an INI-like list of sections ([net], [convolutional],
// [maxpool], [route], [yolo] ...) with key=value options. Read as Darknet's read_cfg does
// (src/parser.c, pjreddie/darknet): all whitespace in a line is dropped, lines starting with
// '#' or ';' are comments, options before the first section are errors.
#pragma once

#include <string>
#include <vector>

namespace osprey::darknet {

struct CfgOption {
  std::string key, value;
  int line = 0;
};

struct CfgSection {
  std::string type;  // without brackets: "convolutional"
  int line = 0;      // where the header is
  std::vector<CfgOption> options;

  // "<file>:<line>: [type]": the prefix of every message about this section.
  std::string where(const std::string& file) const;
  bool has(const std::string& key) const;
  const CfgOption* find(const std::string& key) const;
};

struct Cfg {
  std::string path;
  std::vector<CfgSection> sections;  // sections[0] is [net] (or [network])

  // Typed option access with Darknet's defaults; a malformed value is a ModelError naming
  // the file, the line and the key.
  int integer(const CfgSection& s, const std::string& key, int fallback) const;
  float number(const CfgSection& s, const std::string& key, float fallback) const;
  std::string string(const CfgSection& s, const std::string& key, const std::string& fallback) const;
  std::vector<int> integers(const CfgSection& s, const std::string& key) const;    // "1,2,3"; empty if absent
  std::vector<float> numbers(const CfgSection& s, const std::string& key) const;   // "0.5,1"; empty if absent
  [[noreturn]] void fail(const CfgSection& s, const std::string& problem) const;
  [[noreturn]] void fail(const CfgSection& s, const std::string& key, const std::string& problem) const;
};

Cfg read_cfg(const std::string& path);

}  // namespace osprey::darknet
