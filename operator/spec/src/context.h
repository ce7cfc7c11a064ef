// Internal to ca4::spec: the per-load state shared by decode, defaults and validate — positions of
// every key seen and the diagnostics collected so far. One Context per load; not thread-safe.
#pragma once

#include <yaml-cpp/yaml.h>

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "ca4/spec/load.h"

namespace ca4::spec::detail {

// A 1-based position; {0, 0} when unknown.
struct Mark {
  int line = 0;
  int column = 0;
};

// yaml-cpp marks are 0-based and may be null (-1); converts to a 1-based Mark or {0, 0}.
Mark markOf(const YAML::Mark& m);
Mark markOf(const YAML::Node& n);

// True for a defined, non-null node: null means "not given, use the default".
inline bool present(const YAML::Node& n) { return n.IsDefined() && !n.IsNull(); }

// "spec.tunnels[1].localPort" → "spec.tunnels[1]" → "spec.tunnels" → "spec" → "".
std::string parentPath(const std::string& path);

// Where each key with a non-null value sits in the file. Absent or null keys are not recorded
// ("key: ~" means the same as leaving the key out).
class Positions {
 public:
  void record(const std::string& path, Mark key, Mark value);
  bool has(const std::string& path) const { return at_.count(path) != 0; }
  // The value position of `path`; for an absent path the key position of its nearest recorded
  // ancestor (so "missing field" errors point at the enclosing section); {0, 0} if none.
  Mark valueOf(const std::string& path) const;

 private:
  std::map<std::string, std::pair<Mark, Mark>> at_;
};

class Context {
 public:
  Context(std::string file, const EnvLookup& env) : file_(std::move(file)), env_(env) {}

  void error(Mark at, std::string path, std::string message, std::string fix);
  void error(const YAML::Node& at, std::string path, std::string message, std::string fix) {
    error(markOf(at), std::move(path), std::move(message), std::move(fix));
  }
  // Reports at the recorded position of `path` (see Positions::valueOf).
  void errorAtPath(const std::string& path, std::string message, std::string fix) {
    error(positions_.valueOf(path), path, std::move(message), std::move(fix));
  }

  const EnvLookup& env() const { return env_; }
  Positions& positions() { return positions_; }
  const Positions& positions() const { return positions_; }
  bool failed() const { return !diagnostics_.empty(); }
  // Diagnostics sorted by (line, column), stable for equal positions.
  std::vector<Diagnostic> take();

 private:
  std::string file_;
  const EnvLookup& env_;
  Positions positions_;
  std::vector<Diagnostic> diagnostics_;
};

// The three passes of a load, in order; each reports into ctx and never throws YAML exceptions.
void decodePipeline(Context& ctx, const YAML::Node& root, Pipeline& out);
void applyDefaults(const Positions& present, Pipeline& p);  // src/defaults.cpp: the only place
void validatePipeline(Context& ctx, const Pipeline& p);

}  // namespace ca4::spec::detail
