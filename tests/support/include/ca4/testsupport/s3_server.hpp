#pragma once
// A real S3-compatible server on a free loopback port: moto_server (moto[server] from PyPI),
// chosen in scripts/services/README.md. It keeps objects in memory: a stop()/start() cycle
// empties it (buckets included).
#include <chrono>
#include <string>

#include "ca4/testsupport/net.hpp"
#include "ca4/testsupport/process.hpp"

namespace ca4::testsupport {

struct HttpResponse {
  long status = 0;  // 0: no HTTP response (connection error; see error)
  std::string body;
  std::string error;
};

// Owns the server process and its port. Not thread-safe. The constructor returns once the
// server answers an S3 ListBuckets; throws std::runtime_error with the log tail otherwise.
class S3Server {
 public:
  explicit S3Server(std::chrono::seconds startTimeout = std::chrono::seconds(60));
  ~S3Server();
  S3Server(const S3Server&) = delete;
  S3Server& operator=(const S3Server&) = delete;

  std::string endpoint() const;  // "http://127.0.0.1:PORT"
  // Test-only credentials (moto accepts any; these are what clients should be configured with).
  std::string accessKey() const { return "ca4testaccess"; }
  std::string secretKey() const { return "ca4testsecret"; }
  std::string region() const { return "us-east-1"; }
  int port() const { return port_; }

  // PUT /<name>; an existing bucket is accepted. Throws on other failures.
  void createBucket(const std::string& name);

  void stop();   // graceful; contents are lost (moto is in-memory); idempotent
  void kill();   // SIGKILL; idempotent
  void start();  // same port; waits until ready; no-op if running
  bool running();
  std::chrono::milliseconds lastStartDuration() const { return lastStart_; }
  std::filesystem::path serverLog() const;

 private:
  std::chrono::seconds startTimeout_;
  TempDir dir_;
  std::filesystem::path binary_;
  int port_ = 0;
  Process process_;
  std::chrono::milliseconds lastStart_{0};
};

// One SigV4-signed request with libcurl (CURLOPT_AWS_SIGV4 "aws:amz:<region>:s3"), path-style:
// `path` is "/bucket" or "/bucket/key". Never logs the credentials.
HttpResponse s3Request(const S3Server& server, const std::string& method, const std::string& path,
                       const std::string& body = {},
                       std::chrono::milliseconds timeout = std::chrono::seconds(10));

}  // namespace ca4::testsupport
