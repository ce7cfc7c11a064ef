// `ca4ctl tunnel NAME…|all [--background]`, `ca4ctl tunnel status`, `ca4ctl tunnel stop`.
//
// Foreground: the tunnel runs until SIGINT/SIGTERM, printing its state changes and, each time it
// comes up, one probe per forward. Background: the same loop in a detached child (fork before any
// thread exists) that records itself in <stateDir>/tunnel.json (0600: pid, forwards, state,
// probes; never a secret) and logs JSON lines to <stateDir>/tunnel.log; the parent returns once
// the tunnel is up (exit 0) or has failed (exit 1).
#include "tunnel.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

#include "ca4/cli/app.h"
#include "ca4/engine/clock.h"
#include "ca4/stages/endpoints.h"
#include "ca4/stages/files.h"
#include "ca4/stages/remote.h"

namespace ca4::cli {
namespace {

namespace fs = std::filesystem;
namespace remote = stages::remote;
namespace ssh = drivers::ssh;
using Json = nlohmann::json;
using namespace std::chrono_literals;

std::string now() { return engine::rfc3339(std::chrono::system_clock::now()); }

std::string recordPath(const spec::Pipeline& p) { return stages::stateDir(p) + "/tunnel.json"; }
std::string logPath(const spec::Pipeline& p) { return stages::stateDir(p) + "/tunnel.log"; }

std::optional<Json> readRecord(const spec::Pipeline& p) {
  std::ifstream in(recordPath(p));
  if (!in) return std::nullopt;
  try {
    return Json::parse(in);
  } catch (...) {
    return std::nullopt;
  }
}

// A recorded pid is ours while it lives and its command line is a `tunnel` run.
bool recordAlive(const Json& rec) {
  const int pid = rec.value("pid", 0);
  if (pid <= 0 || ::kill(pid, 0) != 0) return false;
  std::ifstream in("/proc/" + std::to_string(pid) + "/cmdline", std::ios::binary);
  std::string cmd((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return cmd.find("tunnel") != std::string::npos;
}

Json forwardJson(const ssh::Forward& f) {
  return {{"name", f.name},
          {"local", f.bindAddress + ":" + std::to_string(f.localPort)},
          {"remote", f.host + ":" + std::to_string(f.port)}};
}

Json checkJson(const stages::Check& c) {
  Json j = {{"name", c.name}, {"ok", c.ok}, {"message", c.message}, {"duration_ms", c.duration_ms}};
  if (!c.fix.empty()) j["fix"] = c.fix;
  return j;
}

class Printer {
 public:
  Printer(std::FILE* out, std::FILE* err, bool json) : out_(out), err_(err), json_(json) {}
  void line(const Json& j, const std::string& human, bool toErr = false) {
    std::lock_guard lock(mu_);
    if (json_) {
      Json e = j;
      e["time"] = now();
      std::fprintf(out_, "%s\n", e.dump().c_str());
      std::fflush(out_);
    } else {
      std::FILE* f = toErr ? err_ : out_;
      std::fprintf(f, "%s\n", human.c_str());
      std::fflush(f);
    }
  }

 private:
  std::mutex mu_;
  std::FILE* out_;
  std::FILE* err_;
  bool json_;
};

// The tunnel loop shared by foreground and background runs. `record` (background) is kept up to
// date in the state file.
int serve(const spec::Pipeline& p, std::vector<ssh::Forward> fwds, Printer& print, bool record) {
  std::mutex recMu;
  Json rec = {{"pid", ::getpid()},     {"started_at", now()}, {"spec", p.source_path},
              {"state", "connecting"}, {"message", ""},      {"forwards", Json::array()},
              {"probes", Json::array()}};
  auto save = [&] {
    if (!record) return;
    std::lock_guard lock(recMu);
    rec["updated_at"] = now();
    stages::writeFileAtomic(recordPath(p), rec.dump(2) + "\n", 0600);  // best effort: the log has it all
  };
  const spec::Pipeline resolved = remote::resolveHosts(p);
  const auto& b = resolved.spec.hosts.bastion;
  const std::string via = b.name + " (" + b.address + ":" + std::to_string(b.port) + ")";
  ssh::TunnelOptions o;
  o.onEvent = [&](const ssh::TunnelEvent& e) {
    if (!e.forward.empty()) {  // one connection failed; the tunnel is fine
      print.line({{"type", "tunnel.forward.failed"}, {"name", e.forward}, {"message", e.message}},
                 "  ! " + e.message.substr(e.message.find(e.forward)));
      return;
    }
    const std::string state(ssh::toString(e.state));
    Json j = {{"type", "tunnel.state"}, {"state", state}, {"message", e.message},
              {"attempt", e.attempt}, {"retry_in_ms", e.retryIn.count()}};
    std::string human = "tunnel " + state;
    if (e.state == ssh::TunnelState::Connecting || e.state == ssh::TunnelState::Reconnecting) {
      human += " via " + via;
      if (e.attempt > 0) {
        human += ": attempt " + std::to_string(e.attempt) + " failed (" + e.message + "); retry in " +
                 std::to_string(e.retryIn.count()) + " ms";
      } else if (!e.message.empty() && e.message != "connecting") {
        human += ": " + e.message;
      }
    } else if (!e.message.empty() && e.message != "up") {
      human += ": " + e.message;
    }
    print.line(j, human, e.state == ssh::TunnelState::Failed);
    {
      std::lock_guard lock(recMu);
      rec["state"] = state;
      rec["message"] = e.message;
    }
    save();
  };
  auto t = remote::openTunnel(p, std::move(fwds), o);
  if (!t) {
    print.line({{"type", "error"}, {"message", t.error().message}, {"fix", t.error().fix}},
               "error: " + t.error().message + (t.error().fix.empty() ? "" : "\n  fix: " + t.error().fix),
               true);
    if (record) {
      std::lock_guard lock(recMu);
      rec["state"] = "failed";
      rec["message"] = t.error().message;
    }
    save();
    return kExitFailed;
  }
  auto& tunnel = **t;
  {
    std::lock_guard lock(recMu);
    for (const auto& f : tunnel.forwards()) rec["forwards"].push_back(forwardJson(f));
  }
  for (const auto& f : tunnel.forwards()) {
    print.line({{"type", "tunnel.forward"}, {"name", f.name},
                {"local", f.bindAddress + ":" + std::to_string(f.localPort)},
                {"remote", f.host + ":" + std::to_string(f.port)}},
               "  " + f.name + ": " + f.bindAddress + ":" + std::to_string(f.localPort) + " → " +
                   f.host + ":" + std::to_string(f.port));
  }
  save();
  // Probes run here, not in the tunnel's thread (which must accept their connections).
  auto lastState = ssh::TunnelState::Connecting;
  while (!engine::stopRequested()) {
    auto st = tunnel.state();
    if (st == ssh::TunnelState::Failed) {
      auto why = tunnel.waitUp(0ms);
      return why.ok() ? kExitOk : kExitFailed;
    }
    if (st == ssh::TunnelState::Up && lastState != ssh::TunnelState::Up) {
      Json probes = Json::array();
      for (const auto& f : tunnel.forwards()) {
        auto c = remote::probe(f);
        probes.push_back(checkJson(c));
        print.line({{"type", "tunnel.probe"}, {"name", c.name}, {"ok", c.ok},
                    {"message", c.message}, {"duration_ms", c.duration_ms}},
                   std::string(c.ok ? "  ✓ " : "  ✗ ") + c.name + ": " + c.message + " (" +
                       std::to_string(c.duration_ms) + " ms)" +
                       (c.ok || c.fix.empty() ? "" : "\n    fix: " + c.fix));
      }
      {
        std::lock_guard lock(recMu);
        rec["probes"] = probes;
        rec["probed_at"] = now();
      }
      save();
    }
    lastState = st;
    std::this_thread::sleep_for(100ms);
  }
  tunnel.stop();
  print.line({{"type", "tunnel.state"}, {"state", "stopped"}, {"message", "stopped on signal"}},
             "tunnel stopped");
  if (record) ::unlink(recordPath(p).c_str());
  return kExitInterrupted;
}

int status(const spec::Pipeline& p, Printer& print) {
  auto rec = readRecord(p);
  if (!rec || !recordAlive(*rec)) {
    print.line({{"type", "tunnel.status"}, {"state", "not-running"}},
               "no background tunnel runs for " + p.source_path +
                   " (start one: ca4ctl tunnel all --background)");
    return kExitNotRunning;
  }
  bool all = true;
  const std::string state = rec->value("state", "?");
  print.line({{"type", "tunnel.background"}, {"pid", rec->value("pid", 0)},
              {"started_at", rec->value("started_at", "")}, {"state", state}},
             "background tunnel pid " + std::to_string(rec->value("pid", 0)) + " since " +
                 rec->value("started_at", "?") + ": " + state);
  if (state != "up") {
    // Reconnecting: a probe would only wait for the session; say what the tunnel says.
    print.line({{"type", "tunnel.status"}, {"state", state}, {"message", rec->value("message", "")}},
               "  the tunnel is " + state + ": " + rec->value("message", "") + " (log " + logPath(p) + ")");
    return kExitNotRunning;
  }
  for (const auto& fj : rec->value("forwards", Json::array())) {
    ssh::Forward f;
    f.name = fj.value("name", "");
    const std::string local = fj.value("local", "");
    const std::string remoteAddr = fj.value("remote", "");
    f.localPort = static_cast<std::uint16_t>(std::stoi(local.substr(local.rfind(':') + 1)));
    f.host = remoteAddr.substr(0, remoteAddr.rfind(':'));
    f.port = static_cast<std::uint16_t>(std::stoi(remoteAddr.substr(remoteAddr.rfind(':') + 1)));
    auto c = remote::probe(f);
    all = all && c.ok;
    print.line({{"type", "tunnel.status"}, {"name", f.name}, {"local", local}, {"remote", remoteAddr},
                {"state", state}, {"probe", checkJson(c)}},
               std::string(c.ok ? "  ✓ " : "  ✗ ") + f.name + " " + local + " → " + remoteAddr +
                   ": " + c.message);
  }
  return all && state == "up" ? kExitOk : kExitNotRunning;
}

int stop(const spec::Pipeline& p, Printer& print) {
  auto rec = readRecord(p);
  if (!rec || !recordAlive(*rec)) {
    ::unlink(recordPath(p).c_str());
    print.line({{"type", "tunnel.stopped"}, {"running", false}}, "no background tunnel was running");
    return kExitOk;
  }
  const int pid = rec->value("pid", 0);
  ::kill(pid, SIGTERM);
  for (int i = 0; i < 100 && ::kill(pid, 0) == 0; ++i) std::this_thread::sleep_for(50ms);
  if (::kill(pid, 0) == 0) ::kill(pid, SIGKILL);
  ::unlink(recordPath(p).c_str());
  print.line({{"type", "tunnel.stopped"}, {"running", true}, {"pid", pid}},
             "stopped the background tunnel (pid " + std::to_string(pid) + ")");
  return kExitOk;
}

}  // namespace

int tunnelCommand(const spec::Pipeline& p, const TunnelArgs& args, std::FILE* out, std::FILE* err) {
  Printer print(out, err, args.json);
  auto fail = [&](const std::string& msg, const std::string& fix) {
    print.line({{"type", "error"}, {"message", msg}, {"fix", fix}},
               "error: " + msg + (fix.empty() ? "" : "\n  fix: " + fix), true);
    return kExitFailed;
  };
  if (p.spec.target == spec::Target::Local) {
    return fail("target local has no tunnels: its services listen on this machine",
                "tunnels are for the hosts and aws targets (spec.target)");
  }
  if (p.spec.target == spec::Target::Kubernetes) {
    return fail("target kubernetes has no bastion to tunnel through",
                "use the cluster's own access (kubectl port-forward), or target hosts");
  }
  const std::string first = args.words.empty() ? "" : args.words.front();
  if (first == "status" || first == "stop") {
    if (args.words.size() > 1) return fail("`tunnel " + first + "` takes no names", "");
    return first == "status" ? status(p, print) : stop(p, print);
  }
  auto fwds = remote::forwards(remote::resolveHosts(p), args.words);
  if (!fwds) return fail(fwds.error().message, fwds.error().fix);
  if (auto rec = readRecord(p); rec && recordAlive(*rec)) {
    return fail("a background tunnel already runs for this spec (pid " +
                    std::to_string(rec->value("pid", 0)) + ")",
                "`ca4ctl tunnel status` shows it; `ca4ctl tunnel stop` ends it");
  }
  if (!args.background) return serve(p, std::move(*fwds), print, false);

  std::error_code ec;
  fs::create_directories(stages::stateDir(p), ec);
  ::unlink(recordPath(p).c_str());
  std::fflush(nullptr);
  pid_t child = ::fork();
  if (child < 0) return fail(std::string("fork: ") + std::strerror(errno), "");
  if (child == 0) {
    ::setsid();
    int nul = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    int log = ::open(logPath(p).c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (nul >= 0) ::dup2(nul, 0);
    if (log >= 0) {
      ::dup2(log, 1);
      ::dup2(log, 2);
    }
    std::FILE* logf = ::fdopen(::dup(1), "w");
    Printer childPrint(logf ? logf : stdout, logf ? logf : stderr, true);
    int rc = serve(p, std::move(*fwds), childPrint, true);
    std::fflush(nullptr);
    ::_exit(rc == kExitInterrupted ? 0 : rc);
  }
  // Parent: wait for the child's record to say up (and probed) or failed.
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  while (std::chrono::steady_clock::now() < deadline) {
    auto rec = readRecord(p);
    int status = 0;
    if (::waitpid(child, &status, WNOHANG) == child) {
      std::string why = rec ? rec->value("message", "") : "";
      return fail("the background tunnel exited" + (why.empty() ? "" : ": " + why),
                  "see " + logPath(p));
    }
    if (rec && rec->value("state", "") == "failed") {
      return fail("the background tunnel failed: " + rec->value("message", ""), "see " + logPath(p));
    }
    if (rec && rec->value("state", "") == "up" && rec->contains("probed_at")) {
      bool ok = true;
      for (const auto& f : rec->value("forwards", Json::array())) {
        print.line({{"type", "tunnel.forward"}, {"name", f.value("name", "")},
                    {"local", f.value("local", "")}, {"remote", f.value("remote", "")}},
                   "  " + f.value("name", "") + ": " + f.value("local", "") + " → " +
                       f.value("remote", ""));
      }
      for (const auto& c : rec->value("probes", Json::array())) {
        ok = ok && c.value("ok", false);
        print.line({{"type", "tunnel.probe"}, {"name", c.value("name", "")},
                    {"ok", c.value("ok", false)}, {"message", c.value("message", "")}},
                   std::string(c.value("ok", false) ? "  ✓ " : "  ✗ ") + c.value("name", "") +
                       ": " + c.value("message", ""));
      }
      print.line({{"type", "tunnel.background"}, {"pid", child}, {"log", logPath(p)}},
                 "tunnel up in the background (pid " + std::to_string(child) + ", log " +
                     logPath(p) + "); `ca4ctl tunnel status` / `ca4ctl tunnel stop`");
      // Forwards whose target does not answer yet are not a failure of the tunnel itself.
      (void)ok;
      return kExitOk;
    }
    std::this_thread::sleep_for(100ms);
  }
  return fail("the background tunnel was not up within 60 s (it keeps trying, pid " +
                  std::to_string(child) + ")",
              "see " + logPath(p) + "; `ca4ctl tunnel stop` ends it");
}

}  // namespace ca4::cli
