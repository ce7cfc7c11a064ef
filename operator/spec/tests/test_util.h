// Helpers for the spec tests: a fake environment (tests never read the real one) and lookups.
#pragma once

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <string_view>

#include "ca4/spec/load.h"

namespace ca4::spec::testing {

using Env = std::map<std::string, std::string>;

inline EnvLookup fakeEnv(Env vars) {
  return [vars = std::move(vars)](const std::string& k) -> std::optional<std::string> {
    const auto it = vars.find(k);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

inline constexpr std::string_view kHeader = "apiVersion: ca4.dev/v1alpha1\nkind: Pipeline\n";

inline LoadResult load(const std::string& text, Env env = {}) {
  return loadString(text, "ca4.yaml", fakeEnv(std::move(env)));
}

// `spec: <flow>` on line 3, after the header: e.g. withSpec("{edge: {kafka: {partitions: 100}}}").
inline LoadResult withSpec(const std::string& flow, Env env = {}) {
  return load(std::string(kHeader) + "spec: " + flow + "\n", std::move(env));
}

inline std::string dump(const LoadResult& r) {
  std::string s;
  for (const auto& d : r.diagnostics) s += d.str() + "\n";
  return s.empty() ? "(no diagnostics)" : s;
}

// The first diagnostic whose path equals `path`, or nullptr.
inline const Diagnostic* find(const LoadResult& r, std::string_view path) {
  for (const auto& d : r.diagnostics) {
    if (d.path == path) return &d;
  }
  return nullptr;
}

// Asserts failure with a diagnostic at `path` whose message contains `text`.
inline ::testing::AssertionResult failsAt(const LoadResult& r, std::string_view path,
                                          std::string_view text = "") {
  if (r.ok()) return ::testing::AssertionFailure() << "loaded without diagnostics";
  for (const auto& d : r.diagnostics) {
    if (d.path == path && d.message.find(text) != std::string::npos) {
      return ::testing::AssertionSuccess();
    }
  }
  return ::testing::AssertionFailure()
         << "no diagnostic at " << path << " containing \"" << text << "\"; got:\n"
         << dump(r);
}

inline ::testing::AssertionResult loads(const LoadResult& r) {
  if (r.ok() && r.diagnostics.empty()) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << dump(r);
}

}  // namespace ca4::spec::testing
