#pragma once
// Shell helpers for the tests that drive the real ca4ctl binary and observe with other tools
// (kubectl, the OpenSSH client): whole-file read/write, POSIX quoting, a command's exit status
// and captured output.
#include <sys/wait.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

namespace ca4::testsupport {

inline std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p);
  return {std::istreambuf_iterator<char>(in), {}};
}

inline void spit(const std::filesystem::path& p, const std::string& s) { std::ofstream(p) << s; }

// 'single-quoted' for /bin/sh.
inline std::string shq(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

struct ShellResult {
  int rc = -1;  // -1: killed by a signal
  std::string out, err;
  double seconds = 0;
};

// Runs `cmd` with /bin/sh; stdout and stderr are captured through files in `scratch`.
inline ShellResult runShell(const std::string& cmd, const std::filesystem::path& scratch) {
  const auto out = scratch / "sh.out", err = scratch / "sh.err";
  const auto t0 = std::chrono::steady_clock::now();
  const int st = std::system(("(" + cmd + ") >" + shq(out.string()) + " 2>" + shq(err.string())).c_str());
  ShellResult r;
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  r.rc = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  r.out = slurp(out);
  r.err = slurp(err);
  return r;
}

}  // namespace ca4::testsupport
