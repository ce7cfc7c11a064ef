// DocumentStore on libmongoc: one unordered bulk of version-guarded replace-upserts per call.
//
// For each document:  replaceOne({_id: id, produced_at_us: {$lt: new}}, doc, {upsert: true})
//   - no document with that _id          → the upsert inserts it             → Written
//   - a document with an OLDER version   → the filter matches, it is replaced → Written
//   - an EQUAL or NEWER version exists   → the filter does not match, the upsert tries to insert
//     a second document with the same _id and the server answers duplicate key (11000)
//                                                                              → Duplicate
// so a redelivered or reordered event never creates a second document and never overwrites
// a newer one. Verified against FerretDB 1.24 (SQLite) and documented in README.md.
//
// Not thread-safe: a single-threaded mongoc_client_t, used by the consumer loop only.
#pragma once

#include <ca4/worker/holders.h>
#include <ca4/worker/stores.h>

#include <cstdint>
#include <memory>
#include <string>
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
