// ca4-processor: the ingest API. Wiring only; behaviour lives in the library (processor.h).
#include "ca4/processor/config.h"
#include "ca4/processor/kafka_publisher.h"
#include "ca4/processor/metrics.h"
#include "ca4/processor/processor.h"
#include "ca4/processor/rate_limit.h"
#include "ca4/processor/server.h"

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <thread>

#include <pthread.h>

using namespace ca4::processor;

namespace {

int fail(const Log& log, std::string_view what, const std::string& error, int code) {
  log.error(what, {{"error", error}});
  std::cerr << "ca4-processor: " << error << "\n";
  return code;
}

}  // namespace

int main(int argc, char** argv) {
  ConfigOutcome parsed = parseConfig(argc, argv);
  if (!parsed.config) {
    std::cout << parsed.out;
    std::cerr << parsed.err;
    return parsed.exit_code;
  }
  const Config cfg = std::move(*parsed.config);
  const Log log(ca4::log::make("processor", cfg.log_format), cfg.log_format);

  // Signals are taken synchronously by sigwait() below; every thread started from here on
  // inherits the blocked mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  std::vector<std::string> key_names;
  auto keys = loadKeys(cfg, std::getenv("CA4_API_KEYS"), &key_names);
  if (!keys) return fail(log, "invalid configuration", keys.error(), 2);
  if (cfg.auth == AuthMode::None) {
    log.warn("authentication disabled (--auth=none)");
  } else {
    std::string names;
    for (const auto& n : key_names) names += (names.empty() ? "" : ",") + n;
    log.info("api keys loaded", {{"count", std::to_string(key_names.size())}, {"names", names}});
  }

  auto publisher = KafkaPublisher::create(cfg.kafka, log);
  if (!publisher) return fail(log, "invalid kafka configuration", publisher.error(), 2);

  Metrics metrics;
  SteadyClock clock;
  TokenBucketLimiter limiter(cfg.rate, cfg.burst, clock);
  Processor processor(cfg.processor, std::move(keys).value(), limiter, *publisher.value(), metrics,
                      log);
  ReadinessProbe probe(*publisher.value(), processor);

  ServerOptions server_options;
  server_options.host = cfg.host;
  server_options.port = cfg.port;
  server_options.threads = cfg.threads;
  server_options.max_request_bytes =
      std::max(cfg.processor.body.max_body, cfg.processor.body.max_batch_body) + 64 * 1024;
  server_options.request_timeout = std::max<std::chrono::milliseconds>(
      std::chrono::seconds(60),
      std::chrono::milliseconds(cfg.kafka.message_timeout_ms) + std::chrono::seconds(30));
  HttpServer server(processor, server_options, log);
  try {
    server.start();
  } catch (const std::exception& e) {
    return fail(log, "cannot start", e.what(), 1);
  }
  const std::string port = std::to_string(server.port());
  if (!cfg.port_file.empty()) {
    const std::string tmp = cfg.port_file + ".tmp";
    std::ofstream(tmp) << port << "\n";
    std::rename(tmp.c_str(), cfg.port_file.c_str());
  }
  log.info("listening", {{"host", cfg.host},
                         {"port", port},
                         {"threads", std::to_string(cfg.threads)},
                         {"brokers", cfg.kafka.brokers},
                         {"topic", cfg.kafka.topic}});

  int sig = 0;
  sigwait(&signals, &sig);
  log.info("shutting down", {{"signal", sig == SIGTERM ? "SIGTERM" : "SIGINT"},
                             {"inflight", std::to_string(processor.inflight())}});

  // 1. New POSTs get 503 (Pistache 0.0.5 cannot stop accepting without closing every
  //    connection, which would drop the answers still owed).
  processor.beginDrain();
  // 2. Wait for Kafka to ack what it has; whatever is left fails → those requests get 503.
  publisher.value()->drain(std::chrono::milliseconds(cfg.shutdown_timeout_ms));
  // 3. Every request has been answered once inflight reaches 0.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  while (processor.inflight() > 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  // 4. Let the reactors write those answers, then close.
  server.shutdown();
  log.info("stopped", {{"unanswered", std::to_string(processor.inflight())}});
  return 0;
}
