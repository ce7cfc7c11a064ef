#include "ca4/common/sigv4.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include <algorithm>
#include <cctype>
#include <ctime>
#include <stdexcept>

namespace ca4::sigv4 {

namespace {

constexpr std::string_view kAlgorithm = "AWS4-HMAC-SHA256";
constexpr std::string_view kEmptyHash =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Trim, and collapse inner runs of spaces to one (SigV4 canonical header values).
std::string canonicalValue(std::string_view v) {
  std::string out;
  bool space = false;
  for (char c : v) {
    if (c == ' ' || c == '\t') {
      space = !out.empty();
      continue;
    }
    if (space) out += ' ';
    space = false;
    out += c;
  }
  return out;
}

// Removes "." and empty segments and resolves ".." (RFC 3986 §5.2.4); keeps a trailing '/'.
std::string normalizePath(std::string_view path) {
  std::vector<std::string_view> segs;
  std::size_t i = 0;
  while (i <= path.size()) {
    std::size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    std::string_view s = path.substr(i, j - i);
    if (s == "..") {
      if (!segs.empty()) segs.pop_back();
    } else if (!s.empty() && s != ".") {
      segs.push_back(s);
    }
    i = j + 1;
  }
  std::string out;
  for (auto s : segs) {
    out += '/';
    out += s;
  }
  if (out.empty()) return "/";
  if (path.size() > 1 && path.back() == '/') out += '/';
  return out;
}

}  // namespace

std::string uriEncode(std::string_view s, bool keep_slash) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size() * 3);
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || (keep_slash && c == '/')) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

std::string toHex(std::string_view bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out += kHex[c >> 4];
    out += kHex[c & 15];
  }
  return out;
}

std::string sha256Hex(std::string_view data) {
  unsigned char md[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), md);
  return toHex(std::string_view(reinterpret_cast<const char*>(md), sizeof md));
}

std::string hmacSha256(std::string_view key, std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (!HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
            reinterpret_cast<const unsigned char*>(data.data()), data.size(), md, &n))
    throw std::runtime_error("HMAC-SHA256 failed");
  return std::string(reinterpret_cast<const char*>(md), n);
}

std::string amzDate(std::int64_t unix_seconds) {
  const std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[20];
  std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
  return buf;
}

SigV4Request::SigV4Request(std::string method, std::string path)
    : method_(std::move(method)), path_(std::move(path)), payload_hash_(kEmptyHash) {}

SigV4Request& SigV4Request::query(std::string name, std::string value) {
  query_.emplace_back(std::move(name), std::move(value));
  return *this;
}

SigV4Request& SigV4Request::header(std::string name, std::string value) {
  headers_.emplace_back(lower(name), canonicalValue(value));
  return *this;
}

SigV4Request& SigV4Request::payloadHash(std::string hex) {
  payload_hash_ = std::move(hex);
  return *this;
}

std::string SigV4Request::canonicalUri(std::string_view service) const {
  const std::string path = path_.empty() ? std::string("/") : path_;
  return uriEncode(service == "s3" ? path : normalizePath(path), /*keep_slash=*/true);
}

Signed SigV4Request::sign(const Credentials& creds, const Scope& scope) const {
  if (scope.amz_date.size() < 8) throw std::invalid_argument("sigv4: amz_date must be YYYYMMDDTHHMMSSZ");
  Signed out;

  std::vector<std::pair<std::string, std::string>> q;
  q.reserve(query_.size());
  for (const auto& [k, v] : query_) q.emplace_back(uriEncode(k, false), uriEncode(v, false));
  std::sort(q.begin(), q.end());
  std::string canonical_query;
  for (const auto& [k, v] : q) {
    if (!canonical_query.empty()) canonical_query += '&';
    canonical_query += k;
    canonical_query += '=';
    canonical_query += v;
  }

  // Sorted by name; repeated names joined with ',' in the order given.
  std::vector<std::pair<std::string, std::string>> h = headers_;
  std::stable_sort(h.begin(), h.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  std::string canonical_headers;
  for (std::size_t i = 0; i < h.size(); ++i) {
    if (i > 0 && h[i].first == h[i - 1].first) {
      canonical_headers.back() = ',';  // replace the previous '\n'
      canonical_headers += h[i].second;
      canonical_headers += '\n';
      continue;
    }
    if (!out.signed_headers.empty()) out.signed_headers += ';';
    out.signed_headers += h[i].first;
    canonical_headers += h[i].first;
    canonical_headers += ':';
    canonical_headers += h[i].second;
    canonical_headers += '\n';
  }

  out.canonical_request = method_ + '\n' + canonicalUri(scope.service) + '\n' + canonical_query +
                          '\n' + canonical_headers + '\n' + out.signed_headers + '\n' + payload_hash_;

  const std::string date = scope.amz_date.substr(0, 8);
  const std::string credential_scope = date + '/' + scope.region + '/' + scope.service + "/aws4_request";
  out.string_to_sign = std::string(kAlgorithm) + '\n' + scope.amz_date + '\n' + credential_scope +
                       '\n' + sha256Hex(out.canonical_request);

  std::string key = hmacSha256("AWS4" + creds.secret_access_key, date);
  key = hmacSha256(key, scope.region);
  key = hmacSha256(key, scope.service);
  key = hmacSha256(key, "aws4_request");
  out.signature = toHex(hmacSha256(key, out.string_to_sign));
  out.authorization = std::string(kAlgorithm) + " Credential=" + creds.access_key_id + '/' +
                      credential_scope + ", SignedHeaders=" + out.signed_headers +
                      ", Signature=" + out.signature;
  return out;
}

}  // namespace ca4::sigv4
