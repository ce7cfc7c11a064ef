// The stage DAG for a spec's target: infra → cluster → platform → edge → monitoring → verify.
// Target local: infra and cluster are skipped (visibly); platform = Kafka, DB, S3 server as local
// processes; edge = topics, API key, ca4-processor, ca4-worker; monitoring = Prometheus;
// verify = preflight. Targets aws and hosts: stages not built yet fail with a terminal error
// that says so (Terraform/K3s/Kubernetes land with later issues).
#pragma once

#include <memory>
#include <vector>

#include "ca4/engine/stage.h"
#include "ca4/spec/spec.h"

namespace ca4::stages {

inline constexpr const char* kStageOrder[] = {"infra", "cluster", "platform", "edge", "monitoring", "verify"};

std::vector<std::unique_ptr<engine::Stage>> makeStages(const spec::Pipeline& p);

}  // namespace ca4::stages
