#pragma once
// A real FerretDB (v1, SQLite backend) on a free loopback port, from the binary
// scripts/install-services.sh built into the service cache.
#include <chrono>
#include <string>

#include "ca4/testsupport/net.hpp"
#include "ca4/testsupport/process.hpp"

namespace ca4::testsupport {

// Owns the server process, its port and its data directory. Not thread-safe. The constructor
// starts it and returns once a `ping` through libmongoc succeeds (calls mongoc_init(), which is
// idempotent; never mongoc_cleanup(), which belongs to the test's main). Throws
// std::runtime_error with the tail of the server log on failure. The destructor stops it.
class FerretDb {
 public:
  explicit FerretDb(std::chrono::seconds startTimeout = std::chrono::seconds(60));
  ~FerretDb();
  FerretDb(const FerretDb&) = delete;
  FerretDb& operator=(const FerretDb&) = delete;

  // "mongodb://127.0.0.1:PORT/" — the same across stop()/start(). No credentials.
  std::string uri() const;
  int port() const { return port_; }

  void stop();   // graceful; data stays; idempotent
  void kill();   // SIGKILL; idempotent
  void start();  // same port and data; waits until a ping succeeds; no-op if running
  bool running();
  std::chrono::milliseconds lastStartDuration() const { return lastStart_; }
  std::filesystem::path serverLog() const;

 private:
  std::chrono::seconds startTimeout_;
  TempDir dir_;
  std::filesystem::path binary_;
  int port_ = 0;
  Process process_;
  std::chrono::milliseconds lastStart_{0};
};

}  // namespace ca4::testsupport
