// BatchProcessor with fakes at its three seams (the real twins are covered by the integration
// tests in tests/integration/worker).
#include <ca4/common/testing/sample_envelope.h>
#include <ca4/worker/batch_processor.h>

#include <gtest/gtest.h>

#include <deque>
#include <map>
#include <set>

namespace ca4::worker {
namespace {

using envelope::testing::SampleOptions;
using envelope::testing::sampleEnvelopeJson;

// Behaves like the version-guarded upsert: keeps id → produced_at_us.
class FakeDocumentStore : public DocumentStore {
 public:
  std::map<std::string, std::int64_t> docs;
  std::deque<Error> fail_next;              // whole-command failures, consumed one per call
  std::map<std::string, Error> item_error;  // per-document failures (sticky); code -1 = command-level
  std::vector<std::size_t> call_sizes;

  BulkResult upsert(std::span<const DocumentWrite> writes) override {
    call_sizes.push_back(writes.size());
    BulkResult r;
    if (!fail_next.empty()) {
      r.error = fail_next.front();
      fail_next.pop_front();
      return r;
    }
    // A command-level content refusal (like client-side validation): the whole command fails
    // whenever the bad document is part of it.
    for (const auto& w : writes) {
      auto it = item_error.find(std::string(w.id));
      if (it != item_error.end() && it->second.code == -1) {
        r.error = it->second;
        return r;
      }
    }
    for (const auto& w : writes) {
      EXPECT_NE(w.doc, nullptr);
      ItemResult item;
      const std::string id(w.id);
      if (auto it = item_error.find(id); it != item_error.end()) {
        item.outcome = WriteOutcome::Failed;
        item.error = it->second;
      } else if (auto d = docs.find(id); d != docs.end() && d->second >= w.produced_at_us) {
        item.outcome = WriteOutcome::Duplicate;
      } else {
        docs[id] = w.produced_at_us;
        item.outcome = WriteOutcome::Written;
      }
      r.items.push_back(item);
    }
    return r;
  }
};

class FakeObjectStore : public ObjectStore {
 public:
  std::map<std::string, std::string> objects;
  int fail_calls = 0;  // this many calls fail every object with Retry
  std::set<std::string> reject_keys;
  std::size_t puts = 0;

  std::vector<std::optional<Error>> put(std::span<const ObjectPut> batch) override {
    std::vector<std::optional<Error>> out(batch.size());
    const bool fail = fail_calls > 0;
    if (fail) --fail_calls;
    for (std::size_t i = 0; i < batch.size(); ++i) {
      ++puts;
      if (fail) {
        out[i] = Error{Disposition::Retry, "s3", 503, "HTTP 503 SlowDown"};
      } else if (reject_keys.count(batch[i].key)) {
        out[i] = Error{Disposition::Reject, "s3", 400, "HTTP 400 EntityTooLarge"};
      } else {
        objects[batch[i].key] = std::string(batch[i].body);
      }
    }
    return out;
  }
};

class FakeDlq : public DeadLetterSink {
 public:
  struct Stored {
    std::string reason, detail, topic, value;
    std::int32_t partition;
    std::int64_t offset;
  };
  std::vector<Stored> letters;
  int fail_calls = 0;

  std::optional<Error> send(std::span<const DeadLetter> batch) override {
    if (fail_calls > 0) {
      --fail_calls;
      return Error{Disposition::Retry, "dlq", -195, "Local: Broker transport failure"};
    }
    for (const auto& d : batch)
      letters.push_back({d.reason, d.detail, d.source_topic, std::string(d.value), d.source_partition, d.source_offset});
    return std::nullopt;
  }
};

class FakeClock : public Clock {
 public:
  std::int64_t now = 1'795'435'260'000'000;  // 2026-11-23T12:01:00Z
  std::int64_t nowMicros() override { return now += 10; }
};

constexpr const char* kTopic = "gpu-metadata";

class BatchProcessorTest : public ::testing::Test {
 protected:
  FakeDocumentStore db;
  FakeObjectStore s3;
  FakeDlq dlq;
  FakeClock clock;
  Metrics metrics;
  std::deque<std::string> payloads;  // stable storage for record views

  std::string_view keep(std::string s) {
    payloads.push_back(std::move(s));
    return payloads.back();
  }
  Record rec(std::string payload, std::int32_t partition, std::int64_t offset) {
    return Record{kTopic, partition, offset, 1'795'435'200'000, "", keep(std::move(payload))};
  }
  Record valid(const std::string& id, std::int32_t partition, std::int64_t offset,
               std::string_view produced_at = "2026-11-23T12:00:00.123456Z") {
    SampleOptions o;
    o.dims = 16;
    o.produced_at = produced_at;
    return rec(sampleEnvelopeJson(id, o), partition, offset);
  }
  BatchProcessor processor(bool archive = false, BatchOptions opts = {}) {
    return BatchProcessor(db, archive ? &s3 : nullptr, dlq, metrics, clock, std::move(opts));
  }
  static double value(prometheus::Counter& c) { return c.Value(); }
};

TEST_F(BatchProcessorTest, ValidRecordsAreWrittenAndAllOffsetsCommitted) {
  auto p = processor();
  auto batch = p.prepare({valid("a", 0, 10), valid("b", 1, 5), valid("c", 0, 11)});
  const auto r = p.attempt(batch);
  EXPECT_TRUE(r.done);
  EXPECT_EQ(db.docs.size(), 3u);
  EXPECT_EQ(db.call_sizes, (std::vector<std::size_t>{3}));
  EXPECT_TRUE(dlq.letters.empty());
  EXPECT_EQ(BatchProcessor::commitOffsets(batch), (std::vector<CommitOffset>{{kTopic, 0, 12}, {kTopic, 1, 6}}));
  EXPECT_EQ(value(metrics.consumed()), 3);
  EXPECT_EQ(value(metrics.written()), 3);
}

TEST_F(BatchProcessorTest, PoisonGoesToTheDlqAndTheBatchStillCommits) {
  auto p = processor();
  auto batch = p.prepare({valid("a", 0, 1), rec("{\"event_id\": \"x\", trunc", 0, 2), valid("b", 0, 3),
                          rec("[1,2,3]", 0, 4)});
  const auto r = p.attempt(batch);
  ASSERT_TRUE(r.done);
  EXPECT_EQ(db.docs.size(), 2u);
  ASSERT_EQ(dlq.letters.size(), 2u);
  EXPECT_EQ(dlq.letters[0].reason, "invalid_envelope");
  EXPECT_EQ(dlq.letters[0].offset, 2);
  EXPECT_EQ(dlq.letters[0].partition, 0);
  EXPECT_EQ(dlq.letters[0].topic, kTopic);
  EXPECT_EQ(dlq.letters[0].value, "{\"event_id\": \"x\", trunc") << "original bytes, unchanged";
  EXPECT_FALSE(dlq.letters[0].detail.empty());
  EXPECT_EQ(dlq.letters[1].offset, 4);
  EXPECT_EQ(BatchProcessor::commitOffsets(batch), (std::vector<CommitOffset>{{kTopic, 0, 5}}));
  EXPECT_EQ(value(metrics.dlq("invalid_envelope")), 2);
}

TEST_F(BatchProcessorTest, TransientDbErrorMeansNoCommitAndTheSameBatchIsRetried) {
  auto p = processor();
  db.fail_next.push_back(Error{Disposition::Retry, "db", 13053, "No suitable servers found"});
  db.fail_next.push_back(Error{Disposition::Retry, "db", 13053, "No suitable servers found"});
  auto batch = p.prepare({valid("a", 0, 1), valid("b", 0, 2)});
  auto r = p.attempt(batch);
  EXPECT_FALSE(r.done);
  ASSERT_TRUE(r.error);
  EXPECT_TRUE(r.error->retryable());
  EXPECT_TRUE(dlq.letters.empty()) << "transient errors are never dead-lettered";
  EXPECT_FALSE(p.attempt(batch).done);
  r = p.attempt(batch);
  EXPECT_TRUE(r.done);
  EXPECT_EQ(db.docs.size(), 2u);
  EXPECT_EQ(batch.attempts, 3);
  EXPECT_EQ(value(metrics.retries("db")), 2);
  EXPECT_EQ(value(metrics.written()), 2);
}

TEST_F(BatchProcessorTest, RedeliveredRecordsAreCountedAsDuplicates) {
  auto p = processor();
  auto first = p.prepare({valid("a", 0, 1), valid("b", 0, 2)});
  ASSERT_TRUE(p.attempt(first).done);
  auto again = p.prepare({valid("a", 0, 1), valid("b", 0, 2)});
  ASSERT_TRUE(p.attempt(again).done);
  EXPECT_EQ(db.docs.size(), 2u);
  EXPECT_EQ(value(metrics.written()), 2);
  EXPECT_EQ(value(metrics.duplicates()), 2);
}

TEST_F(BatchProcessorTest, OlderVersionNeverOverwritesNewer) {
  auto p = processor();
  auto newer = p.prepare({valid("a", 0, 1, "2026-11-23T12:00:05Z")});
  ASSERT_TRUE(p.attempt(newer).done);
  const auto stored = db.docs["a"];
  auto older = p.prepare({valid("a", 0, 2, "2026-11-23T12:00:01Z")});
  ASSERT_TRUE(p.attempt(older).done);
  EXPECT_EQ(db.docs["a"], stored);
  EXPECT_EQ(value(metrics.duplicates()), 1);
  auto newest = p.prepare({valid("a", 0, 3, "2026-11-23T12:00:09Z")});
  ASSERT_TRUE(p.attempt(newest).done);
  EXPECT_GT(db.docs["a"], stored);
}

TEST_F(BatchProcessorTest, DuplicatesInsideOneBatchCollapseToTheNewest) {
  auto p = processor(true);
  auto batch = p.prepare({valid("a", 0, 1, "2026-11-23T12:00:05Z"), valid("a", 0, 2, "2026-11-23T12:00:01Z"),
                          valid("a", 0, 3, "2026-11-23T12:00:05Z")});
  ASSERT_TRUE(p.attempt(batch).done);
  EXPECT_EQ(db.call_sizes, (std::vector<std::size_t>{1}));
  EXPECT_EQ(value(metrics.duplicates()), 2);
  EXPECT_EQ(batch.slots[2].db, DbState::Written) << "ties go to the later offset";
  EXPECT_EQ(s3.objects.size(), 2u) << "one raw + one enriched for the winner";
  EXPECT_EQ(BatchProcessor::commitOffsets(batch), (std::vector<CommitOffset>{{kTopic, 0, 4}}));
}

TEST_F(BatchProcessorTest, PermanentPerDocumentDbErrorGoesToTheDlq) {
  auto p = processor();
  db.item_error["b"] = Error{Disposition::Reject, "db", 121, "Document failed validation"};
  auto batch = p.prepare({valid("a", 0, 1), valid("b", 0, 2), valid("c", 0, 3)});
  ASSERT_TRUE(p.attempt(batch).done);
  EXPECT_EQ(db.docs.size(), 2u);
  ASSERT_EQ(dlq.letters.size(), 1u);
  EXPECT_EQ(dlq.letters[0].reason, "db_rejected");
  EXPECT_NE(dlq.letters[0].detail.find("121"), std::string::npos);
  EXPECT_EQ(dlq.letters[0].offset, 2);
}

TEST_F(BatchProcessorTest, TransientPerDocumentErrorRetriesOnlyThatDocument) {
  auto p = processor();
  db.item_error["b"] = Error{Disposition::Retry, "db", 112, "WriteConflict"};
  auto batch = p.prepare({valid("a", 0, 1), valid("b", 0, 2), valid("c", 0, 3)});
  EXPECT_FALSE(p.attempt(batch).done);
  EXPECT_EQ(db.docs.size(), 2u);
  db.item_error.clear();
  EXPECT_TRUE(p.attempt(batch).done);
  EXPECT_EQ(db.call_sizes, (std::vector<std::size_t>{3, 1}));
  EXPECT_TRUE(dlq.letters.empty());
}

TEST_F(BatchProcessorTest, CommandLevelRejectionIsSplitToFindTheDocument) {
  auto p = processor();
  db.item_error["b"] = Error{Disposition::Reject, "db", -1, "invalid document for replace"};
  auto batch = p.prepare({valid("a", 0, 1), valid("b", 0, 2), valid("c", 0, 3)});
  ASSERT_TRUE(p.attempt(batch).done);
  EXPECT_EQ(db.call_sizes, (std::vector<std::size_t>{3, 1, 1, 1}));
  EXPECT_EQ(db.docs.size(), 2u);
  ASSERT_EQ(dlq.letters.size(), 1u);
  EXPECT_EQ(dlq.letters[0].offset, 2);
}

TEST_F(BatchProcessorTest, DlqFailureBlocksTheCommitUntilAcknowledged) {
  auto p = processor();
  dlq.fail_calls = 1;
  auto batch = p.prepare({valid("a", 0, 1), rec("not json", 0, 2)});
  auto r = p.attempt(batch);
  EXPECT_FALSE(r.done);
  EXPECT_EQ(r.error->target, "dlq");
  EXPECT_TRUE(p.attempt(batch).done);
  EXPECT_EQ(dlq.letters.size(), 1u);
  EXPECT_EQ(db.call_sizes.size(), 1u) << "the DB write is not repeated";
  EXPECT_EQ(value(metrics.retries("dlq")), 1);
}

TEST_F(BatchProcessorTest, ArchiveWritesRawAndEnrichedUnderDateHourKeys) {
  auto p = processor(true);
  auto batch = p.prepare({valid("a", 0, 1)});
  ASSERT_TRUE(p.attempt(batch).done);
  ASSERT_EQ(s3.objects.size(), 2u);
  ASSERT_TRUE(s3.objects.count("raw/dt=2026-11-23/hour=12/a.json"));
  ASSERT_TRUE(s3.objects.count("enriched/dt=2026-11-23/hour=12/a.json"));
  EXPECT_EQ(s3.objects["raw/dt=2026-11-23/hour=12/a.json"], payloads.back());
  EXPECT_NE(s3.objects["enriched/dt=2026-11-23/hour=12/a.json"].find("\"device\""), std::string::npos);
  EXPECT_EQ(value(metrics.s3Objects()), 2);
}

TEST_F(BatchProcessorTest, ArchiveFailureRetriesOnlyWhatIsMissing) {
  auto p = processor(true);
  s3.fail_calls = 1;
  auto batch = p.prepare({valid("a", 0, 1), valid("b", 0, 2)});
  auto r = p.attempt(batch);
  EXPECT_FALSE(r.done);
  EXPECT_EQ(r.error->target, "s3");
  EXPECT_EQ(db.docs.size(), 2u);
  EXPECT_TRUE(p.attempt(batch).done);
  EXPECT_EQ(s3.puts, 8u);  // 4 failed + 4 stored
  EXPECT_EQ(db.call_sizes.size(), 1u);
  EXPECT_TRUE(dlq.letters.empty());
}

TEST_F(BatchProcessorTest, ArchiveAlsoCoversDuplicatesSoACrashBetweenDbAndS3Heals) {
  auto p = processor(true);
  db.docs["a"] = 1'795'435'200'123'456;  // already in the DB (written before a crash)
  auto batch = p.prepare({valid("a", 0, 1)});
  ASSERT_TRUE(p.attempt(batch).done);
  EXPECT_EQ(value(metrics.duplicates()), 1);
  EXPECT_EQ(s3.objects.size(), 2u);
}

TEST_F(BatchProcessorTest, RejectedObjectGoesToTheDlq) {
  auto p = processor(true);
  s3.reject_keys.insert("raw/dt=2026-11-23/hour=12/b.json");
  auto batch = p.prepare({valid("a", 0, 1), valid("b", 0, 2)});
  ASSERT_TRUE(p.attempt(batch).done);
  ASSERT_EQ(dlq.letters.size(), 1u);
  EXPECT_EQ(dlq.letters[0].reason, "s3_rejected");
}

TEST_F(BatchProcessorTest, OversizedDocumentIsDeadLettered) {
  BatchOptions o;
  o.max_bson_bytes = 512;
  auto p = processor(false, o);
  auto batch = p.prepare({valid("a", 0, 1)});
  ASSERT_TRUE(p.attempt(batch).done);
  EXPECT_TRUE(db.docs.empty());
  ASSERT_EQ(dlq.letters.size(), 1u);
  EXPECT_EQ(dlq.letters[0].reason, "document_too_large");
}

TEST_F(BatchProcessorTest, EmptyBatchIsDoneImmediately) {
  auto p = processor();
  auto batch = p.prepare({});
  EXPECT_TRUE(p.attempt(batch).done);
  EXPECT_TRUE(BatchProcessor::commitOffsets(batch).empty());
  EXPECT_TRUE(db.call_sizes.empty());
}

}  // namespace
}  // namespace ca4::worker
