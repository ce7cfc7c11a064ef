#pragma once
// RAII child processes for integration tests: servers (Kafka, FerretDB, S3) and the project's
// own binaries (ca4-processor, ca4-worker).
//
// Thread-safety: a Process is not thread-safe; use it from one thread (normally the test's).
#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace ca4::testsupport {

struct ProcessOptions {
  std::vector<std::string> argv;  // argv[0] is looked up in PATH when it has no '/'
  // Added to (or replacing entries of) the parent's environment.
  std::vector<std::pair<std::string, std::string>> env;
  std::filesystem::path cwd;      // empty: the parent's working directory
  std::filesystem::path logFile;  // stdout and stderr, appended; empty: /dev/null
};

class Process {
 public:
  // Starts the child in its own process group. A crashed or SIGKILLed test leaves no server
  // behind: the child gets SIGKILL as its parent-death signal, and a small watchdog process
  // (forked alongside, holding one end of a pipe from this process) SIGKILLs the whole group
  // (grandchildren included) when this process dies. Throws std::runtime_error if exec fails (the
  // error comes back from the child through a close-on-exec pipe, so "not found" is reported here).
  static Process start(ProcessOptions options);

  Process() = default;
  Process(Process&& other) noexcept;
  Process& operator=(Process&& other) noexcept;
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;
  ~Process();  // stop() with the default grace period

  // True while the child has not exited (reaps it if it has).
  bool alive();
  // SIGTERM to the whole group, SIGKILL to the group after `grace`; waits for the exit.
  // Returns the exit status as from exitStatus(). Idempotent: a stopped process stays stopped.
  std::optional<int> stop(std::chrono::milliseconds grace = std::chrono::seconds(15));
  // SIGKILL to the whole group and wait. Idempotent.
  std::optional<int> kill();
  // Waits up to `timeout` for the child to exit by itself; nullopt if it is still running.
  std::optional<int> wait(std::chrono::milliseconds timeout);
  // After exit: the exit code, or 128 + signal number when a signal ended it.
  std::optional<int> exitStatus() const { return status_; }

  pid_t pid() const { return pid_; }
  const std::filesystem::path& logFile() const { return logFile_; }

 private:
  void reap(bool block);
  void releaseWatchdog();
  pid_t pid_ = -1;
  pid_t watchdog_ = -1;
  int watchdogPipe_ = -1;  // write end; EOF without a byte = this process died
  std::optional<int> status_;
  std::filesystem::path logFile_;
};

// SIGKILLs every process (not this one) whose command line mentions `dir`, and returns how many.
// For suite teardowns: what the product under test started in a test's temp dir and never
// recorded (e.g. a run killed mid-way) must not outlive the test.
int killProcessesMentioning(const std::filesystem::path& dir);

// The last `lines` lines of a text file ("" if it cannot be read), for error messages.
std::string tailFile(const std::filesystem::path& file, std::size_t lines = 40);

}  // namespace ca4::testsupport
