// Builds the `%v` part of ca4::log's JSON pattern: `msg","k":v,...` (the pattern supplies the
// opening quote of msg and the closing brace). Values are escaped; callers must never pass
// payloads or credentials.
#pragma once

#include <ca4/common/logging.h>

#include <cstdint>
#include <string>
#include <string_view>

namespace ca4::worker::detail {

class Fields {
 public:
  explicit Fields(std::string_view msg) : s_(log::jsonEscape(msg)) { s_ += '"'; }
  Fields& str(std::string_view k, std::string_view v) {
    key(k);
    s_ += '"';
    s_ += log::jsonEscape(v);
    s_ += '"';
    return *this;
  }
  Fields& num(std::string_view k, std::int64_t v) {
    key(k);
    s_ += std::to_string(v);
    return *this;
  }
  Fields& dbl(std::string_view k, double v) {
    key(k);
    s_ += std::to_string(v);
    return *this;
  }
  Fields& boolean(std::string_view k, bool v) {
    key(k);
    s_ += v ? "true" : "false";
    return *this;
  }
  const std::string& text() const { return s_; }

 private:
  void key(std::string_view k) {
    s_ += ",\"";
    s_ += k;
    s_ += "\":";
  }
  std::string s_;
};

}  // namespace ca4::worker::detail
