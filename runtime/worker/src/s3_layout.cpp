#include "ca4/worker/s3_layout.h"

#include <cstdio>
#include <ctime>

namespace ca4::worker {

std::string archiveKey(std::string_view prefix, ArchiveKind kind, std::int64_t produced_at_us,
                       std::string_view event_id) {
  // floor division so instants before 1970 land in the right hour
  std::int64_t secs = produced_at_us / 1'000'000;
  if (produced_at_us < 0 && produced_at_us % 1'000'000 != 0) --secs;
  const std::time_t t = static_cast<std::time_t>(secs);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char part[40];
  std::snprintf(part, sizeof part, "dt=%04d-%02d-%02d/hour=%02d/", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour);
  std::string key(prefix);
  key += kind == ArchiveKind::Raw ? "raw/" : "enriched/";
  key += part;
  key += event_id;
  key += ".json";
  return key;
}

}  // namespace ca4::worker
