#include "ca4/worker/backoff.h"

#include <algorithm>

namespace ca4::worker {

Backoff::Backoff(std::chrono::milliseconds initial, std::chrono::milliseconds cap, std::uint64_t seed)
    : initial_(std::max(initial, std::chrono::milliseconds(1))), cap_(std::max(cap, initial_)), rng_(seed) {}

std::chrono::milliseconds Backoff::next() {
  const int shift = std::min(attempt_, 30);
  const auto raw = initial_.count() << shift;
  const auto d = std::min<std::int64_t>(raw, cap_.count());
  ++attempt_;
  const auto half = d / 2;
  std::uniform_int_distribution<std::int64_t> jitter(0, d - half);
  return std::chrono::milliseconds(half + jitter(rng_));
}

}  // namespace ca4::worker
