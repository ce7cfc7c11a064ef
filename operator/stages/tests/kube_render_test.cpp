// The cluster stages' renderers: the spec's values put into the manifests (Secrets, ConfigMaps,
// replica counts, monitoring switches, images). Pure: specs come from YAML strings with an
// injected environment, manifests from small literals, and once from the repository's manifests/.
#include <ca4/common/base64.h>
#include <ca4/drivers/kube/objects.h>
#include <ca4/spec/load.h>
#include <ca4/stages/kube_render.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <map>
#include <optional>

namespace ca4::stages::kube {
namespace {

using Env = std::map<std::string, std::string>;
using common::base64Encode;

const Env kEnv = {{"CA4_MONGO_URI", "mongodb://user:pw@docdb:27017/?tls=true"},
                  {"AWS_ACCESS_KEY_ID", "AKIAEXAMPLE"},
                  {"AWS_SECRET_ACCESS_KEY", "sk-EXAMPLE"}};

// A kubernetes-target spec: `rest` holds the spec's other sections (indented by 2).
spec::Pipeline pipeline(const std::string& rest, const Env& env = kEnv) {
  const std::string text =
      "apiVersion: ca4.dev/v1alpha1\nkind: Pipeline\nmetadata: {name: ca4-cluster}\nspec:\n"
      "  target: kubernetes\n"
      "  cluster:\n"
      "    kubeconfig: /nonexistent/kubeconfig\n"
      "    images:\n"
      "      ca4/processor: registry.example.com:5000/ca4/processor:0.2.0\n"
      "      ca4/worker: registry.example.com:5000/ca4/worker@sha256:0123abcd\n" +
      rest;
  const auto r = spec::loadString(text, "ca4.yaml", [env](const std::string& k) -> std::optional<std::string> {
    const auto it = env.find(k);
    if (it == env.end()) return std::nullopt;
    return it->second;
  });
  std::string diags;
  for (const auto& d : r.diagnostics) diags += d.str() + "\n";
  if (!r.ok()) ADD_FAILURE() << "spec does not load:\n" << diags << text;
  return r.ok() ? *r.pipeline : spec::Pipeline{};
}

const std::string kTypical = R"(  platform:
    namespaces: [platform, app, monitoring, extra]
    db: {uri: "${CA4_MONGO_URI}", database: meta, collection: docs, retryWrites: true}
    archive:
      bucket: ca4-archive
      region: eu-west-1
      endpoint: http://minio.platform:9000
      accessKeyId: "${AWS_ACCESS_KEY_ID}"
      secretAccessKey: "${AWS_SECRET_ACCESS_KEY}"
  edge:
    kafka: {replicas: 3, replicationFactor: 2, partitions: 6, topic: gpu, dlqTopic: gpu.dlq, consumerGroup: g1}
    processor: {replicas: 4, rateLimit: 2.5, maxBodyBytes: 1048576}
    worker: {replicas: 2, batchSize: 100, batchTimeout: 1s}
  monitoring: {scrapeInterval: 30s}
)";

Json ns(const std::string& name) {
  return {{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", name}}}};
}

// The objects of kind/ns/name (pointers into `objs`).
std::vector<const Json*> findAll(const std::vector<Json>& objs, const std::string& kind, const std::string& name) {
  std::vector<const Json*> out;
  for (const auto& o : objs)
    if (o.value("kind", "") == kind && o["metadata"].value("name", "") == name) out.push_back(&o);
  return out;
}
const Json* find(const std::vector<Json>& objs, const std::string& kind, const std::string& name) {
  const auto all = findAll(objs, kind, name);
  return all.size() == 1 ? all[0] : nullptr;
}

bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

// ---- platform ----

TEST(RenderPlatform, NamespacesAndSecrets) {
  const auto p = pipeline(kTypical);
  auto r = renderPlatform(p, {ns("platform"), ns("app")}, "spec:key-1\n");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_TRUE(r->warnings.empty());

  for (const char* n : {"platform", "app", "monitoring", "extra"})
    EXPECT_EQ(findAll(r->objects, "Namespace", n).size(), 1u) << n;  // added once, never twice
  EXPECT_FALSE(find(r->objects, "Namespace", "extra")->at("metadata").at("labels").empty());

  const Json* mongo = find(r->objects, "Secret", "ca4-mongo-credentials");
  ASSERT_NE(mongo, nullptr);
  EXPECT_EQ((*mongo)["metadata"]["namespace"], "app");
  EXPECT_EQ((*mongo)["type"], "Opaque");
  EXPECT_EQ((*mongo)["data"], (Json{{"uri", base64Encode(kEnv.at("CA4_MONGO_URI"))}}));

  const Json* s3 = find(r->objects, "Secret", "ca4-s3-config");
  ASSERT_NE(s3, nullptr);
  EXPECT_EQ((*s3)["metadata"]["namespace"], "app");
  EXPECT_EQ((*s3)["data"], (Json{{"bucket", base64Encode("ca4-archive")},
                                 {"region", base64Encode("eu-west-1")},
                                 {"endpoint", base64Encode("http://minio.platform:9000")},
                                 {"access_key_id", base64Encode("AKIAEXAMPLE")},
                                 {"secret_access_key", base64Encode("sk-EXAMPLE")}}));

  const Json* keys = find(r->objects, "Secret", "ca4-edge-api-config");
  ASSERT_NE(keys, nullptr);
  EXPECT_EQ((*keys)["metadata"]["namespace"], "app");
  EXPECT_EQ((*keys)["data"], (Json{{"api-keys", base64Encode("spec:key-1\n")}}));

  // No plain secret value anywhere in the rendered objects.
  for (const auto& o : r->objects) {
    const auto text = o.dump();
    EXPECT_FALSE(contains(text, "sk-EXAMPLE")) << text;
    EXPECT_FALSE(contains(text, "user:pw")) << text;
  }
}

TEST(RenderPlatform, UnsetValuesAreLeftOut) {
  const auto p = pipeline(R"(  platform:
    archive: {bucket: b}
)");
  auto r = renderPlatform(p, {}, "k");
  ASSERT_TRUE(r.ok()) << r.error().message;
  const Json* s3 = find(r->objects, "Secret", "ca4-s3-config");
  ASSERT_NE(s3, nullptr);
  EXPECT_EQ((*s3)["data"], (Json{{"bucket", base64Encode("b")}, {"region", base64Encode("us-east-1")}}));
}

TEST(RenderPlatform, NoDbUriMeansNoMongoSecretAndAWarning) {
  const auto p = pipeline("  platform: {archive: {bucket: b}}\n", {});
  auto r = renderPlatform(p, {}, "k");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(find(r->objects, "Secret", "ca4-mongo-credentials"), nullptr);
  ASSERT_EQ(r->warnings.size(), 1u);
  EXPECT_TRUE(contains(r->warnings[0], "spec.platform.db.uri")) << r->warnings[0];
  EXPECT_TRUE(contains(r->warnings[0], "ca4-mongo-credentials")) << r->warnings[0];
  EXPECT_NE(find(r->objects, "Secret", "ca4-edge-api-config"), nullptr);
  // The default namespaces are all there.
  for (const char* n : {"platform", "app", "monitoring"}) EXPECT_NE(find(r->objects, "Namespace", n), nullptr) << n;
}

TEST(RenderPlatform, ArchiveDisabledMeansNoS3Secret) {
  const auto p = pipeline(R"(  platform:
    db: {uri: "${CA4_MONGO_URI}"}
    archive: {enabled: false, accessKeyId: "${AWS_ACCESS_KEY_ID}"}
)");
  auto r = renderPlatform(p, {}, "k");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(find(r->objects, "Secret", "ca4-s3-config"), nullptr);
  EXPECT_NE(find(r->objects, "Secret", "ca4-mongo-credentials"), nullptr);
  EXPECT_TRUE(r->warnings.empty());
}

// ---- edge ----

Json configMap(const std::string& nsName, const std::string& name, Json data) {
  return {{"apiVersion", "v1"},
          {"kind", "ConfigMap"},
          {"metadata", {{"name", name}, {"namespace", nsName}}},
          {"data", std::move(data)}};
}

Json podTemplate(const std::string& image) {
  return {{"spec", {{"containers", Json::array({{{"name", "main"}, {"image", image}}})}}}};
}

std::vector<Json> edgeManifests(int hpaMax = 5) {
  return {configMap("platform", "ca4-kafka-config", {{"KAFKA_REPLICAS", "1"}, {"KAFKA_LOG_DIRS", "/var/lib/kafka"}}),
          configMap("app", "ca4-edge-config", {{"KAFKA_BROKERS", "kafka.platform:9092"}, {"KAFKA_TOPIC", "old"}}),
          {{"apiVersion", "apps/v1"},
           {"kind", "StatefulSet"},
           {"metadata", {{"name", "kafka"}, {"namespace", "platform"}}},
           {"spec", {{"replicas", 1}, {"template", podTemplate("apache/kafka:4.1.1")}}}},
          {{"apiVersion", "apps/v1"},
           {"kind", "Deployment"},
           {"metadata", {{"name", "metadata-worker"}, {"namespace", "app"}}},
           {"spec", {{"replicas", 1}, {"template", podTemplate("ca4/worker:0.1.0")}}}},
          {{"apiVersion", "apps/v1"},
           {"kind", "Deployment"},
           {"metadata", {{"name", "processor-api"}, {"namespace", "app"}}},
           {"spec", {{"template", podTemplate("ca4/processor:0.1.0")}}}},
          {{"apiVersion", "autoscaling/v2"},
           {"kind", "HorizontalPodAutoscaler"},
           {"metadata", {{"name", "processor-api"}, {"namespace", "app"}}},
           {"spec", {{"minReplicas", 1}, {"maxReplicas", hpaMax}}}}};
}

TEST(RenderEdge, BrokerCountIsStampedOnThePodTemplate) {
  auto r = renderEdge(pipeline(kTypical), edgeManifests());
  ASSERT_TRUE(r.ok()) << r.error().message;
  const Json* sts = find(r->objects, "StatefulSet", "kafka");
  ASSERT_NE(sts, nullptr);
  EXPECT_EQ((*sts)["spec"]["template"]["metadata"]["annotations"]["ca4.dev/kafka-replicas"], "3");
}

TEST(RenderEdge, ValuesGoIntoConfigMapsAndReplicaCounts) {
  const auto p = pipeline(kTypical);
  auto r = renderEdge(p, edgeManifests());
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_EQ(r->objects.size(), 6u);

  const Json& kd = (*find(r->objects, "ConfigMap", "ca4-kafka-config"))["data"];
  EXPECT_EQ(kd, (Json{{"KAFKA_REPLICAS", "3"},
                      {"KAFKA_TOPIC", "gpu"},
                      {"KAFKA_DLQ_TOPIC", "gpu.dlq"},
                      {"KAFKA_PARTITIONS", "6"},
                      {"KAFKA_REPLICATION_FACTOR", "2"},
                      {"KAFKA_LOG_DIRS", "/var/lib/kafka"}}));  // other keys kept

  const Json& ed = (*find(r->objects, "ConfigMap", "ca4-edge-config"))["data"];
  EXPECT_EQ(ed, (Json{{"KAFKA_BROKERS", "kafka.platform:9092"},
                      {"KAFKA_TOPIC", "gpu"},
                      {"KAFKA_DLQ_TOPIC", "gpu.dlq"},
                      {"KAFKA_CONSUMER_GROUP", "g1"},
                      {"DB_NAME", "meta"},
                      {"DB_COLLECTION", "docs"},
                      {"DB_RETRY_WRITES", "true"},
                      {"WORKER_BATCH_SIZE", "100"},
                      {"WORKER_BATCH_MS", "1000"},
                      {"PROCESSOR_RATE", "2.5"},
                      {"PROCESSOR_MAX_BODY", "1048576"},
                      {"ARCHIVE_ENABLED", "true"}}));
  // Every ConfigMap value is a string (the API server rejects numbers there).
  for (const auto* d : {&kd, &ed})
    for (const auto& [k, v] : d->items()) EXPECT_TRUE(v.is_string()) << k;

  EXPECT_EQ((*find(r->objects, "StatefulSet", "kafka"))["spec"]["replicas"], 3);
  EXPECT_EQ((*find(r->objects, "Deployment", "metadata-worker"))["spec"]["replicas"], 2);
  EXPECT_FALSE((*find(r->objects, "Deployment", "processor-api"))["spec"].contains("replicas"));  // the HPA's
  const Json& hpa = (*find(r->objects, "HorizontalPodAutoscaler", "processor-api"))["spec"];
  EXPECT_EQ(hpa["minReplicas"], 4);
  EXPECT_EQ(hpa["maxReplicas"], 5);  // already above

  // Images per spec.cluster.images.
  EXPECT_EQ((*find(r->objects, "Deployment", "processor-api"))["spec"]["template"]["spec"]["containers"][0]["image"],
            "registry.example.com:5000/ca4/processor:0.2.0");
  EXPECT_EQ((*find(r->objects, "Deployment", "metadata-worker"))["spec"]["template"]["spec"]["containers"][0]["image"],
            "registry.example.com:5000/ca4/worker@sha256:0123abcd");
  EXPECT_EQ((*find(r->objects, "StatefulSet", "kafka"))["spec"]["template"]["spec"]["containers"][0]["image"],
            "apache/kafka:4.1.1");
}

TEST(RenderEdge, HpaMaxRaisedWhenBelowMin) {
  const auto p = pipeline(kTypical);  // processor.replicas 4
  auto r = renderEdge(p, edgeManifests(2));
  ASSERT_TRUE(r.ok()) << r.error().message;
  const Json& hpa = (*find(r->objects, "HorizontalPodAutoscaler", "processor-api"))["spec"];
  EXPECT_EQ(hpa["minReplicas"], 4);
  EXPECT_EQ(hpa["maxReplicas"], 4);

  auto noMax = edgeManifests();
  noMax.back()["spec"].erase("maxReplicas");
  auto r2 = renderEdge(p, noMax);
  ASSERT_TRUE(r2.ok()) << r2.error().message;
  EXPECT_EQ((*find(r2->objects, "HorizontalPodAutoscaler", "processor-api"))["spec"]["maxReplicas"], 4);
}

TEST(RenderEdge, DefaultsAndRateFormatting) {
  const auto p = pipeline("  platform: {archive: {enabled: false}}\n  edge: {processor: {rateLimit: 100}}\n", {});
  auto r = renderEdge(p, edgeManifests());
  ASSERT_TRUE(r.ok()) << r.error().message;
  const Json& ed = (*find(r->objects, "ConfigMap", "ca4-edge-config"))["data"];
  EXPECT_EQ(ed["PROCESSOR_RATE"], "100");
  EXPECT_EQ(ed["ARCHIVE_ENABLED"], "false");
  EXPECT_EQ(ed["DB_RETRY_WRITES"], "false");
  EXPECT_EQ(ed["WORKER_BATCH_MS"], "200");
  EXPECT_EQ(ed["KAFKA_TOPIC"], "gpu-metadata");

  for (const char* rate : {"0.5", "10", "1000", "12.25"}) {
    const auto q = pipeline(std::string("  edge: {processor: {rateLimit: ") + rate + "}}\n", {});
    auto rr = renderEdge(q, edgeManifests());
    ASSERT_TRUE(rr.ok()) << rr.error().message;
    EXPECT_EQ((*find(rr->objects, "ConfigMap", "ca4-edge-config"))["data"]["PROCESSOR_RATE"], rate);
  }
}

TEST(RenderEdge, MissingObjectIsAnErrorNamingIt) {
  const auto p = pipeline(kTypical);
  struct Case {
    std::size_t drop;
    const char* named;
  };
  for (const Case c : {Case{0, "ConfigMap platform/ca4-kafka-config"}, Case{1, "ConfigMap app/ca4-edge-config"},
                       Case{2, "StatefulSet platform/kafka"}, Case{3, "Deployment app/metadata-worker"},
                       Case{5, "HorizontalPodAutoscaler app/processor-api"}}) {
    auto m = edgeManifests();
    m.erase(m.begin() + static_cast<long>(c.drop));
    auto r = renderEdge(p, std::move(m));
    ASSERT_FALSE(r.ok()) << c.named;
    EXPECT_FALSE(r.error().isRetryable());
    EXPECT_TRUE(contains(r.error().message, c.named)) << r.error().message;
    EXPECT_TRUE(contains(r.error().message, "manifests/edge")) << r.error().message;
    EXPECT_FALSE(r.error().fix.empty());
  }
  // The right name in the wrong namespace does not count.
  auto m = edgeManifests();
  m[1]["metadata"]["namespace"] = "platform";
  EXPECT_FALSE(renderEdge(p, std::move(m)).ok());
}

// ---- monitoring ----

Json labelled(const std::string& kind, const std::string& name, const std::string& app) {
  return {{"apiVersion", "v1"},
          {"kind", kind},
          {"metadata", {{"name", name}, {"namespace", "monitoring"}, {"labels", {{"app.kubernetes.io/name", app}}}}}};
}

const char* kPromYml = R"(# Prometheus
global:
  scrape_interval: 15s
  scrape_timeout: 10s
  external_labels:
    cluster: ca4

scrape_configs:
  - job_name: slow
    scrape_interval: 60s
    static_configs:
      - targets: ["localhost:9090"]
)";

std::vector<Json> monitoringManifests(const std::string& prom = kPromYml) {
  Json cfg = configMap("monitoring", "prometheus-config", {{"prometheus.yml", prom}});
  cfg["metadata"]["labels"] = {{"app.kubernetes.io/name", "prometheus"}};
  return {labelled("Deployment", "prometheus", "prometheus"), cfg,
          labelled("Deployment", "grafana", "grafana"),       labelled("ConfigMap", "grafana-dashboards", "grafana"),
          labelled("StatefulSet", "loki", "loki"),            labelled("DaemonSet", "promtail", "promtail"),
          labelled("ClusterRole", "ca4-promtail", "promtail")};
}

std::vector<std::string> names(const std::vector<Json>& objs) {
  std::vector<std::string> out;
  for (const auto& o : objs) out.push_back(o["metadata"].value("name", ""));
  return out;
}

TEST(RenderMonitoring, DisabledRendersNothing) {
  const auto p = pipeline("  monitoring: {enabled: false}\n", {});
  auto r = renderMonitoring(p, monitoringManifests());
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_TRUE(r->objects.empty());
}

TEST(RenderMonitoring, GrafanaAndLokiSwitches) {
  auto all = renderMonitoring(pipeline("", {}), monitoringManifests());
  ASSERT_TRUE(all.ok()) << all.error().message;
  EXPECT_EQ(all->objects.size(), 7u);

  auto noGrafana = renderMonitoring(pipeline("  monitoring: {grafana: false}\n", {}), monitoringManifests());
  ASSERT_TRUE(noGrafana.ok()) << noGrafana.error().message;
  EXPECT_EQ(names(noGrafana->objects), (std::vector<std::string>{"prometheus", "prometheus-config", "loki",
                                                                  "promtail", "ca4-promtail"}));

  auto noLoki = renderMonitoring(pipeline("  monitoring: {loki: false}\n", {}), monitoringManifests());
  ASSERT_TRUE(noLoki.ok()) << noLoki.error().message;
  EXPECT_EQ(names(noLoki->objects),
            (std::vector<std::string>{"prometheus", "prometheus-config", "grafana", "grafana-dashboards"}));

  auto neither = renderMonitoring(pipeline("  monitoring: {loki: false, grafana: false}\n", {}), monitoringManifests());
  ASSERT_TRUE(neither.ok()) << neither.error().message;
  EXPECT_EQ(names(neither->objects), (std::vector<std::string>{"prometheus", "prometheus-config"}));
}

std::string promYml(const Rendered& r) {
  const Json* cfg = find(r.objects, "ConfigMap", "prometheus-config");
  return cfg ? (*cfg)["data"]["prometheus.yml"].get<std::string>() : std::string("<none>");
}

TEST(RenderMonitoring, GlobalScrapeIntervalOnly) {
  auto r = renderMonitoring(pipeline(kTypical), monitoringManifests());  // 30s
  ASSERT_TRUE(r.ok()) << r.error().message;
  std::string want = kPromYml;
  want.replace(want.find("scrape_interval: 15s"), 20, "scrape_interval: 30s");
  EXPECT_EQ(promYml(*r), want);  // the job's own 60s untouched
}

TEST(RenderMonitoring, GlobalScrapeIntervalAfterNestedBlock) {
  const std::string prom = "global:\n  external_labels:\n    cluster: ca4\n  scrape_interval: 15s\n"
                           "scrape_configs:\n  - job_name: x\n    scrape_interval: 60s\n";
  auto r = renderMonitoring(pipeline("  monitoring: {scrapeInterval: 1m}\n", {}), monitoringManifests(prom));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(promYml(*r), "global:\n  external_labels:\n    cluster: ca4\n  scrape_interval: 60s\n"
                         "scrape_configs:\n  - job_name: x\n    scrape_interval: 60s\n");
}

// Prometheus refuses scrape_timeout > scrape_interval (found by promtool in the kube integration
// test: the spec's default 5s against the manifest's 10s timeout).
TEST(RenderMonitoring, GlobalScrapeTimeoutLoweredToAShorterInterval) {
  const std::string prom = "global:\n  scrape_interval: 15s\n  scrape_timeout: 10s\nscrape_configs: []\n";
  auto shorter = renderMonitoring(pipeline("  monitoring: {scrapeInterval: 5s}\n", {}), monitoringManifests(prom));
  ASSERT_TRUE(shorter.ok()) << shorter.error().message;
  EXPECT_EQ(promYml(*shorter), "global:\n  scrape_interval: 5s\n  scrape_timeout: 5s\nscrape_configs: []\n");
  auto longer = renderMonitoring(pipeline("  monitoring: {scrapeInterval: 1m}\n", {}), monitoringManifests(prom));
  ASSERT_TRUE(longer.ok()) << longer.error().message;
  EXPECT_EQ(promYml(*longer), "global:\n  scrape_interval: 60s\n  scrape_timeout: 10s\nscrape_configs: []\n");
}

TEST(RenderMonitoring, NoGlobalScrapeIntervalLeavesJobsAlone) {
  const std::string prom = "global:\n  evaluation_interval: 15s\n"
                           "scrape_configs:\n  - job_name: x\n    scrape_interval: 60s\n";
  auto r = renderMonitoring(pipeline("", {}), monitoringManifests(prom));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(promYml(*r), prom);
}

TEST(RenderMonitoring, GlobalScrapeIntervalWithBlankLineCommentOrCompoundValue) {
  const auto p = pipeline("  monitoring: {scrapeInterval: 20s}\n", {});
  const std::vector<std::pair<std::string, std::string>> cases = {
      // a blank line and a comment inside the global block
      {"global:\n  scrape_timeout: 10s\n\n# how often\n  scrape_interval: 15s\nscrape_configs: []\n",
       "global:\n  scrape_timeout: 10s\n\n# how often\n  scrape_interval: 20s\nscrape_configs: []\n"},
      // a compound duration is replaced whole
      {"global:\n  scrape_interval: 1m30s\n", "global:\n  scrape_interval: 20s\n"},
      // a quoted value keeps its quotes
      {"global:\n  scrape_interval: \"15s\"\n", "global:\n  scrape_interval: \"20s\"\n"},
  };
  for (const auto& [in, want] : cases) {
    auto r = renderMonitoring(p, monitoringManifests(in));
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ(promYml(*r), want) << in;
  }
}

// ---- images ----

TEST(Images, ImageName) {
  EXPECT_EQ(imageName("nginx"), "nginx");
  EXPECT_EQ(imageName("nginx:1.27"), "nginx");
  EXPECT_EQ(imageName("ca4/processor:0.1.0"), "ca4/processor");
  EXPECT_EQ(imageName("registry:5000/ca4/processor:0.1"), "registry:5000/ca4/processor");
  EXPECT_EQ(imageName("registry:5000/ca4/processor"), "registry:5000/ca4/processor");
  EXPECT_EQ(imageName("ca4/worker@sha256:0123abcd"), "ca4/worker");
  EXPECT_EQ(imageName("ca4/worker:0.1@sha256:0123abcd"), "ca4/worker");
  EXPECT_EQ(imageName("localhost:5000/w@sha256:0123abcd"), "localhost:5000/w");
  EXPECT_EQ(imageName(""), "");
}

TEST(Images, SetImagesInEveryPodTemplate) {
  const std::map<std::string, std::string> images = {{"ca4/processor", "r.example/ca4/processor:1"},
                                                     {"registry:5000/ca4/worker", "registry:5000/ca4/worker:2"},
                                                     {"busybox", "busybox@sha256:feed"}};
  const Json containers = Json::array({{{"name", "a"}, {"image", "ca4/processor:0.1.0"}},
                                       {{"name", "b"}, {"image", "registry:5000/ca4/worker:0.1"}},
                                       {{"name", "c"}, {"image", "apache/kafka:4.1.1"}},
                                       {{"name", "d"}}});
  const Json init = Json::array({{{"name", "i"}, {"image", "busybox:1.36"}}});
  const Json podSpec = {{"containers", containers}, {"initContainers", init}};
  std::vector<Json> objs = {
      {{"kind", "Deployment"}, {"spec", {{"template", {{"spec", podSpec}}}}}},
      {{"kind", "StatefulSet"}, {"spec", {{"template", {{"spec", podSpec}}}}}},
      {{"kind", "DaemonSet"}, {"spec", {{"template", {{"spec", podSpec}}}}}},
      {{"kind", "Job"}, {"spec", {{"template", {{"spec", podSpec}}}}}},
      {{"kind", "CronJob"}, {"spec", {{"jobTemplate", {{"spec", {{"template", {{"spec", podSpec}}}}}}}}}},
      {{"kind", "Pod"}, {"spec", podSpec}},
      {{"kind", "ConfigMap"}, {"data", {{"image", "ca4/processor:0.1.0"}}}},
      {{"kind", "CronJob"}, {"spec", {{"schedule", "* * * * *"}}}},
  };
  setImages(objs, images);
  for (std::size_t i = 0; i < 6; ++i) {
    const Json& ps = i == 4 ? objs[i]["spec"]["jobTemplate"]["spec"]["template"]["spec"]
                     : i == 5 ? objs[i]["spec"]
                              : objs[i]["spec"]["template"]["spec"];
    EXPECT_EQ(ps["containers"][0]["image"], "r.example/ca4/processor:1") << i;
    EXPECT_EQ(ps["containers"][1]["image"], "registry:5000/ca4/worker:2") << i;
    EXPECT_EQ(ps["containers"][2]["image"], "apache/kafka:4.1.1") << i;
    EXPECT_FALSE(ps["containers"][3].contains("image")) << i;
    EXPECT_EQ(ps["initContainers"][0]["image"], "busybox@sha256:feed") << i;
  }
  EXPECT_EQ(objs[6]["data"]["image"], "ca4/processor:0.1.0");  // not a pod template

  // No overrides: nothing changes.
  std::vector<Json> same = {{{"kind", "Pod"}, {"spec", podSpec}}};
  setImages(same, {});
  EXPECT_EQ(same[0]["spec"], podSpec);
}

// ---- the repository's manifests ----

std::string sourceDir() {
  if (const char* d = std::getenv("CA4_SOURCE_DIR"); d && *d) return d;
  return CA4_SOURCE_DIR;
}

TEST(RenderRealManifests, AllSetsRender) {
  const auto p = pipeline(kTypical);
  const std::string root = sourceDir() + "/manifests/";

  auto platform = drivers::kube::loadKustomization(root + "platform");
  ASSERT_TRUE(platform.ok()) << platform.error().message;
  auto rp = renderPlatform(p, std::move(*platform), "spec:k\n");
  ASSERT_TRUE(rp.ok()) << rp.error().message;
  EXPECT_GT(rp->objects.size(), 0u);
  EXPECT_TRUE(rp->warnings.empty());
  EXPECT_EQ(findAll(rp->objects, "Namespace", "app").size(), 1u);
  EXPECT_NE(find(rp->objects, "Namespace", "extra"), nullptr);

  auto edge = drivers::kube::loadKustomization(root + "edge");
  ASSERT_TRUE(edge.ok()) << edge.error().message;
  const auto edgeCount = edge->size();
  auto re = renderEdge(p, std::move(*edge));
  ASSERT_TRUE(re.ok()) << re.error().message;
  EXPECT_GT(re->objects.size(), 0u);
  EXPECT_EQ(re->objects.size(), edgeCount);
  EXPECT_EQ((*find(re->objects, "StatefulSet", "kafka"))["spec"]["replicas"], 3);
  EXPECT_EQ((*find(re->objects, "HorizontalPodAutoscaler", "processor-api"))["spec"]["minReplicas"], 4);
  EXPECT_EQ((*find(re->objects, "Deployment", "processor-api"))["spec"]["template"]["spec"]["containers"][0]["image"],
            "registry.example.com:5000/ca4/processor:0.2.0");
  for (const auto& o : re->objects)
    EXPECT_EQ(o["metadata"]["labels"]["app.kubernetes.io/part-of"], "ca4") << o["metadata"]["name"];

  auto monitoring = drivers::kube::loadKustomization(root + "monitoring");
  ASSERT_TRUE(monitoring.ok()) << monitoring.error().message;
  const auto monCount = monitoring->size();
  auto rm = renderMonitoring(p, *monitoring);
  ASSERT_TRUE(rm.ok()) << rm.error().message;
  EXPECT_EQ(rm->objects.size(), monCount);
  EXPECT_TRUE(contains(promYml(*rm), "global:\n  scrape_interval: 30s\n")) << promYml(*rm);

  // Without grafana and loki, nothing of theirs is left (every object of theirs is labelled).
  const auto slim = pipeline("  monitoring: {grafana: false, loki: false}\n", {});
  auto rs = renderMonitoring(slim, std::move(*monitoring));
  ASSERT_TRUE(rs.ok()) << rs.error().message;
  EXPECT_GT(rs->objects.size(), 0u);
  EXPECT_LT(rs->objects.size(), monCount);
  for (const auto& o : rs->objects) {
    const std::string name = o["metadata"].value("name", "");
    for (const char* gone : {"grafana", "loki", "promtail"})
      EXPECT_FALSE(contains(name, gone)) << name;
  }
  EXPECT_NE(find(rs->objects, "Deployment", "prometheus"), nullptr);
}

}  // namespace
}  // namespace ca4::stages::kube
