#include "ca4/common/base64.h"

#include <gtest/gtest.h>

namespace ca4::common {
namespace {

// RFC 4648 §10 test vectors.
const std::pair<const char*, const char*> kVectors[] = {
    {"", ""}, {"f", "Zg=="}, {"fo", "Zm8="}, {"foo", "Zm9v"},
    {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"}};

TEST(Base64, EncodesTheRfcVectors) {
  for (const auto& [plain, enc] : kVectors) EXPECT_EQ(base64Encode(plain), enc) << plain;
}

TEST(Base64, DecodesTheRfcVectorsAndTheirUnpaddedForms) {
  for (const auto& [plain, enc] : kVectors) {
    EXPECT_EQ(base64Decode(enc), std::optional<std::string>(plain)) << enc;
    std::string bare = enc;
    while (!bare.empty() && bare.back() == '=') bare.pop_back();
    EXPECT_EQ(base64Decode(bare), std::optional<std::string>(plain)) << bare;
  }
}

TEST(Base64, EncodesHighAndZeroBytes) {
  EXPECT_EQ(base64Encode(std::string("\xff\x00\x01\xfe", 4)), "/wAB/g==");
}

TEST(Base64, RoundTripsBinaryAndIgnoresLineBreaks) {
  std::string all;
  for (int i = 0; i < 256; ++i) all += static_cast<char>(i);
  const std::string enc = base64Encode(all);
  EXPECT_EQ(base64Decode(enc), all);
  std::string wrapped;
  for (std::size_t i = 0; i < enc.size(); i += 64) wrapped += enc.substr(i, 64) + "\n";
  EXPECT_EQ(base64Decode(wrapped), all);
}

TEST(Base64, RefusesCharactersOutsideTheAlphabetAndImpossibleLengths) {
  EXPECT_FALSE(base64Decode("!!!!").has_value());
  EXPECT_FALSE(base64Decode("Zm9v-A==").has_value());  // base64url is not accepted
  EXPECT_FALSE(base64Decode("Zm9vY").has_value());
}

}  // namespace
}  // namespace ca4::common
