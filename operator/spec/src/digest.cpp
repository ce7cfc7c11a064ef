// The effective spec as data: one JSON rendering shared by digest() (canonical: sorted keys,
// compact) and toYaml() (spec order, for people). Secrets appear only as their redacted() form.
#include <openssl/evp.h>
#include <yaml-cpp/yaml.h>

#include <array>
#include <nlohmann/json.hpp>

#include "ca4/spec/load.h"
#include "env.h"

namespace ca4::spec {

std::string_view toString(Target t) {
  switch (t) {
    case Target::Local:
      return "local";
    case Target::Aws:
      return "aws";
    case Target::Hosts:
      return "hosts";
    case Target::Kubernetes:
      return "kubernetes";
  }
  return "local";
}
std::string_view toString(HostKeyPolicy p) {
  return p == HostKeyPolicy::AcceptNew ? "accept-new" : "strict";
}
std::string_view toString(InstallMode m) { return m == InstallMode::Airgap ? "airgap" : "online"; }

namespace {

using Json = nlohmann::ordered_json;

// forYaml: strings are escaped so that loading the YAML again yields the same spec ("${" → "$${")
// and unset secrets are "" (not configured) instead of "<unset>".
struct Render {
  bool for_yaml = false;

  Json str(const std::string& s) const { return for_yaml ? detail::escapeRefs(s) : s; }
  Json secret(const Secret& s) const {
    return for_yaml && s.ref().empty() ? std::string{} : s.redacted();
  }
  static std::string duration(std::chrono::milliseconds d) {
    const auto ms = d.count();
    if (ms != 0 && ms % 3'600'000 == 0) return std::to_string(ms / 3'600'000) + "h";
    if (ms != 0 && ms % 60'000 == 0) return std::to_string(ms / 60'000) + "m";
    if (ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
    return std::to_string(ms) + "ms";
  }
  Json strMap(const std::map<std::string, std::string>& m) const {
    Json j = Json::object();
    for (const auto& [k, v] : m) j[k] = str(v);
    return j;
  }
  Json strList(const std::vector<std::string>& v) const {
    Json j = Json::array();
    for (const auto& s : v) j.push_back(str(s));
    return j;
  }
  Json endpoint(const SshEndpoint& e) const {
    Json j = {{"name", str(e.name)},
              {"address", str(e.address)},
              {"user", str(e.user)},
              {"identityFile", str(e.identity_file)}};
    if (e.port != 0) j["port"] = e.port;  // 0 = unset: hosts.sshConfig, then 22
    return j;
  }

  Json infra(const Infra& i) const {
    Json sv = Json::object();
    for (const auto& [k, v] : i.secret_vars) sv[k] = secret(v);
    return {{"terraformDir", str(i.terraform_dir)},
            {"region", str(i.region)},
            {"workspace", str(i.workspace)},
            {"vars", strMap(i.vars)},
            {"secretVars", sv},
            {"terraformBinary", str(i.terraform_binary)}};
  }
  Json hosts(const Hosts& h) const {
    Json nodes = Json::array();
    for (const auto& n : h.nodes) nodes.push_back(endpoint(n));
    return {{"bastion", endpoint(h.bastion)},
            {"nodes", nodes},
            {"knownHosts", str(h.known_hosts)},
            {"sshConfig", str(h.ssh_config)},
            {"hostKeyPolicy", toString(h.host_key_policy)},
            {"keyPassphrase", secret(h.key_passphrase)}};
  }
  Json cluster(const Cluster& c) const {
    return {{"k3sVersion", str(c.k3s_version)},     {"installMode", toString(c.install_mode)},
            {"airgapBinary", str(c.airgap_binary)}, {"airgapImages", str(c.airgap_images)},
            {"airgapInstallScript", str(c.airgap_install_script)}, {"tlsSans", strList(c.tls_sans)},
            {"kubeconfig", str(c.kubeconfig)},      {"context", str(c.context)},
            {"manifests", str(c.manifests)},        {"images", strMap(c.images)},
            {"forceConflicts", c.force_conflicts},  {"prune", c.prune},
            {"readyTimeout", duration(c.ready_timeout)}};
  }
  Json platform(const Platform& p) const {
    const auto& d = p.db;
    const auto& a = p.archive;
    return {{"namespaces", strList(p.namespaces)},
            {"db",
             {{"uri", secret(d.uri)},
              {"database", str(d.database)},
              {"collection", str(d.collection)},
              {"retryWrites", d.retry_writes},
              {"tlsCaFile", str(d.tls_ca_file)}}},
            {"archive",
             {{"enabled", a.enabled},
              {"bucket", str(a.bucket)},
              {"region", str(a.region)},
              {"endpoint", str(a.endpoint)},
              {"accessKeyId", secret(a.access_key_id)},
              {"secretAccessKey", secret(a.secret_access_key)}}}};
  }
  Json edge(const Edge& e) const {
    const auto& k = e.kafka;
    return {{"kafka",
             {{"topic", str(k.topic)},
              {"dlqTopic", str(k.dlq_topic)},
              {"partitions", k.partitions},
              {"replicas", k.replicas},
              {"replicationFactor", k.replication_factor},
              {"consumerGroup", str(k.consumer_group)}}},
            {"processor",
             {{"replicas", e.processor.replicas},
              {"rateLimit", e.processor.rate_limit},
              {"maxBodyBytes", e.processor.max_body_bytes},
              {"apiKey", secret(e.processor.api_key)}}},
            {"worker",
             {{"replicas", e.worker.replicas},
              {"batchSize", e.worker.batch_size},
              {"batchTimeout", duration(e.worker.batch_timeout)}}}};
  }
  Json local(const Local& l) const {
    const auto& p = l.ports;
    return {{"dataDir", str(l.data_dir)},
            {"binDir", str(l.bin_dir)},
            {"cacheDir", str(l.cache_dir)},
            {"ports",
             {{"kafka", p.kafka},
              {"kafkaController", p.kafka_controller},
              {"db", p.db},
              {"s3", p.s3},
              {"processor", p.processor},
              {"workerMetrics", p.worker_metrics},
              {"prometheus", p.prometheus}}}};
  }
  Json spec(const Spec& s) const {
    Json tunnels = Json::array();
    for (const auto& t : s.tunnels) {
      tunnels.push_back({{"name", str(t.name)},
                         {"localPort", t.local_port},
                         {"remoteHost", str(t.remote_host)},
                         {"remotePort", t.remote_port}});
    }
    return {
        {"target", toString(s.target)},
        {"infra", infra(s.infra)},
        {"hosts", hosts(s.hosts)},
        {"cluster", cluster(s.cluster)},
        {"platform", platform(s.platform)},
        {"edge", edge(s.edge)},
        {"monitoring",
         {{"enabled", s.monitoring.enabled},
          {"scrapeInterval", duration(s.monitoring.scrape_interval)},
          {"grafana", s.monitoring.grafana},
          {"loki", s.monitoring.loki}}},
        {"tunnels", tunnels},
        {"verify",
         {{"timeout", duration(s.verify.timeout)}, {"requireArchive", s.verify.require_archive}}},
        {"local", local(s.local)}};
  }
  // source_path and base_dir are where the spec came from, not what it says: left out.
  Json pipeline(const Pipeline& p) const {
    return {{"apiVersion", str(p.api_version)},
            {"kind", str(p.kind)},
            {"metadata", {{"name", str(p.metadata.name)}, {"labels", strMap(p.metadata.labels)}}},
            {"spec", spec(p.spec)}};
  }
};

void emit(YAML::Emitter& out, const Json& j) {
  switch (j.type()) {
    case Json::value_t::object:
      out << YAML::BeginMap;
      for (const auto& [k, v] : j.items()) {
        out << YAML::Key << k << YAML::Value;
        emit(out, v);
      }
      out << YAML::EndMap;
      break;
    case Json::value_t::array:
      out << YAML::BeginSeq;
      for (const auto& v : j) emit(out, v);
      out << YAML::EndSeq;
      break;
    case Json::value_t::string:
      out << j.get<std::string>();
      break;
    case Json::value_t::boolean:
      out << j.get<bool>();
      break;
    case Json::value_t::number_float:
      out << j.get<double>();
      break;
    case Json::value_t::number_unsigned:
      out << j.get<std::uint64_t>();
      break;
    case Json::value_t::number_integer:
      out << j.get<std::int64_t>();
      break;
    default:
      out << YAML::Null;
      break;
  }
}

std::string sha256Hex(const std::string& data) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), md.data(), &len, EVP_sha256(), nullptr) != 1) {
    return {};  // only on allocation failure inside OpenSSL
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  for (unsigned int i = 0; i < len; ++i) {
    hex += kHex[md[i] >> 4];
    hex += kHex[md[i] & 0xf];
  }
  return hex;
}

}  // namespace

std::string digest(const Pipeline& p) {
  // nlohmann::json (not ordered_json) stores objects in std::map: keys come out sorted.
  // replace: a Pipeline built in code may hold invalid UTF-8; loaded ones never do (load checks).
  constexpr auto kReplace = nlohmann::json::error_handler_t::replace;
  const auto canonical = nlohmann::json::parse(Render{}.pipeline(p).dump(-1, ' ', false, kReplace));
  return "sha256:" + sha256Hex(canonical.dump(-1, ' ', false, kReplace));
}

std::string toYaml(const Pipeline& p) {
  YAML::Emitter out;
  out << YAML::BeginDoc;
  emit(out, Render{true}.pipeline(p));
  return std::string(out.c_str()) + "\n";
}

}  // namespace ca4::spec
