// The Pistache transport: converts Pistache requests into RequestView, hands them to the
// Processor, and writes the HttpResponse back — possibly from the Kafka delivery thread.
// See README.md ("Threading model") for why answering from that thread is safe in Pistache
// 0.0.5 and what this class does to keep it so.
#pragma once

#include "ca4/processor/log.h"
#include "ca4/processor/processor.h"
#include "ca4/processor/publisher.h"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>

namespace Pistache::Http {
class Endpoint;
}

namespace ca4::processor {

struct ServerOptions {
  std::string host = "0.0.0.0";
  std::uint16_t port = 8080;  // 0 = any free port; see HttpServer::port()
  int threads = 1;
  // Pistache buffers a whole request (headers + body) before the handler runs and answers a
  // plain-text 413 itself above this; set it above every route's own JSON 413 limit.
  std::size_t max_request_bytes = 33 * 1024 * 1024;
  // Pistache answers 408 and drops a connection whose request has waited longer than this for
  // its response; must exceed the Kafka message timeout.
  std::chrono::milliseconds request_timeout{60000};
};

class HttpServer {
 public:
  HttpServer(Processor& processor, ServerOptions options, Log log);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds and starts the reactor threads; returns once listening. Throws std::runtime_error
  // naming the address when binding fails.
  void start();
  std::uint16_t port() const;
  // Closes the listener and every connection, and joins the reactor threads. Call only when no
  // response is pending any more (Processor::inflight() == 0, or the publisher drained).
  void shutdown();

 private:
  Processor& processor_;
  ServerOptions options_;
  Log log_;
  std::unique_ptr<Pistache::Http::Endpoint> endpoint_;
  // Responses handed to Pistache and not yet written; shutdown() waits (bounded) for 0.
  std::shared_ptr<std::atomic<int>> pending_writes_ = std::make_shared<std::atomic<int>>(0);
  bool running_ = false;
};

// Refreshes the Processor's readiness from Publisher::checkReady() every `interval`, on its own
// thread, so /readyz never blocks an HTTP thread on the broker.
class ReadinessProbe {
 public:
  ReadinessProbe(Publisher& publisher, Processor& processor,
                 std::chrono::milliseconds interval = std::chrono::seconds(1),
                 std::chrono::milliseconds timeout = std::chrono::milliseconds(800));
  ~ReadinessProbe();  // stops and joins

 private:
  std::jthread thread_;
};

}  // namespace ca4::processor
