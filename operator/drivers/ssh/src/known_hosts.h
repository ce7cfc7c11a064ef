// Internal, pure: known_hosts (OpenSSH format) lookup, error construction. Unit-tested in
// tests/ssh_test.cpp; no I/O here.
#pragma once

#include <ca4/common/base64.h>
#include <ca4/drivers/ssh/ssh.h>

#include <optional>
#include <string>
#include <vector>

namespace ca4::drivers::ssh::detail {

// base64: ca4::common::base64Encode / base64Decode (ca4/common/base64.h).
using common::base64Decode;
using common::base64Encode;

// One host pattern list of a known_hosts line ("a,[b]:2222,!c,*.lan" or "|1|salt|hmac") against a
// host name as built by knownHostsName(). Negations win; '*' and '?' wildcards as OpenSSH.
bool hostPatternsMatch(const std::string& patterns, const std::string& hostName);

struct KnownHostsVerdict {
  enum class Kind { Match, Unknown, Mismatch, Revoked };
  Kind kind = Kind::Unknown;
  // Mismatch: "SHA256:…" of every key the file lists for the host (in file order).
  std::vector<std::string> expected;
};

// Looks `hostName` up in the text of a known_hosts file. Match: a line for the host holds exactly
// `keyBlob`. Mismatch: the host has lines, none with this key (another key of the same or another
// type, as OpenSSH: a changed key is never silently accepted). Revoked: a `@revoked` line holds
// this key. `@cert-authority` lines and malformed lines are ignored.
KnownHostsVerdict checkKnownHosts(const std::string& fileText, const std::string& hostName,
                                  const std::string& keyBlob);

// "ssh-ed25519 AAAA…" → the line appended for accept-new: "<hostName> <type> <base64>\n".
std::string knownHostsLine(const std::string& hostName, const std::string& keyType,
                           const std::string& keyBlob);

// "[host-key-mismatch] <message>" with the kind's retry class (unreachable/timeout retryable).
Error makeError(SshErrorKind kind, const std::string& message, const std::string& fix = {});

// "node (root@10.0.0.5:22)" for messages.
std::string describe(const Endpoint& ep);

// The last `n` bytes of `s` (for stderr tails in messages).
std::string tail(const std::string& s, std::size_t n = 2048);

}  // namespace ca4::drivers::ssh::detail
