// Checks a MongoDB-compatible database (MongoDB, DocumentDB, FerretDB) for ca4ctl: reachable,
// writable, and what the pipeline stored. libmongoc 1.23; one mongoc_client_t per Probe (RAII).
//
// Errors (ca4::engine::Error), classified once in isRetryableMongoError():
//   retryable: server down or unreachable (server selection, connection refused/reset, socket
//              timeout), a server shutting down or stepping down, FerretDB backend errors (1);
//   terminal:  authentication/authorization failure, an unparseable URI, other server refusals.
// The URI can carry a password: it never appears in errors or logs; messages use redactUri().
//
// Thread-safety: a Probe is not thread-safe (mongoc_client_t is not). Movable.
#pragma once

#include <ca4/engine/result.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace ca4::drivers::mongo {

using engine::Error;
using engine::Result;
using engine::Status;

struct ProbeOptions {
  std::string uri;        // mongodb://[user:pw@]host[:port][,…]/[db][?options]; may hold secrets
  std::string tlsCaFile;  // optional: turns TLS on with this CA bundle
  // Server selection, connect and socket timeouts unless the URI sets them.
  std::chrono::milliseconds timeout{5000};
};

struct RoundTrip {
  std::string id;  // the probe document's _id ("ca4-probe-<32 hex>")
  std::chrono::microseconds insert{0}, read{0}, remove{0};
};

class Probe {
 public:
  // Parses the URI and creates the client (no I/O yet). Terminal error on a bad URI.
  static Result<Probe> create(ProbeOptions options);

  Probe(Probe&&) noexcept;
  Probe& operator=(Probe&&) noexcept;
  ~Probe();

  // {ping: 1} on "admin".
  Status ping();
  // Inserts a uniquely-id'd probe document into db.coll, reads it back, deletes it and
  // confirms it is gone. Best-effort cleanup if a step after the insert fails.
  Result<RoundTrip> writeReadDelete(const std::string& db, const std::string& coll);
  // The document with string _id `id` as relaxed extended JSON, or nullopt. (FerretDB v1 scans
  // the table for any _id lookup: slow on large collections, see runtime/worker/README.md.)
  Result<std::optional<std::string>> findById(const std::string& db, const std::string& coll,
                                              const std::string& id);
  // Exact count of the documents in db.coll (countDocuments).
  Result<long long> count(const std::string& db, const std::string& coll);

  // The URI as it may be shown: hosts and database, no credentials or options.
  const std::string& redactedUri() const;

 private:
  struct Impl;
  explicit Probe(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// ---- pure helpers ----

// "mongodb://user:pw@h1:27017,h2/ca4?tls=true" → "mongodb://***@h1:27017,h2/ca4". Userinfo
// becomes "***", the query is dropped (tlsCertificateKeyFilePassword, AWS session tokens). A
// '@' after the host list (a password with a raw '/', '?' or '@' after it) hides everything:
// "mongodb://<redacted>". Not a mongodb:// or mongodb+srv:// URI: "<not a mongodb URI>".
std::string redactUri(std::string_view uri);

// Whether a libmongoc error (domain, code) can succeed on a later attempt; see the top.
bool isRetryableMongoError(std::uint32_t domain, std::uint32_t code);

// Installs a libmongoc log handler that drops everything below ERROR (and FerretDB v1's
// harmless `Couldn't send "endSessions"` warnings), so a CLI's stderr stays clean. Process-wide
// (libmongoc has one handler): call once from main, or from a test.
void quietMongocLogs();

}  // namespace ca4::drivers::mongo
