#include "ca4/worker/batch_processor.h"

#include <ca4/worker/document.h>
#include <ca4/worker/s3_layout.h>
#include <ca4/worker/transform.h>

#include <chrono>
#include <map>
#include <unordered_map>

namespace ca4::worker {

namespace {

constexpr std::size_t kMaxDetail = 300;

std::string truncate(std::string s) {
  if (s.size() > kMaxDetail) {
    s.resize(kMaxDetail);
    s += "…";
  }
  return s;
}

// "extraction.embedding[17]: expected number (+2 more)" — paths and messages only, no values.
std::string summarize(const std::vector<envelope::FieldError>& errors) {
  if (errors.empty()) return "invalid envelope";
  const auto& f = errors.front();
  std::string s = f.path.empty() ? f.message : f.path + ": " + f.message;
  if (errors.size() > 1) s += " (+" + std::to_string(errors.size() - 1) + " more)";
  return s;
}

std::string describe(const Error& e) {
  return e.target + " code " + std::to_string(e.code) + ": " + e.message;
}

}  // namespace

std::int64_t SystemClock::nowMicros() {
  using namespace std::chrono;
  return duration_cast<microseconds>(system_clock::now().time_since_epoch()).count();
}

BatchProcessor::BatchProcessor(DocumentStore& db, ObjectStore* archive, DeadLetterSink& dlq,
                               Metrics& metrics, Clock& clock, BatchOptions options)
    : db_(db), archive_(archive), dlq_(dlq), metrics_(metrics), clock_(clock), options_(std::move(options)) {}

void BatchProcessor::markDead(Batch& batch, Slot& slot, std::string reason, std::string detail) {
  const Record& r = batch.records[slot.record];
  DeadLetter d;
  d.reason = std::move(reason);
  d.detail = truncate(std::move(detail));
  d.source_topic = std::string(r.topic);
  d.source_partition = r.partition;
  d.source_offset = r.offset;
  d.key = r.key;
  d.value = r.value;
  slot.dead = std::move(d);
  slot.doc.reset();
  slot.enriched_json.clear();
}

Batch BatchProcessor::prepare(std::vector<Record> records) {
  Batch b;
  b.started_us = clock_.nowMicros();
  b.records = std::move(records);
  b.slots.resize(b.records.size());  // never resized again: views into slots stay valid
  metrics_.consumed().Increment(static_cast<double>(b.records.size()));

  std::unordered_map<std::string_view, std::size_t> newest;  // event_id → slot
  newest.reserve(b.records.size());
  for (std::size_t i = 0; i < b.records.size(); ++i) {
    const Record& r = b.records[i];
    Slot& s = b.slots[i];
    s.record = i;
    auto parsed = envelope::parseEnvelope(r.value, options_.limits);
    if (!parsed.ok()) {
      markDead(b, s, "invalid_envelope", summarize(parsed.errors));
      continue;
    }
    s.event_id = parsed.envelope->event_id;
    s.produced_at_us = parsed.envelope->produced_at_us;
    Enriched e = transform(std::move(*parsed.envelope),
                           Lineage{std::string(r.topic), r.partition, r.offset, r.timestamp_ms},
                           clock_.nowMicros());
    s.doc = toBson(e);
    if (s.doc->len > options_.max_bson_bytes) {
      markDead(b, s, "document_too_large",
               "bson " + std::to_string(s.doc->len) + " bytes > " + std::to_string(options_.max_bson_bytes));
      continue;
    }
    if (archive_) s.enriched_json = toJson(e);

    auto [it, inserted] = newest.try_emplace(std::string_view(s.event_id), i);
    if (!inserted) {
      Slot& other = b.slots[it->second];
      // later offsets win ties: they were produced (or re-sent) later
      if (s.produced_at_us >= other.produced_at_us) {
        other.db = DbState::Superseded;
        it->second = i;
      } else {
        s.db = DbState::Superseded;
      }
      metrics_.duplicates().Increment();
    }
  }
  return b;
}

void BatchProcessor::applyItem(Batch& batch, Slot& slot, const ItemResult& item,
                               std::optional<Error>& retry) {
  switch (item.outcome) {
    case WriteOutcome::Written:
      slot.db = DbState::Written;
      metrics_.written().Increment();
      break;
    case WriteOutcome::Duplicate:
      slot.db = DbState::Duplicate;
      metrics_.duplicates().Increment();
      break;
    case WriteOutcome::Failed:
      if (item.error.retryable()) {
        if (!retry) retry = item.error;  // stays Pending: sent again next attempt
      } else {
        slot.db = DbState::Rejected;
        markDead(batch, slot, "db_rejected", describe(item.error));
      }
      break;
  }
}

std::optional<Error> BatchProcessor::writeDocuments(Batch& b) {
  std::vector<std::size_t> pending;
  for (std::size_t i = 0; i < b.slots.size(); ++i)
    if (!b.slots[i].dead && b.slots[i].db == DbState::Pending) pending.push_back(i);
  if (pending.empty()) return std::nullopt;

  std::vector<DocumentWrite> writes;
  writes.reserve(pending.size());
  for (auto i : pending) writes.push_back({b.slots[i].event_id, b.slots[i].produced_at_us, b.slots[i].doc.get()});

  BulkResult res = db_.upsert(writes);
  std::optional<Error> retry;
  if (res.error) {
    if (res.error->retryable()) return res.error;
    // The command was refused because of some document's content, but not which one: resend
    // one at a time so the refusal lands on the document that caused it.
    for (std::size_t n = 0; n < pending.size(); ++n) {
      Slot& s = b.slots[pending[n]];
      BulkResult one = pending.size() == 1 ? std::move(res) : db_.upsert(std::span(&writes[n], 1));
      if (one.error) {
        if (one.error->retryable()) return one.error;
        s.db = DbState::Rejected;
        markDead(b, s, "db_rejected", describe(*one.error));
      } else if (one.items.size() == 1) {
        applyItem(b, s, one.items[0], retry);
      } else {
        return Error{Disposition::Retry, "db", 0, "store returned a wrong number of results"};
      }
    }
    return retry;
  }
  if (res.items.size() != pending.size())
    return Error{Disposition::Retry, "db", 0, "store returned a wrong number of results"};
  for (std::size_t n = 0; n < pending.size(); ++n) applyItem(b, b.slots[pending[n]], res.items[n], retry);
  return retry;
}

std::optional<Error> BatchProcessor::archiveObjects(Batch& b) {
  struct Ref {
    std::size_t slot;
    ArchiveKind kind;
  };
  std::vector<ObjectPut> puts;
  std::vector<Ref> refs;
  for (std::size_t i = 0; i < b.slots.size(); ++i) {
    Slot& s = b.slots[i];
    if (s.dead || (s.db != DbState::Written && s.db != DbState::Duplicate)) continue;
    if (!s.raw_archived) {
      puts.push_back({archiveKey(options_.s3_prefix, ArchiveKind::Raw, s.produced_at_us, s.event_id),
                      b.records[s.record].value, "application/json"});
      refs.push_back({i, ArchiveKind::Raw});
    }
    if (!s.enriched_archived) {
      puts.push_back({archiveKey(options_.s3_prefix, ArchiveKind::Enriched, s.produced_at_us, s.event_id),
                      s.enriched_json, "application/json"});
      refs.push_back({i, ArchiveKind::Enriched});
    }
  }
  if (puts.empty()) return std::nullopt;
  auto results = archive_->put(puts);
  if (results.size() != puts.size())
    return Error{Disposition::Retry, "s3", 0, "store returned a wrong number of results"};
  std::optional<Error> retry;
  for (std::size_t n = 0; n < refs.size(); ++n) {
    Slot& s = b.slots[refs[n].slot];
    const auto& r = results[n];
    if (!r) {
      (refs[n].kind == ArchiveKind::Raw ? s.raw_archived : s.enriched_archived) = true;
      metrics_.s3Objects().Increment();
    } else if (r->retryable()) {
      if (!retry) retry = *r;
    } else if (!s.dead) {
      markDead(b, s, "s3_rejected", describe(*r));
    }
  }
  return retry;
}

std::optional<Error> BatchProcessor::sendDeadLetters(Batch& b) {
  std::vector<DeadLetter> letters;
  std::vector<std::size_t> idx;
  for (std::size_t i = 0; i < b.slots.size(); ++i) {
    if (b.slots[i].dead && !b.slots[i].dead_sent) {
      letters.push_back(*b.slots[i].dead);
      idx.push_back(i);
    }
  }
  if (letters.empty()) return std::nullopt;
  if (auto err = dlq_.send(letters)) {
    err->disposition = Disposition::Retry;  // the DLQ failing is never a reason to drop a record
    return err;
  }
  for (auto i : idx) {
    b.slots[i].dead_sent = true;
    metrics_.dlq(b.slots[i].dead->reason).Increment();
  }
  return std::nullopt;
}

AttemptResult BatchProcessor::attempt(Batch& b) {
  ++b.attempts;
  if (auto e = writeDocuments(b)) {
    metrics_.retries("db").Increment();
    return {false, std::move(e)};
  }
  if (archive_) {
    if (auto e = archiveObjects(b)) {
      metrics_.retries("s3").Increment();
      return {false, std::move(e)};
    }
  }
  if (auto e = sendDeadLetters(b)) {
    metrics_.retries("dlq").Increment();
    return {false, std::move(e)};
  }
  metrics_.batchDuration().Observe(static_cast<double>(clock_.nowMicros() - b.started_us) / 1e6);
  return {true, std::nullopt};
}

std::vector<CommitOffset> BatchProcessor::commitOffsets(const Batch& batch) {
  std::map<std::pair<std::string_view, std::int32_t>, std::int64_t> next;
  for (const auto& r : batch.records) {
    auto& v = next[{r.topic, r.partition}];
    v = std::max(v, r.offset + 1);
  }
  std::vector<CommitOffset> out;
  out.reserve(next.size());
  for (const auto& [tp, off] : next) out.push_back({std::string(tp.first), tp.second, off});
  return out;
}

}  // namespace ca4::worker
