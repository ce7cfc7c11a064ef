// Readiness of a live object by kind (what "rolled out" means), and the apply order. Pure.
#pragma once

#include <string>
#include <vector>

#include "ca4/drivers/kube/objects.h"

namespace ca4::drivers::kube {

struct Readiness {
  bool ready = false;
  bool failed = false;  // will not become ready without a change (Job Failed, CRD NamesNotAccepted)
  std::string reason;   // why not ready: "2/3 replicas ready", "observedGeneration 3 < generation 4"
};

// Deployment: observedGeneration >= generation, updatedReplicas == readyReplicas == availableReplicas
//   == spec.replicas (default 1), no old replicas left (status.replicas == spec.replicas),
//   Progressing=False with reason ProgressDeadlineExceeded → failed.
// StatefulSet: observedGeneration >= generation, readyReplicas == updatedReplicas == spec.replicas,
//   currentRevision == updateRevision when updateStrategy is RollingUpdate (default).
// DaemonSet: observedGeneration >= generation, numberReady == updatedNumberScheduled ==
//   desiredNumberScheduled (0 desired is ready).
// Job: condition Complete=True → ready; Failed=True → failed.
// PersistentVolumeClaim: phase Bound. Namespace: phase Active (missing phase → ready).
// CustomResourceDefinition: Established=True; NamesAccepted=False → failed.
// Service: see assessService. Everything else: ready as soon as it exists.
Readiness assess(const Json& live);

// Whether a Service's readiness depends on endpoints: it has a non-empty selector and its type
// is not ExternalName.
bool needsEndpoints(const Json& service);
// Ready when any of the EndpointSlices (discovery.k8s.io/v1, labelled
// kubernetes.io/service-name=<service>) has an endpoint whose conditions.ready is not false.
Readiness assessService(const Json& service, const std::vector<Json>& endpointSlices);

// Apply order: 0 Namespace, CustomResourceDefinition; 1 StorageClass, PriorityClass,
// ServiceAccount, ClusterRole, Role, ClusterRoleBinding, RoleBinding, ConfigMap, Secret,
// PersistentVolume, PersistentVolumeClaim, LimitRange, ResourceQuota; 2 Service; 3 Deployment,
// StatefulSet, DaemonSet, ReplicaSet, Job, CronJob, Pod; 4 HorizontalPodAutoscaler,
// PodDisruptionBudget, Ingress, NetworkPolicy and everything else.
int applyRank(const std::string& kind);
// Stable sort by (applyRank(kind), original position). Deletion uses the reverse.
void sortForApply(std::vector<Json>& objects);

}  // namespace ca4::drivers::kube
