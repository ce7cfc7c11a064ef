#include "ca4/drivers/local/process.h"

#include "ca4/engine/clock.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <deque>
#include <fstream>
#include <sstream>
#include <thread>

extern char** environ;

namespace ca4::drivers::local {
namespace {

using engine::Error;

// Everything the grandchild needs, prepared before fork (no allocation after fork).
struct ExecPlan {
  std::vector<std::string> argv_s, env_s;
  std::vector<char*> argv, env;
};

ExecPlan makePlan(const ProcessSpec& spec) {
  ExecPlan p;
  p.argv_s = spec.argv;
  std::map<std::string, std::string> merged;
  for (char** e = environ; e && *e; ++e) {
    std::string kv = *e;
    auto eq = kv.find('=');
    if (eq != std::string::npos) merged[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  for (const auto& [k, v] : spec.env) merged[k] = v;
  for (const auto& [k, v] : merged) p.env_s.push_back(k + "=" + v);
  for (auto& s : p.argv_s) p.argv.push_back(s.data());
  p.argv.push_back(nullptr);
  for (auto& s : p.env_s) p.env.push_back(s.data());
  p.env.push_back(nullptr);
  return p;
}

// Writes all of buf, ignoring errors (used after fork).
void writeAll(int fd, const void* buf, size_t n) {
  const char* c = static_cast<const char*>(buf);
  while (n > 0) {
    ssize_t w = ::write(fd, c, n);
    if (w <= 0) {
      if (w < 0 && errno == EINTR) continue;
      return;
    }
    c += w;
    n -= static_cast<size_t>(w);
  }
}

}  // namespace

nlohmann::json ProcessRecord::toJson() const {
  return {{"pid", pid}, {"startTicks", start_ticks}, {"startedAt", started_at}, {"log", log_file}};
}

std::optional<ProcessRecord> ProcessRecord::fromJson(const nlohmann::json& j) {
  if (!j.is_object() || !j.contains("pid") || !j["pid"].is_number_integer()) return std::nullopt;
  ProcessRecord r;
  r.pid = j["pid"].get<int>();
  r.start_ticks = j.value("startTicks", 0ULL);
  r.started_at = j.value("startedAt", "");
  r.log_file = j.value("log", "");
  return r;
}

std::optional<ProcStat> readProcStat(int pid) {
  if (pid <= 0) return std::nullopt;
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!in || !std::getline(in, line)) return std::nullopt;
  // "pid (comm) S ppid …": comm may hold spaces and ')' — split at the LAST ')'.
  auto open = line.find('(');
  auto close = line.rfind(')');
  if (open == std::string::npos || close == std::string::npos || close + 2 >= line.size()) {
    return std::nullopt;
  }
  ProcStat st;
  st.comm = line.substr(open + 1, close - open - 1);
  std::istringstream rest(line.substr(close + 2));
  std::string field;
  // fields after comm start at #3 (state); starttime is #22
  for (int i = 3; i <= 22 && rest >> field; ++i) {
    if (i == 3) st.state = field.empty() ? '?' : field[0];
    if (i == 22) st.start_ticks = std::stoull(field);
  }
  return st;
}

engine::Result<ProcessRecord> start(const ProcessSpec& spec) {
  if (spec.argv.empty()) return Error::terminal(spec.name + ": empty command");
  int logfd = ::open(spec.log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (logfd < 0) {
    return Error::terminal(spec.name + ": cannot open log " + spec.log_file + ": " +
                           std::strerror(errno), "check the permissions of the data directory");
  }
  int devnull = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  // pipe: grandchild pid (int) on success, then EOF at exec; or errno (negative int) on failure.
  int pfd[2];
  if (::pipe2(pfd, O_CLOEXEC) != 0) {
    ::close(logfd);
    ::close(devnull);
    return Error::retryable(spec.name + ": pipe: " + std::strerror(errno));
  }
  ExecPlan plan = makePlan(spec);
  const char* cwd = spec.cwd.empty() ? nullptr : spec.cwd.c_str();

  pid_t child = ::fork();
  if (child < 0) {
    ::close(logfd);
    ::close(devnull);
    ::close(pfd[0]);
    ::close(pfd[1]);
    return Error::retryable(spec.name + ": fork: " + std::strerror(errno));
  }
  if (child == 0) {
    // Child: new session, then fork the real service so it is not our child (init reaps it).
    ::setsid();
    pid_t gc = ::fork();
    if (gc != 0) _exit(gc < 0 ? 1 : 0);
    ::setsid();  // the service leads its own session and process group (pgid == pid)
    ::signal(SIGPIPE, SIG_DFL);
    ::signal(SIGINT, SIG_DFL);
    ::signal(SIGTERM, SIG_DFL);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::dup2(devnull, 0);
    ::dup2(logfd, 1);
    ::dup2(logfd, 2);
    int me = static_cast<int>(::getpid());
    writeAll(pfd[1], &me, sizeof me);
    if (cwd && ::chdir(cwd) != 0) {
      int e = -errno;
      writeAll(pfd[1], &e, sizeof e);
      _exit(127);
    }
    ::execvpe(plan.argv[0], plan.argv.data(), plan.env.data());
    int e = -errno;
    writeAll(pfd[1], &e, sizeof e);
    _exit(127);
  }
  ::close(pfd[1]);
  ::close(logfd);
  ::close(devnull);
  int status = 0;
  while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  int pid = 0, err = 0;
  ssize_t n = ::read(pfd[0], &pid, sizeof pid);
  if (n == static_cast<ssize_t>(sizeof pid)) {
    ssize_t m = ::read(pfd[0], &err, sizeof err);  // EOF (0) when exec succeeded (CLOEXEC)
    if (m != static_cast<ssize_t>(sizeof err)) err = 0;
  }
  ::close(pfd[0]);
  if (n != static_cast<ssize_t>(sizeof pid) || pid <= 0) {
    return Error::retryable(spec.name + ": could not start (fork failed)");
  }
  if (err < 0) {
    return Error::terminal(spec.name + ": cannot run " + spec.argv[0] + ": " + std::strerror(-err),
                           "install it (scripts/install-services.sh, make build) or fix its path");
  }
  ProcessRecord r;
  r.pid = pid;
  r.started_at = engine::rfc3339(std::chrono::system_clock::now());
  r.log_file = spec.log_file;
  if (auto st = readProcStat(pid)) r.start_ticks = st->start_ticks;
  return r;
}

engine::Result<int> runToCompletion(const ProcessSpec& spec, std::chrono::milliseconds timeout) {
  if (spec.argv.empty()) return Error::terminal(spec.name + ": empty command");
  int logfd = ::open(spec.log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (logfd < 0) return Error::terminal(spec.name + ": cannot open log " + spec.log_file);
  ExecPlan plan = makePlan(spec);
  const char* cwd = spec.cwd.empty() ? nullptr : spec.cwd.c_str();
  pid_t pid = ::fork();
  if (pid < 0) {
    ::close(logfd);
    return Error::retryable(spec.name + ": fork: " + std::strerror(errno));
  }
  if (pid == 0) {
    ::setpgid(0, 0);
    int devnull = ::open("/dev/null", O_RDONLY);
    ::dup2(devnull, 0);
    ::dup2(logfd, 1);
    ::dup2(logfd, 2);
    if (cwd && ::chdir(cwd) != 0) _exit(127);
    ::execvpe(plan.argv[0], plan.argv.data(), plan.env.data());
    _exit(127);
  }
  ::close(logfd);
  auto deadline = std::chrono::steady_clock::now() + timeout;
  int status = 0;
  for (;;) {
    pid_t w = ::waitpid(pid, &status, WNOHANG);
    if (w == pid) break;
    if (w < 0 && errno != EINTR) return Error::retryable(spec.name + ": waitpid failed");
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(-pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      return Error::retryable(spec.name + ": did not finish within " +
                              std::to_string(timeout.count() / 1000) + " s");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

bool alive(const ProcessRecord& r) {
  auto st = readProcStat(r.pid);
  if (!st) return false;
  if (st->state == 'Z' || st->state == 'X') {
    ::waitpid(r.pid, nullptr, WNOHANG);  // ours only in tests; harmless otherwise
    return false;
  }
  return r.start_ticks == 0 || st->start_ticks == r.start_ticks;
}

engine::Status stop(const ProcessRecord& r, std::chrono::milliseconds grace) {
  if (!alive(r)) return engine::okStatus();
  // The service leads its own process group (setsid), so its children stop with it.
  if (::kill(-r.pid, SIGTERM) != 0) ::kill(r.pid, SIGTERM);
  auto deadline = std::chrono::steady_clock::now() + grace;
  while (alive(r) && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  if (alive(r)) {
    if (::kill(-r.pid, SIGKILL) != 0) ::kill(r.pid, SIGKILL);
    for (int i = 0; i < 100 && alive(r); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    if (alive(r)) {
      return Error::retryable("pid " + std::to_string(r.pid) + " survived SIGKILL");
    }
  }
  return engine::okStatus();
}

long long uptimeSeconds(const ProcessRecord& r) {
  auto st = readProcStat(r.pid);
  if (!st || !alive(r)) return 0;
  std::ifstream up("/proc/uptime");
  double since_boot = 0;
  up >> since_boot;
  long hz = ::sysconf(_SC_CLK_TCK);
  if (hz <= 0) return 0;
  double started = static_cast<double>(st->start_ticks) / static_cast<double>(hz);
  return since_boot > started ? static_cast<long long>(since_boot - started) : 0;
}

std::string tail(const std::string& file, int lines) {
  std::ifstream in(file);
  std::deque<std::string> last;
  std::string line;
  while (std::getline(in, line)) {
    last.push_back(line);
    if (static_cast<int>(last.size()) > lines) last.pop_front();
  }
  std::string out;
  for (const auto& l : last) out += "    " + l + "\n";
  return out;
}

}  // namespace ca4::drivers::local
