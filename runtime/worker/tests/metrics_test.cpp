#include <ca4/worker/metrics.h>

#include <gtest/gtest.h>

namespace ca4::worker {
namespace {

TEST(Metrics, EveryMetricIsExposedWithPrecreatedLabels) {
  Metrics m;
  m.lag(0).Set(5);
  const std::string text = m.serialize();
  for (const char* name :
       {"ca4_worker_records_consumed_total", "ca4_worker_documents_written_total",
        "ca4_worker_duplicates_skipped_total", "ca4_worker_dlq_total{reason=\"invalid_envelope\"} 0",
        "ca4_worker_dlq_total{reason=\"db_rejected\"} 0", "ca4_worker_dlq_total{reason=\"document_too_large\"} 0",
        "ca4_worker_dlq_total{reason=\"s3_rejected\"} 0", "ca4_worker_batch_duration_seconds_bucket",
        "ca4_worker_consumer_lag{partition=\"0\"} 5", "ca4_worker_paused 0",
        "ca4_worker_retries_total{target=\"db\"} 0", "ca4_worker_retries_total{target=\"s3\"} 0",
        "ca4_worker_retries_total{target=\"dlq\"} 0", "ca4_worker_s3_objects_written_total"})
    EXPECT_NE(text.find(name), std::string::npos) << name;
}

TEST(Metrics, RemovedLagSeriesDisappears) {
  Metrics m;
  m.lag(3).Set(1);
  m.removeLag(3);
  m.removeLag(4);  // unknown: no-op
  EXPECT_EQ(m.serialize().find("partition=\"3\""), std::string::npos);
}

}  // namespace
}  // namespace ca4::worker
