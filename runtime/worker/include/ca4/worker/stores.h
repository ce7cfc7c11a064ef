// The seams between the batch logic and the outside world. Each interface has a real twin
// (MongoDocumentStore, S3ObjectStore, KafkaDeadLetterSink) tested in integration, and fakes in
// the unit tests. Implementations are used from one thread (the consumer loop); none is
// required to be thread-safe.
#pragma once

#include <ca4/worker/errors.h>

#include <bson/bson.h>

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace ca4::worker {

// ---- documents ----

struct DocumentWrite {
  std::string_view id;          // event_id, also the document's _id
  std::int64_t produced_at_us;  // the version: newer wins, equal or older is a duplicate
  const bson_t* doc;            // full document including _id; owned by the caller
};

enum class WriteOutcome {
  Written,    // inserted, or replaced an older version
  Duplicate,  // an equal or newer version already exists; nothing changed
  Failed,     // see ItemResult::error (Retry: send again later; Reject: DLQ it)
};

struct ItemResult {
  WriteOutcome outcome = WriteOutcome::Written;
  Error error;  // meaningful only when outcome == Failed
};

struct BulkResult {
  // Set when the command as a whole failed and no per-document outcome is known
  // (`items` is then empty). The writes may have partially applied: callers retry, which is
  // safe because every write is idempotent.
  std::optional<Error> error;
  std::vector<ItemResult> items;  // one per input, same order, when !error
};

class DocumentStore {
 public:
  virtual ~DocumentStore() = default;
  // Idempotent, version-guarded upsert of every document (unordered: one document's failure
  // does not stop the others). Never overwrites a newer version with an older one.
  virtual BulkResult upsert(std::span<const DocumentWrite> docs) = 0;
};

// ---- objects ----

struct ObjectPut {
  std::string key;
  std::string_view body;  // owned by the caller until put() returns
  std::string_view content_type = "application/json";
};

class ObjectStore {
 public:
  virtual ~ObjectStore() = default;
  // PUTs every object (possibly concurrently); one result per input, std::nullopt = stored.
  // Overwriting a key is allowed (and is how redelivery stays idempotent).
  virtual std::vector<std::optional<Error>> put(std::span<const ObjectPut> objects) = 0;
};

// ---- dead letters ----

struct DeadLetter {
  std::string reason;  // a stable code: invalid_envelope, document_too_large, db_rejected, s3_rejected
  std::string detail;  // short and safe to log: a field path and message, or a server code
  std::string source_topic;
  std::int32_t source_partition = 0;
  std::int64_t source_offset = 0;
  std::string_view key;    // the original record key (may be empty)
  std::string_view value;  // the original record bytes, unchanged
};

class DeadLetterSink {
 public:
  virtual ~DeadLetterSink() = default;
  // Returns only when every letter is acknowledged by the broker (std::nullopt) or when the
  // attempt failed (always Retry: the DLQ itself is never a reason to drop a record).
  virtual std::optional<Error> send(std::span<const DeadLetter> letters) = 0;
};

}  // namespace ca4::worker
