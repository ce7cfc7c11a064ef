#include "ca4/worker/s3_store.h"

#include <chrono>
#include <mutex>
#include <stdexcept>

namespace ca4::worker {

namespace {

void initCurl() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

std::size_t collect(char* data, std::size_t size, std::size_t n, void* user) {
  auto* out = static_cast<std::string*>(user);
  if (out->size() < 4096) out->append(data, std::min<std::size_t>(size * n, 4096 - out->size()));
  return size * n;
}

struct Transfer {
  std::size_t index = 0;
  CurlSlist headers;
  std::string response;
};

}  // namespace

std::string s3ErrorCode(std::string_view body) {
  const auto b = body.find("<Code>");
  if (b == std::string_view::npos) return "";
  const auto e = body.find("</Code>", b);
  if (e == std::string_view::npos) return "";
  return std::string(body.substr(b + 6, e - b - 6));
}

S3ObjectStore::S3ObjectStore(S3Options options) : options_(std::move(options)) {
  initCurl();
  std::string ep = options_.endpoint;
  while (!ep.empty() && ep.back() == '/') ep.pop_back();
  const auto scheme_end = ep.find("://");
  if (scheme_end == std::string::npos) throw std::invalid_argument("--s3-endpoint must start with http:// or https://");
  const std::string scheme = ep.substr(0, scheme_end);
  const std::string host = ep.substr(scheme_end + 3);
  if (host.empty() || host.find('/') != std::string::npos)
    throw std::invalid_argument("--s3-endpoint must be scheme://host[:port] without a path");
  if (options_.path_style) {
    scheme_host_ = ep;
    host_header_ = host;
    base_path_ = "/" + options_.bucket;
  } else {
    scheme_host_ = scheme + "://" + options_.bucket + "." + host;
    host_header_ = options_.bucket + "." + host;
  }
  if (options_.parallel < 1) options_.parallel = 1;
  multi_.reset(curl_multi_init());
  curl_multi_setopt(multi_.get(), CURLMOPT_MAX_HOST_CONNECTIONS, static_cast<long>(options_.parallel));
  for (int i = 0; i < options_.parallel; ++i) {
    CurlHandle h(curl_easy_init());
    if (!h) throw std::runtime_error("curl_easy_init failed");
    curl_easy_setopt(h.get(), CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h.get(), CURLOPT_TIMEOUT_MS, options_.timeout_ms);
    curl_easy_setopt(h.get(), CURLOPT_CONNECTTIMEOUT_MS, std::min(options_.timeout_ms, 5000L));
    curl_easy_setopt(h.get(), CURLOPT_CUSTOMREQUEST, "PUT");
    curl_easy_setopt(h.get(), CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(h.get(), CURLOPT_PRIVATE, reinterpret_cast<void*>(static_cast<std::intptr_t>(i)));
    if (!options_.tls_ca_file.empty()) curl_easy_setopt(h.get(), CURLOPT_CAINFO, options_.tls_ca_file.c_str());
    easy_.push_back(std::move(h));
  }
}

S3ObjectStore::PreparedPut S3ObjectStore::preparePut(const ObjectPut& object, std::int64_t unix_seconds) const {
  const std::string amz = sigv4::amzDate(unix_seconds);
  const std::string hash = sigv4::sha256Hex(object.body);
  sigv4::SigV4Request req("PUT", base_path_ + "/" + object.key);
  req.header("host", host_header_)
      .header("x-amz-date", amz)
      .header("x-amz-content-sha256", hash)
      .header("content-type", std::string(object.content_type))
      .payloadHash(hash);
  if (!options_.credentials.session_token.empty())
    req.header("x-amz-security-token", options_.credentials.session_token);
  const auto s = req.sign(options_.credentials, {options_.region, "s3", amz});
  PreparedPut p;
  p.url = scheme_host_ + req.canonicalUri("s3");
  p.headers = {"Host: " + host_header_, "x-amz-date: " + amz, "x-amz-content-sha256: " + hash,
               "Content-Type: " + std::string(object.content_type), "Authorization: " + s.authorization,
               "Expect:"};
  if (!options_.credentials.session_token.empty())
    p.headers.push_back("x-amz-security-token: " + options_.credentials.session_token);
  return p;
}

std::vector<std::optional<Error>> S3ObjectStore::put(std::span<const ObjectPut> objects) {
  std::vector<std::optional<Error>> results(objects.size());
  std::vector<Transfer> transfers(easy_.size());
  std::vector<std::size_t> idle;
  for (std::size_t i = 0; i < easy_.size(); ++i) idle.push_back(i);
  std::size_t next = 0, active = 0;
  const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                       std::chrono::system_clock::now().time_since_epoch()).count();

  auto start = [&](std::size_t slot, std::size_t index) {
    Transfer& t = transfers[slot];
    t.index = index;
    t.response.clear();
    t.headers.reset();
    const auto p = preparePut(objects[index], now);
    curl_slist* list = nullptr;
    for (const auto& h : p.headers) list = curl_slist_append(list, h.c_str());
    t.headers.reset(list);
    CURL* h = easy_[slot].get();
    curl_easy_setopt(h, CURLOPT_URL, p.url.c_str());
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, list);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, objects[index].body.data());
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(objects[index].body.size()));
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &t.response);
    curl_multi_add_handle(multi_.get(), h);
    ++active;
  };

  while (next < objects.size() || active > 0) {
    while (next < objects.size() && !idle.empty()) {
      const auto slot = idle.back();
      idle.pop_back();
      start(slot, next++);
    }
    int running = 0;
    curl_multi_perform(multi_.get(), &running);
    int queued = 0;
    while (CURLMsg* m = curl_multi_info_read(multi_.get(), &queued)) {
      if (m->msg != CURLMSG_DONE) continue;
      CURL* h = m->easy_handle;
      void* priv = nullptr;
      curl_easy_getinfo(h, CURLINFO_PRIVATE, &priv);
      const auto slot = static_cast<std::size_t>(reinterpret_cast<std::intptr_t>(priv));
      long status = 0;
      curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
      const CURLcode rc = m->data.result;
      Transfer& t = transfers[slot];
      if (rc != CURLE_OK || status < 200 || status >= 300) {
        const std::string code = s3ErrorCode(t.response);
        std::string msg = rc != CURLE_OK ? std::string(curl_easy_strerror(rc))
                                         : "HTTP " + std::to_string(status) + (code.empty() ? "" : " " + code);
        results[t.index] = Error{classifyHttp(rc, status, code), "s3", rc != CURLE_OK ? static_cast<long>(rc) : status, std::move(msg)};
      }
      curl_multi_remove_handle(multi_.get(), h);
      t.headers.reset();
      --active;
      idle.push_back(slot);
    }
    if (active > 0 && running > 0) curl_multi_poll(multi_.get(), nullptr, 0, 100, nullptr);
  }
  return results;
}

}  // namespace ca4::worker
