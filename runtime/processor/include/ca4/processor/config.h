// ca4-processor's configuration: command-line flags (CLI11) with environment fallbacks.
// `ca4-processor --help` prints every flag with its environment variable and default.
#pragma once

#include "ca4/processor/auth.h"
#include "ca4/processor/kafka_publisher.h"
#include "ca4/processor/processor.h"
#include "ca4/processor/result.h"

#include <ca4/common/logging.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace ca4::processor {

enum class AuthMode { ApiKey, None };

struct Config {
  std::string listen = "0.0.0.0:8080";
  std::string host = "0.0.0.0";  // derived from listen
  std::uint16_t port = 8080;     // derived from listen; 0 picks a free port
  int threads = 0;               // Pistache reactor threads; 0 = number of cores
  KafkaConfig kafka;
  AuthMode auth = AuthMode::ApiKey;
  std::string api_keys_file;
  double rate = 100;   // requests per second per key; 0 disables rate limiting
  double burst = 200;  // bucket size
  ProcessorOptions processor;
  log::Format log_format = log::Format::Json;
  int shutdown_timeout_ms = 10000;  // how long shutdown waits for Kafka acks
  std::string port_file;            // if set, the bound port is written here (tests, scripts)
};

struct ConfigOutcome {
  std::optional<Config> config;  // set: run the server
  int exit_code = 0;             // otherwise exit with this code…
  std::string out;               // …after printing this to stdout (help)
  std::string err;               // …and this to stderr (errors)
};

// Parses flags; unset flags fall back to their environment variables, then to defaults.
ConfigOutcome parseConfig(int argc, const char* const* argv);

// "host:port", "[v6]:port" or ":port" → host and port. Errors name the flag.
Result<std::pair<std::string, std::uint16_t>> parseListen(std::string_view listen);

// Loads API keys for auth=api-key from the key file and/or `env_keys` (CA4_API_KEYS).
// nullopt store when auth is off. Missing file, bad lines or no keys at all are errors.
Result<std::optional<ApiKeyStore>> loadKeys(const Config& config, const char* env_keys,
                                            std::vector<std::string>* key_names);

}  // namespace ca4::processor
