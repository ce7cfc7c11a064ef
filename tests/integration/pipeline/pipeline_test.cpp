// The data plane end to end, every component real: ca4-processor (HTTP) → Kafka 4 (KRaft) →
// ca4-worker (group edge-worker) → FerretDB. What the issue asks of the whole:
//  - N valid events posted → exactly N documents; the same N posted again → still N;
//  - broker stopped → 503, and every event that got a 202 before is in the DB after the broker
//    returns (acknowledged data is never lost).
#include <ca4/common/testing/sample_envelope.h>
#include <ca4/testsupport/ferretdb.hpp>
#include <ca4/testsupport/http.hpp>
#include <ca4/testsupport/kafka_broker.hpp>
#include <ca4/testsupport/net.hpp>
#include <ca4/testsupport/process.hpp>
#include <gtest/gtest.h>
#include <mongoc/mongoc.h>

#include <cstdlib>
#include <fstream>
#include <memory>
#include <set>
#include <thread>

namespace {

using namespace std::chrono_literals;
namespace ts = ca4::testsupport;
using ca4::envelope::testing::sampleEnvelopeJson;

constexpr const char* kKey = "pipeline-it-key-0001";

std::filesystem::path binDir() {
  const char* dir = std::getenv("CA4_BIN_DIR");
  return dir ? std::filesystem::path(dir) : std::filesystem::current_path();
}

struct MongoDeleter {
  void operator()(mongoc_client_t* c) const { mongoc_client_destroy(c); }
  void operator()(mongoc_collection_t* c) const { mongoc_collection_destroy(c); }
};

// bson_t carries an alignment attribute that unique_ptr's template argument would drop.
struct Bson {
  explicit Bson(bson_t* b) : p(b) {}
  ~Bson() { bson_destroy(p); }
  Bson(const Bson&) = delete;
  Bson& operator=(const Bson&) = delete;
  const bson_t* get() const { return p; }
  bson_t* p;
};

// Documents in ca4.gpu_metadata, or -1 when the DB cannot be asked.
std::int64_t countDocuments(const std::string& uri) {
  std::unique_ptr<mongoc_client_t, MongoDeleter> client(mongoc_client_new(uri.c_str()));
  if (!client) return -1;
  std::unique_ptr<mongoc_collection_t, MongoDeleter> coll(
      mongoc_client_get_collection(client.get(), "ca4", "gpu_metadata"));
  Bson filter(bson_new());
  bson_error_t err;
  return mongoc_collection_count_documents(coll.get(), filter.get(), nullptr, nullptr, nullptr,
                                           &err);
}

// True iff a document with _id == id exists.
bool hasDocument(const std::string& uri, const std::string& id) {
  std::unique_ptr<mongoc_client_t, MongoDeleter> client(mongoc_client_new(uri.c_str()));
  std::unique_ptr<mongoc_collection_t, MongoDeleter> coll(
      mongoc_client_get_collection(client.get(), "ca4", "gpu_metadata"));
  Bson filter(BCON_NEW("_id", BCON_UTF8(id.c_str())));
  bson_error_t err;
  return mongoc_collection_count_documents(coll.get(), filter.get(), nullptr, nullptr, nullptr,
                                           &err) == 1;
}

// Waits until countDocuments() == expected, then a little longer to catch any excess.
std::int64_t waitForCount(const std::string& uri, std::int64_t expected,
                          std::chrono::seconds limit = 120s) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  std::int64_t n = -1;
  while (std::chrono::steady_clock::now() < deadline) {
    n = countDocuments(uri);
    if (n >= expected) break;
    std::this_thread::sleep_for(200ms);
  }
  std::this_thread::sleep_for(1s);
  return countDocuments(uri);
}

class Pipeline : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    mongoc_init();
    broker_ = std::make_unique<ts::KafkaBroker>();
    broker_->createTopic("gpu-metadata", 3);
    broker_->createTopic("gpu-metadata.dlq", 1);
    db_ = std::make_unique<ts::FerretDb>();
    dir_ = std::make_unique<ts::TempDir>("ca4-pipeline-it");
    {
      std::ofstream keys(dir_->path() / "api-keys");
      keys << "pipeline:" << kKey << "\n";
    }
    std::filesystem::permissions(dir_->path() / "api-keys", std::filesystem::perms::owner_read |
                                                                 std::filesystem::perms::owner_write);
    const auto portFile = dir_->path() / "processor.port";
    processor_ = std::make_unique<ts::Process>(ts::Process::start({
        .argv = {(binDir() / "ca4-processor").string(), "--listen", "127.0.0.1:0", "--port-file",
                 portFile.string(), "--brokers", broker_->bootstrap(), "--api-keys-file",
                 (dir_->path() / "api-keys").string(), "--message-timeout-ms", "4000",
                 "--log-format", "text"},
        .env = {},
        .cwd = {},
        .logFile = dir_->path() / "processor.log",
    }));
    const auto deadline = std::chrono::steady_clock::now() + 30s;
    while (processorPort_ == 0 && std::chrono::steady_clock::now() < deadline) {
      std::ifstream in(portFile);
      in >> processorPort_;
      if (processorPort_ == 0) std::this_thread::sleep_for(100ms);
    }
    ASSERT_NE(processorPort_, 0) << ts::tailFile(dir_->path() / "processor.log");
    workerMetricsPort_ = ts::freeLoopbackPort();
    startWorker();
  }

  static void startWorker() {
    worker_ = std::make_unique<ts::Process>(ts::Process::start({
        .argv = {(binDir() / "ca4-worker").string(), "--brokers", broker_->bootstrap(),
                 "--mongo-uri", db_->uri(), "--metrics-listen",
                 "127.0.0.1:" + std::to_string(workerMetricsPort_), "--backoff-max-ms", "1000",
                 "--log-format", "text"},
        .env = {},
        .cwd = {},
        .logFile = dir_->path() / "worker.log",
    }));
  }

  static void TearDownTestSuite() {
    worker_.reset();
    processor_.reset();
    db_.reset();
    broker_.reset();
    dir_.reset();
  }

  static std::string url(const std::string& path) {
    return "http://127.0.0.1:" + std::to_string(processorPort_) + path;
  }
  static ts::HttpResult post(const std::string& id) {
    return ts::httpPostJson(url("/v1/metadata"), sampleEnvelopeJson(id), kKey);
  }
  static std::string logs() {
    return "--- processor.log\n" + ts::tailFile(dir_->path() / "processor.log") +
           "--- worker.log\n" + ts::tailFile(dir_->path() / "worker.log");
  }

  static inline std::unique_ptr<ts::KafkaBroker> broker_;
  static inline std::unique_ptr<ts::FerretDb> db_;
  static inline std::unique_ptr<ts::TempDir> dir_;
  static inline std::unique_ptr<ts::Process> processor_, worker_;
  static inline int processorPort_ = 0, workerMetricsPort_ = 0;
};

TEST_F(Pipeline, NEventsGiveExactlyNDocumentsAndAReplayChangesNothing) {
  constexpr int kN = 300;
  const auto before = countDocuments(db_->uri());
  ASSERT_GE(before, 0);
  for (int round = 0; round < 2; ++round) {
    for (int i = 0; i < kN; ++i) {
      auto r = post("pipe-n-" + std::to_string(i));
      ASSERT_EQ(r.status, 202) << r.body << r.error << logs();
    }
    EXPECT_EQ(waitForCount(db_->uri(), before + kN), before + kN)
        << "round " << round << "\n" << logs();
  }
}

TEST_F(Pipeline, BrokerDownGives503AndEveryAcceptedEventIsStored) {
  std::vector<std::string> accepted;
  for (int i = 0; i < 50; ++i) {
    std::string id = "pipe-outage-pre-" + std::to_string(i);
    auto r = post(id);
    ASSERT_EQ(r.status, 202) << r.body << logs();
    accepted.push_back(id);
  }
  broker_->stop();
  // With the broker gone, no record can be acknowledged: 503 (after the message timeout).
  auto down = post("pipe-outage-during");
  EXPECT_EQ(down.status, 503) << down.body;
  EXPECT_FALSE(down.header("retry-after").empty());
  broker_->start();
  // Back: the processor accepts again (the first requests may still race the reconnect).
  int ok = 0;
  for (int i = 0; i < 200 && ok < 20; ++i) {
    std::string id = "pipe-outage-post-" + std::to_string(i);
    auto r = post(id);
    if (r.status == 202) {
      accepted.push_back(id);
      ++ok;
    } else {
      ASSERT_EQ(r.status, 503) << r.body;
      std::this_thread::sleep_for(250ms);
    }
  }
  ASSERT_EQ(ok, 20) << logs();
  const auto deadline = std::chrono::steady_clock::now() + 120s;
  std::set<std::string> missing(accepted.begin(), accepted.end());
  while (!missing.empty() && std::chrono::steady_clock::now() < deadline) {
    for (auto it = missing.begin(); it != missing.end();) {
      it = hasDocument(db_->uri(), *it) ? missing.erase(it) : std::next(it);
    }
    if (!missing.empty()) std::this_thread::sleep_for(500ms);
  }
  EXPECT_TRUE(missing.empty()) << missing.size() << " accepted events never reached the DB, e.g. "
                               << (missing.empty() ? "" : *missing.begin()) << "\n" << logs();
  // The event refused with 503 must not have been stored behind the client's back... it may
  // legitimately be (librdkafka could have delivered after the timeout was reported) — so it is
  // not asserted; what is asserted is that nothing acknowledged is lost.
}

}  // namespace
