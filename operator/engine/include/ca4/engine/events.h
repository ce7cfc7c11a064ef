// Events: what a run tells the user (terminal) or a program (-o json, one object per line).
// Field names in JSON are stable (a contract for agents and scripts):
//   {"ts":"2026-11-23T16:56:03.123Z","run":"r-…","type":"stage.done","stage":"platform",
//    "status":"Ready","message":"3 components running","duration_ms":1234,"changes":[…]}
// Events never carry secret values: producers pass Secret::redacted(), and JsonLinesSink does
// no interpretation.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdio>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace ca4::engine {

// type: run.start | run.done | stage.start | stage.progress | stage.change | stage.retry |
//       stage.done | stage.skipped | check (verify results, status rows) | log
struct Event {
  std::string ts;           // filled by the sink's emitter if empty
  std::string run;          // run id
  std::string type;
  std::string stage;        // "" for run-level events
  std::string status;       // Ready | Reconciling | Stalled | Skipped | Blocked | ok | failed
  std::string message;
  long long duration_ms = -1;     // -1 = absent
  nlohmann::json fields = nlohmann::json::object();  // extra, event-specific (changes, pid, port…)
  nlohmann::json toJson() const;
};

class EventSink {
 public:
  virtual ~EventSink() = default;
  virtual void emit(const Event& e) = 0;  // thread-safe
};

// -o json: one compact JSON object per line, flushed per event.
class JsonLinesSink final : public EventSink {
 public:
  explicit JsonLinesSink(std::FILE* out) : out_(out) {}
  void emit(const Event& e) override;

 private:
  std::FILE* out_;
  std::mutex mu_;
};

// -o table: human progress. On a TTY: a spinner and a running timer on the current stage line
// (redrawn by a ticker thread every 100 ms), a ✓/✗/– line per finished stage, and at run.done a
// summary table (stage, status, duration, message). Not a TTY: plain lines, no control codes.
class TerminalSink final : public EventSink {
 public:
  TerminalSink(std::FILE* out, bool tty, bool verbose);
  ~TerminalSink() override;
  void emit(const Event& e) override;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Fans out to several sinks (e.g. terminal + the run log file).
class TeeSink final : public EventSink {
 public:
  void add(std::shared_ptr<EventSink> s) { sinks_.push_back(std::move(s)); }
  void emit(const Event& e) override {
    for (auto& s : sinks_) s->emit(e);
  }

 private:
  std::vector<std::shared_ptr<EventSink>> sinks_;
};

// Collects events in memory (tests, and `status` which renders rows itself).
class MemorySink final : public EventSink {
 public:
  void emit(const Event& e) override {
    std::lock_guard lk(mu_);
    events.push_back(e);
  }
  std::vector<Event> events;

 private:
  std::mutex mu_;
};

}  // namespace ca4::engine
