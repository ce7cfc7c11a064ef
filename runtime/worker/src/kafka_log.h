// librdkafka's log and error callbacks routed to the worker's JSON logger (instead of
// librdkafka's own "%4|…" lines on stderr). Shared by the consumer and the DLQ producer.
#pragma once

#include "log_fields.h"

#include <librdkafka/rdkafka.h>

#include <atomic>
#include <chrono>

namespace ca4::worker::detail {

inline void kafkaLogToSpdlog(const rd_kafka_t*, int level, const char* fac, const char* buf) {
  static auto log = ca4::log::make("worker");
  const auto line = Fields("librdkafka").str("facility", fac ? fac : "").str("detail", buf ? buf : "").text();
  if (level <= 3) log->error("{}", line);
  else if (level <= 4) log->warn("{}", line);
  else if (level <= 6) log->info("{}", line);
  else log->debug("{}", line);
}

// "all brokers down" and friends repeat every few hundred ms while Kafka is away: at most one
// line per 5 s.
inline void kafkaErrorToSpdlog(rd_kafka_t*, int err, const char* reason, void*) {
  static auto log = ca4::log::make("worker");
  static std::atomic<std::int64_t> last{0};
  const auto now = std::chrono::steady_clock::now().time_since_epoch().count();
  if (now - last.load() < std::chrono::duration_cast<std::chrono::steady_clock::duration>(std::chrono::seconds(5)).count())
    return;
  last = now;
  log->warn("{}", Fields("kafka client error")
                      .str("error", rd_kafka_err2name(static_cast<rd_kafka_resp_err_t>(err)))
                      .str("detail", reason ? reason : "")
                      .text());
}

}  // namespace ca4::worker::detail
