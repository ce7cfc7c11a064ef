#include "ca4/worker/errors.h"

#include <mongoc/mongoc.h>

#include <algorithm>
#include <array>

namespace ca4::worker {

std::string_view toString(Disposition d) { return d == Disposition::Retry ? "retry" : "reject"; }

namespace {

// Server codes that say something about ONE document's content: resending the same bytes can
// never succeed, so the record is dead-lettered.
constexpr std::array<std::int32_t, 15> kPermanentDocumentCodes = {
    2,      // BadValue
    4,      // NoSuchKey
    9,      // FailedToParse
    14,     // TypeMismatch
    52,     // DollarPrefixedFieldName
    53,     // InvalidIdField
    55,     // InvalidDBRef
    56,     // EmptyFieldName
    57,     // DottedFieldName
    66,     // ImmutableField
    121,    // DocumentValidationFailure
    10003,  // cannot grow document (legacy)
    10334,  // BSONObjectTooLarge
    17280,  // KeyTooLong
    17419,  // document too large after update
};

// Server codes that mean "not now": replica-set transitions, shutdowns, timeouts, lock and
// write conflicts, throttling (DocumentDB/Cosmos 16500), auth/permission problems an operator
// fixes, and FerretDB's generic internal error (1), which wraps backend (SQLite/PostgreSQL)
// failures such as a locked or unreachable database.
constexpr std::array<std::int32_t, 27> kTransientCodes = {
    1,      // InternalError (FerretDB: backend failure)
    6,      // HostUnreachable
    7,      // HostNotFound
    13,     // Unauthorized
    18,     // AuthenticationFailed
    24,     // LockTimeout
    46,     // LockBusy
    50,     // MaxTimeMSExpired
    64,     // WriteConcernFailed
    89,     // NetworkTimeout
    91,     // ShutdownInProgress
    112,    // WriteConflict
    133,    // FailedToSatisfyReadPreference
    189,    // PrimarySteppedDown
    262,    // ExceededTimeLimit
    8000,   // AtlasError
    9001,   // SocketException
    10107,  // NotWritablePrimary
    11600,  // InterruptedAtShutdown
    11601,  // Interrupted
    11602,  // InterruptedDueToReplStateChange
    13435,  // NotPrimaryNoSecondaryOk
    13436,  // NotPrimaryOrSecondary
    16500,  // RequestRateTooLarge (DocumentDB / Cosmos throttling)
    43,     // CursorNotFound
    251,    // NoSuchTransaction
    10058,  // LegacyNotPrimary
};

bool contains(const auto& table, std::int32_t code) {
  return std::find(table.begin(), table.end(), code) != table.end();
}

}  // namespace

bool isTransientMongoCode(std::int32_t code) { return contains(kTransientCodes, code); }

Disposition classifyMongoCommandError(std::uint32_t domain, std::uint32_t code) {
  switch (domain) {
    case MONGOC_ERROR_SERVER:
    case MONGOC_ERROR_WRITE_CONCERN:
    case MONGOC_ERROR_QUERY:
    case MONGOC_ERROR_COLLECTION:
      // The server answered. Only a content error is permanent; which document caused it is
      // unknown at this level, so the caller splits the batch to find it.
      return contains(kPermanentDocumentCodes, static_cast<std::int32_t>(code))
                 ? Disposition::Reject
                 : Disposition::Retry;
    case MONGOC_ERROR_BSON:
      // The driver could not encode a document (invalid BSON): about the content.
      return Disposition::Reject;
    case MONGOC_ERROR_COMMAND:
      // COMMAND_INVALID_ARG: the driver refused a document (e.g. '$'-prefixed keys in a
      // replacement): about the content. Other command errors: server/protocol state.
      return code == MONGOC_ERROR_COMMAND_INVALID_ARG ? Disposition::Reject : Disposition::Retry;
    case MONGOC_ERROR_CLIENT:
      // TOO_BIG: a document exceeds the server's maxBsonObjectSize. Everything else (not
      // ready, authentication, no acceptable peer) is environmental.
      return code == MONGOC_ERROR_CLIENT_TOO_BIG ? Disposition::Reject : Disposition::Retry;
    default:
      // STREAM (connection refused/reset, socket timeout), SERVER_SELECTION (no server),
      // PROTOCOL, SASL/SCRAM (credentials an operator fixes): the DB is not there right now.
      return Disposition::Retry;
  }
}

Disposition classifyMongoWriteError(std::int32_t code) {
  // The server judged this document. Unless the code is a known "not now", resending the same
  // bytes gives the same answer, so it is permanent for the record (the DLQ keeps the bytes).
  return isTransientMongoCode(code) ? Disposition::Retry : Disposition::Reject;
}

Disposition classifyHttp(int curl_code, long http_status, std::string_view s3_code) {
  // No HTTP response (refused, reset, DNS, TLS, timeout): the server is not there right now.
  if (curl_code != 0 || http_status == 0) return Disposition::Retry;
  // The object itself cannot be stored: too large, key too long.
  if (http_status == 413 || http_status == 414) return Disposition::Reject;
  if (http_status == 400 && (s3_code == "EntityTooLarge" || s3_code == "KeyTooLongError"))
    return Disposition::Reject;
  // 5xx, 429/503 SlowDown, 408, 409 OperationAborted: transient. 401/403 (credentials,
  // clock skew, policy), 404 NoSuchBucket, other 4xx: configuration an operator must fix; the
  // same request will work once fixed, so pausing (not dropping data) is right.
  return Disposition::Retry;
}

}  // namespace ca4::worker
