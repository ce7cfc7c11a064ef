// Readiness probes of local components through the drivers (internal to stages).
#pragma once

#include <chrono>
#include <string>

#include "ca4/engine/result.h"
#include "ca4/stages/local_services.h"

namespace ca4::stages::local {

// GET url+path answered 200 within `timeout`; otherwise says what answered (status, start of the
// body) or why nothing did. Shared by the readiness probes and `verify preflight`.
engine::Status httpOk(const std::string& url, const std::string& path,
                      std::chrono::milliseconds timeout = std::chrono::seconds(3));

// One readiness check of `c` (fast: ≤ ~2 s). Ok = ready; the error says what did not answer.
engine::Status probe(const Component& c);

}  // namespace ca4::stages::local
