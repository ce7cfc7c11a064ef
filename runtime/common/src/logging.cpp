#include "ca4/common/logging.h"

#include <spdlog/sinks/stdout_sinks.h>

#include <cstdio>

namespace ca4::log {

std::shared_ptr<spdlog::logger> make(const std::string& name, Format format) {
  if (auto existing = spdlog::get(name)) return existing;
  auto logger = spdlog::stderr_logger_mt(name);
  if (format == Format::Json) {
    // %v is the message, which callers write as `msg","k":v` via the CA4_LOG helpers; keeping
    // the pattern here means every line is one JSON object.
    logger->set_pattern(R"({"ts":"%Y-%m-%dT%H:%M:%S.%fZ","level":"%l","logger":"%n","msg":"%v})",
                        spdlog::pattern_time_type::utc);
  } else {
    logger->set_pattern("%H:%M:%S.%e %^%l%$ [%n] %v");
  }
  logger->flush_on(spdlog::level::warn);
  return logger;
}

std::string jsonEscape(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 8);
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out;
}

}  // namespace ca4::log
