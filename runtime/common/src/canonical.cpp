// toCanonicalJson: the one serialization of an Envelope. Key order is fixed (the order of
// SCHEMA.md), absent optionals are omitted, floats are std::to_chars shortest round-trip.
#include <array>
#include <charconv>
#include <cmath>
#include <cstring>
#include <type_traits>

#include "ca4/common/envelope.h"

namespace ca4::envelope {
namespace {

// 1 for bytes that need escaping inside a JSON string.
constexpr std::array<bool, 256> kNeedsEscape = [] {
  std::array<bool, 256> t{};
  for (int c = 0; c < 0x20; ++c) t[static_cast<std::size_t>(c)] = true;
  t['"'] = true;
  t['\\'] = true;
  return t;
}();

class Writer {
 public:
  explicit Writer(std::size_t reserve) { out_.reserve(reserve); }

  void raw(std::string_view s) { out_.append(s); }
  void ch(char c) { out_.push_back(c); }

  void str(std::string_view s) {
    out_.push_back('"');
    std::size_t start = 0;
    for (std::size_t i = 0; i < s.size(); ++i) {
      const auto c = static_cast<unsigned char>(s[i]);
      if (!kNeedsEscape[c]) continue;
      out_.append(s.data() + start, i - start);
      start = i + 1;
      switch (c) {
        case '"':
          out_.append("\\\"");
          break;
        case '\\':
          out_.append("\\\\");
          break;
        case '\n':
          out_.append("\\n");
          break;
        case '\r':
          out_.append("\\r");
          break;
        case '\t':
          out_.append("\\t");
          break;
        case '\b':
          out_.append("\\b");
          break;
        case '\f':
          out_.append("\\f");
          break;
        default: {
          constexpr std::string_view kHex = "0123456789abcdef";
          const char esc[6] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 0xf]};
          out_.append(esc, sizeof esc);
        }
      }
    }
    out_.append(s.data() + start, s.size() - start);
    out_.push_back('"');
  }

  // `"key":` preceded by a comma unless first in its object.
  void key(std::string_view k, bool& first) {
    if (!first) out_.push_back(',');
    first = false;
    str(k);
    out_.push_back(':');
  }
  void member(std::string_view k, std::string_view v, bool& first) {
    key(k, first);
    str(v);
  }
  void optMember(std::string_view k, std::string_view v, bool& first) {
    if (!v.empty()) member(k, v, first);
  }
  template <class Int>
  void intMember(std::string_view k, Int v, bool& first) {
    key(k, first);
    num(v);
  }
  template <class Num>
  void optNumMember(std::string_view k, const std::optional<Num>& v, bool& first) {
    if (v) {
      key(k, first);
      num(*v);
    }
  }

  template <class Num>
  void num(Num v) {
    if constexpr (std::is_floating_point_v<Num>) {
      if (!std::isfinite(v)) {  // never in a parsed Envelope; null keeps the output JSON
        out_.append("null");
        return;
      }
    }
    char buf[32];
    const auto r = std::to_chars(buf, buf + sizeof buf, v);
    out_.append(buf, r.ptr);
  }

  // `[a,b,...]` written straight into the buffer: the hot part of a 2048-float envelope.
  void floats(const std::vector<float>& v) {
    constexpr std::size_t kMaxFloatChars = 16;  // "-1.17549435e-38" is 15
    std::size_t pos = out_.size();
    out_.resize(pos + 2 + v.size() * (kMaxFloatChars + 1));
    char* p = out_.data() + pos;
    char* const end = out_.data() + out_.size();
    *p++ = '[';
    for (std::size_t i = 0; i < v.size(); ++i) {
      if (i != 0) *p++ = ',';
      if (std::isfinite(v[i])) {
        p = std::to_chars(p, end, v[i]).ptr;
      } else {
        std::memcpy(p, "null", 4);
        p += 4;
      }
    }
    *p++ = ']';
    out_.resize(static_cast<std::size_t>(p - out_.data()));
  }

  std::string take() { return std::move(out_); }

 private:
  std::string out_;
};

}  // namespace

std::string_view toString(ItemKind k) {
  switch (k) {
    case ItemKind::Image:
      return "image";
    case ItemKind::Video:
      return "video";
    case ItemKind::Audio:
      return "audio";
    case ItemKind::Text:
      return "text";
    case ItemKind::Tabular:
      return "tabular";
    case ItemKind::Other:
      return "other";
  }
  return "other";
}

std::string_view toString(DeviceType t) {
  switch (t) {
    case DeviceType::Gpu:
      return "gpu";
    case DeviceType::Tpu:
      return "tpu";
    case DeviceType::Cpu:
      return "cpu";
  }
  return "cpu";
}

std::string toCanonicalJson(const Envelope& e) {
  std::size_t estimate = 640 + e.item.uri.size() + 16 * e.extraction.embedding.size();
  for (const auto& [k, v] : e.attributes) estimate += k.size() + v.size() + 6;
  Writer w(estimate);
  bool top = true;
  w.ch('{');
  w.member("schema_version", e.schema_version, top);
  w.member("event_id", e.event_id, top);
  w.member("produced_at", formatRfc3339(e.produced_at_us), top);

  w.key("source", top);
  {
    bool f = true;
    w.ch('{');
    w.member("producer", e.source.producer, f);
    w.optMember("producer_version", e.source.producer_version, f);
    w.optMember("host", e.source.host, f);
    w.optMember("run_id", e.source.run_id, f);
    w.ch('}');
  }

  w.key("item", top);
  {
    bool f = true;
    w.ch('{');
    w.member("uri", e.item.uri, f);
    w.member("sha256", e.item.sha256, f);
    w.member("kind", toString(e.item.kind), f);
    w.intMember("size_bytes", e.item.size_bytes, f);
    w.optNumMember("width", e.item.width, f);
    w.optNumMember("height", e.item.height, f);
    w.optNumMember("channels", e.item.channels, f);
    w.optMember("mime_type", e.item.mime_type, f);
    w.ch('}');
  }

  w.key("extraction", top);
  {
    bool f = true;
    w.ch('{');
    w.key("model", f);
    {
      bool m = true;
      w.ch('{');
      w.member("name", e.extraction.model.name, m);
      w.optMember("version", e.extraction.model.version, m);
      w.ch('}');
    }
    w.key("embedding", f);
    w.floats(e.extraction.embedding);
    w.key("device", f);
    {
      bool d = true;
      const Device& dev = e.extraction.device;
      w.ch('{');
      w.member("type", toString(dev.type), d);
      w.member("name", dev.name, d);
      w.optNumMember("memory_mb", dev.memory_mb, d);
      w.optMember("driver", dev.driver, d);
      w.ch('}');
    }
    w.ch('}');
  }

  const Timings& t = e.timings;
  if (t.preprocess_ms || t.inference_ms || t.total_ms) {
    w.key("timings", top);
    bool f = true;
    w.ch('{');
    w.optNumMember("preprocess_ms", t.preprocess_ms, f);
    w.optNumMember("inference_ms", t.inference_ms, f);
    w.optNumMember("total_ms", t.total_ms, f);
    w.ch('}');
  }

  if (!e.attributes.empty()) {
    w.key("attributes", top);
    bool f = true;
    w.ch('{');
    for (const auto& [k, v] : e.attributes) w.member(k, v, f);
    w.ch('}');
  }
  w.ch('}');
  return w.take();
}

}  // namespace ca4::envelope
