// Per-key token bucket. Each key (an API key's name, or the client address when auth is off)
// owns a bucket of `burst` tokens refilled at `rate` tokens per second; a request takes one
// token (a batch request is one request). The clock is injected so tests control time.
// Thread-safety: acquire() may be called from any thread (one mutex; the critical section is
// a few arithmetic operations).
#pragma once

#include <chrono>
#include <cstddef>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace ca4::processor {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual std::chrono::steady_clock::time_point now() const = 0;
};

class SteadyClock final : public Clock {
 public:
  std::chrono::steady_clock::time_point now() const override {
    return std::chrono::steady_clock::now();
  }
};

struct RateDecision {
  bool allowed = true;
  int retry_after_seconds = 0;  // >= 1 when !allowed: when one token will be available
};

class TokenBucketLimiter {
 public:
  // rate <= 0 disables limiting. burst is clamped to at least 1. At most `max_keys` buckets are
  // kept: beyond that, buckets that have refilled completely (idle keys) are dropped first.
  TokenBucketLimiter(double rate, double burst, const Clock& clock, std::size_t max_keys = 10000);

  RateDecision acquire(std::string_view key);
  bool enabled() const { return rate_ > 0; }
  std::size_t trackedKeys() const;

 private:
  struct Bucket {
    double tokens;
    std::chrono::steady_clock::time_point updated;
  };
  void evictIdle(std::chrono::steady_clock::time_point now);

  const double rate_;
  const double burst_;
  const Clock& clock_;
  const std::size_t max_keys_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, Bucket> buckets_;
};

}  // namespace ca4::processor
