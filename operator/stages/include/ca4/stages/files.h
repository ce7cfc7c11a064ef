// File and path helpers of the stages, also used by the CLI (defined in src/layout.cpp).
#pragma once

#include <sys/types.h>

#include <string>

#include "ca4/engine/result.h"

namespace ca4::stages {

// `p` as an absolute path: "~/x" under $HOME, a relative path under `base` (the spec file's
// directory; "" = the working directory), then weakly canonical. "" stays "".
std::string absUnder(const std::string& base, const std::string& p);
// The whole file, or "" when it cannot be read.
std::string readFile(const std::string& path);
// Replaces `path` atomically with `content` (a temporary file created with `mode` before any
// byte is written, then renamed over it); creates the directory. Terminal error on failure.
engine::Status writeFileAtomic(const std::string& path, const std::string& content, mode_t mode);

}  // namespace ca4::stages
