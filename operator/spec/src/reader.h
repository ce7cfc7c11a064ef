// Internal: typed reads from yaml-cpp nodes. Every read reports its own problems into the Context
// (wrong type, out of range, bad reference) and leaves the output untouched on error, so the
// default stays and decoding goes on: all problems are reported at once. Never throws.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "context.h"

namespace ca4::spec::detail {

// "a map", "a list", "the string \"x\"" … for "expected X, got Y" messages. Never used on secrets.
std::string describe(const YAML::Node& n);

// Closest candidate within a small edit distance ("" if none): the did-you-mean for typos.
std::string closest(std::string_view word, const std::vector<std::string>& candidates);

// Inclusive integer bounds, with the text used in messages ("1..64").
struct IntRange {
  long long lo;
  long long hi;
};
// Inclusive duration bounds in milliseconds, with human text ("1s..5m").
struct DurationRange {
  std::chrono::milliseconds lo;
  std::chrono::milliseconds hi;
  std::string_view text;
};

template <class E>
using Choices = std::span<const std::pair<std::string_view, E>>;

// Value readers: `n` is a defined, non-null node at `path`.
bool readString(Context& ctx, const YAML::Node& n, const std::string& path, std::string& out);
void readBool(Context& ctx, const YAML::Node& n, const std::string& path, bool& out);
// On success stores into `out` only if the value lies in `r`.
bool readInt(Context& ctx, const YAML::Node& n, const std::string& path, IntRange r,
             long long& out);
void readPositive(Context& ctx, const YAML::Node& n, const std::string& path, double& out);
void readSecret(Context& ctx, const YAML::Node& n, const std::string& path, Secret& out);
bool readDuration(Context& ctx, const YAML::Node& n, const std::string& path, DurationRange r,
                  std::chrono::milliseconds& out);
// Returns the index into `names` or -1 (after reporting).
int readChoice(Context& ctx, const YAML::Node& n, const std::string& path,
               const std::vector<std::string>& names);

// Reads one YAML mapping against the keys its caller asks for. Each accessor registers its key as
// known; finish() reports every key never asked for, at the key's position, with a did-you-mean.
// A null node is an empty map; any other non-map is one type error and every read is skipped.
class MapReader {
 public:
  MapReader(Context& ctx, const YAML::Node& node, std::string path);
  MapReader(const MapReader&) = delete;
  MapReader& operator=(const MapReader&) = delete;

  Context& ctx() { return ctx_; }
  std::string pathOf(std::string_view key) const;
  // The value for `key`; !present() when absent or null (null means "use the default").
  YAML::Node take(std::string_view key);
  // The key's own position, {0,0} when absent.
  Mark keyMark(std::string_view key) const;

  void str(std::string_view key, std::string& out);
  void boolean(std::string_view key, bool& out);
  void positive(std::string_view key, double& out);
  void secret(std::string_view key, Secret& out);
  void strList(std::string_view key, std::vector<std::string>& out);
  void strMap(std::string_view key, std::map<std::string, std::string>& out);
  void secretMap(std::string_view key, std::map<std::string, Secret>& out);

  template <class T>
  void integer(std::string_view key, T& out, IntRange r) {
    const auto n = take(key);
    long long v = 0;
    if (present(n) && readInt(ctx_, n, pathOf(key), r, v)) out = static_cast<T>(v);
  }
  template <class Rep, class Period>
  void duration(std::string_view key, std::chrono::duration<Rep, Period>& out, DurationRange r) {
    const auto n = take(key);
    std::chrono::milliseconds v{};
    if (!present(n) || !readDuration(ctx_, n, pathOf(key), r, v)) return;
    const auto d = std::chrono::duration_cast<std::chrono::duration<Rep, Period>>(v);
    if (std::chrono::duration_cast<std::chrono::milliseconds>(d) != v) {
      ctx_.error(n, pathOf(key), "must be a whole number of seconds, got " + n.Scalar(),
                 "use a duration like 5s or 1m");
      return;
    }
    out = d;
  }
  template <class E>
  void choice(std::string_view key, E& out, Choices<E> choices) {
    const auto n = take(key);
    if (!present(n)) return;
    std::vector<std::string> names;
    for (const auto& c : choices) names.emplace_back(c.first);
    const int i = readChoice(ctx_, n, pathOf(key), names);
    if (i >= 0) out = choices[static_cast<std::size_t>(i)].second;
  }

  // Reports unknown keys; call once, after every take().
  void finish();

 private:
  struct Entry {
    std::string key;
    YAML::Node key_node;
    YAML::Node value;
  };
  Context& ctx_;
  std::string path_;
  bool is_map_ = false;
  std::vector<Entry> entries_;
  std::vector<std::string> known_;
};

// Calls `each(node, itemPath)` for every item of the list at `n` (null = empty list); a non-list
// is one type error.
template <class F>
void forEachItem(Context& ctx, const YAML::Node& n, const std::string& path, F&& each) {
  if (!present(n)) return;
  if (!n.IsSequence()) {
    ctx.error(n, path, "expected a list, got " + describe(n), "write a YAML list: [a, b] or - a");
    return;
  }
  std::size_t i = 0;
  for (const auto& item : n) {
    const auto p = path + "[" + std::to_string(i++) + "]";
    if (!item.IsNull()) ctx.positions().record(p, markOf(item), markOf(item));
    each(item, p);
  }
}

}  // namespace ca4::spec::detail
