#include "ca4/engine/clock.h"

#include <gtest/gtest.h>

#include <thread>

namespace ca4::engine {
namespace {

using namespace std::chrono_literals;

TEST(Rfc3339, UtcWithMilliseconds) {
  const std::chrono::system_clock::time_point t{std::chrono::seconds(1'795'449'600)};
  EXPECT_EQ(rfc3339(t), "2026-11-23T16:00:00.000Z");
  EXPECT_EQ(rfc3339(t + 123ms + 999us), "2026-11-23T16:00:00.123Z");
  EXPECT_EQ(rfc3339(std::chrono::system_clock::time_point{}), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(rfc3339(std::chrono::system_clock::time_point{} - 1ms), "1969-12-31T23:59:59.999Z");
}

TEST(SystemClock, SleepsTheWholeDuration) {
  resetStop();
  SystemClock clock;
  const auto t0 = clock.now();
  EXPECT_TRUE(clock.sleepFor(120ms));
  EXPECT_GE(clock.now() - t0, 120ms);
}

TEST(SystemClock, StopWakesASleeperEarly) {
  resetStop();
  SystemClock clock;
  const auto t0 = clock.now();
  std::thread stopper([] {
    std::this_thread::sleep_for(100ms);
    requestStop();
  });
  EXPECT_FALSE(clock.sleepFor(30s));
  stopper.join();
  EXPECT_LT(clock.now() - t0, 2s);
  EXPECT_TRUE(stopRequested());
  EXPECT_FALSE(clock.sleepFor(1s));  // stays stopped until reset
  resetStop();
  EXPECT_FALSE(stopRequested());
  EXPECT_TRUE(clock.sleepFor(1ms));
}

TEST(SystemClock, WallClockIsNow) {
  SystemClock clock;
  const auto diff = clock.wallNow() - std::chrono::system_clock::now();
  EXPECT_LT(std::chrono::abs(diff), 1s);
}

}  // namespace
}  // namespace ca4::engine
