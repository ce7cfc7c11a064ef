// assess / assessService per kind against status blocks as the API server reports them, and the
// apply order.
#include <ca4/drivers/kube/readiness.h>
#include <gtest/gtest.h>

namespace ca4::drivers::kube {
namespace {

Json deployment(const std::string& status, int generation = 4, const std::string& replicas = "3") {
  return Json::parse(R"({"apiVersion": "apps/v1", "kind": "Deployment",
    "metadata": {"name": "processor-api", "namespace": "app", "generation": )" +
                     std::to_string(generation) + R"(},
    "spec": {)" + (replicas.empty() ? "" : "\"replicas\": " + replicas + ",") +
                     R"( "selector": {"matchLabels": {"app": "api"}}},
    "status": )" + status +
                     "}");
}

TEST(AssessDeployment, RolledOut) {
  const Readiness r = assess(deployment(R"({"observedGeneration": 4, "replicas": 3,
    "updatedReplicas": 3, "readyReplicas": 3, "availableReplicas": 3,
    "conditions": [
      {"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable"},
      {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable"}]})"));
  EXPECT_TRUE(r.ready);
  EXPECT_FALSE(r.failed);
  EXPECT_EQ(r.reason, "");
}

TEST(AssessDeployment, NotYetObserved) {
  const Readiness r = assess(deployment(R"({"observedGeneration": 3, "replicas": 3,
    "updatedReplicas": 3, "readyReplicas": 3, "availableReplicas": 3})"));
  EXPECT_FALSE(r.ready);
  EXPECT_FALSE(r.failed);
  EXPECT_EQ(r.reason, "observedGeneration 3 < generation 4");
  EXPECT_EQ(assess(deployment("{}", 1)).reason, "observedGeneration 0 < generation 1");
}

TEST(AssessDeployment, RollingOut) {
  EXPECT_EQ(assess(deployment(R"({"observedGeneration": 4, "replicas": 4, "updatedReplicas": 1,
    "readyReplicas": 3, "availableReplicas": 3, "unavailableReplicas": 1})"))
                .reason,
            "1/3 replicas updated");
  EXPECT_EQ(assess(deployment(R"({"observedGeneration": 4, "replicas": 5, "updatedReplicas": 3,
    "readyReplicas": 4, "availableReplicas": 4})"))
                .reason,
            "2 old replicas pending termination");
  EXPECT_EQ(assess(deployment(R"({"observedGeneration": 4, "replicas": 3, "updatedReplicas": 3,
    "readyReplicas": 2, "availableReplicas": 2})"))
                .reason,
            "2/3 replicas ready");
  // ready but not yet available (minReadySeconds)
  EXPECT_EQ(assess(deployment(R"({"observedGeneration": 4, "replicas": 3, "updatedReplicas": 3,
    "readyReplicas": 3, "availableReplicas": 1})"))
                .reason,
            "1/3 replicas available");
}

TEST(AssessDeployment, ReplicasDefaultToOneAndZeroIsReady) {
  EXPECT_TRUE(assess(deployment(R"({"observedGeneration": 4, "replicas": 1, "updatedReplicas": 1,
    "readyReplicas": 1, "availableReplicas": 1})",
                                4, ""))
                  .ready);
  EXPECT_EQ(assess(deployment(R"({"observedGeneration": 4})", 4, "")).reason,
            "0/1 replicas updated");
  // scaled to zero: the server omits the zero counters
  EXPECT_TRUE(assess(deployment(R"({"observedGeneration": 4})", 4, "0")).ready);
}

TEST(AssessDeployment, ProgressDeadlineExceededIsFailed) {
  const Readiness r = assess(deployment(R"({"observedGeneration": 4, "replicas": 4,
    "updatedReplicas": 1, "readyReplicas": 3, "availableReplicas": 3, "conditions": [
      {"type": "Available", "status": "True"},
      {"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded",
       "message": "ReplicaSet \"processor-api-7d9f\" has timed out progressing."}]})"));
  EXPECT_FALSE(r.ready);
  EXPECT_TRUE(r.failed);
  EXPECT_EQ(r.reason,
            "progress deadline exceeded (ProgressDeadlineExceeded: ReplicaSet "
            "\"processor-api-7d9f\" has timed out progressing.)");
  // Progressing=False for another reason is not a failure.
  EXPECT_FALSE(assess(deployment(R"({"observedGeneration": 4, "conditions": [
      {"type": "Progressing", "status": "False", "reason": "Other"}]})"))
                   .failed);
}

Json statefulSet(const std::string& status, const std::string& strategy = "") {
  return Json::parse(
      R"({"apiVersion": "apps/v1", "kind": "StatefulSet",
    "metadata": {"name": "kafka", "namespace": "edge", "generation": 2},
    "spec": {"replicas": 3, "serviceName": "kafka")" +
      (strategy.empty() ? "" : R"(, "updateStrategy": {"type": ")" + strategy + "\"}") +
      R"(}, "status": )" + status + "}");
}

TEST(AssessStatefulSet, AllCases) {
  EXPECT_TRUE(assess(statefulSet(R"({"observedGeneration": 2, "replicas": 3, "readyReplicas": 3,
    "currentReplicas": 3, "updatedReplicas": 3, "availableReplicas": 3,
    "currentRevision": "kafka-5d8f", "updateRevision": "kafka-5d8f"})"))
                  .ready);
  EXPECT_EQ(assess(statefulSet(R"({"observedGeneration": 1})")).reason,
            "observedGeneration 1 < generation 2");
  EXPECT_EQ(assess(statefulSet(R"({"observedGeneration": 2, "replicas": 3, "readyReplicas": 3,
    "currentReplicas": 2, "updatedReplicas": 1,
    "currentRevision": "kafka-5d8f", "updateRevision": "kafka-6c7a"})"))
                .reason,
            "1/3 replicas updated");
  EXPECT_EQ(assess(statefulSet(R"({"observedGeneration": 2, "replicas": 3, "readyReplicas": 2,
    "updatedReplicas": 3, "currentRevision": "kafka-6c7a", "updateRevision": "kafka-6c7a"})"))
                .reason,
            "2/3 replicas ready");
  const Readiness rev = assess(statefulSet(R"({"observedGeneration": 2, "replicas": 3,
    "readyReplicas": 3, "updatedReplicas": 3,
    "currentRevision": "kafka-5d8f", "updateRevision": "kafka-6c7a"})"));
  EXPECT_FALSE(rev.ready);
  EXPECT_EQ(rev.reason, "revision kafka-5d8f being replaced by kafka-6c7a");
  // OnDelete: revisions are not compared.
  EXPECT_TRUE(assess(statefulSet(R"({"observedGeneration": 2, "replicas": 3, "readyReplicas": 3,
    "updatedReplicas": 3, "currentRevision": "kafka-5d8f", "updateRevision": "kafka-6c7a"})",
                                 "OnDelete"))
                  .ready);
  EXPECT_FALSE(assess(statefulSet(R"({"observedGeneration": 2, "replicas": 3, "readyReplicas": 3,
    "updatedReplicas": 3, "currentRevision": "a", "updateRevision": "b"})",
                                  "RollingUpdate"))
                   .ready);
}

Json daemonSet(const std::string& status) {
  return Json::parse(R"({"apiVersion": "apps/v1", "kind": "DaemonSet",
    "metadata": {"name": "node-exporter", "namespace": "monitoring", "generation": 1},
    "spec": {}, "status": )" +
                     status + "}");
}

TEST(AssessDaemonSet, AllCases) {
  EXPECT_TRUE(assess(daemonSet(R"({"observedGeneration": 1, "currentNumberScheduled": 2,
    "desiredNumberScheduled": 2, "numberAvailable": 2, "numberMisscheduled": 0,
    "numberReady": 2, "updatedNumberScheduled": 2})"))
                  .ready);
  EXPECT_TRUE(assess(daemonSet(R"({"observedGeneration": 1, "desiredNumberScheduled": 0,
    "currentNumberScheduled": 0, "numberMisscheduled": 0, "numberReady": 0})"))
                  .ready);
  EXPECT_EQ(assess(daemonSet(R"({"observedGeneration": 0})")).reason,
            "observedGeneration 0 < generation 1");
  EXPECT_EQ(assess(daemonSet(R"({"observedGeneration": 1, "desiredNumberScheduled": 3,
    "numberReady": 3, "updatedNumberScheduled": 1})"))
                .reason,
            "1/3 pods updated");
  EXPECT_EQ(assess(daemonSet(R"({"observedGeneration": 1, "desiredNumberScheduled": 3,
    "numberReady": 2, "updatedNumberScheduled": 3, "numberUnavailable": 1})"))
                .reason,
            "2/3 pods ready");
}

Json job(const std::string& status) {
  return Json::parse(R"({"apiVersion": "batch/v1", "kind": "Job",
    "metadata": {"name": "topic-init", "namespace": "edge"}, "status": )" +
                     status + "}");
}

TEST(AssessJob, AllCases) {
  EXPECT_TRUE(assess(job(R"({"succeeded": 1, "completionTime": "2026-01-01T00:01:00Z",
    "conditions": [{"type": "SuccessCriteriaMet", "status": "True"},
                   {"type": "Complete", "status": "True"}]})"))
                  .ready);
  const Readiness failed = assess(job(R"({"failed": 7, "conditions": [
    {"type": "FailureTarget", "status": "True", "reason": "BackoffLimitExceeded"},
    {"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded",
     "message": "Job has reached the specified backoff limit"}]})"));
  EXPECT_FALSE(failed.ready);
  EXPECT_TRUE(failed.failed);
  EXPECT_EQ(failed.reason,
            "job failed (BackoffLimitExceeded: Job has reached the specified backoff limit)");
  const Readiness running =
      assess(job(R"({"active": 1, "failed": 1, "startTime": "2026-01-01T00:00:00Z"})"));
  EXPECT_FALSE(running.ready);
  EXPECT_FALSE(running.failed);
  EXPECT_EQ(running.reason, "running: 1 active, 0 succeeded, 1 failed");
  EXPECT_FALSE(assess(job(R"({"conditions": [{"type": "Complete", "status": "False"}]})")).ready);
}

TEST(AssessPhase, PersistentVolumeClaimAndNamespace) {
  const auto pvc = [](const std::string& status) {
    return Json::parse(R"({"apiVersion": "v1", "kind": "PersistentVolumeClaim",
      "metadata": {"name": "data-kafka-0", "namespace": "edge"}, "status": )" +
                       status + "}");
  };
  EXPECT_TRUE(assess(pvc(R"({"phase": "Bound", "accessModes": ["ReadWriteOnce"],
    "capacity": {"storage": "10Gi"}})"))
                  .ready);
  EXPECT_EQ(assess(pvc(R"({"phase": "Pending"})")).reason, "phase Pending, want Bound");
  EXPECT_EQ(assess(pvc("{}")).reason, "phase <none>, want Bound");

  const auto ns = [](const std::string& status) {
    return Json::parse(R"({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "app"},
      "status": )" + status +
                       "}");
  };
  EXPECT_TRUE(assess(ns(R"({"phase": "Active"})")).ready);
  EXPECT_TRUE(assess(ns("{}")).ready);
  EXPECT_TRUE(
      assess({{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", "a"}}}}).ready);
  const Readiness terminating = assess(ns(R"({"phase": "Terminating", "conditions": [
    {"type": "NamespaceContentRemaining", "status": "True"}]})"));
  EXPECT_FALSE(terminating.ready);
  EXPECT_EQ(terminating.reason, "phase Terminating, want Active");
}

TEST(AssessCrd, AllCases) {
  const auto crd = [](const std::string& conditions) {
    return Json::parse(R"({"apiVersion": "apiextensions.k8s.io/v1",
      "kind": "CustomResourceDefinition", "metadata": {"name": "pipelines.ca4.io"},
      "status": {"acceptedNames": {"kind": "Pipeline"}, "conditions": )" +
                       conditions + "}}");
  };
  EXPECT_TRUE(assess(crd(R"([
    {"type": "NamesAccepted", "status": "True", "reason": "NoConflicts"},
    {"type": "Established", "status": "True", "reason": "InitialNamesAccepted"}])"))
                  .ready);
  const Readiness pending = assess(crd(R"([
    {"type": "NamesAccepted", "status": "True", "reason": "NoConflicts"},
    {"type": "Established", "status": "False", "reason": "Installing",
     "message": "the initial names have not been accepted"}])"));
  EXPECT_FALSE(pending.ready);
  EXPECT_FALSE(pending.failed);
  EXPECT_EQ(pending.reason,
            "not established yet (Installing: the initial names have not been accepted)");
  const Readiness conflict = assess(crd(R"([
    {"type": "NamesAccepted", "status": "False", "reason": "ListKindConflict",
     "message": "\"PipelineList\" is already in use"},
    {"type": "Established", "status": "False", "reason": "NotAccepted"}])"));
  EXPECT_TRUE(conflict.failed);
  EXPECT_EQ(conflict.reason,
            "names not accepted (ListKindConflict: \"PipelineList\" is already in use)");
  EXPECT_EQ(assess(crd("[]")).reason, "not established yet");
}

TEST(AssessOther, ReadyOnceItExists) {
  EXPECT_TRUE(assess(Json::parse(R"({"apiVersion": "v1", "kind": "ConfigMap",
    "metadata": {"name": "c", "namespace": "app"}, "data": {}})"))
                  .ready);
  EXPECT_TRUE(assess(Json::parse(R"({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
    "metadata": {"name": "i", "namespace": "app"}})"))
                  .ready);
}

Json service(const std::string& spec) {
  return Json::parse(R"({"apiVersion": "v1", "kind": "Service",
    "metadata": {"name": "processor-api", "namespace": "app"}, "spec": )" +
                     spec + "}");
}

Json slice(const std::string& service, const std::string& endpoints,
           const std::string& ns = "app") {
  return Json::parse(R"({"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
    "metadata": {"name": ")" +
                     service + R"(-x7k2p", "namespace": ")" + ns + R"(",
      "labels": {"kubernetes.io/service-name": ")" +
                     service + R"(",
                 "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io"}},
    "addressType": "IPv4", "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}],
    "endpoints": )" + endpoints +
                     "}");
}

TEST(NeedsEndpoints, SelectorAndType) {
  EXPECT_TRUE(needsEndpoints(service(R"({"selector": {"app": "api"}, "ports": [{"port": 80}]})")));
  EXPECT_TRUE(needsEndpoints(service(R"({"type": "LoadBalancer", "selector": {"app": "api"}})")));
  EXPECT_FALSE(needsEndpoints(service(R"({"ports": [{"port": 80}]})")));
  EXPECT_FALSE(needsEndpoints(service(R"({"selector": {}})")));
  EXPECT_FALSE(needsEndpoints(service(
      R"({"type": "ExternalName", "externalName": "db.example.com", "selector": {"a": "b"}})")));
}

TEST(AssessService, ReadyWithAnyReadyEndpoint) {
  const Json svc = service(R"({"selector": {"app": "api"}, "ports": [{"port": 80}]})");
  const Json notReady = slice("processor-api", R"([{"addresses": ["10.0.0.5"],
    "conditions": {"ready": false, "serving": false, "terminating": false}}])");
  const Json readyOne = slice("processor-api", R"([
    {"addresses": ["10.0.0.5"], "conditions": {"ready": false}},
    {"addresses": ["10.0.0.6"], "conditions": {"ready": true, "serving": true}}])");
  const Json unknown = slice("processor-api", R"([{"addresses": ["10.0.0.7"], "conditions": {}}])");
  const Json other =
      slice("other", R"([{"addresses": ["10.0.0.8"], "conditions": {"ready": true}}])");
  const Json otherNs = slice("processor-api", R"([{"addresses": ["10.0.0.9"],
    "conditions": {"ready": true}}])",
                             "default");

  EXPECT_TRUE(assessService(svc, {notReady, readyOne}).ready);
  EXPECT_TRUE(assessService(svc, {unknown}).ready);  // ready not false: counts
  const Readiness none = assessService(svc, {notReady, other, otherNs});
  EXPECT_FALSE(none.ready);
  EXPECT_FALSE(none.failed);
  EXPECT_EQ(none.reason,
            "no ready endpoints for service Service/app/processor-api (1 EndpointSlices)");
  EXPECT_FALSE(assessService(svc, {slice("processor-api", "null")}).ready);
  EXPECT_FALSE(assessService(svc, {}).ready);
  // List items without apiVersion/kind are accepted; another API version is not.
  Json bare = readyOne;
  bare.erase("apiVersion");
  bare.erase("kind");
  EXPECT_TRUE(assessService(svc, {bare}).ready);
  Json beta = readyOne;
  beta["apiVersion"] = "discovery.k8s.io/v1beta1";
  EXPECT_FALSE(assessService(svc, {beta}).ready);
}

TEST(AssessService, WithoutSelectorReadyAtOnce) {
  EXPECT_TRUE(assessService(service(R"({"ports": [{"port": 80}]})"), {}).ready);
  EXPECT_TRUE(assessService(service(R"({"type": "ExternalName", "externalName": "x"})"), {}).ready);
}

TEST(AssessService, AssessAloneSeesNoEndpoints) {
  EXPECT_TRUE(assess(service(R"({"ports": [{"port": 80}]})")).ready);
  const Readiness r = assess(service(R"({"selector": {"app": "api"}})"));
  EXPECT_FALSE(r.ready);
  EXPECT_EQ(r.reason,
            "no ready endpoints for service Service/app/processor-api (0 EndpointSlices)");
}

TEST(ApplyOrder, Ranks) {
  for (const char* k : {"Namespace", "CustomResourceDefinition"}) EXPECT_EQ(applyRank(k), 0) << k;
  for (const char* k : {"StorageClass", "PriorityClass", "ServiceAccount", "ClusterRole", "Role",
                        "ClusterRoleBinding", "RoleBinding", "ConfigMap", "Secret",
                        "PersistentVolume", "PersistentVolumeClaim", "LimitRange", "ResourceQuota"})
    EXPECT_EQ(applyRank(k), 1) << k;
  EXPECT_EQ(applyRank("Service"), 2);
  for (const char* k :
       {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob", "Pod"})
    EXPECT_EQ(applyRank(k), 3) << k;
  for (const char* k : {"HorizontalPodAutoscaler", "PodDisruptionBudget", "Ingress",
                        "NetworkPolicy", "Pipeline", ""})
    EXPECT_EQ(applyRank(k), 4) << k;
}

TEST(ApplyOrder, StableSortByRankThenPosition) {
  const auto obj = [](const std::string& kind, const std::string& name) {
    return Json{{"apiVersion", "v1"}, {"kind", kind}, {"metadata", {{"name", name}}}};
  };
  std::vector<Json> objs = {obj("Ingress", "i"),    obj("Deployment", "d1"),
                            obj("Service", "s"),    obj("ConfigMap", "c1"),
                            obj("Namespace", "n"),  obj("Deployment", "d2"),
                            obj("ConfigMap", "c2"), obj("CustomResourceDefinition", "crd"),
                            obj("Widget", "w")};
  sortForApply(objs);
  std::vector<std::string> names;
  for (const auto& o : objs) names.push_back(o["metadata"]["name"]);
  EXPECT_EQ(names, (std::vector<std::string>{"n", "crd", "c1", "c2", "s", "d1", "d2", "i", "w"}));
}

}  // namespace
}  // namespace ca4::drivers::kube
