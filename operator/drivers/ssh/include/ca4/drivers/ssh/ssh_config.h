// The ~/.ssh/config keywords ca4ctl honours — HostName, User, Port, IdentityFile, ProxyJump —
// with OpenSSH's rules: blocks are `Host` pattern lists (`*`, `?`, `!negation`), keywords are
// case-insensitive (`Keyword value` or `Keyword=value`, values may be "quoted"), and for each
// keyword the FIRST value obtained wins. `Match` blocks are skipped and `Include` is not
// followed (both are reported in `ignored`). Pure: the caller reads the file.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace ca4::drivers::ssh {

struct HostConfig {
  std::string hostName;      // %h replaced by the host looked up, %% by %
  std::string user;
  std::uint16_t port = 0;    // 0 = not set
  std::string identityFile;  // first IdentityFile, ~ not expanded
  std::string proxyJump;     // as written ("none" = explicitly none)
  std::vector<std::string> ignored;  // "Match at line 12", "Include at line 3"
};

HostConfig lookupSshConfig(const std::string& configText, const std::string& host);

struct JumpHost {
  std::string user;  // "" = not given
  std::string host;
  std::uint16_t port = 0;  // 0 = not given
};
// "[user@]host[:port][,…]" (ProxyJump's syntax; "[v6]:port" too). Empty or "none" → {}.
std::vector<JumpHost> parseProxyJump(const std::string& value);

}  // namespace ca4::drivers::ssh
