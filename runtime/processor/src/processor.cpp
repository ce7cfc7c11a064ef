#include "ca4/processor/processor.h"

#include <algorithm>
#include <chrono>
#include <memory>

namespace ca4::processor {
namespace {

std::string problemsMessage(std::size_t n) {
  return "the envelope is invalid: " + std::to_string(n) + (n == 1 ? " problem" : " problems");
}

HttpResponse methodNotAllowed(std::string_view allow) {
  HttpResponse r = errorResponse(405, "method_not_allowed", "allowed: " + std::string(allow));
  r.headers.emplace_back("Allow", std::string(allow));
  return r;
}

envelope::Limits recordLimits(const ProcessorOptions& o) {
  envelope::Limits l = o.envelope_limits;
  l.max_document_bytes = std::max(l.max_document_bytes, o.body.max_body);
  return l;
}

}  // namespace

std::variant<PublishPlan, HttpResponse> handleSingle(std::string_view body,
                                                     const envelope::Limits& limits) {
  envelope::ParseResult parsed = envelope::parseEnvelope(body, limits);
  if (!parsed.ok()) {
    return errorResponse(400, "invalid_payload", problemsMessage(parsed.errors.size()),
                         parsed.errors);
  }
  PublishPlan plan;
  plan.event_id = parsed.envelope->event_id;
  plan.payload = envelope::toCanonicalJson(*parsed.envelope);
  return plan;
}

std::variant<BatchPlan, HttpResponse> handleBatch(std::string_view body, BodyFormat format,
                                                  std::size_t max_records,
                                                  const envelope::Limits& limits) {
  SplitResult split = format == BodyFormat::Json ? splitJsonArray(body, max_records)
                                                 : splitNdjson(body, max_records);
  if (split.error) return std::move(*split.error);
  BatchPlan plan;
  plan.results.resize(split.records.size());
  for (std::size_t i = 0; i < split.records.size(); ++i) {
    RecordResult& r = plan.results[i];
    r.index = i;
    envelope::ParseResult parsed = envelope::parseEnvelope(split.records[i], limits);
    if (!parsed.ok()) {
      r.status = RecordStatus::Rejected;
      r.errors = std::move(parsed.errors);
      continue;
    }
    r.status = RecordStatus::Failed;  // until the delivery report says otherwise
    r.failure = "unavailable";
    r.event_id = parsed.envelope->event_id;
    plan.publish.emplace_back(
        i, PublishPlan{parsed.envelope->event_id, envelope::toCanonicalJson(*parsed.envelope)});
  }
  return plan;
}

HttpResponse acceptedResponse(std::string_view event_id) {
  HttpResponse r;
  r.status = 202;
  r.body.reserve(48 + event_id.size());
  r.body += R"({"event_id":)";
  appendJsonString(r.body, event_id);
  r.body += R"(,"status":"accepted"})";
  return r;
}

HttpResponse deliveryFailureResponse(const DeliveryResult& r, int retry_after_seconds) {
  if (r.status == DeliveryStatus::Failed) {
    return errorResponse(500, "publish_failed",
                         "Kafka refused the record for good (" + std::string(r.reason) + ")");
  }
  return retryLater(503, "unavailable",
                    "Kafka did not acknowledge the record (" + std::string(r.reason) +
                        "); nothing was stored by this request, retry later",
                    retry_after_seconds);
}

Processor::Processor(ProcessorOptions options, std::optional<ApiKeyStore> keys,
                     TokenBucketLimiter& limiter, Publisher& publisher, Metrics& metrics, Log log)
    : options_(std::move(options)),
      keys_(std::move(keys)),
      limiter_(limiter),
      publisher_(publisher),
      metrics_(metrics),
      log_(std::move(log)) {}

void Processor::setReadiness(Readiness r) {
  std::lock_guard lock(readiness_mu_);
  readiness_ = std::move(r);
}

std::optional<std::string> Processor::allowedOrigin(const RequestView& request) const {
  if (options_.cors_origins.empty() || !request.origin) return std::nullopt;
  for (const auto& o : options_.cors_origins) {
    if (o == "*") return std::string("*");
    if (o == *request.origin) return o;
  }
  return std::nullopt;
}

Responder Processor::instrument(Route route, const RequestView& request, Responder respond) {
  ++inflight_;
  metrics_.inflightInc();
  const auto start = std::chrono::steady_clock::now();
  return [this, route, start, cors = allowedOrigin(request),
          inner = std::move(respond)](HttpResponse r) mutable {
    if (cors) {
      r.headers.emplace_back("Access-Control-Allow-Origin", *cors);
      r.headers.emplace_back("Access-Control-Expose-Headers", "Retry-After");
      if (*cors != "*") r.headers.emplace_back("Vary", "Origin");
    }
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    metrics_.observeRequest(route, r.status, seconds);
    inner(std::move(r));
    metrics_.inflightDec();
    --inflight_;
  };
}

void Processor::handle(const RequestView& request, Responder respond) {
  const Route route = routeFor(request.path);
  Responder done = instrument(route, request, std::move(respond));
  switch (route) {
    case Route::Metadata:
    case Route::MetadataBatch:
      if (request.method == "POST") return handlePost(route, request, std::move(done));
      if (request.method == "OPTIONS") {
        if (options_.cors_origins.empty()) return done(methodNotAllowed("POST"));
        if (!allowedOrigin(request)) {
          return done(errorResponse(403, "cors_forbidden", "origin not allowed"));
        }
        HttpResponse r;
        r.status = 204;
        r.content_type.clear();
        r.headers = {{"Access-Control-Allow-Methods", "POST, OPTIONS"},
                     {"Access-Control-Allow-Headers", "Authorization, Content-Type"},
                     {"Access-Control-Max-Age", "600"}};
        return done(std::move(r));
      }
      return done(methodNotAllowed(options_.cors_origins.empty() ? "POST" : "POST, OPTIONS"));
    case Route::Healthz:
      if (request.method != "GET") return done(methodNotAllowed("GET"));
      return done(HttpResponse{200, R"({"status":"ok"})", "application/json", {}});
    case Route::Readyz:
      if (request.method != "GET") return done(methodNotAllowed("GET"));
      return done(readyz());
    case Route::Metrics:
      if (request.method != "GET") return done(methodNotAllowed("GET"));
      return done(HttpResponse{200, metrics_.render(), "text/plain; version=0.0.4", {}});
    case Route::Other:
      break;
  }
  done(errorResponse(404, "not_found", "no such route: " + std::string(request.path)));
}

HttpResponse Processor::readyz() const {
  if (draining()) return errorResponse(503, "not_ready", "shutting down");
  std::lock_guard lock(readiness_mu_);
  if (!readiness_.ready) return errorResponse(503, "not_ready", readiness_.reason);
  return HttpResponse{200, R"({"status":"ready"})", "application/json", {}};
}

void Processor::handlePost(Route route, const RequestView& request, Responder respond) {
  if (draining()) {
    return respond(retryLater(503, "shutting_down", "the server is shutting down; retry",
                              options_.retry_after_seconds));
  }
  std::string principal;
  if (keys_) {
    auto name = keys_->authenticate(request.authorization);
    if (!name) {
      HttpResponse r = errorResponse(
          401, "unauthorized",
          request.authorization ? "invalid API key" : "missing Authorization: Bearer <API key>");
      r.headers.emplace_back("WWW-Authenticate", request.authorization
                                                     ? R"(Bearer realm="ca4", error="invalid_token")"
                                                     : R"(Bearer realm="ca4")");
      log_.info("request rejected", {{"route", routeLabel(route)},
                                     {"code", "401"},
                                     {"client", request.client}});
      return respond(std::move(r));
    }
    principal = std::move(*name);
  } else {
    principal = "addr:" + std::string(request.client);
  }
  if (const RateDecision d = limiter_.acquire(principal); !d.allowed) {
    log_.info("request rejected", {{"route", routeLabel(route)},
                                   {"code", "429"},
                                   {"key", principal}});
    return respond(retryLater(429, "rate_limited", "rate limit exceeded for " + principal,
                              d.retry_after_seconds));
  }
  ContentDecision content =
      decideContent(route, request.content_type, request.body.size(), options_.body);
  if (content.error) return respond(std::move(*content.error));

  const envelope::Limits limits = recordLimits(options_);
  if (route == Route::Metadata) {
    auto decided = handleSingle(request.body, limits);
    if (auto* err = std::get_if<HttpResponse>(&decided)) {
      log_.debug("request rejected", {{"route", "metadata"}, {"code", "400"}, {"key", principal}});
      return respond(std::move(*err));
    }
    return publishSingle(std::get<PublishPlan>(std::move(decided)), std::move(respond));
  }
  auto decided = handleBatch(request.body, *content.format, options_.max_batch_records, limits);
  if (auto* err = std::get_if<HttpResponse>(&decided)) return respond(std::move(*err));
  publishBatch(std::get<BatchPlan>(std::move(decided)), std::move(respond));
}

void Processor::publishSingle(PublishPlan plan, Responder respond) {
  std::string key = plan.event_id;
  publisher_.publish(std::move(key), std::move(plan.payload),
                     [this, id = std::move(plan.event_id),
                      respond = std::move(respond)](const DeliveryResult& r) mutable {
                       if (r.status == DeliveryStatus::Acked) {
                         metrics_.recordsPublished(1);
                         respond(acceptedResponse(id));
                         return;
                       }
                       noteDeliveryFailure(r);
                       respond(deliveryFailureResponse(r, options_.retry_after_seconds));
                     });
}

void Processor::publishBatch(BatchPlan plan, Responder respond) {
  if (plan.publish.empty()) {
    return respond(renderBatch(plan.results, options_.retry_after_seconds));
  }
  // Shared by the batch's delivery callbacks; the last one to finish answers.
  struct BatchState {
    std::mutex mu;
    std::vector<RecordResult> results;
    std::size_t remaining = 0;
    Responder respond;
  };
  auto state = std::make_shared<BatchState>();
  state->results = std::move(plan.results);
  state->remaining = plan.publish.size();
  state->respond = std::move(respond);
  for (auto& [slot, record] : plan.publish) {
    publisher_.publish(std::move(record.event_id), std::move(record.payload),
                       [this, state, slot = slot](const DeliveryResult& r) {
                         bool last = false;
                         {
                           std::lock_guard lock(state->mu);
                           RecordResult& rr = state->results[slot];
                           if (r.status == DeliveryStatus::Acked) {
                             rr.status = RecordStatus::Accepted;
                             rr.failure.clear();
                           } else {
                             rr.status = RecordStatus::Failed;
                             rr.failure = r.status == DeliveryStatus::Unavailable
                                              ? "unavailable"
                                              : "publish_failed";
                           }
                           last = --state->remaining == 0;
                         }
                         if (r.status == DeliveryStatus::Acked) {
                           metrics_.recordsPublished(1);
                         } else {
                           noteDeliveryFailure(r);
                         }
                         if (last) {
                           state->respond(
                               renderBatch(state->results, options_.retry_after_seconds));
                         }
                       });
  }
}

void Processor::noteDeliveryFailure(const DeliveryResult& r) {
  metrics_.deliveryError(r.reason);
  // At most one log line per second: a broker outage fails every record.
  const auto now = std::chrono::steady_clock::now().time_since_epoch().count();
  auto last = last_failure_log_ns_.load();
  if (now - last < 1'000'000'000 || !last_failure_log_ns_.compare_exchange_strong(last, now)) {
    ++suppressed_failures_;
    return;
  }
  const auto suppressed = std::to_string(suppressed_failures_.exchange(0));
  log_.warn("kafka did not acknowledge record",
            {{"reason", r.reason}, {"detail", r.detail}, {"suppressed", suppressed}});
}

}  // namespace ca4::processor
