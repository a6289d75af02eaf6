#include "io/inputs.hpp"

#include <glob.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <set>

#include "core/error.hpp"

namespace osprey {

namespace fs = std::filesystem;

bool has_image_extension(const std::string& path) {
  static const std::set<std::string> extensions{".jpg", ".jpeg", ".png", ".bmp", ".pgm", ".ppm", ".pbm",
                                                ".pnm", ".tif", ".tiff", ".webp", ".jp2"};
  std::string ext = fs::path(path).extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return extensions.count(ext) != 0;
}

namespace {

void add_directory(const std::string& dir, bool recursive, std::vector<std::string>& out) {
  std::vector<std::string> found;
  std::error_code ec;
  auto visit = [&](const fs::directory_entry& e) {
    if (e.is_regular_file(ec) && has_image_extension(e.path().string())) found.push_back(e.path().string());
  };
  if (recursive) {
    for (const auto& e : fs::recursive_directory_iterator(dir, fs::directory_options::skip_permission_denied, ec)) visit(e);
  } else {
    for (const auto& e : fs::directory_iterator(dir, ec)) visit(e);
  }
  std::sort(found.begin(), found.end());
  out.insert(out.end(), found.begin(), found.end());
}

bool is_glob(const std::string& s) { return s.find_first_of("*?[") != std::string::npos; }

void add_argument(const std::string& arg, bool recursive, InputList& list, std::vector<std::string>& out);

void add_lines(std::istream& in, const fs::path& base, bool recursive, InputList& list, std::vector<std::string>& out) {
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty() || line[0] == '#') continue;
    const fs::path p(line);
    // A listed path that does not exist is still an input: its error is reported in order.
    const std::string full = (p.is_absolute() || base.empty()) ? line : (base / p).lexically_normal().string();
    if (is_glob(line) || fs::is_directory(full)) {
      add_argument(full, recursive, list, out);
    } else {
      out.push_back(full);
    }
  }
}

void add_argument(const std::string& arg, bool recursive, InputList& list, std::vector<std::string>& out) {
  std::error_code ec;
  if (arg == "-") {
    add_lines(std::cin, {}, recursive, list, out);
  } else if (arg.size() > 1 && arg[0] == '@') {
    const std::string file = arg.substr(1);
    std::ifstream in(file);
    if (!in) {
      list.errors.push_back(cat(file, ": cannot open list file"));
      return;
    }
    add_lines(in, fs::path(file).parent_path(), recursive, list, out);
  } else if (fs::is_directory(arg, ec)) {
    add_directory(arg, recursive, out);
  } else if (is_glob(arg) && !fs::exists(arg, ec)) {
    glob_t g{};
    if (::glob(arg.c_str(), 0, nullptr, &g) == 0) {
      for (size_t i = 0; i < g.gl_pathc; ++i) out.push_back(g.gl_pathv[i]);  // glob sorts
    } else {
      list.errors.push_back(cat(arg, ": no file matches this pattern"));
    }
    globfree(&g);
  } else {
    out.push_back(arg);  // a file; if it is missing, reading it reports the error
  }
}

}  // namespace

InputList discover_inputs(const std::vector<std::string>& args, bool recursive) {
  InputList list;
  std::vector<std::string> all;
  for (const auto& arg : args) add_argument(arg, recursive, list, all);
  std::set<std::string> seen;
  for (auto& p : all)
    if (seen.insert(p).second) list.paths.push_back(std::move(p));
  return list;
}

}  // namespace osprey
