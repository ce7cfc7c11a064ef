#include <ca4/worker/config.h>

#include <gtest/gtest.h>

#include <cstdlib>

namespace ca4::worker {
namespace {

Config parse(std::vector<const char*> args) {
  args.insert(args.begin(), "ca4-worker");
  auto r = parseConfig(static_cast<int>(args.size()), args.data());
  EXPECT_TRUE(std::holds_alternative<Config>(r));
  return std::holds_alternative<Config>(r) ? std::get<Config>(r) : Config{};
}

TEST(Config, DefaultsFollowTheSeedsAndDocumentDb) {
  unsetenv("CA4_MONGO_URI");
  unsetenv("CA4_KAFKA_BROKERS");
  const Config c = parse({});
  EXPECT_EQ(c.topic, "gpu-metadata");
  EXPECT_EQ(c.group, "edge-worker");
  EXPECT_EQ(c.dlq_topic, "gpu-metadata.dlq");
  EXPECT_EQ(c.db, "ca4");
  EXPECT_EQ(c.collection, "gpu_metadata");
  EXPECT_FALSE(c.retry_writes);
  EXPECT_EQ(c.batch_size, 500u);
  EXPECT_EQ(c.batch_time.count(), 100);
  EXPECT_EQ(c.metrics_listen, "0.0.0.0:9102");
  EXPECT_FALSE(c.archiveEnabled());
}

TEST(Config, EnvironmentAndFlags) {
  setenv("CA4_MONGO_URI", "mongodb://u:p@db:27017", 1);
  const Config c = parse({"--batch-size", "100", "--batch-ms", "50", "--retry-writes", "true", "--kafka-opt",
                          "session.timeout.ms=6000", "--s3-endpoint", "http://127.0.0.1:9000", "--s3-bucket",
                          "b", "--s3-prefix", "p"});
  unsetenv("CA4_MONGO_URI");
  EXPECT_EQ(c.mongo_uri, "mongodb://u:p@db:27017");
  EXPECT_EQ(c.batch_size, 100u);
  EXPECT_EQ(c.batch_time.count(), 50);
  EXPECT_TRUE(c.retry_writes);
  ASSERT_EQ(c.kafka_extra.size(), 1u);
  EXPECT_EQ(c.kafka_extra[0].first, "session.timeout.ms");
  EXPECT_EQ(c.kafka_extra[0].second, "6000");
  EXPECT_TRUE(c.archiveEnabled());
  EXPECT_EQ(c.s3_prefix, "p/");
}

TEST(Config, BadInputEndsTheRunWithCode2) {
  const char* bad1[] = {"ca4-worker", "--batch-size", "0"};
  auto r = parseConfig(3, bad1);
  ASSERT_TRUE(std::holds_alternative<int>(r));
  EXPECT_NE(std::get<int>(r), 0);
  const char* bad2[] = {"ca4-worker", "--kafka-opt", "novalue"};
  r = parseConfig(3, bad2);
  ASSERT_TRUE(std::holds_alternative<int>(r));
  EXPECT_EQ(std::get<int>(r), 2);
}

}  // namespace
}  // namespace ca4::worker
