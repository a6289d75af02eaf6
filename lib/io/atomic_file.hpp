// A file that appears whole or not at all: written to a temporary name beside the target
// and renamed over it on commit(). If the writer fails or the program is interrupted
// before commit, the temporary file is removed and the target is untouched.
#pragma once

#include <fstream>
#include <string>

namespace osprey {

class AtomicFile {
 public:
  explicit AtomicFile(const std::string& path);  // throws InputError if the directory is not writable
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  std::ostream& stream() { return out_; }
  void commit();  // throws if anything failed to write

 private:
  std::string path_;
  std::string tmp_;
  std::ofstream out_;
  bool committed_ = false;
};

// Writes `bytes` to `path` atomically (an AtomicFile written and committed at once).
void write_file_atomically(const std::string& path, const std::string& bytes);

// Removes every temporary file of live AtomicFiles; for signal handlers (async-signal-safe).
void remove_pending_atomic_files();

}  // namespace osprey
