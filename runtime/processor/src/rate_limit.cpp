#include "ca4/processor/rate_limit.h"

#include <algorithm>
#include <cmath>

namespace ca4::processor {

TokenBucketLimiter::TokenBucketLimiter(double rate, double burst, const Clock& clock,
                                       std::size_t max_keys)
    : rate_(rate), burst_(std::max(1.0, burst)), clock_(clock), max_keys_(max_keys) {}

RateDecision TokenBucketLimiter::acquire(std::string_view key) {
  if (rate_ <= 0) return {};
  const auto now = clock_.now();
  std::lock_guard lock(mu_);
  auto it = buckets_.find(std::string(key));
  if (it == buckets_.end()) {
    if (buckets_.size() >= max_keys_) evictIdle(now);
    it = buckets_.emplace(std::string(key), Bucket{burst_, now}).first;
  }
  Bucket& b = it->second;
  const double elapsed = std::chrono::duration<double>(now - b.updated).count();
  if (elapsed > 0) {
    b.tokens = std::min(burst_, b.tokens + elapsed * rate_);
    b.updated = now;
  }
  if (b.tokens >= 1.0) {
    b.tokens -= 1.0;
    return {};
  }
  const double wait = (1.0 - b.tokens) / rate_;
  return {false, std::max(1, static_cast<int>(std::ceil(wait)))};
}

void TokenBucketLimiter::evictIdle(std::chrono::steady_clock::time_point now) {
  const double full_after = burst_ / rate_;
  for (auto it = buckets_.begin(); it != buckets_.end();) {
    const double idle = std::chrono::duration<double>(now - it->second.updated).count();
    it = idle >= full_after ? buckets_.erase(it) : std::next(it);
  }
  // Still full of active keys: drop an arbitrary one rather than grow without bound.
  if (buckets_.size() >= max_keys_) buckets_.erase(buckets_.begin());
}

std::size_t TokenBucketLimiter::trackedKeys() const {
  std::lock_guard lock(mu_);
  return buckets_.size();
}

}  // namespace ca4::processor
