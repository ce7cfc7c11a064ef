// Error classification for every write target of the worker. Each failure is classified ONCE,
// here, into what the batch logic may do with it:
//   Retry  — transient or environmental (network, server selection, 5xx, throttling, auth/config
//            that an operator fixes): back off, pause consumption, retry the SAME batch; never
//            DLQ, never commit.
//   Reject — permanent for one record (the server judged that document itself: validation,
//            too large, bad field names): the record goes to the DLQ and its offset may commit.
// Every function here is pure; the tables are unit-tested (tests/errors_test.cpp).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace ca4::worker {

enum class Disposition { Retry, Reject };

std::string_view toString(Disposition d);

// A failure of one write target. `message` is safe to log: it never contains payloads or
// credentials.
struct Error {
  Disposition disposition = Disposition::Retry;
  std::string target;  // "db", "s3", "dlq"
  std::int64_t code = 0;
  std::string message;
  bool retryable() const { return disposition == Disposition::Retry; }
};

// MongoDB server error code for "duplicate key". On our conditional upsert it means "an equal
// or newer version of this event already exists" and is counted as a skipped duplicate.
inline constexpr std::int32_t kMongoDuplicateKey = 11000;

// A whole mongoc command failed (bson_error_t domain/code, see mongoc-error.h). Client-side
// domains (stream, server selection, protocol, auth) are Retry. Server-side codes are Retry
// unless they are in the per-document permanent set (then the batch is split to find the
// document; see BatchProcessor).
Disposition classifyMongoCommandError(std::uint32_t domain, std::uint32_t code);

// One entry of a bulk reply's `writeErrors` (the server judged that document). Known transient
// codes (step-down, interrupted, timeouts, write conflicts, throttling) are Retry; everything
// else is Reject — the server answered about this document specifically. 11000 never reaches
// here (it is the duplicate outcome).
Disposition classifyMongoWriteError(std::int32_t code);

// True for server codes that mean "retry later" whatever the document (step-down, shutdown,
// timeouts, throttling, network-ish codes).
bool isTransientMongoCode(std::int32_t code);

// A libcurl transfer: `curl_code` is the CURLcode; `http_status` 0 when no response arrived;
// `s3_code` is the <Code> of an S3 XML error body ("" if none). Any transport failure and 5xx,
// 429, 408 and auth/bucket problems (401/403/404: fixed by an operator) are Retry; only errors
// about the object itself (EntityTooLarge, KeyTooLongError, 413, 414) are Reject.
Disposition classifyHttp(int curl_code, long http_status, std::string_view s3_code);

}  // namespace ca4::worker
