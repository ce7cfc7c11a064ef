// Readiness probes of local components through the drivers (internal to stages).
#pragma once

#include <string>

#include "ca4/engine/result.h"
#include "ca4/stages/local_services.h"

namespace ca4::stages::local {

// One readiness check of `c` (fast: ≤ ~2 s). Ok = ready; the error says what did not answer.
engine::Status probe(const Component& c);

}  // namespace ca4::stages::local
