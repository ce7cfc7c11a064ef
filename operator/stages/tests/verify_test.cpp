#include <gtest/gtest.h>

#include "ca4/common/envelope.h"
#include "ca4/stages/verify.h"

using namespace ca4::stages;

TEST(VerifyEvent, IsAValidEnvelopeWithA2048FloatEmbedding) {
  auto body = verifyEvent("verify-1700000000-abcd", "2026-11-23T12:00:00Z");
  auto r = ca4::envelope::parseEnvelope(body);
  ASSERT_TRUE(r.ok()) << (r.errors.empty() ? "" : r.errors.front().path + ": " + r.errors.front().message);
  EXPECT_EQ(r.envelope->event_id, "verify-1700000000-abcd");
  EXPECT_EQ(r.envelope->extraction.embedding.size(), 2048u);
}

TEST(VerifyEvent, ArchiveKeyFollowsTheWorkersLayout) {
  // 2026-11-24T16:56:03Z
  EXPECT_EQ(archiveRawKey("e1", 1795539363), "raw/dt=2026-11-24/hour=16/e1.json");
  EXPECT_EQ(archiveRawKey("e2", 0), "raw/dt=1970-01-01/hour=00/e2.json");
}
