// The ingest core: everything ca4-processor decides about a request, with no socket in sight.
//
//  POST /v1/metadata (/metadata)   one envelope  → 202 {"event_id":…,"status":"accepted"} once
//                                  Kafka acknowledged it (acks=all), else 503 + Retry-After
//  POST /v1/metadata:batch         JSON array or NDJSON → 200/503 with a result per record
//  GET  /healthz /readyz /metrics
//
// Checks on a POST, in order: draining (503), API key (401), rate limit (429), Content-Type
// (415), body size (413), envelope validation (400, every field path), then publish.
// handleSingle()/handleBatch() are the pure parts (bytes in, decision out); Processor wires
// them to the Publisher, the limiter and the metrics.
#pragma once

#include "ca4/processor/auth.h"
#include "ca4/processor/batch.h"
#include "ca4/processor/http.h"
#include "ca4/processor/log.h"
#include "ca4/processor/metrics.h"
#include "ca4/processor/publisher.h"
#include "ca4/processor/rate_limit.h"
#include "ca4/processor/unique_function.h"

#include <ca4/common/envelope.h>

#include <atomic>
#include <mutex>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace ca4::processor {

struct ProcessorOptions {
  BodyLimits body;
  std::size_t max_batch_records = 1000;
  envelope::Limits envelope_limits;  // max_document_bytes is raised to body.max_body
  std::vector<std::string> cors_origins;  // empty: CORS off. "*" allows any origin.
  int retry_after_seconds = 5;            // Retry-After on 503
};

// A record ready for Kafka: the canonical JSON of a valid envelope, keyed by its event_id.
struct PublishPlan {
  std::string event_id;
  std::string payload;
};

// Validates one envelope: a PublishPlan, or the 400 response listing every field error.
std::variant<PublishPlan, HttpResponse> handleSingle(std::string_view body,
                                                     const envelope::Limits& limits);

struct BatchPlan {
  // One entry per record, in order. Rejected records are final; the others are placeholders
  // (status Failed/"unavailable") that publishing fills in.
  std::vector<RecordResult> results;
  std::vector<std::pair<std::size_t, PublishPlan>> publish;  // (slot in results, record)
};

// Splits and validates a batch: a BatchPlan, or a response rejecting the whole request.
std::variant<BatchPlan, HttpResponse> handleBatch(std::string_view body, BodyFormat format,
                                                  std::size_t max_records,
                                                  const envelope::Limits& limits);

HttpResponse acceptedResponse(std::string_view event_id);
// 503 + Retry-After for Unavailable, 500 for Failed.
HttpResponse deliveryFailureResponse(const DeliveryResult& r, int retry_after_seconds);

// Called exactly once per request with its response — maybe on another thread, later.
using Responder = UniqueFunction<void(HttpResponse)>;

class Processor {
 public:
  // `keys` nullopt means auth is off (only by --auth=none). The limiter, publisher and metrics
  // must outlive the Processor.
  Processor(ProcessorOptions options, std::optional<ApiKeyStore> keys,
            TokenBucketLimiter& limiter, Publisher& publisher, Metrics& metrics, Log log);

  // Thread-safe. `respond` is called exactly once: before handle() returns for everything that
  // does not wait for Kafka, otherwise from the publisher's delivery thread.
  void handle(const RequestView& request, Responder respond);

  // Latest broker readiness, set by the readiness probe.
  void setReadiness(Readiness r);
  // Shutdown: POSTs received from now on get 503 (shutting_down), /readyz fails.
  void beginDrain() { draining_.store(true); }
  bool draining() const { return draining_.load(); }
  // Requests received and not yet answered.
  std::size_t inflight() const { return inflight_.load(); }

 private:
  Responder instrument(Route route, const RequestView& request, Responder respond);
  void handlePost(Route route, const RequestView& request, Responder respond);
  void publishSingle(PublishPlan plan, Responder respond);
  void publishBatch(BatchPlan plan, Responder respond);
  HttpResponse readyz() const;
  std::optional<std::string> allowedOrigin(const RequestView& request) const;
  void noteDeliveryFailure(const DeliveryResult& r);

  ProcessorOptions options_;
  std::optional<ApiKeyStore> keys_;
  TokenBucketLimiter& limiter_;
  Publisher& publisher_;
  Metrics& metrics_;
  Log log_;
  std::atomic<bool> draining_{false};
  std::atomic<std::size_t> inflight_{0};
  mutable std::mutex readiness_mu_;
  Readiness readiness_{false, "not checked yet"};
  std::atomic<std::int64_t> last_failure_log_ns_{0};
  std::atomic<std::uint64_t> suppressed_failures_{0};
};

}  // namespace ca4::processor
