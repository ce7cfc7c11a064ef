#include "ca4/stages/local_services.h"

#include "ca4/common/sigv4.h"


#include <algorithm>
#include <filesystem>
#include <sstream>

namespace ca4::stages::local {
namespace fs = std::filesystem;

namespace {

std::string port(std::uint16_t p) { return std::to_string(p); }
std::string loop(std::uint16_t p) { return "127.0.0.1:" + port(p); }
std::string logOf(const Layout& l, const std::string& name) { return l.data_dir + "/" + name + ".log"; }

}  // namespace

std::string Component::configDigest() const {
  std::string s;
  for (const auto& a : process.argv) s += a + '\0';
  s += '\1';
  for (const auto& [k, v] : process.env) s += k + '\0';  // names only: values may be secrets
  s += '\1';
  for (const auto& [path, content] : files) s += path + '\0' + sigv4::sha256Hex(content) + '\0';
  return "sha256:" + sigv4::sha256Hex(s);
}

std::string kafkaLog4j2() {
  return R"(# written by ca4ctl: broker INFO to server.log, chatty subsystems at WARN
status = warn
name = ca4-kafka
appender.file.type = File
appender.file.name = FILE
appender.file.fileName = ${sys:kafka.logs.dir}/server.log
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = FILE
logger.controller.name = kafka.controller
logger.controller.level = WARN
logger.coordinator.name = kafka.coordinator
logger.coordinator.level = WARN
logger.log.name = kafka.log
logger.log.level = WARN
logger.storage.name = org.apache.kafka.storage
logger.storage.level = WARN
logger.raft.name = org.apache.kafka.raft
logger.raft.level = WARN
logger.clients.name = org.apache.kafka.clients
logger.clients.level = WARN
logger.request.name = kafka.request.logger
logger.request.level = WARN
)";
}

std::string kafkaProperties(const spec::Pipeline& p, const Layout& l) {
  const auto& ports = p.spec.local.ports;
  std::ostringstream o;
  o << "# written by ca4ctl (local target): single KRaft node, broker + controller\n"
    << "process.roles=broker,controller\n"
    << "node.id=1\n"
    << "controller.quorum.voters=1@" << loop(ports.kafka_controller) << "\n"
    << "listeners=PLAINTEXT://" << loop(ports.kafka) << ",CONTROLLER://" << loop(ports.kafka_controller) << "\n"
    << "advertised.listeners=PLAINTEXT://" << loop(ports.kafka) << "\n"
    << "controller.listener.names=CONTROLLER\n"
    << "listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT\n"
    << "log.dirs=" << l.data_dir << "/kafka-data\n"
    << "num.partitions=" << p.spec.edge.kafka.partitions << "\n"
    << "auto.create.topics.enable=false\n"
    << "offsets.topic.replication.factor=1\n"
    << "transaction.state.log.replication.factor=1\n"
    << "transaction.state.log.min.isr=1\n"
    << "share.coordinator.state.topic.replication.factor=1\n"
    << "share.coordinator.state.topic.min.isr=1\n"
    << "group.initial.rebalance.delay.ms=0\n";
  return o.str();
}

std::string prometheusConfig(const spec::Pipeline& p) {
  const auto& ports = p.spec.local.ports;
  std::ostringstream o;
  o << "# written by ca4ctl (local target)\n"
    << "global:\n"
    << "  scrape_interval: " << p.spec.monitoring.scrape_interval.count() << "s\n"
    << "  evaluation_interval: " << p.spec.monitoring.scrape_interval.count() << "s\n"
    << "scrape_configs:\n"
    << "  - job_name: ca4-processor\n"
    << "    static_configs:\n"
    << "      - targets: ['" << loop(ports.processor) << "']\n"
    << "        labels: {component: processor, pipeline: " << p.metadata.name << "}\n"
    << "  - job_name: ca4-worker\n"
    << "    static_configs:\n"
    << "      - targets: ['" << loop(ports.worker_metrics) << "']\n"
    << "        labels: {component: worker, pipeline: " << p.metadata.name << "}\n"
    << "  - job_name: prometheus\n"
    << "    static_configs:\n"
    << "      - targets: ['" << loop(ports.prometheus) << "']\n";
  return o.str();
}

std::vector<Component> platformComponents(const spec::Pipeline& p, const Layout& l) {
  const auto& ports = p.spec.local.ports;
  std::vector<Component> out;

  Component kafka;
  kafka.name = "kafka";
  kafka.stage = "platform";
  kafka.port = ports.kafka;
  kafka.probe = Probe::KafkaMetadata;
  kafka.start_timeout_s = 120;  // a JVM on 2 busy cores
  kafka.files[l.data_dir + "/kafka.properties"] = kafkaProperties(p, l);
  kafka.files[l.data_dir + "/kafka-log4j2.properties"] = kafkaLog4j2();
  kafka.process = {"kafka",
                   {l.java, "-Xmx512m", "-XX:+UseSerialGC",
                    "-Dlog4j2.configurationFile=" + l.data_dir + "/kafka-log4j2.properties",
                    "-Dkafka.logs.dir=" + l.data_dir + "/kafka-logs", "-cp", l.kafka_libs + "/*",
                    "kafka.Kafka", l.data_dir + "/kafka.properties"},
                   {},
                   logOf(l, "kafka"),
                   l.data_dir};
  out.push_back(std::move(kafka));

  Component db;
  db.name = "db";
  db.stage = "platform";
  db.port = ports.db;
  db.probe = Probe::MongoPing;
  db.process = {"db",
                {l.ferretdb, "--handler=sqlite", "--sqlite-url=file:" + l.data_dir + "/db-data/",
                 "--listen-addr=" + loop(ports.db), "--state-dir=" + l.data_dir + "/db-state",
                 "--telemetry=disable", "--debug-addr=-", "--log-level=warn"},
                {},
                logOf(l, "db"),
                l.data_dir};
  out.push_back(std::move(db));

  if (p.spec.platform.archive.enabled) {
    Component s3;
    s3.name = "s3";
    s3.stage = "platform";
    s3.port = ports.s3;
    s3.probe = Probe::HttpAny;
    s3.probe_path = "/";
    s3.process = {"s3", {l.moto_server, "-H", "127.0.0.1", "-p", port(ports.s3)}, {}, logOf(l, "s3"), l.data_dir};
    out.push_back(std::move(s3));
  }
  return out;
}

std::vector<Component> edgeComponents(const spec::Pipeline& p, const Layout& l,
                                      const std::string& api_keys_file) {
  const auto& ports = p.spec.local.ports;
  const auto& e = p.spec.edge;
  std::vector<Component> out;

  Component proc;
  proc.name = "processor";
  proc.stage = "edge";
  proc.port = ports.processor;
  proc.probe = Probe::HttpOk;
  proc.probe_path = "/readyz";
  std::ostringstream rate;
  rate << e.processor.rate_limit;
  proc.process = {"processor",
                  {l.bin_dir + "/ca4-processor", "--listen", loop(ports.processor), "--brokers",
                   loop(ports.kafka), "--topic", e.kafka.topic, "--api-keys-file", api_keys_file,
                   "--rate", rate.str(), "--max-body", std::to_string(e.processor.max_body_bytes)},
                  {},
                  logOf(l, "processor"),
                  l.data_dir};
  out.push_back(std::move(proc));

  Component worker;
  worker.name = "worker";
  worker.stage = "edge";
  worker.port = ports.worker_metrics;
  worker.probe = Probe::HttpOk;
  worker.probe_path = "/healthz";
  const auto& db = p.spec.platform.db;
  std::vector<std::string> argv = {
      l.bin_dir + "/ca4-worker", "--brokers", loop(ports.kafka), "--topic", e.kafka.topic,
      "--group", e.kafka.consumer_group, "--dlq-topic", e.kafka.dlq_topic,
      "--db", db.database, "--collection", db.collection,
      "--batch-size", std::to_string(e.worker.batch_size),
      "--batch-ms", std::to_string(e.worker.batch_timeout.count()),
      "--metrics-listen", loop(ports.worker_metrics),
      // Static group membership: a worker restarted after a crash takes its partitions back at
      // once instead of waiting out the dead member's session (45 s by default).
      "--kafka-opt", "group.instance.id=" + p.metadata.name + "-worker-0",
      "--kafka-opt", "session.timeout.ms=15000"};
  // The DB URI goes through the environment (CA4_MONGO_URI), never argv: argv is world-readable
  // in /proc. Locally it is the embedded DB, which has no password.
  std::map<std::string, std::string> env = {{"CA4_MONGO_URI", "mongodb://" + loop(ports.db) + "/"}};
  if (p.spec.platform.archive.enabled) {
    const auto& a = p.spec.platform.archive;
    argv.insert(argv.end(), {"--s3-endpoint", "http://" + loop(ports.s3), "--s3-bucket", a.bucket,
                             "--s3-region", a.region});
    env["AWS_ACCESS_KEY_ID"] = a.access_key_id.empty() ? kLocalS3AccessKey : a.access_key_id.value();
    env["AWS_SECRET_ACCESS_KEY"] =
        a.secret_access_key.empty() ? kLocalS3Secret : a.secret_access_key.value();
  }
  worker.process = {"worker", std::move(argv), std::move(env), logOf(l, "worker"), l.data_dir};
  out.push_back(std::move(worker));
  return out;
}

std::vector<Component> monitoringComponents(const spec::Pipeline& p, const Layout& l) {
  if (!p.spec.monitoring.enabled) return {};
  const auto& ports = p.spec.local.ports;
  Component prom;
  prom.name = "prometheus";
  prom.stage = "monitoring";
  prom.port = ports.prometheus;
  prom.probe = Probe::HttpOk;
  prom.probe_path = "/-/ready";
  prom.files[l.data_dir + "/prometheus.yml"] = prometheusConfig(p);
  prom.process = {"prometheus",
                  {l.prometheus, "--config.file=" + l.data_dir + "/prometheus.yml",
                   "--storage.tsdb.path=" + l.data_dir + "/prometheus-data",
                   "--web.listen-address=" + loop(ports.prometheus),
                   "--storage.tsdb.retention.time=2d", "--log.level=warn"},
                  {},
                  logOf(l, "prometheus"),
                  l.data_dir};
  return {std::move(prom)};
}

}  // namespace ca4::stages::local
