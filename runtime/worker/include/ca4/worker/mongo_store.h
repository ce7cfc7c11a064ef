// DocumentStore on libmongoc. Idempotent, version-guarded "insert, else replace if older":
//
//  1. One unordered bulk of plain inserts (_id = event_id):
//       inserted                             → Written   (the common case: a new event)
//       duplicate key (11000)                → step 2
//  2. For the documents whose _id exists: read their stored produced_at_us (one $in query,
//     or point lookups for a handful);
//       stored ≥ ours                        → Duplicate (redelivery, or an older re-send)
//       stored < ours                        → replaceOne({_id, produced_at_us: stored}, doc)
//                                              i.e. compare-and-set on the version read → Written
// A redelivered or reordered event therefore never creates a second document and never
// overwrites a newer one.
//
// Why not one conditional upsert (replaceOne({_id, produced_at_us: {$lt: v}}, upsert))? It is
// the textbook answer on MongoDB, and it was verified against FerretDB 1.24 (SQLite): there
// (a) a multi-statement `update` stops at the first error even when ordered=false, reports
// every write error at index 0 and reports zero counts — so a dup-key on statement k silently
// drops statements k+1…n; (b) only an {_id}-only filter is pushed down to SQLite, so the
// two-key filter is evaluated in Go on every stored document, per statement (measured: 18 docs/s
// at 2k documents, quadratic); (c) even {_id} reads scan the table (the _id index expression
// differs from the query's), so reads are batched into one $in per batch. FerretDB's `insert` is correct (unordered, exact indices) and fast.
// See README.md "FerretDB findings".
//
// Not thread-safe: a single-threaded mongoc_client_t, used by the consumer loop only.
#pragma once

#include <ca4/worker/holders.h>
#include <ca4/worker/stores.h>

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <variant>

namespace ca4::worker {

struct MongoOptions {
  std::string uri;  // contains credentials: never logged (see redactedHosts())
  std::string database = "ca4";
  std::string collection = "gpu_metadata";
  bool retry_writes = false;  // DocumentDB does not support retryable writes
  std::string tls_ca_file;    // non-empty: tls=true with this CA bundle (DocumentDB)
  // Applied only when the URI does not set them: keep a dead server from blocking the loop
  // longer than the backoff cap and far below max.poll.interval.ms.
  std::int32_t server_selection_timeout_ms = 3000;
  std::int32_t connect_timeout_ms = 3000;
  std::int32_t socket_timeout_ms = 30000;
};

class MongoDocumentStore final : public DocumentStore {
 public:
  // Fails only on an invalid URI or option (the message never contains the URI). Does not
  // connect: the first upsert (or ping) does.
  static std::variant<std::unique_ptr<MongoDocumentStore>, std::string> create(
      const MongoOptions& options);

  BulkResult upsert(std::span<const DocumentWrite> docs) override;
  // {ping: 1} on the database; std::nullopt when the server answered.
  std::optional<Error> ping();
  // "host1:27017,host2:27017" — what may be logged about the URI.
  const std::string& redactedHosts() const { return hosts_; }

 private:
  MongoDocumentStore() = default;
  // buildInfo has "ferretdbVersion" on FerretDB (cached once known).
  bool isFerretDb();
  std::optional<std::int64_t> storedVersion(std::string_view id, std::optional<Error>& error);
  std::unordered_map<std::string, std::int64_t> storedVersions(std::span<const std::string_view> ids,
                                                               std::optional<Error>& error);
  // Up to this many existing ids are read one by one; more with one $in query.
  static constexpr std::size_t kPointLookupMax = 8;

  std::optional<bool> ferretdb_;
  MongoClient client_;
  MongoCollection collection_;
  std::string database_;
  std::string hosts_;
};

// For logs: the host list of a MongoDB URI, "<invalid uri>" if it does not parse.
std::string redactMongoUri(const std::string& uri);

// Routes libmongoc's own log output to the given spdlog logger (once per process).
void installMongocLogHandler();

}  // namespace ca4::worker
