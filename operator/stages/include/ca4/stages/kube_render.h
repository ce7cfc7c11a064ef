// The desired Kubernetes objects of the cluster stages: the manifests (manifests/<set>, a
// kustomization) with the spec's values put in. Pure: the caller loads the manifests.
//
// platform:   the manifests + a Namespace for every spec.platform.namespaces entry they lack +
//             the Secrets (namespace app) ca4-mongo-credentials {uri}, ca4-s3-config {bucket,
//             region, endpoint, access_key_id, secret_access_key} (archive on), ca4-edge-api-config
//             {api-keys}. Keys with unset values are left out; ca4-mongo-credentials is left
//             out (with a warning) when db.uri is unset, ca4-s3-config when the archive is off.
// edge:       ConfigMap platform/ca4-kafka-config (KAFKA_REPLICAS, KAFKA_TOPIC, KAFKA_DLQ_TOPIC,
//             KAFKA_PARTITIONS, KAFKA_REPLICATION_FACTOR), ConfigMap app/ca4-edge-config (topics,
//             group, DB, batch, rate, body limit, archive), StatefulSet platform/kafka replicas
//             (and pod-template annotation ca4.dev/kafka-replicas, so a new count rolls the brokers),
//             Deployment app/metadata-worker replicas, HPA app/processor-api minReplicas.
// monitoring: nothing when spec.monitoring.enabled is false (so earlier objects are pruned);
//             objects labelled app.kubernetes.io/name=grafana dropped when grafana is off, loki and
//             promtail when loki is off; the Prometheus global scrape_interval from the spec.
// All sets:   container images replaced per spec.cluster.images (kustomize `images` semantics:
//             the key is the image name without tag/digest).
#pragma once

#include <nlohmann/json.hpp>

#include <map>
#include <string>
#include <vector>

#include "ca4/engine/result.h"
#include "ca4/spec/spec.h"

namespace ca4::stages::kube {

using Json = nlohmann::json;

struct Rendered {
  std::vector<Json> objects;
  std::vector<std::string> warnings;  // e.g. "spec.platform.db.uri is unset: Secret … not created"
};

engine::Result<Rendered> renderPlatform(const spec::Pipeline& p, std::vector<Json> manifests,
                                        const std::string& apiKeysFile);
engine::Result<Rendered> renderEdge(const spec::Pipeline& p, std::vector<Json> manifests);
engine::Result<Rendered> renderMonitoring(const spec::Pipeline& p, std::vector<Json> manifests);

// Replaces container and initContainer images in pod templates (Deployment, StatefulSet,
// DaemonSet, ReplicaSet, Job, CronJob, Pod). "registry:5000/ca4/processor:0.1" has name
// "registry:5000/ca4/processor".
void setImages(std::vector<Json>& objects, const std::map<std::string, std::string>& images);
std::string imageName(const std::string& ref);

}  // namespace ca4::stages::kube
