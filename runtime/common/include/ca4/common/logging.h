// One named logger per component. Services log JSON lines to stderr:
//   {"ts":"…","level":"info","logger":"processor","msg":"listening","port":8080}
// Contract: messages are constant strings; variable data goes in key=value fields passed to
// `fields` already rendered as JSON members. Never pass payloads, API keys or credentials.
#pragma once

#include <spdlog/spdlog.h>

#include <memory>
#include <string>

namespace ca4::log {

enum class Format { Json, Text };

// Creates (or returns the existing) logger `name` writing to stderr. Thread-safe.
std::shared_ptr<spdlog::logger> make(const std::string& name, Format format = Format::Json);

// Escapes `s` for inclusion inside a JSON string literal (no surrounding quotes).
std::string jsonEscape(std::string_view s);

}  // namespace ca4::log
