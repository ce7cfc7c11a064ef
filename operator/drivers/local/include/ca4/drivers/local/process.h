// Detached, supervised processes for the local target. ca4ctl starts a service and exits; the
// service keeps running (own session, reparented to init) until `ca4ctl down`. A process is
// identified by pid AND its kernel start time, so a recycled pid is never mistaken for ours.
//
// Thread-safety: none needed (one ca4ctl run at a time, guarded by the state lock).
#pragma once

#include <nlohmann/json.hpp>

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "ca4/engine/result.h"

namespace ca4::drivers::local {

struct ProcessSpec {
  std::string name;                          // "kafka"
  std::vector<std::string> argv;             // argv[0] is an absolute path or found on PATH
  std::map<std::string, std::string> env;    // added to ca4ctl's environment; may hold secrets:
                                             // values are never logged or recorded
  std::string log_file;                      // stdout+stderr, appended; created 0600
  std::string cwd;                           // "" = ca4ctl's cwd
};

// What state.json records about a running process (no env values).
struct ProcessRecord {
  int pid = 0;
  unsigned long long start_ticks = 0;        // /proc/<pid>/stat field 22
  std::string started_at;                    // RFC 3339
  std::string log_file;
  nlohmann::json toJson() const;
  static std::optional<ProcessRecord> fromJson(const nlohmann::json& j);
};

// /proc/<pid>/stat facts. nullopt when the pid does not exist.
struct ProcStat {
  char state = '?';                          // R S D Z T …
  unsigned long long start_ticks = 0;
  std::string comm;
};
std::optional<ProcStat> readProcStat(int pid);

// Starts `spec` detached (double fork + setsid, stdin /dev/null, stdout/stderr → log_file).
// exec failures (missing binary, permission) come back as a terminal error naming argv[0].
engine::Result<ProcessRecord> start(const ProcessSpec& spec);

// Runs `spec` in the foreground (same detachment as start()) and waits up to `timeout` for it
// to exit; returns its exit code. Timeout → the process group is killed and a retryable error.
engine::Result<int> runToCompletion(const ProcessSpec& spec, std::chrono::milliseconds timeout);

// True when the recorded process still runs: same pid, same start time, not a zombie.
bool alive(const ProcessRecord& r);

// SIGTERM to the process group, wait up to `grace`, then SIGKILL. Ok when already gone.
engine::Status stop(const ProcessRecord& r, std::chrono::milliseconds grace);

// Uptime in seconds of a live process (0 if gone).
long long uptimeSeconds(const ProcessRecord& r);

// Last `lines` lines of a log file (for error messages).
std::string tail(const std::string& file, int lines);

}  // namespace ca4::drivers::local
