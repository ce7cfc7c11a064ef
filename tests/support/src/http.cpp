#include "ca4/testsupport/http.hpp"

#include <curl/curl.h>

#include <cctype>
#include <memory>

namespace ca4::testsupport {
namespace {

struct CurlDeleter {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};

size_t appendBody(char* p, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(p, size * n);
  return size * n;
}

size_t appendHeader(char* p, size_t size, size_t n, void* out) {
  std::string line(p, size * n);
  auto colon = line.find(':');
  if (colon != std::string::npos) {
    std::string name = line.substr(0, colon);
    for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    std::string value = line.substr(colon + 1);
    while (!value.empty() && value.front() == ' ') value.erase(0, 1);
    while (!value.empty() && (value.back() == '\r' || value.back() == '\n')) value.pop_back();
    (*static_cast<std::map<std::string, std::string>*>(out))[name] = value;
  }
  return size * n;
}

}  // namespace

HttpResult httpRequest(const HttpRequest& req) {
  HttpResult r;
  std::unique_ptr<CURL, CurlDeleter> curl(curl_easy_init());
  if (!curl) {
    r.error = "curl_easy_init failed";
    return r;
  }
  curl_slist* raw = nullptr;
  for (const auto& h : req.headers) raw = curl_slist_append(raw, h.c_str());
  raw = curl_slist_append(raw, "Expect:");  // no 100-continue round trip
  std::unique_ptr<curl_slist, CurlDeleter> headers(raw);
  CURL* c = curl.get();
  curl_easy_setopt(c, CURLOPT_URL, req.url.c_str());
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(req.timeout.count()));
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, appendBody);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &r.body);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, appendHeader);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &r.headers);
  if (req.awsSigV4) {
    curl_easy_setopt(c, CURLOPT_AWS_SIGV4, req.awsSigV4->c_str());
    curl_easy_setopt(c, CURLOPT_USERPWD, req.userpwd.c_str());
  }
  if (req.method == "POST" || req.method == "PUT") {
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, req.body.data());
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(req.body.size()));
    if (req.method == "PUT") curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, "PUT");
  } else if (req.method == "HEAD") {
    curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
  } else if (req.method != "GET") {
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, req.method.c_str());
  }
  CURLcode rc = curl_easy_perform(c);
  if (rc == CURLE_OK) {
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
  } else {
    r.error = curl_easy_strerror(rc);
  }
  return r;
}

HttpResult httpGet(const std::string& url, std::chrono::milliseconds timeout) {
  HttpRequest req;
  req.url = url;
  req.timeout = timeout;
  return httpRequest(req);
}

HttpResult httpPostJson(const std::string& url, const std::string& body, const std::string& apiKey,
                        std::chrono::milliseconds timeout) {
  HttpRequest req;
  req.method = "POST";
  req.url = url;
  req.body = body;
  req.timeout = timeout;
  req.headers.push_back("Content-Type: application/json");
  if (!apiKey.empty()) req.headers.push_back("Authorization: Bearer " + apiKey);
  return httpRequest(req);
}

}  // namespace ca4::testsupport
