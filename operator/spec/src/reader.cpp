#include "reader.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>

#include "env.h"
#include "names.h"

namespace ca4::spec::detail {
namespace {

constexpr std::size_t kMaxShown = 40;  // longest value quoted back in a message

std::string quoted(const std::string& s) {
  if (s.size() <= kMaxShown) return "\"" + s + "\"";
  return "\"" + s.substr(0, kMaxShown) + "…\"";
}

// Plain (unquoted) scalars may be numbers or booleans; quoted ones are always strings.
bool isQuoted(const YAML::Node& n) { return n.Tag() == "!"; }

bool requireScalar(Context& ctx, const YAML::Node& n, const std::string& path,
                   std::string_view expected, std::string_view fix) {
  if (n.IsScalar() && !isQuoted(n)) return true;
  ctx.error(n, path, "expected " + std::string(expected) + ", got " + describe(n),
            std::string(fix));
  return false;
}

std::string lower(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    out += c;
  }
  return out;
}

std::string normalized(std::string_view s) {
  std::string out;
  for (char c : lower(s)) {
    if (c != '_' && c != '-') out += c;
  }
  return out;
}

std::size_t editDistance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t sub = prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, sub});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

// "apiKey" → "CA4_API_KEY", "db_password" → "CA4_DB_PASSWORD": the variable name a fix suggests.
std::string suggestedEnvName(const std::string& path) {
  const auto dot = path.find_last_of('.');
  const std::string leaf = dot == std::string::npos ? path : path.substr(dot + 1);
  std::string out = "CA4_";
  for (std::size_t i = 0; i < leaf.size(); ++i) {
    const char c = leaf[i];
    if (c >= 'A' && c <= 'Z' && i > 0) out += '_';
    if (c >= 'a' && c <= 'z') {
      out += static_cast<char>(c - 'a' + 'A');
    } else if ((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_') {
      out += c;
    } else {
      out += '_';
    }
  }
  return out;
}

std::string joined(const std::vector<std::string>& v, std::string_view sep) {
  std::string out;
  for (const auto& s : v) {
    if (!out.empty()) out += sep;
    out += s;
  }
  return out;
}

}  // namespace

std::string describe(const YAML::Node& n) {
  if (!n.IsDefined() || n.IsNull()) return "nothing (null)";
  if (n.IsMap()) return "a map";
  if (n.IsSequence()) return "a list";
  if (isQuoted(n)) return "the string " + quoted(n.Scalar());
  return quoted(n.Scalar());
}

std::string closest(std::string_view word, const std::vector<std::string>& candidates) {
  const auto w = lower(word);
  const std::size_t limit = w.size() < 5 ? 1 : 2;
  std::string best;
  std::size_t best_d = limit + 1;
  for (const auto& c : candidates) {
    if (normalized(c) == normalized(word)) return c;
    const auto d = editDistance(w, lower(c));
    if (d < best_d) {
      best_d = d;
      best = c;
    }
  }
  return best;
}

bool readString(Context& ctx, const YAML::Node& n, const std::string& path, std::string& out) {
  if (!n.IsScalar()) {
    ctx.error(n, path, "expected a string, got " + describe(n), "write a single value");
    return false;
  }
  auto r = interpolate(n.Scalar(), ctx.env());
  for (const auto& name : r.unset) {
    ctx.error(n, path, "environment variable " + name + " is not set",
              "export " + name + "=… (or write $${ for a literal ${)");
  }
  if (r.malformed) {
    ctx.error(n, path, "malformed ${…} reference",
              "write ${NAME} with NAME = [A-Za-z_][A-Za-z0-9_]*, or $${ for a literal ${");
  }
  if (!r.unset.empty() || r.malformed) return false;
  if (invalidUtf8At(r.value) != std::string::npos) {
    ctx.error(n, path, "the value from the environment is not valid UTF-8", "export a UTF-8 value");
    return false;
  }
  out = std::move(r.value);
  return true;
}

void readBool(Context& ctx, const YAML::Node& n, const std::string& path, bool& out) {
  if (!requireScalar(ctx, n, path, "a boolean (true or false)", "write true or false")) return;
  bool v = false;
  if (!YAML::convert<bool>::decode(n, v)) {
    ctx.error(n, path, "expected a boolean (true or false), got " + describe(n),
              "write true or false");
    return;
  }
  out = v;
}

bool readInt(Context& ctx, const YAML::Node& n, const std::string& path, IntRange r,
             long long& out) {
  const auto range = std::to_string(r.lo) + ".." + std::to_string(r.hi);
  if (!requireScalar(ctx, n, path, "an integer", "write a whole number in " + range)) return false;
  const std::string& s = n.Scalar();
  long long v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  const bool all = end == s.data() + s.size();
  if (ec == std::errc::invalid_argument || !all) {
    ctx.error(n, path, "expected an integer, got " + describe(n),
              "write a whole number in " + range);
    return false;
  }
  if (ec == std::errc::result_out_of_range || v < r.lo || v > r.hi) {
    ctx.error(n, path, "must be " + range + ", got " + s, "set " + range);
    return false;
  }
  out = v;
  return true;
}

void readPositive(Context& ctx, const YAML::Node& n, const std::string& path, double& out) {
  if (!requireScalar(ctx, n, path, "a number", "write a positive number, e.g. 100")) return;
  double v = 0;
  if (!YAML::convert<double>::decode(n, v)) {
    ctx.error(n, path, "expected a number, got " + describe(n),
              "write a positive number, e.g. 100");
    return;
  }
  if (!std::isfinite(v) || v <= 0) {
    ctx.error(n, path, "must be > 0, got " + n.Scalar(), "set a positive number, e.g. 100");
    return;
  }
  out = v;
}

// The literal text of a secret field never reaches a message: only its path and the fix.
void readSecret(Context& ctx, const YAML::Node& n, const std::string& path, Secret& out) {
  const auto fix = "export it and write \"${" + suggestedEnvName(path) + "}\"";
  if (!n.IsScalar()) {
    const char* got = n.IsMap() ? "a map" : "a list";
    ctx.error(n, path, std::string("expected a ${NAME} reference, got ") + got, fix);
    return;
  }
  if (n.Scalar().empty()) return;  // "" = not configured
  const auto name = wholeRef(n.Scalar());
  if (!name) {
    ctx.error(n, path, "secret values must not be written in ca4.yaml", fix);
    return;
  }
  const auto v = ctx.env() ? ctx.env()(*name) : std::nullopt;
  out = Secret(*name, v.value_or(""));
}

bool readDuration(Context& ctx, const YAML::Node& n, const std::string& path, DurationRange r,
                  std::chrono::milliseconds& out) {
  static constexpr std::string_view kFix = "write a duration like 200ms, 5s, 1m or 2h";
  if (!requireScalar(ctx, n, path, "a duration", kFix)) return false;
  const std::string& s = n.Scalar();
  long long v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  const std::string_view unit(end, static_cast<std::size_t>(s.data() + s.size() - end));
  static constexpr std::pair<std::string_view, long long> kUnits[] = {
      {"ms", 1}, {"s", 1000}, {"m", 60'000}, {"h", 3'600'000}};
  long long scale = 0;
  for (const auto& [u, k] : kUnits) {
    if (unit == u) scale = k;
  }
  const bool digits_only = s.find_first_not_of("0123456789") == s.size() - unit.size();
  if (ec != std::errc{} || scale == 0 || !digits_only || end == s.data() ||
      v > std::numeric_limits<long long>::max() / scale) {
    ctx.error(n, path, "expected a duration (<int>ms|s|m|h), got " + describe(n),
              std::string(kFix));
    return false;
  }
  const std::chrono::milliseconds d{v * scale};
  if (d <= std::chrono::milliseconds::zero() || d < r.lo || d > r.hi) {
    ctx.error(n, path, "must be " + std::string(r.text) + ", got " + s,
              "set " + std::string(r.text));
    return false;
  }
  out = d;
  return true;
}

int readChoice(Context& ctx, const YAML::Node& n, const std::string& path,
               const std::vector<std::string>& names) {
  std::string s;
  if (!readString(ctx, n, path, s)) return -1;
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (names[i] == s) return static_cast<int>(i);
  }
  std::string msg = "must be one of " + joined(names, "|") + ", got " + quoted(s);
  if (const auto c = closest(s, names); !c.empty()) msg += "; did you mean `" + c + "`?";
  ctx.error(n, path, msg, "set one of: " + joined(names, ", "));
  return -1;
}

// --- MapReader -----------------------------------------------------------------------------

MapReader::MapReader(Context& ctx, const YAML::Node& node, std::string path)
    : ctx_(ctx), path_(std::move(path)) {
  if (!present(node)) return;
  if (!node.IsMap()) {
    ctx_.error(node, path_, "expected a map, got " + describe(node), "write `key: value` pairs");
    return;
  }
  is_map_ = true;
  for (const auto& kv : node) {
    if (!kv.first.IsScalar()) {
      ctx_.error(kv.first, path_, "keys must be plain strings, got " + describe(kv.first),
                 "use a plain key");
      continue;
    }
    const std::string key = kv.first.Scalar();
    const bool dup =
        std::any_of(entries_.begin(), entries_.end(), [&](const Entry& e) { return e.key == key; });
    if (dup) {
      ctx_.error(kv.first, pathOf(key), "duplicate key", "keep one `" + key + "`");
      continue;
    }
    entries_.push_back(Entry{key, kv.first, kv.second});
  }
}

std::string MapReader::pathOf(std::string_view key) const {
  return path_.empty() ? std::string(key) : path_ + "." + std::string(key);
}

YAML::Node MapReader::take(std::string_view key) {
  known_.emplace_back(key);
  for (const auto& e : entries_) {
    if (e.key != key) continue;
    if (!present(e.value)) return YAML::Node();
    ctx_.positions().record(pathOf(key), markOf(e.key_node), markOf(e.value));
    return e.value;
  }
  return YAML::Node();
}

Mark MapReader::keyMark(std::string_view key) const {
  for (const auto& e : entries_) {
    if (e.key == key) return markOf(e.key_node);
  }
  return {};
}

void MapReader::str(std::string_view key, std::string& out) {
  const auto n = take(key);
  if (present(n)) readString(ctx_, n, pathOf(key), out);
}

void MapReader::boolean(std::string_view key, bool& out) {
  const auto n = take(key);
  if (present(n)) readBool(ctx_, n, pathOf(key), out);
}

void MapReader::positive(std::string_view key, double& out) {
  const auto n = take(key);
  if (present(n)) readPositive(ctx_, n, pathOf(key), out);
}

void MapReader::secret(std::string_view key, Secret& out) {
  const auto n = take(key);
  if (present(n)) readSecret(ctx_, n, pathOf(key), out);
}

void MapReader::strList(std::string_view key, std::vector<std::string>& out) {
  const auto n = take(key);
  if (!present(n)) return;
  // All or nothing, so that item i of `out` is item i of the file (validate reports by index).
  std::vector<std::string> items;
  bool ok = true;
  forEachItem(ctx_, n, pathOf(key), [&](const YAML::Node& item, const std::string& p) {
    std::string s;
    if (!present(item)) {
      ctx_.error(item, p, "expected a string, got nothing (null)", "remove the empty item");
      ok = false;
    } else if (readString(ctx_, item, p, s)) {
      items.push_back(std::move(s));
    } else {
      ok = false;
    }
  });
  if (ok) out = std::move(items);
}

namespace {

// Free-form maps (labels, vars, secretVars): any key, values read by `read`.
template <class V, class Read>
void readFreeMap(MapReader& r, std::string_view key, std::map<std::string, V>& out, Read read) {
  const auto n = r.take(key);
  if (!present(n)) return;
  const auto path = r.pathOf(key);
  MapReader inner(r.ctx(), n, path);
  std::map<std::string, V> result;
  for (const auto& kv : n.IsMap() ? n : YAML::Node()) {
    if (!kv.first.IsScalar()) continue;  // reported by MapReader
    const std::string name = kv.first.Scalar();
    const auto value = inner.take(name);
    V v{};
    if (present(value) && read(r.ctx(), value, inner.pathOf(name), v)) result[name] = v;
  }
  inner.finish();
  out = std::move(result);
}

}  // namespace

void MapReader::strMap(std::string_view key, std::map<std::string, std::string>& out) {
  readFreeMap(*this, key, out,
              [](Context& c, const YAML::Node& n, const std::string& p, std::string& v) {
                return readString(c, n, p, v);
              });
}

void MapReader::secretMap(std::string_view key, std::map<std::string, Secret>& out) {
  readFreeMap(*this, key, out,
              [](Context& c, const YAML::Node& n, const std::string& p, Secret& v) {
                Secret s;
                readSecret(c, n, p, s);
                v = s;
                return !s.ref().empty();
              });
}

void MapReader::finish() {
  if (!is_map_) return;
  for (const auto& e : entries_) {
    if (std::find(known_.begin(), known_.end(), e.key) != known_.end()) continue;
    std::string msg = "unknown key " + quoted(e.key);
    std::string fix = "remove it; known keys here: " + joined(known_, ", ");
    if (const auto c = closest(e.key, known_); !c.empty()) {
      msg += "; did you mean `" + c + "`?";
      fix = "rename it to " + c;
    }
    ctx_.error(e.key_node, pathOf(e.key), msg, fix);
  }
}

}  // namespace ca4::spec::detail
