// validatePipeline: rules that relate fields or depend on the target, checked on the effective
// spec (defaults applied). Field-local rules are in decode.cpp. Reports every violation.
#include <map>
#include <set>
#include <string>

#include "context.h"
#include "names.h"

namespace ca4::spec::detail {
namespace {

void checkKafka(Context& ctx, const Kafka& k) {
  if (k.replication_factor > k.replicas) {
    ctx.errorAtPath("spec.edge.kafka.replicationFactor",
                    "must be 1..replicas (" + std::to_string(k.replicas) + "), got " +
                        std::to_string(k.replication_factor),
                    "lower replicationFactor or raise spec.edge.kafka.replicas");
  }
  if (k.topic == k.dlq_topic) {
    ctx.errorAtPath("spec.edge.kafka.dlqTopic", "must differ from spec.edge.kafka.topic",
                    "set dlqTopic to e.g. " + k.topic + ".dlq");
  }
}

void checkNamespaces(Context& ctx, const std::vector<std::string>& ns) {
  std::set<std::string> seen;
  for (std::size_t i = 0; i < ns.size(); ++i) {
    const auto path = "spec.platform.namespaces[" + std::to_string(i) + "]";
    if (const auto problem = dns1123Problem(ns[i]); !problem.empty()) {
      ctx.errorAtPath(path, problem, "use a lowercase name like platform");
    } else if (!seen.insert(ns[i]).second) {
      ctx.errorAtPath(path, "duplicate namespace \"" + ns[i] + "\"", "list each namespace once");
    }
  }
}

void checkTunnels(Context& ctx, const std::vector<Tunnel>& tunnels) {
  std::set<std::string> names;
  std::set<std::uint16_t> ports;
  for (std::size_t i = 0; i < tunnels.size(); ++i) {
    const auto& t = tunnels[i];
    const auto path = "spec.tunnels[" + std::to_string(i) + "]";
    if (t.name.empty()) {
      ctx.errorAtPath(path + ".name", "is required", "name the tunnel, e.g. kafka");
    } else if (!names.insert(t.name).second) {
      ctx.errorAtPath(path + ".name", "duplicate tunnel name \"" + t.name + "\"",
                      "give each tunnel its own name");
    }
    if (t.local_port == 0) {
      ctx.errorAtPath(path + ".localPort", "is required", "set a local port 1..65535");
    } else if (!ports.insert(t.local_port).second) {
      ctx.errorAtPath(path + ".localPort",
                      "local port " + std::to_string(t.local_port) + " is used by another tunnel",
                      "pick a free local port");
    }
    if (t.remote_host.empty()) {
      ctx.errorAtPath(path + ".remoteHost", "is required", "set the in-cluster host, e.g. kafka");
    }
    if (t.remote_port == 0) {
      ctx.errorAtPath(path + ".remotePort", "is required", "set the remote port 1..65535");
    }
  }
}

// local runs one process per component on this machine.
void checkLocal(Context& ctx, const Spec& s) {
  const std::pair<const char*, int> singles[] = {
      {"spec.edge.kafka.replicas", s.edge.kafka.replicas},
      {"spec.edge.processor.replicas", s.edge.processor.replicas},
      {"spec.edge.worker.replicas", s.edge.worker.replicas},
  };
  for (const auto& [path, n] : singles) {
    if (n != 1) {
      ctx.errorAtPath(path, "must be 1 for target local, got " + std::to_string(n),
                      "set 1, or use target aws or hosts for more replicas");
    }
  }
  const auto& p = s.local.ports;
  const std::pair<const char*, std::uint16_t> ports[] = {
      {"kafka", p.kafka},
      {"kafkaController", p.kafka_controller},
      {"db", p.db},
      {"s3", p.s3},
      {"processor", p.processor},
      {"workerMetrics", p.worker_metrics},
      {"prometheus", p.prometheus},
  };
  std::map<std::uint16_t, std::string> used;
  for (const auto& [name, port] : ports) {
    const auto [it, fresh] = used.emplace(port, name);
    if (fresh) continue;
    ctx.errorAtPath(std::string("spec.local.ports.") + name,
                    "port " + std::to_string(port) + " is also spec.local.ports." + it->second,
                    "give every local service its own port");
  }
}

void checkAws(Context& ctx, const Spec& s) {
  if (s.infra.region.empty()) {
    ctx.errorAtPath("spec.infra.region", "is required for target aws", "set e.g. us-east-1");
  }
  const auto& uri = s.platform.db.uri;
  if (!uri.ref().empty() && uri.empty()) {
    ctx.errorAtPath("spec.platform.db.uri", "environment variable " + uri.ref() + " is not set",
                    "export " + uri.ref() + " (e.g. from `terraform output`), or remove the field");
  }
}

void checkHosts(Context& ctx, const Hosts& h) {
  if (h.bastion.address.empty()) {
    ctx.errorAtPath("spec.hosts.bastion.address", "is required for target hosts",
                    "set the bastion's host or IP");
  }
  if (h.nodes.empty()) {
    ctx.errorAtPath("spec.hosts.nodes", "at least one node is required for target hosts",
                    "add `nodes: [{name: edge-1, address: …}]`");
  }
  std::set<std::string> names;
  for (std::size_t i = 0; i < h.nodes.size(); ++i) {
    const auto path = "spec.hosts.nodes[" + std::to_string(i) + "]";
    if (h.nodes[i].address.empty()) {
      ctx.errorAtPath(path + ".address", "is required", "set the node's host or IP");
    }
    if (!names.insert(h.nodes[i].name).second) {
      ctx.errorAtPath(path + ".name", "duplicate node name \"" + h.nodes[i].name + "\"",
                      "give each node its own name");
    }
  }
}

// kubernetes: an existing cluster; its kubeconfig is checked when the cluster stage runs.
void checkKubernetes(Context& ctx, const Spec& s) {
  if (s.cluster.kubeconfig.empty()) {
    ctx.errorAtPath("spec.cluster.kubeconfig", "is required for target kubernetes",
                    "set the path of the cluster's kubeconfig, e.g. ~/.kube/config");
  }
  const auto& uri = s.platform.db.uri;
  if (!uri.ref().empty() && uri.empty()) {
    ctx.errorAtPath("spec.platform.db.uri", "environment variable " + uri.ref() + " is not set",
                    "export " + uri.ref() + ", or remove the field");
  }
}

}  // namespace

void validatePipeline(Context& ctx, const Pipeline& p) {
  const auto& s = p.spec;
  checkKafka(ctx, s.edge.kafka);
  // ca4-processor refuses keys outside 8..256 characters at start; say so here, naming the
  // variable (never the value).
  if (const auto& key = s.edge.processor.api_key; !key.empty() && (key.value().size() < 8 || key.value().size() > 256)) {
    ctx.errorAtPath("spec.edge.processor.apiKey",
                    "the value of " + key.redacted() + " has " + std::to_string(key.value().size()) +
                        " characters; ca4-processor accepts 8..256",
                    "set " + key.ref() + " to a longer key, e.g. `openssl rand -hex 24`");
  }
  checkNamespaces(ctx, s.platform.namespaces);
  checkTunnels(ctx, s.tunnels);
  if (s.cluster.install_mode == InstallMode::Airgap && s.cluster.airgap_binary.empty()) {
    ctx.errorAtPath("spec.cluster.airgapBinary", "is required when installMode is airgap",
                    "set the path of the k3s binary, or installMode: online");
  }
  if (s.platform.archive.enabled && s.platform.archive.bucket.empty()) {
    ctx.errorAtPath("spec.platform.archive.bucket", "is required when the archive is enabled",
                    "set a bucket name, or enabled: false");
  }
  switch (s.target) {
    case Target::Local:
      checkLocal(ctx, s);
      break;
    case Target::Aws:
      checkAws(ctx, s);
      break;
    case Target::Hosts:
      checkHosts(ctx, s.hosts);
      break;
    case Target::Kubernetes:
      checkKubernetes(ctx, s);
      break;
  }
}

}  // namespace ca4::spec::detail
