// Scalar helpers for the error path of parseEnvelope: they locate what simdjson's stage 1
// reports without a position, and recover a parseable prefix of a truncated document.
// Internal to ca4::common; pure functions.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace ca4::envelope::detail {

// Byte offset of the first byte that starts an invalid UTF-8 sequence (overlongs,
// surrogates and code points > U+10FFFF are invalid), or nullopt when `s` is valid.
std::optional<std::size_t> firstInvalidUtf8(std::string_view s);

// Byte offset of the first raw control character (< 0x20) inside a JSON string.
std::optional<std::size_t> firstControlInString(std::string_view s);

// What a bracket/quote-level scan of a document says about its structure.
struct StructureScan {
  enum class Kind {
    Balanced,         // brackets match and nothing but whitespace follows the top-level value
    Truncated,        // ends inside a string or with open objects/arrays
    Mismatched,       // a closing bracket that does not match (at `offset`)
    TrailingContent,  // non-whitespace after the top-level value (at `offset`)
    TooDeep,          // more than kMaxRepairDepth open containers; no repair attempted
  };
  Kind kind = Kind::Balanced;
  std::size_t offset = 0;
  // Truncated only: a prefix ending after a complete value (`prefix_len` bytes) and the
  // closers that make it a balanced document, or prefix_len == 0 when there is none.
  std::size_t prefix_len = 0;
  std::string closers;
};

inline constexpr std::size_t kMaxRepairDepth = 64;

StructureScan scanStructure(std::string_view s);

}  // namespace ca4::envelope::detail
