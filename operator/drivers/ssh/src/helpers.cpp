// Pure helpers: fingerprints, known_hosts names and lookup, shell quoting, error construction.
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <sstream>

#include "known_hosts.h"

namespace ca4::drivers::ssh {

std::string_view toString(SshErrorKind k) {
  switch (k) {
    case SshErrorKind::Unreachable:
      return "unreachable";
    case SshErrorKind::Timeout:
      return "timeout";
    case SshErrorKind::AuthFailed:
      return "auth-failed";
    case SshErrorKind::HostKeyMismatch:
      return "host-key-mismatch";
    case SshErrorKind::HostKeyUnknown:
      return "host-key-unknown";
    case SshErrorKind::CommandFailed:
      return "command-failed";
    case SshErrorKind::Sftp:
      return "sftp";
    case SshErrorKind::Other:
      return "other";
  }
  return "other";
}

std::string fingerprintSha256(const std::string& keyBlob) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(keyBlob.data(), keyBlob.size(), digest, &len, EVP_sha256(), nullptr);
  std::string b64 = detail::base64Encode(std::string(reinterpret_cast<char*>(digest), len));
  while (!b64.empty() && b64.back() == '=') b64.pop_back();  // OpenSSH prints it unpadded
  return "SHA256:" + b64;
}

std::string knownHostsName(const std::string& address, std::uint16_t port) {
  if (port == 22) return address;
  return "[" + address + "]:" + std::to_string(port);
}

std::string shellQuote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') {
      out += "'\\''";  // close, escaped quote, reopen
    } else {
      out += c;
    }
  }
  out += '\'';
  return out;
}

namespace detail {

namespace {

bool globMatch(const char* p, const char* s) {
  for (; *p; ++p, ++s) {
    if (*p == '*') {
      for (;; ++s) {
        if (globMatch(p + 1, s)) return true;
        if (!*s) return false;
      }
    }
    if (!*s) return false;
    if (*p != '?' && *p != *s) return false;
  }
  return *s == '\0';
}

// "|1|base64(salt)|base64(HMAC-SHA1(salt, host))"
bool hashedMatch(const std::string& pattern, const std::string& hostName) {
  auto sep = pattern.find('|', 3);
  if (sep == std::string::npos) return false;
  auto salt = base64Decode(pattern.substr(3, sep - 3));
  auto want = base64Decode(pattern.substr(sep + 1));
  if (!salt || !want) return false;
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (!HMAC(EVP_sha1(), salt->data(), static_cast<int>(salt->size()),
            reinterpret_cast<const unsigned char*>(hostName.data()), hostName.size(), mac, &len)) {
    return false;
  }
  return *want == std::string(reinterpret_cast<char*>(mac), len);
}

}  // namespace

bool hostPatternsMatch(const std::string& patterns, const std::string& hostName) {
  if (patterns.rfind("|1|", 0) == 0) return hashedMatch(patterns, hostName);
  bool matched = false;
  std::stringstream ss(patterns);
  std::string p;
  while (std::getline(ss, p, ',')) {
    if (p.empty()) continue;
    bool negated = p[0] == '!';
    if (negated) p.erase(0, 1);
    if (globMatch(p.c_str(), hostName.c_str())) {
      if (negated) return false;  // a negated match excludes the host from the whole line
      matched = true;
    }
  }
  return matched;
}

KnownHostsVerdict checkKnownHosts(const std::string& fileText, const std::string& hostName,
                                  const std::string& keyBlob) {
  KnownHostsVerdict v;
  bool match = false;
  std::stringstream lines(fileText);
  std::string line;
  while (std::getline(lines, line)) {
    std::stringstream fields(line);
    std::string first;
    if (!(fields >> first) || first[0] == '#') continue;
    std::string marker;
    if (first[0] == '@') {
      marker = first;
      if (!(fields >> first)) continue;
    }
    std::string type, b64;
    if (!(fields >> type >> b64)) continue;
    if (marker == "@cert-authority") continue;
    if (!hostPatternsMatch(first, hostName)) continue;
    auto blob = base64Decode(b64);
    if (!blob) continue;
    if (marker == "@revoked") {
      if (*blob == keyBlob) return {KnownHostsVerdict::Kind::Revoked, {}};
      continue;
    }
    if (*blob == keyBlob) match = true;
    v.expected.push_back(fingerprintSha256(*blob));
  }
  if (match) {
    v.kind = KnownHostsVerdict::Kind::Match;
  } else {
    v.kind =
        v.expected.empty() ? KnownHostsVerdict::Kind::Unknown : KnownHostsVerdict::Kind::Mismatch;
  }
  return v;
}

std::string knownHostsLine(const std::string& hostName, const std::string& keyType,
                           const std::string& keyBlob) {
  return hostName + " " + keyType + " " + base64Encode(keyBlob) + "\n";
}

Error makeError(SshErrorKind kind, const std::string& message, const std::string& fix) {
  std::string msg = "[" + std::string(toString(kind)) + "] " + message;
  // Retry class, decided here once: a host that is down or slow can come back without the user
  // doing anything; auth, host keys, failing commands and SFTP refusals need a change.
  if (kind == SshErrorKind::Unreachable || kind == SshErrorKind::Timeout) {
    return Error::retryable(std::move(msg), fix);
  }
  return Error::terminal(std::move(msg), fix);
}

std::string describe(const Endpoint& ep) {
  std::string where =
      (ep.user.empty() ? "" : ep.user + "@") + ep.address + ":" + std::to_string(ep.port);
  return ep.name.empty() ? where : ep.name + " (" + where + ")";
}

std::string tail(const std::string& s, std::size_t n) {
  return s.size() <= n ? s : s.substr(s.size() - n);
}

}  // namespace detail
}  // namespace ca4::drivers::ssh
