// A one-line progress report on stderr for long batches (done/total, images/s, ETA),
// redrawn in place; shown only when stderr is a terminal.
#pragma once

#include <chrono>

namespace osprey {

class Progress {
 public:
  Progress(int total, bool enabled);
  void update(int done);
  void finish();

 private:
  int total_;
  bool enabled_;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_draw_;
  bool drawn_ = false;
};

bool stderr_is_terminal();

}  // namespace osprey
