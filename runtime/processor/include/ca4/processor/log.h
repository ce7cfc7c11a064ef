// Structured log lines on top of ca4::log (runtime/common): a constant message plus key=value
// fields. With the JSON format a line is one object:
//   {"ts":"…","level":"info","logger":"processor","msg":"listening","port":"8080"}
// Never pass payloads, API keys or credentials as fields (key *names* are fine).
// Thread-safety: as spdlog's _mt loggers — any thread.
#pragma once

#include <ca4/common/logging.h>

#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

namespace ca4::processor {

using Field = std::pair<std::string_view, std::string_view>;

class Log {
 public:
  Log() = default;
  Log(std::shared_ptr<spdlog::logger> sink, log::Format format)
      : sink_(std::move(sink)), format_(format) {}

  // Renders the spdlog message for `msg` and `fields` in this logger's format.
  std::string render(std::string_view msg, std::initializer_list<Field> fields) const;

  void debug(std::string_view msg, std::initializer_list<Field> fields = {}) const {
    write(spdlog::level::debug, msg, fields);
  }
  void info(std::string_view msg, std::initializer_list<Field> fields = {}) const {
    write(spdlog::level::info, msg, fields);
  }
  void warn(std::string_view msg, std::initializer_list<Field> fields = {}) const {
    write(spdlog::level::warn, msg, fields);
  }
  void error(std::string_view msg, std::initializer_list<Field> fields = {}) const {
    write(spdlog::level::err, msg, fields);
  }
  spdlog::logger* sink() const { return sink_.get(); }

 private:
  void write(spdlog::level::level_enum level, std::string_view msg,
             std::initializer_list<Field> fields) const {
    if (!sink_ || !sink_->should_log(level)) return;
    sink_->log(level, spdlog::string_view_t(render(msg, fields)));
  }
  std::shared_ptr<spdlog::logger> sink_;
  log::Format format_ = log::Format::Json;
};

}  // namespace ca4::processor
