// libFuzzer target for parseEnvelope. Properties checked on every input:
//  - never crashes, never throws, ok() iff no errors;
//  - an accepted document's canonical form parses to the same Envelope and is a fixed point;
//  - every error has a non-empty message, and syntax errors use the path "".
// Run: envelope_fuzz -max_total_time=60 runtime/common/fuzz/corpus
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "ca4/common/envelope.h"

namespace {
[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "envelope_fuzz: %s\n", what);
  std::abort();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace ca4::envelope;
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  Limits limits;
  limits.max_embedding = 64;  // small limits reach the limit paths with small inputs
  limits.max_attributes = 4;
  limits.max_depth = 6;
  const ParseResult r = parseEnvelope(input, limits);
  if (r.ok() != r.errors.empty()) fail("ok() disagrees with errors");
  for (const FieldError& e : r.errors) {
    if (e.message.empty()) fail("empty error message");
  }
  if (!r.ok()) return 0;
  const std::string c1 = toCanonicalJson(*r.envelope);
  const ParseResult again = parseEnvelope(c1, limits);
  if (!again.ok()) fail("canonical form rejected");
  if (!(*again.envelope == *r.envelope)) fail("canonical form parses to a different envelope");
  if (toCanonicalJson(*again.envelope) != c1) fail("canonical form is not a fixed point");
  return 0;
}
