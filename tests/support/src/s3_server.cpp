#include "ca4/testsupport/s3_server.hpp"

#include <curl/curl.h>

#include <memory>
#include <stdexcept>
#include <thread>

namespace ca4::testsupport {
namespace {

using Clock = std::chrono::steady_clock;

struct CurlDeleter {
  void operator()(CURL* p) const { curl_easy_cleanup(p); }
  void operator()(curl_slist* p) const { curl_slist_free_all(p); }
};

size_t appendBody(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

}  // namespace

HttpResponse s3Request(const S3Server& server, const std::string& method, const std::string& path,
                       const std::string& body, std::chrono::milliseconds timeout) {
  HttpResponse res;
  std::unique_ptr<CURL, CurlDeleter> curl(curl_easy_init());
  if (!curl) {
    res.error = "curl_easy_init failed";
    return res;
  }
  const std::string url = server.endpoint() + path;
  const std::string sigv4 = "aws:amz:" + server.region() + ":s3";
  const std::string userpwd = server.accessKey() + ":" + server.secretKey();
  CURL* c = curl.get();
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_AWS_SIGV4, sigv4.c_str());
  curl_easy_setopt(c, CURLOPT_USERPWD, userpwd.c_str());
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout.count()));
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, appendBody);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &res.body);
  // The body goes in as POSTFIELDS (so curl can hash it for the signature) with the method set
  // explicitly; no "Expect: 100-continue" round trip. The content type must not stay curl's
  // default for POSTFIELDS (form-urlencoded): servers parse such a body as a form and store "".
  curl_slist* list = curl_slist_append(nullptr, "Expect:");
  if (curl_slist* more = curl_slist_append(list, "Content-Type: application/octet-stream")) {
    list = more;
  }
  std::unique_ptr<curl_slist, CurlDeleter> headers(list);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());
  if (method == "GET") {
    curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
  } else if (method == "HEAD") {
    curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
  } else {
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method.c_str());
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body.data());
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  }
  CURLcode rc = curl_easy_perform(c);
  if (rc != CURLE_OK) {
    res.error = curl_easy_strerror(rc);
    return res;
  }
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &res.status);
  return res;
}

S3Server::S3Server(std::chrono::seconds startTimeout)
    : startTimeout_(startTimeout), dir_("ca4-s3") {
  requireInstalled("s3-moto");
  binary_ = serviceCache() / "venv" / "bin" / "moto_server";
  if (!std::filesystem::exists(binary_)) {
    throw std::runtime_error(binary_.string() +
                             " missing: run scripts/install-services.sh --force s3");
  }
  port_ = freeLoopbackPort();
  start();
}

S3Server::~S3Server() { stop(); }

std::string S3Server::endpoint() const { return "http://127.0.0.1:" + std::to_string(port_); }

std::filesystem::path S3Server::serverLog() const { return dir_.path() / "moto.log"; }

bool S3Server::running() { return process_.alive(); }

void S3Server::stop() { process_.stop(std::chrono::seconds(10)); }

void S3Server::kill() { process_.kill(); }

void S3Server::start() {
  if (process_.alive()) return;
  auto t0 = Clock::now();
  process_ = Process::start({
      .argv = {binary_.string(), "-H", "127.0.0.1", "-p", std::to_string(port_)},
      .env = {{"PYTHONUNBUFFERED", "1"}},
      .cwd = dir_.path(),
      .logFile = serverLog(),
  });
  auto deadline = Clock::now() + startTimeout_;
  while (true) {
    if (waitForTcp("127.0.0.1", port_, std::chrono::milliseconds(100))) {
      auto res = s3Request(*this, "GET", "/", {}, std::chrono::seconds(2));  // ListBuckets
      if (res.status == 200) break;
    }
    if (!process_.alive() || Clock::now() >= deadline) {
      std::string why = process_.alive() ? "no ListBuckets answer before the start timeout"
                                         : "exited during start";
      std::string msg =
          "s3 server on " + endpoint() + ": " + why + "\n--- log (tail)\n" + tailFile(serverLog());
      process_.kill();
      throw std::runtime_error(msg);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  lastStart_ = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0);
}

void S3Server::createBucket(const std::string& name) {
  auto res = s3Request(*this, "PUT", "/" + name);
  // 409 BucketAlreadyOwnedByYou: an existing bucket is fine (idempotent).
  if (res.status == 200 || res.status == 409) return;
  throw std::runtime_error("createBucket " + name + ": HTTP " + std::to_string(res.status) + " " +
                           res.error + " " + res.body.substr(0, 300));
}

}  // namespace ca4::testsupport
