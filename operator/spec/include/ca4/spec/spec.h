// The ca4.yaml model: what the user declares. Plain data; defaults are filled by load() in ONE
// place (src/defaults.cpp) so every field below is concrete after a successful load.
//
//   apiVersion: ca4.dev/v1alpha1
//   kind: Pipeline
//   metadata: {name: ca4-local}
//   spec: {target: local, infra: …, hosts: …, cluster: …, platform: …, edge: …, monitoring: …,
//          tunnels: …, verify: …, local: …}
//
// Secrets are never literal in the file: a secret field holds a `${ENV_NAME}` reference that is
// resolved at load time; `Secret` never prints its value (see redacted()).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ca4::spec {

// local: processes on this machine. aws: Terraform → K3s over SSH → manifests. hosts: the aws path
// on existing machines. kubernetes: an existing cluster (kubeconfig given): manifests only.
enum class Target { Local, Aws, Hosts, Kubernetes };
std::string_view toString(Target t);  // "local" | "aws" | "hosts" | "kubernetes"

// A value from the environment. `ref` is the variable name (from "${NAME}"); `value` is empty
// when the variable is unset and the field is optional. Never log value(); log ref().
class Secret {
 public:
  Secret() = default;
  Secret(std::string ref, std::string value) : ref_(std::move(ref)), value_(std::move(value)) {}
  const std::string& ref() const { return ref_; }
  const std::string& value() const { return value_; }
  bool empty() const { return value_.empty(); }
  // "${NAME}" (or "<unset>"): what logs, events, plans and state files show.
  std::string redacted() const { return ref_.empty() ? "<unset>" : "${" + ref_ + "}"; }

 private:
  std::string ref_;
  std::string value_;
};

struct Metadata {
  std::string name;  // DNS-1123 label, default "ca4"
  std::map<std::string, std::string> labels;
};

// --- target aws: Terraform ----------------------------------------------------------------
struct Infra {
  std::string terraform_dir = "terraform/aws";
  std::string region = "us-east-1";
  std::string workspace = "default";
  std::map<std::string, std::string> vars;    // -var name=value (non-secret)
  std::map<std::string, Secret> secret_vars;  // TF_VAR_name from the environment
  std::string terraform_binary;               // "" = PATH, else an explicit path
};

// --- target hosts (and aws after Terraform): machines behind a bastion --------------------
// Unset fields (port 0, user "", identityFile "") come from hosts.sshConfig for `address`
// (HostName, Port, User, IdentityFile, and ProxyJump for the bastion), then the defaults:
// port 22, user ubuntu, ssh-agent / ~/.ssh/id_ed25519, id_rsa.
struct SshEndpoint {
  std::string name;
  std::string address;  // host, IP, or a Host alias of hosts.sshConfig
  std::uint16_t port = 0;
  std::string user;
  std::string identity_file;
};
enum class HostKeyPolicy { Strict, AcceptNew };
std::string_view toString(HostKeyPolicy p);  // "strict" | "accept-new"
struct Hosts {
  SshEndpoint bastion;
  std::vector<SshEndpoint> nodes;  // first = K3s server, others agents
  std::string known_hosts = "~/.ssh/known_hosts";
  std::string ssh_config = "~/.ssh/config";  // read if it exists; "" = none
  HostKeyPolicy host_key_policy = HostKeyPolicy::Strict;
  Secret key_passphrase;  // optional
};

// --- cluster (K3s) ------------------------------------------------------------------------
enum class InstallMode { Online, Airgap };
std::string_view toString(InstallMode m);  // "online" | "airgap"
struct Cluster {
  std::string k3s_version = "v1.34.1+k3s1";
  InstallMode install_mode = InstallMode::Online;
  std::string airgap_binary;          // path to the k3s binary for Airgap
  std::string airgap_images;          // optional: k3s-airgap-images tarball, uploaded to each node
  std::string airgap_install_script;  // optional: get.k3s.io's install.sh, run with
                                      // INSTALL_K3S_SKIP_DOWNLOAD=true where systemd runs
  std::vector<std::string> tls_sans;  // extra SANs; the tunnel endpoint is always added
  std::string kubeconfig = "kubeconfigs/ca4-kubeconfig";
  std::string context = "ca4";
  // What is applied, and how (the platform, edge and monitoring stages on cluster targets).
  std::string manifests = "manifests";  // kustomization dirs <manifests>/{platform,edge,monitoring}
  std::map<std::string, std::string> images;  // image name → new reference (kustomize `images`)
  bool force_conflicts = false;  // take fields another field manager owns (server-side apply force)
  bool prune = true;             // delete what ca4ctl applied earlier and is no longer desired
  std::chrono::seconds ready_timeout{300};  // per stage: workloads rolled out, Jobs complete
};

// --- platform: DB, object store, namespaces -----------------------------------------------
struct Database {
  Secret uri;  // "${CA4_MONGO_URI}"; empty on local (embedded DB)
  std::string database = "ca4";
  std::string collection = "gpu_metadata";
  bool retry_writes = false;  // DocumentDB: false
  std::string tls_ca_file;    // DocumentDB: global-bundle.pem
};
struct Archive {
  bool enabled = true;
  std::string bucket = "ca4-archive";
  std::string region = "us-east-1";
  std::string endpoint;  // "" = AWS; local: the embedded S3 server
  Secret access_key_id;
  Secret secret_access_key;
};
struct Platform {
  std::vector<std::string> namespaces = {"platform", "app", "monitoring"};
  Database db;
  Archive archive;
};

// --- edge: Kafka, processor, worker --------------------------------------------------------
struct Kafka {
  std::string topic = "gpu-metadata";
  std::string dlq_topic = "gpu-metadata.dlq";
  int partitions = 3;          // 1..64
  int replicas = 1;            // brokers, 1..3 (local: must be 1)
  int replication_factor = 1;  // <= replicas
  std::string consumer_group = "edge-worker";
};
struct Processor {
  int replicas = 1;         // 1..20 (local: 1)
  double rate_limit = 100;  // requests/s per API key
  std::size_t max_body_bytes = 32u << 20;
  Secret api_key;  // optional: local generates one into .ca4/local/api-keys (0600)
};
struct Worker {
  int replicas = 1;
  int batch_size = 500;
  std::chrono::milliseconds batch_timeout{200};
};
struct Edge {
  Kafka kafka;
  Processor processor;
  Worker worker;
};

// --- monitoring ---------------------------------------------------------------------------
struct Monitoring {
  bool enabled = true;
  std::chrono::seconds scrape_interval{5};
  bool grafana = true;  // cluster targets only
  bool loki = true;     // cluster targets only
};

// --- tunnels: local port -> in-VPC target, through the bastion ----------------------------
struct Tunnel {
  std::string name;  // kafka | grafana | k3s | prometheus
  std::uint16_t local_port = 0;
  std::string remote_host;
  std::uint16_t remote_port = 0;
};

// --- verification -------------------------------------------------------------------------
struct Verify {
  std::chrono::seconds timeout{60};  // e2e: POST → document (→ S3 object)
  bool require_archive = true;       // e2e also waits for the S3 object when archive on
};

// --- target local: the embedded pipeline on this machine ----------------------------------
struct LocalPorts {
  std::uint16_t kafka = 9092;
  std::uint16_t kafka_controller = 9093;
  std::uint16_t db = 27017;
  std::uint16_t s3 = 9000;
  std::uint16_t processor = 8080;
  std::uint16_t worker_metrics = 9102;
  std::uint16_t prometheus = 9090;
};
struct Local {
  std::string data_dir = ".ca4/local";  // relative to the spec file's directory
  std::string bin_dir;                  // "" = build/bin next to the spec, then PATH
  std::string cache_dir;                // "" = $CA4_CACHE or ~/.cache/ca4
  LocalPorts ports;
};

struct Spec {
  Target target = Target::Local;
  Infra infra;
  Hosts hosts;
  Cluster cluster;
  Platform platform;
  Edge edge;
  Monitoring monitoring;
  std::vector<Tunnel> tunnels;  // default: kafka 19092, grafana 3000, k3s 16443
  Verify verify;
  Local local;
};

struct Pipeline {
  std::string api_version = "ca4.dev/v1alpha1";
  std::string kind = "Pipeline";
  Metadata metadata;
  Spec spec;
  std::string source_path;  // the file it came from ("" for an in-memory document)
  std::string base_dir;     // directory relative paths resolve against
};

}  // namespace ca4::spec
