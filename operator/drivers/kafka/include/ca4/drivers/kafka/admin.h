// Kafka administration for ca4ctl through librdkafka's admin API (2.0: CreateTopics,
// CreatePartitions, DeleteTopics) and metadata requests (cluster and topic description; the
// DescribeCluster/DescribeTopics admin calls need librdkafka ≥ 2.3, Debian 12 ships 2.0.2).
//
// Errors (ca4::engine::Error), classified once in classifyKafkaError():
//   retryable: broker unreachable or timing out, no controller/leader yet, leaderless partitions
//              after a change, throttling — a later attempt can work without the user;
//   terminal:  invalid topic name or counts, replication factor above the broker count,
//              authorization/authentication failures, a requested partition decrease.
// Messages name the bootstrap servers and the topic; configuration values (SASL passwords) are
// never shown. librdkafka's own log lines are dropped; its last transport error is kept and
// quoted in timeout messages ("Connect to ipv4#127.0.0.1:1 failed: Connection refused").
//
// Thread-safety: an Admin is not thread-safe (one caller at a time). Movable.
#pragma once

#include <ca4/engine/result.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace ca4::drivers::kafka {

using engine::Error;
using engine::Result;
using engine::Status;

struct BrokerInfo {
  int id = -1;
  std::string host;
  int port = 0;
};

struct ClusterInfo {
  std::vector<BrokerInfo> brokers;  // as the metadata answer lists them
  int controllerId = -1;            // -1: unknown (no controller elected yet)
  int brokerCount() const { return static_cast<int>(brokers.size()); }
};

struct TopicInfo {
  std::string name;
  int partitions = 0;
  int replicationFactor = 0;        // replicas of partition 0 (the same for all in practice)
  int partitionsWithoutLeader = 0;  // > 0 right after a create or a broker loss
};

struct TopicSpec {
  int partitions = 1;
  int replicationFactor = 1;
};

enum class TopicChange { Created, PartitionsIncreased, Unchanged };
const char* toString(TopicChange c);

// ---- pure planning (no broker) ----

enum class TopicAction { Create, IncreasePartitions, None, RefuseDecrease };

struct TopicPlan {
  TopicAction action = TopicAction::None;
  // Set when an existing topic's replication factor differs from the desired one. Kafka cannot
  // change it in place (a partition reassignment is needed), so ensureTopic() leaves it as is;
  // the caller may warn. Empty otherwise.
  std::string replicationNote;
};

// What ensureTopic() does for `name`, given what the broker reported (nullopt: absent).
TopicPlan planTopic(const std::string& name, const std::optional<TopicInfo>& observed,
                    const TopicSpec& desired);

// Validates a topic name as Kafka does: 1..249 characters of [A-Za-z0-9._-], not "." or "..".
// Returns the problem ("" when valid).
std::string topicNameProblem(const std::string& name);

// Whether a librdkafka/Kafka error code can succeed on a later attempt.
bool isRetryableKafkaCode(int rdKafkaRespErr);

// ---- the admin client ----

struct AdminOptions {
  std::string bootstrapServers;              // "host:port[,host:port…]"
  std::chrono::milliseconds timeout{10000};  // per broker round trip and per wait
  // Extra librdkafka properties (security.protocol, sasl.*, ssl.ca.location, …). Values are
  // never echoed in errors.
  std::vector<std::pair<std::string, std::string>> config;
};

class Admin {
 public:
  // Creates the librdkafka handle (no I/O yet). Terminal error on a rejected property.
  static Result<Admin> create(AdminOptions options);
  // Shorthand: bootstrap servers and timeout only.
  static Result<Admin> create(std::string bootstrapServers, std::chrono::milliseconds timeout);

  Admin(Admin&&) noexcept;
  Admin& operator=(Admin&&) noexcept;
  ~Admin();

  Result<ClusterInfo> describeCluster();
  // nullopt when the topic does not exist.
  Result<std::optional<TopicInfo>> describeTopic(const std::string& name);
  // Idempotent. Creates the topic, or raises its partition count, then waits until every
  // partition has a leader. Refuses (terminal) to lower the partition count. An existing
  // topic's replication factor is not changed (see TopicPlan::replicationNote).
  Result<TopicChange> ensureTopic(const std::string& name, int partitions, int replicationFactor);
  // Idempotent: an absent topic is fine. Waits until the metadata no longer lists it.
  Status deleteTopic(const std::string& name);

  const std::string& bootstrapServers() const;

 private:
  struct Impl;
  explicit Admin(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace ca4::drivers::kafka
