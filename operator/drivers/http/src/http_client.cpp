#include "ca4/drivers/http/http_client.h"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <mutex>

namespace ca4::drivers::http {

namespace {

struct CurlDeleter {
  void operator()(CURL* p) const noexcept { curl_easy_cleanup(p); }
};
struct SlistDeleter {
  void operator()(curl_slist* p) const noexcept { curl_slist_free_all(p); }
};
struct UrlDeleter {
  void operator()(CURLU* p) const noexcept { curl_url_cleanup(p); }
};
using CurlHandle = std::unique_ptr<CURL, CurlDeleter>;
using CurlSlist = std::unique_ptr<curl_slist, SlistDeleter>;
using CurlUrl = std::unique_ptr<CURLU, UrlDeleter>;

void initCurl() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });  // cleanup: process exit
}

struct BodySink {
  std::string* out;
  std::size_t limit;
  bool tooLarge = false;
};

std::size_t writeBody(char* data, std::size_t size, std::size_t n, void* user) {
  auto* sink = static_cast<BodySink*>(user);
  const std::size_t bytes = size * n;
  if (sink->out->size() + bytes > sink->limit) {
    sink->tooLarge = true;
    return 0;  // aborts the transfer with CURLE_WRITE_ERROR
  }
  sink->out->append(data, bytes);
  return bytes;
}

std::size_t writeHeader(char* data, std::size_t size, std::size_t n, void* user) {
  static_cast<HeaderParser*>(user)->feed(std::string_view(data, size * n));
  return size * n;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n'))
    s.remove_suffix(1);
  return s;
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

// The userinfo of a URL ("user:pw"), "" if none: scrubbed from libcurl's messages just in case.
std::string userinfoOf(std::string_view url) {
  const auto s = url.find("://");
  if (s == std::string_view::npos) return {};
  const std::string_view rest = url.substr(s + 3);
  const auto end = rest.find_first_of("/?#");
  const std::string_view authority = rest.substr(0, end);
  const auto at = authority.rfind('@');
  return at == std::string_view::npos ? std::string() : std::string(authority.substr(0, at));
}

}  // namespace

// ---- pure helpers ----

std::string toLower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string redactUrl(std::string_view url) {
  const auto s = url.find("://");
  if (s == std::string_view::npos || s == 0) return "<invalid url>";
  const std::string_view scheme = url.substr(0, s);
  const std::string_view rest = url.substr(s + 3);
  const auto end = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, end);
  const std::string_view tail = end == std::string_view::npos ? "" : rest.substr(end);
  // A '@' after the authority: either a legitimate one in the path/query, or a password with a
  // raw '/', '?' or '#' that ended the authority early. Hide everything rather than guess.
  if (tail.find('@') != std::string_view::npos) return std::string(scheme) + "://<redacted>";
  const auto at = authority.rfind('@');
  if (at != std::string_view::npos) authority = authority.substr(at + 1);
  const std::string_view path = tail.substr(0, tail.find_first_of("?#"));
  return std::string(scheme) + "://" + std::string(authority) + std::string(path);
}

void HeaderParser::feed(std::string_view line) {
  if (line.substr(0, 5) == "HTTP/") {  // a new response (after a 100 Continue or a redirect)
    headers_.clear();
    last_.clear();
    return;
  }
  if (trim(line).empty()) return;
  if (line.front() == ' ' || line.front() == '\t') {  // obsolete line folding
    if (!last_.empty()) {
      auto& v = headers_[last_];
      v += ' ';
      v += trim(line);
    }
    return;
  }
  const auto colon = line.find(':');
  if (colon == std::string_view::npos || colon == 0) return;  // not a header; ignore
  std::string name = toLower(trim(line.substr(0, colon)));
  const std::string_view value = trim(line.substr(colon + 1));
  auto [it, inserted] = headers_.try_emplace(name, value);
  if (!inserted) {
    it->second += ", ";
    it->second += value;
  }
  last_ = std::move(name);
}

bool isRetryableCurlCode(int curlCode) {
  switch (static_cast<CURLcode>(curlCode)) {
    // The server is not there right now, or the network dropped us: a later attempt can work.
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_SSL_CONNECT_ERROR:  // often a server still starting its TLS listener
    case CURLE_AGAIN:
      return true;
    // Everything else needs a change by the user: malformed or unsupported URL, TLS
    // verification or CA file problems, a body over the limit, bad options.
    default:
      return false;
  }
}

std::optional<Error> classifyStatus(long status, const std::string& what) {
  if (status >= 200 && status < 300) return std::nullopt;
  const std::string msg = what + ": HTTP " + std::to_string(status);
  // 408/425/429 and 5xx: the server is busy, starting or restarting; asking again can work.
  if (status == 408 || status == 425 || status == 429 || status >= 500)
    return Error::retryable(msg);
  if (status == 401 || status == 403)
    return Error::terminal(msg + " (credentials rejected)", "check the API key or credentials");
  return Error::terminal(msg);
}

std::string Response::header(const std::string& lowerName) const {
  auto it = headers.find(lowerName);
  return it == headers.end() ? std::string() : it->second;
}

// ---- the client ----

struct HttpClient::Impl {
  CurlHandle curl;
  char errbuf[CURL_ERROR_SIZE] = {};
};

HttpClient::HttpClient() : impl_(std::make_unique<Impl>()) {
  initCurl();
  impl_->curl.reset(curl_easy_init());
}

HttpClient::~HttpClient() = default;
HttpClient::HttpClient(HttpClient&&) noexcept = default;
HttpClient& HttpClient::operator=(HttpClient&&) noexcept = default;

Result<Response> HttpClient::get(const std::string& url, std::chrono::milliseconds timeout) {
  Request r;
  r.url = url;
  r.timeout = timeout;
  return request(r);
}

Result<Response> HttpClient::request(const Request& req) {
  const std::string what = req.method + " " + redactUrl(req.url);
  if (!impl_ || !impl_->curl) return Error::terminal(what + ": curl_easy_init failed");

  // Validate before any I/O: a malformed URL is the caller's to fix.
  {
    CurlUrl u(curl_url());
    if (!u || curl_url_set(u.get(), CURLUPART_URL, req.url.c_str(), 0) != CURLUE_OK)
      return Error::terminal(what + ": malformed URL", "use http://host[:port]/path or https://…");
    char* scheme = nullptr;
    if (curl_url_get(u.get(), CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK)
      return Error::terminal(what + ": malformed URL");
    const std::string sch = scheme;
    curl_free(scheme);
    if (sch != "http" && sch != "https")
      return Error::terminal(what + ": unsupported scheme \"" + sch + "\"",
                             "use http:// or https://");
  }

  CURL* h = impl_->curl.get();
  curl_easy_reset(h);  // keeps live connections (keep-alive), DNS and TLS session caches
  impl_->errbuf[0] = '\0';
  Response resp;
  BodySink sink{&resp.body, req.maxResponseBytes};
  HeaderParser parser;

  curl_easy_setopt(h, CURLOPT_URL, req.url.c_str());
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(req.timeout.count()));
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(req.timeout.count()));
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, impl_->errbuf);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, writeBody);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &sink);
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, writeHeader);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, &parser);
  if (!req.caFile.empty()) curl_easy_setopt(h, CURLOPT_CAINFO, req.caFile.c_str());
  if (!req.caPem.empty()) {
    curl_blob b{const_cast<char*>(req.caPem.data()), req.caPem.size(), CURL_BLOB_COPY};
    curl_easy_setopt(h, CURLOPT_CAINFO_BLOB, &b);
  }
  if (!req.clientCertPem.empty()) {
    curl_blob b{const_cast<char*>(req.clientCertPem.data()), req.clientCertPem.size(), CURL_BLOB_COPY};
    curl_easy_setopt(h, CURLOPT_SSLCERT_BLOB, &b);
    curl_easy_setopt(h, CURLOPT_SSLCERTTYPE, "PEM");
  } else if (!req.clientCertFile.empty()) {
    curl_easy_setopt(h, CURLOPT_SSLCERT, req.clientCertFile.c_str());
  }
  if (!req.clientKeyPem.empty()) {
    curl_blob b{const_cast<char*>(req.clientKeyPem.data()), req.clientKeyPem.size(), CURL_BLOB_COPY};
    curl_easy_setopt(h, CURLOPT_SSLKEY_BLOB, &b);
    curl_easy_setopt(h, CURLOPT_SSLKEYTYPE, "PEM");
  } else if (!req.clientKeyFile.empty()) {
    curl_easy_setopt(h, CURLOPT_SSLKEY, req.clientKeyFile.c_str());
  }
  if (req.insecureSkipVerify) {
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
  }
  if (req.http2) curl_easy_setopt(h, CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_2TLS));

  bool hasContentType = false;
  curl_slist* list = nullptr;
  for (const auto& [name, value] : req.headers) {
    if (iequals(name, "content-type")) hasContentType = true;
    list = curl_slist_append(list, (name + ": " + value).c_str());
  }
  list = curl_slist_append(list, "Expect:");  // no 100-continue round trip

  const bool withBody = req.method != "GET" && req.method != "HEAD" &&
                        (!req.body.empty() || req.method == "PUT" || req.method == "POST");
  if (req.method == "HEAD") {
    curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
  } else if (req.method == "GET") {
    curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
  } else {
    if (req.method != "POST") curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, req.method.c_str());
    if (withBody) {
      curl_easy_setopt(h, CURLOPT_POSTFIELDS, req.body.data());
      curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(req.body.size()));
      // libcurl would add "application/x-www-form-urlencoded"; send none unless asked.
      if (!hasContentType) list = curl_slist_append(list, "Content-Type:");
    }
  }
  CurlSlist headers(list);
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers.get());

  const CURLcode rc = curl_easy_perform(h);
  if (rc != CURLE_OK) {
    if (sink.tooLarge)
      return Error::terminal(what + ": response body larger than " +
                             std::to_string(req.maxResponseBytes) + " bytes");
    std::string detail = impl_->errbuf[0] ? impl_->errbuf : curl_easy_strerror(rc);
    if (const std::string ui = userinfoOf(req.url); ui.size() >= 4) {
      for (auto p = detail.find(ui); p != std::string::npos; p = detail.find(ui))
        detail.replace(p, ui.size(), "***");
    }
    std::string msg = what + ": " + detail;
    if (rc == CURLE_OPERATION_TIMEDOUT)
      msg += " (timeout " + std::to_string(req.timeout.count()) + " ms)";
    if (isRetryableCurlCode(rc))
      return Error::retryable(std::move(msg), "is the server running and reachable?");
    return Error::terminal(std::move(msg));
  }
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &resp.status);
  curl_easy_getinfo(h, CURLINFO_NUM_CONNECTS, &resp.newConnections);
  long ver = 0;
  curl_easy_getinfo(h, CURLINFO_HTTP_VERSION, &ver);
  resp.httpVersion = ver == CURL_HTTP_VERSION_2_0 ? 20 : ver == CURL_HTTP_VERSION_1_0 ? 10 : ver == CURL_HTTP_VERSION_1_1 ? 11 : 0;
  resp.headers = parser.take();
  return resp;
}

}  // namespace ca4::drivers::http
