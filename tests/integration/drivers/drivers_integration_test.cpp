// The operator's drivers against REAL servers: Kafka 4.1 (KRaft), FerretDB 1.24, moto S3, and
// python3's http.server — started by tests/support fixtures on free loopback ports. Each suite
// starts its server once; every case cleans up what it created.
#include <arpa/inet.h>
#include <ca4/drivers/http/http_client.h>
#include <ca4/drivers/kafka/admin.h>
#include <ca4/drivers/mongo/probe.h>
#include <ca4/drivers/s3/client.h>
#include <gtest/gtest.h>
#include <mongoc/mongoc.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <memory>
#include <thread>

#include "ca4/testsupport/ferretdb.hpp"
#include "ca4/testsupport/kafka_broker.hpp"
#include "ca4/testsupport/net.hpp"
#include "ca4/testsupport/process.hpp"
#include "ca4/testsupport/s3_server.hpp"

namespace ts = ca4::testsupport;
namespace http = ca4::drivers::http;
namespace kafka = ca4::drivers::kafka;
namespace mongo = ca4::drivers::mongo;
namespace s3 = ca4::drivers::s3;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

std::chrono::milliseconds elapsedSince(Clock::time_point t0) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0);
}

// A loopback port nobody listens on (bound to port 0 and closed by freeLoopbackPort()).
int closedPort() { return ts::freeLoopbackPort(); }

// ============================== Kafka ==============================

class KafkaAdminIT : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { broker_ = std::make_unique<ts::KafkaBroker>(); }
  static void TearDownTestSuite() { broker_.reset(); }
  static kafka::Admin admin() {
    auto a = kafka::Admin::create(broker_->bootstrap(), 30s);
    if (!a) throw std::runtime_error(a.error().message);
    return std::move(*a);
  }
  static std::unique_ptr<ts::KafkaBroker> broker_;
};
std::unique_ptr<ts::KafkaBroker> KafkaAdminIT::broker_;

TEST_F(KafkaAdminIT, DescribeClusterListsTheOneBrokerAndItsController) {
  auto a = admin();
  auto info = a.describeCluster();
  ASSERT_TRUE(info.ok()) << info.error().message;
  EXPECT_EQ(info->brokerCount(), 1);
  EXPECT_EQ(info->brokers[0].id, 1);  // node.id in the fixture's server.properties
  EXPECT_EQ(info->brokers[0].host, "127.0.0.1");
  EXPECT_EQ(info->brokers[0].port, broker_->port());
  EXPECT_EQ(info->controllerId, 1);
}

TEST_F(KafkaAdminIT, AbsentTopicIsNullopt) {
  auto a = admin();
  auto t = a.describeTopic("drv-it-never-created");
  ASSERT_TRUE(t.ok()) << t.error().message;
  EXPECT_FALSE(t->has_value());
  // and describing it did not create it
  auto again = a.describeTopic("drv-it-never-created");
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->has_value());
}

TEST_F(KafkaAdminIT, EnsureTopicCreatesKeepsIncreasesAndRefusesToDecrease) {
  auto a = admin();
  const std::string topic = "drv-it-lifecycle";

  auto created = a.ensureTopic(topic, 3, 1);
  ASSERT_TRUE(created.ok()) << created.error().message;
  EXPECT_EQ(*created, kafka::TopicChange::Created);
  auto d1 = a.describeTopic(topic);
  ASSERT_TRUE(d1.ok() && d1->has_value());
  EXPECT_EQ((*d1)->partitions, 3);
  EXPECT_EQ((*d1)->replicationFactor, 1);
  EXPECT_EQ((*d1)->partitionsWithoutLeader, 0);

  auto same = a.ensureTopic(topic, 3, 1);
  ASSERT_TRUE(same.ok()) << same.error().message;
  EXPECT_EQ(*same, kafka::TopicChange::Unchanged);

  auto raised = a.ensureTopic(topic, 5, 1);
  ASSERT_TRUE(raised.ok()) << raised.error().message;
  EXPECT_EQ(*raised, kafka::TopicChange::PartitionsIncreased);
  auto d2 = a.describeTopic(topic);
  ASSERT_TRUE(d2.ok() && d2->has_value());
  EXPECT_EQ((*d2)->partitions, 5);
  EXPECT_EQ((*d2)->partitionsWithoutLeader, 0);

  auto lowered = a.ensureTopic(topic, 2, 1);
  ASSERT_FALSE(lowered.ok());
  EXPECT_FALSE(lowered.error().isRetryable());
  EXPECT_EQ(lowered.error().message,
            "cannot reduce partitions of drv-it-lifecycle from 5 to 2; delete the topic or raise "
            "spec.edge.kafka.partitions");
  auto d3 = a.describeTopic(topic);
  ASSERT_TRUE(d3.ok() && d3->has_value());
  EXPECT_EQ((*d3)->partitions, 5);  // untouched

  auto del = a.deleteTopic(topic);
  ASSERT_TRUE(del.ok()) << del.error().message;
  auto gone = a.describeTopic(topic);
  ASSERT_TRUE(gone.ok());
  EXPECT_FALSE(gone->has_value());
  auto delAgain = a.deleteTopic(topic);
  EXPECT_TRUE(delAgain.ok()) << delAgain.error().message;
}

TEST_F(KafkaAdminIT, ReplicationFactorAboveBrokerCountIsTerminal) {
  auto a = admin();
  auto r = a.ensureTopic("drv-it-rf3", 1, 3);
  ASSERT_FALSE(r.ok());
  EXPECT_FALSE(r.error().isRetryable()) << r.error().message;
  EXPECT_NE(r.error().message.find("drv-it-rf3"), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().fix.find("spec.edge.kafka.replication_factor"), std::string::npos);
  auto t = a.describeTopic("drv-it-rf3");
  ASSERT_TRUE(t.ok());
  EXPECT_FALSE(t->has_value());
}

TEST(KafkaAdminUnreachable, ClosedPortIsRetryableWithinTheTimeout) {
  const int port = closedPort();
  auto a = kafka::Admin::create("127.0.0.1:" + std::to_string(port), 1500ms);
  ASSERT_TRUE(a.ok()) << a.error().message;
  auto t0 = Clock::now();
  auto info = a->describeCluster();
  const auto took = elapsedSince(t0);
  ASSERT_FALSE(info.ok());
  EXPECT_TRUE(info.error().isRetryable()) << info.error().message;
  EXPECT_NE(info.error().message.find("127.0.0.1:" + std::to_string(port)), std::string::npos)
      << info.error().message;
  EXPECT_LT(took, 4000ms) << info.error().message;
  // librdkafka's own reason, served from its main queue
  EXPECT_NE(info.error().message.find("Connection refused"), std::string::npos)
      << info.error().message;

  t0 = Clock::now();
  auto ensure = a->ensureTopic("drv-it-x", 1, 1);
  ASSERT_FALSE(ensure.ok());
  EXPECT_TRUE(ensure.error().isRetryable()) << ensure.error().message;
  EXPECT_LT(elapsedSince(t0), 4000ms);
  std::cout << "[ kafka    ] unreachable: " << info.error().message << " (" << took.count()
            << " ms)\n";
}

// ============================== Mongo (FerretDB) ==============================

class MongoProbeIT : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    mongo::quietMongocLogs();
    db_ = std::make_unique<ts::FerretDb>();
  }
  static void TearDownTestSuite() { db_.reset(); }
  static mongo::Probe probe(const std::string& uri, std::chrono::milliseconds timeout = 10s) {
    auto p = mongo::Probe::create({uri, "", timeout});
    if (!p) throw std::runtime_error(p.error().message);
    return std::move(*p);
  }
  // Inserts documents with libmongoc directly, independent of the driver under test.
  static void insertDirect(const std::string& coll,
                           const std::vector<std::pair<std::string, int>>& docs) {
    mongoc_client_t* c = mongoc_client_new(db_->uri().c_str());
    ASSERT_NE(c, nullptr);
    mongoc_collection_t* col = mongoc_client_get_collection(c, "ca4it", coll.c_str());
    for (const auto& [id, n] : docs) {
      bson_t doc;
      bson_init(&doc);
      BSON_APPEND_UTF8(&doc, "_id", id.c_str());
      BSON_APPEND_INT32(&doc, "n", n);
      bson_error_t err;
      EXPECT_TRUE(mongoc_collection_insert_one(col, &doc, nullptr, nullptr, &err)) << err.message;
      bson_destroy(&doc);
    }
    mongoc_collection_destroy(col);
    mongoc_client_destroy(c);
  }
  static std::unique_ptr<ts::FerretDb> db_;
};
std::unique_ptr<ts::FerretDb> MongoProbeIT::db_;

TEST_F(MongoProbeIT, PingAnswers) {
  auto p = probe(db_->uri());
  auto s = p.ping();
  EXPECT_TRUE(s.ok()) << s.error().message;
  EXPECT_EQ(p.redactedUri(), "mongodb://127.0.0.1:" + std::to_string(db_->port()));
}

TEST_F(MongoProbeIT, WriteReadDeleteLeavesNothingBehind) {
  auto p = probe(db_->uri());
  auto before = p.count("ca4it", "probe");
  ASSERT_TRUE(before.ok()) << before.error().message;
  auto rt = p.writeReadDelete("ca4it", "probe");
  ASSERT_TRUE(rt.ok()) << rt.error().message;
  EXPECT_EQ(rt->id.rfind("ca4-probe-", 0), 0u) << rt->id;
  EXPECT_EQ(rt->id.size(), 10u + 32u);
  EXPECT_GT(rt->insert.count(), 0);
  EXPECT_GT(rt->read.count(), 0);
  EXPECT_GT(rt->remove.count(), 0);
  auto found = p.findById("ca4it", "probe", rt->id);
  ASSERT_TRUE(found.ok()) << found.error().message;
  EXPECT_FALSE(found->has_value());
  auto after = p.count("ca4it", "probe");
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(*after, *before);
  // a second round gets a different id
  auto rt2 = p.writeReadDelete("ca4it", "probe");
  ASSERT_TRUE(rt2.ok()) << rt2.error().message;
  EXPECT_NE(rt2->id, rt->id);
  std::cout << "[ mongo    ] probe insert " << rt->insert.count() << " us, read "
            << rt->read.count() << " us, delete " << rt->remove.count() << " us\n";
}

TEST_F(MongoProbeIT, FindByIdAndCountSeeWhatWasStored) {
  insertDirect("events", {{"ev-1", 1}, {"ev-2", 2}, {"ev-3", 3}});
  auto p = probe(db_->uri());
  auto n = p.count("ca4it", "events");
  ASSERT_TRUE(n.ok()) << n.error().message;
  EXPECT_EQ(*n, 3);
  auto doc = p.findById("ca4it", "events", "ev-2");
  ASSERT_TRUE(doc.ok()) << doc.error().message;
  ASSERT_TRUE(doc->has_value());
  EXPECT_NE((*doc)->find("\"_id\" : \"ev-2\""), std::string::npos) << **doc;
  EXPECT_NE((*doc)->find("\"n\" : 2"), std::string::npos) << **doc;
  auto none = p.findById("ca4it", "events", "ev-404");
  ASSERT_TRUE(none.ok()) << none.error().message;
  EXPECT_FALSE(none->has_value());
  auto empty = p.count("ca4it", "no-such-collection");
  ASSERT_TRUE(empty.ok()) << empty.error().message;
  EXPECT_EQ(*empty, 0);
}

TEST_F(MongoProbeIT, StoppedServerIsRetryableAndRecovers) {
  auto p = probe(db_->uri(), 1500ms);
  ASSERT_TRUE(p.ping().ok());
  db_->stop();
  auto t0 = Clock::now();
  auto down = p.ping();
  const auto took = elapsedSince(t0);
  db_->start();
  ASSERT_FALSE(down.ok());
  EXPECT_TRUE(down.error().isRetryable()) << down.error().message;
  EXPECT_LT(took, 6000ms);
  // the same Probe works again once the server is back (libmongoc reconnects)
  const auto deadline = Clock::now() + 20s;
  auto up = p.ping();
  while (!up.ok() && Clock::now() < deadline) {
    std::this_thread::sleep_for(200ms);
    up = p.ping();
  }
  EXPECT_TRUE(up.ok()) << up.error().message;
}

TEST(MongoProbeUnreachable, ClosedPortIsRetryableAndHidesThePassword) {
  mongo::quietMongocLogs();
  const int port = closedPort();
  auto p = mongo::Probe::create(
      {"mongodb://ca4:hunter2secret@127.0.0.1:" + std::to_string(port) + "/ca4?authSource=admin",
       "", 1000ms});
  ASSERT_TRUE(p.ok()) << p.error().message;
  auto t0 = Clock::now();
  auto s = p->ping();
  const auto took = elapsedSince(t0);
  ASSERT_FALSE(s.ok());
  EXPECT_TRUE(s.error().isRetryable()) << s.error().message;
  EXPECT_EQ(s.error().message.find("hunter2secret"), std::string::npos) << s.error().message;
  EXPECT_NE(s.error().message.find("mongodb://***@127.0.0.1:" + std::to_string(port) + "/ca4"),
            std::string::npos)
      << s.error().message;
  EXPECT_LT(took, 5000ms);
  auto w = p->writeReadDelete("ca4", "probe");
  ASSERT_FALSE(w.ok());
  EXPECT_TRUE(w.error().isRetryable()) << w.error().message;
  auto c = p->count("ca4", "x");
  ASSERT_FALSE(c.ok());
  EXPECT_TRUE(c.error().isRetryable()) << c.error().message;
  std::cout << "[ mongo    ] unreachable: " << s.error().message << " (" << took.count()
            << " ms)\n";
}

// ============================== S3 (moto) ==============================

class S3ClientIT : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { server_ = std::make_unique<ts::S3Server>(); }
  static void TearDownTestSuite() { server_.reset(); }
  static s3::Client client(const std::string& region = "us-east-1") {
    s3::ClientOptions o;
    o.endpoint = server_->endpoint();
    o.region = region;
    o.credentials = {server_->accessKey(), server_->secretKey(), ""};
    o.timeout = 10s;
    auto c = s3::Client::create(o);
    if (!c) throw std::runtime_error(c.error().message);
    return std::move(*c);
  }
  static std::unique_ptr<ts::S3Server> server_;
};
std::unique_ptr<ts::S3Server> S3ClientIT::server_;

TEST_F(S3ClientIT, EnsureBucketTwiceIsFine) {
  auto c = client();
  auto first = c.ensureBucket("drv-it-bucket");
  ASSERT_TRUE(first.ok()) << first.error().message;
  auto second = c.ensureBucket("drv-it-bucket");
  ASSERT_TRUE(second.ok()) << second.error().message;
  // independent check with the fixture's own (curl-signed) client
  auto listed = ts::s3Request(*server_, "GET", "/drv-it-bucket");
  EXPECT_EQ(listed.status, 200) << listed.body << listed.error;
  auto missing = ts::s3Request(*server_, "GET", "/drv-it-never");
  EXPECT_EQ(missing.status, 404);
}

TEST_F(S3ClientIT, BucketOutsideUsEast1GetsALocationConstraint) {
  auto c = client("eu-west-1");
  auto r = c.ensureBucket("drv-it-eu");
  ASSERT_TRUE(r.ok()) << r.error().message;
  auto again = c.ensureBucket("drv-it-eu");
  ASSERT_TRUE(again.ok()) << again.error().message;
  auto loc = ts::s3Request(*server_, "GET", "/drv-it-eu?location");
  EXPECT_EQ(loc.status, 200);
  EXPECT_NE(loc.body.find("eu-west-1"), std::string::npos) << loc.body;
}

TEST_F(S3ClientIT, PutHeadListDelete) {
  auto c = client();
  ASSERT_TRUE(c.ensureBucket("drv-it-objects").ok());
  const std::vector<std::pair<std::string, std::string>> objects = {
      {"raw/dt=2026-01-01/hour=05/a.json", "{\"a\":1}"},
      {"raw/dt=2026-01-01/hour=05/b c:d.json", "{\"b\":2}"},
      {"enriched/x.json", "{}"}};
  for (const auto& [key, body] : objects) {
    auto p = c.putObject("drv-it-objects", key, body, "application/json");
    ASSERT_TRUE(p.ok()) << key << ": " << p.error().message;
  }
  // the bytes arrived as sent (read back with the fixture's curl-signed client)
  auto got = ts::s3Request(*server_, "GET", "/drv-it-objects/raw/dt=2026-01-01/hour=05/a.json");
  EXPECT_EQ(got.status, 200);
  EXPECT_EQ(got.body, "{\"a\":1}");

  auto h = c.headObject("drv-it-objects", "raw/dt=2026-01-01/hour=05/b c:d.json");
  ASSERT_TRUE(h.ok()) << h.error().message;
  EXPECT_TRUE(*h);
  auto absent = c.headObject("drv-it-objects", "raw/nope.json");
  ASSERT_TRUE(absent.ok()) << absent.error().message;
  EXPECT_FALSE(*absent);

  auto raw = c.list("drv-it-objects", "raw/");
  ASSERT_TRUE(raw.ok()) << raw.error().message;
  std::vector<std::string> keys = *raw;
  std::sort(keys.begin(), keys.end());
  EXPECT_EQ(keys, (std::vector<std::string>{"raw/dt=2026-01-01/hour=05/a.json",
                                            "raw/dt=2026-01-01/hour=05/b c:d.json"}));
  auto all = c.list("drv-it-objects");
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), 3u);

  for (const auto& [key, body] : objects) {
    auto d = c.deleteObject("drv-it-objects", key);
    ASSERT_TRUE(d.ok()) << key << ": " << d.error().message;
  }
  auto h2 = c.headObject("drv-it-objects", "raw/dt=2026-01-01/hour=05/a.json");
  ASSERT_TRUE(h2.ok());
  EXPECT_FALSE(*h2);
  auto empty = c.list("drv-it-objects");
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());
  auto again = c.deleteObject("drv-it-objects", "raw/dt=2026-01-01/hour=05/a.json");
  EXPECT_TRUE(again.ok()) << again.error().message;
}

TEST_F(S3ClientIT, ListingPagesAreFollowed) {
  auto c = client();
  ASSERT_TRUE(c.ensureBucket("drv-it-pages").ok());
  for (int i = 0; i < 5; ++i) {
    auto p = c.putObject("drv-it-pages", "k/" + std::to_string(i), "x");
    ASSERT_TRUE(p.ok()) << p.error().message;
  }
  ASSERT_TRUE(c.putObject("drv-it-pages", "other", "x").ok());
  // 2 keys per page: 3 pages, joined
  auto keys = c.list("drv-it-pages", "k/", 2);
  ASSERT_TRUE(keys.ok()) << keys.error().message;
  std::vector<std::string> got = *keys;
  std::sort(got.begin(), got.end());
  EXPECT_EQ(got, (std::vector<std::string>{"k/0", "k/1", "k/2", "k/3", "k/4"}));
  auto one = c.list("drv-it-pages", "", 1);
  ASSERT_TRUE(one.ok()) << one.error().message;
  EXPECT_EQ(one->size(), 6u);
  for (int i = 0; i < 5; ++i)
    ASSERT_TRUE(c.deleteObject("drv-it-pages", "k/" + std::to_string(i)).ok());
  ASSERT_TRUE(c.deleteObject("drv-it-pages", "other").ok());
}

TEST_F(S3ClientIT, MissingBucketIsTerminal) {
  auto c = client();
  auto l = c.list("drv-it-missing");
  ASSERT_FALSE(l.ok());
  EXPECT_FALSE(l.error().isRetryable());
  EXPECT_NE(l.error().message.find("bucket drv-it-missing does not exist"), std::string::npos)
      << l.error().message;
  auto p = c.putObject("drv-it-missing", "k", "v");
  ASSERT_FALSE(p.ok());
  EXPECT_FALSE(p.error().isRetryable()) << p.error().message;
  EXPECT_EQ(p.error().message.find(server_->secretKey()), std::string::npos);
}

TEST(S3ClientUnreachable, ClosedPortIsRetryable) {
  s3::ClientOptions o;
  o.endpoint = "http://127.0.0.1:" + std::to_string(closedPort());
  o.credentials = {"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", ""};
  o.timeout = 1000ms;
  auto c = s3::Client::create(o);
  ASSERT_TRUE(c.ok()) << c.error().message;
  auto t0 = Clock::now();
  auto r = c->ensureBucket("drv-it-bucket");
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.error().isRetryable()) << r.error().message;
  EXPECT_LT(elapsedSince(t0), 3000ms);
  EXPECT_EQ(r.error().message.find(o.credentials.secret_access_key), std::string::npos);
  EXPECT_EQ(r.error().message.find("Signature="), std::string::npos);
}

// ============================== HTTP ==============================

class HttpClientIT : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = std::make_unique<ts::TempDir>("ca4-drv-http");
    std::ofstream(dir_->path() / "health.txt") << "ok\n";
    port_ = ts::freeLoopbackPort();
    server_ = std::make_unique<ts::Process>(ts::Process::start(
        {.argv = {"python3", "-m", "http.server", "-b", "127.0.0.1", "-d", dir_->path().string(),
                  "-p", "HTTP/1.1", std::to_string(port_)},
         .env = {},
         .cwd = {},
         .logFile = dir_->path() / "server.log"}));
    if (!ts::waitForTcp("127.0.0.1", port_, 20s))
      throw std::runtime_error("python3 -m http.server did not listen:\n" +
                               ts::tailFile(dir_->path() / "server.log"));
  }
  static void TearDownTestSuite() {
    server_.reset();
    dir_.reset();
  }
  static std::string url(const std::string& path) {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }
  static std::unique_ptr<ts::TempDir> dir_;
  static std::unique_ptr<ts::Process> server_;
  static int port_;
};
std::unique_ptr<ts::TempDir> HttpClientIT::dir_;
std::unique_ptr<ts::Process> HttpClientIT::server_;
int HttpClientIT::port_ = 0;

TEST_F(HttpClientIT, GetReturnsStatusHeadersAndBodyOverOneKeptAliveConnection) {
  http::HttpClient c;
  auto r = c.get(url("/health.txt"), 5s);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "ok\n");
  EXPECT_EQ(r->header("content-length"), "3");
  EXPECT_EQ(r->header("content-type"), "text/plain");
  EXPECT_NE(r->header("server").find("SimpleHTTP"), std::string::npos);
  EXPECT_EQ(r->newConnections, 1);
  auto again = c.get(url("/health.txt"), 5s);
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_EQ(again->body, "ok\n");
  EXPECT_EQ(again->newConnections, 0);  // reused (keep-alive)
}

TEST_F(HttpClientIT, NotFoundIsAResponseThatClassifiesAsTerminal) {
  http::HttpClient c;
  auto r = c.get(url("/nope"), 5s);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->status, 404);
  auto e = http::classifyStatus(r->status, "GET " + url("/nope"));
  ASSERT_TRUE(e);
  EXPECT_FALSE(e->isRetryable());
}

TEST_F(HttpClientIT, HeadAndPost) {
  http::HttpClient c;
  http::Request head;
  head.method = "HEAD";
  head.url = url("/health.txt");
  auto h = c.request(head);
  ASSERT_TRUE(h.ok()) << h.error().message;
  EXPECT_EQ(h->status, 200);
  EXPECT_EQ(h->body, "");
  EXPECT_EQ(h->header("content-length"), "3");

  http::Request post;
  post.method = "POST";
  post.url = url("/v1/events");
  post.headers = {{"Content-Type", "application/json"}, {"Authorization", "Bearer s3cr3t-key"}};
  post.body = "{\"x\":1}";
  auto p = c.request(post);
  ASSERT_TRUE(p.ok()) << p.error().message;
  EXPECT_EQ(p->status, 501);  // http.server has no do_POST
  auto e = http::classifyStatus(p->status, "POST " + http::redactUrl(post.url));
  ASSERT_TRUE(e);
  EXPECT_TRUE(e->isRetryable());  // 5xx: a later attempt (another server) may work
}

TEST(HttpClientUnreachable, ClosedPortIsRetryableAndNamesTheUrl) {
  http::HttpClient c;
  const std::string u =
      "http://user:pw1234@127.0.0.1:" + std::to_string(closedPort()) + "/healthz?token=abc";
  http::Request r;
  r.url = u;
  r.timeout = 2000ms;
  r.headers = {{"Authorization", "Bearer top-secret-value"}};
  auto t0 = Clock::now();
  auto res = c.request(r);
  ASSERT_FALSE(res.ok());
  EXPECT_TRUE(res.error().isRetryable()) << res.error().message;
  EXPECT_LT(elapsedSince(t0), 2000ms);
  EXPECT_EQ(res.error().message.find(http::redactUrl(u)), 4u)
      << res.error().message;  // "GET <url>"
  EXPECT_EQ(res.error().message.find("pw1234"), std::string::npos) << res.error().message;
  EXPECT_EQ(res.error().message.find("token=abc"), std::string::npos) << res.error().message;
  EXPECT_EQ(res.error().message.find("top-secret-value"), std::string::npos) << res.error().message;
}

TEST(HttpClientUnreachable, SilentServerTimesOutRetryably) {
  // A listening socket that never accepts: the TCP handshake completes (backlog), no reply.
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(fd, 8), 0);
  socklen_t len = sizeof addr;
  ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  const int port = ntohs(addr.sin_port);

  http::HttpClient c;
  auto t0 = Clock::now();
  auto r = c.get("http://127.0.0.1:" + std::to_string(port) + "/", 500ms);
  const auto took = elapsedSince(t0);
  ::close(fd);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.error().isRetryable()) << r.error().message;
  EXPECT_NE(r.error().message.find("timeout 500 ms"), std::string::npos) << r.error().message;
  EXPECT_GE(took, 450ms);
  EXPECT_LT(took, 3000ms);
}

TEST_F(S3ClientIT, HttpGetAgainstTheS3Server) {
  // An unsigned GET: moto answers (the list of buckets, or an error document) over HTTP/1.1.
  http::HttpClient c;
  auto r = c.get(server_->endpoint() + "/", 5s);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->status, 200);
  EXPECT_NE(r->body.find("ListAllMyBucketsResult"), std::string::npos) << r->body.substr(0, 300);
}

}  // namespace
