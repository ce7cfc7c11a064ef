#include "ca4/engine/events.h"

#include <algorithm>
#include <array>
#include <chrono>

#include "ca4/engine/clock.h"

namespace ca4::engine {

// The fixed keys come first; `fields` are merged into the same object (the stable JSON shape in
// events.h). A field named like a fixed key never overrides it.
nlohmann::json Event::toJson() const {
  nlohmann::json j = nlohmann::json::object();
  j["ts"] = ts;
  j["run"] = run;
  j["type"] = type;
  if (!stage.empty()) j["stage"] = stage;
  if (!status.empty()) j["status"] = status;
  if (!message.empty()) j["message"] = message;
  if (duration_ms >= 0) j["duration_ms"] = duration_ms;
  if (fields.is_object()) {
    for (const auto& [k, v] : fields.items()) {
      if (!j.contains(k)) j[k] = v;
    }
  } else if (!fields.is_null()) {
    j["fields"] = fields;
  }
  return j;
}

void JsonLinesSink::emit(const Event& e) {
  nlohmann::json j = e.toJson();
  if (e.ts.empty()) j["ts"] = rfc3339(std::chrono::system_clock::now());
  // Fixed keys first, in this order, for people reading the log; the rest sorted.
  static constexpr std::array<const char*, 7> kFixed{"ts",     "run",     "type",       "stage",
                                                     "status", "message", "duration_ms"};
  // replace: a message with invalid UTF-8 (say, a child's stderr) must not throw mid-run.
  auto dump = [](const nlohmann::json& v) {
    return v.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  };
  std::string line = "{";
  auto add = [&](const std::string& k, const nlohmann::json& v) {
    if (line.size() > 1) line += ',';
    line += dump(nlohmann::json(k));
    line += ':';
    line += dump(v);
  };
  for (const char* k : kFixed) {
    if (auto it = j.find(k); it != j.end()) add(k, *it);
  }
  for (const auto& [k, v] : j.items()) {
    if (std::find_if(kFixed.begin(), kFixed.end(), [&](const char* f) { return k == f; }) ==
        kFixed.end()) {
      add(k, v);
    }
  }
  line += "}\n";
  std::lock_guard lk(mu_);
  std::fwrite(line.data(), 1, line.size(), out_);
  std::fflush(out_);
}

}  // namespace ca4::engine
