// Time as a seam: the engine never calls now() or sleeps directly, so tests run instantly.
#pragma once

#include <chrono>
#include <string>

namespace ca4::engine {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual std::chrono::steady_clock::time_point now() const = 0;
  virtual std::chrono::system_clock::time_point wallNow() const = 0;
  // Sleeps up to `d`; returns false early when the run was asked to stop (SIGINT/SIGTERM).
  virtual bool sleepFor(std::chrono::milliseconds d) = 0;
};

// Real clock; sleepFor wakes early when requestStop() is called (thread-safe, signal-safe via
// a self-pipe or atomic flag polled at 50 ms).
class SystemClock final : public Clock {
 public:
  std::chrono::steady_clock::time_point now() const override;
  std::chrono::system_clock::time_point wallNow() const override;
  bool sleepFor(std::chrono::milliseconds d) override;
};

// Global stop flag set by the CLI's signal handler (async-signal-safe: an atomic store).
void requestStop();
bool stopRequested();
void resetStop();  // tests

// RFC 3339 UTC with milliseconds: "2026-11-23T16:56:03.123Z".
std::string rfc3339(std::chrono::system_clock::time_point t);

}  // namespace ca4::engine
