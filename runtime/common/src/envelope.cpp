// parseEnvelope: one simdjson on-demand pass that validates and normalizes.
//
// The walk visits every field in document order. A field-level problem is recorded with its
// path and the walk goes on (simdjson leaves an unconsumed value to be skipped by the next
// iteration); a syntax error stops the walk, keeping what was gathered so far. Values that are
// skipped because they are unknown or of the wrong type are walked structurally up to
// limits.max_depth, so deep nesting is reported instead of silently skipped.
#include "ca4/common/envelope.h"

#include <simdjson.h>

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstring>
#include <memory>
#include <new>

#include "json_scan.h"

namespace ca4::envelope {
namespace {

namespace od = simdjson::ondemand;
using simdjson::error_code;

// Per-thread parse state. simdjson's parser keeps its index and string buffers between
// documents (reusing them is much of its speed); input is copied into a zero-padded buffer
// because simdjson reads up to SIMDJSON_PADDING bytes past the end.
struct Scratch {
  od::parser parser;
  std::unique_ptr<char[]> buf;
  std::size_t cap = 0;

  // Copies a + b into the buffer; returns the length.
  std::size_t load(std::string_view a, std::string_view b = {}) {
    const std::size_t len = a.size() + b.size();
    if (cap < len + simdjson::SIMDJSON_PADDING) {
      cap = len + simdjson::SIMDJSON_PADDING;
      buf = std::make_unique<char[]>(cap);
    }
    if (!a.empty()) std::memcpy(buf.get(), a.data(), a.size());
    if (!b.empty()) std::memcpy(buf.get() + a.size(), b.data(), b.size());
    std::memset(buf.get() + len, 0, simdjson::SIMDJSON_PADDING);
    return len;
  }
};
thread_local Scratch t_scratch;

bool isWs(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && isWs(s.front())) s.remove_prefix(1);
  while (!s.empty() && isWs(s.back())) s.remove_suffix(1);
  return s;
}

bool equalsIgnoreCase(std::string_view a, std::string_view lower) {
  if (a.size() != lower.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char c = a[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != lower[i]) return false;
  }
  return true;
}

// Appends `s` to `out` for a human-readable message: at most `max` bytes (cut on a UTF-8
// boundary), quotes, backslashes and control characters escaped.
void appendQuoted(std::string& out, std::string_view s, std::size_t max = 64) {
  bool cut = false;
  if (s.size() > max) {
    std::size_t n = max;
    while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
    s = s.substr(0, n);
    cut = true;
  }
  out.push_back('"');
  for (const char c : s) {
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(c);
    } else if (static_cast<unsigned char>(c) < 0x20) {
      constexpr std::string_view kHex = "0123456789abcdef";
      out.append("\\u00");
      out.push_back(kHex[static_cast<unsigned char>(c) >> 4]);
      out.push_back(kHex[static_cast<unsigned char>(c) & 0xf]);
    } else {
      out.push_back(c);
    }
  }
  if (cut) out.append("...");
  out.push_back('"');
}

// parent.key, or parent["odd key"] when the key is not [A-Za-z0-9_-]{1,64}.
std::string joinPath(std::string_view parent, std::string_view key) {
  const bool plain =
      !key.empty() && key.size() <= 64 && std::all_of(key.begin(), key.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '_' || c == '-';
      });
  std::string p(parent);
  if (plain) {
    if (!p.empty()) p.push_back('.');
    p.append(key);
  } else {
    p.push_back('[');
    appendQuoted(p, key);
    p.push_back(']');
  }
  return p;
}

std::string indexPath(std::string_view parent, std::size_t i) {
  std::string p(parent);
  p.push_back('[');
  p.append(std::to_string(i));
  p.push_back(']');
  return p;
}

// A JSON number per RFC 8259: -?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?
bool isJsonNumber(std::string_view s) {
  std::size_t i = 0;
  auto digits = [&] {
    const std::size_t start = i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
    return i > start;
  };
  if (i < s.size() && s[i] == '-') ++i;
  if (i < s.size() && s[i] == '0') {
    ++i;
  } else if (!digits()) {
    return false;
  }
  if (i < s.size() && s[i] == '.') {
    ++i;
    if (!digits()) return false;
  }
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
    if (!digits()) return false;
  }
  return i == s.size();
}

// Errors that concern one value and leave simdjson's iterator usable; anything else is a
// syntax error that ends the walk.
bool isValueError(error_code ec) {
  switch (ec) {
    case simdjson::INCORRECT_TYPE:
    case simdjson::NUMBER_ERROR:
    case simdjson::NUMBER_OUT_OF_RANGE:
    case simdjson::STRING_ERROR:
    case simdjson::T_ATOM_ERROR:
    case simdjson::F_ATOM_ERROR:
    case simdjson::N_ATOM_ERROR:
      return true;
    default:
      return false;
  }
}

std::string syntaxMessage(error_code ec) {
  switch (ec) {
    case simdjson::TAPE_ERROR:
      return "malformed JSON (a missing or extra comma, colon, bracket or quote)";
    case simdjson::INCOMPLETE_ARRAY_OR_OBJECT:
      return "unexpected end of document (unclosed object or array)";
    case simdjson::UNCLOSED_STRING:
      return "unterminated string";
    case simdjson::UNESCAPED_CHARS:
      return "unescaped control character in a string";
    case simdjson::UTF8_ERROR:
      return "invalid UTF-8";
    case simdjson::EMPTY:
      return "empty document";
    case simdjson::DEPTH_ERROR:
      return "nesting too deep";
    case simdjson::CAPACITY:
      return "document too large to parse";
    case simdjson::MEMALLOC:
      return "out of memory";
    default:
      return std::string("invalid JSON: ") + simdjson::error_message(ec);
  }
}

enum class Want { String, Object, Array, Number, Integer };

std::string_view expected(Want w) {
  switch (w) {
    case Want::String:
      return "expected string";
    case Want::Object:
      return "expected object";
    case Want::Array:
      return "expected array";
    case Want::Number:
      return "expected number";
    case Want::Integer:
      return "expected integer";
  }
  return "unexpected value";
}

// Doubles at or above this magnitude round to infinity as floats (FLT_MAX + half an ulp);
// below it they round to at most FLT_MAX, so "3.4028235e+38" (FLT_MAX's shortest form) is fine.
constexpr double kFloatOverflow = 0x1.ffffffp+127;

constexpr std::string_view kEventIdRule = "must be 1..128 characters of [A-Za-z0-9._:-]";
constexpr std::string_view kTimeRule =
    "expected RFC 3339 date-time with offset, e.g. 2026-11-23T12:00:00Z";

class Walker {
 public:
  Walker(const Limits& limits, od::document& doc, const char* base, std::size_t len, bool repaired,
         std::vector<FieldError>& errors)
      : limits_(limits), doc_(doc), base_(base), len_(len), repaired_(repaired), errors_(errors) {}

  enum class Outcome { Done, Unbalanced };

  Outcome root(Envelope& e) {
    od::object obj;
    if (const auto ec = doc_.get_object().get(obj)) {
      if (ec == simdjson::INCORRECT_TYPE) {
        add("", "expected a JSON object");
      } else if (ec == simdjson::INCOMPLETE_ARRAY_OR_OBJECT && !repaired_) {
        return Outcome::Unbalanced;
      } else {
        fatal(ec);
      }
      return Outcome::Done;
    }
    static constexpr std::string_view kNames[] = {"schema_version", "event_id",  "produced_at",
                                                  "source",         "item",      "extraction",
                                                  "timings",        "attributes"};
    unsigned seen = 0;
    const bool complete = fields(obj, "", 1, [&](std::string_view key, od::value& v) {
      switch (known("", key, v, kNames, seen, 2)) {
        case 0:
          if (std::string s; string(v, "schema_version", limits_.max_string, true, s, 2)) {
            if (s != kSchemaVersion) {
              add("schema_version", std::string("must be \"").append(kSchemaVersion).append("\""));
            }
          }
          break;
        case 1:
          if (std::string s; string(v, "event_id", SIZE_MAX, false, s, 2)) {
            if (!validEventId(s)) {
              add("event_id", std::string(kEventIdRule));
            } else {
              e.event_id = std::move(s);
            }
          }
          break;
        case 2:
          if (std::string s; string(v, "produced_at", SIZE_MAX, false, s, 2)) {
            if (const auto t = parseRfc3339(s)) {
              e.produced_at_us = *t;
            } else {
              add("produced_at", std::string(kTimeRule));
            }
          }
          break;
        case 3:
          source(v, e.source);
          break;
        case 4:
          item(v, e.item);
          break;
        case 5:
          extraction(v, e.extraction);
          break;
        case 6:
          timings(v, e.timings);
          break;
        case 7:
          attributes(v, e.attributes);
          break;
        default:
          break;
      }
    });
    if (!complete) return Outcome::Done;
    required("", kNames, seen, 0b111111);
    if (!repaired_) {
      const char* loc = nullptr;
      if (doc_.current_location().get(loc) == simdjson::SUCCESS) {
        addAt("unexpected content after the top-level object", offsetOf(loc));
      }
    }
    return Outcome::Done;
  }

  bool dead() const { return dead_; }

 private:
  // ---- error recording ----
  void add(std::string path, std::string message) {
    if (dead_) return;
    if (errors_.size() >= std::max<std::size_t>(limits_.max_errors, 1)) {
      errors_.push_back({"", "too many errors; only the first " + std::to_string(errors_.size()) +
                                 " are reported"});
      dead_ = true;
      return;
    }
    errors_.push_back({std::move(path), std::move(message)});
  }
  void addAt(std::string_view what, std::size_t offset) {
    add("", std::string(what).append(" at byte ").append(std::to_string(offset)));
  }
  std::size_t offsetOf(const char* loc) const {
    if (loc < base_ || loc > base_ + len_) return len_;
    return static_cast<std::size_t>(loc - base_);
  }
  // A syntax error: recorded with where the iterator stopped; ends the walk.
  void fatal(error_code ec) {
    if (dead_) return;
    const char* loc = nullptr;
    const std::size_t off =
        doc_.current_location().get(loc) == simdjson::SUCCESS ? offsetOf(loc) : len_;
    addAt(syntaxMessage(ec), off);
    dead_ = true;
  }

  // Records why `v` is not the `want` it should be, walking it when it is a container.
  void bad(od::value& v, std::string_view path, Want want, error_code ec, std::size_t depth) {
    if (!isValueError(ec)) {
      fatal(ec);
      return;
    }
    od::json_type t{};
    if (v.type().get(t) != simdjson::SUCCESS) {  // e.g. NaN, Infinity, tru
      std::string m = "invalid JSON value ";
      appendQuoted(m, trim(v.raw_json_token()), 32);
      const std::string_view tok = trim(v.raw_json_token());
      if (equalsIgnoreCase(tok.substr(0, 3), "nan") || equalsIgnoreCase(tok.substr(0, 3), "inf") ||
          equalsIgnoreCase(tok.substr(0, 4), "+inf")) {
        m.append(" (NaN and Infinity are not allowed)");
      }
      add(std::string(path), std::move(m));
      return;
    }
    switch (t) {
      case od::json_type::object:
      case od::json_type::array:
        add(std::string(path), std::string(expected(want)));
        skip(v, path, depth);
        return;
      case od::json_type::number: {
        if (want != Want::Number && want != Want::Integer) break;
        const std::string_view tok = trim(v.raw_json_token());
        if (!isJsonNumber(tok)) {
          std::string m = "invalid number ";
          appendQuoted(m, tok, 32);
          if (tok.find_first_of("iInN") != std::string_view::npos)
            m.append(" (NaN and Infinity are not allowed)");
          add(std::string(path), std::move(m));
        } else if (want == Want::Integer) {
          const bool integral = tok.find_first_of(".eE") == std::string_view::npos;
          add(std::string(path), integral ? "integer out of range" : "expected integer");
        } else {
          add(std::string(path), "number out of range");
        }
        return;
      }
      case od::json_type::boolean:
      case od::json_type::null: {
        // type() only looks at the first byte; "tru" or "nul" are not JSON.
        const std::string_view tok = trim(v.raw_json_token());
        if (tok != "true" && tok != "false" && tok != "null") {
          std::string m = "invalid JSON value ";
          appendQuoted(m, tok, 32);
          add(std::string(path), std::move(m));
          return;
        }
        break;
      }
      case od::json_type::string:
        if (want == Want::String && ec == simdjson::STRING_ERROR) {
          add(std::string(path), "invalid string escape");
          return;
        }
        break;
      default:
        break;
    }
    add(std::string(path), std::string(expected(want)));
  }

  // Walks a value nobody will read, reporting nesting deeper than limits.max_depth; scalars
  // are left for simdjson to skip.
  void skip(od::value& v, std::string_view path, std::size_t depth) {
    od::json_type t{};
    if (v.type().get(t) != simdjson::SUCCESS) return;
    if (t != od::json_type::object && t != od::json_type::array) return;
    if (depth > limits_.max_depth) {
      add(std::string(path),
          "nesting deeper than " + std::to_string(limits_.max_depth) + " levels");
      return;
    }
    if (t == od::json_type::object) {
      od::object o;
      if (const auto ec = v.get_object().get(o)) {
        fatal(ec);
        return;
      }
      for (auto fr : o) {
        od::field f;
        if (const auto ec = std::move(fr).get(f)) {
          fatal(ec);
          return;
        }
        skip(f.value(), path, depth + 1);
        if (dead_) return;
      }
    } else {
      od::array a;
      if (const auto ec = v.get_array().get(a)) {
        fatal(ec);
        return;
      }
      for (auto er : a) {
        od::value el;
        if (const auto ec = std::move(er).get(el)) {
          fatal(ec);
          return;
        }
        skip(el, path, depth + 1);
        if (dead_) return;
      }
    }
  }

  // ---- objects ----
  // Iterates the fields of `obj`; false when the walk died inside.
  template <class OnField>
  bool fields(od::object& obj, std::string_view path, std::size_t /*depth*/, OnField&& on_field) {
    for (auto fr : obj) {
      od::field f;
      if (const auto ec = std::move(fr).get(f)) {
        fatal(ec);
        return false;
      }
      std::string_view key;
      if (const auto ec = f.unescaped_key().get(key)) {
        if (!isValueError(ec)) {
          fatal(ec);
          return false;
        }
        add(std::string(path), "invalid field name (bad escape)");
        continue;
      }
      on_field(key, f.value());
      if (dead_) return false;
    }
    return !dead_;
  }

  // Opens `v` as an object at `depth` and iterates it; false if it is not one or the walk died.
  template <class OnField>
  bool object(od::value& v, std::string_view path, std::size_t depth, OnField&& on_field) {
    od::object obj;
    if (const auto ec = v.get_object().get(obj)) {
      bad(v, path, Want::Object, ec, depth);
      return false;
    }
    return fields(obj, path, depth, std::forward<OnField>(on_field));
  }

  // Index of `key` in `names`, or -1 after reporting an unknown or duplicate field.
  template <std::size_t N>
  int known(std::string_view path, std::string_view key, od::value& v,
            const std::string_view (&names)[N], unsigned& seen, std::size_t depth) {
    for (std::size_t i = 0; i < N; ++i) {
      if (names[i] != key) continue;
      if (seen & (1u << i)) {
        add(joinPath(path, key), "duplicate field");
        return -1;
      }
      seen |= 1u << i;
      return static_cast<int>(i);
    }
    add(joinPath(path, key), "unknown field");
    skip(v, joinPath(path, key), depth);
    return -1;
  }

  template <std::size_t N>
  void required(std::string_view path, const std::string_view (&names)[N], unsigned seen,
                unsigned mask) {
    if (repaired_ || dead_) return;  // a truncated document's missing fields are not news
    for (std::size_t i = 0; i < N; ++i) {
      if ((mask & (1u << i)) && !(seen & (1u << i))) add(joinPath(path, names[i]), "required");
    }
  }

  // ---- scalars ----
  static bool isNull(od::value& v) {
    bool n = false;
    return v.is_null().get(n) == simdjson::SUCCESS && n;
  }

  // A trimmed string of at most `max` bytes; `nonempty` rejects "" (after trimming).
  bool string(od::value& v, std::string_view path, std::size_t max, bool nonempty, std::string& out,
              std::size_t depth) {
    std::string_view s;
    if (const auto ec = v.get_string().get(s)) {
      bad(v, path, Want::String, ec, depth);
      return false;
    }
    s = trim(s);
    if (s.size() > max) {
      add(std::string(path), "longer than " + std::to_string(max) + " bytes");
      return false;
    }
    if (nonempty && s.empty()) {
      add(std::string(path), "must not be empty");
      return false;
    }
    out.assign(s);
    return true;
  }

  void optString(od::value& v, std::string_view path, std::size_t max, std::string& out,
                 std::size_t depth) {
    if (!isNull(v)) string(v, path, max, false, out, depth);
  }

  bool int64(od::value& v, std::string_view path, std::int64_t& out, std::size_t depth) {
    if (const auto ec = v.get_int64().get(out)) {
      bad(v, path, Want::Integer, ec, depth);
      return false;
    }
    return true;
  }

  // An optional integer in [min, max].
  template <class Int>
  void optInt(od::value& v, std::string_view path, std::int64_t min, std::int64_t max,
              std::optional<Int>& out, std::size_t depth) {
    if (isNull(v)) return;
    std::int64_t x = 0;
    if (!int64(v, path, x, depth)) return;
    if (x < min) {
      add(std::string(path),
          min == 1 ? std::string("must be > 0") : "must be >= " + std::to_string(min));
    } else if (x > max) {
      add(std::string(path), "must be <= " + std::to_string(max));
    } else {
      out = static_cast<Int>(x);
    }
  }

  // An optional finite number >= 0 (null = absent).
  void optMillis(od::value& v, std::string_view path, std::optional<double>& out,
                 std::size_t depth) {
    if (isNull(v)) return;
    double d = 0;
    if (const auto ec = v.get_double().get(d)) {
      bad(v, path, Want::Number, ec, depth);
    } else if (!std::isfinite(d)) {
      add(std::string(path), "number out of range");
    } else if (d < 0) {
      add(std::string(path), "must be >= 0");
    } else {
      out = d == 0 ? 0.0 : d;  // -0 -> 0
    }
  }

  static bool validEventId(std::string_view s) {
    if (s.empty() || s.size() > kMaxEventIdBytes) return false;
    return std::all_of(s.begin(), s.end(), [](char c) {
      return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
             c == '.' || c == '_' || c == ':' || c == '-';
    });
  }

  template <class Enum, std::size_t N>
  void enumeration(od::value& v, std::string_view path, const std::string_view (&names)[N],
                   Enum& out, std::string_view rule) {
    std::string s;
    if (!string(v, path, limits_.max_string, false, s, 3)) return;
    for (std::size_t i = 0; i < N; ++i) {
      if (equalsIgnoreCase(s, names[i])) {
        out = static_cast<Enum>(i);
        return;
      }
    }
    add(std::string(path), std::string(rule));
  }

  // ---- sections ----
  void source(od::value& v, Source& out) {
    static constexpr std::string_view kNames[] = {"producer", "producer_version", "host", "run_id"};
    unsigned seen = 0;
    const bool complete = object(v, "source", 2, [&](std::string_view key, od::value& fv) {
      const std::size_t max = limits_.max_string;
      switch (known("source", key, fv, kNames, seen, 3)) {
        case 0:
          string(fv, "source.producer", max, true, out.producer, 3);
          break;
        case 1:
          optString(fv, "source.producer_version", max, out.producer_version, 3);
          break;
        case 2:
          optString(fv, "source.host", max, out.host, 3);
          break;
        case 3:
          optString(fv, "source.run_id", max, out.run_id, 3);
          break;
        default:
          break;
      }
    });
    if (complete) required("source", kNames, seen, 0b1);
  }

  void item(od::value& v, Item& out) {
    static constexpr std::string_view kNames[] = {"uri",   "sha256", "kind",     "size_bytes",
                                                  "width", "height", "channels", "mime_type"};
    // Same order as ItemKind.
    static constexpr std::string_view kKinds[] = {"image", "video",   "audio",
                                                  "text",  "tabular", "other"};
    unsigned seen = 0;
    const bool complete = object(v, "item", 2, [&](std::string_view key, od::value& fv) {
      constexpr std::int64_t kI32 = INT32_MAX;
      switch (known("item", key, fv, kNames, seen, 3)) {
        case 0:
          string(fv, "item.uri", limits_.max_uri, true, out.uri, 3);
          break;
        case 1:
          sha256(fv, out.sha256);
          break;
        case 2:
          enumeration(fv, "item.kind", kKinds, out.kind,
                      "must be one of image|video|audio|text|tabular|other");
          break;
        case 3:
          if (std::int64_t x = 0; int64(fv, "item.size_bytes", x, 3)) {
            if (x < 0) {
              add("item.size_bytes", "must be >= 0");
            } else {
              out.size_bytes = x;
            }
          }
          break;
        case 4:
          optInt(fv, "item.width", 1, kI32, out.width, 3);
          break;
        case 5:
          optInt(fv, "item.height", 1, kI32, out.height, 3);
          break;
        case 6:
          optInt(fv, "item.channels", 1, kI32, out.channels, 3);
          break;
        case 7:
          optString(fv, "item.mime_type", limits_.max_string, out.mime_type, 3);
          break;
        default:
          break;
      }
    });
    if (complete) required("item", kNames, seen, 0b1111);
  }

  void sha256(od::value& v, std::string& out) {
    std::string s;
    if (!string(v, "item.sha256", SIZE_MAX, false, s, 3)) return;
    const bool hex =
        s.size() == 64 && std::all_of(s.begin(), s.end(), [](char c) {
          return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
        });
    if (!hex) {
      add("item.sha256", "expected 64 hex characters");
      return;
    }
    for (char& c : s) {
      if (c >= 'A' && c <= 'F') c = static_cast<char>(c - 'A' + 'a');
    }
    out = std::move(s);
  }

  void extraction(od::value& v, Extraction& out) {
    static constexpr std::string_view kNames[] = {"model", "embedding", "device"};
    unsigned seen = 0;
    const bool complete = object(v, "extraction", 2, [&](std::string_view key, od::value& fv) {
      switch (known("extraction", key, fv, kNames, seen, 3)) {
        case 0:
          model(fv, out.model);
          break;
        case 1:
          embedding(fv, out.embedding);
          break;
        case 2:
          device(fv, out.device);
          break;
        default:
          break;
      }
    });
    if (complete) required("extraction", kNames, seen, 0b111);
  }

  void model(od::value& v, Model& out) {
    static constexpr std::string_view kNames[] = {"name", "version"};
    unsigned seen = 0;
    const bool complete =
        object(v, "extraction.model", 3, [&](std::string_view key, od::value& fv) {
          switch (known("extraction.model", key, fv, kNames, seen, 4)) {
            case 0:
              string(fv, "extraction.model.name", limits_.max_string, true, out.name, 4);
              break;
            case 1:
              optString(fv, "extraction.model.version", limits_.max_string, out.version, 4);
              break;
            default:
              break;
          }
        });
    if (complete) required("extraction.model", kNames, seen, 0b1);
  }

  void device(od::value& v, Device& out) {
    static constexpr std::string_view kNames[] = {"type", "name", "memory_mb", "driver"};
    static constexpr std::string_view kTypes[] = {"gpu", "tpu", "cpu"};  // same order as DeviceType
    unsigned seen = 0;
    const bool complete =
        object(v, "extraction.device", 3, [&](std::string_view key, od::value& fv) {
          switch (known("extraction.device", key, fv, kNames, seen, 4)) {
            case 0:
              enumeration(fv, "extraction.device.type", kTypes, out.type,
                          "must be one of gpu|tpu|cpu");
              break;
            case 1:
              string(fv, "extraction.device.name", limits_.max_string, true, out.name, 4);
              break;
            case 2:
              optInt(fv, "extraction.device.memory_mb", 1, INT64_MAX, out.memory_mb, 4);
              break;
            case 3:
              optString(fv, "extraction.device.driver", limits_.max_string, out.driver, 4);
              break;
            default:
              break;
          }
        });
    if (complete) required("extraction.device", kNames, seen, 0b11);
  }

  // The hot loop: ~2048 numbers per document.
  void embedding(od::value& v, std::vector<float>& out) {
    constexpr std::string_view kPath = "extraction.embedding";
    od::array arr;
    if (const auto ec = v.get_array().get(arr)) {
      bad(v, kPath, Want::Array, ec, 3);
      return;
    }
    out.reserve(std::min<std::size_t>(limits_.max_embedding, 2048));
    std::size_t i = 0;
    for (auto er : arr) {
      od::value el;
      if (const auto ec = std::move(er).get(el)) {
        fatal(ec);
        return;
      }
      if (i == limits_.max_embedding) {
        // The rest of the array is skipped by the enclosing object's iteration.
        add(std::string(kPath),
            "expected at most " + std::to_string(limits_.max_embedding) + " elements");
        return;
      }
      double d = 0;
      if (const auto ec = el.get_double().get(d)) {
        bad(el, indexPath(kPath, i), Want::Number, ec, 4);
        if (dead_) return;
      } else if (!(std::fabs(d) < kFloatOverflow)) {
        add(indexPath(kPath, i), "number out of float range");
      } else {
        out.push_back(static_cast<float>(d));
      }
      ++i;
    }
    if (i == 0 && !dead_) add(std::string(kPath), "must not be empty");
  }

  void timings(od::value& v, Timings& out) {
    if (isNull(v)) return;
    static constexpr std::string_view kNames[] = {"preprocess_ms", "inference_ms", "total_ms"};
    unsigned seen = 0;
    object(v, "timings", 2, [&](std::string_view key, od::value& fv) {
      switch (known("timings", key, fv, kNames, seen, 3)) {
        case 0:
          optMillis(fv, "timings.preprocess_ms", out.preprocess_ms, 3);
          break;
        case 1:
          optMillis(fv, "timings.inference_ms", out.inference_ms, 3);
          break;
        case 2:
          optMillis(fv, "timings.total_ms", out.total_ms, 3);
          break;
        default:
          break;
      }
    });
  }

  void attributes(od::value& v, std::vector<std::pair<std::string, std::string>>& out) {
    if (isNull(v)) return;
    bool too_many = false;
    const bool complete = object(v, "attributes", 2, [&](std::string_view key, od::value& fv) {
      if (too_many) return;
      if (out.size() == limits_.max_attributes) {
        add("attributes",
            "expected at most " + std::to_string(limits_.max_attributes) + " entries");
        too_many = true;
        return;
      }
      if (key.empty() || key.size() > kMaxAttributeKeyBytes) {
        add(joinPath("attributes", key),
            "key must be 1.." + std::to_string(kMaxAttributeKeyBytes) + " bytes");
        skip(fv, joinPath("attributes", key), 3);
        return;
      }
      std::string value;
      if (string(fv, joinPath("attributes", key), limits_.max_string, false, value, 3)) {
        out.emplace_back(std::string(key), std::move(value));
      }
    });
    if (!complete) return;
    std::stable_sort(out.begin(), out.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    for (std::size_t i = 1; i < out.size(); ++i) {
      if (out[i].first == out[i - 1].first && (i == 1 || out[i].first != out[i - 2].first)) {
        add(joinPath("attributes", out[i].first), "duplicate field");
      }
    }
  }

  const Limits& limits_;
  od::document& doc_;
  const char* base_;
  std::size_t len_;
  bool repaired_;
  std::vector<FieldError>& errors_;
  bool dead_ = false;
};

// One parse of buf[0, len). Returns false when the document is unbalanced and needs the
// structure scan (simdjson refuses such documents before reading anything).
bool parseOnce(Scratch& s, std::size_t len, const Limits& limits, bool repaired, Envelope& e,
               std::vector<FieldError>& errors, std::string_view original) {
  od::document doc;
  if (const auto ec = s.parser.iterate(s.buf.get(), len, s.cap).get(doc)) {
    std::optional<std::size_t> at;
    if (ec == simdjson::UTF8_ERROR) at = detail::firstInvalidUtf8(original);
    if (ec == simdjson::UNESCAPED_CHARS) at = detail::firstControlInString(original);
    if (ec == simdjson::UNCLOSED_STRING && !repaired) return false;
    std::string m = syntaxMessage(ec);
    if (at) m.append(" at byte ").append(std::to_string(*at));
    errors.push_back({"", std::move(m)});
    return true;
  }
  Walker w(limits, doc, s.buf.get(), len, repaired, errors);
  return w.root(e) == Walker::Outcome::Done;
}

ParseResult parseUnchecked(std::string_view json, const Limits& limits) {
  ParseResult r;
  if (json.size() > limits.max_document_bytes) {
    r.errors.push_back({"", "document is " + std::to_string(json.size()) +
                                " bytes, larger than the limit of " +
                                std::to_string(limits.max_document_bytes)});
    return r;
  }
  Scratch& s = t_scratch;
  Envelope e;
  const std::size_t len = s.load(json);
  if (parseOnce(s, len, limits, false, e, r.errors, json)) {
    if (r.errors.empty()) r.envelope = std::move(e);
    return r;
  }
  // Unbalanced: say precisely how, and for a truncated document still report the field
  // errors of its complete prefix.
  const detail::StructureScan scan = detail::scanStructure(json);
  using Kind = detail::StructureScan::Kind;
  std::string tail;
  switch (scan.kind) {
    case Kind::TrailingContent:
      tail = "unexpected content after the top-level object at byte " + std::to_string(scan.offset);
      break;
    case Kind::Mismatched:
      tail = "mismatched closing bracket at byte " + std::to_string(scan.offset);
      break;
    case Kind::Truncated:
    case Kind::TooDeep:
    case Kind::Balanced:
      tail = "unexpected end of document at byte " + std::to_string(json.size()) +
             " (unclosed string, object or array)";
      break;
  }
  if (scan.kind == Kind::Truncated && scan.prefix_len > 0 && trim(json).front() == '{') {
    Envelope ignored;
    const std::size_t rlen = s.load(json.substr(0, scan.prefix_len), scan.closers);
    parseOnce(s, rlen, limits, true, ignored, r.errors, json.substr(0, scan.prefix_len));
  }
  if (r.errors.empty() || r.errors.back().message.rfind("too many errors", 0) != 0) {
    r.errors.push_back({"", std::move(tail)});
  }
  return r;
}

}  // namespace

ParseResult parseEnvelope(std::string_view json, const Limits& limits) {
  try {
    return parseUnchecked(json, limits);
  } catch (const std::bad_alloc&) {
    ParseResult r;
    r.errors.push_back({"", "out of memory"});
    return r;
  } catch (...) {
    ParseResult r;
    r.errors.push_back({"", "internal error"});
    return r;
  }
}

}  // namespace ca4::envelope
