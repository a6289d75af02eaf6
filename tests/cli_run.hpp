// Running an Osprey command-line tool from a test as a user would: through the shell, with
// its exit code, stdout and stderr captured; and reading what it wrote (files, JSON lines).
// Header-only, included by the CLI tests of several test executables.
#pragma once

#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

namespace osprey::test {

struct CommandResult {
  int code;  // the exit code, -1 when the command did not exit normally
  std::string out, err;
};

// The whole file as bytes ("" when it cannot be read).
inline std::string slurp(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// `dir`, emptied (created when missing).
inline std::filesystem::path fresh_directory(const std::filesystem::path& dir) {
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

// Runs `command` through the shell, capturing stdout and stderr in files in `dir` named by
// the process id (ctest runs test cases in parallel processes).
inline CommandResult run_command(const std::string& command, const std::filesystem::path& dir) {
  std::filesystem::create_directories(dir);
  const std::string base = (dir / ("run" + std::to_string(::getpid()))).string();
  const int status = std::system((command + " >" + base + ".out 2>" + base + ".err").c_str());
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, slurp(base + ".out"), slurp(base + ".err")};
}

// JSON lines: one document per non-empty line.
inline std::vector<nlohmann::json> json_lines(const std::string& text) {
  std::vector<nlohmann::json> v;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) v.push_back(nlohmann::json::parse(line));
  return v;
}

}  // namespace osprey::test
