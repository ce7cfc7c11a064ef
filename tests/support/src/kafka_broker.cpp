#include "ca4/testsupport/kafka_broker.hpp"

#include <fstream>
#include <ca4/drivers/kafka/cluster_id.h>

#include <stdexcept>
#include <thread>

#include "ca4/testsupport/kafka_handles.hpp"

namespace ca4::testsupport {
namespace {

using Clock = std::chrono::steady_clock;

void dropLog(const rd_kafka_t*, int, const char*, const char*) {}

}  // namespace

KafkaHandle makeKafkaClient(rd_kafka_type_t type,
                            std::initializer_list<std::pair<const char*, std::string>> settings) {
  KafkaConf conf(rd_kafka_conf_new());
  char err[512];
  for (auto& [key, value] : settings) {
    if (rd_kafka_conf_set(conf.get(), key, value.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK) {
      throw std::runtime_error(std::string("librdkafka setting ") + key + ": " + err);
    }
  }
  rd_kafka_conf_set_log_cb(conf.get(), dropLog);
  rd_kafka_t* rk = rd_kafka_new(type, conf.get(), err, sizeof err);
  if (rk == nullptr) throw std::runtime_error(std::string("rd_kafka_new: ") + err);
  conf.release();  // owned by rk from here on
  return KafkaHandle(rk);
}

KafkaBroker::KafkaBroker(KafkaOptions options) : options_(std::move(options)), dir_("ca4-kafka") {
  std::string version = requireInstalled("kafka");
  libs_ = serviceCache() / ("kafka-" + version) / "libs";
  if (!std::filesystem::exists(libs_ / ("kafka_2.13-" + version + ".jar"))) {
    throw std::runtime_error("kafka " + version + " jars missing in " + libs_.string() +
                             ": run scripts/install-services.sh --force kafka");
  }
  port_ = freeLoopbackPort();
  controllerPort_ = freeLoopbackPort();
  std::filesystem::create_directories(dir_.path() / "logs");

  std::ofstream props(dir_.path() / "server.properties");
  props << "process.roles=broker,controller\n"
        << "node.id=1\n"
        << "controller.quorum.voters=1@127.0.0.1:" << controllerPort_ << "\n"
        << "listeners=PLAINTEXT://127.0.0.1:" << port_
        << ",CONTROLLER://127.0.0.1:" << controllerPort_ << "\n"
        << "advertised.listeners=PLAINTEXT://127.0.0.1:" << port_ << "\n"
        << "controller.listener.names=CONTROLLER\n"
        << "inter.broker.listener.name=PLAINTEXT\n"
        << "listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT\n"
        << "log.dirs=" << (dir_.path() / "data").string() << "\n"
        << "num.partitions=" << options_.defaultPartitions << "\n"
        << "auto.create.topics.enable=false\n"
        << "offsets.topic.replication.factor=1\n"
        << "offsets.topic.num.partitions=3\n"
        << "transaction.state.log.replication.factor=1\n"
        << "transaction.state.log.min.isr=1\n"
        << "transaction.state.log.num.partitions=3\n"
        << "share.coordinator.state.topic.replication.factor=1\n"
        << "share.coordinator.state.topic.min.isr=1\n"
        << "group.initial.rebalance.delay.ms=0\n"
        << "num.network.threads=2\n"
        << "num.io.threads=4\n";
  props.close();

  // One-time storage format (a short-lived JVM) with the static voter set above.
  Process format = Process::start({
      .argv = {"java", "-Xmx256m", "-cp", (libs_ / "*").string(), "kafka.tools.StorageTool",
               "format", "-t", drivers::kafka::newClusterId(), "-c",
               (dir_.path() / "server.properties").string()},
      .env = {},
      .cwd = dir_.path(),
      .logFile = dir_.path() / "logs" / "format.log",
  });
  auto status = format.wait(std::chrono::seconds(120));
  if (!status || *status != 0) {
    format.kill();
    throw std::runtime_error("kafka: StorageTool format failed:\n" +
                             tailFile(dir_.path() / "logs" / "format.log"));
  }
  start();
}

KafkaBroker::~KafkaBroker() { stop(); }

std::string KafkaBroker::bootstrap() const { return "127.0.0.1:" + std::to_string(port_); }

std::filesystem::path KafkaBroker::serverLog() const { return dir_.path() / "logs" / "server.log"; }

bool KafkaBroker::running() { return process_.alive(); }

void KafkaBroker::stop() { process_.stop(std::chrono::seconds(30)); }

void KafkaBroker::kill() { process_.kill(); }

void KafkaBroker::start() {
  if (process_.alive()) return;
  auto t0 = Clock::now();
  auto log4j = sourceDir() / "scripts" / "services" / "kafka-log4j2.properties";
  process_ = Process::start({
      .argv = {"java", options_.heap, "-XX:+UseG1GC", "-XX:MaxGCPauseMillis=20",
               "-Djava.awt.headless=true", "-Dlog4j2.configurationFile=" + log4j.string(),
               "-Dkafka.logs.dir=" + (dir_.path() / "logs").string(), "-cp", (libs_ / "*").string(),
               "kafka.Kafka", (dir_.path() / "server.properties").string()},
      .env = {},
      .cwd = dir_.path(),
      .logFile = dir_.path() / "logs" / "stdout.log",
  });
  waitReady();
  lastStart_ = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0);
}

void KafkaBroker::fail(const std::string& what) {
  std::string msg = "kafka broker on " + bootstrap() + ": " + what + "\n--- server.log (tail)\n" +
                    tailFile(serverLog()) + "--- stdout/stderr (tail)\n" +
                    tailFile(dir_.path() / "logs" / "stdout.log", 20);
  process_.kill();
  throw std::runtime_error(msg);
}

void KafkaBroker::waitReady() {
  auto deadline = Clock::now() + options_.startTimeout;
  auto remaining = [&] {
    return std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  };
  while (!waitForTcp("127.0.0.1", port_, std::chrono::milliseconds(250))) {
    if (!process_.alive())
      fail("exited during start (status " + std::to_string(process_.exitStatus().value_or(-1)) +
           ")");
    if (remaining().count() <= 0) fail("port not open after start timeout");
  }
  auto client = makeKafkaClient(RD_KAFKA_PRODUCER, {{"bootstrap.servers", bootstrap()}});
  // Ready = a metadata request answers with at least one (unfenced) broker.
  while (true) {
    const rd_kafka_metadata_t* md = nullptr;
    if (rd_kafka_metadata(client.get(), 1, nullptr, &md, 1000) == RD_KAFKA_RESP_ERR_NO_ERROR) {
      KafkaMetadata holder(md);
      if (md->broker_cnt > 0) return;
    }
    if (!process_.alive()) fail("exited during start");
    if (remaining().count() <= 0) fail("no metadata answer before the start timeout");
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

void KafkaBroker::createTopic(const std::string& name, int partitions,
                              std::chrono::milliseconds timeout) {
  auto client = makeKafkaClient(RD_KAFKA_PRODUCER, {{"bootstrap.servers", bootstrap()}});
  char err[512];
  KafkaNewTopic topic(rd_kafka_NewTopic_new(name.c_str(), partitions, 1, err, sizeof err));
  if (!topic) throw std::runtime_error("createTopic " + name + ": " + err);
  KafkaAdminOptions opts(rd_kafka_AdminOptions_new(client.get(), RD_KAFKA_ADMIN_OP_CREATETOPICS));
  rd_kafka_AdminOptions_set_request_timeout(opts.get(), static_cast<int>(timeout.count()), err,
                                            sizeof err);
  rd_kafka_AdminOptions_set_operation_timeout(opts.get(), static_cast<int>(timeout.count()), err,
                                              sizeof err);
  KafkaQueue queue(rd_kafka_queue_new(client.get()));
  rd_kafka_NewTopic_t* topics[] = {topic.get()};
  rd_kafka_CreateTopics(client.get(), topics, 1, opts.get(), queue.get());
  KafkaEvent event(rd_kafka_queue_poll(queue.get(), static_cast<int>(timeout.count()) + 5000));
  if (!event) throw std::runtime_error("createTopic " + name + ": no answer");
  if (rd_kafka_event_error(event.get()) != RD_KAFKA_RESP_ERR_NO_ERROR) {
    throw std::runtime_error("createTopic " + name + ": " +
                             rd_kafka_event_error_string(event.get()));
  }
  size_t count = 0;
  const rd_kafka_topic_result_t** results =
      rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(event.get()), &count);
  for (size_t i = 0; i < count; ++i) {
    auto code = rd_kafka_topic_result_error(results[i]);
    if (code != RD_KAFKA_RESP_ERR_NO_ERROR && code != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
      const char* msg = rd_kafka_topic_result_error_string(results[i]);
      throw std::runtime_error("createTopic " + name + ": " + (msg ? msg : rd_kafka_err2str(code)));
    }
  }
  // Wait until every partition has a leader, so producing right away does not race.
  auto deadline = Clock::now() + timeout;
  while (true) {
    const rd_kafka_metadata_t* md = nullptr;
    if (rd_kafka_metadata(client.get(), 1, nullptr, &md, 1000) == RD_KAFKA_RESP_ERR_NO_ERROR) {
      KafkaMetadata holder(md);
      for (int t = 0; t < md->topic_cnt; ++t) {
        const auto& mt = md->topics[t];
        if (name != mt.topic || mt.err != RD_KAFKA_RESP_ERR_NO_ERROR) continue;
        bool led = mt.partition_cnt > 0;
        for (int p = 0; p < mt.partition_cnt; ++p) led = led && mt.partitions[p].leader >= 0;
        if (led) return;
      }
    }
    if (Clock::now() >= deadline) {
      throw std::runtime_error("createTopic " + name + ": partitions have no leader after " +
                               std::to_string(timeout.count()) + " ms");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

}  // namespace ca4::testsupport
