// Every metric ca4-processor exports, declared here and only here:
//   ca4_processor_requests_total{route,code}           counter
//   ca4_processor_request_duration_seconds{route}      histogram (request received → answered)
//   ca4_processor_kafka_delivery_errors_total{reason}  counter, reasons = kDeliveryErrorReasons
//   ca4_processor_inflight_requests                    gauge (received, not yet answered)
//   ca4_processor_records_published_total              counter (records acked by Kafka)
// Common label series are created at zero up front so dashboards and rate() see them before
// the first event. Thread-safety: all methods may be called from any thread.
#pragma once

#include "ca4/processor/http.h"

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

namespace ca4::processor {

class Metrics {
 public:
  Metrics();

  void observeRequest(Route route, int status, double seconds);
  void deliveryError(std::string_view reason);
  void recordsPublished(std::size_t n) { published_.Increment(static_cast<double>(n)); }
  void inflightInc() { inflight_.Increment(); }
  void inflightDec() { inflight_.Decrement(); }
  double inflight() const { return inflight_.Value(); }

  // Prometheus text exposition format (version 0.0.4).
  std::string render() const;

 private:
  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Family<prometheus::Counter>& requests_;
  prometheus::Family<prometheus::Histogram>& duration_;
  prometheus::Family<prometheus::Counter>& delivery_errors_;
  prometheus::Gauge& inflight_;
  prometheus::Counter& published_;
  // Pre-created series, looked up without touching the family's mutex; filled in the
  // constructor and read-only afterwards.
  std::map<std::pair<Route, int>, prometheus::Counter*> request_series_;
  std::map<Route, prometheus::Histogram*> duration_series_;
  std::map<std::string, prometheus::Counter*, std::less<>> error_series_;
};

}  // namespace ca4::processor
