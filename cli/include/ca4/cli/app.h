// ca4ctl's entry point as a library function, so tests can drive the CLI in-process.
// No business logic lives in cli/: it parses arguments, loads the spec, picks the output
// (table or JSON lines), runs the engine or the verify checks, and maps outcomes to exit codes.
#pragma once

#include <cstdio>

namespace ca4::cli {

// Exit codes (documented in `ca4ctl --help`).
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;        // a stage stalled, a check failed, the spec is invalid
inline constexpr int kExitChanges = 2;       // plan: something would change
inline constexpr int kExitNotRunning = 3;    // status: some component is not running
inline constexpr int kExitLocked = 4;        // another ca4ctl holds the state lock
inline constexpr int kExitUsage = 64;        // bad command line
inline constexpr int kExitInterrupted = 130; // SIGINT/SIGTERM

int run(int argc, char** argv, std::FILE* out, std::FILE* err);

// Completion scripts (static text generated from the command tree).
const char* bashCompletion();
const char* zshCompletion();

}  // namespace ca4::cli
