// Stages of the cluster targets that talk to Kubernetes (see src/kube_stages.cpp).
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "ca4/drivers/kube/client.h"
#include "ca4/engine/stage.h"
#include "ca4/spec/spec.h"
#include "ca4/stages/verify.h"

namespace ca4::stages::kube {

// The API client of a run, shared by its stages: built from spec.cluster.kubeconfig/context and
// rebuilt when they or the file's content change (reconcile --watch).
class KubeSession {
 public:
  engine::Result<drivers::kube::Client*> client(const spec::Pipeline& p,
                                               const std::function<void(const std::string&)>& warn);
  // hosts/aws: the API is reached at this URL (ca4ctl's own tunnel) instead of the kubeconfig's
  // server (which names the users' tunnel endpoint); the kubeconfig's credentials still apply.
  std::function<engine::Result<std::string>(const spec::Pipeline&)> serverOverride;

 private:
  std::string key_;
  std::unique_ptr<drivers::kube::Client> client_;
};

std::unique_ptr<engine::Stage> makeClusterConnect(std::shared_ptr<KubeSession> s);  // target kubernetes
std::unique_ptr<engine::Stage> makePlatform(std::shared_ptr<KubeSession> s);
std::unique_ptr<engine::Stage> makeEdge(std::shared_ptr<KubeSession> s);
std::unique_ptr<engine::Stage> makeMonitoring(std::shared_ptr<KubeSession> s);
std::unique_ptr<engine::Stage> makeVerify(std::shared_ptr<KubeSession> s);

// `ca4ctl verify preflight` on cluster targets: one Check per pipeline workload (Kafka
// StatefulSet, processor-api and metadata-worker Deployments): rolled out, or why not.
std::vector<Check> verifyWorkloads(const spec::Pipeline& p);

}  // namespace ca4::stages::kube
