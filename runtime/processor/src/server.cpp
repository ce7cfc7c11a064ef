#include "ca4/processor/server.h"

#include <pistache/endpoint.h>
#include <pistache/http.h>
#include <pistache/peer.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <stdexcept>

namespace ca4::processor {
namespace {

namespace Http = Pistache::Http;

// A response header with a runtime name (Pistache 0.0.5 only writes typed headers).
class NamedHeader final : public Http::Header::Header {
 public:
  NamedHeader(std::string name, std::string value)
      : name_(std::move(name)), value_(std::move(value)) {}
  const char* name() const override { return name_.c_str(); }
  void write(std::ostream& os) const override { os << value_; }
  uint64_t hash() const override { return Http::Header::detail::hash(name_.c_str()); }

 private:
  std::string name_;
  std::string value_;
};

const Http::Mime::MediaType& mediaType(const std::string& content_type) {
  static const Http::Mime::MediaType kJson = Http::Mime::MediaType::fromString("application/json");
  static const Http::Mime::MediaType kMetrics =
      Http::Mime::MediaType::fromString("text/plain; version=0.0.4");
  return content_type == "application/json" ? kJson : kMetrics;
}

// Writes `r` on `writer`. Safe to call from any thread (see README "Threading model"):
//  - the peer is pinned with a shared_ptr first, so it cannot expire between Pistache's
//    `peer_.expired()` check and its `peer_.lock()` in ResponseWriter::sendImpl;
//  - a peer that already went away is skipped (nobody to answer);
//  - the bytes are queued on the transport's lock-free MPSC write queue and the reactor thread
//    owning the connection performs the write.
void sendResponse(Http::ResponseWriter& writer, HttpResponse r,
                  const std::shared_ptr<std::atomic<int>>& pending_writes) {
  const std::shared_ptr<Pistache::Tcp::Peer> pinned = writer.getPeer();
  if (!pinned) return;
  try {
    ++*pending_writes;
    for (auto& [name, value] : r.headers) {
      writer.headers().add(std::make_shared<NamedHeader>(std::move(name), std::move(value)));
    }
    const auto code = static_cast<Http::Code>(r.status);
    auto written = r.content_type.empty() ? writer.send(code)
                                          : writer.send(code, r.body, mediaType(r.content_type));
    // Resolved on the reactor thread once the bytes are on the socket. (If the connection is
    // gone before that, Pistache drops the write without settling the promise; shutdown only
    // waits a bounded time for this count.)
    written.then([pending_writes](ssize_t) { --*pending_writes; },
                 [pending_writes](std::exception_ptr) { --*pending_writes; });
  } catch (const std::exception&) {
    // The connection broke while answering; nothing else to do for this request.
  }
}

std::optional<std::string> rawHeader(const Http::Request& req, const std::string& name) {
  auto raw = req.headers().tryGetRaw(name);
  if (!raw) return std::nullopt;
  return raw->value();
}

class Handler final : public Http::Handler {
 public:
  HTTP_PROTOTYPE(Handler)

  Handler(Processor* processor, std::shared_ptr<std::atomic<int>> pending_writes)
      : processor_(processor), pending_writes_(std::move(pending_writes)) {}

  void onRequest(const Http::Request& req, Http::ResponseWriter writer) override {
    // Pistache 0.0.5 answers "Connection: Close" to HTTP/1.1 requests without a Connection
    // header (yet keeps the socket open); HTTP/1.1 defaults to keep-alive, so say so.
    const auto connection = req.headers().tryGet<Http::Header::Connection>();
    const bool close = connection ? connection->control() == Http::ConnectionControl::Close
                                  : req.version() == Http::Version::Http10;
    writer.headers().remove<Http::Header::Connection>();
    writer.headers().add<Http::Header::Connection>(close ? Http::ConnectionControl::Close
                                                         : Http::ConnectionControl::KeepAlive);

    // Header::Raw::value() returns by value: keep the strings alive for the views.
    const auto content_type = rawHeader(req, "Content-Type");
    const auto authorization = rawHeader(req, "Authorization");
    const auto origin = rawHeader(req, "Origin");
    const std::string client = req.address().host();

    RequestView view;
    view.method = Http::methodString(req.method());
    view.path = req.resource();
    if (content_type) view.content_type = *content_type;
    if (authorization) view.authorization = *authorization;
    if (origin) view.origin = *origin;
    view.body = req.body();
    view.client = client;

    processor_->handle(view, [w = std::move(writer), pending = pending_writes_](
                                 HttpResponse r) mutable { sendResponse(w, std::move(r), pending); });
  }

 private:
  Processor* processor_;  // outlives the endpoint
  std::shared_ptr<std::atomic<int>> pending_writes_;  // shared by the per-reactor clones
};

}  // namespace

HttpServer::HttpServer(Processor& processor, ServerOptions options, Log log)
    : processor_(processor), options_(std::move(options)), log_(std::move(log)) {}

HttpServer::~HttpServer() { shutdown(); }

void HttpServer::start() {
  Pistache::Address addr(options_.host, Pistache::Port(options_.port));
  endpoint_ = std::make_unique<Http::Endpoint>(addr);
  auto opts = Http::Endpoint::options()
                  .threads(options_.threads)
                  .threadsName("ca4-http")
                  .flags(Pistache::Tcp::Options::ReuseAddr)
                  .maxRequestSize(options_.max_request_bytes)
                  .headerTimeout(options_.request_timeout)
                  .bodyTimeout(options_.request_timeout);
  endpoint_->init(opts);
  endpoint_->setHandler(Http::make_handler<Handler>(&processor_, pending_writes_));
  try {
    endpoint_->serveThreaded();
  } catch (const std::exception& e) {
    endpoint_.reset();
    throw std::runtime_error("cannot listen on " + options_.host + ":" +
                             std::to_string(options_.port) + ": " + e.what());
  }
  running_ = true;
}

std::uint16_t HttpServer::port() const {
  return endpoint_ ? static_cast<std::uint16_t>(endpoint_->getPort()) : 0;
}

void HttpServer::shutdown() {
  if (!running_) return;
  running_ = false;
  // Let the reactors put responses already handed to them on the wire.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(1);
  while (pending_writes_->load() > 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  endpoint_->shutdown();
  endpoint_.reset();
}

ReadinessProbe::ReadinessProbe(Publisher& publisher, Processor& processor,
                               std::chrono::milliseconds interval,
                               std::chrono::milliseconds timeout)
    : thread_([&publisher, &processor, interval, timeout](std::stop_token stop) {
        std::mutex mu;
        std::condition_variable_any cv;
        while (!stop.stop_requested()) {
          processor.setReadiness(publisher.checkReady(timeout));
          std::unique_lock lock(mu);
          cv.wait_for(lock, stop, interval, [] { return false; });
        }
      }) {}

ReadinessProbe::~ReadinessProbe() {
  thread_.request_stop();
  if (thread_.joinable()) thread_.join();
}

}  // namespace ca4::processor
