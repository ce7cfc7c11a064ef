// ca4-processor end to end: the real binary, a real Kafka broker (KRaft, tests/support), HTTP
// through libcurl, and the topic read back with librdkafka.
//
//  - N valid events → 202 each and exactly N records on gpu-metadata, keyed by event_id;
//  - batches (array, NDJSON, mixed valid/invalid) → per-record results, only valid records;
//  - a malformed-input corpus → the right 4xx with field paths, nothing published, server alive;
//  - broker stopped → 503 within the message timeout, /readyz 503; broker back → 202 again and
//    every record that got a 202 is on the topic;
//  - rate limit → 429 with Retry-After; SIGTERM → exit 0 after answering.
#include "ca4/processor/kafka_holders.h"

#include <ca4/common/envelope.h>
#include <ca4/common/testing/sample_envelope.h>
#include <ca4/testsupport/kafka_broker.hpp>
#include <ca4/testsupport/kafka_handles.hpp>
#include <ca4/testsupport/net.hpp>
#include <ca4/testsupport/process.hpp>

#include <curl/curl.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstdlib>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <thread>

namespace {

using namespace std::chrono_literals;
using ca4::envelope::testing::sampleBatchJson;
using ca4::envelope::testing::sampleBatchNdjson;
using ca4::envelope::testing::sampleEnvelopeJson;
namespace ts = ca4::testsupport;

constexpr const char* kTopic = "gpu-metadata";
constexpr int kPartitions = 3;
constexpr const char* kKey = "integration-key-0001";
constexpr int kMessageTimeoutMs = 4000;

// ---- HTTP through libcurl ------------------------------------------------------------------

struct CurlDeleter {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};

struct Response {
  long status = 0;  // 0: no HTTP answer (connection failed)
  std::string body;
  std::map<std::string, std::string> headers;  // lower-case names
  nlohmann::json json() const { return nlohmann::json::parse(body, nullptr, false); }
  std::string header(const std::string& lower_name) const {
    const auto it = headers.find(lower_name);
    return it == headers.end() ? "" : it->second;
  }
};

size_t appendBody(char* p, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(p, size * n);
  return size * n;
}

size_t appendHeader(char* p, size_t size, size_t n, void* out) {
  std::string line(p, size * n);
  const auto colon = line.find(':');
  if (colon != std::string::npos) {
    std::string name = line.substr(0, colon);
    for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    std::string value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ')) value.erase(0, 1);
    while (!value.empty() && (value.back() == '\r' || value.back() == '\n')) value.pop_back();
    (*static_cast<std::map<std::string, std::string>*>(out))[name] = value;
  }
  return size * n;
}

struct Request {
  std::string method = "POST";
  std::string path = "/v1/metadata";
  std::string body;
  std::optional<std::string> content_type = "application/json";
  std::optional<std::string> auth = std::string("Bearer ") + kKey;
};

Response http(int port, const Request& req, long timeout_ms = 30000) {
  std::unique_ptr<CURL, CurlDeleter> curl(curl_easy_init());
  Response r;
  const std::string url = "http://127.0.0.1:" + std::to_string(port) + req.path;
  curl_slist* raw_headers = nullptr;
  // libcurl adds its own Content-Type for POST bodies unless told otherwise.
  raw_headers = curl_slist_append(
      raw_headers, req.content_type ? ("Content-Type: " + *req.content_type).c_str() : "Content-Type:");
  if (req.auth) raw_headers = curl_slist_append(raw_headers, ("Authorization: " + *req.auth).c_str());
  raw_headers = curl_slist_append(raw_headers, "Expect:");  // no 100-continue round trip
  std::unique_ptr<curl_slist, CurlDeleter> headers(raw_headers);
  curl_easy_setopt(curl.get(), CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl.get(), CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(curl.get(), CURLOPT_TIMEOUT_MS, timeout_ms);
  curl_easy_setopt(curl.get(), CURLOPT_WRITEFUNCTION, appendBody);
  curl_easy_setopt(curl.get(), CURLOPT_WRITEDATA, &r.body);
  curl_easy_setopt(curl.get(), CURLOPT_HEADERFUNCTION, appendHeader);
  curl_easy_setopt(curl.get(), CURLOPT_HEADERDATA, &r.headers);
  if (req.method == "POST") {
    curl_easy_setopt(curl.get(), CURLOPT_POST, 1L);
    curl_easy_setopt(curl.get(), CURLOPT_POSTFIELDS, req.body.data());
    curl_easy_setopt(curl.get(), CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(req.body.size()));
  } else if (req.method != "GET") {
    curl_easy_setopt(curl.get(), CURLOPT_CUSTOMREQUEST, req.method.c_str());
  }
  if (curl_easy_perform(curl.get()) == CURLE_OK) {
    curl_easy_getinfo(curl.get(), CURLINFO_RESPONSE_CODE, &r.status);
  }
  return r;
}

Response get(int port, const std::string& path) {
  Request req;
  req.method = "GET";
  req.path = path;
  req.content_type.reset();
  req.auth.reset();
  return http(port, req, 5000);
}

// ---- Kafka: end offsets and reading records back -------------------------------------------

std::int64_t endOffsets(const std::string& bootstrap) {
  auto rk = ts::makeKafkaClient(RD_KAFKA_CONSUMER, {{"bootstrap.servers", bootstrap},
                                                    {"group.id", "ca4-processor-it-offsets"}});
  std::int64_t total = 0;
  for (int p = 0; p < kPartitions; ++p) {
    std::int64_t lo = 0, hi = 0;
    // Right after topic creation or a broker restart, leadership may still be settling.
    rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR_NO_ERROR;
    for (int attempt = 0; attempt < 50; ++attempt) {
      err = rd_kafka_query_watermark_offsets(rk.get(), kTopic, p, &lo, &hi, 10000);
      if (err == RD_KAFKA_RESP_ERR_NO_ERROR) break;
      std::this_thread::sleep_for(200ms);
    }
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      ADD_FAILURE() << "watermarks of partition " << p << ": " << rd_kafka_err2str(err);
      return -1;
    }
    total += hi;
  }
  return total;
}

struct Record {
  std::string key, value;
};

// Reads every record on the topic (from the beginning) until `expected` were seen or 30 s.
std::vector<Record> readTopic(const std::string& bootstrap, std::size_t expected) {
  auto rk = ts::makeKafkaClient(RD_KAFKA_CONSUMER, {{"bootstrap.servers", bootstrap},
                                                    {"group.id", "ca4-processor-it-reader"},
                                                    {"enable.auto.commit", "false"}});
  ts::KafkaPartitionList parts(rd_kafka_topic_partition_list_new(kPartitions));
  for (int p = 0; p < kPartitions; ++p) {
    rd_kafka_topic_partition_list_add(parts.get(), kTopic, p)->offset = RD_KAFKA_OFFSET_BEGINNING;
  }
  EXPECT_EQ(rd_kafka_assign(rk.get(), parts.get()), RD_KAFKA_RESP_ERR_NO_ERROR);
  std::vector<Record> out;
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (out.size() < expected && std::chrono::steady_clock::now() < deadline) {
    ts::KafkaMessage m(rd_kafka_consumer_poll(rk.get(), 200));
    if (!m || m->err != RD_KAFKA_RESP_ERR_NO_ERROR) continue;
    out.push_back({std::string(static_cast<const char*>(m->key), m->key_len),
                   std::string(static_cast<const char*>(m->payload), m->len)});
  }
  // Anything beyond `expected` would be a bug: give it a moment to show up.
  const auto extra_deadline = std::chrono::steady_clock::now() + 1s;
  while (std::chrono::steady_clock::now() < extra_deadline) {
    ts::KafkaMessage m(rd_kafka_consumer_poll(rk.get(), 100));
    if (m && m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      out.push_back({std::string(static_cast<const char*>(m->key), m->key_len),
                     std::string(static_cast<const char*>(m->payload), m->len)});
    }
  }
  rd_kafka_consumer_close(rk.get());
  return out;
}

// ---- the processor under test --------------------------------------------------------------

std::filesystem::path binDir() {
  const char* dir = std::getenv("CA4_BIN_DIR");
  return dir ? std::filesystem::path(dir) : std::filesystem::current_path();
}

class ProcessorProcess {
 public:
  ProcessorProcess(const std::string& bootstrap, std::vector<std::string> extra_args = {})
      : dir_("ca4-processor-it") {
    const auto port_file = dir_.path() / "port";
    std::vector<std::string> argv = {(binDir() / "ca4-processor").string(),
                                     "--listen", "127.0.0.1:0",
                                     "--port-file", port_file.string(),
                                     "--brokers", bootstrap,
                                     "--topic", kTopic,
                                     "--message-timeout-ms", std::to_string(kMessageTimeoutMs),
                                     "--threads", "2",
                                     "--log-format", "json"};
    argv.insert(argv.end(), extra_args.begin(), extra_args.end());
    log_ = dir_.path() / "processor.log";
    process_ = ts::Process::start({.argv = argv,
                                   .env = {{"CA4_API_KEYS", std::string("it:") + kKey}},
                                   .cwd = {},
                                   .logFile = log_});
    const auto deadline = std::chrono::steady_clock::now() + 20s;
    while (std::chrono::steady_clock::now() < deadline) {
      std::ifstream in(port_file);
      if (in >> port_ && port_ > 0) break;
      if (!process_.alive()) break;
      std::this_thread::sleep_for(20ms);
    }
    if (port_ <= 0) {
      throw std::runtime_error("ca4-processor did not start:\n" + ts::tailFile(log_));
    }
  }

  int port() const { return port_; }
  ts::Process& process() { return process_; }
  std::string logTail() const { return ts::tailFile(log_, 30); }
  std::string log() const {
    std::ifstream in(log_);
    return {std::istreambuf_iterator<char>(in), {}};
  }

  bool waitReady(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      if (get(port_, "/readyz").status == 200) return true;
      std::this_thread::sleep_for(100ms);
    }
    return false;
  }

 private:
  ts::TempDir dir_;
  std::filesystem::path log_;
  ts::Process process_;
  int port_ = 0;
};

class ProcessorIntegration : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    curl_global_init(CURL_GLOBAL_DEFAULT);
    broker_ = new ts::KafkaBroker();
    broker_->createTopic(kTopic, kPartitions);
    processor_ = new ProcessorProcess(broker_->bootstrap(), {"--rate", "0"});
    ASSERT_TRUE(processor_->waitReady(30s)) << processor_->logTail();
  }
  static void TearDownTestSuite() {
    delete processor_;
    processor_ = nullptr;
    delete broker_;
    broker_ = nullptr;
    curl_global_cleanup();
  }

  int port() const { return processor_->port(); }
  std::string bootstrap() const { return broker_->bootstrap(); }

  static ts::KafkaBroker* broker_;
  static ProcessorProcess* processor_;
  // event_ids that got a 202 (or an "accepted" batch result) so far, across tests.
  static std::set<std::string> accepted_;
};

ts::KafkaBroker* ProcessorIntegration::broker_ = nullptr;
ProcessorProcess* ProcessorIntegration::processor_ = nullptr;
std::set<std::string> ProcessorIntegration::accepted_;

TEST_F(ProcessorIntegration, ValidEventsAreAcceptedAndPublishedExactlyOnce) {
  constexpr int kN = 40;
  const auto before = endOffsets(bootstrap());
  for (int i = 0; i < kN; ++i) {
    const std::string id = "it-single-" + std::to_string(i);
    Request req;
    req.path = i % 2 == 0 ? "/v1/metadata" : "/metadata";  // the seeds' path too
    req.body = sampleEnvelopeJson(id);
    const auto r = http(port(), req);
    ASSERT_EQ(r.status, 202) << r.body;
    EXPECT_EQ(r.json()["event_id"], id);
    EXPECT_EQ(r.json()["status"], "accepted");
    accepted_.insert(id);
  }
  EXPECT_EQ(endOffsets(bootstrap()) - before, kN);

  // Each record is keyed by its event_id and holds the canonical form of the envelope.
  const auto records = readTopic(bootstrap(), static_cast<std::size_t>(before + kN));
  std::set<std::string> seen;
  for (const auto& rec : records) {
    if (rec.key.rfind("it-single-", 0) != 0) continue;
    EXPECT_TRUE(seen.insert(rec.key).second) << "duplicate record " << rec.key;
    const auto parsed = ca4::envelope::parseEnvelope(rec.value);
    ASSERT_TRUE(parsed.ok()) << rec.key;
    EXPECT_EQ(parsed.envelope->event_id, rec.key);
    EXPECT_EQ(ca4::envelope::toCanonicalJson(*parsed.envelope), rec.value);
  }
  EXPECT_EQ(seen.size(), static_cast<std::size_t>(kN));
}

TEST_F(ProcessorIntegration, BatchesPublishOnlyValidRecords) {
  const auto before = endOffsets(bootstrap());
  Request req;
  req.path = "/v1/metadata:batch";
  req.body = sampleBatchJson(10, "it-batch");
  auto r = http(port(), req);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json()["accepted"], 10);
  for (int i = 0; i < 10; ++i) accepted_.insert("it-batch-" + std::to_string(i));

  req.content_type = "application/x-ndjson";
  req.body = sampleBatchNdjson(5, "it-ndjson", 64);
  r = http(port(), req);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json()["accepted"], 5);
  for (int i = 0; i < 5; ++i) accepted_.insert("it-ndjson-" + std::to_string(i));

  // Mixed: record 1 is invalid, the others go through.
  req.content_type = "application/json";
  req.body = "[" + sampleEnvelopeJson("it-mixed-0", 64) + R"(,{"event_id":"it-mixed-1"},)" +
             sampleEnvelopeJson("it-mixed-2", 64) + "]";
  r = http(port(), req);
  ASSERT_EQ(r.status, 200) << r.body;
  const auto j = r.json();
  EXPECT_EQ(j["accepted"], 2);
  EXPECT_EQ(j["rejected"], 1);
  EXPECT_EQ(j["results"][1]["status"], "rejected");
  EXPECT_FALSE(j["results"][1]["errors"].empty());
  accepted_.insert("it-mixed-0");
  accepted_.insert("it-mixed-2");

  EXPECT_EQ(endOffsets(bootstrap()) - before, 10 + 5 + 2);
}

// One malformed request and what must come back.
struct BadCase {
  std::string name;
  Request req;
  long status;
  std::string code;
  std::string path;  // a details[].path that must be present ("" = don't check)
};

std::string withEmbeddingElement(std::string doc, const std::string& element, int at) {
  std::size_t pos = doc.find("\"embedding\": [") + std::string("\"embedding\": [").size();
  for (int i = 0; i < at; ++i) pos = doc.find(',', pos) + 1;
  const std::size_t end = doc.find_first_of(",]", pos);
  return doc.replace(pos, end - pos, element);
}

std::vector<BadCase> malformedCorpus() {
  std::vector<BadCase> cases;
  const std::string good = sampleEnvelopeJson("it-bad");
  auto add = [&](std::string name, std::string body, long status, std::string code,
                 std::string path = "") {
    BadCase c;
    c.name = std::move(name);
    c.req.body = std::move(body);
    c.status = status;
    c.code = std::move(code);
    c.path = std::move(path);
    cases.push_back(std::move(c));
  };
  add("truncated JSON", good.substr(0, good.size() / 2), 400, "invalid_payload");
  add("truncated at one byte", "{", 400, "invalid_payload");
  add("empty body", "", 400, "invalid_payload");
  add("not an object", "[1,2,3]", 400, "invalid_payload");
  {
    std::string doc = good;
    doc.replace(doc.find("\"event_id\": \"it-bad\""), std::string("\"event_id\": \"it-bad\"").size(),
                "\"event_id\": 12345");
    add("event_id is a number", doc, 400, "invalid_payload", "event_id");
  }
  add("embedding element is a string", withEmbeddingElement(good, "\"oops\"", 17), 400,
      "invalid_payload", "extraction.embedding[17]");
  add("NaN literal", withEmbeddingElement(good, "NaN", 3), 400, "invalid_payload");
  add("overflowing number (Inf)", withEmbeddingElement(good, "1e999", 5), 400, "invalid_payload");
  {
    std::string doc = sampleEnvelopeJson("it-bad", 5000);  // > max 4096 floats, < body limit
    add("huge embedding array", doc, 400, "invalid_payload", "extraction.embedding");
  }
  {
    std::string nested = "{\"a\":";
    std::string deep;
    for (int i = 0; i < 2000; ++i) deep += nested;
    deep += "1";
    deep += std::string(2000, '}');
    std::string doc = good;
    const auto at = doc.find("\"attributes\": ") + std::string("\"attributes\": ").size();
    doc.replace(at, doc.find('}', at) + 1 - at, deep);
    add("deep nesting", doc, 400, "invalid_payload");
  }
  {
    std::string doc = good;
    doc.replace(doc.find("Tesla T4"), 8, "Tesla \xff\xfe");
    add("bad UTF-8", doc, 400, "invalid_payload");
  }
  {
    std::string doc = good;
    const auto sha = doc.find("\"sha256\": \"") + std::string("\"sha256\": \"").size();
    doc.replace(sha, 64, "not-hex");
    add("bad sha256", doc, 400, "invalid_payload", "item.sha256");
  }
  add("oversize body", std::string(600 * 1024, ' ') + good, 413, "payload_too_large");
  {
    BadCase c{"missing auth", {}, 401, "unauthorized", ""};
    c.req.body = good;
    c.req.auth.reset();
    cases.push_back(c);
    c.name = "wrong key";
    c.req.auth = "Bearer not-the-right-key";
    cases.push_back(c);
    c.name = "basic auth";
    c.req.auth = "Basic aXQ6aW50ZWdyYXRpb24ta2V5LTAwMDE=";
    cases.push_back(c);
  }
  {
    BadCase c{"wrong content type", {}, 415, "unsupported_media_type", ""};
    c.req.body = good;
    c.req.content_type = "text/plain";
    cases.push_back(c);
    c.name = "no content type";
    c.req.content_type.reset();
    cases.push_back(c);
    c.name = "ndjson to the single route";
    c.req.content_type = "application/x-ndjson";
    cases.push_back(c);
  }
  {
    BadCase c{"batch: not an array", {}, 400, "invalid_payload", ""};
    c.req.path = "/v1/metadata:batch";
    c.req.body = good;
    cases.push_back(c);
    c.name = "batch: unterminated";
    c.req.body = "[" + good;
    cases.push_back(c);
    c.name = "batch: too many records";
    c.req.body = sampleBatchJson(1001, "it-many", 4);
    c.status = 413;
    c.code = "too_many_records";
    cases.push_back(c);
  }
  return cases;
}

TEST_F(ProcessorIntegration, MalformedInputGetsTheRight4xxAndPublishesNothing) {
  const auto before = endOffsets(bootstrap());
  for (const auto& c : malformedCorpus()) {
    SCOPED_TRACE(c.name);
    const auto r = http(port(), c.req);
    ASSERT_EQ(r.status, c.status) << r.body.substr(0, 500);
    const auto j = r.json();
    ASSERT_FALSE(j.is_discarded()) << "not JSON: " << r.body.substr(0, 200);
    EXPECT_EQ(j["error"]["code"], c.code) << r.body.substr(0, 500);
    if (c.status == 401) {
      EXPECT_EQ(r.header("www-authenticate").rfind("Bearer", 0), 0u);
    }
    if (!c.path.empty()) {
      bool found = false;
      for (const auto& d : j["error"]["details"]) found = found || d["path"] == c.path;
      EXPECT_TRUE(found) << "no detail with path " << c.path << " in " << r.body.substr(0, 800);
    }
  }
  EXPECT_EQ(get(port(), "/healthz").status, 200);
  EXPECT_EQ(endOffsets(bootstrap()), before) << "a rejected request published something";
  EXPECT_TRUE(processor_->process().alive());
}

TEST_F(ProcessorIntegration, BodyAbovePistacheLimitIsRefusedAndServerStaysUp) {
  // Larger than the batch limit + headers: Pistache itself answers 413 before any handler.
  Request req;
  req.path = "/v1/metadata:batch";
  req.body = std::string(33 * 1024 * 1024 + 100 * 1024, ' ');
  const auto r = http(port(), req);
  EXPECT_EQ(r.status, 413);
  EXPECT_EQ(get(port(), "/healthz").status, 200);
}

TEST_F(ProcessorIntegration, MetricsCountRequestsAndPublishedRecords) {
  const auto r = get(port(), "/metrics");
  ASSERT_EQ(r.status, 200);
  EXPECT_NE(r.header("content-type").find("text/plain"), std::string::npos);
  EXPECT_NE(r.body.find(R"(ca4_processor_requests_total{code="202",route="metadata"} 40)"),
            std::string::npos) << r.body.substr(0, 3000);
  EXPECT_NE(r.body.find("ca4_processor_records_published_total 57"), std::string::npos);
  EXPECT_NE(r.body.find("ca4_processor_request_duration_seconds_bucket"), std::string::npos);
  EXPECT_NE(r.body.find(R"(ca4_processor_kafka_delivery_errors_total{reason="timeout"} 0)"),
            std::string::npos);
  // Logs are JSON lines and never carry the API key.
  const std::string log = processor_->log();
  EXPECT_EQ(log.find(kKey), std::string::npos);
  EXPECT_NE(log.find(R"("msg":"listening")"), std::string::npos) << processor_->logTail();
  std::istringstream lines(log);
  for (std::string l; std::getline(lines, l);) {
    if (l.empty()) continue;
    EXPECT_TRUE(nlohmann::json::accept(l)) << "not a JSON log line: " << l;
  }
}

TEST_F(ProcessorIntegration, BrokerDownGives503AndRecoveryGives202) {
  const std::string good = sampleEnvelopeJson("it-down-0");
  broker_->stop();

  Request req;
  req.body = good;
  const auto t0 = std::chrono::steady_clock::now();
  const auto r = http(port(), req);
  const auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_EQ(r.status, 503) << r.body;
  EXPECT_FALSE(r.header("retry-after").empty());
  EXPECT_EQ(r.json()["error"]["code"], "unavailable");
  EXPECT_LT(took, std::chrono::milliseconds(kMessageTimeoutMs + 3000));

  // A batch Kafka can take none of is a 503 too.
  req.path = "/v1/metadata:batch";
  req.body = sampleBatchJson(3, "it-down-batch", 16);
  const auto rb = http(port(), req);
  EXPECT_EQ(rb.status, 503) << rb.body;
  EXPECT_EQ(rb.json()["failed"], 3);

  // /readyz notices (probe every second); /healthz is about the process only.
  bool not_ready = false;
  for (int i = 0; i < 50 && !not_ready; ++i) {
    not_ready = get(port(), "/readyz").status == 503;
    if (!not_ready) std::this_thread::sleep_for(100ms);
  }
  EXPECT_TRUE(not_ready);
  EXPECT_EQ(get(port(), "/healthz").status, 200);

  broker_->start();
  // Requests succeed again once the producer has reconnected.
  Request again;
  long status = 0;
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  int attempt = 0;
  while (status != 202 && std::chrono::steady_clock::now() < deadline) {
    again.body = sampleEnvelopeJson("it-up-" + std::to_string(attempt));
    const auto rr = http(port(), again);
    status = rr.status;
    if (status == 202) {
      accepted_.insert("it-up-" + std::to_string(attempt));
    } else {
      std::this_thread::sleep_for(500ms);
    }
    ++attempt;
  }
  ASSERT_EQ(status, 202);
  EXPECT_TRUE(processor_->waitReady(10s));

  // Every event that got a 202 at any point is on the topic.
  const auto records = readTopic(bootstrap(), accepted_.size());
  std::set<std::string> keys;
  for (const auto& rec : records) keys.insert(rec.key);
  for (const auto& id : accepted_) EXPECT_TRUE(keys.count(id)) << "accepted but missing: " << id;
}

TEST_F(ProcessorIntegration, RateLimitAndGracefulShutdown) {
  ProcessorProcess limited(bootstrap(), {"--rate", "0.5", "--burst", "2"});
  ASSERT_TRUE(limited.waitReady(30s)) << limited.logTail();
  Request req;
  req.body = sampleEnvelopeJson("it-rate-0", 64);
  EXPECT_EQ(http(limited.port(), req).status, 202);
  req.body = sampleEnvelopeJson("it-rate-1", 64);
  EXPECT_EQ(http(limited.port(), req).status, 202);
  req.body = sampleEnvelopeJson("it-rate-2", 64);
  const auto r = http(limited.port(), req);
  EXPECT_EQ(r.status, 429);
  EXPECT_EQ(r.header("retry-after"), "2");
  EXPECT_EQ(r.json()["error"]["code"], "rate_limited");

  // SIGTERM while a request is in flight: it is answered, then the process exits 0.
  long inflight_status = -1;
  std::thread client([&] {
    Request slow;
    slow.body = sampleEnvelopeJson("it-rate-inflight", 64);
    inflight_status = http(limited.port(), slow).status;
  });
  std::this_thread::sleep_for(50ms);
  const auto status = limited.process().stop(20s);
  client.join();
  // Answered (202, or 429/503 depending on timing), never a dropped connection.
  EXPECT_TRUE(inflight_status == 202 || inflight_status == 429 || inflight_status == 503)
      << inflight_status;
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(*status, 0) << limited.logTail();
  EXPECT_NE(limited.log().find(R"("msg":"stopped")"), std::string::npos) << limited.logTail();
}

}  // namespace
