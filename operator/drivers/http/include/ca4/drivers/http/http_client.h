// A blocking HTTP/1.1 client over one reused libcurl easy handle (keep-alive between calls).
// For ca4ctl's health checks, the verification POST to the ingest API, and as the transport of
// the S3 driver. Every HTTP status is a successful Result: the caller decides what a 404 means
// (classifyStatus() gives the usual reading). Transport failures are Errors:
//   retryable: connection refused/reset, timeouts, DNS failures, an empty or cut reply;
//   terminal:  a malformed or unsupported URL, TLS verification/CA problems, a response larger
//              than Request::maxResponseBytes.
// Error messages name the URL without userinfo or query (redactUrl()); header values (notably
// Authorization) and bodies never appear in errors. Nothing is logged.
// Thread-safety: an HttpClient is not thread-safe; use one per thread. Movable, not copyable.
#pragma once

#include <ca4/engine/result.h>

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ca4::drivers::http {

using engine::Error;
using engine::Result;

// Response header names are lower-case; a repeated header's values are joined with ", ".
using Headers = std::map<std::string, std::string>;

struct Request {
  std::string method = "GET";                                // GET, HEAD, POST, PUT, DELETE, …
  std::string url;                                           // http:// or https://
  std::vector<std::pair<std::string, std::string>> headers;  // sent as given
  std::string body;  // sent for any method but GET/HEAD when non-empty, and for PUT/POST
  std::chrono::milliseconds timeout{10000};  // whole request, connect included
  std::size_t maxResponseBytes = 64u << 20;  // a larger body is a terminal error
  std::string caFile;                        // optional CA bundle for https
  // TLS material in memory (PEM) or in files, for APIs that authenticate the client (Kubernetes).
  // PEM strings are never logged or put in errors.
  std::string caPem;
  std::string clientCertPem, clientCertFile;
  std::string clientKeyPem, clientKeyFile;
  bool insecureSkipVerify = false;  // only when the user's configuration says so
  bool http2 = false;               // offer HTTP/2 over TLS (ALPN); HTTP/1.1 otherwise
};

struct Response {
  long status = 0;
  Headers headers;
  std::string body;
  long newConnections = 0;  // connections opened for this request; 0: a kept-alive one was reused
  int httpVersion = 0;      // 10, 11 or 20 (HTTP/2)
  // The value of a header (name in lower case), or "" when absent.
  std::string header(const std::string& lowerName) const;
};

class HttpClient {
 public:
  HttpClient();
  ~HttpClient();
  HttpClient(HttpClient&&) noexcept;
  HttpClient& operator=(HttpClient&&) noexcept;
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  Result<Response> request(const Request& request);
  Result<Response> get(const std::string& url,
                       std::chrono::milliseconds timeout = std::chrono::seconds(10));

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// ---- pure helpers (no I/O), exposed for tests and for callers ----

// "http://user:pw@host:8080/a/b?token=x#f" → "http://host:8080/a/b". Userinfo, query and
// fragment removed (either may hold a secret). Anything without "://" → "<invalid url>".
std::string redactUrl(std::string_view url);

// Feeds one raw header line as libcurl hands it over ("Name: value\r\n"). A status line
// ("HTTP/1.1 200 OK") starts a new header block (redirects, 100 Continue), so only the last
// response's headers remain. Blank lines are ignored; a line starting with whitespace continues
// the previous header (obsolete folding).
class HeaderParser {
 public:
  void feed(std::string_view line);
  const Headers& headers() const { return headers_; }
  Headers take() { return std::move(headers_); }

 private:
  Headers headers_;
  std::string last_;
};

std::string toLower(std::string_view s);

// Whether a libcurl error code can succeed on a later attempt (see the header comment).
bool isRetryableCurlCode(int curlCode);

// The usual reading of an HTTP status for a health check or an API call: nullopt for 2xx; a
// retryable Error for 408, 425, 429, 5xx (the server is starting, overloaded or restarting); a
// terminal Error otherwise (the request or its credentials must change). `what` names the
// thing, e.g. "GET http://127.0.0.1:8080/healthz".
std::optional<Error> classifyStatus(long status, const std::string& what);

}  // namespace ca4::drivers::http
