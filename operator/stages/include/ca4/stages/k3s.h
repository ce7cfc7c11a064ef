// K3s on the hosts target's nodes (the `cluster` stage): the pure half — what a node reports,
// the config.yaml ca4ctl wants there, what to do about the difference, and the shell commands
// that do it. The I/O half (SSH, the API through the tunnel) is src/k3s_stage.cpp.
//
// Node layout (as K3s' own installer): /usr/local/bin/k3s, /etc/rancher/k3s/config.yaml (0600;
// the agents' holds the join token), /etc/rancher/k3s/k3s.yaml and
// /var/lib/rancher/k3s/server/node-token on the server. Without systemd (and without the official
// installer) ca4ctl supervises k3s itself: pid in /var/lib/rancher/k3s/ca4/k3s.pid, output in
// /var/lib/rancher/k3s/ca4/k3s.log.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "ca4/engine/result.h"
#include "ca4/engine/stage.h"
#include "ca4/spec/spec.h"
#include "ca4/stages/remote.h"

namespace ca4::stages::k3s {

enum class Role { Server, Agent };

inline constexpr const char* kBinary = "/usr/local/bin/k3s";
inline constexpr const char* kConfig = "/etc/rancher/k3s/config.yaml";
inline constexpr const char* kKubeconfig = "/etc/rancher/k3s/k3s.yaml";
inline constexpr const char* kNodeToken = "/var/lib/rancher/k3s/server/node-token";
inline constexpr const char* kImagesDir = "/var/lib/rancher/k3s/agent/images";
inline constexpr int kApiPort = 6443;

// What one read-only command on a node reports (probeCommand()).
struct NodeFacts {
  std::string version;          // installed k3s version, "" = none
  bool systemd = false;         // systemd runs on the node
  bool running = false;         // k3s (server or agent) runs
  long long pid = 0;
  long long startedAt = 0;      // epoch seconds the running k3s started
  std::string arch;             // uname -m
  std::string config;           // config.yaml as it is ("" = none); may hold the token: never print
};

std::string probeCommand();
engine::Result<NodeFacts> parseFacts(const std::string& output);

// The config.yaml ca4ctl wants on node `index` (0 = server). Agents need the server's join
// token; the server's TLS SANs always include 127.0.0.1 and localhost (the tunnel endpoint).
std::string desiredConfig(const spec::Pipeline& p, std::size_t index, const std::string& token);

// Per-key differences between two config.yaml texts ("~ tls-san: [...] → [...]",
// "+ node-ip: …"); the token's value shows as (sensitive).
std::vector<std::string> configDiff(const std::string& current, const std::string& desired);

struct NodeStep {
  bool install = false;      // put the desired k3s binary in place
  bool writeConfig = false;  // config.yaml differs
  bool restart = false;      // (re)start k3s: installed, config changed, or not running
  std::string action;        // "install" | "upgrade" | "update" | "start" | "" (converged)
  std::string detail;        // "k3s v1.34.1+k3s1 → v1.34.2+k3s1, config changed"
  std::vector<std::string> diff;
  bool converged() const { return !install && !writeConfig && !restart; }
};
NodeStep planNode(const NodeFacts& facts, const std::string& desiredVersion,
                  const std::string& desiredConfig);

// Writes config.yaml (content on stdin, 0600, atomically).
std::string writeConfigCommand();
// Stops a running k3s of ours and starts `role` (ca4 supervision or systemd, whichever the node
// has); exits non-zero with the log tail if it dies within its first second.
std::string startCommand(Role role, bool systemd);
// The official installer, online, with a pinned version (needs systemd or openrc on the node).
std::string onlineInstallCommand(Role role, const std::string& version);
// The official installer already uploaded to `script`, air-gapped (INSTALL_K3S_SKIP_DOWNLOAD).
std::string airgapInstallCommand(Role role, const std::string& version, const std::string& script);

// "k3s version v1.34.1+k3s1 (abc)\ngo version …" → "v1.34.1+k3s1" ("" if not that shape).
std::string versionFromOutput(const std::string& k3sVersionOutput);

// K3s' k3s.yaml with its server replaced by `server` and the cluster, user and context all
// named `name` (current-context too). Terminal error if it is not a kubeconfig.
engine::Result<std::string> rewriteKubeconfig(const std::string& k3sYaml, const std::string& server,
                                              const std::string& name);

// "K10<sha256 of the CA>::server:<secret>" → true if it has that shape (the secret is not checked).
bool looksLikeNodeToken(const std::string& token);

// The `cluster` stage of target hosts (src/k3s_stage.cpp); `api` is shared with the Kubernetes
// stages, which reach the API through it.
std::unique_ptr<engine::Stage> makeK3sStage(std::shared_ptr<remote::ApiAccess> api);

}  // namespace ca4::stages::k3s
