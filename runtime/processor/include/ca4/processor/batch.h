// Batch bodies: splitting into records and rendering per-record results.
//
// A batch is a JSON array of envelopes (application/json) or one envelope per line
// (application/x-ndjson; blank lines are skipped and do not count). Splitting only finds
// record boundaries — each record is then validated on its own by ca4::envelope::parseEnvelope,
// so one bad record is rejected with its field paths while the others go through.
// Structural errors that make boundaries unknowable (not an array, unterminated string or
// array, text after the array) reject the whole request.
#pragma once

#include "ca4/processor/http.h"

#include <ca4/common/envelope.h>

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace ca4::processor {

struct SplitResult {
  std::vector<std::string_view> records;  // views into the body
  std::optional<HttpResponse> error;      // whole-request rejection (400 / 413)
};

SplitResult splitJsonArray(std::string_view body, std::size_t max_records);
SplitResult splitNdjson(std::string_view body, std::size_t max_records);

enum class RecordStatus { Accepted, Rejected, Failed };

struct RecordResult {
  std::size_t index = 0;
  RecordStatus status = RecordStatus::Failed;
  std::string event_id;                       // Accepted (and Failed when known)
  std::vector<envelope::FieldError> errors;   // Rejected
  std::string failure;                        // Failed: "unavailable" | "publish_failed"
};

// {"results":[...],"accepted":N,"rejected":N,"failed":N}
// Status: 503 + Retry-After when nothing was accepted and at least one record failed to
// publish (Kafka could take none; retrying the whole batch is safe because event_id is the
// idempotency key); otherwise 200 — including a batch where every record was rejected, whose
// body carries each record's field paths.
HttpResponse renderBatch(const std::vector<RecordResult>& results, int retry_after_seconds);

}  // namespace ca4::processor
