// Input discovery for batch tools: each argument is a file, a directory (images directly
// inside it, or below it with `recursive`), a glob pattern, `@list.txt` (one path per
// line, relative to the list file), or `-` (paths on standard input). Directory listings
// and glob matches are sorted, so runs are reproducible.
#pragma once

#include <string>
#include <vector>

namespace osprey {

struct InputList {
  std::vector<std::string> paths;   // in the order given, duplicates removed
  std::vector<std::string> errors;  // one line each: an argument that names nothing readable
};

InputList discover_inputs(const std::vector<std::string>& args, bool recursive);

bool has_image_extension(const std::string& path);

}  // namespace osprey
