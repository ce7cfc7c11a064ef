// ca4-worker configuration: command-line flags with environment fallbacks (CLI11).
// Secrets (the Mongo URI's credentials, AWS keys) are read from flags/env and never logged.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace ca4::worker {

struct Config {
  // Kafka
  std::string brokers = "127.0.0.1:9092";  // --brokers / CA4_KAFKA_BROKERS
  std::string topic = "gpu-metadata";
  std::string group = "edge-worker";
  std::string dlq_topic = "gpu-metadata.dlq";
  std::string assignment_strategy = "cooperative-sticky";
  std::vector<std::pair<std::string, std::string>> kafka_extra;  // --kafka-opt k=v (repeatable)
  std::size_t batch_size = 500;
  std::chrono::milliseconds batch_time{100};
  // DB
  std::string mongo_uri = "mongodb://127.0.0.1:27017";  // --mongo-uri / CA4_MONGO_URI
  std::string db = "ca4";
  std::string collection = "gpu_metadata";
  bool retry_writes = false;
  std::string tls_ca_file;
  // S3 (archive on iff endpoint and bucket are set)
  std::string s3_endpoint, s3_bucket, s3_region = "us-east-1", s3_prefix;
  bool s3_path_style = true;
  int s3_parallel = 8;
  // behaviour
  std::chrono::milliseconds backoff_initial{100};
  std::chrono::milliseconds backoff_max{5000};
  std::string metrics_listen = "0.0.0.0:9102";
  std::string log_format = "json";
  std::string log_level = "info";

  bool archiveEnabled() const { return !s3_endpoint.empty() && !s3_bucket.empty(); }
};

// Parses argv (+ environment). Returns the config, or the process exit code when parsing
// ended the run (--help: 0, a bad flag: 2; the message is already printed).
std::variant<Config, int> parseConfig(int argc, const char* const* argv);

}  // namespace ca4::worker
