// Object keys of the S3 archive, partitioned by the event's own time (produced_at, UTC):
//   <prefix>raw/dt=2026-11-23/hour=12/<event_id>.json        the canonical envelope, as consumed
//   <prefix>enriched/dt=2026-11-23/hour=12/<event_id>.json   the transformed document as JSON
// Event time (not processing time) keeps keys deterministic: a redelivered record overwrites
// the same object instead of creating a second one. event_id is restricted by the envelope to
// [A-Za-z0-9._:-], so keys need no escaping beyond what sigv4::uriEncode does for ':'.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace ca4::worker {

enum class ArchiveKind { Raw, Enriched };

// `prefix` is used verbatim ("" or ending in '/').
std::string archiveKey(std::string_view prefix, ArchiveKind kind, std::int64_t produced_at_us,
                       std::string_view event_id);

}  // namespace ca4::worker
