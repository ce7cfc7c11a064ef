#include "ca4/testsupport/process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <deque>
#include <fstream>
#include <map>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace ca4::testsupport {
namespace {

std::string resolveExecutable(const std::string& name) {
  if (name.find('/') != std::string::npos) return name;
  const char* path = std::getenv("PATH");
  std::string dirs = path ? path : "/usr/local/bin:/usr/bin:/bin";
  std::size_t begin = 0;
  while (begin <= dirs.size()) {
    std::size_t end = dirs.find(':', begin);
    if (end == std::string::npos) end = dirs.size();
    std::string candidate = dirs.substr(begin, end - begin) + "/" + name;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
    begin = end + 1;
  }
  return name;  // execve will fail with ENOENT and the caller gets a clear error
}

int decodeStatus(int raw) {
  if (WIFEXITED(raw)) return WEXITSTATUS(raw);
  if (WIFSIGNALED(raw)) return 128 + WTERMSIG(raw);
  return -1;
}

}  // namespace

Process Process::start(ProcessOptions options) {
  if (options.argv.empty()) throw std::invalid_argument("Process::start: empty argv");

  // Everything the child needs is prepared before fork(): between fork and exec only
  // async-signal-safe calls are allowed (librdkafka and the JVM clients have threads around).
  std::map<std::string, std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string kv = *e;
    auto eq = kv.find('=');
    if (eq != std::string::npos) env[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  for (auto& [k, v] : options.env) env[k] = v;
  std::vector<std::string> envStrings;
  for (auto& [k, v] : env) envStrings.push_back(k + "=" + v);
  std::vector<char*> envp;
  for (auto& s : envStrings) envp.push_back(s.data());
  envp.push_back(nullptr);

  std::string exe = resolveExecutable(options.argv[0]);
  std::vector<char*> argv;
  for (auto& a : options.argv) argv.push_back(a.data());
  argv.push_back(nullptr);

  const std::string logPath = options.logFile.empty() ? "/dev/null" : options.logFile.string();
  int logFd = ::open(logPath.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (logFd < 0) {
    throw std::runtime_error("Process::start: cannot open log " + logPath + ": " +
                             std::strerror(errno));
  }
  int devNull = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  int errPipe[2];
  if (::pipe2(errPipe, O_CLOEXEC) != 0) {
    ::close(logFd);
    ::close(devNull);
    throw std::runtime_error(std::string("Process::start: pipe2: ") + std::strerror(errno));
  }
  const std::string cwd = options.cwd.string();
  const pid_t parent = ::getpid();

  pid_t pid = ::fork();
  if (pid == 0) {
    ::setpgid(0, 0);
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);  // the parent died before prctl took effect
    ::dup2(devNull, STDIN_FILENO);
    ::dup2(logFd, STDOUT_FILENO);
    ::dup2(logFd, STDERR_FILENO);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    if (!cwd.empty() && ::chdir(cwd.c_str()) != 0) {
      int err = errno;
      (void)!::write(errPipe[1], &err, sizeof err);
      ::_exit(127);
    }
    ::execve(exe.c_str(), argv.data(), envp.data());
    int err = errno;
    (void)!::write(errPipe[1], &err, sizeof err);
    ::_exit(127);
  }
  int forkErr = errno;
  ::close(logFd);
  ::close(devNull);
  ::close(errPipe[1]);
  if (pid < 0) {
    ::close(errPipe[0]);
    throw std::runtime_error(std::string("Process::start: fork: ") + std::strerror(forkErr));
  }
  ::setpgid(pid, pid);  // also from the parent: no race with a kill(-pid) right after start

  int childErr = 0;
  ssize_t n;
  do {
    n = ::read(errPipe[0], &childErr, sizeof childErr);
  } while (n < 0 && errno == EINTR);
  ::close(errPipe[0]);

  Process p;
  p.pid_ = pid;
  p.logFile_ = options.logFile;
  if (n == static_cast<ssize_t>(sizeof childErr)) {
    p.reap(true);
    ::kill(-pid, SIGKILL);
    throw std::runtime_error("Process::start: cannot run '" + options.argv[0] + "' (" + exe +
                             "): " + std::strerror(childErr));
  }

  // The watchdog: blocks reading the pipe. A byte means "released normally": exit. EOF means
  // this process died without releasing it: SIGKILL the child's group. It closes every other
  // descriptor so it never keeps another watchdog's pipe open.
  int wd[2];
  if (::pipe2(wd, O_CLOEXEC) == 0) {
    pid_t w = ::fork();
    if (w == 0) {
      ::signal(SIGINT, SIG_IGN);
      ::signal(SIGTERM, SIG_IGN);
      ::signal(SIGHUP, SIG_IGN);
      ::close(wd[1]);
      if (wd[0] != 3) {
        ::dup2(wd[0], 3);
      }
      ::close_range(4, ~0U, 0);
      char byte;
      ssize_t r;
      do {
        r = ::read(3, &byte, 1);
      } while (r < 0 && errno == EINTR);
      if (r <= 0) ::kill(-pid, SIGKILL);
      ::_exit(0);
    }
    ::close(wd[0]);
    if (w > 0) {
      p.watchdog_ = w;
      p.watchdogPipe_ = wd[1];
    } else {
      ::close(wd[1]);  // no watchdog: the parent-death signal still covers the child itself
    }
  }
  return p;
}

void Process::releaseWatchdog() {
  if (watchdog_ <= 0) return;
  char byte = 0;
  (void)!::write(watchdogPipe_, &byte, 1);
  ::close(watchdogPipe_);
  while (::waitpid(watchdog_, nullptr, 0) < 0 && errno == EINTR) {
  }
  watchdog_ = -1;
  watchdogPipe_ = -1;
}

Process::Process(Process&& other) noexcept
    : pid_(std::exchange(other.pid_, -1)),
      watchdog_(std::exchange(other.watchdog_, -1)),
      watchdogPipe_(std::exchange(other.watchdogPipe_, -1)),
      status_(std::move(other.status_)),
      logFile_(std::move(other.logFile_)) {}

Process& Process::operator=(Process&& other) noexcept {
  if (this != &other) {
    stop();
    pid_ = std::exchange(other.pid_, -1);
    watchdog_ = std::exchange(other.watchdog_, -1);
    watchdogPipe_ = std::exchange(other.watchdogPipe_, -1);
    status_ = std::move(other.status_);
    logFile_ = std::move(other.logFile_);
  }
  return *this;
}

Process::~Process() { stop(); }

void Process::reap(bool block) {
  if (pid_ <= 0 || status_) return;
  int raw = 0;
  pid_t r;
  do {
    r = ::waitpid(pid_, &raw, block ? 0 : WNOHANG);
  } while (r < 0 && errno == EINTR);
  if (r == pid_) {
    status_ = decodeStatus(raw);
  } else if (r < 0) {
    status_ = -1;  // not our child any more (ECHILD): treat as gone
  }
  if (status_) {
    // The leader is gone; anything it left in its group goes with it.
    ::kill(-pid_, SIGKILL);
    releaseWatchdog();
  }
}

bool Process::alive() {
  if (pid_ <= 0) return false;
  reap(false);
  return !status_;
}

std::optional<int> Process::wait(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (alive()) {
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return status_;
}

std::optional<int> Process::stop(std::chrono::milliseconds grace) {
  if (pid_ <= 0) return status_;
  if (alive()) {
    ::kill(-pid_, SIGTERM);
    if (!wait(grace)) return kill();
  }
  return status_;
}

std::optional<int> Process::kill() {
  if (pid_ <= 0) return status_;
  if (alive()) {
    ::kill(-pid_, SIGKILL);
    reap(true);
  }
  return status_;
}

std::string tailFile(const std::filesystem::path& file, std::size_t lines) {
  std::ifstream in(file);
  if (!in) return {};
  std::deque<std::string> last;
  std::string line;
  while (std::getline(in, line)) {
    last.push_back(std::move(line));
    if (last.size() > lines) last.pop_front();
  }
  std::string out;
  for (auto& l : last) out += l + "\n";
  return out;
}

int killProcessesMentioning(const std::filesystem::path& dir) {
  const std::string needle = dir.string();
  if (needle.size() < 8) return 0;  // never a short or empty path (it would match too much)
  int killed = 0;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc", ec)) {
    const std::string name = entry.path().filename().string();
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
    const pid_t pid = static_cast<pid_t>(std::stol(name));
    if (pid == ::getpid()) continue;
    std::ifstream in(entry.path() / "cmdline", std::ios::binary);
    std::string cmdline((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (cmdline.find(needle) != std::string::npos && ::kill(pid, SIGKILL) == 0) ++killed;
  }
  return killed;
}

}  // namespace ca4::testsupport
