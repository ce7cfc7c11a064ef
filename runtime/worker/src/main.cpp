// ca4-worker: consumes the processor's canonical envelopes from Kafka, transforms them and
// upserts them into a Mongo-compatible DB (optionally archiving to S3); see README.md.
#include <ca4/common/logging.h>
#include <ca4/worker/batch_processor.h>
#include <ca4/worker/config.h>
#include <ca4/worker/consumer.h>
#include <ca4/worker/http_server.h>
#include <ca4/worker/kafka_dlq.h>
#include <ca4/worker/metrics.h>
#include <ca4/worker/mongo_store.h>
#include <ca4/worker/s3_store.h>

#include "log_fields.h"

#include <atomic>
#include <csignal>
#include <cstdlib>

namespace {

std::atomic<bool> g_stop{false};

extern "C" void onSignal(int) { g_stop.store(true); }

const char* env(const char* name) {
  const char* v = std::getenv(name);
  return v && *v ? v : nullptr;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace ca4::worker;
  using detail::Fields;

  auto parsed = parseConfig(argc, argv);
  if (auto* code = std::get_if<int>(&parsed)) return *code;
  const Config cfg = std::get<Config>(std::move(parsed));

  auto log = ca4::log::make("worker", cfg.log_format == "text" ? ca4::log::Format::Text : ca4::log::Format::Json);
  log->set_level(spdlog::level::from_str(cfg.log_level));

  struct sigaction sa {};
  sa.sa_handler = onSignal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  installMongocLogHandler();
  curl_global_init(CURL_GLOBAL_DEFAULT);
  Metrics metrics;

  MongoOptions mo;
  mo.uri = cfg.mongo_uri;
  mo.database = cfg.db;
  mo.collection = cfg.collection;
  mo.retry_writes = cfg.retry_writes;
  mo.tls_ca_file = cfg.tls_ca_file;
  auto store_or = MongoDocumentStore::create(mo);
  if (auto* err = std::get_if<std::string>(&store_or)) {
    log->error("{}", Fields("invalid database configuration").str("error", *err).text());
    return 1;
  }
  auto store = std::move(std::get<0>(store_or));

  std::unique_ptr<S3ObjectStore> archive;
  if (cfg.archiveEnabled()) {
    const char* ak = env("AWS_ACCESS_KEY_ID");
    const char* sk = env("AWS_SECRET_ACCESS_KEY");
    if (!ak || !sk) {
      log->error("{}", Fields("S3 archive needs credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY").text());
      return 1;
    }
    S3Options so;
    so.endpoint = cfg.s3_endpoint;
    so.bucket = cfg.s3_bucket;
    so.region = cfg.s3_region;
    so.credentials = {ak, sk, env("AWS_SESSION_TOKEN") ? env("AWS_SESSION_TOKEN") : ""};
    so.path_style = cfg.s3_path_style;
    so.parallel = cfg.s3_parallel;
    try {
      archive = std::make_unique<S3ObjectStore>(std::move(so));
    } catch (const std::exception& e) {
      log->error("{}", Fields("invalid S3 configuration").str("error", e.what()).text());
      return 1;
    }
  }

  auto dlq_or = KafkaDeadLetterSink::create({cfg.brokers, cfg.dlq_topic, cfg.kafka_extra, std::chrono::milliseconds(10000)});
  if (auto* err = std::get_if<std::string>(&dlq_or)) {
    log->error("{}", Fields("invalid DLQ producer configuration").str("error", *err).text());
    return 1;
  }
  auto dlq = std::move(std::get<0>(dlq_or));

  SystemClock clock;
  BatchOptions bo;
  bo.s3_prefix = cfg.s3_prefix;
  BatchProcessor processor(*store, archive.get(), *dlq, metrics, clock, bo);

  auto consumer_or = Consumer::create(cfg, processor, metrics, log);
  if (auto* err = std::get_if<std::string>(&consumer_or)) {
    log->error("{}", Fields("invalid Kafka configuration").str("error", *err).text());
    return 1;
  }
  auto consumer = std::move(std::get<0>(consumer_or));

  std::unique_ptr<HttpServer> http;
  try {
    Consumer* c = consumer.get();
    http = std::make_unique<HttpServer>(cfg.metrics_listen, metrics, [c] {
      return Health{std::chrono::steady_clock::now() - c->lastTick() < std::chrono::seconds(300), c->paused()};
    });
  } catch (const std::exception& e) {
    log->error("{}", Fields("cannot serve /healthz and /metrics").str("listen", cfg.metrics_listen).str("error", e.what()).text());
    return 1;
  }

  log->info("{}", Fields("ca4-worker starting")
                      .str("brokers", cfg.brokers)
                      .str("topic", cfg.topic)
                      .str("group", cfg.group)
                      .str("db_hosts", store->redactedHosts())  // never the URI: it has credentials
                      .str("db", cfg.db)
                      .str("collection", cfg.collection)
                      .boolean("retry_writes", cfg.retry_writes)
                      .boolean("tls", !cfg.tls_ca_file.empty())
                      .boolean("archive", archive != nullptr)
                      .str("s3_endpoint", cfg.s3_endpoint)
                      .str("s3_bucket", cfg.s3_bucket)
                      .num("metrics_port", http->port())
                      .text());

  const int rc = consumer->run(g_stop);
  consumer.reset();  // closes the group membership before the rest goes away
  http->stop();
  log->info("{}", Fields("ca4-worker stopped").num("exit_code", rc).text());
  return rc;
}
