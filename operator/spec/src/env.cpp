#include "env.h"

#include <cstdlib>

namespace ca4::spec {

EnvLookup processEnv() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* v = std::getenv(name.c_str());  // NOLINT(concurrency-mt-unsafe): read-only use
    if (v == nullptr) return std::nullopt;
    return std::string(v);
  };
}

namespace detail {
namespace {

bool isNameStart(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_'; }
bool isNameChar(char c) { return isNameStart(c) || (c >= '0' && c <= '9'); }

}  // namespace

bool isEnvName(std::string_view s) {
  if (s.empty() || !isNameStart(s.front())) return false;
  for (char c : s) {
    if (!isNameChar(c)) return false;
  }
  return true;
}

std::optional<std::string> wholeRef(std::string_view text) {
  if (text.size() < 4 || text.substr(0, 2) != "${" || text.back() != '}') return std::nullopt;
  const auto name = text.substr(2, text.size() - 3);
  if (!isEnvName(name)) return std::nullopt;
  return std::string(name);
}

Interpolated interpolate(std::string_view text, const EnvLookup& env) {
  Interpolated out;
  std::size_t i = 0;
  while (i < text.size()) {
    if (text.substr(i, 3) == "$${") {
      out.value += "${";
      i += 3;
      continue;
    }
    if (text.substr(i, 2) != "${") {
      out.value += text[i++];
      continue;
    }
    const auto close = text.find('}', i + 2);
    const auto name =
        close == std::string_view::npos ? std::string_view{} : text.substr(i + 2, close - i - 2);
    if (!isEnvName(name)) {
      out.malformed = true;
      out.value += text.substr(i);
      break;
    }
    const auto v = env ? env(std::string(name)) : std::nullopt;
    if (v) {
      out.value += *v;
    } else {
      out.unset.emplace_back(name);
    }
    i = close + 1;
  }
  return out;
}

std::string escapeRefs(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s.substr(i, 2) == "${") out += '$';
    out += s[i];
  }
  return out;
}

}  // namespace detail
}  // namespace ca4::spec
