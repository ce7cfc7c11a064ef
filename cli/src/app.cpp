// ca4ctl: argument parsing, output selection and exit codes. The work is done by operator/.
#include "ca4/cli/app.h"

#include <signal.h>
#include <unistd.h>

#include <CLI/CLI.hpp>

#include <algorithm>
#include <filesystem>
#include <memory>
#include <random>
#include <sstream>

#include "ca4/drivers/local/ports.h"
#include "ca4/drivers/local/process.h"
#include "ca4/engine/engine.h"
#include "ca4/engine/events.h"
#include "ca4/engine/state.h"
#include "ca4/spec/load.h"
#include "ca4/stages/endpoints.h"
#include "ca4/stages/local_services.h"
#include "ca4/stages/stages.h"
#include "ca4/stages/kube.h"
#include "ca4/stages/remote.h"
#include "ca4/stages/verify.h"
#include "tunnel.h"

#ifndef CA4_VERSION
#define CA4_VERSION "0.0.0-dev"
#endif

namespace ca4::cli {
namespace {
namespace fs = std::filesystem;

struct Globals {
  std::string file = "ca4.yaml";
  std::string output = "table";
  std::string target;
  bool dry_run = false;
  bool verbose = false;
  std::vector<std::string> only;  // up/plan --stage: run just these stages
};

const char* kFooter = R"(Exit codes:
  0   success (up/reconcile converged, verify passed, plan: nothing to change)
  1   failure: a stage stalled, a check failed, or ca4.yaml is invalid (errors as file:line:col)
  2   plan: something would change (like terraform plan -detailed-exitcode)
  3   status: some component is not running
  4   another ca4ctl holds the state lock (.ca4/state.lock); the message names its pid
  64  bad command line
  130 interrupted (SIGINT/SIGTERM)

Examples:
  ca4ctl up                      start the whole pipeline on this machine (target local)
  ca4ctl verify e2e              POST an event, wait for its document and S3 object
  ca4ctl plan -o json            what up would change, as JSON lines
  ca4ctl reconcile --watch       keep repairing drift (killed processes, spec edits)
  ca4ctl down                    stop everything (data stays in .ca4/local; --purge deletes it)
  ca4ctl -f docs/ca4.kubernetes.yaml plan
                                 per-object diff of the manifests against a cluster you have
)";

void onSignal(int) {
  if (engine::stopRequested()) _exit(kExitInterrupted);  // second Ctrl-C: leave now
  engine::requestStop();
}

void installSignals() {
  struct sigaction sa {};
  sa.sa_handler = onSignal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);
}

class Cli {
 public:
  Cli(std::FILE* out, std::FILE* err) : out_(out), err_(err) {}

  Globals g;

  bool json() const { return g.output == "json"; }

  std::shared_ptr<engine::EventSink> sink() {
    if (!sink_) {
      if (json()) {
        sink_ = std::make_shared<engine::JsonLinesSink>(out_);
      } else {
        sink_ = std::make_shared<engine::TerminalSink>(out_, ::isatty(::fileno(out_)) != 0, g.verbose);
      }
    }
    return sink_;
  }

  // Loads the spec; prints every diagnostic (file:line:col + fix) and returns nullopt if invalid.
  std::optional<spec::Pipeline> load() {
    auto r = spec::loadFile(g.file, spec::processEnv());
    if (!r.ok()) {
      for (const auto& d : r.diagnostics) {
        if (json()) {
          nlohmann::json j = {{"type", "spec.error"}, {"file", d.file}, {"line", d.line}, {"column", d.column},
                              {"path", d.path}, {"message", d.message}, {"fix", d.fix}};
          std::fprintf(out_, "%s\n", j.dump().c_str());
        } else {
          std::fprintf(err_, "%s\n", d.str().c_str());
        }
      }
      if (!json()) {
        std::fprintf(err_, "%zu problem(s) in %s; nothing was changed.\n", r.diagnostics.size(), g.file.c_str());
      }
      return std::nullopt;
    }
    auto p = std::move(*r.pipeline);
    applyTarget(p);
    return p;
  }

  // --target overrides spec.target (after validation of the file as written).
  void applyTarget(spec::Pipeline& p) const {
    if (g.target == "local") p.spec.target = spec::Target::Local;
    else if (g.target == "aws") p.spec.target = spec::Target::Aws;
    else if (g.target == "hosts") p.spec.target = spec::Target::Hosts;
    else if (g.target == "kubernetes") p.spec.target = spec::Target::Kubernetes;
  }

  void error(const std::string& msg, const std::string& fix) {
    if (json()) {
      nlohmann::json j = {{"type", "error"}, {"message", msg}};
      if (!fix.empty()) j["fix"] = fix;
      std::fprintf(out_, "%s\n", j.dump().c_str());
    } else {
      std::fprintf(err_, "error: %s\n", msg.c_str());
      if (!fix.empty()) std::fprintf(err_, "  fix: %s\n", fix.c_str());
    }
  }

  // up / plan / down / reconcile (one pass). Takes the lock unless `plan`.
  int runEngine(engine::Mode mode, const std::string& command, bool lock_needed) {
    auto p = load();
    if (!p) return kExitFailed;
    std::string dir = stages::stateDir(*p);
    std::optional<engine::StateLock> lock;
    if (lock_needed) {
      std::error_code ec;
      fs::create_directories(dir, ec);
      fs::permissions(dir, fs::perms::owner_all, ec);
      auto l = engine::StateLock::acquire(dir, "ca4ctl " + command);
      if (!l) {
        error(l.error().message, l.error().fix);
        return kExitLocked;
      }
      lock.emplace(std::move(*l));
    }
    return pass(*p, mode, command);
  }

  int pass(const spec::Pipeline& p, engine::Mode mode, const std::string& command) {
    engine::StateStore store(stages::stateDir(p));
    auto state = store.load();
    if (!state) {
      error(state.error().message, state.error().fix);
      return kExitFailed;
    }
    engine::Engine eng(stages::makeStages(p), *sink(), clock_);
    engine::RunOptions opts;
    opts.mode = mode;
    opts.command = command;
    opts.dry_run = g.dry_run;
    opts.only = g.only;
    auto outcome = eng.run(p, spec::digest(p), *state, store, opts);
    if (outcome.interrupted) return kExitInterrupted;
    if (mode == engine::Mode::Plan) {
      if (!outcome.ok) return kExitFailed;
      return outcome.changes_pending ? kExitChanges : kExitOk;
    }
    return outcome.ok ? kExitOk : kExitFailed;
  }

  int up() {
    if (g.dry_run) return runEngine(engine::Mode::Plan, "plan", false);
    return runEngine(engine::Mode::Up, "up", true);
  }

  int down(bool purge) {
    int rc = runEngine(engine::Mode::Down, "down", true);
    if (rc == kExitOk && purge) {
      auto p = load();
      if (!p) return kExitFailed;
      std::error_code ec;
      fs::remove_all(stages::localDataDir(*p), ec);
      if (!json()) std::fprintf(out_, "purged %s\n", stages::localDataDir(*p).c_str());
    }
    return rc;
  }

  int status() {
    auto p = load();
    if (!p) return kExitFailed;
    engine::StateStore store(stages::stateDir(*p));
    auto state = store.load();
    if (!state) {
      error(state.error().message, state.error().fix);
      return kExitFailed;
    }
    engine::MemorySink quiet;
    engine::Engine eng(stages::makeStages(*p), quiet, clock_);
    auto rows = eng.status(*p, *state);
    bool all = !rows.empty();
    if (json()) {
      for (const auto& r : rows) {
        nlohmann::json j = {{"type", "status"}, {"stage", r.stage}, {"component", r.name},
                            {"state", r.state}, {"detail", r.detail}, {"fields", r.fields}};
        std::fprintf(out_, "%s\n", j.dump().c_str());
      }
    } else {
      int nameWidth = 11;  // the COMPONENT column fits the longest name (kafka-topics, metadata-worker)
      for (const auto& r : rows) nameWidth = std::max(nameWidth, static_cast<int>(r.name.size()));
      std::fprintf(out_, "%-11s %-*s %-9s %s\n", "STAGE", nameWidth, "COMPONENT", "STATE", "DETAIL");
      for (const auto& r : rows) {
        std::fprintf(out_, "%-11s %-*s %-9s %s\n", r.stage.c_str(), nameWidth, r.name.c_str(), r.state.c_str(),
                     r.detail.c_str());
        if (g.verbose && r.fields.contains("log")) {
          std::fprintf(out_, "%-*s log %s\n", nameWidth + 22, "", r.fields["log"].get<std::string>().c_str());
        }
      }
      if (!state->history.empty()) {
        const auto& last = state->history.back();
        std::fprintf(out_, "\nlast run: %s `%s` %s in %lld ms (spec %s)\n", last.started_at.c_str(),
                     last.command.c_str(), last.outcome.c_str(), last.duration_ms, last.spec_digest.substr(0, 19).c_str());
      }
    }
    for (const auto& r : rows) all = all && r.healthy();
    if (!all && !json()) {
      std::fprintf(out_, "\nnot everything is running: `ca4ctl up` repairs it (logs: `ca4ctl status -v`)\n");
    }
    return all ? kExitOk : kExitNotRunning;
  }

  void printCheck(const std::string& kind, const stages::Check& c) {
    if (json()) {
      nlohmann::json j = {{"type", "check"}, {"check", kind}, {"name", c.name}, {"status", c.ok ? "ok" : "failed"},
                          {"message", c.message}, {"duration_ms", c.duration_ms}, {"fields", c.fields}};
      if (!c.fix.empty()) j["fix"] = c.fix;
      std::fprintf(out_, "%s\n", j.dump().c_str());
    } else {
      std::fprintf(out_, "%s %-9s %-18s %s (%lld ms)\n", c.ok ? "✓" : "✗", kind.c_str(), c.name.c_str(),
                   c.message.c_str(), c.duration_ms);
      if (!c.ok && !c.fix.empty()) std::fprintf(out_, "  fix: %s\n", c.fix.c_str());
    }
    std::fflush(out_);
  }

  int verify(const std::string& what) {
    auto p = load();
    if (!p) return kExitFailed;
    if (p->spec.target != spec::Target::Local && (what == "preflight" || what == "all")) {
      // Cluster targets: the rollout through the Kubernetes API; the data checks need tunnels.
      bool ok = true;
      for (const auto& c : stages::kube::verifyWorkloads(*p)) {
        printCheck("preflight", c);
        ok = ok && c.ok;
      }
      if (what == "preflight" || !ok) return ok ? kExitOk : kExitFailed;
    }
    auto e = stages::resolveEndpoints(*p);
    if (!e) {
      error(e.error().message, e.error().fix);
      return kExitFailed;
    }
    bool ok = true;
    auto runKind = [&](const std::string& kind) {
      std::vector<stages::Check> checks;
      if (kind == "preflight") checks = stages::verifyPreflight(*p, *e);
      else if (kind == "kafka") checks = stages::verifyKafka(*p, *e);
      else if (kind == "db") checks = stages::verifyDb(*p, *e);
      else if (kind == "e2e") {
        checks = stages::verifyE2e(*p, *e, [&](const std::string& m) {
          if (g.verbose && !json()) std::fprintf(out_, "  … %s\n", m.c_str());
        });
      }
      for (const auto& c : checks) {
        printCheck(kind, c);
        ok = ok && c.ok;
      }
    };
    if (what == "all") {
      for (const char* k : {"preflight", "kafka", "db", "e2e"}) {
        runKind(k);
        if (!ok) break;
      }
    } else {
      runKind(what);
    }
    return ok ? kExitOk : kExitFailed;
  }

  int reconcile(bool watch, int interval_s) {
    if (!watch) return runEngine(engine::Mode::Up, "reconcile", true);
    auto first = load();
    if (!first) return kExitFailed;
    std::string dir = stages::stateDir(*first);
    std::error_code ec;
    fs::create_directories(dir, ec);
    auto l = engine::StateLock::acquire(dir, "ca4ctl reconcile --watch");
    if (!l) {
      error(l.error().message, l.error().fix);
      return kExitLocked;
    }
    std::mt19937 rng(std::random_device{}());
    std::optional<spec::Pipeline> current = std::move(first);
    std::string last_digest;
    int rc = kExitOk;
    while (!engine::stopRequested()) {
      // Re-read the spec every pass: an edited ca4.yaml is drift too. An invalid edit keeps the
      // last good spec running and says why.
      auto r = spec::loadFile(g.file, spec::processEnv());
      if (r.ok()) {
        current = std::move(*r.pipeline);
        applyTarget(*current);
      } else {
        for (const auto& d : r.diagnostics) error("spec not applied: " + d.str(), "fix the file; the last valid spec stays in force");
      }
      std::string digest = spec::digest(*current);
      if (!last_digest.empty() && digest != last_digest) {
        sink()->emit({"", "", "spec.changed", "", "", "ca4.yaml changed; reconciling to " + digest.substr(0, 19), -1,
                      nlohmann::json{{"specDigest", digest}}});
      }
      last_digest = digest;
      rc = pass(*current, engine::Mode::Up, "reconcile");
      if (rc == kExitInterrupted) break;
      // jittered requeue: interval ±10%, so many controllers don't beat in step
      std::uniform_real_distribution<double> jitter(0.9, 1.1);
      auto wait = std::chrono::milliseconds(static_cast<long long>(interval_s * 1000 * jitter(rng)));
      sink()->emit({"", "", "requeue", "", "", "next pass in " + std::to_string(wait.count()) + " ms", -1,
                    nlohmann::json{{"delay_ms", wait.count()}}});
      if (!clock_.sleepFor(wait)) break;
    }
    sink()->emit({"", "", "watch.stopped", "", "", "stopped on signal", -1, nlohmann::json::object()});
    return kExitOk;
  }

  int doctor() {
    std::vector<stages::Check> checks;
    auto r = spec::loadFile(g.file, spec::processEnv());
    stages::Check sc;
    sc.name = "spec";
    sc.ok = r.ok();
    sc.message = r.ok() ? g.file + " is valid" : std::to_string(r.diagnostics.size()) + " problem(s): " + r.diagnostics.front().str();
    if (!r.ok()) sc.fix = "fix the lines named (`ca4ctl plan` lists them all)";
    checks.push_back(sc);
    if (r.ok()) {
      auto& p = *r.pipeline;
      applyTarget(p);
      if (p.spec.target == spec::Target::Local) {
        auto layout = stages::local::resolveLayout(p);
        stages::Check lc;
        lc.name = "prerequisites";
        lc.ok = layout.ok();
        lc.message = layout ? "java, Kafka, FerretDB, S3 server, Prometheus and the ca4 binaries found"
                            : layout.error().message;
        if (!layout) lc.fix = layout.error().fix;
        checks.push_back(lc);
        // ports: free, or held by a process this pipeline started
        engine::StateStore store(stages::stateDir(p));
        auto state = store.load();
        std::set<int> ours;
        if (state) {
          for (const auto& [stage, rec] : state->stages) {
            const nlohmann::json procs = rec.data.contains("processes") ? rec.data["processes"] : nlohmann::json::object();
            for (const auto& [name, pj] : procs.items()) {
              if (auto pr = drivers::local::ProcessRecord::fromJson(pj); pr && drivers::local::alive(*pr)) ours.insert(pr->pid);
            }
          }
        }
        const auto& ports = p.spec.local.ports;
        for (auto [name, port] : std::vector<std::pair<std::string, int>>{
                 {"kafka", ports.kafka}, {"kafkaController", ports.kafka_controller}, {"db", ports.db},
                 {"s3", ports.s3}, {"processor", ports.processor}, {"workerMetrics", ports.worker_metrics},
                 {"prometheus", ports.prometheus}}) {
          stages::Check pc;
          pc.name = "port " + std::to_string(port);
          auto owner = drivers::local::listeningOwner(static_cast<std::uint16_t>(port));
          if (!owner) {
            pc.ok = true;
            pc.message = "free (" + name + ")";
          } else if (owner->pid > 0 && ours.count(owner->pid)) {
            pc.ok = true;
            pc.message = "used by this pipeline (" + name + ", pid " + std::to_string(owner->pid) + ")";
          } else {
            pc.ok = false;
            pc.message = "in use by " + (owner->pid > 0 ? "pid " + std::to_string(owner->pid) + " (" + owner->comm + ")" : "another program") +
                         ", needed for " + name;
            pc.fix = "stop that program, or set spec.local.ports." + name + " to a free port";
          }
          checks.push_back(pc);
        }
      } else if (p.spec.target == spec::Target::Hosts) {
        // Every host answers SSH with a known host key and takes our key (through the bastion).
        auto plan = stages::remote::sshPlanFor(p);
        if (!plan) {
          checks.push_back({"ssh", false, plan.error().message, plan.error().fix, 0, nlohmann::json::object()});
        } else {
          std::vector<drivers::ssh::Endpoint> hops = plan->jumps;
          auto probeHost = [&](const drivers::ssh::Endpoint& ep, const std::vector<drivers::ssh::Endpoint>& via) {
            const auto t0 = std::chrono::steady_clock::now();
            auto sess = drivers::ssh::connect(ep, via, plan->options);
            stages::Check c;
            c.name = "ssh " + ep.name;
            c.ok = sess.ok();
            c.message = sess ? ep.user + "@" + ep.address + ":" + std::to_string(ep.port) +
                                   ": host key verified, logged in" + (via.empty() ? "" : " (through " + via.back().name + ")")
                             : sess.error().message;
            if (!sess) c.fix = sess.error().fix;
            c.duration_ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
            checks.push_back(c);
            return c.ok;
          };
          if (probeHost(plan->bastion, hops)) {
            hops.push_back(plan->bastion);
            for (const auto& n : plan->nodes) probeHost(n, hops);
          }
        }
      } else {
        stages::Check tc{"target", false, "target " + std::string(spec::toString(p.spec.target)) + " is not built yet",
                         "use target local", 0, nlohmann::json::object()};
        checks.push_back(tc);
      }
    }
    bool ok = true;
    for (const auto& c : checks) {
      printCheck("doctor", c);
      ok = ok && c.ok;
    }
    return ok ? kExitOk : kExitFailed;
  }

  int version() {
    if (json()) {
      std::fprintf(out_, "%s\n", nlohmann::json{{"type", "version"}, {"version", CA4_VERSION}}.dump().c_str());
    } else {
      std::fprintf(out_, "ca4ctl %s\n", CA4_VERSION);
    }
    return kExitOk;
  }

 private:
  std::FILE* out_;
  std::FILE* err_;
  std::shared_ptr<engine::EventSink> sink_;
  engine::SystemClock clock_;
};

}  // namespace

int run(int argc, char** argv, std::FILE* out, std::FILE* err) {
  Cli cli(out, err);
  CLI::App app{"ca4ctl — reconciles the ca4 GPU-metadata pipeline from one declarative file (ca4.yaml).\n"
               "With no cloud at all, the default target `local` runs the whole pipeline on this machine:\n"
               "Kafka, a Mongo-compatible DB, an S3 server, ca4-processor, ca4-worker and Prometheus.",
               "ca4ctl"};
  app.footer(kFooter);
  app.require_subcommand(1);
  app.fallthrough();  // global options may follow the subcommand: `ca4ctl plan -o json`
  app.option_defaults()->always_capture_default();
  app.add_option("-f,--file", cli.g.file, "spec file")->envname("CA4_SPEC");
  app.add_option("-o,--output", cli.g.output, "table (humans) or json (one JSON object per line)")
      ->check(CLI::IsMember({"table", "json"}));
  app.add_option("--target", cli.g.target, "override spec.target (local | kubernetes | aws | hosts)")->check(CLI::IsMember({"local", "aws", "hosts", "kubernetes"}));
  app.add_flag("--dry-run", cli.g.dry_run, "up: show the plan, change nothing");
  app.add_flag("-v,--verbose", cli.g.verbose, "more detail (progress lines, log paths)");

  int rc = kExitOk;
  auto* up = app.add_subcommand("up", "reconcile the pipeline to the spec: start what is missing, repair what drifted");
  up->add_option("--stage", cli.g.only, "run only this stage (repeatable): platform, edge, monitoring, verify…")
      ->check(CLI::IsMember({"infra", "cluster", "platform", "edge", "monitoring", "verify"}));
  up->callback([&] { rc = cli.up(); });
  auto* plan = app.add_subcommand("plan", "show what `up` would change; exit 2 if anything, 0 if converged");
  plan->add_option("--stage", cli.g.only, "plan only this stage (repeatable)")
      ->check(CLI::IsMember({"infra", "cluster", "platform", "edge", "monitoring", "verify"}));
  bool show_spec = false;
  plan->add_flag("--show-spec", show_spec, "print the effective spec (defaults filled, secrets as ${REF}) and exit");
  plan->callback([&] {
    if (!show_spec) {
      rc = cli.runEngine(engine::Mode::Plan, "plan", false);
      return;
    }
    auto p = cli.load();
    if (!p) {
      rc = kExitFailed;
      return;
    }
    std::fputs(spec::toYaml(*p).c_str(), out);
    std::fputs("\n", out);
  });
  bool purge = false;
  auto* down = app.add_subcommand("down", "stop everything in reverse order (safe to repeat)");
  down->add_flag("--purge", purge, "also delete the local data directory (Kafka log, DB files)");
  down->callback([&] { rc = cli.down(purge); });
  auto* status = app.add_subcommand("status", "what runs: components with pids, ports, uptime (exit 3 if any is down)");
  status->callback([&] { rc = cli.status(); });
  std::string what = "all";
  auto* verify = app.add_subcommand("verify", "check the running pipeline: preflight, kafka, db, e2e (default: all in order)");
  verify->add_option("check", what, "preflight | kafka | db | e2e | all")
      ->check(CLI::IsMember({"preflight", "kafka", "db", "e2e", "all"}));
  verify->callback([&] { rc = cli.verify(what); });
  bool watch = false;
  int interval = 30;
  auto* rec = app.add_subcommand("reconcile", "one reconcile pass, or with --watch a level-based loop that repairs drift");
  rec->add_flag("--watch", watch, "keep reconciling until SIGINT/SIGTERM");
  rec->add_option("--interval", interval, "seconds between passes (jittered ±10%)")->check(CLI::Range(1, 86400));
  rec->callback([&] { rc = cli.reconcile(watch, interval); });
  TunnelArgs targs;
  auto* tun = app.add_subcommand(
      "tunnel",
      "local ports forwarded through the bastion to the VPC (hosts/aws targets): kafka 19092, "
      "grafana 3000, k3s 16443, prometheus 9090 by default (spec.tunnels)");
  tun->add_option("what", targs.words,
                  "tunnel names (kafka, grafana, k3s, prometheus, …), `all` (default), or:\n"
                  "  status   the background tunnel: its forwards, each probed now (exit 3 if one fails)\n"
                  "  stop     end the background tunnel");
  tun->add_flag("-b,--background", targs.background,
                "detach once up; state in .ca4/tunnel.json, log .ca4/tunnel.log");
  tun->footer(R"(The tunnel reconnects on its own (backoff 0.5 s → 30 s) and probes every forward each
time it comes up: k3s HTTPS GET /version, grafana/prometheus HTTP, kafka a metadata request,
others TCP. Connections made while it reconnects wait up to 10 s instead of failing.

Examples:
  ca4ctl tunnel                  all of spec.tunnels in the foreground (Ctrl-C stops)
  ca4ctl tunnel kafka k3s        just these two
  ca4ctl tunnel all -b           in the background; then `ca4ctl tunnel status`, `ca4ctl tunnel stop`
  KUBECONFIG=kubeconfigs/ca4-kubeconfig kubectl get nodes   (with the k3s tunnel up))");
  tun->callback([&] {
    auto p = cli.load();
    if (!p) {
      rc = kExitFailed;
      return;
    }
    targs.json = cli.json();
    targs.verbose = cli.g.verbose;
    rc = tunnelCommand(*p, targs, out, err);
  });
  app.add_subcommand("version", "print the version")->callback([&] { rc = cli.version(); });
  app.add_subcommand("doctor", "check prerequisites (tools, services, ports, spec) and say how to fix each")
      ->callback([&] { rc = cli.doctor(); });
  std::string shell;
  auto* comp = app.add_subcommand("completion", "print a shell completion script (bash or zsh)");
  comp->add_option("shell", shell, "bash | zsh")->required()->check(CLI::IsMember({"bash", "zsh"}));
  comp->callback([&] { std::fputs(shell == "zsh" ? zshCompletion() : bashCompletion(), out); });

  installSignals();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    std::ostringstream o, er;
    int code = app.exit(e, o, er);
    std::fputs(o.str().c_str(), out);
    std::fputs(er.str().c_str(), err);
    return code == 0 ? kExitOk : kExitUsage;
  }
  return rc;
}

}  // namespace ca4::cli
