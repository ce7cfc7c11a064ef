#include <gtest/gtest.h>

#include <optional>

#include "ca4/common/envelope.h"
#include "ca4/common/testing/sample_envelope.h"

namespace ca4::envelope {
namespace {

constexpr std::int64_t kUs = 1'000'000;

TEST(Rfc3339, Epoch) {
  EXPECT_EQ(parseRfc3339("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(formatRfc3339(0), "1970-01-01T00:00:00.000000Z");
}

TEST(Rfc3339, KnownInstant) {
  EXPECT_EQ(parseRfc3339("2026-11-23T12:00:00Z"), 1'795'435'200 * kUs);
  EXPECT_EQ(formatRfc3339(1'795'435'200 * kUs + 7), "2026-11-23T12:00:00.000007Z");
}

TEST(Rfc3339, OffsetsAreConvertedToUtc) {
  const auto utc = parseRfc3339("2026-11-23T12:00:00Z");
  EXPECT_EQ(parseRfc3339("2026-11-23T17:30:00+05:30"), utc);
  EXPECT_EQ(parseRfc3339("2026-11-23T07:00:00-05:00"), utc);
  EXPECT_EQ(parseRfc3339("2026-11-24T00:00:00+12:00"), utc);
  EXPECT_EQ(parseRfc3339("2026-11-23T12:00:00+00:00"), utc);
  EXPECT_EQ(parseRfc3339("2026-11-23T12:00:00-00:00"), utc);
  EXPECT_EQ(parseRfc3339("2026-11-23t12:00:00z"), utc);  // lower-case T and Z are allowed
  // Crossing a year boundary through the offset.
  EXPECT_EQ(formatRfc3339(*parseRfc3339("2026-01-01T01:00:00+02:00")),
            "2025-12-31T23:00:00.000000Z");
}

TEST(Rfc3339, FractionsAreTruncatedToMicroseconds) {
  const std::int64_t base = *parseRfc3339("2026-11-23T12:00:00Z");
  EXPECT_EQ(parseRfc3339("2026-11-23T12:00:00.5Z"), base + 500'000);
  EXPECT_EQ(parseRfc3339("2026-11-23T12:00:00.123Z"), base + 123'000);
  EXPECT_EQ(parseRfc3339("2026-11-23T12:00:00.123456Z"), base + 123'456);
  EXPECT_EQ(parseRfc3339("2026-11-23T12:00:00.1234569Z"), base + 123'456);
  EXPECT_EQ(parseRfc3339("2026-11-23T12:00:00.999999999Z"), base + 999'999);
  EXPECT_EQ(parseRfc3339("2026-11-23T12:00:00.9999999999Z"), std::nullopt);  // 10 digits
  EXPECT_EQ(parseRfc3339("2026-11-23T12:00:00.Z"), std::nullopt);
}

TEST(Rfc3339, LeapYears) {
  EXPECT_TRUE(parseRfc3339("2024-02-29T00:00:00Z"));
  EXPECT_TRUE(parseRfc3339("2000-02-29T00:00:00Z"));
  EXPECT_FALSE(parseRfc3339("2023-02-29T00:00:00Z"));
  EXPECT_FALSE(parseRfc3339("1900-02-29T00:00:00Z"));
  EXPECT_EQ(formatRfc3339(*parseRfc3339("2024-02-29T23:59:59.999999Z") + 1),
            "2024-03-01T00:00:00.000000Z");
}

TEST(Rfc3339, RejectsInvalidDatesAndTimes) {
  for (const char* s : {"2026-02-30T00:00:00Z",
                        "2026-04-31T00:00:00Z",
                        "2026-13-01T00:00:00Z",
                        "2026-00-10T00:00:00Z",
                        "2026-01-00T00:00:00Z",
                        "2026-01-01T24:00:00Z",
                        "2026-01-01T23:60:00Z",
                        "2026-01-01T23:59:60Z",
                        "2026-01-01T00:00:00",
                        "2026-01-01T00:00:00+24:00",
                        "2026-01-01T00:00:00+05:60",
                        "2026-01-01T00:00:00+0530",
                        "2026-01-01 00:00:00Z",
                        "2026-1-01T00:00:00Z",
                        "2026-01-01T00:00:00Zjunk",
                        "2026-01-01T00:00:00+05:30x",
                        "",
                        "2026",
                        "x026-01-01T00:00:00Z",
                        "2026-01-01T00:00:00UTC",
                        "+2026-01-01T00:00:00Z"}) {
    EXPECT_EQ(parseRfc3339(s), std::nullopt) << s;
  }
}

TEST(Rfc3339, BeforeTheEpoch) {
  EXPECT_EQ(parseRfc3339("1969-12-31T23:59:59.5Z"), -500'000);
  EXPECT_EQ(formatRfc3339(-500'000), "1969-12-31T23:59:59.500000Z");
  EXPECT_EQ(formatRfc3339(-1), "1969-12-31T23:59:59.999999Z");
}

TEST(Rfc3339, RangeIsYears0000To9999InUtc) {
  const auto lo = parseRfc3339("0000-01-01T00:00:00Z");
  const auto hi = parseRfc3339("9999-12-31T23:59:59.999999Z");
  ASSERT_TRUE(lo && hi);
  EXPECT_EQ(formatRfc3339(*lo), "0000-01-01T00:00:00.000000Z");
  EXPECT_EQ(formatRfc3339(*hi), "9999-12-31T23:59:59.999999Z");
  EXPECT_FALSE(parseRfc3339("0000-01-01T00:00:00+00:01"));  // would be year -1 in UTC
  EXPECT_FALSE(parseRfc3339("9999-12-31T23:59:59-00:01"));  // would be year 10000 in UTC
}

TEST(Rfc3339, FormatThenParseIsIdentityAcrossTheRange) {
  testing::detail::Rng rng{7};
  const std::int64_t lo = *parseRfc3339("0000-01-01T00:00:00Z");
  const std::int64_t hi = *parseRfc3339("9999-12-31T23:59:59.999999Z");
  for (int i = 0; i < 100'000; ++i) {
    const std::int64_t t =
        lo + static_cast<std::int64_t>(rng.next() % static_cast<std::uint64_t>(hi - lo + 1));
    const std::string s = formatRfc3339(t);
    ASSERT_EQ(s.size(), 27u) << s;
    ASSERT_EQ(parseRfc3339(s), t) << s;
  }
}

}  // namespace
}  // namespace ca4::envelope
