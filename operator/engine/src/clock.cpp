#include "ca4/engine/clock.h"

#include <atomic>
#include <cstdio>
#include <ctime>
#include <thread>

namespace ca4::engine {
namespace {

// Set from a signal handler: must be a lock-free atomic to be async-signal-safe.
std::atomic<bool> g_stop{false};
static_assert(std::atomic<bool>::is_always_lock_free);

constexpr std::chrono::milliseconds kStopPollSlice{50};

}  // namespace

std::chrono::steady_clock::time_point SystemClock::now() const {
  return std::chrono::steady_clock::now();
}

std::chrono::system_clock::time_point SystemClock::wallNow() const {
  return std::chrono::system_clock::now();
}

bool SystemClock::sleepFor(std::chrono::milliseconds d) {
  const auto until = std::chrono::steady_clock::now() + d;
  while (!stopRequested()) {
    const auto left = until - std::chrono::steady_clock::now();
    if (left <= std::chrono::steady_clock::duration::zero()) return true;
    std::this_thread::sleep_for(
        std::min<std::chrono::steady_clock::duration>(left, kStopPollSlice));
  }
  return false;
}

void requestStop() { g_stop.store(true, std::memory_order_relaxed); }
bool stopRequested() { return g_stop.load(std::memory_order_relaxed); }
void resetStop() { g_stop.store(false, std::memory_order_relaxed); }

std::string rfc3339(std::chrono::system_clock::time_point t) {
  using namespace std::chrono;
  const auto ms = floor<milliseconds>(t.time_since_epoch());
  const auto secs = floor<seconds>(ms);
  const auto frac = (ms - secs).count();  // 0..999 thanks to floor()
  const std::time_t tt = static_cast<std::time_t>(secs.count());
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(frac));
  return buf;
}

}  // namespace ca4::engine
