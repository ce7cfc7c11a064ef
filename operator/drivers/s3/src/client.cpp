#include "ca4/drivers/s3/client.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>

namespace ca4::drivers::s3 {

namespace {

std::string_view between(std::string_view xml, std::string_view open, std::string_view close,
                         std::size_t* pos) {
  const auto b = xml.find(open, *pos);
  if (b == std::string_view::npos) return {};
  const auto e = xml.find(close, b + open.size());
  if (e == std::string_view::npos) return {};
  *pos = e + close.size();
  return xml.substr(b + open.size(), e - b - open.size());
}

std::string firstElement(std::string_view xml, std::string_view name) {
  std::size_t pos = 0;
  return xmlUnescape(
      between(xml, "<" + std::string(name) + ">", "</" + std::string(name) + ">", &pos));
}

void appendUtf8(std::string& out, unsigned long cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

std::string objectPath(const std::string& bucket, const std::string& key) {
  return "/" + bucket + (key.empty() ? "" : "/" + key);
}

}  // namespace

// ---- pure parts ----

Result<Endpoint> parseEndpoint(std::string_view endpoint) {
  std::string_view ep = endpoint;
  while (!ep.empty() && ep.back() == '/') ep.remove_suffix(1);
  const auto s = ep.find("://");
  const std::string shown = http::redactUrl(endpoint);
  if (s == std::string_view::npos)
    return Error::terminal("s3 endpoint " + shown + ": must start with http:// or https://");
  Endpoint out{std::string(ep.substr(0, s)), std::string(ep.substr(s + 3))};
  if (out.scheme != "http" && out.scheme != "https")
    return Error::terminal("s3 endpoint " + shown + ": scheme must be http or https");
  if (out.host.empty() || out.host.find_first_of("/?#@ ") != std::string::npos)
    return Error::terminal("s3 endpoint " + shown + ": must be scheme://host[:port] without a path",
                           "bucket names go in the request, not in the endpoint");
  return out;
}

std::string bucketNameProblem(std::string_view b) {
  const std::string shown = "bucket name \"" + std::string(b) + "\"";
  if (b.size() < 3 || b.size() > 63) return shown + " must be 3 to 63 characters long";
  for (char c : b) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-'))
      return shown + " may only contain lower-case letters, digits, '.' and '-'";
  }
  auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (!alnum(b.front()) || !alnum(b.back()))
    return shown + " must start and end with a letter or digit";
  if (b.find("..") != std::string_view::npos) return shown + " must not contain \"..\"";
  int dots = 0;
  bool digitsAndDots = true;
  for (char c : b) {
    if (c == '.')
      ++dots;
    else if (!(c >= '0' && c <= '9'))
      digitsAndDots = false;
  }
  if (digitsAndDots && dots == 3) return shown + " must not look like an IP address";
  return {};
}

std::string createBucketBody(const std::string& region) {
  if (region.empty() || region == "us-east-1") return {};
  return "<CreateBucketConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
         "<LocationConstraint>" +
         region + "</LocationConstraint></CreateBucketConfiguration>";
}

http::Request buildRequest(const Endpoint& endpoint, const std::string& region,
                           const sigv4::Credentials& credentials, const RequestSpec& spec,
                           std::int64_t unixSeconds) {
  const std::string amz = sigv4::amzDate(unixSeconds);
  const std::string hash = sigv4::sha256Hex(spec.body);
  sigv4::SigV4Request req(spec.method, objectPath(spec.bucket, spec.key));
  req.header("host", endpoint.host).header("x-amz-date", amz).header("x-amz-content-sha256", hash);
  if (!spec.contentType.empty()) req.header("content-type", spec.contentType);
  if (!credentials.session_token.empty())
    req.header("x-amz-security-token", credentials.session_token);
  for (const auto& [k, v] : spec.query) req.query(k, v);
  req.payloadHash(hash);
  const sigv4::Signed signed_ = req.sign(credentials, {region, "s3", amz});

  http::Request out;
  out.method = spec.method;
  // The query on the wire encoded exactly as in the canonical request (sorted there; the
  // order on the wire does not matter, the encoding does).
  std::string query;
  for (const auto& [k, v] : spec.query) {
    query += query.empty() ? '?' : '&';
    query += sigv4::uriEncode(k, false);
    query += '=';
    query += sigv4::uriEncode(v, false);
  }
  out.url = endpoint.scheme + "://" + endpoint.host + req.canonicalUri("s3") + query;
  out.headers = {{"Host", endpoint.host}, {"x-amz-date", amz}, {"x-amz-content-sha256", hash}};
  if (!spec.contentType.empty()) out.headers.emplace_back("Content-Type", spec.contentType);
  if (!credentials.session_token.empty())
    out.headers.emplace_back("x-amz-security-token", credentials.session_token);
  out.headers.emplace_back("Authorization", signed_.authorization);
  out.body = spec.body;
  return out;
}

std::string xmlUnescape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '&') {
      out += s[i];
      continue;
    }
    const auto semi = s.find(';', i);
    if (semi == std::string_view::npos || semi - i > 10) {
      out += s[i];
      continue;
    }
    const std::string_view ent = s.substr(i + 1, semi - i - 1);
    if (ent == "amp")
      out += '&';
    else if (ent == "lt")
      out += '<';
    else if (ent == "gt")
      out += '>';
    else if (ent == "quot")
      out += '"';
    else if (ent == "apos")
      out += '\'';
    else if (ent.size() > 1 && ent[0] == '#') {
      const bool hex = ent[1] == 'x' || ent[1] == 'X';
      const std::string digits(ent.substr(hex ? 2 : 1));
      char* end = nullptr;
      const unsigned long cp = std::strtoul(digits.c_str(), &end, hex ? 16 : 10);
      if (digits.empty() || *end != '\0' || cp > 0x10FFFF) {
        out.append(s.substr(i, semi - i + 1));
      } else {
        appendUtf8(out, cp);
      }
    } else {
      out.append(s.substr(i, semi - i + 1));
    }
    i = semi;
  }
  return out;
}

ListPage parseListObjectsV2(std::string_view xml) {
  ListPage page;
  std::size_t pos = 0;
  while (true) {
    std::size_t contentsPos = pos;
    const std::string_view contents = between(xml, "<Contents>", "</Contents>", &contentsPos);
    if (contentsPos == pos) break;  // no more <Contents>
    pos = contentsPos;
    std::size_t k = 0;
    const std::string_view key = between(contents, "<Key>", "</Key>", &k);
    if (k != 0) page.keys.push_back(xmlUnescape(key));
  }
  page.truncated = firstElement(xml, "IsTruncated") == "true";
  page.nextContinuationToken = firstElement(xml, "NextContinuationToken");
  return page;
}

S3ErrorBody parseErrorBody(std::string_view xml) {
  return {firstElement(xml, "Code"), firstElement(xml, "Message")};
}

std::optional<Error> classifyResponse(long status, const S3ErrorBody& body, const std::string& what,
                                      const std::string& bucket) {
  if (status >= 200 && status < 300) return std::nullopt;
  std::string msg = what + ": HTTP " + std::to_string(status);
  if (!body.code.empty()) msg += " " + body.code;
  if (!body.message.empty()) msg += " (" + body.message.substr(0, 200) + ")";
  // The server is busy, restarting or throttling (SlowDown): asking again later can work.
  if (status >= 500 || status == 429 || status == 408 ||
      (status == 409 && body.code == "OperationAborted"))
    return Error::retryable(std::move(msg));
  if (status == 403) {
    if (body.code == "RequestTimeTooSkewed")
      return Error::terminal(std::move(msg),
                             "this machine's clock is off; sync it (NTP) and retry");
    return Error::terminal(what + ": credentials rejected (HTTP 403" +
                               (body.code.empty() ? std::string() : " " + body.code) + ")",
                           "check the access key id and secret key, and the bucket policy");
  }
  if (status == 404 && body.code == "NoSuchBucket")
    return Error::terminal(what + ": bucket " + bucket + " does not exist",
                           "create it first (ensureBucket / ca4ctl apply)");
  if (status == 409 && body.code == "BucketAlreadyExists")
    return Error::terminal(what + ": bucket name " + bucket + " is taken by another account",
                           "choose another bucket name");
  return Error::terminal(std::move(msg));
}

// ---- the client ----

Client::Client(ClientOptions options, Endpoint endpoint)
    : options_(std::move(options)), endpoint_(std::move(endpoint)) {}

Result<Client> Client::create(ClientOptions options) {
  auto ep = parseEndpoint(options.endpoint);
  if (!ep) return ep.error();
  if (options.region.empty()) return Error::terminal("s3: region is empty", "set e.g. us-east-1");
  return Client(std::move(options), std::move(*ep));
}

Result<http::Response> Client::send(const std::string& method, const std::string& bucket,
                                    const std::string& key,
                                    std::vector<std::pair<std::string, std::string>> query,
                                    std::string body, std::string contentType) {
  if (auto p = bucketNameProblem(bucket); !p.empty()) return Error::terminal("s3: " + p);
  const std::int64_t now = options_.unixNow
                               ? options_.unixNow()
                               : std::chrono::duration_cast<std::chrono::seconds>(
                                     std::chrono::system_clock::now().time_since_epoch())
                                     .count();
  RequestSpec spec{method, bucket, key, std::move(query), std::move(body), std::move(contentType)};
  http::Request req = buildRequest(endpoint_, options_.region, options_.credentials, spec, now);
  req.timeout = options_.timeout;
  req.caFile = options_.tlsCaFile;
  auto resp = http_.request(req);
  if (!resp) {
    // The HTTP driver's message names method and URL (no query, no headers); keep its kind.
    Error e = resp.error();
    e.message = "s3 " + e.message;
    return e;
  }
  return resp;
}

Status Client::ensureBucket(const std::string& bucket) {
  const std::string what = "s3 " + options_.endpoint + ": create bucket " + bucket;
  auto r = send("PUT", bucket, "", {}, createBucketBody(options_.region), "");
  if (!r) return r.error();
  const S3ErrorBody err = parseErrorBody(r->body);
  if (r->status == 409 && err.code == "BucketAlreadyOwnedByYou") return engine::okStatus();
  if (auto e = classifyResponse(r->status, err, what, bucket)) return *e;
  return engine::okStatus();
}

Result<bool> Client::headObject(const std::string& bucket, const std::string& key) {
  const std::string what = "s3 " + options_.endpoint + ": HEAD " + objectPath(bucket, key);
  auto r = send("HEAD", bucket, key, {}, "", "");
  if (!r) return r.error();
  if (r->status == 404) return false;  // no body on HEAD: absent key (or absent bucket)
  if (auto e = classifyResponse(r->status, {}, what, bucket)) return *e;
  return true;
}

Result<std::vector<std::string>> Client::list(const std::string& bucket, const std::string& prefix,
                                              std::optional<int> pageSize) {
  const std::string what = "s3 " + options_.endpoint + ": list " + bucket + "/" + prefix;
  std::vector<std::string> keys;
  std::string token;
  for (int page = 0; page < 100000; ++page) {
    std::vector<std::pair<std::string, std::string>> query = {{"list-type", "2"}};
    if (!prefix.empty()) query.emplace_back("prefix", prefix);
    if (pageSize) query.emplace_back("max-keys", std::to_string(*pageSize));
    if (!token.empty()) query.emplace_back("continuation-token", token);
    auto r = send("GET", bucket, "", std::move(query), "", "");
    if (!r) return r.error();
    if (auto e = classifyResponse(r->status, parseErrorBody(r->body), what, bucket)) return *e;
    ListPage p = parseListObjectsV2(r->body);
    keys.insert(keys.end(), std::make_move_iterator(p.keys.begin()),
                std::make_move_iterator(p.keys.end()));
    if (!p.truncated) return keys;
    if (p.nextContinuationToken.empty() || p.nextContinuationToken == token)
      return Error::terminal(what + ": truncated listing without a new continuation token");
    token = std::move(p.nextContinuationToken);
  }
  return Error::terminal(what + ": more than 100000 pages");
}

Status Client::putObject(const std::string& bucket, const std::string& key, const std::string& body,
                         const std::string& contentType) {
  const std::string what = "s3 " + options_.endpoint + ": PUT " + objectPath(bucket, key);
  if (key.empty()) return Error::terminal(what + ": empty key");
  auto r = send("PUT", bucket, key, {}, body, contentType);
  if (!r) return r.error();
  if (auto e = classifyResponse(r->status, parseErrorBody(r->body), what, bucket)) return *e;
  return engine::okStatus();
}

Status Client::deleteObject(const std::string& bucket, const std::string& key) {
  const std::string what = "s3 " + options_.endpoint + ": DELETE " + objectPath(bucket, key);
  if (key.empty()) return Error::terminal(what + ": empty key");
  auto r = send("DELETE", bucket, key, {}, "", "");
  if (!r) return r.error();
  const S3ErrorBody err = parseErrorBody(r->body);
  if (r->status == 404 && err.code == "NoSuchKey") return engine::okStatus();  // already gone
  if (auto e = classifyResponse(r->status, err, what, bucket)) return *e;
  return engine::okStatus();
}

}  // namespace ca4::drivers::s3
