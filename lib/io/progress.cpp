#include "io/progress.hpp"

#include <unistd.h>

#include <cstdio>

namespace osprey {

bool stderr_is_terminal() { return ::isatty(STDERR_FILENO) == 1; }

Progress::Progress(int total, bool enabled)
    : total_(total), enabled_(enabled), start_(std::chrono::steady_clock::now()), last_draw_(start_) {}

void Progress::update(int done) {
  if (!enabled_) return;
  const auto now = std::chrono::steady_clock::now();
  if (done < total_ && now - last_draw_ < std::chrono::milliseconds(200)) return;
  last_draw_ = now;
  const double seconds = std::chrono::duration<double>(now - start_).count();
  const double rate = seconds > 0 ? done / seconds : 0.0;
  const int eta = rate > 0 ? static_cast<int>((total_ - done) / rate) : 0;
  std::fprintf(stderr, "\r%d/%d  %.1f images/s  ETA %d:%02d   ", done, total_, rate, eta / 60, eta % 60);
  std::fflush(stderr);
  drawn_ = true;
}

void Progress::finish() {
  if (enabled_ && drawn_) std::fprintf(stderr, "\n");
}

}  // namespace osprey
