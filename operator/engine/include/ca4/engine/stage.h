// The reconciler contract every stage implements (level-based, like controller-runtime):
//   observe actual state → diff against the spec (plan) → act (apply) → conditions.
// Stages form a DAG: infra → cluster → platform → edge → monitoring → verify.
//
// Contract for implementers:
// - plan() has NO side effects; it may be called any number of times (ca4ctl plan, up, watch).
// - apply() is idempotent: if ca4ctl is killed half-way, the next plan()+apply() converges.
// - Errors are classified where they occur (Error::retryable / Error::terminal). The engine
//   retries retryable ones with backoff until timeout(); a terminal one stalls the stage.
// - Secrets go into changes, progress and data only as Secret::redacted().
#pragma once

#include <nlohmann/json.hpp>

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "ca4/engine/clock.h"
#include "ca4/engine/result.h"
#include "ca4/spec/spec.h"

namespace ca4::engine {

// One thing apply() would do. action: create | update | delete | start | restart | stop | run.
struct Change {
  Change() = default;
  Change(std::string a, std::string o, std::string d = {}, std::vector<std::string> df = {})
      : action(std::move(a)), object(std::move(o)), detail(std::move(d)), diff(std::move(df)) {}
  std::string action;
  std::string object;   // "process/kafka", "topic/gpu-metadata", "Deployment/app/processor-api"
  std::string detail;   // "not running (pid 4242 exited)", "partitions 3 → 6"
  std::vector<std::string> diff;  // optional per-field lines ("~ .spec.replicas: 1 → 3"); no secrets
  nlohmann::json toJson() const {
    nlohmann::json j = {{"action", action}, {"object", object}, {"detail", detail}};
    if (!diff.empty()) j["diff"] = diff;
    return j;
  }
};

// A row of `ca4ctl status`: one observed component.
struct ComponentStatus {
  std::string stage;
  std::string name;      // "kafka", "processor"
  std::string state;     // running | stopped | degraded | absent
  std::string detail;    // "pid 1234, port 9092, up 5m"
  nlohmann::json fields = nlohmann::json::object();  // pid, port, log, …
  bool healthy() const { return state == "running"; }
};

class StageContext {
 public:
  StageContext(const spec::Pipeline& p, nlohmann::json& data, Clock& clock,
               std::function<void(const std::string&, nlohmann::json)> progress, bool dry_run)
      : pipeline(p), data(data), clock(clock), dry_run(dry_run), progress_(std::move(progress)) {}

  const spec::Pipeline& pipeline;
  nlohmann::json& data;   // persisted in state.json under stages.<name>.data
  Clock& clock;
  // Progress for long work ("kafka: waiting for port 9092 (12 s)"); becomes a stage.progress event.
  void progress(const std::string& msg, nlohmann::json fields = nlohmann::json::object()) const {
    if (progress_) progress_(msg, std::move(fields));
  }
  const bool dry_run;

 private:
  std::function<void(const std::string&, nlohmann::json)> progress_;
};

class Stage {
 public:
  virtual ~Stage() = default;
  virtual std::string name() const = 0;
  // Names of stages that must be Ready first (the DAG edges).
  virtual std::vector<std::string> dependsOn() const = 0;
  // Why this stage does nothing for this spec (e.g. "target local has no cloud infrastructure"),
  // or nullopt when it applies. Skipped stages count as Ready for their dependents.
  virtual std::optional<std::string> skipReason(const spec::Pipeline& p) const = 0;
  // observe + diff. Empty = converged.
  virtual Result<std::vector<Change>> plan(StageContext& ctx) = 0;
  virtual Status apply(StageContext& ctx, const std::vector<Change>& changes) = 0;
  // Teardown for `ca4ctl down` (called in reverse DAG order). Idempotent: nothing to do is ok.
  virtual Status destroy(StageContext& ctx) {
    (void)ctx;
    return okStatus();
  }
  // Observed components for `ca4ctl status`. Must not change anything.
  virtual std::vector<ComponentStatus> status(StageContext& ctx) {
    (void)ctx;
    return {};
  }
  // Budget for plan+apply including retries.
  virtual std::chrono::seconds timeout() const { return std::chrono::seconds(300); }
};

}  // namespace ca4::engine
