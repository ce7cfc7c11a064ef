// Standard base64 (RFC 4648 §4, alphabet A-Z a-z 0-9 + /), the one implementation of the project:
// Kubernetes Secret data and kubeconfig blobs, OpenSSH key blobs, ConfigMap binaryData.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace ca4::common {

// With '=' padding.
std::string base64Encode(std::string_view bytes);
// Accepts missing padding and ignores ASCII whitespace (line-wrapped PEM-style input); any other
// character outside the alphabet, or a length that cannot be base64, gives nullopt.
std::optional<std::string> base64Decode(std::string_view text);

}  // namespace ca4::common
