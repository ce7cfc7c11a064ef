#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <string>

#include "ca4/engine/clock.h"
#include "ca4/engine/state.h"
#include "fs.h"

namespace ca4::engine {
namespace {

struct Holder {
  std::string pid, command, since;
};

// The lock file holds one line "<pid> <command…> <started_at>"; the command may contain spaces.
Holder parseHolder(const std::string& text) {
  std::string line = text.substr(0, text.find('\n'));
  Holder h;
  const auto first = line.find(' ');
  const auto last = line.rfind(' ');
  if (first == std::string::npos || last == first) return h;
  h.pid = line.substr(0, first);
  h.command = line.substr(first + 1, last - first - 1);
  h.since = line.substr(last + 1);
  return h;
}

Error heldBy(const std::string& path) {
  std::string text;
  fs::readFile(path, text);
  const Holder h = parseHolder(text);
  if (h.pid.empty()) {
    // The holder has locked but not yet written its line.
    return Error::terminal("another ca4ctl holds " + path, "wait for it to finish");
  }
  const std::string cmd = h.command.rfind("ca4ctl", 0) == 0 ? h.command : "ca4ctl " + h.command;
  return Error::terminal(
      "another ca4ctl holds " + path + " (pid " + h.pid + ", `" + cmd + "`, since " + h.since + ")",
      "wait for it to finish, or stop it (kill " + h.pid + ")");
}

}  // namespace

Result<StateLock> StateLock::acquire(const std::string& dir, const std::string& command) {
  if (auto st = fs::ensureDir(dir); !st.ok()) return st.error();
  const std::string path = dir + "/state.lock";
  // O_CLOEXEC: processes ca4ctl starts must not inherit (and so keep) the lock.
  fs::Fd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (!fd.valid()) {
    const int err = errno;
    return Error::terminal("cannot open " + path + ": " + fs::errnoText(err),
                           "check the permissions of " + dir);
  }
  // flock is per open file description: a second acquire() in this process conflicts too.
  while (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno == EINTR) continue;
    if (errno == EWOULDBLOCK) return heldBy(path);
    const int err = errno;
    return Error::terminal("cannot lock " + path + ": " + fs::errnoText(err),
                           "check that " + dir + " is on a local file system");
  }
  const std::string line = std::to_string(::getpid()) + " " + command + " " +
                           rfc3339(std::chrono::system_clock::now()) + "\n";
  // Best effort: the holder line only improves the refusal message of a second ca4ctl.
  if (::ftruncate(fd.get(), 0) == 0) {
    const ssize_t n = ::pwrite(fd.get(), line.data(), line.size(), 0);
    static_cast<void>(n);
  }
  return StateLock(fd.release());
}

StateLock::StateLock(StateLock&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }

StateLock& StateLock::operator=(StateLock&& o) noexcept {
  if (this != &o) {
    StateLock old(std::move(*this));  // releases ours at end of scope
    fd_ = o.fd_;
    o.fd_ = -1;
  }
  return *this;
}

StateLock::~StateLock() {
  if (fd_ < 0) return;
  // Clear the holder line while still holding the lock, then release by closing.
  const int rc = ::ftruncate(fd_, 0);
  static_cast<void>(rc);
  ::close(fd_);
}

}  // namespace ca4::engine
