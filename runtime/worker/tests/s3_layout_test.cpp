#include <ca4/worker/s3_layout.h>

#include <gtest/gtest.h>

namespace ca4::worker {
namespace {

constexpr std::int64_t k20261123T123456 = 1'795'437'296'000'000;  // 2026-11-23T12:34:56Z

TEST(ArchiveKey, RawAndEnrichedByEventDateAndHour) {
  EXPECT_EQ(archiveKey("", ArchiveKind::Raw, k20261123T123456, "evt-1"), "raw/dt=2026-11-23/hour=12/evt-1.json");
  EXPECT_EQ(archiveKey("", ArchiveKind::Enriched, k20261123T123456, "evt-1"),
            "enriched/dt=2026-11-23/hour=12/evt-1.json");
}

TEST(ArchiveKey, PrefixAndZeroPadding) {
  const std::int64_t jan2_0305 = 1'767'312'000'000'000 + 3'600'000'000LL * 3 + 300'000'000;  // 2026-01-02T03:05Z
  EXPECT_EQ(archiveKey("ca4/", ArchiveKind::Raw, jan2_0305, "a.b:c"), "ca4/raw/dt=2026-01-02/hour=03/a.b:c.json");
}

TEST(ArchiveKey, HourBoundariesAndPre1970) {
  EXPECT_EQ(archiveKey("", ArchiveKind::Raw, 0, "x"), "raw/dt=1970-01-01/hour=00/x.json");
  EXPECT_EQ(archiveKey("", ArchiveKind::Raw, 3'600'000'000LL - 1, "x"), "raw/dt=1970-01-01/hour=00/x.json");
  EXPECT_EQ(archiveKey("", ArchiveKind::Raw, 3'600'000'000LL, "x"), "raw/dt=1970-01-01/hour=01/x.json");
  EXPECT_EQ(archiveKey("", ArchiveKind::Raw, -1, "x"), "raw/dt=1969-12-31/hour=23/x.json");
}

TEST(ArchiveKey, SameEventSameKey) {
  EXPECT_EQ(archiveKey("", ArchiveKind::Raw, k20261123T123456, "e"),
            archiveKey("", ArchiveKind::Raw, k20261123T123456 + 59'000'000, "e"));
}

}  // namespace
}  // namespace ca4::worker
