#include "ca4/stages/stages.h"

#include "ca4/stages/endpoints.h"
#include "ca4/stages/k3s.h"
#include "ca4/stages/kube.h"
#include "ca4/stages/remote.h"
#include "ca4/stages/verify.h"

namespace ca4::stages {
namespace local {
std::unique_ptr<engine::Stage> makeLocalPlatform();
std::unique_ptr<engine::Stage> makeLocalEdge();
std::unique_ptr<engine::Stage> makeLocalMonitoring();
}  // namespace local

namespace {

using engine::Change;
using engine::Error;
using engine::Result;
using engine::StageContext;
using engine::Status;

std::vector<std::string> previous(const std::string& name) {
  std::vector<std::string> deps;
  std::string prev;
  for (const char* s : kStageOrder) {
    if (name == s) break;
    prev = s;
  }
  if (!prev.empty()) deps.push_back(prev);
  return deps;
}

// A stage that does not apply to the local target, shown as skipped with the reason.
class SkippedStage final : public engine::Stage {
 public:
  SkippedStage(std::string name, std::string reason) : name_(std::move(name)), reason_(std::move(reason)) {}
  std::string name() const override { return name_; }
  std::vector<std::string> dependsOn() const override { return previous(name_); }
  std::optional<std::string> skipReason(const spec::Pipeline&) const override { return reason_; }
  Result<std::vector<Change>> plan(StageContext&) override { return std::vector<Change>{}; }
  Status apply(StageContext&, const std::vector<Change>&) override { return engine::okStatus(); }

 private:
  std::string name_, reason_;
};

// A stage of a target whose driver has not landed yet: a plain terminal error, not a hang.
class NotBuiltStage final : public engine::Stage {
 public:
  NotBuiltStage(std::string name, std::string lands_with) : name_(std::move(name)), with_(std::move(lands_with)) {}
  std::string name() const override { return name_; }
  std::vector<std::string> dependsOn() const override { return previous(name_); }
  std::optional<std::string> skipReason(const spec::Pipeline&) const override { return std::nullopt; }
  Result<std::vector<Change>> plan(StageContext& ctx) override {
    return Error::terminal("stage " + name_ + " for target " + std::string(spec::toString(ctx.pipeline.spec.target)) +
                               " is not built yet (it lands with " + with_ + ")",
                           "use `spec.target: local` (the default) to run the pipeline on this machine");
  }
  Status apply(StageContext& ctx, const std::vector<Change>&) override { return plan(ctx).error(); }

 private:
  std::string name_, with_;
};

// verify in the DAG: preflight (every component healthy). Converged = all checks pass.
class VerifyStage final : public engine::Stage {
 public:
  std::string name() const override { return "verify"; }
  std::vector<std::string> dependsOn() const override { return {"monitoring"}; }
  std::optional<std::string> skipReason(const spec::Pipeline&) const override { return std::nullopt; }
  std::chrono::seconds timeout() const override { return std::chrono::seconds(60); }
  Result<std::vector<Change>> plan(StageContext& ctx) override {
    auto e = resolveEndpoints(ctx.pipeline);
    if (!e) return e.error();
    for (const auto& c : verifyPreflight(ctx.pipeline, *e)) {
      if (c.ok) continue;
      // plan: the earlier stages' pending changes explain a failing check; report, don't wait
      if (ctx.dry_run) return std::vector<Change>{{"run", "check/preflight", c.name + " not healthy yet"}};
      return Error::retryable("preflight " + c.name + ": " + c.message, c.fix);
    }
    return std::vector<Change>{};
  }
  Status apply(StageContext&, const std::vector<Change>&) override { return engine::okStatus(); }
};

}  // namespace

std::vector<std::unique_ptr<engine::Stage>> makeStages(const spec::Pipeline& p) {
  std::vector<std::unique_ptr<engine::Stage>> out;
  if (p.spec.target == spec::Target::Local) {
    out.push_back(std::make_unique<SkippedStage>("infra", "target local has no cloud infrastructure (Terraform runs for target aws)"));
    out.push_back(std::make_unique<SkippedStage>("cluster", "target local runs the services as processes, without Kubernetes"));
    out.push_back(local::makeLocalPlatform());
    out.push_back(local::makeLocalEdge());
    out.push_back(local::makeLocalMonitoring());
    out.push_back(std::make_unique<VerifyStage>());
    return out;
  }
  // Cluster targets: the manifests through the Kubernetes API, one API session for the run.
  auto session = std::make_shared<kube::KubeSession>();
  switch (p.spec.target) {
    case spec::Target::Aws:
      out.push_back(std::make_unique<NotBuiltStage>("infra", "the Terraform driver"));
      out.push_back(std::make_unique<NotBuiltStage>("cluster", "the remote-hosts issue (SSH, K3s)"));
      break;
    case spec::Target::Hosts: {
      // K3s over SSH through the bastion; every API call of the run goes through ca4ctl's own
      // tunnel to the server node.
      auto api = std::make_shared<remote::ApiAccess>();
      session->serverOverride = [api](const spec::Pipeline& pl) { return api->server(pl); };
      out.push_back(std::make_unique<SkippedStage>("infra", "target hosts uses existing machines"));
      out.push_back(k3s::makeK3sStage(api));
      break;
    }
    default:
      out.push_back(std::make_unique<SkippedStage>("infra", "target kubernetes uses an existing cluster"));
      out.push_back(kube::makeClusterConnect(session));
      break;
  }
  out.push_back(kube::makePlatform(session));
  out.push_back(kube::makeEdge(session));
  out.push_back(kube::makeMonitoring(session));
  out.push_back(kube::makeVerify(session));
  return out;
}

}  // namespace ca4::stages
