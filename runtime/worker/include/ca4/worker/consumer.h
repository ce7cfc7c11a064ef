// The Kafka side of the worker: a high-level consumer in group `edge-worker` with
// enable.auto.commit=false and enable.auto.offset.store=false. The loop:
//   poll up to batch_size records or batch_time → BatchProcessor::prepare →
//   attempt; on a Retry failure: pause the assignment, back off (jittered, capped) while
//   polling so group membership stays alive, attempt the SAME batch again; resume on success →
//   synchronous rd_kafka_commit of exactly the batch's offsets.
// Rebalance (eager or cooperative): a revocation while a batch is outstanding abandons the
// batch (nothing of it is committed) and rewinds still-owned partitions to the batch start.
// Shutdown (stop flag): a batch in retry is abandoned, never committed; then the consumer is
// closed. Not thread-safe; run() on one thread.
#pragma once

#include <ca4/worker/backoff.h>
#include <ca4/worker/batch_processor.h>
#include <ca4/worker/config.h>
#include <ca4/worker/holders.h>
#include <ca4/worker/metrics.h>

#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>
#include <vector>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <variant>

namespace ca4::worker {

class Consumer {
 public:
  static std::variant<std::unique_ptr<Consumer>, std::string> create(
      const Config& config, BatchProcessor& processor, Metrics& metrics,
      std::shared_ptr<spdlog::logger> log);
  ~Consumer();

  // Runs until `stop` is set; returns 0 on a clean shutdown.
  int run(const std::atomic<bool>& stop);

  bool paused() const { return paused_.load(); }
  bool assigned() const { return assigned_.load(); }
  // When the loop last went round (for /healthz); any thread.
  std::chrono::steady_clock::time_point lastTick() const {
    return std::chrono::steady_clock::time_point(std::chrono::steady_clock::duration(heartbeat_.load()));
  }

  // librdkafka rebalance callback (public for the C trampoline only).
  void onRebalance(rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* partitions);

 private:
  Consumer(const Config& config, BatchProcessor& processor, Metrics& metrics,
           std::shared_ptr<spdlog::logger> log);
  // Waits up to `timeout` for one message; serves rebalances and errors. Returns null if none.
  KafkaMessage pollOne(std::chrono::milliseconds timeout);
  void setPaused(bool on);
  bool commit(const std::vector<CommitOffset>& offsets);
  void rewind(const Batch& batch);
  void updateLag();

  Config config_;
  BatchProcessor& processor_;
  Metrics& metrics_;
  std::shared_ptr<spdlog::logger> log_;
  KafkaHandle rk_;
  Backoff backoff_;
  std::set<std::int32_t> owned_;                 // partitions of config_.topic currently assigned
  std::map<std::int32_t, std::int64_t> committed_;  // what we committed (next offset)
  std::vector<KafkaMessage> stash_;  // arrived while a batch was being retried
  bool in_batch_ = false;
  bool revoked_during_batch_ = false;
  std::chrono::steady_clock::time_point last_poll_error_log_{};
  // steady_clock ticks of the last loop iteration, read by the health endpoint
  struct Tick {
    std::atomic<std::chrono::steady_clock::rep> v{std::chrono::steady_clock::now().time_since_epoch().count()};
    void operator=(std::chrono::steady_clock::time_point t) { v.store(t.time_since_epoch().count()); }
    std::chrono::steady_clock::rep load() const { return v.load(); }
  } heartbeat_;
  std::atomic<bool> paused_{false};
  std::atomic<bool> assigned_{false};
};

}  // namespace ca4::worker
