#include "ca4/drivers/kafka/cluster_id.h"

#include <gtest/gtest.h>

namespace ca4::drivers::kafka {
namespace {

constexpr const char* kBase64Url = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

TEST(ClusterId, IsBase64Url22AndFreshEachTime) {
  auto a = newClusterId();
  auto b = newClusterId();
  EXPECT_EQ(a.size(), 22u);
  EXPECT_NE(a, b);
  EXPECT_EQ(a.find_first_not_of(kBase64Url), std::string::npos);
}

// StorageTool format takes the id as an option value: a leading '-' made 1 fresh start in 64 fail.
TEST(ClusterId, NeverStartsWithADashAndIs22Base64UrlChars) {
  for (int i = 0; i < 5000; ++i) {
    const auto id = newClusterId();
    ASSERT_EQ(id.size(), 22u) << id;
    ASSERT_NE(id.front(), '-') << id;
    ASSERT_EQ(id.find_first_not_of(kBase64Url), std::string::npos) << id;
  }
}

}  // namespace
}  // namespace ca4::drivers::kafka
