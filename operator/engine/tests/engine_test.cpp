#include "ca4/engine/engine.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <stdexcept>

#include "fakes.h"

namespace ca4::engine {
namespace {

using namespace std::chrono_literals;
using testing::CallLog;
using testing::FakeClock;
using testing::FakeStage;
using testing::TempDir;

class EngineTest : public ::testing::Test {
 protected:
  void TearDown() override { resetStop(); }

  FakeStage* add(const std::string& name, std::vector<std::string> deps = {}) {
    auto s = std::make_unique<FakeStage>(name, std::move(deps), log);
    FakeStage* raw = s.get();
    pending.push_back(std::move(s));
    fakes[name] = raw;
    return raw;
  }
  // The six stages of ca4ctl, constructed in a scrambled order.
  void addPipeline() {
    add("monitoring", {"edge"});
    add("verify", {"monitoring", "edge"});
    add("platform", {"cluster"});
    add("infra");
    add("edge", {"platform"});
    add("cluster", {"infra"});
  }
  Engine& engine() {
    if (!engine_) engine_ = std::make_unique<Engine>(std::move(pending), sink, clock);
    return *engine_;
  }
  RunOutcome run(RunOptions opts = {}) {
    return engine().run(pipeline, "sha256:abc", state, store, opts);
  }
  std::vector<Event> events(const std::string& type, const std::string& stage = "") const {
    std::vector<Event> r;
    for (const auto& e : sink.events) {
      if (e.type == type && (stage.empty() || e.stage == stage)) r.push_back(e);
    }
    return r;
  }
  static const StageOutcome* find(const RunOutcome& o, const std::string& name) {
    for (const auto& s : o.stages) {
      if (s.stage == name) return &s;
    }
    return nullptr;
  }
  std::vector<std::string> calls(const std::string& prefix) const {
    std::vector<std::string> r;
    for (const auto& c : *log) {
      if (c.rfind(prefix, 0) == 0) r.push_back(c.substr(prefix.size()));
    }
    return r;
  }

  TempDir dir;
  StateStore store{dir.path() + "/.ca4"};
  State state;
  FakeClock clock;
  MemorySink sink;
  spec::Pipeline pipeline;
  CallLog log = std::make_shared<std::vector<std::string>>();
  std::vector<std::unique_ptr<Stage>> pending;
  std::unique_ptr<Engine> engine_;
  std::map<std::string, FakeStage*> fakes;
};

const std::vector<std::string> kOrder = {"infra", "cluster",    "platform",
                                         "edge",  "monitoring", "verify"};

TEST_F(EngineTest, DagOrderIndependentOfConstructionOrder) {
  addPipeline();
  std::vector<std::string> names;
  for (const auto& s : engine().stages()) names.push_back(s->name());
  EXPECT_EQ(names, kOrder);

  const auto out = run();
  EXPECT_TRUE(out.ok);
  EXPECT_EQ(calls("apply:"), kOrder);
  ASSERT_EQ(out.stages.size(), kOrder.size());
  for (std::size_t i = 0; i < kOrder.size(); ++i) {
    EXPECT_EQ(out.stages[i].stage, kOrder[i]);
    EXPECT_EQ(out.stages[i].condition, "Ready");
  }
}

TEST_F(EngineTest, DiamondRunsEveryDependencyFirst) {
  add("d", {"b", "c"});
  add("c", {"a"});
  add("b", {"a"});
  add("a");
  run();
  const auto order = calls("apply:");
  ASSERT_EQ(order.size(), 4u);
  auto pos = [&](const std::string& n) { return std::find(order.begin(), order.end(), n); };
  EXPECT_LT(pos("a"), pos("b"));
  EXPECT_LT(pos("a"), pos("c"));
  EXPECT_LT(pos("b"), pos("d"));
  EXPECT_LT(pos("c"), pos("d"));
}

TEST_F(EngineTest, CycleThrows) {
  add("a", {"c"});
  add("b", {"a"});
  add("c", {"b"});
  add("free");
  try {
    engine();
    FAIL() << "no exception";
  } catch (const std::logic_error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("cycle"), std::string::npos) << msg;
    EXPECT_NE(msg.find("a, b, c"), std::string::npos) << msg;
  }
}

TEST_F(EngineTest, SelfDependencyThrows) {
  add("a", {"a"});
  EXPECT_THROW(engine(), std::logic_error);
}

TEST_F(EngineTest, UnknownDependencyThrows) {
  add("edge", {"platfrom"});
  try {
    engine();
    FAIL() << "no exception";
  } catch (const std::logic_error& e) {
    EXPECT_NE(std::string(e.what()).find("\"platfrom\""), std::string::npos) << e.what();
  }
}

TEST_F(EngineTest, DuplicateNameThrows) {
  add("a");
  add("a");
  EXPECT_THROW(engine(), std::logic_error);
}

TEST_F(EngineTest, SkippedStageDependentsStillRun) {
  addPipeline();
  FakeStage* infra = fakes["infra"];
  infra->skip = "target local has no cloud infrastructure";
  const auto out = run();
  EXPECT_TRUE(out.ok);
  EXPECT_EQ(infra->plans, 0);
  EXPECT_EQ(find(out, "infra")->condition, "Skipped");
  EXPECT_EQ(find(out, "cluster")->condition, "Ready");
  EXPECT_EQ(find(out, "verify")->condition, "Ready");
  const auto skipped = events("stage.skipped", "infra");
  ASSERT_EQ(skipped.size(), 1u);
  EXPECT_EQ(skipped[0].status, "Skipped");
  EXPECT_EQ(skipped[0].message, "target local has no cloud infrastructure");
  EXPECT_EQ(state.stages["infra"].condition, "Skipped");
  EXPECT_TRUE(events("stage.start", "infra").empty());
}

TEST_F(EngineTest, TerminalErrorStallsAndBlocksDependents) {
  add("a");
  auto* b = add("b", {"a"});
  auto* c = add("c", {"b"});
  auto* d = add("d", {"a"});
  b->on_plan = [](StageContext&, int) -> Result<std::vector<Change>> {
    return Error::terminal("kafka: port 9092 is taken by pid 77 (nc)",
                           "stop pid 77 or change ports");
  };
  const auto out = run();
  EXPECT_FALSE(out.ok);
  EXPECT_EQ(b->plans, 1);  // terminal: no retry
  EXPECT_TRUE(clock.sleeps.empty());
  EXPECT_EQ(find(out, "b")->condition, "Stalled");
  EXPECT_EQ(find(out, "b")->fix, "stop pid 77 or change ports");
  EXPECT_EQ(find(out, "c")->condition, "Blocked");
  EXPECT_EQ(c->plans, 0);
  EXPECT_NE(find(out, "c")->message.find("b (Stalled)"), std::string::npos);
  EXPECT_EQ(find(out, "d")->condition, "Ready");  // not downstream of b
  EXPECT_EQ(d->applies, 1);

  const auto done = events("stage.done", "b");
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].status, "Stalled");
  EXPECT_EQ(done[0].fields["fix"], "stop pid 77 or change ports");
  EXPECT_EQ(events("stage.done", "c").at(0).status, "Blocked");
  EXPECT_EQ(events("run.done").at(0).status, "Stalled");
  EXPECT_EQ(state.stages["c"].condition, "Blocked");
  ASSERT_EQ(state.history.size(), 1u);
  EXPECT_EQ(state.history[0].outcome, "Stalled");
  EXPECT_EQ(state.history[0].stages["b"], "Stalled");
}

TEST_F(EngineTest, SkippedStageAfterAStalledOnePassesTheBlockOn) {
  add("edge");
  auto* mon = add("monitoring", {"edge"});
  auto* verify = add("verify", {"monitoring"});
  mon->skip = "spec.monitoring.enabled is false";
  fakes["edge"]->on_plan = [](StageContext&, int) -> Result<std::vector<Change>> {
    return Error::terminal("processor: exited during start", "see its log");
  };
  const auto out = run();
  EXPECT_FALSE(out.ok);
  EXPECT_EQ(find(out, "edge")->condition, "Stalled");
  EXPECT_EQ(find(out, "monitoring")->condition, "Blocked");
  EXPECT_EQ(find(out, "verify")->condition, "Blocked");
  EXPECT_EQ(verify->plans, 0) << "verify must not run against a stalled edge";
}

TEST_F(EngineTest, RetryableTwiceThenReady) {
  auto* a = add("a");
  a->on_plan = [a](StageContext&, int n) -> Result<std::vector<Change>> {
    if (n <= 2) return Error::retryable("kafka: not listening on 127.0.0.1:9092 yet");
    if (a->converged) return std::vector<Change>{};
    return std::vector<Change>{{"start", "process/kafka", "not running"}};
  };
  RunOptions opts;
  opts.backoff = {100ms, 10'000ms};
  const auto out = run(opts);
  EXPECT_TRUE(out.ok);
  EXPECT_EQ(find(out, "a")->condition, "Ready");
  const auto retries = events("stage.retry", "a");
  ASSERT_EQ(retries.size(), 2u);
  EXPECT_EQ(retries[0].fields["attempt"], 1);
  EXPECT_EQ(retries[1].fields["attempt"], 2);
  EXPECT_EQ(retries[0].fields["error"], "kafka: not listening on 127.0.0.1:9092 yet");
  const long long d1 = retries[0].fields["delay_ms"], d2 = retries[1].fields["delay_ms"];
  EXPECT_GE(d1, 80);
  EXPECT_LE(d1, 120);
  EXPECT_GE(d2, 160);
  EXPECT_LE(d2, 240);
  ASSERT_EQ(clock.sleeps.size(), 2u);
  EXPECT_EQ(clock.sleeps[0].count(), d1);
  EXPECT_EQ(clock.sleeps[1].count(), d2);
}

TEST_F(EngineTest, BackoffGrowsThenIsCapped) {
  auto* a = add("a");
  a->on_plan = [](StageContext&, int n) -> Result<std::vector<Change>> {
    if (n <= 9) return Error::retryable("not yet");
    return std::vector<Change>{};
  };
  RunOptions opts;
  opts.backoff = {100ms, 1000ms};
  const auto out = run(opts);
  EXPECT_TRUE(out.ok);
  ASSERT_EQ(clock.sleeps.size(), 9u);
  for (std::size_t i = 1; i < 4; ++i) EXPECT_GT(clock.sleeps[i], clock.sleeps[i - 1]) << i;
  for (const auto d : clock.sleeps) EXPECT_LE(d, 1000ms);
  for (std::size_t i = 5; i < clock.sleeps.size(); ++i) EXPECT_GE(clock.sleeps[i], 800ms) << i;
}

TEST_F(EngineTest, RetryableForeverStallsAtTimeout) {
  auto* a = add("a");
  auto* b = add("b", {"a"});
  a->timeout_s = 30s;
  a->on_plan = [](StageContext&, int) -> Result<std::vector<Change>> {
    return Error::retryable("kafka: not listening on 127.0.0.1:9092", "see .ca4/local/kafka.log");
  };
  const auto start = clock.now();
  const auto out = run();
  EXPECT_FALSE(out.ok);
  const auto* sa = find(out, "a");
  EXPECT_EQ(sa->condition, "Stalled");
  EXPECT_NE(sa->message.find("kafka: not listening"), std::string::npos) << sa->message;
  EXPECT_NE(sa->message.find("gave up after 30 s"), std::string::npos) << sa->message;
  EXPECT_EQ(sa->fix, "see .ca4/local/kafka.log");
  EXPECT_EQ(sa->duration_ms, 30'000);
  EXPECT_EQ(clock.now() - start, 30s);
  EXPECT_GT(a->plans, 3);
  EXPECT_EQ(find(out, "b")->condition, "Blocked");
  EXPECT_EQ(b->plans, 0);
}

TEST_F(EngineTest, ApplyThatDoesNotConvergeIsRetried) {
  auto* a = add("a");
  a->on_apply = [a](StageContext&, const std::vector<Change>&) {
    if (a->applies >= 2) a->converged = true;  // the first apply "succeeds" without effect
    return okStatus();
  };
  const auto out = run();
  EXPECT_TRUE(out.ok);
  EXPECT_EQ(a->applies, 2);
  const auto retries = events("stage.retry", "a");
  ASSERT_EQ(retries.size(), 1u);
  EXPECT_EQ(retries[0].fields["error"], "did not converge: create thing/a (absent)");
  EXPECT_EQ(events("stage.change", "a").size(), 2u);  // announced before each apply
  ASSERT_EQ(find(out, "a")->changes.size(), 1u);      // but counted once
  EXPECT_EQ(find(out, "a")->message, "1 change applied");
}

TEST_F(EngineTest, ConvergedRerunChangesNothing) {
  addPipeline();
  const auto first = run();
  EXPECT_TRUE(first.changes_pending);
  EXPECT_EQ(events("stage.change").size(), kOrder.size());
  EXPECT_EQ(events("run.done").at(0).fields["changes"], kOrder.size());

  sink.events.clear();
  log->clear();
  const auto second = run();
  EXPECT_TRUE(second.ok);
  EXPECT_FALSE(second.changes_pending);
  EXPECT_TRUE(events("stage.change").empty());
  EXPECT_TRUE(calls("apply:").empty());
  for (const auto& s : second.stages) {
    EXPECT_EQ(s.condition, "Ready");
    EXPECT_EQ(s.message, "up to date");
  }
  const auto done = events("run.done");
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].status, "Ready");
  EXPECT_EQ(done[0].fields["changes"], 0);
  EXPECT_EQ(done[0].message, "no changes, up to date");
}

TEST_F(EngineTest, PlanModeNeverApplies) {
  auto* a = add("a");
  auto* b = add("b", {"a"});
  bool saw_dry_run = false;
  b->on_plan = [&](StageContext& ctx, int) -> Result<std::vector<Change>> {
    saw_dry_run = ctx.dry_run;
    ctx.data["scratch"] = true;  // must not be persisted by a plan
    return std::vector<Change>{{"update", "topic/gpu-metadata", "partitions 3 → 6"}};
  };
  RunOptions opts;
  opts.mode = Mode::Plan;
  opts.command = "plan";
  const auto out = run(opts);
  EXPECT_TRUE(out.ok);
  EXPECT_TRUE(out.changes_pending);
  EXPECT_TRUE(saw_dry_run);
  EXPECT_EQ(a->applies + b->applies, 0);
  EXPECT_EQ(find(out, "a")->condition, "Planned");
  EXPECT_EQ(find(out, "b")->condition, "Planned");
  ASSERT_EQ(find(out, "b")->changes.size(), 1u);
  const auto changes = events("stage.change", "b");
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].fields["action"], "update");
  EXPECT_EQ(changes[0].fields["object"], "topic/gpu-metadata");
  EXPECT_EQ(changes[0].fields["detail"], "partitions 3 → 6");
  EXPECT_TRUE(state.stages.empty());  // plan records only the run
  ASSERT_EQ(state.history.size(), 1u);
  EXPECT_EQ(state.history[0].command, "plan");
  EXPECT_EQ(events("run.done").at(0).message, "2 changes pending");
}

TEST_F(EngineTest, PlanModeWhenConvergedHasNothingPending) {
  auto* a = add("a");
  a->converged = true;
  RunOptions opts;
  opts.mode = Mode::Plan;
  const auto out = run(opts);
  EXPECT_FALSE(out.changes_pending);
  EXPECT_EQ(find(out, "a")->condition, "Ready");
}

TEST_F(EngineTest, DownRunsInReverseAndContinuesPastErrors) {
  addPipeline();
  ASSERT_TRUE(run().ok);
  FakeStage* platform = fakes["platform"];
  FakeStage* infra = fakes["infra"];
  platform->on_destroy = [](StageContext&) -> Status {
    return Error::terminal("db: cannot remove .ca4/local/db: permission denied", "chmod u+w it");
  };
  infra->skip = "target local has no cloud infrastructure";
  log->clear();
  RunOptions opts;
  opts.mode = Mode::Down;
  opts.command = "down";
  const auto out = run(opts);
  EXPECT_FALSE(out.ok);
  EXPECT_EQ(calls("destroy:"),
            (std::vector<std::string>{"verify", "monitoring", "edge", "platform", "cluster"}));
  EXPECT_EQ(find(out, "platform")->condition, "Stalled");
  EXPECT_EQ(find(out, "platform")->fix, "chmod u+w it");
  EXPECT_EQ(find(out, "cluster")->condition, "Ready");
  EXPECT_EQ(find(out, "infra")->condition, "Skipped");
  EXPECT_EQ(state.stages.count("edge"), 0u);  // torn down: record removed
  EXPECT_EQ(state.stages["platform"].condition, "Stalled");
  EXPECT_EQ(state.history.back().command, "down");
}

TEST_F(EngineTest, OnlyRunsSelectedStagesWhenDependenciesAreRecordedReady) {
  auto* a = add("a");
  auto* b = add("b", {"a"});
  auto* c = add("c", {"b"});
  RunOptions opts;
  opts.only = {"b"};

  auto out = run(opts);  // nothing recorded for a yet
  EXPECT_EQ(find(out, "b")->condition, "Blocked");
  EXPECT_NE(find(out, "b")->message.find("a (never reconciled)"), std::string::npos);
  EXPECT_FALSE(out.ok);

  state.stages["a"].condition = "Stalled";
  out = run(opts);
  EXPECT_EQ(find(out, "b")->condition, "Blocked");

  state.stages["a"].condition = "Ready";
  sink.events.clear();
  out = run(opts);
  EXPECT_TRUE(out.ok);
  EXPECT_EQ(out.stages.size(), 1u);
  EXPECT_EQ(find(out, "b")->condition, "Ready");
  EXPECT_EQ(a->plans, 0);
  EXPECT_EQ(c->plans, 0);
  EXPECT_EQ(b->applies, 1);
  const auto not_run = events("stage.skipped");
  ASSERT_EQ(not_run.size(), 2u);
  EXPECT_EQ(not_run[0].fields["selected"], false);
  EXPECT_EQ(state.history.back().stages.size(), 1u);
}

TEST_F(EngineTest, OnlyTreatsASkippedDependencyAsSatisfied) {
  auto* a = add("a");
  add("b", {"a"});
  a->skip = "not for this target";
  RunOptions opts;
  opts.only = {"b"};
  const auto out = run(opts);
  EXPECT_TRUE(out.ok);
  EXPECT_EQ(find(out, "b")->condition, "Ready");
}

TEST_F(EngineTest, OnlyWithUnknownStageRunsNothing) {
  auto* a = add("a");
  RunOptions opts;
  opts.only = {"edgee"};
  const auto out = run(opts);
  EXPECT_FALSE(out.ok);
  EXPECT_EQ(a->plans, 0);
  ASSERT_EQ(out.stages.size(), 1u);
  EXPECT_EQ(out.stages[0].condition, "Stalled");
  EXPECT_EQ(out.stages[0].fix, "choose among: a");
}

TEST_F(EngineTest, StateIsSavedAfterEveryStage) {
  auto* a = add("a");
  auto* b = add("b", {"a"});
  a->on_apply = [a](StageContext& ctx, const std::vector<Change>&) {
    ctx.data["pid"] = 4242;
    a->converged = true;
    return okStatus();
  };
  std::optional<State> seen;
  b->on_plan = [&](StageContext&, int) -> Result<std::vector<Change>> {
    auto loaded = store.load();
    if (loaded.ok()) seen = *loaded;
    throw std::runtime_error("boom");
  };
  const auto out = run();
  ASSERT_TRUE(seen.has_value());
  EXPECT_EQ(seen->stages["a"].condition, "Ready");
  EXPECT_EQ(seen->stages["a"].data["pid"], 4242);
  EXPECT_EQ(seen->spec_digest, "sha256:abc");
  EXPECT_EQ(seen->target, "local");

  // A throwing stage is a bug: Stalled, recorded, and the run still finishes.
  EXPECT_EQ(find(out, "b")->condition, "Stalled");
  EXPECT_NE(find(out, "b")->message.find("plan() threw: boom"), std::string::npos);
  auto after = store.load();
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->stages["b"].condition, "Stalled");
  EXPECT_FALSE(after->stages["b"].updated_at.empty());
  EXPECT_EQ(after->history.size(), 1u);
}

TEST_F(EngineTest, ProcessDyingMidRunKeepsFinishedStages) {
  const std::string state_dir = dir.path() + "/.ca4";
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    auto* a = add("a");
    auto* b = add("b", {"a"});
    a->on_apply = [a](StageContext& ctx, const std::vector<Change>&) {
      ctx.data["pid"] = 99;
      a->converged = true;
      return okStatus();
    };
    b->on_apply = [](StageContext&, const std::vector<Change>&) -> Status { ::_exit(7); };
    run();
    ::_exit(0);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  ASSERT_EQ(WEXITSTATUS(status), 7);
  auto loaded = StateStore(state_dir).load();
  ASSERT_TRUE(loaded.ok()) << loaded.error().message;
  EXPECT_EQ(loaded->stages["a"].condition, "Ready");
  EXPECT_EQ(loaded->stages["a"].data["pid"], 99);
  EXPECT_EQ(loaded->stages.count("b"), 0u);
  EXPECT_TRUE(loaded->history.empty());
}

TEST_F(EngineTest, HistoryIsTrimmed) {
  auto* a = add("a");
  a->converged = true;
  std::vector<std::string> ids;
  for (int i = 0; i < 25; ++i) {
    ids.push_back(run().run);
    clock.advance(1500ms);
  }
  ASSERT_EQ(state.history.size(), kHistoryLimit);
  EXPECT_EQ(state.history.front().run, ids[25 - kHistoryLimit]);
  EXPECT_EQ(state.history.back().run, ids.back());
  auto loaded = store.load();
  ASSERT_TRUE(loaded.ok());
  EXPECT_EQ(loaded->history.size(), kHistoryLimit);
  EXPECT_EQ(loaded->history.back().outcome, "Ready");
}

TEST_F(EngineTest, StopBetweenStagesInterrupts) {
  auto* a = add("a");
  auto* b = add("b", {"a"});
  a->on_plan = [a](StageContext&, int) -> Result<std::vector<Change>> {
    requestStop();
    a->converged = true;
    return std::vector<Change>{};
  };
  const auto out = run();
  EXPECT_TRUE(out.interrupted);
  EXPECT_FALSE(out.ok);
  EXPECT_EQ(b->plans, 0);
  EXPECT_EQ(find(out, "a")->condition, "Ready");
  EXPECT_EQ(find(out, "b"), nullptr);
  EXPECT_EQ(state.history.back().outcome, "Interrupted");
  const auto done = events("run.done");
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].status, "Interrupted");
}

TEST_F(EngineTest, StopDuringBackoffInterrupts) {
  auto* a = add("a");
  a->on_plan = [](StageContext&, int) -> Result<std::vector<Change>> {
    return Error::retryable("not yet");
  };
  clock.on_sleep = [] { requestStop(); };
  const auto out = run();
  EXPECT_TRUE(out.interrupted);
  EXPECT_EQ(a->plans, 1);
  EXPECT_EQ(find(out, "a")->condition, "Reconciling");
  EXPECT_EQ(state.stages["a"].condition, "Reconciling");
  EXPECT_EQ(state.history.back().outcome, "Interrupted");
}

TEST_F(EngineTest, EventsDescribeTheRun) {
  auto* a = add("a");
  a->on_plan = [a](StageContext& ctx, int) -> Result<std::vector<Change>> {
    ctx.progress("kafka: waiting for port 9092", {{"port", 9092}});
    if (a->converged) return std::vector<Change>{};
    return std::vector<Change>{{"start", "process/kafka", "not running"}};
  };
  const auto out = run();
  ASSERT_FALSE(sink.events.empty());
  for (const auto& e : sink.events) {
    EXPECT_EQ(e.run, out.run) << e.type;
    EXPECT_FALSE(e.ts.empty()) << e.type;
  }
  EXPECT_EQ(sink.events.front().type, "run.start");
  EXPECT_EQ(sink.events.back().type, "run.done");
  const auto start = sink.events.front();
  EXPECT_EQ(start.fields["command"], "up");
  EXPECT_EQ(start.fields["target"], "local");
  EXPECT_EQ(start.fields["specDigest"], "sha256:abc");
  EXPECT_EQ(events("stage.start", "a").size(), 1u);
  const auto progress = events("stage.progress", "a");
  ASSERT_EQ(progress.size(), 2u);  // plan + confirm plan
  EXPECT_EQ(progress[0].message, "kafka: waiting for port 9092");
  EXPECT_EQ(progress[0].fields["port"], 9092);
  const auto done = events("stage.done", "a").at(0);
  EXPECT_EQ(done.status, "Ready");
  EXPECT_GE(done.duration_ms, 0);
  EXPECT_EQ(done.fields["changes"].size(), 1u);
  EXPECT_EQ(events("run.done").at(0).fields["changes"], 1);
}

TEST_F(EngineTest, StatusAsksEveryNonSkippedStageWithItsData) {
  auto* a = add("a");
  auto* b = add("b", {"a"});
  b->skip = "not here";
  a->on_status = [](StageContext& ctx) {
    ComponentStatus c;
    c.name = "kafka";
    c.state = "running";
    c.detail = "pid " + ctx.data.value("pid", std::string("?"));
    return std::vector<ComponentStatus>{c};
  };
  bool b_asked = false;
  b->on_status = [&](StageContext&) {
    b_asked = true;
    return std::vector<ComponentStatus>{};
  };
  state.stages["a"].data["pid"] = "1234";
  const auto rows = engine().status(pipeline, state);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].stage, "a");
  EXPECT_EQ(rows[0].detail, "pid 1234");
  EXPECT_TRUE(rows[0].healthy());
  EXPECT_FALSE(b_asked);
}

TEST(NewRunId, HasTimestampAndRandomSuffix) {
  FakeClock clock;
  const std::string id = newRunId(clock);
  ASSERT_EQ(id.size(), std::string("r-20261123T160000Z-1a2b").size()) << id;
  EXPECT_EQ(id.substr(0, 19), "r-20261123T160000Z-");
  EXPECT_EQ(id.find_first_not_of("0123456789abcdef", 19), std::string::npos) << id;
}

}  // namespace
}  // namespace ca4::engine
