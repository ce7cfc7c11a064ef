// Small POSIX file helpers shared by the state store and the lock. Internal to the engine.
#pragma once

#include <string>

#include "ca4/engine/result.h"

namespace ca4::engine::fs {

// Owns a file descriptor; closes it on destruction.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& o) noexcept : fd_(o.release()) {}
  Fd& operator=(Fd&& o) noexcept;
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd();
  int get() const { return fd_; }
  int release();
  bool valid() const { return fd_ >= 0; }

 private:
  int fd_ = -1;
};

// strerror_r as a std::string.
std::string errnoText(int err);

// mkdir -p; directories it creates get mode 0700 (existing ones are left as they are).
Status ensureDir(const std::string& dir);

// Writes all of `data` (retrying short writes and EINTR). Returns 0 or an errno value.
int writeAll(int fd, const std::string& data);

// Reads the whole file. Returns 0 or an errno value (ENOENT when it does not exist).
int readFile(const std::string& path, std::string& out);

}  // namespace ca4::engine::fs
