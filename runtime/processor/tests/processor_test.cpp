// The ingest core end to end, without a network: a FakePublisher stands in for Kafka (the real
// KafkaPublisher is tested against librdkafka's mock cluster and, in integration, a broker).
#include "ca4/processor/processor.h"

#include <ca4/common/testing/sample_envelope.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <deque>
#include <optional>

namespace ca4::processor {
namespace {

using envelope::testing::sampleBatchJson;
using envelope::testing::sampleBatchNdjson;
using envelope::testing::sampleEnvelopeJson;

// Records every publish; completes them on demand (or at once, with `auto_result`).
class FakePublisher final : public Publisher {
 public:
  struct Record {
    std::string key, payload;
    DeliveryCallback done;
  };
  std::optional<DeliveryResult> auto_result;  // complete synchronously when set
  std::deque<Record> pending;
  std::vector<std::pair<std::string, std::string>> published;  // acked (key, payload)
  Readiness readiness{true, ""};

  void publish(std::string key, std::string payload, DeliveryCallback done) override {
    if (auto_result) {
      if (auto_result->status == DeliveryStatus::Acked) published.emplace_back(key, payload);
      done(*auto_result);
      return;
    }
    pending.push_back({std::move(key), std::move(payload), std::move(done)});
  }
  Readiness checkReady(std::chrono::milliseconds) override { return readiness; }
  void drain(std::chrono::milliseconds) override { completeAll(unavailable("purged")); }

  void complete(const DeliveryResult& r) {
    Record rec = std::move(pending.front());
    pending.pop_front();
    if (r.status == DeliveryStatus::Acked) published.emplace_back(rec.key, rec.payload);
    rec.done(r);
  }
  void completeAll(const DeliveryResult& r) {
    while (!pending.empty()) complete(r);
  }
  static DeliveryResult acked() { return {DeliveryStatus::Acked, "", ""}; }
  static DeliveryResult unavailable(std::string_view reason) {
    return {DeliveryStatus::Unavailable, reason, "test"};
  }
};

class ProcessorTest : public ::testing::Test {
 protected:
  class FixedClock final : public Clock {
   public:
    std::chrono::steady_clock::time_point now() const override { return t; }
    std::chrono::steady_clock::time_point t{std::chrono::seconds(1)};
  };

  ProcessorTest() { rebuild(); }

  void rebuild(ProcessorOptions options = {}, bool auth = true, double rate = 0, double burst = 1) {
    processor_.reset();
    limiter_ = std::make_unique<TokenBucketLimiter>(rate, burst, clock_);
    metrics_ = std::make_unique<Metrics>();
    std::optional<ApiKeyStore> keys;
    if (auth) keys.emplace(std::vector<ApiKey>{{"colab", "test-key-0001"}, {"bench", "test-key-0002"}});
    processor_ = std::make_unique<Processor>(options, std::move(keys), *limiter_, publisher_,
                                             *metrics_, Log{});
  }

  // Sends a request; returns the response if it was produced synchronously.
  std::optional<HttpResponse> call(std::string_view method, std::string_view path,
                                   std::string_view body,
                                   std::optional<std::string_view> content_type = "application/json",
                                   std::optional<std::string_view> auth = "Bearer test-key-0001",
                                   std::optional<std::string_view> origin = std::nullopt) {
    RequestView r;
    r.method = method;
    r.path = path;
    r.body = body;
    r.content_type = content_type;
    r.authorization = auth;
    r.origin = origin;
    r.client = "127.0.0.1";
    last_.reset();
    processor_->handle(r, [this](HttpResponse resp) { last_ = std::move(resp); });
    return last_;
  }

  static nlohmann::json json(const HttpResponse& r) { return nlohmann::json::parse(r.body); }

  FixedClock clock_;
  FakePublisher publisher_;
  std::unique_ptr<TokenBucketLimiter> limiter_;
  std::unique_ptr<Metrics> metrics_;
  std::unique_ptr<Processor> processor_;
  std::optional<HttpResponse> last_;
};

TEST_F(ProcessorTest, AcceptedOnlyAfterKafkaAcks) {
  const auto body = sampleEnvelopeJson("evt-1");
  EXPECT_FALSE(call("POST", "/v1/metadata", body));  // nothing yet: waiting for the ack
  ASSERT_EQ(publisher_.pending.size(), 1u);
  EXPECT_EQ(publisher_.pending[0].key, "evt-1");
  EXPECT_EQ(processor_->inflight(), 1u);
  EXPECT_EQ(metrics_->inflight(), 1.0);

  publisher_.complete(FakePublisher::acked());
  ASSERT_TRUE(last_);
  EXPECT_EQ(last_->status, 202);
  EXPECT_EQ(json(*last_), (nlohmann::json{{"event_id", "evt-1"}, {"status", "accepted"}}));
  EXPECT_EQ(processor_->inflight(), 0u);
  // The published payload is the canonical form of the envelope.
  const auto parsed = envelope::parseEnvelope(body);
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(publisher_.published.at(0).second, envelope::toCanonicalJson(*parsed.envelope));
}

TEST_F(ProcessorTest, SeedsPathIsTheSameRoute) {
  publisher_.auto_result = FakePublisher::acked();
  EXPECT_EQ(call("POST", "/metadata", sampleEnvelopeJson("evt-2"))->status, 202);
}

TEST_F(ProcessorTest, KafkaFailureIs503WithRetryAfter) {
  EXPECT_FALSE(call("POST", "/v1/metadata", sampleEnvelopeJson("evt-3")));
  publisher_.complete(FakePublisher::unavailable("timeout"));
  ASSERT_TRUE(last_);
  EXPECT_EQ(last_->status, 503);
  ASSERT_NE(last_->header("Retry-After"), nullptr);
  EXPECT_EQ(json(*last_)["error"]["code"], "unavailable");
  EXPECT_TRUE(publisher_.published.empty());
  EXPECT_NE(metrics_->render().find(
                R"(ca4_processor_kafka_delivery_errors_total{reason="timeout"} 1)"),
            std::string::npos);
}

TEST_F(ProcessorTest, QueueFullAtEnqueueIs503Immediately) {
  publisher_.auto_result = FakePublisher::unavailable("queue_full");
  const auto r = call("POST", "/v1/metadata", sampleEnvelopeJson("evt-4"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 503);
}

TEST_F(ProcessorTest, PermanentPublishFailureIs500) {
  publisher_.auto_result = DeliveryResult{DeliveryStatus::Failed, "too_large", "x"};
  EXPECT_EQ(call("POST", "/v1/metadata", sampleEnvelopeJson("evt-5"))->status, 500);
}

TEST_F(ProcessorTest, MissingOrWrongKeyIs401WithChallenge) {
  auto r = call("POST", "/v1/metadata", sampleEnvelopeJson("e"), "application/json", std::nullopt);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 401);
  ASSERT_NE(r->header("WWW-Authenticate"), nullptr);
  EXPECT_EQ(r->header("WWW-Authenticate")->rfind("Bearer", 0), 0u);
  r = call("POST", "/v1/metadata", sampleEnvelopeJson("e"), "application/json", "Bearer nope-nope-nope");
  EXPECT_EQ(r->status, 401);
  EXPECT_NE(r->header("WWW-Authenticate")->find("invalid_token"), std::string::npos);
  EXPECT_EQ(json(*r)["error"]["code"], "unauthorized");
  EXPECT_TRUE(publisher_.pending.empty());
}

TEST_F(ProcessorTest, AuthOffNeedsNoKey) {
  rebuild({}, /*auth=*/false);
  publisher_.auto_result = FakePublisher::acked();
  EXPECT_EQ(call("POST", "/v1/metadata", sampleEnvelopeJson("e"), "application/json", std::nullopt)->status,
            202);
}

TEST_F(ProcessorTest, RateLimitedPerKeyWith429) {
  rebuild({}, true, /*rate=*/1.0, /*burst=*/2.0);
  publisher_.auto_result = FakePublisher::acked();
  const auto body = sampleEnvelopeJson("e");
  EXPECT_EQ(call("POST", "/v1/metadata", body)->status, 202);
  EXPECT_EQ(call("POST", "/v1/metadata", body)->status, 202);
  const auto r = call("POST", "/v1/metadata", body);
  EXPECT_EQ(r->status, 429);
  EXPECT_EQ(*r->header("Retry-After"), "1");
  EXPECT_EQ(json(*r)["error"]["code"], "rate_limited");
  // Another key has its own bucket.
  EXPECT_EQ(call("POST", "/v1/metadata", body, "application/json", "Bearer test-key-0002")->status, 202);
  clock_.t += std::chrono::seconds(1);
  EXPECT_EQ(call("POST", "/v1/metadata", body)->status, 202);
}

TEST_F(ProcessorTest, WrongContentTypeIs415) {
  const auto r = call("POST", "/v1/metadata", sampleEnvelopeJson("e"), "text/plain");
  EXPECT_EQ(r->status, 415);
  EXPECT_EQ(json(*r)["error"]["code"], "unsupported_media_type");
  EXPECT_EQ(call("POST", "/v1/metadata", "{}", std::nullopt)->status, 415);
}

TEST_F(ProcessorTest, OversizeBodyIs413) {
  ProcessorOptions o;
  o.body.max_body = 1000;
  rebuild(o);
  const auto r = call("POST", "/v1/metadata", std::string(1001, ' '));
  EXPECT_EQ(r->status, 413);
  EXPECT_EQ(json(*r)["error"]["code"], "payload_too_large");
}

TEST_F(ProcessorTest, InvalidEnvelopeIs400WithEveryFieldPath) {
  std::string body = sampleEnvelopeJson("evt-bad", 32);
  // Break two fields: a string inside the embedding, and the sha256.
  const auto emb = body.find("\"embedding\": [") + std::string("\"embedding\": [").size();
  body.insert(emb, "\"x\",");
  const auto sha = body.find("\"sha256\": \"") + std::string("\"sha256\": \"").size();
  body.replace(sha, 4, "zzzz");
  const auto r = call("POST", "/v1/metadata", body);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
  const auto j = json(*r);
  EXPECT_EQ(j["error"]["code"], "invalid_payload");
  std::vector<std::string> paths;
  for (const auto& d : j["error"]["details"]) paths.push_back(d["path"]);
  EXPECT_NE(std::find(paths.begin(), paths.end(), "extraction.embedding[0]"), paths.end())
      << j.dump();
  EXPECT_NE(std::find(paths.begin(), paths.end(), "item.sha256"), paths.end()) << j.dump();
  EXPECT_TRUE(publisher_.pending.empty());
}

TEST_F(ProcessorTest, MalformedJsonIs400) {
  for (const char* bad : {"{", "[]", "null", "{\"event_id\":", "\xff\xfe"}) {
    const auto r = call("POST", "/v1/metadata", bad);
    ASSERT_TRUE(r) << bad;
    EXPECT_EQ(r->status, 400) << bad;
    EXPECT_NO_THROW((void)json(*r)) << r->body;
  }
  EXPECT_TRUE(publisher_.pending.empty());
}

TEST_F(ProcessorTest, BatchArrayMixedValidAndInvalid) {
  std::string body = "[" + sampleEnvelopeJson("b-0", 32) + "," + R"({"event_id":"b-1"})" + "," +
                     sampleEnvelopeJson("b-2", 32) + "]";
  EXPECT_FALSE(call("POST", "/v1/metadata:batch", body));
  ASSERT_EQ(publisher_.pending.size(), 2u);
  publisher_.complete(FakePublisher::acked());
  EXPECT_FALSE(last_);  // still waiting for the second record
  publisher_.complete(FakePublisher::unavailable("timeout"));
  ASSERT_TRUE(last_);
  EXPECT_EQ(last_->status, 200);
  const auto j = json(*last_);
  EXPECT_EQ(j["accepted"], 1);
  EXPECT_EQ(j["rejected"], 1);
  EXPECT_EQ(j["failed"], 1);
  EXPECT_EQ(j["results"][0]["status"], "accepted");
  EXPECT_EQ(j["results"][0]["event_id"], "b-0");
  EXPECT_EQ(j["results"][1]["status"], "rejected");
  EXPECT_FALSE(j["results"][1]["errors"].empty());
  EXPECT_EQ(j["results"][2]["status"], "failed");
  EXPECT_EQ(j["results"][2]["error"], "unavailable");
}

TEST_F(ProcessorTest, BatchNdjsonAllAccepted) {
  publisher_.auto_result = FakePublisher::acked();
  const auto r = call("POST", "/v1/metadata:batch", sampleBatchNdjson(5, "nd", 16), "application/x-ndjson");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(json(*r)["accepted"], 5);
  ASSERT_EQ(publisher_.published.size(), 5u);
  EXPECT_EQ(publisher_.published[4].first, "nd-4");
  EXPECT_NE(metrics_->render().find("ca4_processor_records_published_total 5"), std::string::npos);
}

TEST_F(ProcessorTest, BatchKafkaTookNothingIs503) {
  publisher_.auto_result = FakePublisher::unavailable("queue_full");
  const auto r = call("POST", "/v1/metadata:batch", sampleBatchJson(3, "q", 16));
  EXPECT_EQ(r->status, 503);
  EXPECT_NE(r->header("Retry-After"), nullptr);
  EXPECT_EQ(json(*r)["failed"], 3);
}

TEST_F(ProcessorTest, BatchLimits) {
  ProcessorOptions o;
  o.max_batch_records = 2;
  rebuild(o);
  EXPECT_EQ(call("POST", "/v1/metadata:batch", sampleBatchJson(3, "x", 8))->status, 413);
  EXPECT_EQ(call("POST", "/v1/metadata:batch", "[")->status, 400);
  EXPECT_EQ(call("POST", "/v1/metadata:batch", "{}", "text/plain")->status, 415);
  EXPECT_TRUE(publisher_.pending.empty());
}

TEST_F(ProcessorTest, DrainingRejectsNewPosts) {
  processor_->beginDrain();
  const auto r = call("POST", "/v1/metadata", sampleEnvelopeJson("d"));
  EXPECT_EQ(r->status, 503);
  EXPECT_EQ(json(*r)["error"]["code"], "shutting_down");
  EXPECT_EQ(call("GET", "/readyz", "")->status, 503);
  EXPECT_EQ(call("GET", "/healthz", "")->status, 200);
}

TEST_F(ProcessorTest, HealthReadyMetrics) {
  EXPECT_EQ(call("GET", "/healthz", "")->status, 200);
  EXPECT_EQ(call("GET", "/readyz", "")->status, 503);  // not checked yet
  processor_->setReadiness({true, ""});
  EXPECT_EQ(call("GET", "/readyz", "")->status, 200);
  processor_->setReadiness({false, "topic gpu-metadata not found"});
  const auto nr = call("GET", "/readyz", "");
  EXPECT_EQ(nr->status, 503);
  EXPECT_EQ(json(*nr)["error"]["message"], "topic gpu-metadata not found");
  const auto m = call("GET", "/metrics", "");
  EXPECT_EQ(m->status, 200);
  EXPECT_EQ(m->content_type, "text/plain; version=0.0.4");
  // Pre-created series and the requests made above.
  EXPECT_NE(m->body.find(R"(ca4_processor_requests_total{code="202",route="metadata"} 0)"),
            std::string::npos);
  EXPECT_NE(m->body.find(R"(ca4_processor_requests_total{code="503",route="readyz"} 2)"),
            std::string::npos);
  EXPECT_NE(m->body.find(R"(ca4_processor_kafka_delivery_errors_total{reason="queue_full"} 0)"),
            std::string::npos);
  EXPECT_NE(m->body.find("ca4_processor_request_duration_seconds_bucket"), std::string::npos);
  EXPECT_NE(m->body.find("ca4_processor_inflight_requests 1"), std::string::npos);  // this one
}

TEST_F(ProcessorTest, UnknownRouteAndMethod) {
  EXPECT_EQ(call("GET", "/nope", "")->status, 404);
  const auto r = call("GET", "/v1/metadata", "");
  EXPECT_EQ(r->status, 405);
  EXPECT_EQ(*r->header("Allow"), "POST");
  EXPECT_EQ(call("POST", "/healthz", "")->status, 405);
  EXPECT_EQ(call("OPTIONS", "/v1/metadata", "", std::nullopt, std::nullopt, "https://x.example")->status,
            405);  // CORS off by default
}

TEST_F(ProcessorTest, CorsWhenEnabled) {
  ProcessorOptions o;
  o.cors_origins = {"https://colab.research.google.com"};
  rebuild(o);
  auto pre = call("OPTIONS", "/v1/metadata", "", std::nullopt, std::nullopt,
                  "https://colab.research.google.com");
  EXPECT_EQ(pre->status, 204);
  EXPECT_EQ(*pre->header("Access-Control-Allow-Origin"), "https://colab.research.google.com");
  EXPECT_NE(pre->header("Access-Control-Allow-Headers")->find("Authorization"), std::string::npos);
  EXPECT_EQ(call("OPTIONS", "/v1/metadata", "", std::nullopt, std::nullopt, "https://evil.example")->status,
            403);
  publisher_.auto_result = FakePublisher::acked();
  auto r = call("POST", "/v1/metadata", sampleEnvelopeJson("c"), "application/json",
                "Bearer test-key-0001", "https://colab.research.google.com");
  EXPECT_EQ(r->status, 202);
  EXPECT_NE(r->header("Access-Control-Allow-Origin"), nullptr);
  r = call("POST", "/v1/metadata", sampleEnvelopeJson("c"), "application/json",
           "Bearer test-key-0001", "https://evil.example");
  EXPECT_EQ(r->header("Access-Control-Allow-Origin"), nullptr);
}

TEST(PureCore, HandleSingleAndBatchWithoutAProcessor) {
  envelope::Limits limits;
  auto ok = handleSingle(sampleEnvelopeJson("p-1"), limits);
  ASSERT_TRUE(std::holds_alternative<PublishPlan>(ok));
  EXPECT_EQ(std::get<PublishPlan>(ok).event_id, "p-1");
  auto bad = handleSingle("{}", limits);
  ASSERT_TRUE(std::holds_alternative<HttpResponse>(bad));
  EXPECT_EQ(std::get<HttpResponse>(bad).status, 400);

  auto batch = handleBatch(sampleBatchJson(2, "pb", 8), BodyFormat::Json, 10, limits);
  ASSERT_TRUE(std::holds_alternative<BatchPlan>(batch));
  EXPECT_EQ(std::get<BatchPlan>(batch).publish.size(), 2u);
  EXPECT_EQ(std::get<BatchPlan>(batch).publish[1].second.event_id, "pb-1");
}

}  // namespace
}  // namespace ca4::processor
