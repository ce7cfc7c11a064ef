#include "ca4/processor/config.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>

namespace ca4::processor {
namespace {

ConfigOutcome parse(std::vector<const char*> args) {
  args.insert(args.begin(), "ca4-processor");
  return parseConfig(static_cast<int>(args.size()), args.data());
}

TEST(Config, Defaults) {
  const auto o = parse({});
  ASSERT_TRUE(o.config) << o.err;
  const Config& c = *o.config;
  EXPECT_EQ(c.host, "0.0.0.0");
  EXPECT_EQ(c.port, 8080);
  EXPECT_GE(c.threads, 1);
  EXPECT_EQ(c.kafka.topic, "gpu-metadata");
  EXPECT_EQ(c.kafka.brokers, "127.0.0.1:9092");
  EXPECT_EQ(c.auth, AuthMode::ApiKey);
  EXPECT_EQ(c.processor.body.max_body, 512u * 1024u);
  EXPECT_TRUE(c.processor.cors_origins.empty());
  EXPECT_EQ(c.log_format, log::Format::Json);
}

TEST(Config, Flags) {
  const auto o = parse({"--listen", "127.0.0.1:0", "--brokers", "k1:9092,k2:9092", "--topic", "t",
                        "--message-timeout-ms", "2000", "--auth", "none", "--rate", "5",
                        "--burst", "10", "--max-body", "1MiB", "--cors-origin",
                        "https://a.example, https://b.example", "--log-format", "text",
                        "--kafka-property", "security.protocol=plaintext", "--threads", "3"});
  ASSERT_TRUE(o.config) << o.err;
  const Config& c = *o.config;
  EXPECT_EQ(c.host, "127.0.0.1");
  EXPECT_EQ(c.port, 0);
  EXPECT_EQ(c.threads, 3);
  EXPECT_EQ(c.kafka.brokers, "k1:9092,k2:9092");
  EXPECT_EQ(c.kafka.message_timeout_ms, 2000);
  EXPECT_EQ(c.auth, AuthMode::None);
  EXPECT_EQ(c.rate, 5);
  EXPECT_EQ(c.processor.body.max_body, 1024u * 1024u);
  EXPECT_EQ(c.processor.cors_origins,
            (std::vector<std::string>{"https://a.example", "https://b.example"}));
  EXPECT_EQ(c.log_format, log::Format::Text);
  ASSERT_EQ(c.kafka.properties.size(), 1u);
  EXPECT_EQ(c.kafka.properties[0].first, "security.protocol");
}

TEST(Config, EnvironmentFallback) {
  ::setenv("CA4_KAFKA_BROKERS", "env-broker:9092", 1);
  auto o = parse({});
  EXPECT_EQ(o.config->kafka.brokers, "env-broker:9092");
  o = parse({"--brokers", "flag:9092"});  // the flag wins
  EXPECT_EQ(o.config->kafka.brokers, "flag:9092");
  ::unsetenv("CA4_KAFKA_BROKERS");
}

TEST(Config, HelpTeaches) {
  const auto o = parse({"--help"});
  EXPECT_FALSE(o.config);
  EXPECT_EQ(o.exit_code, 0);
  for (const char* s : {"--brokers", "CA4_KAFKA_BROKERS", "--api-keys-file", "--auth", "POST /v1/metadata",
                        "Bearer", "--cors-origin", "--message-timeout-ms"}) {
    EXPECT_NE(o.out.find(s), std::string::npos) << s;
  }
}

TEST(Config, BadValuesAreErrors) {
  EXPECT_NE(parse({"--auth", "maybe"}).exit_code, 0);
  EXPECT_NE(parse({"--listen", "nonsense"}).exit_code, 0);
  EXPECT_NE(parse({"--listen", "0.0.0.0:70000"}).exit_code, 0);
  EXPECT_NE(parse({"--kafka-property", "novalue"}).exit_code, 0);
  EXPECT_NE(parse({"--unknown-flag"}).exit_code, 0);
}

TEST(Config, ListenForms) {
  EXPECT_EQ(parseListen(":9000").value(), (std::pair<std::string, std::uint16_t>{"0.0.0.0", 9000}));
  EXPECT_EQ(parseListen("[::1]:80").value().first, "::1");
  EXPECT_FALSE(parseListen("host:").ok());
}

TEST(LoadKeys, AuthOnNeedsKeys) {
  Config c;
  auto r = loadKeys(c, nullptr, nullptr);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().find("--auth=none"), std::string::npos);

  c.api_keys_file = "/nonexistent/keys";
  r = loadKeys(c, "a:0123456789", nullptr);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().find("/nonexistent/keys"), std::string::npos);

  c.api_keys_file.clear();
  std::vector<std::string> names;
  r = loadKeys(c, "a:0123456789,b:9876543210", &names);
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(names, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(r.value()->authenticate("Bearer 9876543210"), "b");
}

TEST(LoadKeys, FileAndEnvCombine) {
  const std::string path = ::testing::TempDir() + "/ca4_cfg_keys.txt";
  std::ofstream(path) << "# keys\nfile-key:ffffffffffff\n";
  Config c;
  c.api_keys_file = path;
  std::vector<std::string> names;
  auto r = loadKeys(c, "env-key:eeeeeeeeeeee", &names);
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(names.size(), 2u);
  // The same key twice (file and env) is refused.
  EXPECT_FALSE(loadKeys(c, "again:ffffffffffff", nullptr).ok());
  std::remove(path.c_str());
}

TEST(LoadKeys, AuthNoneNeedsNothing) {
  Config c;
  c.auth = AuthMode::None;
  auto r = loadKeys(c, nullptr, nullptr);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r.value().has_value());
}

}  // namespace
}  // namespace ca4::processor
