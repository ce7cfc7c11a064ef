// digest(): stable, sensitive to every field, blind to secret values and to the file's location.
// toYaml(): the effective spec, secrets redacted, loadable again to the same digest.
#include "test_util.h"

namespace ca4::spec {
namespace {

using testing::loads;
using testing::withSpec;

Pipeline loaded(const std::string& flow, testing::Env env = {}) {
  auto r = withSpec(flow, std::move(env));
  EXPECT_TRUE(loads(r)) << flow;
  return r.pipeline.value_or(Pipeline{});
}

TEST(Digest, FormatAndStability) {
  const auto d = digest(loaded("{}"));
  EXPECT_EQ(d.rfind("sha256:", 0), 0u);
  EXPECT_EQ(d.size(), 7u + 64u);
  EXPECT_EQ(d, digest(loaded("{}")));
}

TEST(Digest, DefaultsWrittenOutEqualDefaultsLeftOut) {
  EXPECT_EQ(digest(loaded("{}")), digest(loaded("{target: local, edge: {kafka: {partitions: 3}}, "
                                                "monitoring: {scrapeInterval: 5000ms}}")));
}

TEST(Digest, AnyFieldChangeChangesIt) {
  const auto base = digest(loaded("{}"));
  for (const char* flow : {"{edge: {kafka: {partitions: 4}}}", "{monitoring: {loki: false}}",
                           "{local: {ports: {db: 27018}}}", "{infra: {vars: {a: b}}}",
                           "{verify: {timeout: 61s}}", "{cluster: {tlsSans: [x]}}"}) {
    EXPECT_NE(digest(loaded(flow)), base) << flow;
  }
}

TEST(Digest, SecretValuesDoNotMatterOnlyRefs) {
  const std::string flow = "{edge: {processor: {apiKey: \"${K}\"}}}";
  EXPECT_EQ(digest(loaded(flow, {{"K", "key-one-1"}})), digest(loaded(flow, {{"K", "key-two-2"}})));
  EXPECT_NE(digest(loaded(flow, {{"K", "key-one-1"}})),
            digest(loaded("{edge: {processor: {apiKey: \"${K2}\"}}}", {{"K2", "key-one-1"}})));
}

TEST(Digest, IgnoresSourcePathAndBaseDir) {
  auto a = loaded("{}");
  auto b = a;
  b.source_path = "/elsewhere/ca4.yaml";
  b.base_dir = "/elsewhere";
  EXPECT_EQ(digest(a), digest(b));
}

TEST(Digest, NeverThrowsOnInvalidUtf8BuiltInCode) {
  Pipeline p;
  p.metadata.name = "bad\xff";
  EXPECT_NO_THROW({
    EXPECT_EQ(digest(p).size(), 71u);
    (void)toYaml(p);
  });
}

TEST(ToYaml, RedactsSecretsAndShowsEffectiveSpec) {
  const auto p = loaded("{target: aws, edge: {processor: {apiKey: \"${CA4_API_KEY}\"}}}",
                        {{"CA4_API_KEY", "very-secret-value"}});
  const auto y = toYaml(p);
  EXPECT_EQ(y.find("very-secret-value"), std::string::npos);
  EXPECT_NE(y.find("${CA4_API_KEY}"), std::string::npos);
  EXPECT_NE(y.find("partitions: 3"), std::string::npos);
  EXPECT_NE(y.find("scrapeInterval: 5s"), std::string::npos);
  EXPECT_NE(y.find("k3s-api"), std::string::npos) << y;
}

TEST(ToYaml, RoundTripsToTheSameDigest) {
  const testing::Env env = {{"CA4_API_KEY", "k-12345678"}, {"CA4_MONGO_URI", "mongodb://h"}};
  const auto p = loaded(
      "{target: hosts, hosts: {bastion: {address: b}, nodes: [{address: n}]}, "
      "infra: {workspace: \"lit$${X}\"}, platform: {db: {uri: \"${CA4_MONGO_URI}\"}}, "
      "edge: {processor: {apiKey: \"${CA4_API_KEY}\", rateLimit: 2.5}}}",
      env);
  const auto again = testing::load(toYaml(p), env);
  ASSERT_TRUE(loads(again)) << toYaml(p);
  EXPECT_EQ(again.pipeline->spec.infra.workspace, "lit${X}");
  EXPECT_EQ(digest(*again.pipeline), digest(p));
}

}  // namespace
}  // namespace ca4::spec
