#include "ca4/drivers/kube/readiness.h"

#include <algorithm>
#include <cstdint>
#include <optional>
#include <unordered_map>

namespace ca4::drivers::kube {
namespace {

const Json& field(const Json& obj, std::initializer_list<const char*> path) {
  static const Json kNull;
  const Json* cur = &obj;
  for (const char* key : path) {
    if (!cur->is_object()) return kNull;
    const auto it = cur->find(key);
    if (it == cur->end()) return kNull;
    cur = &*it;
  }
  return *cur;
}

std::int64_t intField(const Json& obj, std::initializer_list<const char*> path,
                      std::int64_t dflt = 0) {
  const Json& v = field(obj, path);
  if (v.is_number_integer()) return v.get<std::int64_t>();
  if (v.is_number_float()) return static_cast<std::int64_t>(v.get<double>());
  return dflt;
}

std::string strField(const Json& obj, std::initializer_list<const char*> path) {
  const Json& v = field(obj, path);
  return v.is_string() ? v.get<std::string>() : std::string();
}

// status.conditions[type=<type>], or null.
const Json& condition(const Json& obj, const std::string& type) {
  static const Json kNull;
  const Json& conds = field(obj, {"status", "conditions"});
  if (!conds.is_array()) return kNull;
  for (const auto& c : conds)
    if (c.is_object() && c.value("type", "") == type) return c;
  return kNull;
}

bool conditionIs(const Json& obj, const std::string& type, const std::string& status) {
  const Json& c = condition(obj, type);
  return c.is_object() && c.value("status", "") == status;
}

// " (Reason: message)" from a condition, or "".
std::string detailOf(const Json& cond) {
  if (!cond.is_object()) return {};
  const std::string reason = cond.value("reason", "");
  const std::string message = cond.value("message", "");
  if (reason.empty() && message.empty()) return {};
  if (message.empty()) return " (" + reason + ")";
  if (reason.empty()) return " (" + message + ")";
  return " (" + reason + ": " + message + ")";
}

Readiness ready() { return {true, false, ""}; }
Readiness waiting(std::string reason) { return {false, false, std::move(reason)}; }
Readiness failed(std::string reason) { return {false, true, std::move(reason)}; }

// observedGeneration >= generation, or why not.
std::optional<Readiness> generationPending(const Json& live) {
  const std::int64_t generation = intField(live, {"metadata", "generation"});
  const std::int64_t observed = intField(live, {"status", "observedGeneration"});
  if (observed < generation)
    return waiting("observedGeneration " + std::to_string(observed) + " < generation " +
                   std::to_string(generation));
  return std::nullopt;
}

std::string ratio(std::int64_t have, std::int64_t want, const char* what) {
  return std::to_string(have) + "/" + std::to_string(want) + " " + what;
}

Readiness deployment(const Json& live) {
  if (auto g = generationPending(live)) return *g;
  const Json& progressing = condition(live, "Progressing");
  if (conditionIs(live, "Progressing", "False") &&
      progressing.value("reason", "") == "ProgressDeadlineExceeded")
    return failed("progress deadline exceeded" + detailOf(progressing));
  const std::int64_t want = intField(live, {"spec", "replicas"}, 1);
  const std::int64_t updated = intField(live, {"status", "updatedReplicas"});
  const std::int64_t readyN = intField(live, {"status", "readyReplicas"});
  const std::int64_t available = intField(live, {"status", "availableReplicas"});
  const std::int64_t total = intField(live, {"status", "replicas"});
  if (updated != want) return waiting(ratio(updated, want, "replicas updated"));
  if (total != want)
    return waiting(total > want
                       ? std::to_string(total - want) + " old replicas pending termination"
                       : std::to_string(total) + "/" + std::to_string(want) + " replicas exist");
  if (readyN != want) return waiting(ratio(readyN, want, "replicas ready"));
  if (available != want) return waiting(ratio(available, want, "replicas available"));
  return ready();
}

Readiness statefulSet(const Json& live) {
  if (auto g = generationPending(live)) return *g;
  const std::int64_t want = intField(live, {"spec", "replicas"}, 1);
  const std::int64_t readyN = intField(live, {"status", "readyReplicas"});
  const std::int64_t updated = intField(live, {"status", "updatedReplicas"});
  if (updated != want) return waiting(ratio(updated, want, "replicas updated"));
  if (readyN != want) return waiting(ratio(readyN, want, "replicas ready"));
  const std::string strategy = strField(live, {"spec", "updateStrategy", "type"});
  if (strategy.empty() || strategy == "RollingUpdate") {
    const std::string current = strField(live, {"status", "currentRevision"});
    const std::string update = strField(live, {"status", "updateRevision"});
    if (current != update)
      return waiting("revision " + (current.empty() ? std::string("<none>") : current) +
                     " being replaced by " + (update.empty() ? std::string("<none>") : update));
  }
  return ready();
}

Readiness daemonSet(const Json& live) {
  if (auto g = generationPending(live)) return *g;
  const std::int64_t desired = intField(live, {"status", "desiredNumberScheduled"});
  const std::int64_t updated = intField(live, {"status", "updatedNumberScheduled"});
  const std::int64_t readyN = intField(live, {"status", "numberReady"});
  if (updated != desired) return waiting(ratio(updated, desired, "pods updated"));
  if (readyN != desired) return waiting(ratio(readyN, desired, "pods ready"));
  return ready();
}

Readiness job(const Json& live) {
  if (conditionIs(live, "Complete", "True")) return ready();
  if (conditionIs(live, "Failed", "True"))
    return failed("job failed" + detailOf(condition(live, "Failed")));
  return waiting("running: " + std::to_string(intField(live, {"status", "active"})) + " active, " +
                 std::to_string(intField(live, {"status", "succeeded"})) + " succeeded, " +
                 std::to_string(intField(live, {"status", "failed"})) + " failed");
}

Readiness phase(const Json& live, const std::string& want, bool missingIsReady) {
  const std::string p = strField(live, {"status", "phase"});
  if (p == want || (p.empty() && missingIsReady)) return ready();
  return waiting("phase " + (p.empty() ? std::string("<none>") : p) + ", want " + want);
}

Readiness crd(const Json& live) {
  if (conditionIs(live, "NamesAccepted", "False"))
    return failed("names not accepted" + detailOf(condition(live, "NamesAccepted")));
  if (conditionIs(live, "Established", "True")) return ready();
  return waiting("not established yet" + detailOf(condition(live, "Established")));
}

}  // namespace

Readiness assess(const Json& live) {
  const std::string kind = refOf(live).kind;
  if (kind == "Deployment") return deployment(live);
  if (kind == "StatefulSet") return statefulSet(live);
  if (kind == "DaemonSet") return daemonSet(live);
  if (kind == "Job") return job(live);
  if (kind == "PersistentVolumeClaim") return phase(live, "Bound", false);
  if (kind == "Namespace") return phase(live, "Active", true);
  if (kind == "CustomResourceDefinition") return crd(live);
  // Endpoints are not visible from the Service alone: this is assessService with none known, so a
  // Service that needs endpoints is never reported ready by mistake. Callers that wait for
  // Services fetch the EndpointSlices and call assessService.
  if (kind == "Service") return assessService(live, {});
  return ready();
}

bool needsEndpoints(const Json& service) {
  const Json& selector = field(service, {"spec", "selector"});
  if (!selector.is_object() || selector.empty()) return false;
  return strField(service, {"spec", "type"}) != "ExternalName";
}

Readiness assessService(const Json& service, const std::vector<Json>& endpointSlices) {
  if (!needsEndpoints(service)) return ready();
  const ObjectRef ref = refOf(service);
  std::size_t matching = 0;
  for (const auto& slice : endpointSlices) {
    // Items of a list response may carry no apiVersion/kind: check them only when present.
    const std::string apiVersion = strField(slice, {"apiVersion"});
    if (!apiVersion.empty() && apiVersion != "discovery.k8s.io/v1") continue;
    if (strField(slice, {"metadata", "labels", "kubernetes.io/service-name"}) != ref.name) continue;
    const std::string ns = strField(slice, {"metadata", "namespace"});
    if (!ns.empty() && !ref.ns.empty() && ns != ref.ns) continue;
    ++matching;
    const Json& endpoints = field(slice, {"endpoints"});
    if (!endpoints.is_array()) continue;
    for (const auto& ep : endpoints)
      if (field(ep, {"conditions", "ready"}) != Json(false)) return ready();
  }
  return waiting("no ready endpoints for service " + ref.str() + " (" + std::to_string(matching) +
                 " EndpointSlices)");
}

int applyRank(const std::string& kind) {
  static const std::unordered_map<std::string, int> kRanks = {
      {"Namespace", 0},
      {"CustomResourceDefinition", 0},
      {"StorageClass", 1},
      {"PriorityClass", 1},
      {"ServiceAccount", 1},
      {"ClusterRole", 1},
      {"Role", 1},
      {"ClusterRoleBinding", 1},
      {"RoleBinding", 1},
      {"ConfigMap", 1},
      {"Secret", 1},
      {"PersistentVolume", 1},
      {"PersistentVolumeClaim", 1},
      {"LimitRange", 1},
      {"ResourceQuota", 1},
      {"Service", 2},
      {"Deployment", 3},
      {"StatefulSet", 3},
      {"DaemonSet", 3},
      {"ReplicaSet", 3},
      {"Job", 3},
      {"CronJob", 3},
      {"Pod", 3},
  };
  const auto it = kRanks.find(kind);
  return it == kRanks.end() ? 4 : it->second;
}

void sortForApply(std::vector<Json>& objects) {
  std::stable_sort(objects.begin(), objects.end(), [](const Json& a, const Json& b) {
    return applyRank(refOf(a).kind) < applyRank(refOf(b).kind);
  });
}

}  // namespace ca4::drivers::kube
