#pragma once
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>

namespace ca4::testsupport {

// A TCP port on 127.0.0.1 that was free a moment ago (bound to port 0, then closed). Within one
// process a port is never handed out twice, so a fixture asking for two gets two different ones.
// Another process may still take it first: fixtures keep the port for their whole life.
int freeLoopbackPort();

// A listening TCP socket on 127.0.0.1 at a kernel-chosen port (written to `port`); the caller
// owns the fd. Throws on failure.
int listenLoopback(std::uint16_t& port, int backlog = 64);

// A TCP socket connected to 127.0.0.1:port (blocking, close-on-exec), or -1 if the connect fails.
int connectLoopback(std::uint16_t port);

// True once a TCP connect to host:port succeeds; false after `timeout`.
bool waitForTcp(const std::string& host, int port, std::chrono::milliseconds timeout);

// A fresh directory under $TMPDIR (or /tmp), removed with its contents on destruction unless
// CA4_KEEP_TEMP=1 is set (then its path is printed to stderr, for debugging).
class TempDir {
 public:
  explicit TempDir(const std::string& prefix = "ca4-test");
  TempDir(TempDir&& other) noexcept;
  TempDir& operator=(TempDir&&) = delete;
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir();
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// Root of the installed services: $CA4_CACHE, else $HOME/.cache/ca4.
std::filesystem::path serviceCache();

// The version recorded by scripts/install-services.sh for `component` (kafka, ferretdb,
// s3-moto). Throws std::runtime_error telling the user to run scripts/install-services.sh when
// the component is not installed.
std::string requireInstalled(const std::string& component);

// The repository root (for scripts/services/*): $CA4_SOURCE_DIR, else the configured source dir.
std::filesystem::path sourceDir();
// Where the project's binaries are (ca4ctl, ca4-processor, …): $CA4_BIN_DIR (ctest sets it),
// else build/bin.
std::filesystem::path binDir();

}  // namespace ca4::testsupport
