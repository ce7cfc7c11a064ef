// The local target's platform, edge and monitoring stages: supervised processes plus the
// resources they need (bucket; topics and API key file).
//
// plan(): per component — running with the same config digest and ready → nothing; running but
// configured differently → restart; not running → start (or a terminal error when its port is
// held by a program ca4 did not start). Plus the stage's resources.
// apply(): pre-resources (edge: API key, topics), then stop/start processes in order, each
// waited for until its probe passes (with progress), then post-resources (platform: bucket).
#include <openssl/rand.h>

#include <filesystem>
#include <thread>

#include "ca4/drivers/kafka/admin.h"
#include "ca4/drivers/kafka/cluster_id.h"
#include "ca4/drivers/local/ports.h"
#include "ca4/drivers/local/process.h"
#include "ca4/drivers/s3/client.h"
#include "ca4/stages/endpoints.h"
#include "ca4/stages/local_services.h"
#include "ca4/stages/stages.h"
#include "ca4/stages/files.h"
#include "probes.h"

namespace ca4::stages::local {
namespace fs = std::filesystem;
using engine::Change;
using engine::Error;
using engine::Result;
using engine::StageContext;
using engine::Status;

namespace {

std::string portKey(const std::string& component) {
  if (component == "db") return "db";
  if (component == "worker") return "workerMetrics";
  return component;
}



class LocalServicesStage : public engine::Stage {
 public:
  std::chrono::seconds timeout() const override { return std::chrono::seconds(240); }

  Result<std::vector<Change>> plan(StageContext& ctx) override {
    auto layout = resolveLayout(ctx.pipeline);
    if (!layout) return layout.error();
    std::vector<Change> changes;
    auto pre = preChanges(ctx, *layout);
    if (!pre) return pre.error();
    changes = std::move(*pre);
    bool all_running = true;
    for (const auto& c : components(ctx.pipeline, *layout)) {
      // a pre-change may already restart it (a running processor, for a new API key)
      if (find(changes, "process/" + c.name)) continue;
      auto rec = record(ctx, c.name);
      if (rec && drivers::local::alive(*rec)) {
        if (ctx.data["processes"][c.name].value("configDigest", "") != c.configDigest()) {
          changes.push_back({"restart", "process/" + c.name, "configuration changed"});
          continue;
        }
        auto ready = probe(c);
        if (!ready) {
          if (drivers::local::uptimeSeconds(*rec) > c.start_timeout_s) {
            changes.push_back({"restart", "process/" + c.name,
                               "running (pid " + std::to_string(rec->pid) + ") but not ready: " +
                                   ready.error().message});
          } else {
            return Error::retryable(c.name + ": starting (pid " + std::to_string(rec->pid) +
                                    "): " + ready.error().message);
          }
        }
        continue;
      }
      all_running = false;
      if (drivers::local::tcpOpen("127.0.0.1", c.port)) {
        auto owner = drivers::local::listeningOwner(c.port);
        std::string who = owner && owner->pid > 0
                              ? "pid " + std::to_string(owner->pid) + " (" + owner->comm + ")"
                              : "another program";
        return Error::terminal(c.name + ": port " + std::to_string(c.port) + " is in use by " + who +
                                   ", which ca4 did not start",
                               "stop it, or choose another port: spec.local.ports." + portKey(c.name) +
                                   " in " + ctx.pipeline.source_path);
      }
      std::string why = rec ? "exited (was pid " + std::to_string(rec->pid) + ")" : "not running";
      changes.push_back({"start", "process/" + c.name, why});
    }
    auto post = postChanges(ctx, *layout, all_running);
    if (!post) return post.error();
    changes.insert(changes.end(), post->begin(), post->end());
    return changes;
  }

  Status apply(StageContext& ctx, const std::vector<Change>& changes) override {
    auto layout = resolveLayout(ctx.pipeline);
    if (!layout) return layout.error();
    fs::create_directories(layout->data_dir);
    fs::permissions(layout->data_dir, fs::perms::owner_all);
    if (auto s = applyPre(ctx, *layout, changes); !s) return s;
    for (const auto& c : components(ctx.pipeline, *layout)) {
      const Change* ch = find(changes, "process/" + c.name);
      if (!ch) continue;
      if (ch->action == "restart") {
        if (auto rec = record(ctx, c.name)) {
          ctx.progress(c.name + ": stopping (pid " + std::to_string(rec->pid) + ")");
          if (auto s = drivers::local::stop(*rec, std::chrono::seconds(30)); !s) return s;
        }
      }
      if (auto s = startComponent(ctx, *layout, c); !s) return s;
    }
    return applyPost(ctx, *layout, changes);
  }

  Status destroy(StageContext& ctx) override {
    // reverse start order; record() also finds processes a killed ca4ctl started but never
    // recorded in state.json (their pid files)
    std::vector<std::string> names = order();
    for (auto it = names.rbegin(); it != names.rend(); ++it) {
      auto rec = record(ctx, *it);
      if (rec && drivers::local::alive(*rec)) {
        ctx.progress(*it + ": stopping (pid " + std::to_string(rec->pid) + ")");
        if (auto s = drivers::local::stop(*rec, std::chrono::seconds(30)); !s) return s;
        ctx.progress(*it + ": stopped");
      }
      if (ctx.data.contains("processes")) ctx.data["processes"].erase(*it);
      std::error_code ec;
      fs::remove(pidFile(ctx, *it), ec);
    }
    return engine::okStatus();
  }

  std::vector<engine::ComponentStatus> status(StageContext& ctx) override {
    std::vector<engine::ComponentStatus> out;
    auto layout = resolveLayout(ctx.pipeline);
    std::vector<Component> comps;
    if (layout) comps = components(ctx.pipeline, *layout);
    for (const auto& name : order()) {
      const Component* comp = nullptr;
      for (const auto& c : comps) {
        if (c.name == name) comp = &c;
      }
      if (layout && !comp) continue;  // not part of this spec (e.g. archive off)
      engine::ComponentStatus s;
      s.stage = this->name();
      s.name = name;
      auto rec = record(ctx, name);
      if (rec && drivers::local::alive(*rec)) {
        auto ready = comp ? probe(*comp) : engine::okStatus();
        s.state = ready ? "running" : "degraded";
        s.detail = "pid " + std::to_string(rec->pid) + ", up " +
                   std::to_string(drivers::local::uptimeSeconds(*rec)) + " s" +
                   (ready ? "" : ", not ready: " + ready.error().message);
        s.fields = {{"pid", rec->pid}, {"log", rec->log_file},
                    {"uptime_s", drivers::local::uptimeSeconds(*rec)}};
      } else {
        s.state = "stopped";
        s.detail = rec ? "exited (was pid " + std::to_string(rec->pid) + ")" : "never started";
        if (rec) s.fields = {{"log", rec->log_file}};
      }
      if (comp) {
        s.fields["port"] = comp->port;
        s.detail += ", port " + std::to_string(comp->port);
      }
      out.push_back(std::move(s));
    }
    return out;
  }

 protected:
  virtual std::vector<Component> components(const spec::Pipeline& p, const Layout& l) const = 0;
  virtual std::vector<std::string> order() const = 0;  // every component name, start order
  virtual Result<std::vector<Change>> preChanges(StageContext&, const Layout&) { return std::vector<Change>{}; }
  virtual Result<std::vector<Change>> postChanges(StageContext&, const Layout&, bool) {
    return std::vector<Change>{};
  }
  virtual Status applyPre(StageContext&, const Layout&, const std::vector<Change>&) { return engine::okStatus(); }
  virtual Status applyPost(StageContext&, const Layout&, const std::vector<Change>&) { return engine::okStatus(); }
  virtual Status prepare(StageContext&, const Layout&, const Component&) { return engine::okStatus(); }

  static const Change* find(const std::vector<Change>& changes, const std::string& object) {
    for (const auto& c : changes) {
      if (c.object == object) return &c;
    }
    return nullptr;
  }

  // <data_dir>/<name>.pid: written the moment a process starts, before readiness, so a ca4ctl
  // killed mid-start leaves a trail the next run adopts instead of starting a duplicate.
  static std::string pidFile(StageContext& ctx, const std::string& name) {
    return localDataDir(ctx.pipeline) + "/" + name + ".pid";
  }

  // The process ca4 runs for `name`: from state.json, else (adopted) from its pid file. The
  // adopted record is copied into the stage data so plan/status see its config digest.
  static std::optional<drivers::local::ProcessRecord> record(StageContext& ctx, const std::string& name) {
    if (ctx.data.contains("processes") && ctx.data["processes"].contains(name)) {
      auto rec = drivers::local::ProcessRecord::fromJson(ctx.data["processes"][name]);
      if (rec && drivers::local::alive(*rec)) return rec;
    }
    std::string text = readFile(pidFile(ctx, name));
    if (!text.empty()) {
      auto j = nlohmann::json::parse(text, nullptr, false);
      auto rec = drivers::local::ProcessRecord::fromJson(j);
      if (rec && drivers::local::alive(*rec)) {
        ctx.data["processes"][name] = j;
        return rec;
      }
    }
    if (ctx.data.contains("processes") && ctx.data["processes"].contains(name)) {
      return drivers::local::ProcessRecord::fromJson(ctx.data["processes"][name]);  // dead: for messages
    }
    return std::nullopt;
  }

  Status startComponent(StageContext& ctx, const Layout& l, const Component& c) {
    for (const auto& [path, content] : c.files) {
      if (auto s = writeFileAtomic(path, content, 0600); !s) return s;
    }
    if (auto s = prepare(ctx, l, c); !s) return s;
    if (drivers::local::tcpOpen("127.0.0.1", c.port)) {
      return Error::retryable(c.name + ": port " + std::to_string(c.port) + " still in use");
    }
    auto rec = drivers::local::start(c.process);
    if (!rec) return rec.error();
    auto j = rec->toJson();
    j["configDigest"] = c.configDigest();
    j["port"] = c.port;
    ctx.data["processes"][c.name] = j;
    if (auto s = writeFileAtomic(pidFile(ctx, c.name), j.dump() + "\n", 0600); !s) {
      return s;
    }
    ctx.progress(c.name + ": started (pid " + std::to_string(rec->pid) + ", port " + std::to_string(c.port) + ")",
                 {{"component", c.name}, {"pid", rec->pid}, {"port", c.port}, {"log", c.process.log_file}});
    auto t0 = ctx.clock.now();
    int last_report = -1;
    for (;;) {
      if (!drivers::local::alive(*rec)) {
        return Error::terminal(c.name + ": exited during start; last log lines:\n" +
                                   drivers::local::tail(c.process.log_file, 12),
                               "see " + c.process.log_file);
      }
      auto ready = probe(c);
      if (ready) break;
      auto waited = std::chrono::duration_cast<std::chrono::seconds>(ctx.clock.now() - t0).count();
      if (waited >= c.start_timeout_s) {
        return Error::retryable(c.name + ": not ready after " + std::to_string(waited) + " s (" +
                                    ready.error().message + ")",
                                "see " + c.process.log_file);
      }
      if (waited / 5 != last_report) {
        last_report = static_cast<int>(waited / 5);
        ctx.progress(c.name + ": waiting for readiness (" + std::to_string(waited) + " s)");
      }
      if (!ctx.clock.sleepFor(std::chrono::milliseconds(250))) return Error::retryable("interrupted");
    }
    ctx.progress(c.name + ": ready");
    return engine::okStatus();
  }
};

// ---- platform: Kafka, DB, S3 ---------------------------------------------------------------
class LocalPlatformStage final : public LocalServicesStage {
 public:
  std::string name() const override { return "platform"; }
  std::vector<std::string> dependsOn() const override { return {"cluster"}; }
  std::optional<std::string> skipReason(const spec::Pipeline&) const override { return std::nullopt; }

 protected:
  std::vector<Component> components(const spec::Pipeline& p, const Layout& l) const override {
    return platformComponents(p, l);
  }
  std::vector<std::string> order() const override { return {"kafka", "db", "s3"}; }

  Status prepare(StageContext& ctx, const Layout& l, const Component& c) override {
    if (c.name == "kafka" && !fs::exists(l.data_dir + "/kafka-data/meta.properties")) {
      ctx.progress("kafka: formatting storage (first start)");
      fs::create_directories(l.data_dir + "/kafka-data");
      drivers::local::ProcessSpec fmt{"kafka-format",
                                      {l.java, "-Xmx256m", "-cp", l.kafka_libs + "/*",
                                       "kafka.tools.StorageTool", "format", "-t", drivers::kafka::newClusterId(),
                                       "-c", l.data_dir + "/kafka.properties", "--ignore-formatted"},
                                      {},
                                      l.data_dir + "/kafka.log",
                                      l.data_dir};
      auto rc = drivers::local::runToCompletion(fmt, std::chrono::seconds(90));
      if (!rc) return rc.error();
      if (*rc != 0) {
        return Error::terminal("kafka: storage format failed (exit " + std::to_string(*rc) + "):\n" +
                                   drivers::local::tail(l.data_dir + "/kafka.log", 8),
                               "see " + l.data_dir + "/kafka.log");
      }
    }
    if (c.name == "db") {
      fs::create_directories(l.data_dir + "/db-data");
      fs::create_directories(l.data_dir + "/db-state");
    }
    return engine::okStatus();
  }

  Result<std::vector<Change>> postChanges(StageContext& ctx, const Layout&, bool all_running) override {
    const auto& a = ctx.pipeline.spec.platform.archive;
    if (!a.enabled) return std::vector<Change>{};
    // moto keeps buckets in memory: a restarted S3 server has none, so observe, don't remember.
    if (all_running && bucketExists(ctx)) return std::vector<Change>{};
    return std::vector<Change>{{"create", "bucket/" + a.bucket, "archive bucket"}};
  }

  Status applyPost(StageContext& ctx, const Layout&, const std::vector<Change>& changes) override {
    const auto& a = ctx.pipeline.spec.platform.archive;
    if (!a.enabled || !find(changes, "bucket/" + a.bucket)) return engine::okStatus();
    auto s3 = client(ctx);
    if (!s3) return s3.error();
    return s3->ensureBucket(a.bucket);
  }

 private:
  static Result<drivers::s3::Client> client(StageContext& ctx) {
    auto e = resolveEndpoints(ctx.pipeline);
    if (!e) return e.error();
    drivers::s3::ClientOptions o;
    o.endpoint = e->s3_endpoint;
    o.region = e->s3_region;
    o.credentials.access_key_id = e->s3_access_key;
    o.credentials.secret_access_key = e->s3_secret_key;
    o.timeout = std::chrono::seconds(5);
    return drivers::s3::Client::create(std::move(o));
  }
  bool bucketExists(StageContext& ctx) {
    auto s3 = client(ctx);
    return s3 && s3->list(ctx.pipeline.spec.platform.archive.bucket, "ca4-probe/").ok();
  }
};

// ---- edge: topics, API key, processor, worker ----------------------------------------------
class LocalEdgeStage final : public LocalServicesStage {
 public:
  std::string name() const override { return "edge"; }
  std::vector<std::string> dependsOn() const override { return {"platform"}; }
  std::optional<std::string> skipReason(const spec::Pipeline&) const override { return std::nullopt; }

 protected:
  std::vector<Component> components(const spec::Pipeline& p, const Layout& l) const override {
    return edgeComponents(p, l, apiKeysFile(p));
  }
  std::vector<std::string> order() const override { return {"processor", "worker"}; }

  Result<std::vector<Change>> preChanges(StageContext& ctx, const Layout&) override {
    std::vector<Change> out;
    const auto& p = ctx.pipeline;
    const auto& k = p.spec.edge.kafka;
    const bool broker_down = !drivers::local::tcpOpen("127.0.0.1", p.spec.local.ports.kafka);
    if (broker_down) {
      // plan on a stopped pipeline: the broker starts first, then the topics are created
      for (auto [topic, parts] : {std::pair{k.topic, k.partitions}, std::pair{k.dlq_topic, 1}}) {
        out.push_back({"create", "topic/" + topic, std::to_string(parts) + (parts == 1 ? " partition" : " partitions") + " (broker not running yet)"});
      }
    }
    for (auto [topic, parts] : {std::pair{k.topic, k.partitions}, std::pair{k.dlq_topic, 1}}) {
      if (broker_down) break;
      auto admin = drivers::kafka::Admin::create(resolveBootstrap(p), std::chrono::seconds(5));
      if (!admin) return admin.error();
      auto t = admin->describeTopic(topic);
      if (!t) return t.error();
      if (!t->has_value()) {
        out.push_back({"create", "topic/" + topic, std::to_string(parts) + (parts == 1 ? " partition" : " partitions")});
      } else if ((*t)->partitions < parts) {
        out.push_back({"update", "topic/" + topic,
                       "partitions " + std::to_string((*t)->partitions) + " → " + std::to_string(parts)});
      } else if ((*t)->partitions > parts) {
        return Error::terminal("topic " + topic + " has " + std::to_string((*t)->partitions) +
                                   " partitions; Kafka cannot reduce them to " + std::to_string(parts),
                               "set spec.edge.kafka.partitions to at least " +
                                   std::to_string((*t)->partitions) + ", or `ca4ctl down --purge` to start over");
      }
    }
    auto want = desiredKeyFile(p);
    std::string have = readFile(apiKeysFile(p));
    if (have.empty() || (want && have != *want)) {
      // The detail never shows the key; only that it is (re)written.
      out.push_back({"create", "secret/api-key", have.empty() ? "generate the local API key (0600)"
                                                              : "API key changed in the environment"});
      // the processor reads the key file at start: a running one must restart to use the new key
      if (auto rec = record(ctx, "processor"); rec && drivers::local::alive(*rec)) {
        out.push_back({"restart", "process/processor", "API key changed"});
      }
    }
    return out;
  }

  Status applyPre(StageContext& ctx, const Layout&, const std::vector<Change>& changes) override {
    const auto& p = ctx.pipeline;
    const auto& k = p.spec.edge.kafka;
    for (auto [topic, parts] : {std::pair{k.topic, k.partitions}, std::pair{k.dlq_topic, 1}}) {
      if (!find(changes, "topic/" + topic)) continue;
      auto admin = drivers::kafka::Admin::create(resolveBootstrap(p), std::chrono::seconds(15));
      if (!admin) return admin.error();
      auto r = admin->ensureTopic(topic, parts, 1);
      if (!r) return r.error();
      ctx.progress("topic " + topic + ": " + std::to_string(parts) + " partitions");
    }
    if (find(changes, "secret/api-key")) {
      auto want = desiredKeyFile(p);
      std::string content = want ? *want : "local:" + randomKey() + "\n";
      if (auto s = writeFileAtomic(apiKeysFile(p), content, 0600); !s) return s;
      ctx.progress("API key written to " + apiKeysFile(p) + " (0600)");
    }
    return engine::okStatus();
  }

 private:
  static std::string resolveBootstrap(const spec::Pipeline& p) {
    return "127.0.0.1:" + std::to_string(p.spec.local.ports.kafka);
  }
  // The key file content the spec demands (when spec.edge.processor.apiKey is set), else none.
  static std::optional<std::string> desiredKeyFile(const spec::Pipeline& p) {
    const auto& key = p.spec.edge.processor.api_key;
    if (key.empty()) return std::nullopt;
    return "spec:" + key.value() + "\n";
  }
  static std::string randomKey() {
    unsigned char b[24];
    RAND_bytes(b, sizeof b);
    static const char* a = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    std::string s;
    for (unsigned char c : b) s += a[c % 62];
    return s;
  }
};

// ---- monitoring: Prometheus ------------------------------------------------------------------
class LocalMonitoringStage final : public LocalServicesStage {
 public:
  std::string name() const override { return "monitoring"; }
  std::vector<std::string> dependsOn() const override { return {"edge"}; }
  std::optional<std::string> skipReason(const spec::Pipeline& p) const override {
    if (!p.spec.monitoring.enabled) return "spec.monitoring.enabled is false";
    return std::nullopt;
  }

 protected:
  std::vector<Component> components(const spec::Pipeline& p, const Layout& l) const override {
    return monitoringComponents(p, l);
  }
  std::vector<std::string> order() const override { return {"prometheus"}; }
};

}  // namespace

std::unique_ptr<engine::Stage> makeLocalPlatform() { return std::make_unique<LocalPlatformStage>(); }
std::unique_ptr<engine::Stage> makeLocalEdge() { return std::make_unique<LocalEdgeStage>(); }
std::unique_ptr<engine::Stage> makeLocalMonitoring() { return std::make_unique<LocalMonitoringStage>(); }

}  // namespace ca4::stages::local
