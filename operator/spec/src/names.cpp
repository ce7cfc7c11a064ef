#include "names.h"

#include <algorithm>

namespace ca4::spec::detail {
namespace {

bool isLowerAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool isTopicChar(char c) {
  return isLowerAlnum(c) || (c >= 'A' && c <= 'Z') || c == '.' || c == '_' || c == '-';
}
std::string shown(std::string_view s) {
  return "\"" + std::string(s.substr(0, 64)) + (s.size() > 64 ? "…\"" : "\"");
}

}  // namespace

std::string dns1123Problem(std::string_view name) {
  constexpr std::string_view kRule =
      "must be a DNS-1123 label (lowercase letters, digits, '-', at most 63, starting and ending "
      "with a letter or digit), got ";
  const bool ok =
      !name.empty() && name.size() <= 63 && isLowerAlnum(name.front()) &&
      isLowerAlnum(name.back()) &&
      std::all_of(name.begin(), name.end(), [](char c) { return isLowerAlnum(c) || c == '-'; });
  return ok ? std::string{} : std::string(kRule) + shown(name);
}

std::string topicProblem(std::string_view name) {
  if (name.empty() || name == "." || name == "..") return "is not a valid Kafka topic name";
  if (name.size() > 249)
    return "must be at most 249 characters, got " + std::to_string(name.size());
  if (!std::all_of(name.begin(), name.end(), isTopicChar)) {
    return "may only contain [a-zA-Z0-9._-], got " + shown(name);
  }
  return {};
}

}  // namespace ca4::spec::detail

namespace ca4::spec::detail {

std::size_t invalidUtf8At(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    std::size_t len = 0;
    unsigned lo = 0x80, hi = 0xBF;  // allowed range of the second byte
    if (c < 0x80) {
      ++i;
      continue;
    } else if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      if (c == 0xE0) lo = 0xA0;  // overlong
      if (c == 0xED) hi = 0x9F;  // surrogates
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      if (c == 0xF0) lo = 0x90;  // overlong
      if (c == 0xF4) hi = 0x8F;  // above U+10FFFF
    } else {
      return i;
    }
    if (i + len > s.size()) return i;
    for (std::size_t k = 1; k < len; ++k) {
      const auto b = static_cast<unsigned char>(s[i + k]);
      const unsigned min = k == 1 ? lo : 0x80, max = k == 1 ? hi : 0xBF;
      if (b < min || b > max) return i;
    }
    i += len;
  }
  return std::string_view::npos;
}

}  // namespace ca4::spec::detail
