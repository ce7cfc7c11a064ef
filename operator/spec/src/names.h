// Internal: name syntax rules. Each returns "" when the name is fine, else the problem (which
// quotes the name: never call these on secrets).
#pragma once

#include <string>
#include <string_view>

namespace ca4::spec::detail {

// DNS-1123 label: [a-z0-9-], 1..63 characters, starts and ends alphanumeric.
std::string dns1123Problem(std::string_view name);
// Kafka topic: [a-zA-Z0-9._-], 1..249 characters, not "." or "..".
std::string topicProblem(std::string_view name);

}  // namespace ca4::spec::detail

namespace ca4::spec::detail {

// Offset of the first byte that is not part of valid UTF-8 (overlong forms, surrogates and
// code points above U+10FFFF are invalid), or npos when `s` is valid.
std::size_t invalidUtf8At(std::string_view s);

}  // namespace ca4::spec::detail
