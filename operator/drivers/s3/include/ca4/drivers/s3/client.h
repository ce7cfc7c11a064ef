// A small S3 client for ca4ctl (bucket setup, archive checks): path-style URLs
// (<endpoint>/<bucket>/<key>, as MinIO, moto and AWS accept), each request signed by the pure
// SigV4 signer (ca4/common/sigv4.h) with the real payload hash, sent by ca4::drivers::http.
//
// Errors (ca4::engine::Error), classified once in classifyResponse() / by the HTTP driver:
//   retryable: no connection, timeouts, 5xx, 429/503 SlowDown, 408, 409 OperationAborted;
//   terminal:  403 ("credentials rejected", or a clock skew), 404 NoSuchBucket, a bucket name
//              owned by another account, invalid bucket names (checked before any I/O), other 4xx.
// The secret key, the session token and the Authorization header never appear in messages.
//
// Thread-safety: a Client is not thread-safe (it owns one HttpClient). Movable.
#pragma once

#include <ca4/common/sigv4.h>
#include <ca4/drivers/http/http_client.h>
#include <ca4/engine/result.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ca4::drivers::s3 {

using engine::Error;
using engine::Result;
using engine::Status;

// ---- pure parts (no I/O) ----

struct Endpoint {
  std::string scheme;  // "http" | "https"
  std::string host;    // "127.0.0.1:9000" — also the signed Host header
};
// "http://127.0.0.1:9000" (a trailing '/' is accepted) → {http, 127.0.0.1:9000}.
Result<Endpoint> parseEndpoint(std::string_view endpoint);

struct RequestSpec {
  std::string method;  // GET, HEAD, PUT, DELETE
  std::string bucket;
  std::string key;  // raw (unencoded); empty for bucket requests
  std::vector<std::pair<std::string, std::string>> query;  // raw names and values
  std::string body;
  std::string contentType;  // signed and sent when non-empty
};

// The signed request (URL, headers incl. Authorization, body) for `spec` at `unixSeconds`.
// The URL carries the path and query exactly as signed.
http::Request buildRequest(const Endpoint& endpoint, const std::string& region,
                           const sigv4::Credentials& credentials, const RequestSpec& spec,
                           std::int64_t unixSeconds);

// S3's bucket naming rules (3–63 characters of [a-z0-9.-], starting and ending with a letter or
// digit, no "..", not an IPv4 address). Returns the problem, "" when valid.
std::string bucketNameProblem(std::string_view bucket);

// The CreateBucket body: empty for us-east-1, a CreateBucketConfiguration otherwise.
std::string createBucketBody(const std::string& region);

struct ListPage {
  std::vector<std::string> keys;
  bool truncated = false;
  std::string nextContinuationToken;
};
// Parses a ListObjectsV2 response body (the <Key>s of <Contents>, <IsTruncated>,
// <NextContinuationToken>), XML entities decoded.
ListPage parseListObjectsV2(std::string_view xml);

// "&lt;a&amp;b&gt;&#47;&#x41;" → "<a&b>/A"; unknown entities are kept as they are.
std::string xmlUnescape(std::string_view s);

struct S3ErrorBody {
  std::string code;     // "NoSuchBucket"
  std::string message;  // "The specified bucket does not exist"
};
S3ErrorBody parseErrorBody(std::string_view xml);

// The outcome of an HTTP response: nullopt for 2xx, else the classified Error named by `what`
// ("s3 http://127.0.0.1:9000: PUT /bucket/key").
std::optional<Error> classifyResponse(long status, const S3ErrorBody& body, const std::string& what,
                                      const std::string& bucket);

// ---- the client ----

struct ClientOptions {
  std::string endpoint;  // "http://127.0.0.1:9000" or "https://s3.eu-west-1.amazonaws.com"
  std::string region = "us-east-1";
  sigv4::Credentials credentials;  // never logged or shown
  std::chrono::milliseconds timeout{10000};
  std::string tlsCaFile;  // optional CA bundle for https
  // Seconds since the epoch for signing; empty: the system clock. (Tests inject a fixed time.)
  std::function<std::int64_t()> unixNow;
};

class Client {
 public:
  // Validates the endpoint (terminal error if it is not scheme://host[:port]). No I/O.
  static Result<Client> create(ClientOptions options);

  // PUT /<bucket> (with a LocationConstraint outside us-east-1). An existing bucket of ours
  // (200, or 409 BucketAlreadyOwnedByYou) is fine; 409 BucketAlreadyExists is terminal.
  Status ensureBucket(const std::string& bucket);
  // HEAD: true on 200, false on 404.
  Result<bool> headObject(const std::string& bucket, const std::string& key);
  // Every key under `prefix` (ListObjectsV2, following continuation tokens). `pageSize` is
  // sent as max-keys when set (servers cap it at 1000; their default is 1000).
  Result<std::vector<std::string>> list(const std::string& bucket, const std::string& prefix = {},
                                        std::optional<int> pageSize = std::nullopt);
  Status putObject(const std::string& bucket, const std::string& key, const std::string& body,
                   const std::string& contentType = "application/octet-stream");
  // Idempotent: deleting an absent key is fine.
  Status deleteObject(const std::string& bucket, const std::string& key);

  const std::string& endpoint() const { return options_.endpoint; }

 private:
  Client(ClientOptions options, Endpoint endpoint);
  Result<http::Response> send(const std::string& method, const std::string& bucket,
                              const std::string& key,
                              std::vector<std::pair<std::string, std::string>> query,
                              std::string body, std::string contentType);

  ClientOptions options_;
  Endpoint endpoint_;
  http::HttpClient http_;
};

}  // namespace ca4::drivers::s3
