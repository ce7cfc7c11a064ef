// ~/.ssh/config lookup (pure; see ssh_config.h).
#include <ca4/drivers/ssh/ssh_config.h>

#include <algorithm>
#include <cctype>
#include <sstream>


namespace ca4::drivers::ssh {
namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

// Splits a config line into words: whitespace or one '=' separates the keyword; "quoted" words.
std::vector<std::string> words(const std::string& line) {
  std::vector<std::string> out;
  std::string cur;
  bool quoted = false, any = false;
  for (std::size_t i = 0; i < line.size(); ++i) {
    char c = line[i];
    if (quoted) {
      if (c == '"') quoted = false;
      else cur += c;
      continue;
    }
    if (c == '"') {
      quoted = true;
      any = true;
    } else if (std::isspace(static_cast<unsigned char>(c)) || (c == '=' && out.empty())) {
      if (any || !cur.empty()) out.push_back(cur);
      cur.clear();
      any = false;
    } else if (c == '#' && cur.empty() && !any) {
      break;
    } else {
      cur += c;
      any = true;
    }
  }
  if (any || !cur.empty()) out.push_back(cur);
  return out;
}

bool glob(const char* p, const char* s) {
  for (; *p; ++p, ++s) {
    if (*p == '*') {
      for (const char* t = s;; ++t) {
        if (glob(p + 1, t)) return true;
        if (!*t) return false;
      }
    }
    if (!*s) return false;
    if (*p != '?' && std::tolower(static_cast<unsigned char>(*p)) != std::tolower(static_cast<unsigned char>(*s)))
      return false;
  }
  return *s == 0;
}

// OpenSSH: a Host line matches if any positive pattern matches and no negated one does.
bool hostLineMatches(const std::vector<std::string>& patterns, const std::string& host) {
  bool positive = false;
  for (const auto& p : patterns) {
    if (!p.empty() && p[0] == '!') {
      if (glob(p.c_str() + 1, host.c_str())) return false;
    } else if (glob(p.c_str(), host.c_str())) {
      positive = true;
    }
  }
  return positive;
}

std::string expandTokens(const std::string& v, const std::string& host) {
  std::string out;
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (v[i] == '%' && i + 1 < v.size()) {
      if (v[i + 1] == 'h') {
        out += host;
        ++i;
        continue;
      }
      if (v[i + 1] == '%') {
        out += '%';
        ++i;
        continue;
      }
    }
    out += v[i];
  }
  return out;
}

}  // namespace

HostConfig lookupSshConfig(const std::string& text, const std::string& host) {
  HostConfig c;
  bool active = true;  // lines before the first Host apply to every host
  bool hasPort = false;
  std::istringstream in(text);
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    ++n;
    auto w = words(line);
    if (w.empty()) continue;
    const std::string key = lower(w[0]);
    if (key == "host") {
      active = hostLineMatches({w.begin() + 1, w.end()}, host);
      continue;
    }
    if (key == "match") {
      active = false;
      c.ignored.push_back("Match at line " + std::to_string(n));
      continue;
    }
    if (key == "include") {
      c.ignored.push_back("Include at line " + std::to_string(n));
      continue;
    }
    if (!active || w.size() < 2) continue;
    const std::string& v = w[1];
    if (key == "hostname" && c.hostName.empty()) c.hostName = expandTokens(v, host);
    else if (key == "user" && c.user.empty()) c.user = v;
    else if (key == "port" && !hasPort) {
      int p = std::atoi(v.c_str());
      if (p > 0 && p < 65536) c.port = static_cast<std::uint16_t>(p);
      hasPort = true;
    } else if (key == "identityfile" && c.identityFile.empty()) c.identityFile = expandTokens(v, host);
    else if (key == "proxyjump" && c.proxyJump.empty()) c.proxyJump = v;
  }
  return c;
}

std::vector<JumpHost> parseProxyJump(const std::string& value) {
  std::vector<JumpHost> out;
  if (value.empty() || lower(value) == "none") return out;
  std::string item;
  std::istringstream in(value);
  while (std::getline(in, item, ',')) {
    if (item.empty()) continue;
    JumpHost j;
    auto at = item.rfind('@');
    if (at != std::string::npos) {
      j.user = item.substr(0, at);
      item = item.substr(at + 1);
    }
    if (!item.empty() && item[0] == '[') {
      auto close = item.find(']');
      j.host = item.substr(1, close == std::string::npos ? std::string::npos : close - 1);
      if (close != std::string::npos && close + 1 < item.size() && item[close + 1] == ':')
        j.port = static_cast<std::uint16_t>(std::atoi(item.c_str() + close + 2));
    } else {
      auto colon = item.rfind(':');
      if (colon != std::string::npos && item.find(':') == colon) {
        j.host = item.substr(0, colon);
        j.port = static_cast<std::uint16_t>(std::atoi(item.c_str() + colon + 1));
      } else {
        j.host = item;
      }
    }
    out.push_back(j);
  }
  return out;
}

}  // namespace ca4::drivers::ssh
