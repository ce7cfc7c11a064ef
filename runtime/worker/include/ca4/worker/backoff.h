// Exponential backoff with "equal jitter": the n-th delay is d/2 + U(0, d/2) where
// d = min(cap, initial · 2ⁿ). Deterministic for a given seed (tests inject one). Not thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <random>

namespace ca4::worker {

class Backoff {
 public:
  Backoff(std::chrono::milliseconds initial, std::chrono::milliseconds cap, std::uint64_t seed);
  std::chrono::milliseconds next();
  void reset() { attempt_ = 0; }
  int attempts() const { return attempt_; }

 private:
  std::chrono::milliseconds initial_, cap_;
  int attempt_ = 0;
  std::mt19937_64 rng_;
};

}  // namespace ca4::worker
