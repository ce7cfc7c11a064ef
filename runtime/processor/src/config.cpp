#include "ca4/processor/config.h"

#include <CLI/CLI.hpp>

#include <charconv>
#include <sstream>
#include <thread>

namespace ca4::processor {

Result<std::pair<std::string, std::uint16_t>> parseListen(std::string_view listen) {
  using R = Result<std::pair<std::string, std::uint16_t>>;
  const auto colon = listen.rfind(':');
  if (colon == std::string_view::npos) {
    return R::failure("--listen " + std::string(listen) + ": expected host:port, e.g. 0.0.0.0:8080");
  }
  std::string host(listen.substr(0, colon));
  const std::string_view port_text = listen.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  if (host.empty()) host = "0.0.0.0";
  unsigned port = 0;
  const auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (ec != std::errc{} || end != port_text.data() + port_text.size() || port > 65535 ||
      port_text.empty()) {
    return R::failure("--listen " + std::string(listen) + ": port must be 0..65535");
  }
  return R::success({host, static_cast<std::uint16_t>(port)});
}

ConfigOutcome parseConfig(int argc, const char* const* argv) {
  ConfigOutcome outcome;
  Config c;
  std::string auth = "api-key";
  std::string log_format = "json";
  std::vector<std::string> kafka_props;
  std::string cors;
  std::size_t max_body = c.processor.body.max_body;
  std::size_t max_batch_body = c.processor.body.max_batch_body;

  CLI::App app{
      "ca4-processor: the ingest API of the ca4 GPU-metadata pipeline.\n\n"
      "Accepts metadata envelopes over HTTP, validates every field, and publishes each valid\n"
      "record to Kafka (acks=all, idempotent, keyed by event_id). A 202 means Kafka has the\n"
      "record; a 503 means it does not and the client should retry (event_id makes retries\n"
      "safe).\n\n"
      "  POST /v1/metadata         one envelope (application/json)         -> 202 | 4xx | 503\n"
      "  POST /metadata            the same (the seeds' path)\n"
      "  POST /v1/metadata:batch   JSON array or application/x-ndjson      -> 200 | 503\n"
      "  GET  /healthz /readyz /metrics\n\n"
      "Requests need 'Authorization: Bearer <key>' unless --auth=none. Keys come from\n"
      "--api-keys-file (lines 'name:key' or bare keys, # comments) and/or CA4_API_KEYS\n"
      "(comma-separated); keys are never logged, only their names.\n\n"
      "Example:\n"
      "  CA4_API_KEYS=colab:s3cret-key-123 ca4-processor --brokers kafka:9092 --listen :8080\n",
      "ca4-processor"};
  app.get_formatter()->column_width(40);

  app.add_option("--listen", c.listen, "address to listen on (host:port; port 0 = any free)")
      ->envname("CA4_PROCESSOR_LISTEN")
      ->capture_default_str();
  app.add_option("--threads", c.threads, "HTTP reactor threads (0 = one per core)")
      ->envname("CA4_PROCESSOR_THREADS")
      ->check(CLI::Range(0, 256))
      ->capture_default_str();
  app.add_option("--brokers", c.kafka.brokers, "Kafka bootstrap servers (comma-separated)")
      ->envname("CA4_KAFKA_BROKERS")
      ->capture_default_str();
  app.add_option("--topic", c.kafka.topic, "Kafka topic records are published to")
      ->envname("CA4_KAFKA_TOPIC")
      ->capture_default_str();
  app.add_option("--message-timeout-ms", c.kafka.message_timeout_ms,
                 "give up on a record Kafka has not acked after this long (-> 503)")
      ->envname("CA4_KAFKA_MESSAGE_TIMEOUT_MS")
      ->check(CLI::Range(100, 900000))
      ->capture_default_str();
  app.add_option("--kafka-property", kafka_props,
                 "extra librdkafka property key=value (repeatable), e.g. security.protocol=ssl")
      ->envname("CA4_KAFKA_PROPERTIES")
      ->delimiter(',');
  app.add_flag("--allow-auto-create-topics", c.kafka.allow_auto_create_topics,
               "let the broker create the topic on first use (off: a missing topic fails "
               "/readyz and publishing)")
      ->envname("CA4_KAFKA_ALLOW_AUTO_CREATE_TOPICS");
  app.add_option("--auth", auth, "api-key: require a bearer API key; none: no auth (explicit)")
      ->envname("CA4_AUTH")
      ->check(CLI::IsMember({"api-key", "none"}))
      ->capture_default_str();
  app.add_option("--api-keys-file", c.api_keys_file,
                 "API key file: one 'name:key' or bare key per line, # comments")
      ->envname("CA4_API_KEYS_FILE");
  app.add_option("--rate", c.rate, "requests per second allowed per API key (0 = unlimited)")
      ->envname("CA4_RATE")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  app.add_option("--burst", c.burst, "requests a key may make at once before --rate applies")
      ->envname("CA4_BURST")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--max-body", max_body,
                 "largest single-envelope body (bytes, or with KiB/MiB suffix) -> 413 above")
      ->envname("CA4_MAX_BODY")
      ->transform(CLI::AsSizeValue(false))
      ->capture_default_str();
  app.add_option("--max-batch-body", max_batch_body, "largest batch body -> 413 above")
      ->envname("CA4_MAX_BATCH_BODY")
      ->transform(CLI::AsSizeValue(false))
      ->capture_default_str();
  app.add_option("--max-batch-records", c.processor.max_batch_records, "records per batch at most")
      ->envname("CA4_MAX_BATCH_RECORDS")
      ->check(CLI::Range(1, 100000))
      ->capture_default_str();
  app.add_option("--cors-origin", cors,
                 "enable CORS for these origins (comma-separated, or *); off when empty")
      ->envname("CA4_CORS_ORIGIN");
  app.add_option("--retry-after", c.processor.retry_after_seconds,
                 "Retry-After seconds sent with 503")
      ->envname("CA4_RETRY_AFTER")
      ->check(CLI::Range(1, 3600))
      ->capture_default_str();
  app.add_option("--shutdown-timeout-ms", c.shutdown_timeout_ms,
                 "on SIGTERM/SIGINT, wait this long for Kafka to ack in-flight records")
      ->envname("CA4_SHUTDOWN_TIMEOUT_MS")
      ->check(CLI::Range(0, 600000))
      ->capture_default_str();
  app.add_option("--log-format", log_format, "json (for services) or text (for people)")
      ->envname("CA4_LOG_FORMAT")
      ->check(CLI::IsMember({"json", "text"}))
      ->capture_default_str();
  app.add_option("--port-file", c.port_file, "write the bound port to this file once listening");

  std::ostringstream out, err;
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    outcome.exit_code = app.exit(e, out, err);
    outcome.out = out.str();
    outcome.err = err.str();
    return outcome;
  }

  auto listen = parseListen(c.listen);
  if (!listen) {
    outcome.exit_code = 2;
    outcome.err = listen.error() + "\n";
    return outcome;
  }
  c.host = listen.value().first;
  c.port = listen.value().second;
  if (c.threads == 0) c.threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  c.auth = auth == "none" ? AuthMode::None : AuthMode::ApiKey;
  c.log_format = log_format == "text" ? log::Format::Text : log::Format::Json;
  c.processor.body.max_body = max_body;
  c.processor.body.max_batch_body = max_batch_body;
  for (const auto& kv : kafka_props) {
    const auto eq = kv.find('=');
    if (eq == std::string::npos || eq == 0) {
      outcome.exit_code = 2;
      outcome.err = "--kafka-property " + kv + ": expected key=value\n";
      return outcome;
    }
    c.kafka.properties.emplace_back(kv.substr(0, eq), kv.substr(eq + 1));
  }
  std::string_view rest = cors;
  while (!rest.empty()) {
    const auto comma = rest.find(',');
    std::string_view o = rest.substr(0, comma);
    rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
    while (!o.empty() && o.front() == ' ') o.remove_prefix(1);
    while (!o.empty() && o.back() == ' ') o.remove_suffix(1);
    if (!o.empty()) c.processor.cors_origins.emplace_back(o);
  }
  outcome.config = std::move(c);
  return outcome;
}

Result<std::optional<ApiKeyStore>> loadKeys(const Config& config, const char* env_keys,
                                            std::vector<std::string>* key_names) {
  using R = Result<std::optional<ApiKeyStore>>;
  if (config.auth == AuthMode::None) return R::success(std::nullopt);
  std::vector<ApiKey> keys;
  if (!config.api_keys_file.empty()) {
    auto file = loadApiKeysFile(config.api_keys_file);
    if (!file) return R::failure(file.error());
    keys = std::move(file).value();
  }
  if (env_keys != nullptr && *env_keys != '\0') {
    auto env = parseApiKeysEnv(env_keys);
    if (!env) return R::failure(env.error());
    for (auto& k : env.value()) keys.push_back(std::move(k));
  }
  if (keys.empty()) {
    return R::failure(
        "auth is on but no API keys were given: set --api-keys-file or CA4_API_KEYS, or pass "
        "--auth=none to run without authentication");
  }
  auto valid = validateKeys(std::move(keys));
  if (!valid) return R::failure(valid.error());
  if (key_names != nullptr) {
    for (const auto& k : valid.value()) key_names->push_back(k.name);
  }
  return R::success(ApiKeyStore(valid.value()));
}

}  // namespace ca4::processor
