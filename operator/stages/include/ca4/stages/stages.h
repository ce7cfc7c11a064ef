// The stage DAG for a spec's target: infra → cluster → platform → edge → monitoring → verify.
// Target local: infra and cluster are skipped (visibly); platform = Kafka, DB, S3 server as local
// processes; edge = topics, API key, ca4-processor, ca4-worker; monitoring = Prometheus;
// verify = preflight. Target kubernetes: cluster = the kubeconfig's cluster answers with Ready
// nodes; platform/edge/monitoring = manifests/<stage> through the Kubernetes API (kube.h);
// verify = workloads rolled out. Targets aws and hosts share those Kubernetes stages; their
// infra (Terraform) and cluster (SSH/K3s) stages are not built yet and fail with a terminal
// error that says so.
#pragma once

#include <memory>
#include <vector>

#include "ca4/engine/stage.h"
#include "ca4/spec/spec.h"

namespace ca4::stages {

inline constexpr const char* kStageOrder[] = {"infra", "cluster", "platform", "edge", "monitoring", "verify"};

std::vector<std::unique_ptr<engine::Stage>> makeStages(const spec::Pipeline& p);

}  // namespace ca4::stages
