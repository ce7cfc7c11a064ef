#include "ca4/worker/http_server.h"

#include <pistache/endpoint.h>
#include <pistache/http.h>

#include <stdexcept>

namespace ca4::worker {

namespace {

using namespace Pistache;

class Handler : public Http::Handler {
 public:
  HTTP_PROTOTYPE(Handler)
  Handler(Metrics& metrics, std::function<Health()> health) : metrics_(metrics), health_(std::move(health)) {}

  void onRequest(const Http::Request& req, Http::ResponseWriter response) override {
    const auto& path = req.resource();
    if (req.method() != Http::Method::Get) {
      response.send(Http::Code::Method_Not_Allowed, "method not allowed\n");
    } else if (path == "/metrics") {
      response.send(Http::Code::Ok, metrics_.serialize(), MIME(Text, Plain));
    } else if (path == "/healthz") {
      const Health h = health_();
      std::string body = std::string("{\"status\":\"") + (h.ok ? "ok" : "stalled") +
                         "\",\"paused\":" + (h.paused ? "true" : "false") + "}";
      response.send(h.ok ? Http::Code::Ok : Http::Code::Service_Unavailable, body, MIME(Application, Json));
    } else {
      response.send(Http::Code::Not_Found, "not found\n");
    }
  }

 private:
  Metrics& metrics_;
  std::function<Health()> health_;
};

Address parseListen(const std::string& listen) {
  const auto colon = listen.rfind(':');
  if (colon == std::string::npos) throw std::invalid_argument("--metrics-listen must be host:port, got " + listen);
  std::string host = listen.substr(0, colon);
  if (host.empty()) host = "0.0.0.0";
  const int port = std::stoi(listen.substr(colon + 1));
  if (port < 0 || port > 65535) throw std::invalid_argument("--metrics-listen: port out of range: " + listen);
  return Address(host, Port(static_cast<std::uint16_t>(port)));
}

}  // namespace

struct HttpServer::Impl {
  explicit Impl(Address addr) : endpoint(addr) {}
  Http::Endpoint endpoint;
  bool stopped = false;
};

HttpServer::HttpServer(const std::string& listen, Metrics& metrics, std::function<Health()> health)
    : impl_(std::make_unique<Impl>(parseListen(listen))) {
  impl_->endpoint.init(Http::Endpoint::options().threads(1).flags(Tcp::Options::ReuseAddr));
  impl_->endpoint.setHandler(Http::make_handler<Handler>(metrics, std::move(health)));
  impl_->endpoint.serveThreaded();
}

HttpServer::~HttpServer() { stop(); }

std::uint16_t HttpServer::port() const { return static_cast<std::uint16_t>(impl_->endpoint.getPort()); }

void HttpServer::stop() {
  if (impl_ && !impl_->stopped) {
    impl_->stopped = true;
    impl_->endpoint.shutdown();
  }
}

}  // namespace ca4::worker
