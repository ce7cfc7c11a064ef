#include "ca4/processor/rate_limit.h"

#include <gtest/gtest.h>

namespace ca4::processor {
namespace {

class FakeClock final : public Clock {
 public:
  std::chrono::steady_clock::time_point now() const override { return t_; }
  void advance(std::chrono::milliseconds d) { t_ += d; }

 private:
  std::chrono::steady_clock::time_point t_{std::chrono::seconds(1000)};
};

TEST(TokenBucket, BurstThenRefillAtRate) {
  FakeClock clock;
  TokenBucketLimiter limiter(2.0, 3.0, clock);  // 2/s, burst 3
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(limiter.acquire("a").allowed) << i;
  const auto denied = limiter.acquire("a");
  EXPECT_FALSE(denied.allowed);
  EXPECT_EQ(denied.retry_after_seconds, 1);
  clock.advance(std::chrono::milliseconds(499));
  EXPECT_FALSE(limiter.acquire("a").allowed);
  clock.advance(std::chrono::milliseconds(2));
  EXPECT_TRUE(limiter.acquire("a").allowed);
  EXPECT_FALSE(limiter.acquire("a").allowed);
  // Long idle: refills only up to the burst.
  clock.advance(std::chrono::seconds(100));
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(limiter.acquire("a").allowed);
  EXPECT_FALSE(limiter.acquire("a").allowed);
}

TEST(TokenBucket, KeysAreIndependent) {
  FakeClock clock;
  TokenBucketLimiter limiter(1.0, 1.0, clock);
  EXPECT_TRUE(limiter.acquire("a").allowed);
  EXPECT_FALSE(limiter.acquire("a").allowed);
  EXPECT_TRUE(limiter.acquire("b").allowed);
}

TEST(TokenBucket, RetryAfterRoundsUp) {
  FakeClock clock;
  TokenBucketLimiter limiter(0.1, 1.0, clock);  // one request per 10 s
  EXPECT_TRUE(limiter.acquire("a").allowed);
  const auto d = limiter.acquire("a");
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.retry_after_seconds, 10);
  clock.advance(std::chrono::milliseconds(2500));
  EXPECT_EQ(limiter.acquire("a").retry_after_seconds, 8);
}

TEST(TokenBucket, ZeroRateDisables) {
  FakeClock clock;
  TokenBucketLimiter limiter(0.0, 1.0, clock);
  EXPECT_FALSE(limiter.enabled());
  for (int i = 0; i < 1000; ++i) EXPECT_TRUE(limiter.acquire("a").allowed);
  EXPECT_EQ(limiter.trackedKeys(), 0u);
}

TEST(TokenBucket, BoundedNumberOfBuckets) {
  FakeClock clock;
  TokenBucketLimiter limiter(1.0, 2.0, clock, 4);
  for (int i = 0; i < 100; ++i) (void)limiter.acquire("k" + std::to_string(i));
  EXPECT_LE(limiter.trackedKeys(), 4u);
  // Idle (refilled) buckets go first.
  clock.advance(std::chrono::seconds(10));
  (void)limiter.acquire("fresh");
  EXPECT_EQ(limiter.trackedKeys(), 1u);
}

}  // namespace
}  // namespace ca4::processor
