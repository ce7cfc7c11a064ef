// The hosts (and aws) targets' way in: SSH endpoints from spec.hosts, tunnels from spec.tunnels
// through the bastion, and probes that show traffic flows through each tunnel.
//
// Tunnel targets: `remoteHost` names a host as the bastion sees it. The symbolic names the
// defaults use — k3s-api, kafka, grafana, prometheus — mean the K3s server node (the first of
// spec.hosts.nodes): its API listens there, and K3s' ServiceLB serves LoadBalancer Services on
// the node addresses. Any other value is used as written.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "ca4/drivers/ssh/ssh.h"
#include "ca4/drivers/ssh/tunnel.h"
#include "ca4/engine/result.h"
#include "ca4/spec/spec.h"
#include "ca4/stages/verify.h"

namespace ca4::stages::remote {

namespace ssh = drivers::ssh;

// ---- pure ----
// `p` with spec.hosts completed from an ssh config text (see spec::SshEndpoint): addresses are
// the HostNames, ports/users/identity files filled (explicit spec values win), defaults applied.
spec::Pipeline resolveHosts(const spec::Pipeline& p, const std::string& sshConfigText);
// The bastion's ProxyJump chain from the ssh config (each jump host completed from it too).
std::vector<ssh::Endpoint> bastionJumps(const spec::Pipeline& p, const std::string& sshConfigText);

struct SshPlan {
  std::vector<ssh::Endpoint> jumps;  // before the bastion (its ProxyJump), usually none
  ssh::Endpoint bastion;
  std::vector<ssh::Endpoint> nodes;  // nodes[0] = the K3s server
  ssh::Options options;              // known_hosts (absolute), policy, passphrase
};
// From a RESOLVED pipeline; paths (identityFile, knownHosts) against the spec's directory and ~.
engine::Result<SshPlan> sshPlan(const spec::Pipeline& resolved, std::vector<ssh::Endpoint> jumps = {});

// The address the bastion connects to for a tunnel's remoteHost (see the header comment).
std::string resolveRemoteHost(const spec::Pipeline& p, const std::string& remoteHost);

// The forwards for `names` ("all" or empty = every spec tunnel) of a RESOLVED pipeline. An
// unknown name is a terminal error listing the names the spec has.
engine::Result<std::vector<ssh::Forward>> forwards(const spec::Pipeline& p,
                                                   const std::vector<std::string>& names);

enum class ProbeKind { Tcp, Http, Https, Kafka };
// k3s → HTTPS GET /version; grafana → HTTP GET /api/health; prometheus → HTTP GET /-/ready;
// kafka → a metadata request; anything else → TCP (the target accepted the channel).
ProbeKind probeKindFor(const std::string& tunnelName);
std::string_view toString(ProbeKind k);

// ---- I/O ----
// resolveHosts/bastionJumps with hosts.sshConfig read from disk (a missing file is no config).
spec::Pipeline resolveHosts(const spec::Pipeline& p);
engine::Result<SshPlan> sshPlanFor(const spec::Pipeline& p);
// Starts the forwards through the bastion (see ssh::Tunnel: listeners first, then connect);
// `p` as written (its hosts are resolved here).
engine::Result<std::unique_ptr<ssh::Tunnel>> openTunnel(const spec::Pipeline& p,
                                                       std::vector<ssh::Forward> forwards,
                                                       ssh::TunnelOptions options = {});

// One round trip through the local end of `f`. ok = traffic flows to the target.
Check probe(const ssh::Forward& f, std::chrono::milliseconds timeout = std::chrono::seconds(5));

// ca4ctl's own way to the K3s API during a run (shared by the cluster stage and the Kubernetes
// stages): a tunnel through the bastion to the server node's API port on an ephemeral local
// port, opened on first use and re-opened when the spec's hosts change. Users' tunnels
// (`ca4ctl tunnel`, the kubeconfig's 127.0.0.1:16443) are separate and may run meanwhile.
class ApiAccess {
 public:
  // "https://127.0.0.1:<port>"; waits until the tunnel is up.
  engine::Result<std::string> server(const spec::Pipeline& p);

 private:
  std::string key_;
  std::unique_ptr<ssh::Tunnel> tunnel_;
};

// The local end users reach the K3s API at: the spec tunnel to the server node's port 6443
// (default `k3s`, 16443), or 16443 when the spec has none.
std::uint16_t userApiPort(const spec::Pipeline& p);

}  // namespace ca4::stages::remote
