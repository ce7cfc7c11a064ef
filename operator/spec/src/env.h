// Internal: ${NAME} references. Secret fields take exactly one whole reference; other strings may
// embed any number of them, and "$${" stands for a literal "${".
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ca4/spec/load.h"

namespace ca4::spec::detail {

// NAME = [A-Za-z_][A-Za-z0-9_]*
bool isEnvName(std::string_view s);

// "${NAME}" (the whole text) → NAME; anything else → nullopt.
std::optional<std::string> wholeRef(std::string_view text);

struct Interpolated {
  std::string value;               // best effort when errors is non-empty
  std::vector<std::string> unset;  // referenced variables that are not set, in order
  bool malformed = false;          // a "${" without a valid NAME and closing "}"
};
Interpolated interpolate(std::string_view text, const EnvLookup& env);

// Inverse of the "$${" escape: "${" → "$${", so that interpolate(escape(s)) == s.
std::string escapeRefs(std::string_view s);

}  // namespace ca4::spec::detail
