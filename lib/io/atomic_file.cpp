#include "io/atomic_file.hpp"

#include <unistd.h>

#include <array>
#include <atomic>
#include <cstdio>
#include <cstring>

#include "core/error.hpp"

namespace osprey {

namespace {
// Temporary names of uncommitted files, for cleanup from a signal handler.
constexpr int kMaxPending = 16;
std::array<std::atomic<const char*>, kMaxPending> pending{};
}  // namespace

AtomicFile::AtomicFile(const std::string& path) : path_(path), tmp_(path + ".tmp." + std::to_string(::getpid())) {
  out_.open(tmp_, std::ios::binary | std::ios::trunc);
  if (!out_) throw InputError(cat(path, ": cannot create output file: ", std::strerror(errno)));
  for (auto& slot : pending) {
    const char* expected = nullptr;
    if (slot.compare_exchange_strong(expected, tmp_.c_str())) break;
  }
}

AtomicFile::~AtomicFile() {
  for (auto& slot : pending) {
    const char* expected = tmp_.c_str();
    slot.compare_exchange_strong(expected, nullptr);
  }
  if (!committed_) {
    out_.close();
    std::remove(tmp_.c_str());
  }
}

void AtomicFile::commit() {
  out_.flush();
  out_.close();
  if (out_.fail()) throw InputError(cat(path_, ": write failed"));
  if (std::rename(tmp_.c_str(), path_.c_str()) != 0) throw InputError(cat(path_, ": cannot rename into place: ", std::strerror(errno)));
  committed_ = true;
}

void remove_pending_atomic_files() {
  for (auto& slot : pending)
    if (const char* name = slot.load()) ::unlink(name);
}

void write_file_atomically(const std::string& path, const std::string& bytes) {
  AtomicFile f(path);
  f.stream() << bytes;
  f.commit();
}

}  // namespace osprey
