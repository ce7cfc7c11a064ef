#include "ca4/stages/kube_render.h"

#include <ca4/common/base64.h>

#include <regex>

namespace ca4::stages::kube {

using engine::Error;
using engine::Result;

namespace {

std::string str(const Json& j, const char* k) {
  return j.is_object() && j.contains(k) && j[k].is_string() ? j[k].get<std::string>() : std::string();
}
bool is(const Json& o, const char* kind, const char* ns, const char* name) {
  return str(o, "kind") == kind && o.contains("metadata") && str(o["metadata"], "namespace") == ns &&
         str(o["metadata"], "name") == name;
}
Json* find(std::vector<Json>& objs, const char* kind, const char* ns, const char* name) {
  for (auto& o : objs)
    if (is(o, kind, ns, name)) return &o;
  return nullptr;
}
Result<Json*> require(std::vector<Json>& objs, const char* set, const char* kind, const char* ns, const char* name) {
  if (Json* o = find(objs, kind, ns, name)) return o;
  return Error::terminal(std::string("manifests/") + set + " has no " + kind + " " + ns + "/" + name +
                             " (ca4ctl writes the spec's values there)",
                         "restore it from the repository's manifests/, or point spec.cluster.manifests at a complete set");
}
std::string label(const Json& o, const char* key) {
  if (!o.contains("metadata") || !o["metadata"].contains("labels")) return {};
  return str(o["metadata"]["labels"], key);
}
Json secret(const std::string& name, const std::vector<std::pair<std::string, std::string>>& data) {
  Json d = Json::object();
  for (const auto& [k, v] : data)
    if (!v.empty()) d[k] = common::base64Encode(v);
  return {{"apiVersion", "v1"},
          {"kind", "Secret"},
          {"metadata",
           {{"name", name},
            {"namespace", "app"},
            {"labels", {{"app.kubernetes.io/part-of", "ca4"}, {"app.kubernetes.io/managed-by", "ca4ctl"}}}}},
          {"type", "Opaque"},
          {"data", d}};
}
void finishImages(const spec::Pipeline& p, Rendered& r) { setImages(r.objects, p.spec.cluster.images); }

// A Prometheus duration ("1m30s", "500ms", "10s") in milliseconds; unknown units count as 0.
long long promDurationMs(const std::string& d) {
  static const std::regex part(R"(([0-9]+)(ms|s|m|h|d|w|y))");
  long long total = 0;
  for (auto it = std::sregex_iterator(d.begin(), d.end(), part); it != std::sregex_iterator(); ++it) {
    const long long n = std::stoll((*it)[1].str());
    const std::string u = (*it)[2].str();
    const long long mult = u == "ms" ? 1 : u == "s" ? 1000 : u == "m" ? 60000 : u == "h" ? 3600000
                         : u == "d" ? 86400000LL : u == "w" ? 604800000LL : 31536000000LL;
    total += n * mult;
  }
  return total;
}

}  // namespace

std::string imageName(const std::string& ref) {
  std::string s = ref.substr(0, ref.find('@'));
  const auto slash = s.rfind('/');
  const auto colon = s.rfind(':');
  if (colon != std::string::npos && (slash == std::string::npos || colon > slash)) s = s.substr(0, colon);
  return s;
}

void setImages(std::vector<Json>& objects, const std::map<std::string, std::string>& images) {
  if (images.empty()) return;
  auto fix = [&](Json& podSpec) {
    for (const char* list : {"containers", "initContainers"}) {
      if (!podSpec.contains(list) || !podSpec[list].is_array()) continue;
      for (auto& c : podSpec[list]) {
        const auto it = images.find(imageName(str(c, "image")));
        if (it != images.end()) c["image"] = it->second;
      }
    }
  };
  for (auto& o : objects) {
    const std::string kind = str(o, "kind");
    if (!o.contains("spec")) continue;
    auto& spec = o["spec"];
    if (kind == "Pod") {
      fix(spec);
    } else if (kind == "CronJob") {
      if (spec.contains("jobTemplate") && spec["jobTemplate"].contains("spec") &&
          spec["jobTemplate"]["spec"].contains("template") && spec["jobTemplate"]["spec"]["template"].contains("spec"))
        fix(spec["jobTemplate"]["spec"]["template"]["spec"]);
    } else if (spec.contains("template") && spec["template"].is_object() && spec["template"].contains("spec")) {
      fix(spec["template"]["spec"]);
    }
  }
}

Result<Rendered> renderPlatform(const spec::Pipeline& p, std::vector<Json> manifests, const std::string& apiKeysFile) {
  Rendered r;
  r.objects = std::move(manifests);
  for (const auto& ns : p.spec.platform.namespaces) {
    if (find(r.objects, "Namespace", "", ns.c_str())) continue;
    r.objects.push_back({{"apiVersion", "v1"},
                         {"kind", "Namespace"},
                         {"metadata", {{"name", ns}, {"labels", {{"app.kubernetes.io/part-of", "ca4"}}}}}});
  }
  const auto& db = p.spec.platform.db;
  if (db.uri.empty()) {
    r.warnings.push_back("spec.platform.db.uri is unset: Secret app/ca4-mongo-credentials is not created, so "
                         "metadata-worker pods cannot start until it exists");
  } else {
    r.objects.push_back(secret("ca4-mongo-credentials", {{"uri", db.uri.value()}}));
  }
  const auto& a = p.spec.platform.archive;
  if (a.enabled) {
    r.objects.push_back(secret("ca4-s3-config", {{"bucket", a.bucket},
                                                 {"region", a.region},
                                                 {"endpoint", a.endpoint},
                                                 {"access_key_id", a.access_key_id.value()},
                                                 {"secret_access_key", a.secret_access_key.value()}}));
  }
  r.objects.push_back(secret("ca4-edge-api-config", {{"api-keys", apiKeysFile}}));
  finishImages(p, r);
  return r;
}

Result<Rendered> renderEdge(const spec::Pipeline& p, std::vector<Json> manifests) {
  Rendered r;
  r.objects = std::move(manifests);
  const auto& e = p.spec.edge;
  auto kcfg = require(r.objects, "edge", "ConfigMap", "platform", "ca4-kafka-config");
  if (!kcfg) return kcfg.error();
  auto& kd = (**kcfg)["data"];
  kd["KAFKA_REPLICAS"] = std::to_string(e.kafka.replicas);
  kd["KAFKA_TOPIC"] = e.kafka.topic;
  kd["KAFKA_DLQ_TOPIC"] = e.kafka.dlq_topic;
  kd["KAFKA_PARTITIONS"] = std::to_string(e.kafka.partitions);
  kd["KAFKA_REPLICATION_FACTOR"] = std::to_string(e.kafka.replication_factor);

  auto ecfg = require(r.objects, "edge", "ConfigMap", "app", "ca4-edge-config");
  if (!ecfg) return ecfg.error();
  auto& ed = (**ecfg)["data"];
  ed["KAFKA_TOPIC"] = e.kafka.topic;
  ed["KAFKA_DLQ_TOPIC"] = e.kafka.dlq_topic;
  ed["KAFKA_CONSUMER_GROUP"] = e.kafka.consumer_group;
  ed["DB_NAME"] = p.spec.platform.db.database;
  ed["DB_COLLECTION"] = p.spec.platform.db.collection;
  ed["DB_RETRY_WRITES"] = p.spec.platform.db.retry_writes ? "true" : "false";
  ed["WORKER_BATCH_SIZE"] = std::to_string(e.worker.batch_size);
  ed["WORKER_BATCH_MS"] = std::to_string(e.worker.batch_timeout.count());
  {
    std::string rate = std::to_string(e.processor.rate_limit);
    rate.erase(rate.find_last_not_of('0') + 1);
    if (!rate.empty() && rate.back() == '.') rate.pop_back();
    ed["PROCESSOR_RATE"] = rate;
  }
  ed["PROCESSOR_MAX_BODY"] = std::to_string(e.processor.max_body_bytes);
  ed["ARCHIVE_ENABLED"] = p.spec.platform.archive.enabled ? "true" : "false";

  auto kafka = require(r.objects, "edge", "StatefulSet", "platform", "kafka");
  if (!kafka) return kafka.error();
  (**kafka)["spec"]["replicas"] = e.kafka.replicas;
  // The KRaft voter list is derived from KAFKA_REPLICAS at pod start: a changed broker count
  // must restart every broker, so it is part of the pod template (a rolling restart follows).
  (**kafka)["spec"]["template"]["metadata"]["annotations"]["ca4.dev/kafka-replicas"] = std::to_string(e.kafka.replicas);
  auto worker = require(r.objects, "edge", "Deployment", "app", "metadata-worker");
  if (!worker) return worker.error();
  (**worker)["spec"]["replicas"] = e.worker.replicas;
  auto hpa = require(r.objects, "edge", "HorizontalPodAutoscaler", "app", "processor-api");
  if (!hpa) return hpa.error();
  auto& hs = (**hpa)["spec"];
  hs["minReplicas"] = e.processor.replicas;
  if (!hs.contains("maxReplicas") || !hs["maxReplicas"].is_number_integer() || hs["maxReplicas"].get<int>() < e.processor.replicas)
    hs["maxReplicas"] = e.processor.replicas;
  finishImages(p, r);
  return r;
}

Result<Rendered> renderMonitoring(const spec::Pipeline& p, std::vector<Json> manifests) {
  Rendered r;
  const auto& m = p.spec.monitoring;
  if (!m.enabled) return r;  // empty: what was applied before is pruned
  for (auto& o : manifests) {
    const std::string name = label(o, "app.kubernetes.io/name");
    if (!m.grafana && name == "grafana") continue;
    if (!m.loki && (name == "loki" || name == "promtail")) continue;
    r.objects.push_back(std::move(o));
  }
  if (Json* cfg = find(r.objects, "ConfigMap", "monitoring", "prometheus-config")) {
    if (cfg->contains("data") && (*cfg)["data"].contains("prometheus.yml") && (*cfg)["data"]["prometheus.yml"].is_string()) {
      // The first scrape_interval inside the top-level `global:` block (indented, blank and comment
      // lines belong to it); its value may be quoted or compound ("1m30s"). Spliced by position:
      // a regex_replace format "$1" + "30s" would read "$13" as a group number.
      static const std::regex re(
          R"((?:^|\n)global:[^\n]*\n(?:(?:[ \t]+[^\n]*|#[^\n]*|[ \t]*)\n)*?[ \t]+scrape_interval:[ \t]*["']?((?:[0-9]+[a-z]+)+))");
      const std::string interval = std::to_string(m.scrape_interval.count()) + "s";
      std::string text = (*cfg)["data"]["prometheus.yml"].get<std::string>();
      if (std::smatch match; std::regex_search(text, match, re)) {
        text.replace(static_cast<std::size_t>(match.position(1)), static_cast<std::size_t>(match.length(1)), interval);
        // Prometheus refuses a global scrape_timeout above scrape_interval: lower it with the interval.
        static const std::regex tre(
            R"((?:^|\n)global:[^\n]*\n(?:(?:[ \t]+[^\n]*|#[^\n]*|[ \t]*)\n)*?[ \t]+scrape_timeout:[ \t]*["']?((?:[0-9]+[a-z]+)+))");
        if (std::smatch t; std::regex_search(text, t, tre) && promDurationMs(t[1].str()) > m.scrape_interval.count() * 1000)
          text.replace(static_cast<std::size_t>(t.position(1)), static_cast<std::size_t>(t.length(1)), interval);
        (*cfg)["data"]["prometheus.yml"] = text;
      }
    }
  }
  finishImages(p, r);
  return r;
}

}  // namespace ca4::stages::kube
