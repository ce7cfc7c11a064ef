// The shipped specs load cleanly: ca4.yaml with an empty environment, the aws, hosts and kubernetes examples
// with the variables they reference.
#include <filesystem>

#include "test_util.h"

namespace ca4::spec {
namespace {

const std::string kRoot = CA4_SOURCE_DIR;

TEST(Examples, DefaultLocalSpecLoadsWithEmptyEnvironment) {
  const auto r = loadFile(kRoot + "/ca4.yaml", testing::fakeEnv({}));
  ASSERT_TRUE(testing::loads(r));
  EXPECT_EQ(r.pipeline->spec.target, Target::Local);
  // The commented file states the defaults: writing them out changes nothing.
  EXPECT_EQ(digest(*r.pipeline),
            digest(*testing::load(std::string(testing::kHeader) + "metadata: {name: ca4-local}\n")
                        .pipeline));
}

const testing::Env kEnv = {{"CA4_MONGO_URI", "mongodb://user:pw@docdb:27017"},
                           {"CA4_API_KEY", "api-key-123"},
                           {"AWS_ACCESS_KEY_ID", "AKIA"},
                           {"AWS_SECRET_ACCESS_KEY", "sk"},
                           {"TF_DB_PASSWORD", "pw"},
                           {"CA4_SSH_PASSPHRASE", "pp"}};

TEST(Examples, AwsExampleLoads) {
  const auto r = loadFile(kRoot + "/docs/ca4.aws.yaml", testing::fakeEnv(kEnv));
  ASSERT_TRUE(testing::loads(r));
  EXPECT_EQ(r.pipeline->spec.target, Target::Aws);
  EXPECT_EQ(r.pipeline->spec.platform.db.uri.value(), kEnv.at("CA4_MONGO_URI"));
}

TEST(Examples, HostsExampleLoads) {
  const auto r = loadFile(kRoot + "/docs/ca4.hosts.yaml", testing::fakeEnv(kEnv));
  ASSERT_TRUE(testing::loads(r));
  EXPECT_EQ(r.pipeline->spec.target, Target::Hosts);
  EXPECT_FALSE(r.pipeline->spec.hosts.nodes.empty());
}

TEST(Examples, KubernetesExampleLoads) {
  const auto r = loadFile(kRoot + "/docs/ca4.kubernetes.yaml", testing::fakeEnv(kEnv));
  ASSERT_TRUE(testing::loads(r));
  const auto& s = r.pipeline->spec;
  EXPECT_EQ(s.target, Target::Kubernetes);
  EXPECT_EQ(s.cluster.images.at("ca4/worker"), "registry.example.com/ca4/worker:0.1.0");
  EXPECT_EQ(s.cluster.ready_timeout, std::chrono::minutes(5));
  EXPECT_TRUE(s.cluster.prune);
  EXPECT_FALSE(s.cluster.force_conflicts);
}

TEST(Examples, ApiKeyOutsideWhatTheProcessorAcceptsIsRefusedWithoutEchoingIt) {
  const auto r = testing::withSpec("{edge: {processor: {apiKey: \"${CA4_API_KEY}\"}}}", {{"CA4_API_KEY", "short"}});
  ASSERT_FALSE(testing::loads(r));
  const auto d = testing::dump(r);
  EXPECT_NE(d.find("spec.edge.processor.apiKey"), std::string::npos) << d;
  EXPECT_NE(d.find("8..256"), std::string::npos) << d;
  EXPECT_EQ(d.find("short"), std::string::npos) << "the value is never echoed: " << d;
}

TEST(Examples, KubernetesTargetNeedsAKubeconfig) {
  const auto r = testing::load(std::string(testing::kHeader) +
                               "metadata: {name: x}\nspec:\n  target: kubernetes\n  cluster: {kubeconfig: \"\"}\n");
  ASSERT_FALSE(testing::loads(r));
}

}  // namespace
}  // namespace ca4::spec
