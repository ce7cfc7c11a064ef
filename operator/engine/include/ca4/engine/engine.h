// The engine: runs stages in DAG order against a spec and the state, emits events, records the
// run in the state's history. One Engine per ca4ctl invocation; not thread-safe.
//
// up:    for each stage (topological order): skipped → Skipped; a dependency not Ready →
//        Blocked; else plan() (retryable errors retried with backoff), no changes → Ready
//        "up to date"; else emit one stage.change per change, apply(), plan() again to confirm
//        → Ready, or retry (backoff: base·2^n, capped, ±20% jitter) until the stage's timeout →
//        Stalled with the last error and its fix. A terminal error → Stalled at once.
// plan:  plan() only; outcome.changes_pending tells `ca4ctl plan` to exit 2.
// down:  destroy() in reverse order for every non-skipped stage; continues past errors and
//        reports each.
// The state is saved (StateStore::save) after every stage, so a kill mid-run loses at most the
// stage in flight, which apply() redoes idempotently.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "ca4/engine/clock.h"
#include "ca4/engine/events.h"
#include "ca4/engine/stage.h"
#include "ca4/engine/state.h"

namespace ca4::engine {

enum class Mode { Up, Plan, Down };

struct Backoff {
  std::chrono::milliseconds base{500};
  std::chrono::milliseconds cap{10'000};
};

struct RunOptions {
  Mode mode = Mode::Up;
  std::string command = "up";          // recorded in history ("up", "plan", "reconcile")
  std::vector<std::string> only;       // run just these stages (and report others as not run)
  bool dry_run = false;
  Backoff backoff;
};

struct StageOutcome {
  std::string stage;
  std::string condition;   // Ready | Stalled | Skipped | Blocked | Planned
  std::string message;
  std::string fix;         // for Stalled
  std::vector<Change> changes;
  long long duration_ms = 0;
};

struct RunOutcome {
  std::string run;
  std::vector<StageOutcome> stages;
  bool ok = true;               // no stage Stalled/Blocked
  bool changes_pending = false; // plan: something would change; up: something was changed
  bool interrupted = false;     // stopRequested() during the run
};

class Engine {
 public:
  Engine(std::vector<std::unique_ptr<Stage>> stages, EventSink& events, Clock& clock);
  // Validates the DAG (unknown dependency or cycle → terminal error at construction is a
  // programming error: throws std::logic_error).
  RunOutcome run(const spec::Pipeline& p, const std::string& spec_digest, State& state,
                 const StateStore& store, const RunOptions& opts);
  // Components for `status`, stage by stage (skipped stages contribute nothing).
  std::vector<ComponentStatus> status(const spec::Pipeline& p, State& state);
  const std::vector<std::unique_ptr<Stage>>& stages() const { return stages_; }

 private:
  std::vector<std::unique_ptr<Stage>> stages_;  // topologically sorted at construction
  EventSink& events_;
  Clock& clock_;
};

// New run id: "r-20261123T165603Z-1a2b".
std::string newRunId(const Clock& clock);

}  // namespace ca4::engine
