#include "json_scan.h"

namespace ca4::envelope::detail {

std::optional<std::size_t> firstInvalidUtf8(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const std::size_t n = s.size();
  std::size_t i = 0;
  while (i < n) {
    const unsigned c = p[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    std::size_t len = 0;
    unsigned lo = 0x80, hi = 0xBF;  // allowed range of the second byte
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      if (c == 0xE0) lo = 0xA0;  // overlong
      if (c == 0xED) hi = 0x9F;  // surrogates
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      if (c == 0xF0) lo = 0x90;  // overlong
      if (c == 0xF4) hi = 0x8F;  // > U+10FFFF
    } else {
      return i;
    }
    if (i + len > n) return i;
    if (p[i + 1] < lo || p[i + 1] > hi) return i;
    for (std::size_t k = 2; k < len; ++k) {
      if ((p[i + k] & 0xC0) != 0x80) return i;
    }
    i += len;
  }
  return std::nullopt;
}

std::optional<std::size_t> firstControlInString(std::string_view s) {
  bool in_string = false, escape = false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (!in_string) {
      if (c == '"') in_string = true;
      continue;
    }
    if (escape) {
      escape = false;
    } else if (c == '\\') {
      escape = true;
    } else if (c == '"') {
      in_string = false;
    } else if (c < 0x20) {
      return i;
    }
  }
  return std::nullopt;
}

namespace {
bool isWs(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

std::string closersFor(std::string_view stack) {
  std::string out;
  for (auto it = stack.rbegin(); it != stack.rend(); ++it) out.push_back(*it == '{' ? '}' : ']');
  return out;
}
}  // namespace

StructureScan scanStructure(std::string_view s) {
  StructureScan r;
  std::string stack;
  std::string cut_stack;
  std::size_t cut = 0;
  bool in_string = false, escape = false, closed_top = false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (in_string) {
      if (escape) {
        escape = false;
      } else if (c == '\\') {
        escape = true;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (isWs(c)) continue;
    if (stack.empty() && closed_top) {
      r.kind = StructureScan::Kind::TrailingContent;
      r.offset = i;
      return r;
    }
    switch (c) {
      case '"':
        in_string = true;
        break;
      case '{':
      case '[':
        if (stack.size() == kMaxRepairDepth) {
          r.kind = StructureScan::Kind::TooDeep;
          r.offset = i;
          return r;
        }
        stack.push_back(c);
        break;
      case '}':
      case ']':
        if (stack.empty() || (stack.back() == '{') != (c == '}')) {
          r.kind = StructureScan::Kind::Mismatched;
          r.offset = i;
          return r;
        }
        stack.pop_back();
        if (stack.empty()) {
          closed_top = true;
        } else {
          cut = i + 1;
          cut_stack = stack;
        }
        break;
      case ',':
        if (!stack.empty()) {
          cut = i;
          cut_stack = stack;
        }
        break;
      default:
        break;
    }
  }
  if (!in_string && stack.empty()) return r;  // Balanced (or a bare scalar)
  r.kind = StructureScan::Kind::Truncated;
  r.offset = s.size();
  if (cut > 0) {
    r.prefix_len = cut;
    r.closers = closersFor(cut_stack);
  }
  return r;
}

}  // namespace ca4::envelope::detail
