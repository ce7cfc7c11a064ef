// libFuzzer: loadString must return (never throw, crash or hang) on any input, and a successful
// load must digest and render. Fixed fake environment: the fuzzer never reads the real one.
#include <cstddef>
#include <cstdint>
#include <string>

#include "ca4/spec/load.h"

namespace {

std::optional<std::string> fakeEnv(const std::string& name) {
  if (name == "CA4_MONGO_URI") return "mongodb://u:p@h:27017";
  if (name == "CA4_API_KEY" || name == "HOME") return "x";
  return std::nullopt;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  const auto r = ca4::spec::loadString(text, "fuzz.yaml", fakeEnv);
  if (r.ok()) {
    (void)ca4::spec::digest(*r.pipeline);
    (void)ca4::spec::toYaml(*r.pipeline);
  }
  for (const auto& d : r.diagnostics) (void)d.str();
  return 0;
}
