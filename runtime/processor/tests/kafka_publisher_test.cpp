// KafkaPublisher against librdkafka's in-process mock cluster (no network beyond loopback).
#include "ca4/processor/kafka_publisher.h"

#include <librdkafka/rdkafka_mock.h>

#include <gtest/gtest.h>

#include <condition_variable>
#include <future>
#include <mutex>
#include <thread>

namespace ca4::processor {
namespace {

// One mock cluster per test; a dummy producer handle owns it.
class MockCluster {
 public:
  explicit MockCluster(int brokers = 1) {
    char err[256];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "log_level", "0", err, sizeof err);
    owner_.reset(rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err));
    mc_ = rd_kafka_mock_cluster_new(owner_.get(), brokers);
  }
  ~MockCluster() { rd_kafka_mock_cluster_destroy(mc_); }
  std::string bootstraps() const { return rd_kafka_mock_cluster_bootstraps(mc_); }
  rd_kafka_mock_cluster_t* get() const { return mc_; }

 private:
  kafka::KafkaPtr owner_;
  rd_kafka_mock_cluster_t* mc_ = nullptr;
};

KafkaConfig configFor(const MockCluster& mc, int timeout_ms = 5000) {
  KafkaConfig c;
  c.brokers = mc.bootstraps();
  c.topic = "gpu-metadata";
  c.message_timeout_ms = timeout_ms;
  c.linger_ms = 0;
  c.properties = {{"log_level", "0"}};
  return c;
}

DeliveryResult publishAndWait(KafkaPublisher& p, std::string key, std::string payload) {
  std::promise<DeliveryResult> done;
  auto f = done.get_future();
  p.publish(std::move(key), std::move(payload),
            [&done](const DeliveryResult& r) { done.set_value(r); });
  EXPECT_EQ(f.wait_for(std::chrono::seconds(30)), std::future_status::ready);
  return f.get();
}

TEST(KafkaPublisher, AckedByMockBroker) {
  MockCluster mc;
  ASSERT_EQ(rd_kafka_mock_topic_create(mc.get(), "gpu-metadata", 3, 1), RD_KAFKA_RESP_ERR_NO_ERROR);
  auto p = KafkaPublisher::create(configFor(mc), Log{});
  ASSERT_TRUE(p.ok()) << p.error();
  const auto r = publishAndWait(*p.value(), "evt-1", R"({"event_id":"evt-1"})");
  EXPECT_EQ(r.status, DeliveryStatus::Acked) << r.detail;
  // The count drops right after the callback returns (on the delivery thread).
  for (int i = 0; i < 100 && p.value()->outstanding() != 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(p.value()->outstanding(), 0u);
  EXPECT_TRUE(p.value()->checkReady(std::chrono::seconds(5)).ready);
}

TEST(KafkaPublisher, ManyRecordsAllAcked) {
  MockCluster mc;
  ASSERT_EQ(rd_kafka_mock_topic_create(mc.get(), "gpu-metadata", 2, 1), RD_KAFKA_RESP_ERR_NO_ERROR);
  auto p = KafkaPublisher::create(configFor(mc), Log{});
  ASSERT_TRUE(p.ok()) << p.error();
  std::mutex mu;
  std::condition_variable cv;
  int acked = 0, failed = 0;
  constexpr int kN = 500;
  for (int i = 0; i < kN; ++i) {
    p.value()->publish("k" + std::to_string(i), std::string(2000, 'x'), [&](const DeliveryResult& r) {
      std::lock_guard lock(mu);
      (r.status == DeliveryStatus::Acked ? acked : failed)++;
      cv.notify_all();
    });
  }
  std::unique_lock lock(mu);
  ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(30), [&] { return acked + failed == kN; }));
  EXPECT_EQ(acked, kN);
}

TEST(KafkaPublisher, BrokerDownTimesOutAsUnavailable) {
  MockCluster mc;
  ASSERT_EQ(rd_kafka_mock_topic_create(mc.get(), "gpu-metadata", 1, 1), RD_KAFKA_RESP_ERR_NO_ERROR);
  auto p = KafkaPublisher::create(configFor(mc, 1500), Log{});
  ASSERT_TRUE(p.ok()) << p.error();
  ASSERT_EQ(publishAndWait(*p.value(), "warm", "{}").status, DeliveryStatus::Acked);

  ASSERT_EQ(rd_kafka_mock_broker_set_down(mc.get(), 1), RD_KAFKA_RESP_ERR_NO_ERROR);
  const auto start = std::chrono::steady_clock::now();
  const auto r = publishAndWait(*p.value(), "evt-down", "{}");
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(r.status, DeliveryStatus::Unavailable);
  EXPECT_EQ(r.reason, "timeout") << r.detail;
  EXPECT_LT(took, std::chrono::seconds(10));
  EXPECT_FALSE(p.value()->checkReady(std::chrono::milliseconds(500)).ready);

  // The broker returns: records go through again.
  ASSERT_EQ(rd_kafka_mock_broker_set_up(mc.get(), 1), RD_KAFKA_RESP_ERR_NO_ERROR);
  EXPECT_EQ(publishAndWait(*p.value(), "evt-up", "{}").status, DeliveryStatus::Acked);
}

TEST(KafkaPublisher, DrainFailsWhatCannotBeDelivered) {
  MockCluster mc;
  ASSERT_EQ(rd_kafka_mock_topic_create(mc.get(), "gpu-metadata", 1, 1), RD_KAFKA_RESP_ERR_NO_ERROR);
  auto p = KafkaPublisher::create(configFor(mc, 60000), Log{});
  ASSERT_TRUE(p.ok()) << p.error();
  ASSERT_EQ(publishAndWait(*p.value(), "warm", "{}").status, DeliveryStatus::Acked);
  ASSERT_EQ(rd_kafka_mock_broker_set_down(mc.get(), 1), RD_KAFKA_RESP_ERR_NO_ERROR);
  std::atomic<int> purged{0};
  for (int i = 0; i < 10; ++i) {
    p.value()->publish("k", "{}", [&](const DeliveryResult& r) {
      if (r.status == DeliveryStatus::Unavailable && r.reason == "purged") ++purged;
    });
  }
  p.value()->drain(std::chrono::milliseconds(300));
  EXPECT_EQ(purged.load(), 10);
  EXPECT_EQ(p.value()->outstanding(), 0u);
}

TEST(KafkaPublisher, DestructorAnswersEveryPendingCallback) {
  MockCluster mc;
  ASSERT_EQ(rd_kafka_mock_topic_create(mc.get(), "gpu-metadata", 1, 1), RD_KAFKA_RESP_ERR_NO_ERROR);
  std::atomic<int> called{0};
  {
    auto p = KafkaPublisher::create(configFor(mc, 60000), Log{});
    ASSERT_TRUE(p.ok()) << p.error();
    ASSERT_EQ(rd_kafka_mock_broker_set_down(mc.get(), 1), RD_KAFKA_RESP_ERR_NO_ERROR);
    for (int i = 0; i < 5; ++i) {
      p.value()->publish("k", "{}", [&](const DeliveryResult&) { ++called; });
    }
  }
  EXPECT_EQ(called.load(), 5);
}

TEST(KafkaPublisher, MissingTopicIsNotReady) {
  MockCluster mc;
  // The mock cluster auto-creates any topic it is asked about, so make it answer as a broker
  // without the topic does (a real broker is covered by the integration test).
  rd_kafka_mock_topic_set_error(mc.get(), "gpu-metadata", RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART);
  auto p = KafkaPublisher::create(configFor(mc), Log{});
  ASSERT_TRUE(p.ok()) << p.error();
  const auto r = p.value()->checkReady(std::chrono::seconds(5));
  EXPECT_FALSE(r.ready);
  EXPECT_NE(r.reason.find("gpu-metadata"), std::string::npos) << r.reason;
}

TEST(KafkaPublisher, UnreachableBrokerIsNotReady) {
  KafkaConfig c;
  c.brokers = "127.0.0.1:1";  // nothing listens on port 1
  c.properties = {{"log_level", "0"}};
  auto p = KafkaPublisher::create(c, Log{});
  ASSERT_TRUE(p.ok()) << p.error();
  const auto r = p.value()->checkReady(std::chrono::milliseconds(300));
  EXPECT_FALSE(r.ready);
  EXPECT_NE(r.reason.find("unreachable"), std::string::npos) << r.reason;
}

TEST(KafkaPublisher, BadConfigurationIsAnError) {
  KafkaConfig c;
  c.properties = {{"no.such.property", "1"}};
  auto p = KafkaPublisher::create(c, Log{});
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.error().find("no.such.property"), std::string::npos);
}

TEST(KafkaPublisher, ClassifyErrors) {
  EXPECT_EQ(KafkaPublisher::classify(RD_KAFKA_RESP_ERR_NO_ERROR).status, DeliveryStatus::Acked);
  EXPECT_EQ(KafkaPublisher::classify(RD_KAFKA_RESP_ERR__QUEUE_FULL).reason, "queue_full");
  EXPECT_EQ(KafkaPublisher::classify(RD_KAFKA_RESP_ERR__MSG_TIMED_OUT).reason, "timeout");
  EXPECT_EQ(KafkaPublisher::classify(RD_KAFKA_RESP_ERR__PURGE_QUEUE).reason, "purged");
  EXPECT_EQ(KafkaPublisher::classify(RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART).status,
            DeliveryStatus::Unavailable);
  EXPECT_EQ(KafkaPublisher::classify(RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE).status,
            DeliveryStatus::Failed);
  EXPECT_EQ(KafkaPublisher::classify(RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS).reason, "broker_error");
  for (auto err : {RD_KAFKA_RESP_ERR__QUEUE_FULL, RD_KAFKA_RESP_ERR__MSG_TIMED_OUT,
                   RD_KAFKA_RESP_ERR__FATAL, RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE}) {
    const auto reason = KafkaPublisher::classify(err).reason;
    EXPECT_NE(std::find(std::begin(kDeliveryErrorReasons), std::end(kDeliveryErrorReasons), reason),
              std::end(kDeliveryErrorReasons))
        << reason;
  }
}

}  // namespace
}  // namespace ca4::processor
