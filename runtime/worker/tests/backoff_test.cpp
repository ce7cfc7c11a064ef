#include <ca4/worker/backoff.h>

#include <gtest/gtest.h>

namespace ca4::worker {
namespace {

using std::chrono::milliseconds;

TEST(Backoff, GrowsExponentiallyWithEqualJitterUpToTheCap) {
  Backoff b(milliseconds(100), milliseconds(5000), 7);
  std::int64_t d = 100;
  for (int i = 0; i < 12; ++i) {
    const auto cur = std::min<std::int64_t>(d, 5000);
    const auto got = b.next().count();
    EXPECT_GE(got, cur / 2) << i;
    EXPECT_LE(got, cur) << i;
    d *= 2;
  }
  EXPECT_EQ(b.attempts(), 12);
}

TEST(Backoff, ResetStartsOver) {
  Backoff b(milliseconds(100), milliseconds(5000), 1);
  for (int i = 0; i < 10; ++i) b.next();
  b.reset();
  EXPECT_LE(b.next().count(), 100);
}

TEST(Backoff, SameSeedSameDelays) {
  Backoff a(milliseconds(10), milliseconds(1000), 99), b(milliseconds(10), milliseconds(1000), 99);
  for (int i = 0; i < 8; ++i) EXPECT_EQ(a.next(), b.next());
}

TEST(Backoff, NeverExceedsCapAfterManyAttempts) {
  Backoff b(milliseconds(100), milliseconds(5000), 3);
  for (int i = 0; i < 200; ++i) EXPECT_LE(b.next().count(), 5000);
}

}  // namespace
}  // namespace ca4::worker
