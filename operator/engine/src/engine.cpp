#include "ca4/engine/engine.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <exception>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <stdexcept>

namespace ca4::engine {
namespace {

using nlohmann::json;
using Ms = std::chrono::milliseconds;

std::string targetName(spec::Target t) {
  // Not spec::toString(): the engine uses the spec model through its header only.
  switch (t) {
    case spec::Target::Local:
      return "local";
    case spec::Target::Aws:
      return "aws";
    case spec::Target::Hosts:
      return "hosts";
    case spec::Target::Kubernetes:
      return "kubernetes";
  }
  return "unknown";
}

std::string modeName(Mode m) {
  switch (m) {
    case Mode::Up:
      return "up";
    case Mode::Plan:
      return "plan";
    case Mode::Down:
      return "down";
  }
  return "unknown";
}

std::string describe(const Change& c) {
  std::string s = c.action + " " + c.object;
  if (!c.detail.empty()) s += " (" + c.detail + ")";
  return s;
}

std::string plural(std::size_t n, const std::string& word) {
  return std::to_string(n) + " " + word + (n == 1 ? "" : "s");
}

long long msBetween(std::chrono::steady_clock::time_point a,
                    std::chrono::steady_clock::time_point b) {
  return std::chrono::duration_cast<Ms>(b - a).count();
}

// A dependency in one of these conditions lets its dependents run.
bool satisfies(const std::string& condition) {
  return condition == "Ready" || condition == "Skipped" || condition == "Planned";
}

bool failed(const std::string& condition) {
  return condition == "Stalled" || condition == "Blocked";
}

// Stage code is ours but may still throw (json type errors, bad_alloc): that is a bug, not
// something a retry fixes, so it stalls the stage instead of killing the run.
template <typename F>
auto guarded(const Stage& s, const char* what, F&& f) -> decltype(f()) {
  const std::string fix = "this is a bug in ca4ctl; please report it with the output of -v";
  try {
    return f();
  } catch (const std::exception& e) {
    return Error::terminal(s.name() + ": " + what + "() threw: " + e.what(), fix);
  } catch (...) {
    return Error::terminal(s.name() + ": " + what + "() threw an unknown exception", fix);
  }
}

// Kahn's algorithm; among stages whose dependencies are done, construction order decides.
std::vector<std::unique_ptr<Stage>> topoSort(std::vector<std::unique_ptr<Stage>> in) {
  std::map<std::string, std::size_t> index;
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (!in[i]) throw std::logic_error("engine: null stage");
    const std::string name = in[i]->name();
    if (name.empty()) throw std::logic_error("engine: a stage has an empty name");
    if (!index.emplace(name, i).second) {
      throw std::logic_error("engine: duplicate stage \"" + name + "\"");
    }
  }
  std::vector<std::set<std::size_t>> deps(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    for (const auto& d : in[i]->dependsOn()) {
      const auto it = index.find(d);
      if (it == index.end()) {
        throw std::logic_error("engine: stage \"" + in[i]->name() +
                               "\" depends on unknown stage \"" + d + "\"");
      }
      deps[i].insert(it->second);
    }
  }
  std::vector<std::unique_ptr<Stage>> out;
  std::vector<bool> done(in.size(), false);
  while (out.size() < in.size()) {
    bool progressed = false;
    for (std::size_t i = 0; i < in.size(); ++i) {
      if (done[i]) continue;
      const bool ready =
          std::all_of(deps[i].begin(), deps[i].end(), [&](std::size_t d) { return done[d]; });
      if (!ready) continue;
      done[i] = true;
      out.push_back(std::move(in[i]));
      progressed = true;
      break;  // restart from the first stage: keeps construction order among ready ones
    }
    if (!progressed) {
      std::string names;
      for (std::size_t i = 0; i < in.size(); ++i) {
        if (!done[i]) names += (names.empty() ? "" : ", ") + in[i]->name();
      }
      throw std::logic_error("engine: dependency cycle among stages: " + names);
    }
  }
  return out;
}

// One invocation of Engine::run. Holds the per-run bookkeeping.
class Runner {
 public:
  Runner(const std::vector<std::unique_ptr<Stage>>& stages, EventSink& events, Clock& clock,
         const spec::Pipeline& p, const std::string& digest, State& state, const StateStore& store,
         const RunOptions& opts)
      : stages_(stages),
        events_(events),
        clock_(clock),
        p_(p),
        digest_(digest),
        state_(state),
        store_(store),
        opts_(opts),
        plan_only_(opts.mode == Mode::Plan || opts.dry_run),
        rng_(static_cast<std::uint64_t>(clock.wallNow().time_since_epoch().count())) {}

  RunOutcome run();

 private:
  Event event(const std::string& type, const std::string& stage = {}) const {
    Event e;
    e.ts = rfc3339(clock_.wallNow());
    e.run = out_.run;
    e.type = type;
    e.stage = stage;
    return e;
  }
  void emit(const Event& e) { events_.emit(e); }

  bool selected(const std::string& name) const {
    return opts_.only.empty() ||
           std::find(opts_.only.begin(), opts_.only.end(), name) != opts_.only.end();
  }
  bool checkOnly();
  void runForward();
  void runDown();
  StageOutcome reconcile(Stage& s, StageContext& ctx, std::chrono::steady_clock::time_point start);
  StageOutcome destroy(Stage& s, StageContext& ctx, std::chrono::steady_clock::time_point start);
  bool retryAfter(const Stage& s, const Error& err, int& failures,
                  std::chrono::steady_clock::time_point start, StageOutcome& so);
  Ms backoffDelay(int failures);
  std::optional<std::string> blockedBy(const Stage& s);
  void emitChanges(const std::string& stage, const std::vector<Change>& changes);
  void finishStage(StageOutcome so, std::chrono::steady_clock::time_point start, bool persist);
  void emitNotSelected(const std::string& name);
  void record(const StageOutcome& so);
  bool save();
  StageContext context(const std::string& name, json& data);

  const std::vector<std::unique_ptr<Stage>>& stages_;
  EventSink& events_;
  Clock& clock_;
  const spec::Pipeline& p_;
  const std::string& digest_;
  State& state_;
  const StateStore& store_;
  const RunOptions& opts_;
  const bool plan_only_;
  std::mt19937_64 rng_;

  RunOutcome out_;
  std::map<std::string, std::string> this_run_;  // stage -> condition reached in this run
  std::size_t change_count_ = 0;
  bool save_failed_ = false;
  std::string interrupted_in_;
};

StageContext Runner::context(const std::string& name, json& data) {
  auto progress = [this, name](const std::string& msg, json fields) {
    Event e = event("stage.progress", name);
    e.message = msg;
    if (fields.is_object()) e.fields = std::move(fields);
    emit(e);
  };
  return StageContext(p_, data, clock_, std::move(progress), plan_only_);
}

// base·2^(n-1), capped, then ±20% jitter, never above the cap.
Ms Runner::backoffDelay(int failures) {
  const double base = static_cast<double>(opts_.backoff.base.count());
  const double cap = static_cast<double>(opts_.backoff.cap.count());
  const double raw = std::min(cap, base * std::ldexp(1.0, std::min(failures - 1, 60)));
  std::uniform_real_distribution<double> jitter(0.8, 1.2);
  const double d = std::min(cap, raw * jitter(rng_));
  return Ms(static_cast<long long>(std::max(0.0, d)));
}

// Decides what follows a failed attempt. Returns true when the caller should try again (the
// backoff sleep has happened); false when `so` is final (Stalled, or interrupted).
bool Runner::retryAfter(const Stage& s, const Error& err, int& failures,
                        std::chrono::steady_clock::time_point start, StageOutcome& so) {
  ++failures;
  if (!err.isRetryable()) {
    so.condition = "Stalled";
    so.message = err.message;
    so.fix = err.fix;
    return false;
  }
  const auto now = clock_.now();
  const auto deadline = start + s.timeout();
  if (now >= deadline) {
    so.condition = "Stalled";
    so.message =
        err.message + " (gave up after " +
        std::to_string(std::chrono::duration_cast<std::chrono::seconds>(now - start).count()) +
        " s, " + plural(static_cast<std::size_t>(failures), "attempt") + ")";
    so.fix = !err.fix.empty() ? err.fix
                              : "fix the cause above, then re-run `ca4ctl " + opts_.command + "`";
    return false;
  }
  const Ms delay = std::min(backoffDelay(failures), std::chrono::ceil<Ms>(deadline - now));
  Event e = event("stage.retry", s.name());
  e.status = "Reconciling";
  e.message = err.message;
  e.fields = {{"attempt", failures}, {"delay_ms", delay.count()}, {"error", err.message}};
  emit(e);
  if (!clock_.sleepFor(delay) || stopRequested()) {
    so.condition = "Reconciling";
    so.message = "interrupted while retrying: " + err.message;
    interrupted_in_ = "during " + s.name();
    return false;
  }
  return true;
}

void Runner::emitChanges(const std::string& stage, const std::vector<Change>& changes) {
  for (const auto& c : changes) {
    Event e = event("stage.change", stage);
    e.message = describe(c);
    e.fields = c.toJson();
    emit(e);
  }
}

StageOutcome Runner::reconcile(Stage& s, StageContext& ctx,
                               std::chrono::steady_clock::time_point start) {
  StageOutcome so;
  so.stage = s.name();
  int failures = 0;
  auto merge = [&](const std::vector<Change>& cs) {
    for (const auto& c : cs) {
      const bool seen = std::any_of(so.changes.begin(), so.changes.end(), [&](const Change& x) {
        return x.action == c.action && x.object == c.object;
      });
      if (!seen) so.changes.push_back(c);
    }
  };
  auto ready = [&] {
    so.condition = "Ready";
    so.message =
        so.changes.empty() ? "up to date" : plural(so.changes.size(), "change") + " applied";
  };
  for (;;) {
    if (stopRequested()) {
      so.condition = "Reconciling";
      so.message = "interrupted";
      interrupted_in_ = "during " + s.name();
      return so;
    }
    auto planned = guarded(s, "plan", [&] { return s.plan(ctx); });
    std::optional<Error> err;
    if (!planned.ok()) {
      err = planned.error();
    } else if (planned->empty()) {
      ready();
      return so;
    } else if (plan_only_) {
      emitChanges(so.stage, *planned);
      so.changes = *planned;
      so.condition = "Planned";
      so.message = plural(so.changes.size(), "change") + " pending";
      return so;
    } else {
      emitChanges(so.stage, *planned);
      merge(*planned);
      out_.changes_pending = true;
      auto applied = guarded(s, "apply", [&] { return s.apply(ctx, *planned); });
      if (!applied.ok()) {
        err = applied.error();
      } else {
        auto confirm = guarded(s, "plan", [&] { return s.plan(ctx); });
        if (!confirm.ok()) {
          err = confirm.error();
        } else if (confirm->empty()) {
          ready();
          return so;
        } else {
          std::string msg = "did not converge: " + describe(confirm->front());
          if (confirm->size() > 1) msg += " (+" + std::to_string(confirm->size() - 1) + " more)";
          // Retryable: a component may need a moment to reach the state apply() asked for.
          err = Error::retryable(msg, "stage " + so.stage +
                                          " applied its changes but still reports them; see its "
                                          "log, and report a bug if it persists");
        }
      }
    }
    if (!retryAfter(s, *err, failures, start, so)) return so;
  }
}

StageOutcome Runner::destroy(Stage& s, StageContext& ctx,
                             std::chrono::steady_clock::time_point start) {
  StageOutcome so;
  so.stage = s.name();
  int failures = 0;
  for (;;) {
    if (stopRequested()) {
      so.condition = "Reconciling";
      so.message = "interrupted";
      interrupted_in_ = "during " + s.name();
      return so;
    }
    auto st = guarded(s, "destroy", [&] { return s.destroy(ctx); });
    if (st.ok()) {
      so.condition = "Ready";
      so.message = "removed";
      return so;
    }
    if (!retryAfter(s, st.error(), failures, start, so)) return so;
  }
}

// Which dependency keeps `s` from running, if any.
std::optional<std::string> Runner::blockedBy(const Stage& s) {
  for (const auto& dep : s.dependsOn()) {
    std::string cond;
    if (auto it = this_run_.find(dep); it != this_run_.end()) {
      cond = it->second;
    } else {
      // Not run this time (--only): what the state file says, or skipped for this spec.
      const auto ds = std::find_if(stages_.begin(), stages_.end(),
                                   [&](const auto& x) { return x->name() == dep; });
      if (ds != stages_.end() && (*ds)->skipReason(p_)) continue;
      if (auto rec = state_.stages.find(dep); rec != state_.stages.end())
        cond = rec->second.condition;
    }
    if (!satisfies(cond)) {
      std::string why = "waiting for " + dep + " (" + (cond.empty() ? std::string("never reconciled") : cond) + ")";
      if (this_run_.find(dep) == this_run_.end()) why += "; run `ca4ctl up --stage " + dep + "` or `ca4ctl up` first";
      return why;
    }
  }
  return std::nullopt;
}

void Runner::record(const StageOutcome& so) {
  StageRecord& rec = state_.stages[so.stage];
  rec.condition = so.condition;
  rec.message = so.message;
  rec.updated_at = rfc3339(clock_.wallNow());
}

bool Runner::save() {
  // plan and --dry-run are read-only: they never write the state file, so they need no lock and
  // can run beside `up` or `reconcile --watch`.
  if (plan_only_) return true;
  auto st = store_.save(state_);
  if (st.ok()) return true;
  save_failed_ = true;
  out_.ok = false;
  Event e = event("log");
  e.status = "failed";
  e.message = st.error().message;
  e.fields = {{"fix", st.error().fix}};
  emit(e);
  return false;
}

void Runner::finishStage(StageOutcome so, std::chrono::steady_clock::time_point start,
                         bool persist) {
  so.duration_ms = msBetween(start, clock_.now());
  Event e = event(so.condition == "Skipped" ? "stage.skipped" : "stage.done", so.stage);
  e.status = so.condition;
  e.message = so.message;
  if (so.condition != "Skipped") e.duration_ms = so.duration_ms;
  if (!so.fix.empty()) e.fields["fix"] = so.fix;
  if (!so.changes.empty()) {
    json cs = json::array();
    for (const auto& c : so.changes) cs.push_back(c.toJson());
    e.fields["changes"] = std::move(cs);
  }
  emit(e);
  if (failed(so.condition) || so.condition == "Reconciling") out_.ok = false;
  change_count_ += so.changes.size();
  this_run_[so.stage] = so.condition;
  if (persist) {
    record(so);
    save();
  }
  out_.stages.push_back(std::move(so));
}

void Runner::emitNotSelected(const std::string& name) {
  Event e = event("stage.skipped", name);
  e.status = "Skipped";
  e.message = "not selected (--stage)";
  e.fields = {{"selected", false}};
  emit(e);
}

// Unknown names in --only: reported like a stalled stage so the CLI shows the fix.
bool Runner::checkOnly() {
  bool good = true;
  for (const auto& name : opts_.only) {
    const bool known = std::any_of(stages_.begin(), stages_.end(),
                                   [&](const auto& s) { return s->name() == name; });
    if (known) continue;
    std::string names;
    for (const auto& s : stages_) names += (names.empty() ? "" : ", ") + s->name();
    StageOutcome so{name, "Stalled", "unknown stage \"" + name + "\"", "choose among: " + names,
                    {},   0};
    finishStage(std::move(so), clock_.now(), false);
    good = false;
  }
  return good;
}

void Runner::runForward() {
  const bool persist = !plan_only_;
  for (const auto& sp : stages_) {
    Stage& s = *sp;
    const std::string name = s.name();
    if (!selected(name)) {
      emitNotSelected(name);
      continue;
    }
    if (stopRequested()) {
      interrupted_in_ = "before " + name;
      return;
    }
    const auto start = clock_.now();
    // Blocked before Skipped: a skipped stage passes its dependencies' failure on, so a stage
    // after it (verify after a disabled monitoring) does not run against a stalled edge.
    if (auto why = blockedBy(s)) {
      finishStage({name, "Blocked", *why, {}, {}, 0}, start, persist);
    } else if (auto reason = s.skipReason(p_)) {
      finishStage({name, "Skipped", *reason, {}, {}, 0}, start, persist);
    } else {
      emit(event("stage.start", name));
      StageOutcome so;
      if (persist) {
        // Stages edit their record's data in place; it is saved with the outcome.
        StageContext ctx = context(name, state_.stages[name].data);
        so = reconcile(s, ctx, start);
      } else {
        json scratch = json::object();
        if (auto it = state_.stages.find(name); it != state_.stages.end())
          scratch = it->second.data;
        StageContext ctx = context(name, scratch);
        so = reconcile(s, ctx, start);
      }
      if (so.condition == "Planned") out_.changes_pending = true;
      finishStage(std::move(so), start, persist);
    }
    if (save_failed_ || !interrupted_in_.empty()) return;
  }
}

void Runner::runDown() {
  for (auto it = stages_.rbegin(); it != stages_.rend(); ++it) {
    Stage& s = **it;
    const std::string name = s.name();
    if (!selected(name)) {
      emitNotSelected(name);
      continue;
    }
    if (stopRequested()) {
      interrupted_in_ = "before " + name;
      return;
    }
    const auto start = clock_.now();
    if (auto reason = s.skipReason(p_)) {
      finishStage({name, "Skipped", *reason, {}, {}, 0}, start, false);
      continue;
    }
    emit(event("stage.start", name));
    StageOutcome so;
    {
      StageContext ctx = context(name, state_.stages[name].data);
      so = destroy(s, ctx, start);
    }
    const bool removed = so.condition == "Ready";
    finishStage(std::move(so), start, !removed);
    if (removed) {
      // Nothing of this stage is left: its record (pids, ports…) would only mislead `status`.
      state_.stages.erase(name);
      save();
    }
    if (save_failed_ || !interrupted_in_.empty()) return;
  }
}

RunOutcome Runner::run() {
  out_.run = newRunId(clock_);
  const auto start = clock_.now();
  const std::string started_at = rfc3339(clock_.wallNow());
  const std::string target = targetName(p_.spec.target);

  Event begin = event("run.start");
  begin.fields = {{"command", opts_.command},
                  {"mode", modeName(opts_.mode)},
                  {"target", target},
                  {"specDigest", digest_}};
  emit(begin);

  if (opts_.mode == Mode::Up && !opts_.dry_run) {
    state_.target = target;
    state_.spec_digest = digest_;
  }
  if (checkOnly()) {
    if (opts_.mode == Mode::Down) {
      runDown();
    } else {
      runForward();
    }
  }
  out_.interrupted = !interrupted_in_.empty();
  if (out_.interrupted) out_.ok = false;

  std::string outcome = out_.interrupted ? "Interrupted"
                        : save_failed_   ? "Failed"
                        : out_.ok        ? "Ready"
                                         : "Stalled";
  RunRecord rr;
  rr.run = out_.run;
  rr.command = opts_.command;
  rr.spec_digest = digest_;
  rr.started_at = started_at;
  rr.duration_ms = msBetween(start, clock_.now());
  rr.outcome = outcome;
  for (const auto& so : out_.stages) rr.stages[so.stage] = so.condition;
  state_.addRun(rr);
  if (!save_failed_ && !save()) outcome = "Failed";

  std::string message;
  std::vector<std::string> stalled;
  for (const auto& so : out_.stages) {
    if (failed(so.condition)) stalled.push_back(so.stage + " " + so.condition);
  }
  if (out_.interrupted) {
    message =
        "interrupted (" + interrupted_in_ + "); re-run `ca4ctl " + opts_.command + "` to continue";
  } else if (save_failed_) {
    message = "the state file could not be saved";
  } else if (!stalled.empty()) {
    for (const auto& s : stalled) message += (message.empty() ? "" : ", ") + s;
  } else if (opts_.mode == Mode::Down) {
    message = "torn down";
  } else if (plan_only_) {
    message = change_count_ == 0 ? "no changes" : plural(change_count_, "change") + " pending";
  } else {
    message = change_count_ == 0 ? "no changes, up to date"
                                 : plural(change_count_, "change") + " applied";
  }

  Event done = event("run.done");
  done.status = outcome;
  done.message = message;
  done.duration_ms = rr.duration_ms;
  done.fields = {{"changes", change_count_},
                 {"command", opts_.command},
                 {"mode", modeName(opts_.mode)},
                 {"stages", rr.stages}};
  emit(done);
  return out_;
}

}  // namespace

Engine::Engine(std::vector<std::unique_ptr<Stage>> stages, EventSink& events, Clock& clock)
    : stages_(topoSort(std::move(stages))), events_(events), clock_(clock) {}

RunOutcome Engine::run(const spec::Pipeline& p, const std::string& spec_digest, State& state,
                       const StateStore& store, const RunOptions& opts) {
  Runner r(stages_, events_, clock_, p, spec_digest, state, store, opts);
  return r.run();
}

std::vector<ComponentStatus> Engine::status(const spec::Pipeline& p, State& state) {
  std::vector<ComponentStatus> rows;
  for (const auto& sp : stages_) {
    Stage& s = *sp;
    if (s.skipReason(p)) continue;
    const std::string name = s.name();
    // A copy: status() must not change anything, and a missing record must not be created.
    json data = json::object();
    if (auto it = state.stages.find(name); it != state.stages.end()) data = it->second.data;
    StageContext ctx(p, data, clock_, nullptr, /*dry_run=*/true);
    for (auto& c : s.status(ctx)) {
      if (c.stage.empty()) c.stage = name;
      rows.push_back(std::move(c));
    }
  }
  return rows;
}

std::string newRunId(const Clock& clock) {
  const std::time_t t = std::chrono::system_clock::to_time_t(clock.wallNow());
  std::tm tm{};
  gmtime_r(&t, &tm);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
  std::random_device rd;
  char suffix[8];
  std::snprintf(suffix, sizeof suffix, "%04x", static_cast<unsigned>(rd() & 0xFFFFu));
  return std::string("r-") + stamp + "-" + suffix;
}

}  // namespace ca4::engine
