#include "ca4/stages/verify.h"

#include <openssl/rand.h>

#include <chrono>
#include <cmath>
#include <ctime>
#include <thread>

#include "ca4/drivers/http/http_client.h"
#include "ca4/drivers/kafka/admin.h"
#include "ca4/drivers/mongo/probe.h"
#include "ca4/drivers/s3/client.h"
#include "ca4/engine/clock.h"
#include "probes.h"

namespace ca4::stages {
using local::httpOk;
namespace {

using Clock = std::chrono::steady_clock;

long long msSince(Clock::time_point t0) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0).count();
}

Check make(std::string name, Clock::time_point t0, const engine::Status& s, std::string ok_msg,
           std::string fix = {}) {
  Check c;
  c.name = std::move(name);
  c.ok = s.ok();
  c.duration_ms = msSince(t0);
  c.message = s.ok() ? std::move(ok_msg) : s.error().message;
  if (!s.ok()) c.fix = !s.error().fix.empty() ? s.error().fix : std::move(fix);
  return c;
}

engine::Result<drivers::s3::Client> s3Client(const Endpoints& e) {
  drivers::s3::ClientOptions o;
  o.endpoint = e.s3_endpoint;
  o.region = e.s3_region;
  o.credentials.access_key_id = e.s3_access_key;
  o.credentials.secret_access_key = e.s3_secret_key;
  o.timeout = std::chrono::seconds(5);
  return drivers::s3::Client::create(std::move(o));
}

std::string randomHex(int bytes) {
  std::vector<unsigned char> b(static_cast<size_t>(bytes));
  RAND_bytes(b.data(), bytes);
  static const char* hex = "0123456789abcdef";
  std::string s;
  for (unsigned char c : b) {
    s += hex[c >> 4];
    s += hex[c & 15];
  }
  return s;
}

const std::string kFixLogs = "run `ca4ctl status` for the component's log file, then `ca4ctl up` to repair";

}  // namespace

std::vector<Check> verifyPreflight(const spec::Pipeline& p, const Endpoints& e) {
  std::vector<Check> out;
  auto t0 = Clock::now();
  {
    auto admin = drivers::kafka::Admin::create(e.kafka_bootstrap, std::chrono::seconds(3));
    engine::Status s = admin ? engine::Status(engine::okStatus()) : engine::Status(admin.error());
    int brokers = 0;
    if (admin) {
      auto info = admin->describeCluster();
      if (info) brokers = info->brokerCount();
      else s = info.error();
    }
    out.push_back(make("kafka", t0, s, std::to_string(brokers) + " broker(s) at " + e.kafka_bootstrap, kFixLogs));
  }
  t0 = Clock::now();
  {
    auto db = drivers::mongo::Probe::create({e.mongo_uri, p.spec.platform.db.tls_ca_file, std::chrono::seconds(5)});
    engine::Status s = db ? db->ping() : engine::Status(db.error());
    out.push_back(make("db", t0, s, "ping ok", kFixLogs));
  }
  if (e.archive) {
    t0 = Clock::now();
    auto s3 = s3Client(e);
    engine::Status st = engine::okStatus();
    if (!s3) {
      st = s3.error();
    } else if (auto l = s3->list(e.s3_bucket, "ca4-probe/"); !l) {
      st = l.error();
    }
    out.push_back(make("s3", t0, st,
                       "bucket " + e.s3_bucket + " reachable", kFixLogs));
  }
  t0 = Clock::now();
  out.push_back(make("processor", t0, httpOk(e.processor_url, "/readyz"), "ready (GET /readyz 200)", kFixLogs));
  t0 = Clock::now();
  out.push_back(make("worker", t0, httpOk(e.worker_metrics_url, "/healthz"), "healthy (GET /healthz 200)", kFixLogs));
  if (!e.prometheus_url.empty()) {
    t0 = Clock::now();
    out.push_back(make("prometheus", t0, httpOk(e.prometheus_url, "/-/ready"), "ready (GET /-/ready 200)", kFixLogs));
  }
  return out;
}

std::vector<Check> verifyKafka(const spec::Pipeline& p, const Endpoints& e) {
  std::vector<Check> out;
  const auto& k = p.spec.edge.kafka;
  for (auto [topic, want] : {std::pair{k.topic, k.partitions}, std::pair{k.dlq_topic, 1}}) {
    auto t0 = Clock::now();
    Check c;
    c.name = "topic/" + topic;
    auto admin = drivers::kafka::Admin::create(e.kafka_bootstrap, std::chrono::seconds(5));
    if (!admin) {
      out.push_back(make(c.name, t0, admin.error(), ""));
      continue;
    }
    auto t = admin->describeTopic(topic);
    c.duration_ms = msSince(t0);
    if (!t) {
      c.message = t.error().message;
      c.fix = kFixLogs;
    } else if (!t->has_value()) {
      c.message = "topic " + topic + " does not exist";
      c.fix = "run `ca4ctl up` (the edge stage creates it)";
    } else if ((*t)->partitions != want) {
      c.message = "topic " + topic + " has " + std::to_string((*t)->partitions) + " partitions, spec wants " +
                  std::to_string(want);
      c.fix = "run `ca4ctl up` to add partitions (Kafka cannot remove them)";
    } else if ((*t)->partitionsWithoutLeader > 0) {
      c.message = std::to_string((*t)->partitionsWithoutLeader) + " partition(s) without a leader";
      c.fix = kFixLogs;
    } else {
      c.ok = true;
      c.message = std::to_string(want) + " partition(s), replication factor " +
                  std::to_string((*t)->replicationFactor) + ", all with a leader";
      c.fields = {{"partitions", want}, {"replicationFactor", (*t)->replicationFactor}};
    }
    out.push_back(std::move(c));
  }
  return out;
}

std::vector<Check> verifyDb(const spec::Pipeline& p, const Endpoints& e) {
  auto t0 = Clock::now();
  auto db = drivers::mongo::Probe::create({e.mongo_uri, p.spec.platform.db.tls_ca_file, std::chrono::seconds(5)});
  if (!db) return {make("db.probe", t0, db.error(), "", kFixLogs)};
  auto rt = db->writeReadDelete(e.db, e.collection);
  if (!rt) return {make("db.probe", t0, rt.error(), "", kFixLogs)};
  auto us = [](std::chrono::microseconds d) { return std::to_string(d.count() / 1000.0).substr(0, 5) + " ms"; };
  Check c = make("db.probe", t0, engine::okStatus(),
                 "wrote, read back and deleted a probe document in " + e.db + "." + e.collection + " (insert " +
                     us(rt->insert) + ", read " + us(rt->read) + ", delete " + us(rt->remove) + ")");
  c.fields = {{"insert_us", rt->insert.count()}, {"read_us", rt->read.count()}, {"delete_us", rt->remove.count()}};
  return {c};
}

std::string archiveRawKey(const std::string& event_id, long long produced_at_unix) {
  std::time_t t = static_cast<std::time_t>(produced_at_unix);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[40];
  std::strftime(buf, sizeof buf, "raw/dt=%Y-%m-%d/hour=%H/", &tm);
  return buf + event_id + ".json";
}

std::string verifyEvent(const std::string& event_id, const std::string& produced_at) {
  nlohmann::json emb = nlohmann::json::array();
  // deterministic, non-trivial vector (a ResNet50-sized embedding)
  for (int i = 0; i < 2048; ++i) emb.push_back(std::round(std::sin(i * 0.37) * 1e6) / 1e6);
  nlohmann::json doc = {
      {"schema_version", "ca4.metadata/v1"},
      {"event_id", event_id},
      {"source", {{"producer", "ca4ctl-verify"}, {"host", "localhost"}}},
      {"item",
       {{"uri", "ca4://verify/" + event_id + ".png"},
        {"sha256", std::string(64, 'a')},
        {"kind", "image"},
        {"size_bytes", 150528},
        {"width", 224},
        {"height", 224},
        {"channels", 3}}},
      {"extraction",
       {{"model", {{"name", "resnet50"}}},
        {"embedding", emb},
        {"device", {{"type", "gpu"}, {"name", "ca4 verify"}, {"memory_mb", 16384}}}}},
      {"produced_at", produced_at}};
  return doc.dump();
}

std::vector<Check> verifyE2e(const spec::Pipeline& p, const Endpoints& e, const Progress& progress) {
  std::vector<Check> out;
  const auto now = std::time(nullptr);
  const std::string id = "verify-" + std::to_string(now) + "-" + randomHex(4);
  const auto timeout = std::chrono::duration_cast<std::chrono::milliseconds>(p.spec.verify.timeout);
  auto t0 = Clock::now();
  auto fail = [&](std::string stage, std::string msg, std::string fix) {
    Check c;
    c.name = "e2e";
    c.ok = false;
    c.duration_ms = msSince(t0);
    c.message = "stopped at " + stage + ": " + msg;
    c.fix = std::move(fix);
    c.fields = {{"event_id", id}, {"stage", stage}};
    out.push_back(std::move(c));
    return out;
  };
  if (e.api_key.empty()) {
    return fail("api", "no API key (spec.edge.processor.apiKey unset and no generated key file)", "run `ca4ctl up`");
  }
  // 1. POST as the producer would: 202 means Kafka acknowledged the record.
  drivers::http::HttpClient http;
  drivers::http::Request req;
  req.method = "POST";
  req.url = e.processor_url + "/v1/metadata";
  req.headers = {{"Authorization", "Bearer " + e.api_key}, {"Content-Type", "application/json"}};
  req.body = verifyEvent(id, engine::rfc3339(std::chrono::system_clock::from_time_t(now)));
  req.timeout = std::chrono::seconds(15);
  if (progress) progress("POST /v1/metadata event_id=" + id);
  auto r = http.request(req);
  if (!r) return fail("api", r.error().message, kFixLogs);
  if (r->status != 202) {
    return fail("api", "POST /v1/metadata answered " + std::to_string(r->status) + ": " + r->body.substr(0, 300),
                r->status == 401 ? "the API key does not match the processor's; run `ca4ctl up`" : kFixLogs);
  }
  long long accepted_ms = msSince(t0);
  if (progress) progress("accepted (202 after Kafka ack) in " + std::to_string(accepted_ms) + " ms");

  // 2. Wait for the document (the worker consumed, transformed and wrote it).
  auto db = drivers::mongo::Probe::create({e.mongo_uri, p.spec.platform.db.tls_ca_file, std::chrono::seconds(5)});
  if (!db) return fail("db", db.error().message, kFixLogs);
  long long doc_ms = -1;
  std::string last_err;
  while (msSince(t0) < timeout.count()) {
    auto d = db->findById(e.db, e.collection, id);
    if (d && d->has_value()) {
      doc_ms = msSince(t0);
      break;
    }
    if (!d) last_err = d.error().message;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  if (doc_ms < 0) {
    return fail("worker", "event accepted by the API but no document " + id + " in " + e.db + "." + e.collection +
                              " after " + std::to_string(timeout.count() / 1000) + " s" +
                              (last_err.empty() ? "" : " (last DB error: " + last_err + ")"),
                "the record is in Kafka; check the worker's log (`ca4ctl status`) and the DB");
  }
  if (progress) progress("document in " + e.db + "." + e.collection + " after " + std::to_string(doc_ms) + " ms");

  // 3. The S3 archive object, when archive is on.
  long long s3_ms = -1;
  if (e.archive && p.spec.verify.require_archive) {
    auto s3 = s3Client(e);
    if (!s3) return fail("archive", s3.error().message, kFixLogs);
    const std::string key = archiveRawKey(id, now);
    while (msSince(t0) < timeout.count()) {
      auto h = s3->headObject(e.s3_bucket, key);
      if (h && *h) {
        s3_ms = msSince(t0);
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    if (s3_ms < 0) {
      return fail("archive", "document written but s3://" + e.s3_bucket + "/" + key + " missing after " +
                                 std::to_string(timeout.count() / 1000) + " s",
                  "check the worker's S3 settings and log (`ca4ctl status`)");
    }
    if (progress) progress("archived s3://" + e.s3_bucket + "/" + key);
  }
  Check c;
  c.name = "e2e";
  c.ok = true;
  c.duration_ms = msSince(t0);
  c.message = "event " + id + ": API 202 in " + std::to_string(accepted_ms) + " ms, document in " +
              std::to_string(doc_ms) + " ms" + (s3_ms >= 0 ? ", S3 object in " + std::to_string(s3_ms) + " ms" : "") +
              " — end-to-end " + std::to_string(std::max(doc_ms, s3_ms)) + " ms";
  c.fields = {{"event_id", id}, {"accepted_ms", accepted_ms}, {"document_ms", doc_ms},
              {"e2e_ms", std::max(doc_ms, s3_ms)}};
  if (s3_ms >= 0) c.fields["archive_ms"] = s3_ms;
  out.push_back(std::move(c));
  return out;
}

}  // namespace ca4::stages
