// The seam between the HTTP core and Kafka. KafkaPublisher (kafka_publisher.h) is the real
// implementation; unit tests of the core use a fake, and the real one is tested against
// librdkafka's mock cluster (unit) and a real broker (integration).
#pragma once

#include "ca4/processor/unique_function.h"

#include <chrono>
#include <string>
#include <string_view>

namespace ca4::processor {

enum class DeliveryStatus {
  Acked,        // the broker acknowledged the record (acks=all)
  Unavailable,  // not stored; a retry can help (broker down, queue full, timeout, shutdown)
  Failed,       // not stored; a retry cannot help (e.g. record larger than the broker allows)
};

struct DeliveryResult {
  DeliveryStatus status = DeliveryStatus::Acked;
  // Stable metric label when not Acked: one of kDeliveryErrorReasons.
  std::string_view reason;
  std::string detail;  // librdkafka's message, for logs
};

inline constexpr std::string_view kDeliveryErrorReasons[] = {
    "queue_full", "timeout", "purged", "unknown_topic", "too_large", "fatal", "broker_error"};

using DeliveryCallback = UniqueFunction<void(const DeliveryResult&)>;

struct Readiness {
  bool ready = false;
  std::string reason;  // why not ready; empty when ready
};

class Publisher {
 public:
  virtual ~Publisher() = default;

  // Hands one record (keyed by `key`) to the broker. `done` is called exactly once: from inside
  // publish() when the record cannot even be queued, otherwise later from the delivery thread
  // once the broker acknowledged it or it failed for good. The record is never partially
  // written: an Unavailable/Failed result means the broker did not acknowledge it (it may still
  // have been stored — e.g. a lost ack — which is why consumers deduplicate on event_id).
  // Thread-safe.
  virtual void publish(std::string key, std::string payload, DeliveryCallback done) = 0;

  // Is the broker reachable and the topic present? Blocks up to `timeout`. Thread-safe.
  virtual Readiness checkReady(std::chrono::milliseconds timeout) = 0;

  // Waits up to `timeout` for every queued record to be acknowledged, then fails the rest
  // (Unavailable, reason "purged"), so that when drain() returns every callback has run.
  virtual void drain(std::chrono::milliseconds timeout) = 0;
};

}  // namespace ca4::processor
