// cluster (targets hosts, aws after Terraform): K3s on the nodes over SSH through the bastion,
// server first, then the agents, one node at a time; then the kubeconfig for users.
//
// plan(): one read-only command per node (k3s version, running, config.yaml), plus the server's
// k3s.yaml and join token when it runs; nothing is written. apply(): per node, only what differs —
// the binary (air-gapped upload with checksum, or the official installer online), config.yaml
// (from stdin, never a local file: the agents' holds the token), a (re)start — and waits until
// the node is Ready through ca4ctl's own API tunnel. The kubeconfig (server = the users' tunnel
// endpoint, context spec.cluster.context) is written 0600 only when its content changes.

#include <cstdint>
#include <filesystem>
#include <map>

#include "ca4/drivers/kube/client.h"
#include "ca4/drivers/kube/cluster_access.h"
#include "ca4/stages/k3s.h"
#include "ca4/stages/kube.h"
#include "ca4/stages/remote.h"
#include "ca4/stages/files.h"

namespace ca4::stages::k3s {
namespace {

namespace fs = std::filesystem;
namespace ssh = drivers::ssh;
using engine::Change;
using engine::Error;
using engine::Result;
using engine::StageContext;
using engine::Status;
using Clock = std::chrono::steady_clock;

double secondsSince(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

std::string humanSize(std::uintmax_t bytes) {
  if (bytes >= 1024 * 1024) return std::to_string(bytes / (1024 * 1024)) + " MiB";
  return std::to_string((bytes + 1023) / 1024) + " KiB";
}

std::string oneDecimal(double s) {
  char b[32];
  std::snprintf(b, sizeof b, "%.1f", s);
  return b;
}

struct NodeView {
  NodeFacts facts;
  Role role = Role::Agent;
};

class K3sStage final : public engine::Stage {
 public:
  K3sStage(std::shared_ptr<remote::ApiAccess> api) : api_(std::move(api)) {}
  std::string name() const override { return "cluster"; }
  std::vector<std::string> dependsOn() const override { return {"infra"}; }
  std::optional<std::string> skipReason(const spec::Pipeline&) const override { return std::nullopt; }
  std::chrono::seconds timeout() const override { return std::chrono::seconds(900); }

  Result<std::vector<Change>> plan(StageContext& ctx) override {
    original_ = &ctx.pipeline;
    const spec::Pipeline p = remote::resolveHosts(ctx.pipeline);
    if (p.spec.hosts.nodes.empty()) {
      return Error::terminal("spec.hosts.nodes is empty", "list the edge nodes; the first becomes the K3s server");
    }
    const std::string version = p.spec.cluster.k3s_version;
    std::vector<Change> changes;
    std::string token;
    bool serverConverged = false;
    for (std::size_t i = 0; i < p.spec.hosts.nodes.size(); ++i) {
      const auto& n = p.spec.hosts.nodes[i];
      auto s = session(i);
      if (!s) return s.error();
      auto f = facts(**s);
      if (!f) return f.error();
      if (i == 0 && f->running) {
        auto t = (*s)->readFile(kNodeToken);
        if (t) token = trim(*t);
      }
      if (i > 0 && token.empty()) {
        // The join token exists once the server runs: the agents' config follows from it.
        changes.emplace_back(f->version.empty() ? "install" : "update", "node/" + n.name,
                             "k3s " + version + " agent, after the server is up");
        continue;
      }
      auto step = planNode(*f, version, desiredConfig(p, i, token));
      if (i == 0) serverConverged = step.converged();
      if (!step.converged()) {
        changes.emplace_back(step.action, "node/" + n.name,
                             std::string(i == 0 ? "server: " : "agent: ") + step.detail, step.diff);
      }
    }
    // The users' kubeconfig follows the server's k3s.yaml.
    const std::string path = absUnder(p.base_dir, p.spec.cluster.kubeconfig);
    if (serverConverged) {
      auto want = userKubeconfig(p);
      if (!want) return want.error();
      if (readFile(path) != *want) {
        changes.emplace_back(fs::exists(path) ? "update" : "create", "kubeconfig/" + p.spec.cluster.kubeconfig,
                             "server https://127.0.0.1:" + std::to_string(remote::userApiPort(p)) +
                                 ", context " + p.spec.cluster.context);
      }
    } else if (!fs::exists(path)) {
      changes.emplace_back("create", "kubeconfig/" + p.spec.cluster.kubeconfig, "once the server is up");
    }
    return changes;
  }

  Status apply(StageContext& ctx, const std::vector<Change>&) override {
    original_ = &ctx.pipeline;
    const spec::Pipeline p = remote::resolveHosts(ctx.pipeline);
    const std::string version = p.spec.cluster.k3s_version;
    std::string token;
    std::unique_ptr<drivers::kube::Client> api;
    for (std::size_t i = 0; i < p.spec.hosts.nodes.size(); ++i) {
      const auto& n = p.spec.hosts.nodes[i];
      const Role role = i == 0 ? Role::Server : Role::Agent;
      auto s = session(i);
      if (!s) return s.error();
      ssh::Session& sh = **s;
      auto f = facts(sh);
      if (!f) return f.error();
      if (role == Role::Agent && token.empty()) {
        return Error::retryable("no join token from the server yet");
      }
      const std::string desired = desiredConfig(p, i, token);
      auto step = planNode(*f, version, desired);
      const auto t0 = Clock::now();
      if (step.install) {
        auto st = install(ctx, sh, n.name, role, *f);
        if (!st) return st;
      }
      if (step.writeConfig) {
        ctx.progress(n.name + ": writing " + std::string(kConfig));
        auto w = sh.exec(writeConfigCommand(), desired, std::chrono::seconds(60));
        if (!w) return w.error();
        if (w->exitStatus != 0) {
          return Error::terminal(n.name + ": cannot write " + std::string(kConfig) + ": " + trim(w->err),
                                 "the SSH user needs root (or passwordless sudo as root's shell)");
        }
      }
      if (step.restart) {
        ctx.progress(n.name + ": " + (f->running ? "restarting" : "starting") + " k3s " +
                     (role == Role::Server ? "server" : "agent"));
        auto r = sh.run(startCommand(role, f->systemd), "start k3s " + std::string(role == Role::Server ? "server" : "agent"),
                        std::chrono::seconds(120));
        if (!r) return r.error();
      }
      if (role == Role::Server) {
        auto files = waitServerFiles(ctx, sh, n.name, p.spec.cluster.ready_timeout);
        if (!files) return files.error();
        token = files->second;
        auto want = userKubeconfig(p, files->first);
        if (!want) return want.error();
        const std::string path = absUnder(p.base_dir, p.spec.cluster.kubeconfig);
        if (readFile(path) != *want) {
          auto st = writeFileAtomic(path, *want, 0600);
          if (!st) return st;
          ctx.progress("kubeconfig written: " + p.spec.cluster.kubeconfig + " (context " + p.spec.cluster.context +
                       ", server https://127.0.0.1:" + std::to_string(remote::userApiPort(p)) + " — the k3s tunnel)");
        }
        auto c = apiClient(p, files->first);
        if (!c) return c.error();
        api = std::move(*c);
      }
      auto ready = waitReady(ctx, *api, n.name, p.spec.cluster.ready_timeout);
      if (!ready) return ready;
      if (!step.converged()) {
        ctx.progress(n.name + ": Ready (" + oneDecimal(secondsSince(t0)) + " s)");
      }
      ctx.data["nodes"][n.name] = {{"version", version}, {"role", i == 0 ? "server" : "agent"}};
    }
    return engine::okStatus();
  }

  Status destroy(StageContext& ctx) override {
    ctx.progress("K3s stays installed on the nodes (the workloads were removed by the later stages)");
    return engine::okStatus();
  }

  std::vector<engine::ComponentStatus> status(StageContext& ctx) override {
    std::vector<engine::ComponentStatus> rows;
    original_ = &ctx.pipeline;
    const spec::Pipeline p = remote::resolveHosts(ctx.pipeline);
    for (std::size_t i = 0; i < p.spec.hosts.nodes.size(); ++i) {
      const auto& n = p.spec.hosts.nodes[i];
      engine::ComponentStatus r;
      r.stage = "cluster";
      r.name = n.name;
      auto s = session(i);
      if (!s) {
        r.state = "absent";
        r.detail = s.error().message;
        rows.push_back(r);
        continue;
      }
      auto f = facts(**s);
      if (!f) {
        r.state = "degraded";
        r.detail = f.error().message;
      } else {
        r.state = f->running ? "running" : (f->version.empty() ? "absent" : "stopped");
        r.detail = (f->version.empty() ? std::string("k3s not installed")
                                       : "k3s " + f->version + (i == 0 ? " server" : " agent")) +
                   (f->running ? ", pid " + std::to_string(f->pid) : "");
        r.fields = {{"version", f->version}, {"pid", f->pid}, {"startedAt", f->startedAt}};
      }
      rows.push_back(r);
    }
    return rows;
  }

 private:
  // One SSH session per node (through the bastion), kept for the run.
  Result<ssh::Session*> session(std::size_t i) {
    auto plan = remote::sshPlanFor(*original_);
    if (!plan) return plan.error();
    const auto& ep = plan->nodes.at(i);
    const std::string key = ep.name + "|" + ep.address + "|" + std::to_string(ep.port) + "|" + ep.user + "|" +
                            ep.identityFile + "|" + plan->bastion.address + "|" + plan->options.knownHosts;
    auto it = sessions_.find(key);
    if (it != sessions_.end() && it->second->connected()) return it->second.get();
    std::vector<ssh::Endpoint> hops = plan->jumps;
    hops.push_back(plan->bastion);
    auto s = ssh::connect(ep, hops, plan->options);
    if (!s) return s.error();
    auto* raw = s->get();
    sessions_[key] = std::move(*s);
    return raw;
  }

  Result<NodeFacts> facts(ssh::Session& s) {
    auto r = s.exec(probeCommand(), {}, std::chrono::seconds(60));
    if (!r) return r.error();
    auto f = parseFacts(r->out);
    if (!f) return Error::terminal(s.endpoint().name + ": " + f.error().message, f.error().fix);
    return f;
  }

  Status install(StageContext& ctx, ssh::Session& s, const std::string& node, Role role, const NodeFacts& f) {
    const auto& c = ctx.pipeline.spec.cluster;
    const std::string version = c.k3s_version;
    if (c.install_mode == spec::InstallMode::Online) {
      ctx.progress(node + ": installing k3s " + version + " with the official installer (online)");
      auto r = s.run(onlineInstallCommand(role, version), "the k3s installer (get.k3s.io)", std::chrono::seconds(600));
      if (!r) return r.error();
    } else {
      const std::string bin = absUnder(ctx.pipeline.base_dir, c.airgap_binary);
      std::error_code ec;
      const auto size = fs::file_size(bin, ec);
      if (ec) {
        return Error::terminal("spec.cluster.airgapBinary: cannot read " + bin,
                               "download the k3s binary of " + version + " and point airgapBinary at it");
      }
      ctx.progress(node + ": uploading k3s " + version + " (" + humanSize(size) + ", air-gapped)");
      auto mk = s.run("mkdir -p /usr/local/bin", "mkdir -p /usr/local/bin");
      if (!mk) return mk.error();
      // Uploaded beside the installed one and checked before it replaces it: a wrong file never
      // becomes the node's k3s.
      const std::string fresh = std::string(kBinary) + ".ca4new";
      auto up = s.upload(bin, fresh, 0755);
      if (!up) return up;
      auto v = s.exec(fresh + " --version", {}, std::chrono::seconds(60));
      if (!v) return v.error();
      if (auto st = checkVersion(node, versionFromOutput(v->out), c); !st) {
        s.exec("rm -f " + fresh, {}, std::chrono::seconds(30));
        return st;
      }
      auto mv = s.run("mv -f " + fresh + " " + kBinary, "mv k3s into place");
      if (!mv) return mv.error();
      if (!c.airgap_images.empty()) {
        const std::string images = absUnder(ctx.pipeline.base_dir, c.airgap_images);
        auto d = s.run(std::string("mkdir -p ") + kImagesDir, "mkdir images dir");
        if (!d) return d.error();
        ctx.progress(node + ": uploading the air-gap images " + fs::path(images).filename().string());
        auto ui = s.upload(images, std::string(kImagesDir) + "/" + fs::path(images).filename().string(), 0644);
        if (!ui) return ui;
      }
      if (!c.airgap_install_script.empty() && f.systemd) {
        const std::string script = "/usr/local/bin/ca4-k3s-install.sh";
        auto us = s.upload(absUnder(ctx.pipeline.base_dir, c.airgap_install_script), script, 0755);
        if (!us) return us;
        ctx.progress(node + ": running the k3s installer (INSTALL_K3S_SKIP_DOWNLOAD=true)");
        auto r = s.run(airgapInstallCommand(role, version, script), "the k3s installer (air-gapped)",
                       std::chrono::seconds(300));
        if (!r) return r.error();
      }
    }
    // The binary must be the version the spec pins, whichever way it came.
    auto v = s.exec(std::string(kBinary) + " --version", {}, std::chrono::seconds(60));
    if (!v) return v.error();
    return checkVersion(node, versionFromOutput(v->out), c);
  }

  static Status checkVersion(const std::string& node, const std::string& got, const spec::Cluster& c) {
    if (got == c.k3s_version) return engine::okStatus();
    const bool airgap = c.install_mode == spec::InstallMode::Airgap;
    return Error::terminal(node + ": the " + std::string(airgap ? "uploaded" : "installed") + " k3s reports " +
                               (got.empty() ? "no version" : got) + ", but spec.cluster.k3sVersion is " +
                               c.k3s_version + (airgap ? " (the node's k3s was left as it was)" : ""),
                           airgap ? "point spec.cluster.airgapBinary at the k3s binary of " + c.k3s_version
                                  : "check the node's network access to get.k3s.io / github.com");
  }

  // The server's k3s.yaml and join token, once K3s has written them.
  Result<std::pair<std::string, std::string>> waitServerFiles(StageContext& ctx, ssh::Session& s,
                                                              const std::string& node,
                                                              std::chrono::seconds timeout) {
    const auto t0 = Clock::now();
    auto nextNote = t0 + std::chrono::seconds(10);
    while (true) {
      auto r = s.exec(std::string("test -s ") + kKubeconfig + " && test -s " + kNodeToken, {},
                      std::chrono::seconds(30));
      if (!r) return r.error();
      if (r->exitStatus == 0) break;
      if (Clock::now() - t0 > timeout) {
        return Error::terminal(node + ": k3s server wrote no " + std::string(kKubeconfig) + " within " +
                                   std::to_string(timeout.count()) + " s",
                               "see /var/lib/rancher/k3s/ca4/k3s.log (or `journalctl -u k3s`) on " + node);
      }
      if (Clock::now() > nextNote) {
        ctx.progress(node + ": waiting for the k3s server (" + oneDecimal(secondsSince(t0)) + " s)");
        nextNote += std::chrono::seconds(10);
      }
      if (!ctx.clock.sleepFor(std::chrono::milliseconds(500))) return Error::terminal("interrupted");
    }
    auto kc = s.readFile(kKubeconfig);
    if (!kc) return kc.error();
    auto tok = s.readFile(kNodeToken);
    if (!tok) return tok.error();
    std::string token = trim(*tok);
    if (!looksLikeNodeToken(token)) {
      return Error::terminal(node + ": " + std::string(kNodeToken) + " is not a K3s join token",
                             "reinstall the K3s server on " + node);
    }
    return std::make_pair(*kc, token);
  }

  Result<std::string> userKubeconfig(const spec::Pipeline& p, const std::string& k3sYaml) {
    return rewriteKubeconfig(k3sYaml, "https://127.0.0.1:" + std::to_string(remote::userApiPort(p)),
                             p.spec.cluster.context);
  }
  Result<std::string> userKubeconfig(const spec::Pipeline& p) {
    auto s = session(0);
    if (!s) return s.error();
    auto kc = (*s)->readFile(kKubeconfig);
    if (!kc) return kc.error();
    return userKubeconfig(p, *kc);
  }

  // A client for the server's API through ca4ctl's own tunnel, with k3s.yaml's credentials.
  Result<std::unique_ptr<drivers::kube::Client>> apiClient(const spec::Pipeline& p, const std::string& k3sYaml) {
    auto url = api_->server(*original_);
    if (!url) return url.error();
    auto access = drivers::kube::parseKubeconfig(k3sYaml, "k3s.yaml of " + p.spec.hosts.nodes.front().name,
                                                 "default", "");
    if (!access) return access.error();
    access->server = *url;
    return std::make_unique<drivers::kube::Client>(std::move(*access));
  }

  Status waitReady(StageContext& ctx, drivers::kube::Client& api, const std::string& node,
                   std::chrono::seconds timeout) {
    const auto t0 = Clock::now();
    auto nextNote = t0 + std::chrono::seconds(10);
    std::string last = "not registered";
    while (true) {
      auto r = api.request("GET", "/api/v1/nodes/" + node);
      if (r && !r->error()) {
        last = "registered, not Ready";
        for (const auto& c : r->json()["status"].value("conditions", drivers::kube::Json::array())) {
          if (c.value("type", "") == "Ready" && c.value("status", "") == "True") return engine::okStatus();
        }
      } else if (!r) {
        last = r.error().message;
      }
      if (Clock::now() - t0 > timeout) {
        return Error::terminal("node " + node + " not Ready after " + std::to_string(timeout.count()) + " s (" +
                                   last + ")",
                               "see the k3s log on " + node + " (/var/lib/rancher/k3s/ca4/k3s.log or journalctl -u k3s)");
      }
      if (Clock::now() > nextNote) {
        ctx.progress("node " + node + ": " + last + " (" + oneDecimal(secondsSince(t0)) + " s)");
        nextNote += std::chrono::seconds(10);
      }
      if (!ctx.clock.sleepFor(std::chrono::milliseconds(500))) return Error::terminal("interrupted");
    }
  }

  std::shared_ptr<remote::ApiAccess> api_;
  const spec::Pipeline* original_ = nullptr;  // the spec as written (for ssh config lookups)
  std::map<std::string, std::unique_ptr<ssh::Session>> sessions_;
};

}  // namespace

std::unique_ptr<engine::Stage> makeK3sStage(std::shared_ptr<remote::ApiAccess> api) {
  return std::make_unique<K3sStage>(std::move(api));
}

}  // namespace ca4::stages::k3s
