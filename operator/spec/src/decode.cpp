// decodePipeline: YAML → model, one function per section. Field-local rules (type, range, enum,
// name syntax) are checked here where the raw text and its position are at hand; rules that
// relate fields or depend on the target are in validate.cpp.
#include <array>

#include "names.h"
#include "reader.h"

namespace ca4::spec::detail {
namespace {

using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;

constexpr IntRange kPort{1, 65535};
constexpr std::array<std::pair<std::string_view, Target>, 4> kTargets{
    {{"local", Target::Local}, {"aws", Target::Aws}, {"hosts", Target::Hosts}, {"kubernetes", Target::Kubernetes}}};
constexpr std::array<std::pair<std::string_view, InstallMode>, 2> kInstallModes{
    {{"online", InstallMode::Online}, {"airgap", InstallMode::Airgap}}};
constexpr std::array<std::pair<std::string_view, HostKeyPolicy>, 2> kHostKeyPolicies{
    {{"strict", HostKeyPolicy::Strict}, {"accept-new", HostKeyPolicy::AcceptNew}}};

// A string field whose value must satisfy `check` (returns "" when fine, else the problem).
template <class Check>
void checkedStr(MapReader& r, std::string_view key, std::string& out, Check check,
                std::string_view fix) {
  const auto n = r.take(key);
  std::string v;
  if (!present(n) || !readString(r.ctx(), n, r.pathOf(key), v)) return;
  if (const auto problem = check(v); !problem.empty()) {
    r.ctx().error(n, r.pathOf(key), problem, std::string(fix));
    return;
  }
  out = std::move(v);
}

void decodeMetadata(Context& ctx, const YAML::Node& n, Metadata& m) {
  MapReader r(ctx, n, "metadata");
  checkedStr(r, "name", m.name, dns1123Problem,
             "use lowercase letters, digits and '-', e.g. ca4-local");
  r.strMap("labels", m.labels);
  r.finish();
}

void decodeInfra(Context& ctx, const YAML::Node& n, Infra& i) {
  MapReader r(ctx, n, "spec.infra");
  r.str("terraformDir", i.terraform_dir);
  r.str("region", i.region);
  r.str("workspace", i.workspace);
  r.strMap("vars", i.vars);
  r.secretMap("secretVars", i.secret_vars);
  r.str("terraformBinary", i.terraform_binary);
  r.finish();
}

void decodeEndpoint(Context& ctx, const YAML::Node& n, const std::string& path, SshEndpoint& e) {
  MapReader r(ctx, n, path);
  r.str("name", e.name);
  r.str("address", e.address);
  r.integer("port", e.port, kPort);
  r.str("user", e.user);
  r.str("identityFile", e.identity_file);
  r.finish();
}

void decodeHosts(Context& ctx, const YAML::Node& n, Hosts& h) {
  MapReader r(ctx, n, "spec.hosts");
  decodeEndpoint(ctx, r.take("bastion"), r.pathOf("bastion"), h.bastion);
  const auto nodes = r.take("nodes");
  if (present(nodes)) {
    h.nodes.clear();
    forEachItem(ctx, nodes, r.pathOf("nodes"), [&](const YAML::Node& item, const std::string& p) {
      SshEndpoint e;
      decodeEndpoint(ctx, item, p, e);
      h.nodes.push_back(std::move(e));
    });
  }
  r.str("knownHosts", h.known_hosts);
  r.str("sshConfig", h.ssh_config);
  r.choice<HostKeyPolicy>("hostKeyPolicy", h.host_key_policy, kHostKeyPolicies);
  r.secret("keyPassphrase", h.key_passphrase);
  r.finish();
}

void decodeCluster(Context& ctx, const YAML::Node& n, Cluster& c) {
  MapReader r(ctx, n, "spec.cluster");
  r.str("k3sVersion", c.k3s_version);
  r.choice<InstallMode>("installMode", c.install_mode, kInstallModes);
  r.str("airgapBinary", c.airgap_binary);
  r.str("airgapImages", c.airgap_images);
  r.str("airgapInstallScript", c.airgap_install_script);
  r.strList("tlsSans", c.tls_sans);
  r.str("kubeconfig", c.kubeconfig);
  r.str("context", c.context);
  r.str("manifests", c.manifests);
  r.strMap("images", c.images);
  r.boolean("forceConflicts", c.force_conflicts);
  r.boolean("prune", c.prune);
  r.duration("readyTimeout", c.ready_timeout, {seconds(5), hours(2), "5s..2h"});
  r.finish();
}

void decodePlatform(Context& ctx, const YAML::Node& n, Platform& p) {
  MapReader r(ctx, n, "spec.platform");
  r.strList("namespaces", p.namespaces);
  {
    MapReader db(ctx, r.take("db"), r.pathOf("db"));
    db.secret("uri", p.db.uri);
    db.str("database", p.db.database);
    db.str("collection", p.db.collection);
    db.boolean("retryWrites", p.db.retry_writes);
    db.str("tlsCaFile", p.db.tls_ca_file);
    db.finish();
  }
  {
    MapReader a(ctx, r.take("archive"), r.pathOf("archive"));
    a.boolean("enabled", p.archive.enabled);
    a.str("bucket", p.archive.bucket);
    a.str("region", p.archive.region);
    a.str("endpoint", p.archive.endpoint);
    a.secret("accessKeyId", p.archive.access_key_id);
    a.secret("secretAccessKey", p.archive.secret_access_key);
    a.finish();
  }
  r.finish();
}

void decodeEdge(Context& ctx, const YAML::Node& n, Edge& e) {
  MapReader r(ctx, n, "spec.edge");
  {
    MapReader k(ctx, r.take("kafka"), r.pathOf("kafka"));
    constexpr std::string_view kTopicFix = "use [a-zA-Z0-9._-], at most 249 characters";
    checkedStr(k, "topic", e.kafka.topic, topicProblem, kTopicFix);
    checkedStr(k, "dlqTopic", e.kafka.dlq_topic, topicProblem, kTopicFix);
    k.integer("partitions", e.kafka.partitions, {1, 64});
    k.integer("replicas", e.kafka.replicas, {1, 3});
    k.integer("replicationFactor", e.kafka.replication_factor, {1, 3});
    k.str("consumerGroup", e.kafka.consumer_group);
    k.finish();
  }
  {
    MapReader p(ctx, r.take("processor"), r.pathOf("processor"));
    p.integer("replicas", e.processor.replicas, {1, 20});
    p.positive("rateLimit", e.processor.rate_limit);
    p.integer("maxBodyBytes", e.processor.max_body_bytes, {1024, 64LL << 20});
    p.secret("apiKey", e.processor.api_key);
    p.finish();
  }
  {
    MapReader w(ctx, r.take("worker"), r.pathOf("worker"));
    w.integer("replicas", e.worker.replicas, {1, 20});
    w.integer("batchSize", e.worker.batch_size, {1, 10000});
    w.duration("batchTimeout", e.worker.batch_timeout,
               {milliseconds(1), hours(24), "> 0 (at most 24h)"});
    w.finish();
  }
  r.finish();
}

void decodeMonitoring(Context& ctx, const YAML::Node& n, Monitoring& m) {
  MapReader r(ctx, n, "spec.monitoring");
  r.boolean("enabled", m.enabled);
  r.duration("scrapeInterval", m.scrape_interval, {seconds(1), minutes(5), "1s..5m"});
  r.boolean("grafana", m.grafana);
  r.boolean("loki", m.loki);
  r.finish();
}

void decodeTunnels(Context& ctx, const YAML::Node& n, const std::string& path,
                   std::vector<Tunnel>& out) {
  if (!present(n)) return;
  out.clear();
  forEachItem(ctx, n, path, [&](const YAML::Node& item, const std::string& p) {
    MapReader r(ctx, item, p);
    Tunnel t;
    r.str("name", t.name);
    r.integer("localPort", t.local_port, kPort);
    r.str("remoteHost", t.remote_host);
    r.integer("remotePort", t.remote_port, kPort);
    r.finish();
    out.push_back(std::move(t));
  });
}

void decodeLocal(Context& ctx, const YAML::Node& n, Local& l) {
  MapReader r(ctx, n, "spec.local");
  r.str("dataDir", l.data_dir);
  r.str("binDir", l.bin_dir);
  r.str("cacheDir", l.cache_dir);
  {
    MapReader p(ctx, r.take("ports"), r.pathOf("ports"));
    p.integer("kafka", l.ports.kafka, kPort);
    p.integer("kafkaController", l.ports.kafka_controller, kPort);
    p.integer("db", l.ports.db, kPort);
    p.integer("s3", l.ports.s3, kPort);
    p.integer("processor", l.ports.processor, kPort);
    p.integer("workerMetrics", l.ports.worker_metrics, kPort);
    p.integer("prometheus", l.ports.prometheus, kPort);
    p.finish();
  }
  r.finish();
}

void decodeSpec(Context& ctx, const YAML::Node& n, Spec& s) {
  MapReader r(ctx, n, "spec");
  r.choice<Target>("target", s.target, kTargets);
  decodeInfra(ctx, r.take("infra"), s.infra);
  decodeHosts(ctx, r.take("hosts"), s.hosts);
  decodeCluster(ctx, r.take("cluster"), s.cluster);
  decodePlatform(ctx, r.take("platform"), s.platform);
  decodeEdge(ctx, r.take("edge"), s.edge);
  decodeMonitoring(ctx, r.take("monitoring"), s.monitoring);
  decodeTunnels(ctx, r.take("tunnels"), r.pathOf("tunnels"), s.tunnels);
  {
    MapReader v(ctx, r.take("verify"), r.pathOf("verify"));
    v.duration("timeout", s.verify.timeout, {seconds(1), minutes(30), "1s..30m"});
    v.boolean("requireArchive", s.verify.require_archive);
    v.finish();
  }
  decodeLocal(ctx, r.take("local"), s.local);
  r.finish();
}

// apiVersion and kind are required and fixed.
void requireExact(MapReader& r, std::string_view key, const std::string& expected) {
  const auto n = r.take(key);
  const auto path = r.pathOf(key);
  if (!present(n)) {
    r.ctx().errorAtPath(path, "is required", "add `" + path + ": " + expected + "`");
    return;
  }
  std::string v;
  if (!readString(r.ctx(), n, path, v) || v == expected) return;
  r.ctx().error(n, path, "must be " + expected + ", got " + describe(n),
                "set `" + path + ": " + expected + "`");
}

}  // namespace

void decodePipeline(Context& ctx, const YAML::Node& root, Pipeline& out) {
  ctx.positions().record("", markOf(root), markOf(root));
  MapReader r(ctx, root, "");
  requireExact(r, "apiVersion", out.api_version);
  requireExact(r, "kind", out.kind);
  decodeMetadata(ctx, r.take("metadata"), out.metadata);
  decodeSpec(ctx, r.take("spec"), out.spec);
  r.finish();
}

}  // namespace ca4::spec::detail
