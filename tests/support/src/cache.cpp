#include <cstdlib>
#include <fstream>
#include <stdexcept>

#include "ca4/testsupport/net.hpp"

namespace ca4::testsupport {

std::filesystem::path serviceCache() {
  if (const char* c = std::getenv("CA4_CACHE"); c && *c) return c;
  const char* home = std::getenv("HOME");
  return std::filesystem::path(home && *home ? home : "/root") / ".cache" / "ca4";
}

std::string requireInstalled(const std::string& component) {
  auto marker = serviceCache() / (component + ".installed");
  std::ifstream in(marker);
  std::string version;
  if (!in || !std::getline(in, version) || version.empty()) {
    throw std::runtime_error(component + " is not installed in " + serviceCache().string() +
                             " (no " + marker.string() + "): run scripts/install-services.sh");
  }
  return version;
}

std::filesystem::path sourceDir() {
  if (const char* s = std::getenv("CA4_SOURCE_DIR"); s && *s) return s;
  return CA4_TESTSUPPORT_SOURCE_DIR;
}

std::filesystem::path binDir() {
  if (const char* b = std::getenv("CA4_BIN_DIR"); b && *b) return b;
  return "build/bin";
}

}  // namespace ca4::testsupport
