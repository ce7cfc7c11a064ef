#include "ca4/processor/auth.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

namespace ca4::processor {
namespace {

TEST(ApiKeyFile, ParsesNamedBareCommentsAndBlanks) {
  const auto r = parseApiKeys(
      "# producers\n"
      "colab-prod:0123456789abcdef\n"
      "\n"
      "   bench : key-with-spaces-around  \r\n"
      "bare-key-0123456789\n",
      "keys.txt");
  ASSERT_TRUE(r.ok()) << r.error();
  ASSERT_EQ(r.value().size(), 3u);
  EXPECT_EQ(r.value()[0].name, "colab-prod");
  EXPECT_EQ(r.value()[0].key, "0123456789abcdef");
  EXPECT_EQ(r.value()[1].name, "bench");
  EXPECT_EQ(r.value()[1].key, "key-with-spaces-around");
  EXPECT_EQ(r.value()[2].name.rfind("sha256:", 0), 0u);
  EXPECT_EQ(r.value()[2].name.size(), 7u + 8u);
  EXPECT_EQ(r.value()[2].key, "bare-key-0123456789");
}

TEST(ApiKeyFile, ErrorsNameTheLineAndNeverEchoTheKey) {
  const auto r = parseApiKeys("# c\nok:0123456789\nbad name:supersecretvalue\n", "k.txt");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().find("k.txt:3"), std::string::npos) << r.error();
  EXPECT_EQ(r.error().find("supersecretvalue"), std::string::npos);

  const auto short_key = parseApiKeys("x:short\n", "k.txt");
  ASSERT_FALSE(short_key.ok());
  EXPECT_NE(short_key.error().find("8..256"), std::string::npos);
  EXPECT_EQ(short_key.error().find("short\n"), std::string::npos);

  EXPECT_FALSE(parseApiKeys("x:has\"quote-0000\n", "k").ok());
  EXPECT_FALSE(parseApiKeys("x:has space 00000\n", "k").ok());
}

TEST(ApiKeyEnv, CommaSeparated) {
  const auto r = parseApiKeysEnv("a:aaaaaaaaaa, b:bbbbbbbbbb ,,cccccccccc");
  ASSERT_TRUE(r.ok()) << r.error();
  ASSERT_EQ(r.value().size(), 3u);
  EXPECT_EQ(r.value()[1].name, "b");
  EXPECT_EQ(r.value()[1].key, "bbbbbbbbbb");
  const auto bad = parseApiKeysEnv("a:aaaaaaaaaa,b:x");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().find("CA4_API_KEYS entry 2"), std::string::npos) << bad.error();
}

TEST(ApiKeyFile, MissingFileIsAClearError) {
  const auto r = loadApiKeysFile("/nonexistent/ca4/keys.txt");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().find("--api-keys-file /nonexistent/ca4/keys.txt"), std::string::npos);
  EXPECT_NE(r.error().find("No such file"), std::string::npos);
}

TEST(ApiKeyFile, LoadsFromDisk) {
  const std::string path = ::testing::TempDir() + "/ca4_keys_test.txt";
  std::ofstream(path) << "svc:abcdefgh12345678\n";
  const auto r = loadApiKeysFile(path);
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(r.value().at(0).name, "svc");
  std::remove(path.c_str());
}

TEST(ValidateKeys, RejectsDuplicateNamesAndKeys) {
  EXPECT_FALSE(validateKeys({{"a", "0123456789"}, {"a", "9876543210"}}).ok());
  const auto dup = validateKeys({{"a", "0123456789"}, {"b", "0123456789"}});
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.error().find("0123456789"), std::string::npos);
  EXPECT_TRUE(validateKeys({{"a", "0123456789"}, {"b", "9876543210"}}).ok());
}

TEST(ApiKeyStore, BearerSchemeAndConstantTimeMatch) {
  std::vector<ApiKey> keys;
  for (int i = 0; i < 50; ++i) keys.push_back({"k" + std::to_string(i), "key-value-" + std::to_string(i)});
  ApiKeyStore store(keys);
  EXPECT_EQ(store.size(), 50u);
  EXPECT_EQ(store.authenticate("Bearer key-value-0"), "k0");
  EXPECT_EQ(store.authenticate("bearer key-value-49"), "k49");  // last entry: no early exit bug
  EXPECT_EQ(store.authenticate("BEARER   key-value-7  "), "k7");
  EXPECT_EQ(store.authenticate("Bearer key-value-"), std::nullopt);       // prefix
  EXPECT_EQ(store.authenticate("Bearer key-value-490"), std::nullopt);    // extension
  EXPECT_EQ(store.authenticate("Basic key-value-0"), std::nullopt);
  EXPECT_EQ(store.authenticate("Bearerkey-value-0"), std::nullopt);
  EXPECT_EQ(store.authenticate("Bearer "), std::nullopt);
  EXPECT_EQ(store.authenticate(""), std::nullopt);
  EXPECT_EQ(store.authenticate(std::nullopt), std::nullopt);
}

TEST(Sha256, KnownVector) {
  const auto d = sha256("abc");
  // FIPS 180-2 example: ba7816bf...
  EXPECT_EQ(d[0], 0xba);
  EXPECT_EQ(d[1], 0x78);
  EXPECT_EQ(d[31], 0xad);
}

}  // namespace
}  // namespace ca4::processor
