// Smoke test of the service fixtures: each real server starts, does its basic job, and (Kafka,
// FerretDB) keeps its data across a stop/start on the same port.
#include <gtest/gtest.h>
#include <mongoc/mongoc.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <iostream>
#include <memory>

#include "ca4/testsupport/ferretdb.hpp"
#include "ca4/testsupport/kafka_broker.hpp"
#include "ca4/testsupport/kafka_handles.hpp"
#include "ca4/testsupport/s3_server.hpp"

namespace ts = ca4::testsupport;
using namespace std::chrono_literals;

namespace {

void report(const char* what, std::chrono::milliseconds ms) {
  std::cout << "[ startup  ] " << what << " ready in " << ms.count() << " ms\n";
  ::testing::Test::RecordProperty(std::string(what) + "_start_ms", std::to_string(ms.count()));
}

void produceOne(const ts::KafkaBroker& broker, const std::string& topic, const std::string& key,
                const std::string& value) {
  auto producer = ts::makeKafkaClient(
      RD_KAFKA_PRODUCER,
      {{"bootstrap.servers", broker.bootstrap()}, {"acks", "all"}, {"enable.idempotence", "true"}});
  rd_kafka_resp_err_t err = rd_kafka_producev(
      producer.get(), RD_KAFKA_V_TOPIC(topic.c_str()), RD_KAFKA_V_KEY(key.data(), key.size()),
      RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()),
      RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
  ASSERT_EQ(err, RD_KAFKA_RESP_ERR_NO_ERROR) << rd_kafka_err2str(err);
  ASSERT_EQ(rd_kafka_flush(producer.get(), 30000), RD_KAFKA_RESP_ERR_NO_ERROR);
  ASSERT_EQ(rd_kafka_outq_len(producer.get()), 0);
}

// Consumes from the beginning with a fresh group until `want` messages arrived or 30 s passed.
std::vector<std::string> consumeAll(const ts::KafkaBroker& broker, const std::string& topic,
                                    const std::string& group, size_t want) {
  auto consumer = ts::makeKafkaClient(RD_KAFKA_CONSUMER, {{"bootstrap.servers", broker.bootstrap()},
                                                          {"group.id", group},
                                                          {"auto.offset.reset", "earliest"},
                                                          {"enable.auto.commit", "false"}});
  rd_kafka_poll_set_consumer(consumer.get());
  ts::KafkaPartitionList topics(rd_kafka_topic_partition_list_new(1));
  rd_kafka_topic_partition_list_add(topics.get(), topic.c_str(), RD_KAFKA_PARTITION_UA);
  EXPECT_EQ(rd_kafka_subscribe(consumer.get(), topics.get()), RD_KAFKA_RESP_ERR_NO_ERROR);
  std::vector<std::string> got;
  auto deadline = std::chrono::steady_clock::now() + 30s;
  while (got.size() < want && std::chrono::steady_clock::now() < deadline) {
    ts::KafkaMessage msg(rd_kafka_consumer_poll(consumer.get(), 500));
    if (!msg || msg->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) continue;
    EXPECT_EQ(msg->err, RD_KAFKA_RESP_ERR_NO_ERROR) << rd_kafka_message_errstr(msg.get());
    if (msg->err) continue;
    got.emplace_back(static_cast<const char*>(msg->payload), msg->len);
  }
  rd_kafka_consumer_close(consumer.get());
  return got;
}

TEST(ServicesSmoke, KafkaTopicProduceConsumeAndRestart) {
  auto t0 = std::chrono::steady_clock::now();
  ts::KafkaBroker broker;
  report("kafka(format+start)", std::chrono::duration_cast<std::chrono::milliseconds>(
                                    std::chrono::steady_clock::now() - t0));
  report("kafka", broker.lastStartDuration());
  broker.createTopic("smoke", 3);

  // The topic has 3 partitions, all led.
  auto client = ts::makeKafkaClient(RD_KAFKA_PRODUCER, {{"bootstrap.servers", broker.bootstrap()}});
  const rd_kafka_metadata_t* raw = nullptr;
  ASSERT_EQ(rd_kafka_metadata(client.get(), 1, nullptr, &raw, 10000), RD_KAFKA_RESP_ERR_NO_ERROR);
  ts::KafkaMetadata md(raw);
  int partitions = -1;
  for (int i = 0; i < md->topic_cnt; ++i) {
    if (std::string(md->topics[i].topic) == "smoke") partitions = md->topics[i].partition_cnt;
  }
  EXPECT_EQ(partitions, 3);
  md.reset();
  client.reset();

  produceOne(broker, "smoke", "k1", "hello-before-restart");
  EXPECT_EQ(consumeAll(broker, "smoke", "g1", 1), std::vector<std::string>{"hello-before-restart"});

  // Stop and start on the same port and data: the record is still there.
  const std::string bootstrap = broker.bootstrap();
  broker.stop();
  EXPECT_FALSE(broker.running());
  broker.start();
  report("kafka(restart)", broker.lastStartDuration());
  EXPECT_EQ(broker.bootstrap(), bootstrap);
  produceOne(broker, "smoke", "k2", "hello-after-restart");
  auto all = consumeAll(broker, "smoke", "g2", 2);
  std::sort(all.begin(), all.end());
  EXPECT_EQ(all, (std::vector<std::string>{"hello-after-restart", "hello-before-restart"}));
}

struct MongocDeleter {
  void operator()(mongoc_client_t* p) const { mongoc_client_destroy(p); }
  void operator()(mongoc_collection_t* p) const { mongoc_collection_destroy(p); }
  void operator()(mongoc_cursor_t* p) const { mongoc_cursor_destroy(p); }
};
// Owns a heap bson_t (unique_ptr<bson_t> trips -Wignored-attributes: bson_t is over-aligned).
struct Bson {
  explicit Bson(bson_t* p) : ptr(p) {}
  Bson(const Bson&) = delete;
  Bson& operator=(const Bson&) = delete;
  ~Bson() {
    if (ptr) bson_destroy(ptr);
  }
  bson_t* get() const { return ptr; }
  bson_t* ptr;
};
template <class T>
using Mongo = std::unique_ptr<T, MongocDeleter>;

int64_t countDocs(const std::string& uri, const char* name) {
  Mongo<mongoc_client_t> client(mongoc_client_new(uri.c_str()));
  Mongo<mongoc_collection_t> coll(mongoc_client_get_collection(client.get(), "ca4", "smoke"));
  Bson filter(BCON_NEW("name", BCON_UTF8(name)));
  bson_error_t error;
  int64_t n = mongoc_collection_count_documents(coll.get(), filter.get(), nullptr, nullptr, nullptr,
                                                &error);
  EXPECT_GE(n, 0) << error.message;
  return n;
}

TEST(ServicesSmoke, FerretDbInsertFindAndRestart) {
  ts::FerretDb db;
  report("ferretdb", db.lastStartDuration());
  {
    Mongo<mongoc_client_t> client(mongoc_client_new(db.uri().c_str()));
    ASSERT_TRUE(client);
    Mongo<mongoc_collection_t> coll(mongoc_client_get_collection(client.get(), "ca4", "smoke"));
    Bson doc(
        BCON_NEW("_id", BCON_UTF8("evt-1"), "name", BCON_UTF8("gpu"), "mem", BCON_INT64(81920)));
    bson_error_t error;
    ASSERT_TRUE(mongoc_collection_insert_one(coll.get(), doc.get(), nullptr, nullptr, &error))
        << error.message;
    Bson filter(BCON_NEW("_id", BCON_UTF8("evt-1")));
    Mongo<mongoc_cursor_t> cursor(
        mongoc_collection_find_with_opts(coll.get(), filter.get(), nullptr, nullptr));
    const bson_t* found = nullptr;
    ASSERT_TRUE(mongoc_cursor_next(cursor.get(), &found));
    bson_iter_t it;
    ASSERT_TRUE(bson_iter_init_find(&it, found, "mem"));
    EXPECT_EQ(bson_iter_as_int64(&it), 81920);
  }
  db.stop();
  EXPECT_FALSE(db.running());
  db.start();
  report("ferretdb(restart)", db.lastStartDuration());
  EXPECT_EQ(countDocs(db.uri(), "gpu"), 1);
}

TEST(ServicesSmoke, S3PutGet) {
  ts::S3Server s3;
  report("s3(moto)", s3.lastStartDuration());
  s3.createBucket("ca4-archive");
  s3.createBucket("ca4-archive");  // idempotent
  const std::string body(100000, 'x');
  auto put = ts::s3Request(s3, "PUT", "/ca4-archive/raw/2026/11/23/13/evt-1.json", body);
  ASSERT_EQ(put.status, 200) << put.error << put.body;
  auto get = ts::s3Request(s3, "GET", "/ca4-archive/raw/2026/11/23/13/evt-1.json");
  ASSERT_EQ(get.status, 200) << get.error;
  ASSERT_EQ(get.body.size(), body.size());
  EXPECT_TRUE(get.body == body);
  auto missing = ts::s3Request(s3, "GET", "/ca4-archive/nope");
  EXPECT_EQ(missing.status, 404);

  s3.stop();
  EXPECT_EQ(ts::s3Request(s3, "GET", "/", {}, 2s).status, 0);  // down: no HTTP answer
  s3.start();
  report("s3(moto restart)", s3.lastStartDuration());
  EXPECT_EQ(ts::s3Request(s3, "GET", "/").status, 200);
}

TEST(ServicesSmoke, ProcessStopsGroupAndReportsStatus) {
  ts::TempDir dir;
  auto p = ts::Process::start({.argv = {"sh", "-c", "sleep 300 & sleep 300"},
                               .env = {},
                               .cwd = dir.path(),
                               .logFile = dir.path() / "log"});
  EXPECT_TRUE(p.alive());
  auto status = p.stop(2s);
  ASSERT_TRUE(status);
  EXPECT_EQ(*status, 128 + SIGTERM);
  EXPECT_FALSE(p.alive());
  EXPECT_THROW(ts::Process::start(
                   {.argv = {"/nonexistent/ca4-binary"}, .env = {}, .cwd = {}, .logFile = {}}),
               std::runtime_error);
}

}  // namespace
