// KafkaPublisher: the real Publisher, an idempotent librdkafka producer (acks=all,
// enable.idempotence=true, keyed by event_id) with a dedicated thread that serves delivery
// reports (rd_kafka_poll). Delivery callbacks run on that thread — or on the thread calling
// drain(), which polls too — and must therefore be thread-safe and quick.
//
// Records are not copied: librdkafka references the payload owned by the pending entry until
// its delivery report, which frees it.
// After a fatal producer error (rare with idempotence: e.g. an out-of-order sequence the broker
// cannot repair) the handle is unusable: every publish fails with reason "fatal" and
// checkReady() says so, so /readyz fails and the orchestrator restarts the process.
#pragma once

#include "ca4/processor/kafka_holders.h"
#include "ca4/processor/log.h"
#include "ca4/processor/publisher.h"
#include "ca4/processor/result.h"

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace ca4::processor {

struct KafkaConfig {
  std::string brokers = "127.0.0.1:9092";
  std::string topic = "gpu-metadata";
  int message_timeout_ms = 15000;  // a record not acked by then fails with reason "timeout"
  int linger_ms = 5;
  int queue_max_kbytes = 256 * 1024;  // local queue bound; beyond it publish fails "queue_full"
  // Off by default: the topic is provisioned by the operator; a missing topic is a readiness
  // failure, not something a request should silently create.
  bool allow_auto_create_topics = false;
  // Passed to librdkafka verbatim after the settings above (e.g. security.protocol).
  std::vector<std::pair<std::string, std::string>> properties;
};

class KafkaPublisher final : public Publisher {
 public:
  static Result<std::unique_ptr<KafkaPublisher>> create(const KafkaConfig& config, Log log);
  // Fails every record still queued (reason "purged"), then stops the delivery thread.
  ~KafkaPublisher() override;

  KafkaPublisher(const KafkaPublisher&) = delete;
  KafkaPublisher& operator=(const KafkaPublisher&) = delete;

  void publish(std::string key, std::string payload, DeliveryCallback done) override;
  Readiness checkReady(std::chrono::milliseconds timeout) override;
  void drain(std::chrono::milliseconds timeout) override;

  // Records handed to librdkafka whose delivery report has not run yet.
  std::size_t outstanding() const { return outstanding_.load(); }
  const std::string& topic() const { return config_.topic; }

  // Maps a librdkafka error (from produce or a delivery report) to a result. Pure.
  static DeliveryResult classify(rd_kafka_resp_err_t err);

 private:
  KafkaPublisher(KafkaConfig config, Log log);
  std::string init();  // "" on success
  static void onDelivery(rd_kafka_t* rk, const rd_kafka_message_t* msg, void* opaque);
  static void onLog(const rd_kafka_t* rk, int level, const char* fac, const char* buf);
  static void onError(rd_kafka_t* rk, int err, const char* reason, void* opaque);
  void failAll(std::chrono::milliseconds wait);

  KafkaConfig config_;
  Log log_;
  kafka::KafkaPtr rk_;
  kafka::TopicPtr topic_;  // declared after rk_: destroyed first
  std::atomic<std::size_t> outstanding_{0};
  std::jthread poller_;  // declared last: stopped and joined first
};

}  // namespace ca4::processor
