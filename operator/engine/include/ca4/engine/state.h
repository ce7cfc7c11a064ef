// .ca4/state.json: what ca4ctl knows between runs. Written atomically (temp file in the same
// directory, fsync, rename, fsync dir) so a SIGKILL at any instant leaves either the old or the
// new file, never a torn one. Guarded by an exclusive lock (.ca4/state.lock, flock) held for a
// whole run: a second ca4ctl is refused with the holder's pid, command and start time.
// The state file never holds secret values (only Secret::redacted() forms).
//
//   {"schemaVersion":1,"target":"local","specDigest":"sha256:…",
//    "stages":{"platform":{"condition":"Ready","message":"…","updatedAt":"…","data":{…}}},
//    "history":[{"run":"r-…","command":"up","specDigest":"…","startedAt":"…","durationMs":1234,
//                "outcome":"Ready","stages":{"platform":"Ready",…}}]}
#pragma once

#include <nlohmann/json.hpp>

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "ca4/engine/result.h"

namespace ca4::engine {

inline constexpr int kStateSchemaVersion = 1;
inline constexpr std::size_t kHistoryLimit = 20;

struct StageRecord {
  std::string condition;   // Ready | Reconciling | Stalled | Skipped | Blocked
  std::string message;
  std::string updated_at;
  nlohmann::json data = nlohmann::json::object();  // stage-owned (pids, ports, inventory…)
};

struct RunRecord {
  std::string run;
  std::string command;
  std::string spec_digest;
  std::string started_at;
  long long duration_ms = 0;
  std::string outcome;     // Ready | Stalled | Interrupted | Failed
  std::map<std::string, std::string> stages;  // stage -> condition
};

struct State {
  int schema_version = kStateSchemaVersion;
  std::string target;
  std::string spec_digest;
  std::map<std::string, StageRecord> stages;
  std::vector<RunRecord> history;  // newest last, at most kHistoryLimit

  nlohmann::json toJson() const;
  static Result<State> fromJson(const nlohmann::json& j);  // rejects unknown schemaVersion
  void addRun(RunRecord r);  // appends and trims to kHistoryLimit
};

// RAII exclusive lock on <dir>/state.lock. The lock file records the holder (pid, command,
// start time) for the refusal message; the kernel releases the flock if the holder dies.
class StateLock {
 public:
  // Terminal error when held by another live process:
  //   "another ca4ctl holds .ca4/state.lock (pid 1234, `ca4ctl up`, since …)"
  static Result<StateLock> acquire(const std::string& dir, const std::string& command);
  StateLock(StateLock&&) noexcept;
  StateLock& operator=(StateLock&&) noexcept;
  StateLock(const StateLock&) = delete;
  StateLock& operator=(const StateLock&) = delete;
  ~StateLock();

 private:
  explicit StateLock(int fd) : fd_(fd) {}
  int fd_ = -1;
};

class StateStore {
 public:
  explicit StateStore(std::string dir);  // e.g. "<spec dir>/.ca4"; created 0700 on first save
  const std::string& dir() const { return dir_; }
  std::string path() const;              // <dir>/state.json
  // Missing file → a fresh State. A corrupt file → terminal error naming the file and the fix
  // (move it away); never silently discarded.
  Result<State> load() const;
  Status save(const State& s) const;     // atomic; file mode 0600

 private:
  std::string dir_;
};

}  // namespace ca4::engine
