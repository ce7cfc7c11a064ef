// File and path helpers shared by the stages (module-private; defined in layout.cpp).
#pragma once

#include <string>

namespace ca4::stages {

// `p` as an absolute path: "~/x" under $HOME, a relative path under `base` (the spec file's
// directory; "" = the working directory), then weakly canonical. "" stays "".
std::string absUnder(const std::string& base, const std::string& p);
// The whole file, or "" when it cannot be read.
std::string readFile(const std::string& path);

}  // namespace ca4::stages
