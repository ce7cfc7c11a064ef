// /healthz and /metrics on a small Pistache endpoint with one thread.
//   GET /healthz  → 200 {"status":"ok","paused":false} while the consumer loop is alive
//   GET /metrics  → Prometheus text exposition of Metrics
// Port 0 picks a free port (see port()). start()/stop() from the owning thread.
#pragma once

#include <ca4/worker/metrics.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace ca4::worker {

struct Health {
  bool ok = true;
  bool paused = false;
};

class HttpServer {
 public:
  // `listen` is "host:port"; throws std::runtime_error if it cannot bind.
  HttpServer(const std::string& listen, Metrics& metrics, std::function<Health()> health);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;
  std::uint16_t port() const;
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ca4::worker
