// The heart of the worker, free of Kafka: records in → parsed, transformed, encoded → writes
// to the document store (and the archive) → dead letters → a commit decision.
//
// Contract:
//  - prepare() never fails: a record that cannot be parsed or encoded becomes a dead letter
//    right away (reason invalid_envelope / document_too_large).
//  - attempt() is called repeatedly on the SAME batch until it returns done. Each call only
//    redoes what is still outstanding (documents not yet acknowledged, objects not yet stored,
//    letters not yet acknowledged). It returns done only when EVERY record is resolved:
//    written, skipped as a duplicate, or acknowledged by the DLQ. Only then may the caller
//    commit commitOffsets(batch).
//  - Transient failures (Disposition::Retry) never produce dead letters.
//  - Within one batch, records with the same event_id are collapsed to the newest version
//    (highest produced_at, then highest offset); the others count as duplicates.
// Not thread-safe; one processor per consumer loop.
#pragma once

#include <ca4/common/envelope.h>
#include <ca4/worker/holders.h>
#include <ca4/worker/metrics.h>
#include <ca4/worker/stores.h>

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace ca4::worker {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual std::int64_t nowMicros() = 0;  // UTC µs since the epoch
};

class SystemClock final : public Clock {
 public:
  std::int64_t nowMicros() override;
};

// One consumed record. The views must stay valid until the batch is done (the consumer keeps
// the rd_kafka_message_t alive).
struct Record {
  std::string_view topic;
  std::int32_t partition = 0;
  std::int64_t offset = 0;
  std::optional<std::int64_t> timestamp_ms;
  std::string_view key;
  std::string_view value;
};

struct BatchOptions {
  envelope::Limits limits;
  // Larger documents are dead-lettered (document_too_large) instead of being sent. MongoDB's
  // limit is 16 MiB; the default leaves room for the update command around it.
  std::size_t max_bson_bytes = 16 * 1024 * 1024 - 64 * 1024;
  std::string s3_prefix;  // used when an ObjectStore is given
};

enum class DbState { Pending, Written, Duplicate, Superseded, Rejected };

struct Slot {
  std::size_t record = 0;  // index into Batch::records
  std::string event_id;    // empty when the record never parsed
  std::int64_t produced_at_us = 0;
  BsonPtr doc;
  std::string enriched_json;  // only when archiving
  DbState db = DbState::Pending;
  bool raw_archived = false, enriched_archived = false;
  std::optional<DeadLetter> dead;  // set once the record is known to be unprocessable
  bool dead_sent = false;
};

struct Batch {
  std::vector<Record> records;
  std::vector<Slot> slots;  // one per record, same order
  std::int64_t started_us = 0;
  int attempts = 0;
};

struct AttemptResult {
  bool done = false;
  std::optional<Error> error;  // when !done: the failure that stopped this attempt (Retry)
};

struct CommitOffset {
  std::string topic;
  std::int32_t partition = 0;
  std::int64_t next_offset = 0;  // last offset of the batch in this partition + 1
  bool operator==(const CommitOffset&) const = default;
};

class BatchProcessor {
 public:
  // `archive` may be null (no S3). All references must outlive the processor.
  BatchProcessor(DocumentStore& db, ObjectStore* archive, DeadLetterSink& dlq, Metrics& metrics,
                 Clock& clock, BatchOptions options = {});

  Batch prepare(std::vector<Record> records);
  AttemptResult attempt(Batch& batch);

  // Per (topic, partition): max offset in the batch + 1, sorted by topic then partition.
  static std::vector<CommitOffset> commitOffsets(const Batch& batch);

 private:
  std::optional<Error> writeDocuments(Batch& batch);
  std::optional<Error> archiveObjects(Batch& batch);
  std::optional<Error> sendDeadLetters(Batch& batch);
  void applyItem(Batch& batch, Slot& slot, const ItemResult& item, std::optional<Error>& retry);
  void markDead(Batch& batch, Slot& slot, std::string reason, std::string detail);

  DocumentStore& db_;
  ObjectStore* archive_;
  DeadLetterSink& dlq_;
  Metrics& metrics_;
  Clock& clock_;
  BatchOptions options_;
};

}  // namespace ca4::worker
