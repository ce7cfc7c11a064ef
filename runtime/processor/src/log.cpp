#include "ca4/processor/log.h"

namespace ca4::processor {

std::string Log::render(std::string_view msg, std::initializer_list<Field> fields) const {
  std::string out;
  if (format_ == log::Format::Json) {
    // The JSON pattern in ca4::log is {..."msg":"%v}: %v closes the msg string itself and
    // appends complete members. Every value is written as a JSON string.
    out = log::jsonEscape(msg);
    out += '"';
    for (const auto& [k, v] : fields) {
      out += ",\"";
      out += log::jsonEscape(k);
      out += "\":\"";
      out += log::jsonEscape(v);
      out += '"';
    }
  } else {
    out = std::string(msg);
    for (const auto& [k, v] : fields) {
      out += ' ';
      out += k;
      out += '=';
      out += v;
    }
  }
  return out;
}

}  // namespace ca4::processor
