// applyDefaults: the ONE place that decides defaults which a member initializer in spec.h cannot
// express (they depend on the target or on what the file left out). Runs after decode, before
// validate, so the rules check the effective spec. Idempotent.
#include <string>

#include "context.h"

namespace ca4::spec::detail {
namespace {

// Tunnels go through the bastion, so only the cluster targets get them by default. An explicit
// `tunnels: []` means "no tunnels"; a missing or null key means "the defaults".
std::vector<Tunnel> defaultTunnels() {
  return {
      {"kafka", 19092, "kafka", 9092},
      {"grafana", 3000, "grafana", 3000},
      {"k3s", 16443, "k3s-api", 6443},
      {"prometheus", 9090, "prometheus", 9090},
  };
}

}  // namespace

void applyDefaults(const Positions& present, Pipeline& p) {
  auto& s = p.spec;
  if (p.metadata.name.empty() && !present.has("metadata.name")) p.metadata.name = "ca4";
  if (s.target != Target::Local && !present.has("spec.tunnels")) s.tunnels = defaultTunnels();
  if (s.hosts.bastion.name.empty()) s.hosts.bastion.name = "bastion";
  for (std::size_t i = 0; i < s.hosts.nodes.size(); ++i) {
    if (s.hosts.nodes[i].name.empty()) s.hosts.nodes[i].name = "node-" + std::to_string(i + 1);
  }
  // local: the archive is the embedded S3-compatible server on local.ports.s3.
  if (s.target == Target::Local && s.platform.archive.endpoint.empty()) {
    s.platform.archive.endpoint = "http://127.0.0.1:" + std::to_string(s.local.ports.s3);
  }
}

}  // namespace ca4::spec::detail
