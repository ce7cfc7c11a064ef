#pragma once
// A real OpenSSH server (Debian's /usr/sbin/sshd) on a free loopback port for the SSH driver's
// integration tests: `sshd -D -e -f <generated sshd_config>`, a fresh ed25519 host key, public
// key auth only (root allowed: tests run as root in CI containers), TCP forwarding allowed,
// internal-sftp. LogLevel DEBUG1 shows direct-tcpip targets ("target 127.0.0.2 port N") and
// "userauth-request" lines, but then sshd -e also writes debug lines ("debug1: SELinux support
// disabled") into every session's stderr: use VERBOSE where a test checks a command's stderr.
#include <chrono>
#include <filesystem>
#include <string>

#include "ca4/testsupport/net.hpp"
#include "ca4/testsupport/process.hpp"

namespace ca4::testsupport {

struct SshUserKey {
  std::filesystem::path privateKey;  // the file ssh-keygen wrote (mode 0600)
  std::string publicLine;            // "ssh-ed25519 AAAA… comment"
};

// Generates a user key pair with ssh-keygen: `type` "ed25519" or "rsa" (3072 bits); encrypted
// with `passphrase` when not empty. Throws std::runtime_error when ssh-keygen fails.
SshUserKey generateSshUserKey(const std::filesystem::path& dir, const std::string& name,
                              const std::string& type = "ed25519",
                              const std::string& passphrase = "");

// Owns the sshd process, its directory (host key, config, authorized_keys) and its port. Not
// thread-safe. The constructor returns once the port accepts connections; throws with the log tail.
class SshServer {
 public:
  // `listenAddress`: any loopback address (127.0.0.2 works on Linux without configuration).
  // `logLevel`: sshd's LogLevel (VERBOSE, DEBUG1, …).
  explicit SshServer(const std::string& name = "sshd",
                     const std::string& listenAddress = "127.0.0.1",
                     const std::string& logLevel = "VERBOSE",
                     std::chrono::seconds startTimeout = std::chrono::seconds(30));
  ~SshServer();
  SshServer(const SshServer&) = delete;
  SshServer& operator=(const SshServer&) = delete;

  const std::string& address() const { return address_; }
  int port() const { return port_; }
  // "[address]:port ssh-ed25519 AAAA…\n": a known_hosts line for this server.
  std::string hostKeyLine() const;
  // "ssh-ed25519 AAAA…" (no host pattern).
  const std::string& hostPublicKey() const { return hostPublicKey_; }
  // Appends the key to the server's authorized_keys (sshd reads it per connection).
  void authorize(const SshUserKey& key);
  const std::filesystem::path& dir() const { return dir_.path(); }
  std::filesystem::path serverLog() const;

  void stop();  // idempotent; established sessions live on (as with OpenSSH's listener)
  // SIGKILLs the listener and every session process: all connections drop, as when the host dies.
  void killAll();
  // The same sshd (port, host key, config) again after stop()/killAll(); returns once it listens.
  void start();
  // killAll(), then start().
  void restart();
  bool running();

 private:
  TempDir dir_;
  std::string name_;
  std::chrono::seconds startTimeout_{30};
  std::string address_;
  int port_ = 0;
  std::string hostPublicKey_;
  Process process_;
};

}  // namespace ca4::testsupport
