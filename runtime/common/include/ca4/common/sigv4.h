// A PURE AWS Signature Version 4 signer (no clock, no network): request in, canonical request,
// string to sign, signature and Authorization header out. Tested against AWS's published
// examples (the SigV4 test suite and the S3 documentation examples), see tests/sigv4_test.cpp.
//
// Builder style:
//   auto signed = SigV4Request("PUT", "/bucket/raw/dt=…/x.json")
//                     .header("host", "127.0.0.1:9000")
//                     .header("x-amz-date", "20261123T120000Z")
//                     .header("x-amz-content-sha256", sha256Hex(body))
//                     .payloadHash(sha256Hex(body))
//                     .sign({"AKID", "SECRET"}, {"us-east-1", "s3", "20261123T120000Z"});
// The caller must include every header it signs in the request it sends (host and x-amz-date
// at least); sign() never adds headers itself.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ca4::sigv4 {

struct Credentials {
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;  // optional; when set, the caller signs and sends x-amz-security-token
};

struct Scope {
  std::string region;    // e.g. "us-east-1"
  std::string service;   // e.g. "s3"
  std::string amz_date;  // ISO 8601 basic: "20150830T123600Z"
};

struct Signed {
  std::string canonical_request;
  std::string string_to_sign;
  std::string signed_headers;  // "host;x-amz-date"
  std::string signature;       // lower-case hex
  std::string authorization;   // the full Authorization header value
};

class SigV4Request {
 public:
  // `path` is the RAW (not percent-encoded) request path, e.g. "/bucket/test$file.text".
  // sign() percent-encodes it once (canonicalUri); send exactly that form on the wire. For
  // services other than "s3" the path is first normalized (".", "..", empty segments), as the
  // SigV4 test suite requires; S3 paths are used as they are.
  SigV4Request(std::string method, std::string path);
  // Query parameters, raw (unencoded); sign() encodes and sorts them.
  SigV4Request& query(std::string name, std::string value);
  // Header names are case-insensitive; values are trimmed and inner runs of spaces collapsed.
  SigV4Request& header(std::string name, std::string value);
  // Hex SHA-256 of the payload, or "UNSIGNED-PAYLOAD". Default: hash of the empty payload.
  SigV4Request& payloadHash(std::string hex);

  Signed sign(const Credentials& creds, const Scope& scope) const;
  // The path as it appears in the canonical request (and must appear on the wire).
  std::string canonicalUri(std::string_view service) const;

 private:
  std::string method_, path_, payload_hash_;
  std::vector<std::pair<std::string, std::string>> query_, headers_;
};

// RFC 3986 percent-encoding as SigV4 wants it: unreserved characters kept, everything else
// %XX in upper case; '/' kept iff keep_slash.
std::string uriEncode(std::string_view s, bool keep_slash);
std::string sha256Hex(std::string_view data);
std::string hmacSha256(std::string_view key, std::string_view data);  // raw 32 bytes
std::string toHex(std::string_view bytes);
// "20150830T123600Z" from UTC seconds since the epoch.
std::string amzDate(std::int64_t unix_seconds);

}  // namespace ca4::sigv4
