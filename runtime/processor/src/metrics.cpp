#include "ca4/processor/metrics.h"

#include "ca4/processor/publisher.h"

#include <prometheus/text_serializer.h>

namespace ca4::processor {
namespace {

const prometheus::Histogram::BucketBoundaries& latencyBuckets() {
  static const prometheus::Histogram::BucketBoundaries b = {
      0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};
  return b;
}

constexpr int kPostCodes[] = {200, 202, 400, 401, 404, 405, 413, 415, 429, 500, 503};
constexpr int kGetCodes[] = {200, 404, 405, 503};

}  // namespace

Metrics::Metrics()
    : registry_(std::make_shared<prometheus::Registry>()),
      requests_(prometheus::BuildCounter()
                    .Name("ca4_processor_requests_total")
                    .Help("HTTP requests answered, by route and status code")
                    .Register(*registry_)),
      duration_(prometheus::BuildHistogram()
                    .Name("ca4_processor_request_duration_seconds")
                    .Help("Time from request received to response queued, by route")
                    .Register(*registry_)),
      delivery_errors_(prometheus::BuildCounter()
                           .Name("ca4_processor_kafka_delivery_errors_total")
                           .Help("Records Kafka did not acknowledge, by reason")
                           .Register(*registry_)),
      inflight_(prometheus::BuildGauge()
                    .Name("ca4_processor_inflight_requests")
                    .Help("Requests received and not yet answered")
                    .Register(*registry_)
                    .Add({})),
      published_(prometheus::BuildCounter()
                     .Name("ca4_processor_records_published_total")
                     .Help("Records acknowledged by Kafka")
                     .Register(*registry_)
                     .Add({})) {
  for (Route r : kAllRoutes) {
    const std::string route(routeLabel(r));
    const bool post = r == Route::Metadata || r == Route::MetadataBatch;
    if (post) {
      for (int code : kPostCodes) {
        request_series_[{r, code}] =
            &requests_.Add({{"route", route}, {"code", std::to_string(code)}});
      }
    } else {
      for (int code : kGetCodes) {
        request_series_[{r, code}] =
            &requests_.Add({{"route", route}, {"code", std::to_string(code)}});
      }
    }
    duration_series_[r] = &duration_.Add({{"route", route}}, latencyBuckets());
  }
  for (std::string_view reason : kDeliveryErrorReasons) {
    error_series_[std::string(reason)] = &delivery_errors_.Add({{"reason", std::string(reason)}});
  }
}

void Metrics::observeRequest(Route route, int status, double seconds) {
  if (auto it = request_series_.find({route, status}); it != request_series_.end()) {
    it->second->Increment();
  } else {
    requests_.Add({{"route", std::string(routeLabel(route))}, {"code", std::to_string(status)}})
        .Increment();
  }
  duration_series_.at(route)->Observe(seconds);
}

void Metrics::deliveryError(std::string_view reason) {
  if (auto it = error_series_.find(reason); it != error_series_.end()) {
    it->second->Increment();
  } else {
    delivery_errors_.Add({{"reason", std::string(reason)}}).Increment();
  }
}

std::string Metrics::render() const {
  return prometheus::TextSerializer().Serialize(registry_->Collect());
}

}  // namespace ca4::processor
