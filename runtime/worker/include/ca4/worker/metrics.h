// Every metric of ca4-worker, declared in this one place. Label series that are known up front
// (dlq reasons, retry targets) are pre-created at zero so dashboards and alerts see them before
// the first event. Thread-safe (prometheus-cpp metrics are atomic); the registry is scraped by
// the HTTP server thread while the consumer loop updates it.
#pragma once

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace ca4::worker {

inline constexpr std::string_view kDlqReasons[] = {"invalid_envelope", "document_too_large",
                                                   "db_rejected", "s3_rejected"};
inline constexpr std::string_view kRetryTargets[] = {"db", "s3", "dlq", "commit"};

class Metrics {
 public:
  Metrics();
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  prometheus::Counter& consumed() { return *consumed_; }       // records polled from Kafka
  prometheus::Counter& written() { return *written_; }         // documents inserted or replaced
  prometheus::Counter& duplicates() { return *duplicates_; }   // equal-or-newer version existed
  prometheus::Counter& s3Objects() { return *s3_objects_; }    // objects PUT and acknowledged
  prometheus::Counter& dlq(std::string_view reason);           // acknowledged by the DLQ topic
  prometheus::Counter& retries(std::string_view target);       // failed attempts that will retry
  prometheus::Histogram& batchDuration() { return *batch_duration_; }  // poll end → commit decision
  prometheus::Gauge& paused() { return *paused_; }             // 1 while consumption is paused
  prometheus::Gauge& lag(std::int32_t partition);              // high watermark − committed
  void removeLag(std::int32_t partition);                      // partition no longer ours

  // Prometheus text exposition format 0.0.4.
  std::string serialize() const;
  std::shared_ptr<prometheus::Registry> registry() const { return registry_; }

 private:
  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Counter* consumed_;
  prometheus::Counter* written_;
  prometheus::Counter* duplicates_;
  prometheus::Counter* s3_objects_;
  prometheus::Family<prometheus::Counter>* dlq_family_;
  prometheus::Family<prometheus::Counter>* retries_family_;
  prometheus::Histogram* batch_duration_;
  prometheus::Gauge* paused_;
  prometheus::Family<prometheus::Gauge>* lag_family_;
};

}  // namespace ca4::worker
