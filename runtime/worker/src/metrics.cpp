#include "ca4/worker/metrics.h"

#include <prometheus/text_serializer.h>

#include <sstream>

namespace ca4::worker {

using prometheus::BuildCounter;
using prometheus::BuildGauge;
using prometheus::BuildHistogram;

Metrics::Metrics() : registry_(std::make_shared<prometheus::Registry>()) {
  auto& reg = *registry_;
  consumed_ = &BuildCounter()
                   .Name("ca4_worker_records_consumed_total")
                   .Help("Records polled from the input topic")
                   .Register(reg)
                   .Add({});
  written_ = &BuildCounter()
                  .Name("ca4_worker_documents_written_total")
                  .Help("Documents inserted or replaced by a newer version")
                  .Register(reg)
                  .Add({});
  duplicates_ = &BuildCounter()
                     .Name("ca4_worker_duplicates_skipped_total")
                     .Help("Records skipped because an equal or newer version was stored")
                     .Register(reg)
                     .Add({});
  s3_objects_ = &BuildCounter()
                     .Name("ca4_worker_s3_objects_written_total")
                     .Help("Archive objects stored in S3")
                     .Register(reg)
                     .Add({});
  dlq_family_ = &BuildCounter()
                     .Name("ca4_worker_dlq_total")
                     .Help("Records sent to the dead-letter topic, by reason")
                     .Register(reg);
  for (auto r : kDlqReasons) dlq_family_->Add({{"reason", std::string(r)}});
  retries_family_ = &BuildCounter()
                         .Name("ca4_worker_retries_total")
                         .Help("Failed attempts that will be retried, by target")
                         .Register(reg);
  for (auto t : kRetryTargets) retries_family_->Add({{"target", std::string(t)}});
  batch_duration_ = &BuildHistogram()
                         .Name("ca4_worker_batch_duration_seconds")
                         .Help("From the end of polling a batch to its commit decision, retries included")
                         .Register(reg)
                         .Add({}, prometheus::Histogram::BucketBoundaries{
                                      0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60});
  paused_ = &BuildGauge()
                 .Name("ca4_worker_paused")
                 .Help("1 while consumption is paused because a write target is failing")
                 .Register(reg)
                 .Add({});
  lag_family_ = &BuildGauge()
                     .Name("ca4_worker_consumer_lag")
                     .Help("High watermark minus the committed offset, by partition")
                     .Register(reg);
}

prometheus::Counter& Metrics::dlq(std::string_view reason) {
  return dlq_family_->Add({{"reason", std::string(reason)}});
}

prometheus::Counter& Metrics::retries(std::string_view target) {
  return retries_family_->Add({{"target", std::string(target)}});
}

prometheus::Gauge& Metrics::lag(std::int32_t partition) {
  return lag_family_->Add({{"partition", std::to_string(partition)}});
}

void Metrics::removeLag(std::int32_t partition) {
  const prometheus::Labels labels{{"partition", std::to_string(partition)}};
  if (lag_family_->Has(labels)) lag_family_->Remove(&lag_family_->Add(labels));
}

std::string Metrics::serialize() const {
  std::ostringstream os;
  prometheus::TextSerializer().Serialize(os, registry_->Collect());
  return os.str();
}

}  // namespace ca4::worker
