// `ca4ctl tunnel`: foreground and background tunnels through the bastion, status and stop.
#pragma once

#include <cstdio>
#include <string>
#include <vector>

#include "ca4/spec/spec.h"

namespace ca4::cli {

struct TunnelArgs {
  std::vector<std::string> words;  // tunnel names, `all`, or one of `status` / `stop`
  bool background = false;
  bool json = false;
  bool verbose = false;
};

// Exit codes as the rest of ca4ctl: 0 ok, 1 failure, 3 (status) a tunnel is down, 130 interrupted.
int tunnelCommand(const spec::Pipeline& p, const TunnelArgs& args, std::FILE* out, std::FILE* err);

}  // namespace ca4::cli
