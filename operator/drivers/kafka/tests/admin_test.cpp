// Pure parts of the Kafka driver: the topic planner, name validation, error classification,
// and client creation (no request is sent).
#include <ca4/drivers/kafka/admin.h>
#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>

namespace ca4::drivers::kafka {
namespace {

TopicInfo topic(int partitions, int rf) {
  TopicInfo t;
  t.name = "gpu-metadata";
  t.partitions = partitions;
  t.replicationFactor = rf;
  return t;
}

TEST(PlanTopic, AbsentTopicIsCreated) {
  const auto plan = planTopic("gpu-metadata", std::nullopt, {3, 1});
  EXPECT_EQ(plan.action, TopicAction::Create);
  EXPECT_EQ(plan.replicationNote, "");
}

TEST(PlanTopic, EqualPartitionsIsNoChange) {
  const auto plan = planTopic("gpu-metadata", topic(3, 1), {3, 1});
  EXPECT_EQ(plan.action, TopicAction::None);
  EXPECT_EQ(plan.replicationNote, "");
}

TEST(PlanTopic, FewerPartitionsThanAskedAreIncreased) {
  EXPECT_EQ(planTopic("gpu-metadata", topic(1, 1), {3, 1}).action, TopicAction::IncreasePartitions);
  EXPECT_EQ(planTopic("gpu-metadata", topic(2, 1), {3, 1}).action, TopicAction::IncreasePartitions);
}

TEST(PlanTopic, MorePartitionsThanAskedIsRefused) {
  EXPECT_EQ(planTopic("gpu-metadata", topic(6, 1), {3, 1}).action, TopicAction::RefuseDecrease);
}

TEST(PlanTopic, ReplicationFactorDifferenceIsReportedNotActedOn) {
  const auto plan = planTopic("gpu-metadata", topic(3, 1), {3, 3});
  EXPECT_EQ(plan.action, TopicAction::None);
  EXPECT_NE(plan.replicationNote.find("gpu-metadata has replication factor 1, spec asks 3"),
            std::string::npos)
      << plan.replicationNote;
  // with a partition change too: both
  const auto both = planTopic("gpu-metadata", topic(1, 1), {3, 2});
  EXPECT_EQ(both.action, TopicAction::IncreasePartitions);
  EXPECT_FALSE(both.replicationNote.empty());
}

TEST(TopicName, KafkaRules) {
  EXPECT_EQ(topicNameProblem("gpu-metadata"), "");
  EXPECT_EQ(topicNameProblem("gpu-metadata.dlq"), "");
  EXPECT_EQ(topicNameProblem("A_b-9.x"), "");
  EXPECT_EQ(topicNameProblem(std::string(249, 'a')), "");
  EXPECT_NE(topicNameProblem(""), "");
  EXPECT_NE(topicNameProblem("."), "");
  EXPECT_NE(topicNameProblem(".."), "");
  EXPECT_NE(topicNameProblem(std::string(250, 'a')), "");
  EXPECT_NE(topicNameProblem("has space"), "");
  EXPECT_NE(topicNameProblem("slash/topic"), "");
}

TEST(KafkaCodes, TransportAndElectionAreRetryableConfigurationIsNot) {
  for (auto c : {RD_KAFKA_RESP_ERR__TRANSPORT, RD_KAFKA_RESP_ERR__TIMED_OUT,
                 RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN, RD_KAFKA_RESP_ERR_NOT_CONTROLLER,
                 RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE, RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT,
                 RD_KAFKA_RESP_ERR_THROTTLING_QUOTA_EXCEEDED})
    EXPECT_TRUE(isRetryableKafkaCode(c)) << rd_kafka_err2name(c);
  for (auto c : {RD_KAFKA_RESP_ERR_INVALID_REPLICATION_FACTOR, RD_KAFKA_RESP_ERR_INVALID_PARTITIONS,
                 RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED,
                 RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED, RD_KAFKA_RESP_ERR__AUTHENTICATION,
                 RD_KAFKA_RESP_ERR_TOPIC_EXCEPTION, RD_KAFKA_RESP_ERR_POLICY_VIOLATION,
                 RD_KAFKA_RESP_ERR_TOPIC_DELETION_DISABLED})
    EXPECT_FALSE(isRetryableKafkaCode(c)) << rd_kafka_err2name(c);
}

TEST(TopicChangeNames, AreStable) {
  EXPECT_STREQ(toString(TopicChange::Created), "created");
  EXPECT_STREQ(toString(TopicChange::PartitionsIncreased), "partitions increased");
  EXPECT_STREQ(toString(TopicChange::Unchanged), "unchanged");
}

TEST(AdminCreate, RejectedPropertyIsTerminalAndDoesNotEchoTheValue) {
  AdminOptions o;
  o.bootstrapServers = "127.0.0.1:1";
  o.config = {{"security.protocol", "bogus-hunter2"}};
  auto a = Admin::create(o);
  ASSERT_FALSE(a.ok());
  EXPECT_FALSE(a.error().isRetryable());
  EXPECT_NE(a.error().message.find("security.protocol"), std::string::npos) << a.error().message;
  EXPECT_EQ(a.error().message.find("hunter2"), std::string::npos) << a.error().message;
}

TEST(AdminCreate, EmptyBootstrapIsTerminal) {
  auto a = Admin::create("", std::chrono::seconds(1));
  ASSERT_FALSE(a.ok());
  EXPECT_FALSE(a.error().isRetryable());
}

TEST(AdminCreate, InvalidTopicArgumentsAreTerminalBeforeAnyRequest) {
  auto a = Admin::create("127.0.0.1:1", std::chrono::milliseconds(200));
  ASSERT_TRUE(a.ok()) << a.error().message;
  EXPECT_EQ(a->bootstrapServers(), "127.0.0.1:1");
  auto bad = a->ensureTopic("bad name", 3, 1);
  ASSERT_FALSE(bad.ok());
  EXPECT_FALSE(bad.error().isRetryable());
  auto zero = a->ensureTopic("ok", 0, 1);
  ASSERT_FALSE(zero.ok());
  EXPECT_FALSE(zero.error().isRetryable());
  EXPECT_NE(zero.error().message.find("partitions must be >= 1, got 0"), std::string::npos);
  auto rf = a->ensureTopic("ok", 1, 0);
  ASSERT_FALSE(rf.ok());
  EXPECT_FALSE(rf.error().isRetryable());
}

}  // namespace
}  // namespace ca4::drivers::kafka
