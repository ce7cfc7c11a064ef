#pragma once
// A real single-node Apache Kafka (KRaft, combined broker + controller) on free loopback ports,
// from the jars scripts/install-services.sh put in the service cache.
#include <chrono>
#include <memory>
#include <string>

#include "ca4/testsupport/net.hpp"
#include "ca4/testsupport/process.hpp"

namespace ca4::testsupport {

struct KafkaOptions {
  std::string heap = "-Xmx512m";           // JVM heap flags
  int defaultPartitions = 1;               // num.partitions
  std::chrono::seconds startTimeout{120};  // JVM start on 2 busy cores takes 10-20 s
};

// Owns the broker process, its ports and its data directory (a TempDir removed at the end).
// Not thread-safe. The constructor formats the storage and starts the broker, returning once a
// metadata request through librdkafka succeeds; it throws std::runtime_error (with the tail of
// the broker's log) if it does not. The destructor stops the broker.
class KafkaBroker {
 public:
  explicit KafkaBroker(KafkaOptions options = {});
  ~KafkaBroker();
  KafkaBroker(const KafkaBroker&) = delete;
  KafkaBroker& operator=(const KafkaBroker&) = delete;

  // "127.0.0.1:PORT" — the same across stop()/start().
  std::string bootstrap() const;
  int port() const { return port_; }

  // Graceful stop (SIGTERM, then SIGKILL after 30 s). Data stays; idempotent.
  void stop();
  // SIGKILL: an abrupt broker loss. Data stays (minus what was not flushed); idempotent.
  void kill();
  // Starts again on the same ports and data directory and waits until ready. No-op if running.
  void start();
  bool running();

  // Creates a topic (replication factor 1) and waits until every partition has a leader.
  // Idempotent: an existing topic is accepted as is. Throws on any other error.
  void createTopic(const std::string& name, int partitions,
                   std::chrono::milliseconds timeout = std::chrono::seconds(30));

  // How long the last start() took until ready (for reporting).
  std::chrono::milliseconds lastStartDuration() const { return lastStart_; }
  std::filesystem::path serverLog() const;

 private:
  void waitReady();
  [[noreturn]] void fail(const std::string& what);

  KafkaOptions options_;
  TempDir dir_;
  std::filesystem::path libs_;
  int port_ = 0;
  int controllerPort_ = 0;
  Process process_;
  std::chrono::milliseconds lastStart_{0};
};

}  // namespace ca4::testsupport
