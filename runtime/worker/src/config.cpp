#include "ca4/worker/config.h"

#include <CLI/CLI.hpp>

namespace ca4::worker {

std::variant<Config, int> parseConfig(int argc, const char* const* argv) {
  Config c;
  CLI::App app{"ca4-worker: Kafka gpu-metadata → transform → Mongo-compatible DB (+ S3 archive, DLQ)"};
  app.option_defaults()->always_capture_default();

  app.add_option("--brokers", c.brokers, "Kafka bootstrap servers")->envname("CA4_KAFKA_BROKERS");
  app.add_option("--topic", c.topic, "input topic");
  app.add_option("--group", c.group, "consumer group");
  app.add_option("--dlq-topic", c.dlq_topic, "dead-letter topic");
  app.add_option("--assignment-strategy", c.assignment_strategy,
                 "partition.assignment.strategy (cooperative-sticky, range, roundrobin)");
  std::vector<std::string> kafka_opts;
  app.add_option("--kafka-opt", kafka_opts, "extra librdkafka property key=value (repeatable)");
  app.add_option("--batch-size", c.batch_size, "max records per batch")->check(CLI::Range(1, 100000));
  long batch_ms = c.batch_time.count();
  app.add_option("--batch-ms", batch_ms, "max time to fill a batch")->check(CLI::Range(1, 60000));

  app.add_option("--mongo-uri", c.mongo_uri, "MongoDB connection string (secret: never logged)")
      ->envname("CA4_MONGO_URI")
      ->capture_default_str();
  app.add_option("--db", c.db, "database");
  app.add_option("--collection", c.collection, "collection");
  app.add_option("--retry-writes", c.retry_writes, "retryWrites (false for Amazon DocumentDB)");
  app.add_option("--tls-ca-file", c.tls_ca_file, "CA bundle; enables TLS to the DB (DocumentDB: global-bundle.pem)")
      ->envname("CA4_MONGO_TLS_CA_FILE");

  app.add_option("--s3-endpoint", c.s3_endpoint, "S3 endpoint URL; archive is on when set with --s3-bucket")
      ->envname("CA4_S3_ENDPOINT");
  app.add_option("--s3-bucket", c.s3_bucket, "S3 bucket")->envname("CA4_S3_BUCKET");
  app.add_option("--s3-region", c.s3_region, "S3 region (SigV4 scope)")->envname("AWS_REGION");
  app.add_option("--s3-prefix", c.s3_prefix, "key prefix (\"\" or ending in /)");
  app.add_option("--s3-path-style", c.s3_path_style, "path-style URLs (true for MinIO/moto)");
  app.add_option("--s3-parallel", c.s3_parallel, "concurrent PUTs")->check(CLI::Range(1, 64));

  long backoff_initial = c.backoff_initial.count(), backoff_max = c.backoff_max.count();
  app.add_option("--backoff-initial-ms", backoff_initial, "first retry delay")->check(CLI::Range(1, 60000));
  app.add_option("--backoff-max-ms", backoff_max, "retry delay cap")->check(CLI::Range(1, 600000));
  app.add_option("--metrics-listen", c.metrics_listen, "host:port for /healthz and /metrics");
  app.add_option("--log-format", c.log_format, "json or text")->check(CLI::IsMember({"json", "text"}));
  app.add_option("--log-level", c.log_level, "trace, debug, info, warn, error");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  for (const auto& kv : kafka_opts) {
    const auto eq = kv.find('=');
    if (eq == std::string::npos || eq == 0) {
      std::fprintf(stderr, "--kafka-opt: expected key=value, got '%s'\n", kv.c_str());
      return 2;
    }
    c.kafka_extra.emplace_back(kv.substr(0, eq), kv.substr(eq + 1));
  }
  if (!c.s3_prefix.empty() && c.s3_prefix.back() != '/') c.s3_prefix += '/';
  c.batch_time = std::chrono::milliseconds(batch_ms);
  c.backoff_initial = std::chrono::milliseconds(backoff_initial);
  c.backoff_max = std::chrono::milliseconds(backoff_max);
  return c;
}

}  // namespace ca4::worker
