// The stored document, built DIRECTLY from the Enriched struct — never through a JSON text and
// libbson's JSON parser (≈320 µs per 2048-float document, see issue 3). One field list
// (src/document_fields.h) drives both encoders, so the BSON in the DB and the JSON in the S3
// archive always have the same shape.
//
// Types in BSON: strings utf8; sizes/offsets/µs int64; pixel sizes/partition/dims int32;
// floats double; produced_at/processed_at/lineage.kafka_timestamp BSON date (ms);
// optional fields are omitted when absent. `_id` = event_id.
#pragma once

#include <ca4/worker/holders.h>
#include <ca4/worker/transform.h>

#include <string>

namespace ca4::worker {

// A freshly allocated BSON document (never null; aborts only on allocation failure like libbson).
BsonPtr toBson(const Enriched& e);

// Compact JSON of the same document (dates as RFC 3339 UTC strings, shortest round-trip doubles).
std::string toJson(const Enriched& e);

}  // namespace ca4::worker
