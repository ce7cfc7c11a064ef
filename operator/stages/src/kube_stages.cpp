// The cluster targets' stages (kubernetes now; hosts/aws reuse platform/edge/monitoring after
// their own cluster stage): manifests applied through the Kubernetes REST API (drivers/kube).
//
// One KubeSession per run is shared by every stage, so a run costs one TLS handshake.
// Stage data (state.json, stages.<name>.data): {"inventory": [...]} — what this stage applied,
// with digests; prune deletes what is in it and no longer desired.
#include <openssl/rand.h>

#include <filesystem>
#include <sstream>

#include "ca4/common/base64.h"
#include "ca4/common/sigv4.h"
#include "ca4/drivers/kube/applier.h"
#include "ca4/stages/kube.h"
#include "ca4/stages/kube_render.h"
#include "ca4/stages/stages.h"
#include "ca4/stages/files.h"

namespace ca4::stages::kube {
namespace fs = std::filesystem;
using drivers::kube::Action;
using drivers::kube::Applier;
using drivers::kube::ApplyOptions;
using drivers::kube::Client;
using drivers::kube::ObjectRef;
using engine::Change;
using engine::Error;
using engine::Result;
using engine::StageContext;
using engine::Status;

namespace {

std::string randomHex(std::size_t bytes) {
  std::vector<unsigned char> b(bytes);
  RAND_bytes(b.data(), static_cast<int>(b.size()));
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (unsigned char c : b) {
    out += hex[c >> 4];
    out += hex[c & 15];
  }
  return out;
}

}  // namespace

Result<Client*> KubeSession::client(const spec::Pipeline& p, const std::function<void(const std::string&)>& warn) {
  const std::string path = absUnder(p.base_dir, p.spec.cluster.kubeconfig);
  const std::string text = readFile(path);
  std::string server;
  if (serverOverride) {
    auto s = serverOverride(p);
    if (!s) return s.error();
    server = *s;
  }
  const std::string key = path + "\n" + p.spec.cluster.context + "\n" + sigv4::sha256Hex(text) + "\n" + server;
  if (client_ && key == key_) return client_.get();
  // Parse what was just read; an unreadable file goes through loadKubeconfig for its error.
  auto access = text.empty() ? drivers::kube::loadKubeconfig(path, p.spec.cluster.context)
                             : drivers::kube::parseKubeconfig(text, path, p.spec.cluster.context,
                                                              fs::path(path).parent_path().string());
  if (!access) return access.error();
  if (!server.empty()) access->server = server;
  if (access->insecureSkipVerify && warn)
    warn("warning: the kubeconfig disables TLS verification of " + access->server + " (insecure-skip-tls-verify)");
  client_ = std::make_unique<Client>(std::move(*access));
  key_ = key;
  return client_.get();
}

namespace {

ApplyOptions applyOptions(const spec::Pipeline& p) {
  ApplyOptions o;
  o.force = p.spec.cluster.force_conflicts;
  o.readyTimeout = p.spec.cluster.ready_timeout;
  return o;
}

// cluster (target kubernetes): the cluster exists; check it answers and has Ready nodes.
class ClusterConnectStage final : public engine::Stage {
 public:
  explicit ClusterConnectStage(std::shared_ptr<KubeSession> s) : session_(std::move(s)) {}
  std::string name() const override { return "cluster"; }
  std::vector<std::string> dependsOn() const override { return {"infra"}; }
  std::optional<std::string> skipReason(const spec::Pipeline&) const override { return std::nullopt; }
  std::chrono::seconds timeout() const override { return std::chrono::seconds(120); }

  Result<std::vector<Change>> plan(StageContext& ctx) override {
    auto c = session_->client(ctx.pipeline, [&](const std::string& m) { ctx.progress(m); });
    if (!c) return c.error();
    auto version = (*c)->serverVersion();
    if (!version) return version.error();
    auto nodes = (*c)->request("GET", "/api/v1/nodes");
    if (!nodes) return nodes.error();
    if (auto e = nodes->error()) return e->toError("list nodes");
    int total = 0, ready = 0;
    for (const auto& n : nodes->json().value("items", drivers::kube::Json::array())) {
      ++total;
      for (const auto& cond : n["status"].value("conditions", drivers::kube::Json::array()))
        if (cond.value("type", "") == "Ready" && cond.value("status", "") == "True") ++ready;
    }
    ctx.data["server"] = (*c)->access().server;
    ctx.data["version"] = *version;
    ctx.data["nodes"] = total;
    ctx.data["nodesReady"] = ready;
    if (ready == 0) {
      return Error::retryable("cluster " + (*c)->access().server + " (" + *version + ") has no Ready node (" +
                                  std::to_string(total) + " registered)",
                              "wait for the nodes to join, or check them with kubectl get nodes");
    }
    return std::vector<Change>{};
  }
  Status apply(StageContext&, const std::vector<Change>&) override { return engine::okStatus(); }
  std::vector<engine::ComponentStatus> status(StageContext& ctx) override {
    engine::ComponentStatus s{"cluster", "kubernetes", "absent", "", drivers::kube::Json::object()};
    auto c = session_->client(ctx.pipeline, {});
    if (!c) {
      s.detail = c.error().message;
      return {s};
    }
    auto v = (*c)->serverVersion();
    if (!v) {
      s.state = "degraded";
      s.detail = v.error().message;
      return {s};
    }
    s.state = "running";
    s.detail = *v + ", " + (*c)->access().server;
    s.fields = {{"version", *v}, {"server", (*c)->access().server}};
    return {s};
  }

 private:
  std::shared_ptr<KubeSession> session_;
};

using RenderFn = std::function<Result<Rendered>(const spec::Pipeline&, std::vector<drivers::kube::Json>, Client&)>;

// platform / edge / monitoring: apply one manifest set.
class KubeApplyStage final : public engine::Stage {
 public:
  KubeApplyStage(std::string name, std::string set, std::vector<std::string> deps, std::shared_ptr<KubeSession> s,
                 RenderFn render)
      : name_(std::move(name)), set_(std::move(set)), deps_(std::move(deps)), session_(std::move(s)),
        render_(std::move(render)) {}
  std::string name() const override { return name_; }
  std::vector<std::string> dependsOn() const override { return deps_; }
  std::optional<std::string> skipReason(const spec::Pipeline&) const override { return std::nullopt; }
  std::chrono::seconds timeout() const override { return std::chrono::seconds(600); }

  Result<std::vector<Change>> plan(StageContext& ctx) override {
    plan_.reset();
    auto c = session_->client(ctx.pipeline, [&](const std::string& m) { ctx.progress(m); });
    if (!c) return c.error();
    const std::string dir = absUnder(ctx.pipeline.base_dir, ctx.pipeline.spec.cluster.manifests) + "/" + set_;
    auto manifests = drivers::kube::loadKustomization(dir);
    if (!manifests) return manifests.error();
    auto rendered = render_(ctx.pipeline, std::move(*manifests), **c);
    if (!rendered) return rendered.error();
    for (const auto& w : rendered->warnings) ctx.progress("warning: " + w);
    Applier applier(**c, applyOptions(ctx.pipeline));
    auto plan = applier.plan(rendered->objects, drivers::kube::inventoryFromJson(ctx.data.value("inventory", drivers::kube::Json::array())),
                             ctx.pipeline.spec.cluster.prune);
    if (!plan) return plan.error();
    std::vector<Change> changes;
    for (const auto& o : plan->objects) {
      switch (o.action) {
        case Action::Create:
        case Action::Update:
        case Action::Delete: {
          Change ch{std::string(toString(o.action)), o.ref.str(), o.detail, {}};
          if (!o.diff.empty()) {
            std::istringstream lines(drivers::kube::renderDiff(o.ref, o.diff, o.ref.kind == "Secret"));
            for (std::string l; std::getline(lines, l);)
              if (!l.empty()) ch.diff.push_back(l.substr(l.find_first_not_of(' ')));
          }
          changes.push_back(std::move(ch));
          break;
        }
        case Action::Keep:
          ctx.progress(o.ref.str() + ": " + o.detail);
          break;
        case Action::Unchanged: {
          auto r = applier.readinessOf(o.ref, o.live);  // as read by plan(): no second GET
          if (!r) return r.error();
          if (!r->ready) changes.push_back({"wait", o.ref.str(), r->reason, {}});
          break;
        }
      }
    }
    plan_ = std::move(*plan);
    const auto& st = (*c)->stats();
    ctx.progress("API: " + std::to_string(st.requests) + " requests, " + std::to_string(st.connections) +
                 " connection(s) so far this run, HTTP/" + (st.httpVersion == 20 ? "2" : "1.1"));
    return changes;
  }

  Status apply(StageContext& ctx, const std::vector<Change>&) override {
    if (!plan_) {
      auto again = plan(ctx);
      if (!again) return again.error();
    }
    auto c = session_->client(ctx.pipeline, {});
    if (!c) return c.error();
    Applier applier(**c, applyOptions(ctx.pipeline));
    const auto previous = drivers::kube::inventoryFromJson(ctx.data.value("inventory", drivers::kube::Json::array()));
    auto out = applier.apply(*plan_, previous, [&](const std::string& m) { ctx.progress(m); });
    ctx.data["inventory"] = drivers::kube::inventoryToJson(out.inventory);
    if (out.error) return *out.error;
    auto ready = applier.waitReady(*plan_, [&](const std::string& m) { ctx.progress(m); });
    plan_.reset();
    return ready;
  }

  Status destroy(StageContext& ctx) override {
    auto inv = drivers::kube::inventoryFromJson(ctx.data.value("inventory", drivers::kube::Json::array()));
    if (inv.empty()) return engine::okStatus();
    auto c = session_->client(ctx.pipeline, {});
    if (!c) return c.error();
    // Namespaces stay (with the PersistentVolumeClaims of Kafka and Loki in them): data is not
    // deleted by `down`.
    std::vector<drivers::kube::InventoryEntry> del, keep;
    for (auto& e : inv) (e.ref.kind == "Namespace" ? keep : del).push_back(e);
    Applier applier(**c, applyOptions(ctx.pipeline));
    auto n = applier.destroy(del, [&](const std::string& m) { ctx.progress(m); });
    if (!n) return n.error();
    if (!keep.empty()) {
      std::string names;
      for (const auto& e : keep) names += (names.empty() ? "" : " ") + e.ref.name;
      ctx.progress("namespaces kept (they hold the PersistentVolumeClaims): " + names +
                   "; `kubectl delete namespace " + names + "` removes them and their data");
    }
    ctx.data["inventory"] = drivers::kube::inventoryToJson(keep);
    return engine::okStatus();
  }

  std::vector<engine::ComponentStatus> status(StageContext& ctx) override {
    std::vector<engine::ComponentStatus> rows;
    const auto inv = drivers::kube::inventoryFromJson(ctx.data.value("inventory", drivers::kube::Json::array()));
    std::vector<ObjectRef> refs;
    for (const auto& e : inv)
      if (e.ref.kind == "Deployment" || e.ref.kind == "StatefulSet" || e.ref.kind == "DaemonSet" || e.ref.kind == "Job")
        refs.push_back(e.ref);
    if (refs.empty()) return rows;
    auto c = session_->client(ctx.pipeline, {});
    if (!c) return {{name_, set_, "degraded", c.error().message, drivers::kube::Json::object()}};
    Applier applier(**c, applyOptions(ctx.pipeline));
    auto obs = applier.observe(refs);
    if (!obs) return {{name_, set_, "degraded", obs.error().message, drivers::kube::Json::object()}};
    for (const auto& [ref, r] : *obs) {
      rows.push_back({name_, ref.name, r.ready ? "running" : (r.reason == "does not exist" ? "absent" : "degraded"),
                      ref.kind + " " + ref.ns + (r.ready ? "" : ": " + r.reason), ref.toJson()});
    }
    return rows;
  }

 private:
  std::string name_, set_;
  std::vector<std::string> deps_;
  std::shared_ptr<KubeSession> session_;
  RenderFn render_;
  std::optional<drivers::kube::Plan> plan_;
};

// The API keys file content for Secret app/ca4-edge-api-config: the spec's key, else the key the
// cluster already has (kept across runs), else a new random one.
Result<std::string> apiKeysFor(const spec::Pipeline& p, Client& c) {
  const auto& key = p.spec.edge.processor.api_key;
  if (!key.empty()) return "spec:" + key.value() + "\n";
  auto r = c.request("GET", "/api/v1/namespaces/app/secrets/ca4-edge-api-config");
  if (!r) return r.error();
  if (r->status == 200) {
    const auto j = r->json();
    if (j.contains("data") && j["data"].contains("api-keys") && j["data"]["api-keys"].is_string()) {
      // keep the existing value (the renderer encodes it again)
      auto kept = common::base64Decode(j["data"]["api-keys"].get<std::string>());
      if (kept && !kept->empty()) return *kept;
    }
  } else if (r->status != 404) {
    if (auto e = r->error()) return e->toError("read Secret app/ca4-edge-api-config");
  }
  return "ca4:" + randomHex(24) + "\n";
}

// verify on cluster targets: the pipeline's workloads are rolled out.
class KubeVerifyStage final : public engine::Stage {
 public:
  explicit KubeVerifyStage(std::shared_ptr<KubeSession> s) : session_(std::move(s)) {}
  std::string name() const override { return "verify"; }
  std::vector<std::string> dependsOn() const override { return {"monitoring"}; }
  std::optional<std::string> skipReason(const spec::Pipeline&) const override { return std::nullopt; }
  std::chrono::seconds timeout() const override { return std::chrono::seconds(60); }
  Result<std::vector<Change>> plan(StageContext& ctx) override {
    auto c = session_->client(ctx.pipeline, {});
    if (!c) return c.error();
    Applier applier(**c, applyOptions(ctx.pipeline));
    const std::vector<ObjectRef> refs = {{"apps/v1", "StatefulSet", "platform", "kafka"},
                                         {"apps/v1", "Deployment", "app", "processor-api"},
                                         {"apps/v1", "Deployment", "app", "metadata-worker"}};
    auto obs = applier.observe(refs);
    if (!obs) return obs.error();
    for (const auto& [ref, r] : *obs) {
      if (r.ready) continue;
      if (ctx.dry_run) return std::vector<Change>{{"run", "check/workloads", ref.str() + " not ready yet", {}}};
      return Error::retryable("preflight " + ref.str() + ": " + r.reason, "kubectl -n " + ref.ns + " describe " + ref.kind + " " + ref.name);
    }
    return std::vector<Change>{};
  }
  Status apply(StageContext&, const std::vector<Change>&) override { return engine::okStatus(); }

 private:
  std::shared_ptr<KubeSession> session_;
};

}  // namespace

std::unique_ptr<engine::Stage> makeClusterConnect(std::shared_ptr<KubeSession> s) {
  return std::make_unique<ClusterConnectStage>(std::move(s));
}

std::unique_ptr<engine::Stage> makePlatform(std::shared_ptr<KubeSession> s) {
  return std::make_unique<KubeApplyStage>(
      "platform", "platform", std::vector<std::string>{"cluster"}, std::move(s),
      [](const spec::Pipeline& p, std::vector<drivers::kube::Json> m, Client& c) -> Result<Rendered> {
        auto keys = apiKeysFor(p, c);
        if (!keys) return keys.error();
        return renderPlatform(p, std::move(m), *keys);
      });
}
std::unique_ptr<engine::Stage> makeEdge(std::shared_ptr<KubeSession> s) {
  return std::make_unique<KubeApplyStage>("edge", "edge", std::vector<std::string>{"platform"}, std::move(s),
                                          [](const spec::Pipeline& p, std::vector<drivers::kube::Json> m, Client&) {
                                            return renderEdge(p, std::move(m));
                                          });
}
std::unique_ptr<engine::Stage> makeMonitoring(std::shared_ptr<KubeSession> s) {
  return std::make_unique<KubeApplyStage>("monitoring", "monitoring", std::vector<std::string>{"edge"}, std::move(s),
                                          [](const spec::Pipeline& p, std::vector<drivers::kube::Json> m, Client&) {
                                            return renderMonitoring(p, std::move(m));
                                          });
}
std::unique_ptr<engine::Stage> makeVerify(std::shared_ptr<KubeSession> s) {
  return std::make_unique<KubeVerifyStage>(std::move(s));
}

std::vector<Check> verifyWorkloads(const spec::Pipeline& p) {
  KubeSession session;
  const auto t0 = std::chrono::steady_clock::now();
  auto c = session.client(p, {});
  auto ms = [&] {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
  };
  if (!c) return {{"cluster", false, c.error().message, c.error().fix, ms(), {}}};
  Applier applier(**c, applyOptions(p));
  const std::vector<ObjectRef> refs = {{"apps/v1", "StatefulSet", "platform", "kafka"},
                                       {"apps/v1", "Deployment", "app", "processor-api"},
                                       {"apps/v1", "Deployment", "app", "metadata-worker"}};
  auto obs = applier.observe(refs);
  if (!obs) return {{"cluster", false, obs.error().message, obs.error().fix, ms(), {}}};
  std::vector<Check> out;
  for (const auto& [ref, r] : *obs) {
    out.push_back({ref.name, r.ready, r.ready ? ref.kind + " " + ref.ns + "/" + ref.name + " rolled out" : ref.str() + ": " + r.reason,
                   r.ready ? "" : "kubectl -n " + ref.ns + " describe " + ref.kind + " " + ref.name + "; `ca4ctl up` applies what is missing",
                   ms(), ref.toJson()});
  }
  return out;
}

}  // namespace ca4::stages::kube
