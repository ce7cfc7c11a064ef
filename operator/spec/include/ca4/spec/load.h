// Loading ca4.yaml: parse (yaml-cpp), fill defaults (one place), validate every rule, resolve
// ${ENV} references. Every problem is reported at once, each with file:line:col and a fix.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "ca4/spec/spec.h"

namespace ca4::spec {

struct Diagnostic {
  std::string file;     // as given to load(), e.g. "ca4.yaml"
  int line = 0;         // 1-based; 0 when the position is unknown (e.g. missing file)
  int column = 0;       // 1-based
  std::string path;     // "spec.edge.kafka.partitions"
  std::string message;  // "must be 1..64, got 100"
  std::string fix;      // "set a value between 1 and 64"
  // "ca4.yaml:14:5: spec.edge.kafka.partitions: must be 1..64, got 100 (fix: …)"
  std::string str() const;
};

struct LoadResult {
  std::optional<Pipeline> pipeline;  // set iff diagnostics is empty
  std::vector<Diagnostic> diagnostics;
  bool ok() const { return pipeline.has_value(); }
};

// Environment lookup, injectable for tests. Returns nullopt when unset.
using EnvLookup = std::function<std::optional<std::string>(const std::string&)>;
EnvLookup processEnv();

// Parses `text` as if read from `file` (used in messages and as base_dir).
LoadResult loadString(const std::string& text, const std::string& file, const EnvLookup& env);
// Reads and parses a file; a missing or unreadable file is one diagnostic with line 0.
LoadResult loadFile(const std::string& path, const EnvLookup& env);

// Stable digest of the effective spec (after defaults) with secrets replaced by their refs:
// "sha256:<hex>". Equal specs → equal digests; changing any field changes it.
std::string digest(const Pipeline& p);

// The effective spec (defaults filled, secrets redacted) as YAML, for `ca4ctl plan --show-spec`.
std::string toYaml(const Pipeline& p);

}  // namespace ca4::spec
