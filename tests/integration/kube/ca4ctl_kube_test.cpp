// The Kubernetes issue's acceptance tests, on a real control plane (kube-apiserver + etcd +
// controller-manager + scheduler + KWOK fake nodes, tests/testbed/control-plane.sh), driving
// the real ca4ctl binary with target kubernetes and the repository's manifests/:
//   apply everything → every object exists (checked against `kubectl kustomize`, an independent
//   renderer), workloads Ready on KWOK nodes → apply again: zero changes and no resourceVersion
//   moves → drift (deleted Deployment, hand-edited ConfigMap) shown by plan (exit 2) and repaired
//   by up → a removed manifest is pruned, a protected object is kept → a conflict with another
//   field manager fails clearly, forceConflicts applies → an invalid manifest fails with the
//   server's field path and nothing of that set changes → secrets never appear in any output
//   or in state → down deletes the workloads.
// kubectl (Debian's) is the independent observer; ca4ctl never calls it.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <regex>
#include <set>
#include <sstream>

#include "ca4/testsupport/net.hpp"
#include "ca4/testsupport/shell.hpp"

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

using ca4::testsupport::slurp;
using ca4::testsupport::spit;
using Cmd = ca4::testsupport::ShellResult;
std::string quote(const std::string& s) { return ca4::testsupport::shq(s); }

class KubeTarget : public ::testing::Test {
 protected:
  static inline std::unique_ptr<ca4::testsupport::TempDir> dir_;
  static inline std::string mongo_password_, api_key_;
  static inline std::vector<std::string> all_output_;
  static inline bool plane_up_ = false;

  static fs::path dir() { return dir_->path(); }
  static fs::path cp() { return dir() / "cp"; }
  static std::string source() { return ca4::testsupport::sourceDir().string(); }
  static std::string bin() { return ca4::testsupport::binDir().string(); }
  static std::string kubeconfig() { return (cp() / "kubeconfig").string(); }

  static Cmd sh(const std::string& cmd, bool record = false) {
    auto r = ca4::testsupport::runShell(cmd, dir());
    if (record) all_output_.push_back(r.out + r.err);
    return r;
  }
  // ca4ctl in the spec's directory, with the secrets in its environment.
  static Cmd ca4ctl(const std::vector<std::string>& args, const std::string& spec = "ca4.yaml",
                    const std::string& apiKey = "") {
    std::string cmd = "cd " + quote(dir().string()) + " && CA4_IT_MONGO_URI=" +
                      quote("mongodb://ca4:" + mongo_password_ + "@docdb.internal:27017/ca4") +
                      " CA4_IT_API_KEY=" + quote(apiKey.empty() ? api_key_ : apiKey) + " " + quote(bin() + "/ca4ctl") +
                      " -f " + quote(spec);
    for (const auto& a : args) cmd += " " + quote(a);
    auto r = sh(cmd, true);
    std::fprintf(stderr, "[ca4ctl %s] rc=%d %.2fs\n%s%s", args.empty() ? "" : args.back().c_str(), r.rc, r.seconds,
                 r.out.c_str(), r.err.c_str());
    return r;
  }
  static Cmd kubectl(const std::string& args) {
    return sh("kubectl --kubeconfig " + quote(kubeconfig()) + " " + args);
  }
  static json kget(const std::string& args) {
    auto r = kubectl("get " + args + " -o json");
    if (r.rc != 0) return json();
    return json::parse(r.out, nullptr, false);
  }
  static std::vector<json> jsonLines(const std::string& out) {
    std::vector<json> v;
    std::istringstream in(out);
    for (std::string line; std::getline(in, line);) {
      if (line.empty()) continue;
      json j = json::parse(line, nullptr, false);
      EXPECT_FALSE(j.is_discarded()) << "not a JSON line: " << line;
      v.push_back(j);
    }
    return v;
  }
  static std::set<std::string> changedObjects(const std::string& out) {
    std::set<std::string> s;
    for (const auto& e : jsonLines(out))
      if (e.value("type", "") == "stage.change") s.insert(e.value("action", "") + " " + e.value("object", ""));
    return s;
  }

  static std::string spec(const std::string& manifests, bool force = false) {
    return "apiVersion: ca4.dev/v1alpha1\n"
           "kind: Pipeline\n"
           "metadata: {name: ca4-kube-it}\n"
           "spec:\n"
           "  target: kubernetes\n"
           "  cluster:\n"
           "    kubeconfig: " + kubeconfig() + "\n"
           "    context: ca4\n"
           "    manifests: " + manifests + "\n"
           "    readyTimeout: 120s\n" +
           (force ? "    forceConflicts: true\n" : "") +
           "  platform:\n"
           "    db: {uri: \"${CA4_IT_MONGO_URI}\"}\n"
           "    archive: {bucket: ca4-it-archive, endpoint: \"http://s3.internal:9000\"}\n"
           "  edge:\n"
           "    kafka: {partitions: 4}\n"
           "    processor: {apiKey: \"${CA4_IT_API_KEY}\", replicas: 2}\n"
           "    worker: {replicas: 2}\n";
  }

  static void SetUpTestSuite() {
    dir_ = std::make_unique<ca4::testsupport::TempDir>("ca4-kube-it");
    std::mt19937_64 rng(std::random_device{}());
    mongo_password_ = "pw" + std::to_string(rng());
    api_key_ = "key" + std::to_string(rng()) + std::to_string(rng());
    // etcd takes E and E+1: find a free pair
    int port = ca4::testsupport::freeLoopbackPort(), etcd = 0;
    for (int i = 0; i < 50 && etcd == 0; ++i) {
      const int e = ca4::testsupport::freeLoopbackPort();
      if (e != port && e + 1 != port &&
          !ca4::testsupport::waitForTcp("127.0.0.1", e + 1, std::chrono::milliseconds(1)))
        etcd = e;
    }
    auto up = sh(quote(source() + "/tests/testbed/control-plane.sh") + " up --data-dir " + quote(cp().string()) +
                 " --port " + std::to_string(port) + " --etcd-port " + std::to_string(etcd) + " --nodes 2");
    std::fprintf(stderr, "%s%s", up.out.c_str(), up.err.c_str());
    ASSERT_EQ(up.rc, 0) << "control plane did not start (install it: tests/testbed/install-control-plane.sh)\n"
                        << up.err;
    plane_up_ = true;
    spit(dir() / "ca4.yaml", spec(source() + "/manifests"));
  }
  static void TearDownTestSuite() {
    if (plane_up_) sh(quote(source() + "/tests/testbed/control-plane.sh") + " down --data-dir " + quote(cp().string()));
    dir_.reset();
  }

  // Every object of a set, as `kubectl kustomize` renders it: "Kind/ns/name".
  static std::vector<std::string> kustomized(const std::string& set) {
    auto r = sh("kubectl kustomize " + quote(source() + "/manifests/" + set) + " | python3 -c " +
                quote("import sys,yaml\nfor d in yaml.safe_load_all(sys.stdin):\n  m=d['metadata']\n  print(d['kind']+'/'+(m.get('namespace','')+'/' if m.get('namespace') else '')+m['name'])"));
    EXPECT_EQ(r.rc, 0) << r.err;
    std::vector<std::string> out;
    std::istringstream in(r.out);
    for (std::string l; std::getline(in, l);)
      if (!l.empty()) out.push_back(l);
    return out;
  }
  // resourceVersion of every object ca4 owns: "Kind/ns/name" → rv
  static std::map<std::string, std::string> versions() {
    std::map<std::string, std::string> rv;
    for (const char* kinds : {"namespaces,clusterroles,clusterrolebindings",
                              "configmaps,secrets,services,serviceaccounts,deployments,statefulsets,daemonsets,jobs,"
                              "horizontalpodautoscalers"}) {
      const bool cluster = std::string(kinds).rfind("namespaces", 0) == 0;
      json list = kget(std::string(kinds) + (cluster ? "" : " -A"));
      if (!list.contains("items")) continue;
      for (const auto& o : list["items"]) {
        const auto& m = o["metadata"];
        const std::string ns = m.value("namespace", "");
        if (!cluster && ns != "app" && ns != "platform" && ns != "monitoring") continue;
        rv[o.value("kind", "") + "/" + (ns.empty() ? "" : ns + "/") + m.value("name", "")] = m.value("resourceVersion", "");
      }
    }
    return rv;
  }
};

}  // namespace

TEST_F(KubeTarget, A_ApplyEverythingReady) {
  auto up = ca4ctl({"-o", "json", "up"});
  ASSERT_EQ(up.rc, 0) << up.out << up.err;
  const auto events = jsonLines(up.out);
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.back().value("type", ""), "run.done");

  // every object kubectl's own kustomize renders exists, plus the three Secrets
  int count = 0;
  for (const char* set : {"platform", "edge", "monitoring"}) {
    for (const auto& ref : kustomized(set)) {
      const auto kind = ref.substr(0, ref.find('/'));
      auto rest = ref.substr(kind.size() + 1);
      const auto slash = rest.find('/');
      const std::string args = slash == std::string::npos ? kind + " " + rest
                                                          : kind + " -n " + rest.substr(0, slash) + " " + rest.substr(slash + 1);
      EXPECT_EQ(kubectl("get " + args).rc, 0) << ref << " missing";
      ++count;
    }
  }
  std::fprintf(stderr, "%d objects from the manifests\n", count);
  EXPECT_GE(count, 30);
  for (const char* s : {"ca4-mongo-credentials", "ca4-s3-config", "ca4-edge-api-config"})
    EXPECT_EQ(kubectl(std::string("get secret -n app ") + s).rc, 0) << s;

  // workloads rolled out on the KWOK nodes
  // (processor-api has no spec.replicas: its HPA owns the count; the testbed has no metrics API)
  for (const auto& [ns, name, want] : std::vector<std::tuple<std::string, std::string, int>>{
           {"app", "processor-api", 0}, {"app", "metadata-worker", 2}, {"monitoring", "prometheus", 1}, {"monitoring", "grafana", 1}}) {
    json d = kget("deployment -n " + ns + " " + name);
    ASSERT_TRUE(d.contains("status")) << name;
    const int replicas = d["spec"].value("replicas", 1);
    if (want > 0) {
      EXPECT_EQ(replicas, want) << name;
    }
    EXPECT_GE(replicas, 1) << name;
    EXPECT_EQ(d["status"].value("readyReplicas", 0), replicas) << name;
    EXPECT_EQ(d["status"].value("updatedReplicas", 0), replicas) << name;
  }
  EXPECT_EQ(kget("statefulset -n platform kafka")["status"].value("readyReplicas", 0), 1);
  EXPECT_EQ(kget("statefulset -n monitoring loki")["status"].value("readyReplicas", 0), 1);
  json ds = kget("daemonset -n monitoring promtail");
  EXPECT_EQ(ds["status"].value("numberReady", -1), ds["status"].value("desiredNumberScheduled", -2));
  EXPECT_EQ(ds["status"].value("desiredNumberScheduled", 0), 2) << "one per fake node";
  json job = kget("job -n platform kafka-topics");
  EXPECT_EQ(job["status"].value("succeeded", 0), 1);
  // the spec's values reached the cluster
  json cm = kget("configmap -n platform ca4-kafka-config");
  EXPECT_EQ(cm["data"].value("KAFKA_PARTITIONS", ""), "4");
  EXPECT_EQ(kget("hpa -n app processor-api")["spec"].value("minReplicas", 0), 2);
  // the Prometheus config as rendered into the cluster (spec scrape interval put in) is valid
  json prom = kget("configmap -n monitoring prometheus-config");
  ASSERT_TRUE(prom.contains("data")) << "prometheus-config missing";
  spit(dir() / "prometheus.yml", prom["data"].value("prometheus.yml", ""));
  auto check = sh("promtool check config " + quote((dir() / "prometheus.yml").string()));
  EXPECT_EQ(check.rc, 0) << "promtool on the applied prometheus.yml:\n" << check.out << check.err;
  // the applier is ca4ctl's field manager
  json dep = kget("deployment -n app processor-api --show-managed-fields");
  bool managed = false;
  for (const auto& m : dep["metadata"]["managedFields"])
    if (m.value("manager", "") == "ca4ctl" && m.value("operation", "") == "Apply") managed = true;
  EXPECT_TRUE(managed);
}

TEST_F(KubeTarget, B_ApplyAgainChangesNothing) {
  const auto before = versions();
  ASSERT_GE(before.size(), 30u);
  auto again = ca4ctl({"-o", "json", "up"});
  ASSERT_EQ(again.rc, 0) << again.out;
  EXPECT_TRUE(changedObjects(again.out).empty()) << again.out;
  EXPECT_NE(again.out.find("\"changes\":0"), std::string::npos) << again.out;
  const auto after = versions();
  EXPECT_EQ(before, after) << "a converged up must not write any object";
  std::fprintf(stderr, "converged re-run: %.3f s, %zu objects unchanged\n", again.seconds, after.size());
  EXPECT_EQ(ca4ctl({"plan"}).rc, 0);
}

TEST_F(KubeTarget, C_DriftShownByPlanRepairedByUp) {
  ASSERT_EQ(kubectl("delete deployment -n app processor-api --wait=true").rc, 0);
  ASSERT_EQ(kubectl("patch configmap -n app ca4-edge-config --type merge -p '{\"data\":{\"KAFKA_TOPIC\":\"tampered\"}}'").rc, 0);
  auto plan = ca4ctl({"-o", "json", "plan"});
  EXPECT_EQ(plan.rc, 2) << plan.out;
  const auto changed = changedObjects(plan.out);
  EXPECT_TRUE(changed.count("create Deployment/app/processor-api")) << plan.out;
  EXPECT_TRUE(changed.count("update ConfigMap/app/ca4-edge-config")) << plan.out;
  EXPECT_NE(plan.out.find("KAFKA_TOPIC"), std::string::npos) << "the plan shows the field: " << plan.out;
  EXPECT_NE(plan.out.find("tampered"), std::string::npos);

  auto up = ca4ctl({"up"});
  ASSERT_EQ(up.rc, 0) << up.out << up.err;
  EXPECT_EQ(kget("configmap -n app ca4-edge-config")["data"].value("KAFKA_TOPIC", ""), "gpu-metadata");
  json dep = kget("deployment -n app processor-api");
  EXPECT_GE(dep["status"].value("readyReplicas", 0), 1);
  EXPECT_EQ(dep["status"].value("readyReplicas", 0), dep["spec"].value("replicas", -1));
  EXPECT_EQ(ca4ctl({"plan"}).rc, 0) << "converged after the repair";
}

TEST_F(KubeTarget, D_RemovedManifestPrunedProtectedKept) {
  // a copy of the manifests without Grafana; its Service is protected by annotation first
  const auto copy = dir() / "manifests-pruned";
  fs::copy(source() + "/manifests", copy, fs::copy_options::recursive);
  auto k = slurp(copy / "monitoring/kustomization.yaml");
  const auto at = k.find("  - grafana/grafana.yaml\n");
  ASSERT_NE(at, std::string::npos) << k;
  k.erase(at, std::string("  - grafana/grafana.yaml\n").size());
  spit(copy / "monitoring/kustomization.yaml", k);
  spit(dir() / "pruned.yaml", spec(copy.string()));
  ASSERT_EQ(kubectl("annotate service -n monitoring grafana ca4.dev/prune=disabled").rc, 0);

  auto plan = ca4ctl({"-o", "json", "plan"}, "pruned.yaml");
  EXPECT_EQ(plan.rc, 2);
  EXPECT_TRUE(changedObjects(plan.out).count("delete Deployment/monitoring/grafana")) << plan.out;
  EXPECT_FALSE(changedObjects(plan.out).count("delete Service/monitoring/grafana")) << plan.out;
  auto up = ca4ctl({"up"}, "pruned.yaml");
  ASSERT_EQ(up.rc, 0) << up.out << up.err;
  EXPECT_NE(kubectl("get deployment -n monitoring grafana").rc, 0) << "pruned";
  EXPECT_EQ(kubectl("get service -n monitoring grafana").rc, 0) << "protected: kept";
  EXPECT_NE(up.out.find("kept"), std::string::npos) << up.out;
  // back to the full set: grafana returns
  ASSERT_EQ(kubectl("annotate service -n monitoring grafana ca4.dev/prune-").rc, 0);
  ASSERT_EQ(ca4ctl({"up"}).rc, 0);
  EXPECT_EQ(kubectl("get deployment -n monitoring grafana").rc, 0);
}

TEST_F(KubeTarget, E_ConflictWithAnotherManagerThenForce) {
  // another team's controller takes a field ca4ctl manages (server-side apply, its own manager)
  spit(dir() / "other.yaml",
       "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ca4-edge-config, namespace: app}\n"
       "data: {WORKER_BATCH_SIZE: \"7\"}\n");
  ASSERT_EQ(kubectl("apply --server-side --force-conflicts --field-manager=other-team -f " + quote((dir() / "other.yaml").string())).rc, 0);
  const auto rvBefore = versions();
  auto up = ca4ctl({"up"});
  EXPECT_EQ(up.rc, 1) << up.out;
  const std::string all = up.out + up.err;
  EXPECT_NE(all.find("other-team"), std::string::npos) << all;
  EXPECT_NE(all.find(".data.WORKER_BATCH_SIZE"), std::string::npos) << all;
  EXPECT_NE(all.find("forceConflicts"), std::string::npos) << "the fix is named: " << all;
  EXPECT_EQ(versions(), rvBefore) << "nothing applied";
  EXPECT_EQ(kget("configmap -n app ca4-edge-config")["data"].value("WORKER_BATCH_SIZE", ""), "7");

  spit(dir() / "force.yaml", spec(source() + "/manifests", true));
  auto forced = ca4ctl({"up"}, "force.yaml");
  ASSERT_EQ(forced.rc, 0) << forced.out << forced.err;
  EXPECT_EQ(kget("configmap -n app ca4-edge-config")["data"].value("WORKER_BATCH_SIZE", ""), "500");
  EXPECT_EQ(ca4ctl({"plan"}).rc, 0);
}

TEST_F(KubeTarget, F_InvalidManifestNamesFieldAndAppliesNothing) {
  const auto copy = dir() / "manifests-invalid";
  fs::copy(source() + "/manifests", copy, fs::copy_options::recursive);
  // one invalid object (port out of range) and one valid change in the same set
  auto p = slurp(copy / "edge/processor-api.yaml");
  const std::regex port(R"(port: 8080)");
  ASSERT_TRUE(std::regex_search(p, port)) << p;
  p = std::regex_replace(p, port, "port: 99999", std::regex_constants::format_first_only);
  spit(copy / "edge/processor-api.yaml", p);
  spit(dir() / "invalid.yaml", std::regex_replace(spec(copy.string()), std::regex("partitions: 4"), "partitions: 6"));
  const auto rvBefore = versions();
  auto up = ca4ctl({"up"}, "invalid.yaml");
  EXPECT_EQ(up.rc, 1) << up.out;
  const std::string all = up.out + up.err;
  EXPECT_NE(all.find("99999"), std::string::npos) << all;
  EXPECT_NE(all.find("spec.ports[0].port"), std::string::npos) << "the server's field path: " << all;
  EXPECT_EQ(kget("configmap -n platform ca4-kafka-config")["data"].value("KAFKA_PARTITIONS", ""), "4")
      << "the valid change of the same set was not applied";
  EXPECT_EQ(versions(), rvBefore);
}

TEST_F(KubeTarget, G_SecretsNeverInOutputOrState) {
  auto st = ca4ctl({"-o", "json", "status"});
  EXPECT_EQ(st.rc, 0) << st.out;
  ca4ctl({"plan", "--show-spec"});
  // a changed secret value is planned as an update whose diff hides both values
  const std::string rotated = api_key_ + "rotated";
  auto plan = ca4ctl({"-o", "json", "plan"}, "ca4.yaml", rotated);
  EXPECT_EQ(plan.rc, 2) << plan.out;
  EXPECT_TRUE(changedObjects(plan.out).count("update Secret/app/ca4-edge-api-config")) << plan.out;
  EXPECT_NE(plan.out.find("(sensitive)"), std::string::npos) << plan.out;
  EXPECT_EQ(plan.out.find(rotated), std::string::npos);
  // the Secret really holds the values ...
  json s = kget("secret -n app ca4-edge-api-config");
  ASSERT_TRUE(s.contains("data"));
  // ... and ca4ctl never printed or stored them
  const std::string state = slurp(dir() / ".ca4/state.json");
  ASSERT_FALSE(state.empty());
  for (const auto& secret : {mongo_password_, api_key_, rotated}) {
    EXPECT_EQ(state.find(secret), std::string::npos) << "secret in state.json";
    for (const auto& o : all_output_) EXPECT_EQ(o.find(secret), std::string::npos) << "secret in output:\n" << o;
  }
}

TEST_F(KubeTarget, H_DownDeletesWorkloadsKeepsNamespaces) {
  auto down = ca4ctl({"down"});
  ASSERT_EQ(down.rc, 0) << down.out << down.err;
  EXPECT_NE(kubectl("get deployment -n app processor-api").rc, 0);
  EXPECT_NE(kubectl("get statefulset -n platform kafka").rc, 0);
  EXPECT_NE(kubectl("get daemonset -n monitoring promtail").rc, 0);
  EXPECT_NE(kubectl("get clusterrole ca4-promtail").rc, 0);
  EXPECT_EQ(kubectl("get namespace platform").rc, 0) << "namespaces (and their PVCs) stay";
  EXPECT_EQ(ca4ctl({"down"}).rc, 0) << "down twice is fine";
}
