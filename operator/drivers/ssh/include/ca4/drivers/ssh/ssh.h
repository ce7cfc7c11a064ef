// SSH for ca4ctl (libssh 0.10; no `ssh` binary anywhere): sessions to a bastion and, through a
// `direct-tcpip` channel over the bastion's session, to private hosts (ProxyJump semantics,
// chainable); host keys verified against a known_hosts file; key-file or agent auth; exec with
// exit status and output; SFTP upload with a checksum check; local port forwards (tunnels).
//
// Errors are engine::Error with an SshErrorKind in front of the message ("[host-key-mismatch] …"):
// unreachable and timeouts are retryable; auth failures, host key mismatch/unknown (strict) and
// command failures are terminal. Messages name the host (name, address:port) and, for host
// keys, both SHA256 fingerprints; they never contain key material, passphrases or command output
// beyond the last 2 KiB of stderr.
#pragma once

#include <ca4/engine/result.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace ca4::drivers::ssh {

using engine::Error;
using engine::Result;

enum class SshErrorKind { Unreachable, Timeout, AuthFailed, HostKeyMismatch, HostKeyUnknown, CommandFailed, Sftp, Other };
std::string_view toString(SshErrorKind k);  // "unreachable", "auth-failed", "host-key-mismatch", …

enum class HostKeyPolicy { Strict, AcceptNew };  // as OpenSSH StrictHostKeyChecking yes / accept-new

struct Endpoint {
  std::string name;     // for messages: "bastion", "edge-1"
  std::string address;  // host or IP as seen from the previous hop
  std::uint16_t port = 22;
  std::string user;
  std::string identityFile;  // "" = ssh-agent ($SSH_AUTH_SOCK), then ~/.ssh/id_ed25519, id_rsa
};

struct Options {
  std::string knownHosts;  // path; "" = ~/.ssh/known_hosts
  HostKeyPolicy hostKeyPolicy = HostKeyPolicy::Strict;
  std::string passphrase;  // for encrypted private keys; never logged
  std::chrono::seconds connectTimeout{10};
  std::chrono::seconds keepAlive{15};  // 0 = off
  // Cipher preference, both directions ("" = libssh's default, chacha20-poly1305 first). AES-GCM
  // first: with AES instructions it costs about half the CPU per byte of chacha20-poly1305
  // (measured with OpenSSH on this project's machines, bench/README.md), which bounds a tunnel.
  std::string ciphers =
      "aes128-gcm@openssh.com,aes256-gcm@openssh.com,chacha20-poly1305@openssh.com,aes128-ctr,aes256-ctr";
};

struct ExecResult {
  int exitStatus = -1;
  std::string out;  // stdout
  std::string err;  // stderr
};

class Session;

// Connects (TCP + handshake + host key check + auth) to `target`, through `jumps` in order
// (jumps[0] is reached directly; each next hop through a direct-tcpip channel of the previous).
Result<std::unique_ptr<Session>> connect(const Endpoint& target, const std::vector<Endpoint>& jumps,
                                         const Options& options);

class Session {
 public:
  virtual ~Session() = default;
  virtual const Endpoint& endpoint() const = 0;
  // Runs `command` (through the remote user's shell); stdin from `input` when given. A non-zero
  // exit status is NOT an error here (see run()); transport failures are.
  virtual Result<ExecResult> exec(const std::string& command, const std::string& input = {},
                                  std::chrono::seconds timeout = std::chrono::seconds(600)) = 0;
  // exec() that turns a non-zero exit status into a terminal CommandFailed error naming the
  // command (`what` replaces it in messages when it would show a secret) and stderr's tail.
  virtual Result<ExecResult> run(const std::string& command, const std::string& what = {},
                                 std::chrono::seconds timeout = std::chrono::seconds(600)) = 0;
  // SFTP upload to `remotePath` (written to remotePath + ".ca4tmp", then renamed), with `mode`;
  // then `sha256sum remotePath` must match the local file's sha256 (else Sftp error).
  virtual engine::Status upload(const std::string& localPath, const std::string& remotePath, int mode = 0644) = 0;
  // Reads a remote file over SFTP (size limit 16 MiB).
  virtual Result<std::string> readFile(const std::string& remotePath) = 0;
  // A channel to host:port as seen from this host (direct-tcpip), as a connected local socket
  // fd (a socketpair end, pumped by a thread owned by the session). The caller closes it.
  virtual Result<int> openTcp(const std::string& host, std::uint16_t port) = 0;
  // Pumps the connected stream socket `fd` (always taken over; closed on failure or when either
  // side ends) to a direct-tcpip channel to host:port as seen from this host: a local port
  // forward's accepted connection, without a socketpair in between.
  virtual engine::Status forward(int fd, const std::string& host, std::uint16_t port) = 0;
  // False once any hop's connection is lost (a failed keepalive or read); never true again.
  virtual bool connected() = 0;
  // Channels currently pumped (openTcp/forward) on the target hop.
  virtual std::size_t openForwards() = 0;
};

// ---- pure helpers (unit-tested) ----
// "SHA256:base64…" fingerprint of a public key blob (as OpenSSH prints it).
std::string fingerprintSha256(const std::string& keyBlob);
// The known_hosts host pattern for address:port: "addr" for port 22, "[addr]:port" otherwise.
std::string knownHostsName(const std::string& address, std::uint16_t port);
// Single-quotes `s` for a POSIX shell command line.
std::string shellQuote(const std::string& s);

}  // namespace ca4::drivers::ssh
