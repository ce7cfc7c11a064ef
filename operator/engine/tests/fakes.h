// Test doubles for the engine's seams: a Clock whose sleeps are instant, and a scriptable Stage.
// Their real twins (SystemClock, the stages in operator/stages) are tested on their own.
#pragma once

#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ca4/engine/clock.h"
#include "ca4/engine/stage.h"

namespace ca4::engine::testing {

// Time moves only when sleepFor() or advance() is called.
class FakeClock final : public Clock {
 public:
  std::chrono::steady_clock::time_point now() const override { return now_; }
  std::chrono::system_clock::time_point wallNow() const override { return wall_; }
  bool sleepFor(std::chrono::milliseconds d) override {
    sleeps.push_back(d);
    advance(d);
    if (on_sleep) on_sleep();
    return !stopRequested();
  }
  void advance(std::chrono::milliseconds d) {
    now_ += d;
    wall_ += d;
  }

  std::vector<std::chrono::milliseconds> sleeps;
  std::function<void()> on_sleep;

 private:
  std::chrono::steady_clock::time_point now_{std::chrono::hours(1000)};
  // 2026-11-23T16:00:00Z
  std::chrono::system_clock::time_point wall_{std::chrono::seconds(1'795'449'600)};
};

using CallLog = std::shared_ptr<std::vector<std::string>>;

// A stage whose behaviour is set by the test. By default it owns one object that is absent
// until apply() creates it: plan() → [create thing/<name>], apply() → converged.
class FakeStage final : public Stage {
 public:
  FakeStage(std::string name, std::vector<std::string> deps, CallLog log)
      : name_(std::move(name)), deps_(std::move(deps)), log_(std::move(log)) {}

  std::string name() const override { return name_; }
  std::vector<std::string> dependsOn() const override { return deps_; }
  std::optional<std::string> skipReason(const spec::Pipeline&) const override { return skip; }
  std::chrono::seconds timeout() const override { return timeout_s; }

  Result<std::vector<Change>> plan(StageContext& ctx) override {
    ++plans;
    if (log_) log_->push_back("plan:" + name_);
    if (on_plan) return on_plan(ctx, plans);
    if (converged) return std::vector<Change>{};
    return std::vector<Change>{{"create", "thing/" + name_, "absent"}};
  }
  Status apply(StageContext& ctx, const std::vector<Change>& changes) override {
    ++applies;
    if (log_) log_->push_back("apply:" + name_);
    if (on_apply) return on_apply(ctx, changes);
    converged = true;
    return okStatus();
  }
  Status destroy(StageContext& ctx) override {
    ++destroys;
    if (log_) log_->push_back("destroy:" + name_);
    if (on_destroy) return on_destroy(ctx);
    converged = false;
    return okStatus();
  }
  std::vector<ComponentStatus> status(StageContext& ctx) override {
    if (on_status) return on_status(ctx);
    return {};
  }

  std::optional<std::string> skip;
  std::chrono::seconds timeout_s{300};
  bool converged = false;
  int plans = 0, applies = 0, destroys = 0;
  std::function<Result<std::vector<Change>>(StageContext&, int)> on_plan;
  std::function<Status(StageContext&, const std::vector<Change>&)> on_apply;
  std::function<Status(StageContext&)> on_destroy;
  std::function<std::vector<ComponentStatus>(StageContext&)> on_status;

 private:
  std::string name_;
  std::vector<std::string> deps_;
  CallLog log_;
};

// A fresh directory under $TMPDIR, removed at the end of the test.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "ca4-engine-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) std::abort();
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace ca4::engine::testing
