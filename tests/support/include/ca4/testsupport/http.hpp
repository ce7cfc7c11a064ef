#pragma once
// One blocking HTTP request through libcurl, for tests that talk to the project's services
// (ca4-processor's API, the worker's /metrics) or to the S3 server. Thread-safe: each call
// uses its own handle (curl_global_init must have run, which libcurl does lazily).
#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace ca4::testsupport {

struct HttpRequest {
  std::string method = "GET";
  std::string url;
  std::string body;
  std::vector<std::string> headers;  // "Name: value"; "Name:" removes a libcurl default
  std::chrono::milliseconds timeout{30000};
  std::optional<std::string> awsSigV4;  // e.g. "aws:amz:us-east-1:s3", with userpwd
  std::string userpwd;                  // "key:secret"; never logged
};

struct HttpResult {
  long status = 0;  // 0: no HTTP answer (see error)
  std::string body;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string error;
  std::string header(const std::string& lowerName) const {
    auto it = headers.find(lowerName);
    return it == headers.end() ? "" : it->second;
  }
};

HttpResult httpRequest(const HttpRequest& request);

// Shorthands.
HttpResult httpGet(const std::string& url,
                   std::chrono::milliseconds timeout = std::chrono::seconds(5));
// POSTs `body` as application/json with `Authorization: Bearer <apiKey>` (omitted when empty).
HttpResult httpPostJson(const std::string& url, const std::string& body,
                        const std::string& apiKey = "",
                        std::chrono::milliseconds timeout = std::chrono::seconds(30));

}  // namespace ca4::testsupport
