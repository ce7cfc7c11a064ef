#include "ca4/engine/state.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <charconv>

#include "fs.h"

namespace ca4::engine {
namespace {

using nlohmann::json;

constexpr const char* kStateFile = "state.json";
constexpr const char* kTempPrefix = ".state.json.";  // .state.json.<pid>.<n>.tmp
constexpr const char* kTempSuffix = ".tmp";

std::atomic<unsigned> g_temp_counter{0};

std::string tempName(const std::string& dir, unsigned n) {
  return dir + "/" + kTempPrefix + std::to_string(::getpid()) + "." + std::to_string(n) +
         kTempSuffix;
}

// Removes temp files left by a save that was killed half-way. Only files of dead processes are
// removed, so a concurrent save (which the lock prevents anyway) is never disturbed.
void removeStaleTemps(const std::string& dir) {
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return;
  const std::string prefix = kTempPrefix;
  const std::string suffix = kTempSuffix;
  while (const dirent* ent = ::readdir(d)) {
    const std::string name = ent->d_name;
    if (name.size() <= prefix.size() + suffix.size() || name.rfind(prefix, 0) != 0 ||
        name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0) {
      continue;
    }
    pid_t pid = 0;
    const char* first = name.data() + prefix.size();
    const auto [ptr, ec] = std::from_chars(first, name.data() + name.size(), pid);
    if (ec != std::errc() || ptr == first || pid <= 0 || pid == ::getpid()) continue;
    if (::kill(pid, 0) == -1 && errno == ESRCH) ::unlink((dir + "/" + name).c_str());
  }
  ::closedir(d);
}

Error writeError(const std::string& path, const std::string& what, int err) {
  return Error::terminal(
      "cannot write " + path + ": " + what + ": " + fs::errnoText(err),
      "check free space and the permissions of " + path.substr(0, path.rfind('/')));
}

}  // namespace

json State::toJson() const {
  json stages_j = json::object();
  for (const auto& [name, r] : stages) {
    stages_j[name] = {{"condition", r.condition},
                      {"message", r.message},
                      {"updatedAt", r.updated_at},
                      {"data", r.data}};
  }
  json history_j = json::array();
  for (const auto& r : history) {
    history_j.push_back({{"run", r.run},
                         {"command", r.command},
                         {"specDigest", r.spec_digest},
                         {"startedAt", r.started_at},
                         {"durationMs", r.duration_ms},
                         {"outcome", r.outcome},
                         {"stages", r.stages}});
  }
  return {{"schemaVersion", schema_version},
          {"target", target},
          {"specDigest", spec_digest},
          {"stages", std::move(stages_j)},
          {"history", std::move(history_j)}};
}

Result<State> State::fromJson(const json& j) {
  if (!j.is_object()) return Error::terminal("not a JSON object");
  const auto v = j.find("schemaVersion");
  if (v == j.end() || !v->is_number_integer()) {
    return Error::terminal("no integer schemaVersion");
  }
  if (v->get<long long>() != kStateSchemaVersion) {
    return Error::terminal("unknown schemaVersion " + v->dump() + " (this ca4ctl reads " +
                               std::to_string(kStateSchemaVersion) + ")",
                           "it was written by a different ca4ctl version: use that version");
  }
  State s;
  try {
    s.target = j.value("target", "");
    s.spec_digest = j.value("specDigest", "");
    if (const auto it = j.find("stages"); it != j.end()) {
      if (!it->is_object()) return Error::terminal("malformed: stages is not an object");
      for (const auto& [name, r] : it->items()) {
        StageRecord rec;
        rec.condition = r.value("condition", "");
        rec.message = r.value("message", "");
        rec.updated_at = r.value("updatedAt", "");
        rec.data = r.value("data", json::object());
        s.stages.emplace(name, std::move(rec));
      }
    }
    if (const auto it = j.find("history"); it != j.end()) {
      if (!it->is_array()) return Error::terminal("malformed: history is not an array");
      for (const auto& r : *it) {
        RunRecord rec;
        rec.run = r.value("run", "");
        rec.command = r.value("command", "");
        rec.spec_digest = r.value("specDigest", "");
        rec.started_at = r.value("startedAt", "");
        rec.duration_ms = r.value("durationMs", 0LL);
        rec.outcome = r.value("outcome", "");
        rec.stages = r.value("stages", std::map<std::string, std::string>{});
        s.history.push_back(std::move(rec));
      }
    }
  } catch (const json::exception& e) {
    return Error::terminal(std::string("malformed: ") + e.what());
  }
  return s;
}

void State::addRun(RunRecord r) {
  history.push_back(std::move(r));
  if (history.size() > kHistoryLimit) {
    history.erase(history.begin(),
                  history.begin() + static_cast<std::ptrdiff_t>(history.size() - kHistoryLimit));
  }
}

StateStore::StateStore(std::string dir) : dir_(std::move(dir)) {}

std::string StateStore::path() const { return dir_ + "/" + kStateFile; }

Result<State> StateStore::load() const {
  const std::string p = path();
  const std::string move_away =
      "move it away (mv " + p + " " + p + ".bak); the next `ca4ctl up` starts from an empty state";
  std::string text;
  if (const int err = fs::readFile(p, text); err != 0) {
    if (err == ENOENT) return State{};
    return Error::terminal("cannot read " + p + ": " + fs::errnoText(err),
                           "check the permissions of " + p);
  }
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) {
    return Error::terminal(p + ": not valid JSON (corrupt state file)", move_away);
  }
  auto s = State::fromJson(j);
  if (!s.ok()) {
    const Error& e = s.error();
    return Error::terminal(p + ": " + e.message,
                           e.fix.empty() ? move_away : e.fix + ", or " + move_away);
  }
  return s;
}

// temp file (O_EXCL, 0600) → write → fsync → rename over state.json → fsync the directory.
// A crash at any point leaves the old or the new file; at worst a stale temp file, which the
// next save removes.
Status StateStore::save(const State& s) const {
  if (auto st = fs::ensureDir(dir_); !st.ok()) return st;
  const std::string p = path();
  const std::string data = s.toJson().dump(2, ' ', false, json::error_handler_t::replace) + "\n";

  std::string tmp;
  fs::Fd fd;
  for (int tries = 0; tries < 2 && !fd.valid(); ++tries) {
    tmp = tempName(dir_, g_temp_counter.fetch_add(1));
    fd = fs::Fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
    // EEXIST: a leftover of a dead process that had our pid; the fresh counter avoids it.
    if (!fd.valid() && errno != EEXIST) break;
  }
  if (!fd.valid()) {
    const int err = errno;
    return writeError(p, "create " + tmp, err);
  }

  auto fail = [&](const std::string& what, int err) {
    ::unlink(tmp.c_str());
    return writeError(p, what, err);
  };
  if (const int err = fs::writeAll(fd.get(), data); err != 0) return fail("write", err);
  if (::fsync(fd.get()) != 0) return fail("fsync", errno);
  if (::close(fd.release()) != 0) return fail("close", errno);
  if (::rename(tmp.c_str(), p.c_str()) != 0) return fail("rename", errno);
  fs::Fd dirfd(::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dirfd.valid() || ::fsync(dirfd.get()) != 0) {
    const int err = errno;
    return writeError(p, "fsync directory", err);
  }
  removeStaleTemps(dir_);
  return okStatus();
}

}  // namespace ca4::engine
