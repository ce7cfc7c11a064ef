// DeadLetterSink producing to the DLQ topic (default gpu-metadata.dlq) with an idempotent,
// acks=all producer. Each letter keeps the original key and bytes; the reason travels in
// headers: ca4-dlq-reason, ca4-dlq-detail, ca4-source-topic, ca4-source-partition,
// ca4-source-offset. send() waits for every delivery report.
// Not thread-safe: used by the consumer loop only.
#pragma once

#include <ca4/worker/holders.h>
#include <ca4/worker/stores.h>

#include <chrono>
#include <memory>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace ca4::worker {

struct KafkaDlqOptions {
  std::string brokers;
  std::string topic = "gpu-metadata.dlq";
  std::vector<std::pair<std::string, std::string>> extra;  // passed through to librdkafka
  std::chrono::milliseconds timeout{10000};
};

class KafkaDeadLetterSink final : public DeadLetterSink {
 public:
  static std::variant<std::unique_ptr<KafkaDeadLetterSink>, std::string> create(
      const KafkaDlqOptions& options);
  ~KafkaDeadLetterSink() override;
  std::optional<Error> send(std::span<const DeadLetter> letters) override;

  struct State;  // delivery-report bookkeeping (implementation detail), outlives producer_

 private:
  KafkaDeadLetterSink();
  KafkaDlqOptions options_;
  std::unique_ptr<State> state_;
  KafkaHandle producer_;
};

}  // namespace ca4::worker
