// Errors inside the library are exceptions whose message is one line naming the
// file (or model part) and the problem; apps catch them and map them to exit codes.
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>

namespace osprey {

// Concatenates anything printable into one string: cat("tensor ", name, " has ", n, " dims").
template <typename... Args>
std::string cat(Args&&... args) {
  std::ostringstream out;
  (out << ... << std::forward<Args>(args));
  return out.str();
}

// A problem with the model: config, weights, graph. Tools exit with code 2 on these.
class ModelError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A problem with one input (an image that cannot be read). Batch tools report it and go on.
class InputError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace osprey
