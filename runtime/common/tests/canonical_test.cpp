// toCanonicalJson: exact bytes, and the round-trip / fixed-point property.
#include <bit>
#include <cmath>
#include <cstring>
#include <string>

#include "test_util.h"

namespace ca4::envelope {
namespace {

Envelope minimal() {
  Envelope e;
  e.event_id = "evt-1";
  e.source.producer = "p";
  e.item.uri = "s3://b/k";
  e.item.sha256 = std::string(64, 'a');
  e.item.kind = ItemKind::Image;
  e.item.size_bytes = 10;
  e.extraction.model.name = "resnet50";
  e.extraction.embedding = {0.5f, -1.25f, 0.1f, 1e-7f, 3.4028235e38f};
  e.extraction.device.type = DeviceType::Tpu;
  e.extraction.device.name = "v5e";
  e.produced_at_us = 1'763'899'200'000'001;  // 2025-11-23T12:00:00.000001Z
  return e;
}

TEST(Canonical, ExactBytesWithAbsentOptionalsOmitted) {
  EXPECT_EQ(
      toCanonicalJson(minimal()),
      R"({"schema_version":"ca4.metadata/v1","event_id":"evt-1","produced_at":"2025-11-23T12:00:00.000001Z",)"
      R"("source":{"producer":"p"},"item":{"uri":"s3://b/k","sha256":")" +
          std::string(64, 'a') +
          R"(","kind":"image","size_bytes":10},"extraction":{"model":{"name":"resnet50"},)"
          R"("embedding":[0.5,-1.25,0.1,1e-07,3.4028235e+38],"device":{"type":"tpu","name":"v5e"}}})");
}

TEST(Canonical, AllOptionalsInFixedOrder) {
  Envelope e = minimal();
  e.source.producer_version = "1";
  e.source.host = "h";
  e.source.run_id = "r";
  e.item.width = 2;
  e.item.height = 3;
  e.item.channels = 1;
  e.item.mime_type = "image/png";
  e.extraction.model.version = "v2";
  e.extraction.embedding = {1.0f};
  e.extraction.device.memory_mb = 16384;
  e.extraction.device.driver = "535";
  e.timings.total_ms = 12.5;
  e.timings.preprocess_ms = 0.25;
  e.attributes = {{"a", "1"}, {"b", "2"}};
  EXPECT_EQ(
      toCanonicalJson(e),
      R"({"schema_version":"ca4.metadata/v1","event_id":"evt-1","produced_at":"2025-11-23T12:00:00.000001Z",)"
      R"("source":{"producer":"p","producer_version":"1","host":"h","run_id":"r"},)"
      R"("item":{"uri":"s3://b/k","sha256":")" +
          std::string(64, 'a') +
          R"(","kind":"image","size_bytes":10,"width":2,"height":3,"channels":1,"mime_type":"image/png"},)"
          R"("extraction":{"model":{"name":"resnet50","version":"v2"},"embedding":[1],)"
          R"("device":{"type":"tpu","name":"v5e","memory_mb":16384,"driver":"535"}},)"
          R"("timings":{"preprocess_ms":0.25,"total_ms":12.5},"attributes":{"a":"1","b":"2"}})");
}

TEST(Canonical, EscapesStrings) {
  Envelope e = minimal();
  e.source.host = std::string("q\"b\\n\nt\tr\rb\bf\f\x01\x1f") + '\0' + "é€😀</";
  const std::string c = toCanonicalJson(e);
  EXPECT_NE(c.find(R"("host":"q\"b\\n\nt\tr\rb\bf\f\u0001\u001f\u0000é€😀</")"), std::string::npos)
      << c;
  const ParseResult r = parseEnvelope(c);
  ASSERT_TRUE(r.ok()) << ::testing::PrintToString(r.errors);
  EXPECT_EQ(r.envelope->source.host, e.source.host);
}

TEST(Canonical, EnumNames) {
  EXPECT_EQ(toString(ItemKind::Image), "image");
  EXPECT_EQ(toString(ItemKind::Video), "video");
  EXPECT_EQ(toString(ItemKind::Audio), "audio");
  EXPECT_EQ(toString(ItemKind::Text), "text");
  EXPECT_EQ(toString(ItemKind::Tabular), "tabular");
  EXPECT_EQ(toString(ItemKind::Other), "other");
  EXPECT_EQ(toString(DeviceType::Gpu), "gpu");
  EXPECT_EQ(toString(DeviceType::Tpu), "tpu");
  EXPECT_EQ(toString(DeviceType::Cpu), "cpu");
}

TEST(Canonical, NormalizedSampleIsAFixedPoint) {
  testing::SampleOptions o;
  o.kind = "IMAGE";
  o.device_type = " Gpu ";
  o.produced_at = "2026-11-23T13:00:00.5+01:00";
  const std::string raw = testing::sampleEnvelopeJson("evt-7", o);
  const ParseResult first = parseEnvelope(raw);
  ASSERT_TRUE(first.ok()) << ::testing::PrintToString(first.errors);
  const std::string c1 = toCanonicalJson(*first.envelope);
  EXPECT_NE(c1.find(R"("produced_at":"2026-11-23T12:00:00.500000Z")"), std::string::npos);
  EXPECT_NE(c1.find(R"("kind":"image")"), std::string::npos);
  EXPECT_NE(c1.find(R"("device":{"type":"gpu")"), std::string::npos);
  const ParseResult second = parseEnvelope(c1);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(*second.envelope, *first.envelope);
  EXPECT_EQ(toCanonicalJson(*second.envelope), c1);
}

// Generated envelopes: random strings (escapes, controls, multi-byte UTF-8), random finite floats
// across the whole float range, random optionals.
class Generator {
 public:
  explicit Generator(std::uint64_t seed) : rng_{seed} {}

  Envelope envelope() {
    Envelope e;
    e.event_id = id();
    e.source.producer = text(true);
    e.source.producer_version = maybe() ? text(true) : "";
    e.source.host = maybe() ? text(true) : "";
    e.source.run_id = maybe() ? text(true) : "";
    e.item.uri = text(true);
    e.item.sha256 = testing::sampleSha256(e.event_id);
    e.item.kind = static_cast<ItemKind>(rng_.next() % 6);
    e.item.size_bytes = static_cast<std::int64_t>(rng_.next() >> 1);
    if (maybe()) e.item.width = static_cast<std::int32_t>(rng_.next() % 0x7fffffff) + 1;
    if (maybe()) e.item.height = static_cast<std::int32_t>(rng_.next() % 100000) + 1;
    if (maybe()) e.item.channels = 3;
    e.item.mime_type = maybe() ? text(true) : "";
    e.extraction.model.name = text(true);
    e.extraction.model.version = maybe() ? text(true) : "";
    const std::size_t n = 1 + rng_.next() % 4096;
    e.extraction.embedding.reserve(n);
    for (std::size_t i = 0; i < n; ++i) e.extraction.embedding.push_back(anyFloat());
    e.extraction.device.type = static_cast<DeviceType>(rng_.next() % 3);
    e.extraction.device.name = text(true);
    if (maybe()) e.extraction.device.memory_mb = static_cast<std::int64_t>(rng_.next() >> 2) + 1;
    e.extraction.device.driver = maybe() ? text(true) : "";
    if (maybe()) e.timings.preprocess_ms = std::fabs(anyDouble());
    if (maybe()) e.timings.inference_ms = static_cast<double>(rng_.next() % 100000) / 1000;
    if (maybe()) e.timings.total_ms = 0.0;
    const std::size_t attrs = rng_.next() % 33;
    for (std::size_t i = 0; i < attrs; ++i)
      e.attributes.emplace_back("k" + std::to_string(i) + text(false), text(false));
    std::sort(e.attributes.begin(), e.attributes.end());
    e.produced_at_us = static_cast<std::int64_t>(rng_.next() % 253'402'300'800'000'000ULL) -
                       62'167'219'200'000'000LL;
    return e;
  }

 private:
  bool maybe() { return rng_.next() % 2 == 0; }
  std::string id() {
    constexpr std::string_view kChars = "abcXYZ019._:-";
    std::string s;
    const std::size_t n = 1 + rng_.next() % 128;
    for (std::size_t i = 0; i < n; ++i) s.push_back(kChars[rng_.next() % kChars.size()]);
    return s;
  }
  // Never starts or ends with whitespace (the parser trims); non-empty if `nonempty`.
  std::string text(bool nonempty) {
    static const std::string_view kPieces[] = {
        "a", "Z", "9", "\"", "\\", "/", "\n", "\t", " ", "\x01", std::string_view("\0", 1),
        "é", "€", "😀", "{",  "]"};
    std::string body;
    const std::size_t n = rng_.next() % 40;
    for (std::size_t i = 0; i < n; ++i) body.append(kPieces[rng_.next() % std::size(kPieces)]);
    return nonempty || !body.empty() ? "x" + body + "y" : body;
  }
  float anyFloat() {
    for (;;) {
      const auto f = std::bit_cast<float>(static_cast<std::uint32_t>(rng_.next()));
      if (std::isfinite(f)) return f;
    }
  }
  double anyDouble() {
    for (;;) {
      const auto d = std::bit_cast<double>(rng_.next());
      if (std::isfinite(d)) return d;
    }
  }
  testing::detail::Rng rng_;
};

TEST(Canonical, RoundTripPropertyOnGeneratedEnvelopes) {
  Generator gen(42);
  std::size_t floats = 0;
  for (int i = 0; i < 200; ++i) {
    const Envelope e = gen.envelope();
    floats += e.extraction.embedding.size();
    const std::string c = toCanonicalJson(e);
    const ParseResult r = parseEnvelope(c);
    ASSERT_TRUE(r.ok()) << i << " " << ::testing::PrintToString(r.errors);
    // Bitwise float equality: operator== would hide a -0/0 flip.
    ASSERT_EQ(r.envelope->extraction.embedding.size(), e.extraction.embedding.size());
    ASSERT_EQ(std::memcmp(r.envelope->extraction.embedding.data(), e.extraction.embedding.data(),
                          e.extraction.embedding.size() * sizeof(float)),
              0)
        << i;
    ASSERT_EQ(*r.envelope, e) << i;
    ASSERT_EQ(toCanonicalJson(*r.envelope), c) << i;
  }
  EXPECT_GT(floats, 300'000u);
}

}  // namespace
}  // namespace ca4::envelope
