// One test (or table) per validation rule: ranges, durations, enums, names, target rules, tunnels.
#include "test_util.h"

namespace ca4::spec {
namespace {

using testing::failsAt;
using testing::loads;
using testing::withSpec;

struct RangeCase {
  std::string flow;  // spec: <flow>, with VALUE substituted
  std::string path;
  std::vector<std::string> good;
  std::vector<std::string> bad;
};

std::string substitute(std::string flow, const std::string& v) {
  return flow.replace(flow.find("VALUE"), 5, v);
}

class Ranges : public ::testing::TestWithParam<RangeCase> {};

TEST_P(Ranges, AcceptsInsideRejectsOutside) {
  const auto& c = GetParam();
  for (const auto& v : c.good) EXPECT_TRUE(loads(withSpec(substitute(c.flow, v)))) << v;
  for (const auto& v : c.bad) {
    EXPECT_TRUE(failsAt(withSpec(substitute(c.flow, v)), c.path, "must be")) << v;
  }
}

// Cluster targets (aws) so that the local "replicas must be 1" rule does not interfere.
INSTANTIATE_TEST_SUITE_P(
    Spec, Ranges,
    ::testing::Values(RangeCase{"{edge: {kafka: {partitions: VALUE}}}",
                                "spec.edge.kafka.partitions",
                                {"1", "64"},
                                {"0", "65", "-1", "99999999999999999999"}},
                      RangeCase{"{target: aws, edge: {kafka: {replicas: VALUE}}}",
                                "spec.edge.kafka.replicas",
                                {"1", "3"},
                                {"0", "4"}},
                      RangeCase{"{target: aws, edge: {processor: {replicas: VALUE}}}",
                                "spec.edge.processor.replicas",
                                {"1", "20"},
                                {"0", "21"}},
                      RangeCase{"{target: aws, edge: {worker: {replicas: VALUE}}}",
                                "spec.edge.worker.replicas",
                                {"1", "20"},
                                {"0", "21"}},
                      RangeCase{"{edge: {processor: {rateLimit: VALUE}}}",
                                "spec.edge.processor.rateLimit",
                                {"0.5", "100", "1e4"},
                                {"0", "-1", ".nan", ".inf"}},
                      RangeCase{"{edge: {processor: {maxBodyBytes: VALUE}}}",
                                "spec.edge.processor.maxBodyBytes",
                                {"1024", "67108864"},
                                {"1023", "67108865", "0"}},
                      RangeCase{"{edge: {worker: {batchSize: VALUE}}}",
                                "spec.edge.worker.batchSize",
                                {"1", "10000"},
                                {"0", "10001"}},
                      RangeCase{"{local: {ports: {db: VALUE}}}",
                                "spec.local.ports.db",
                                {"1", "65535"},
                                {"0", "65536", "-5"}},
                      RangeCase{"{hosts: {bastion: {port: VALUE}}}",
                                "spec.hosts.bastion.port",
                                {"22", "2222"},
                                {"0", "70000"}},
                      RangeCase{"{edge: {worker: {batchTimeout: VALUE}}}",
                                "spec.edge.worker.batchTimeout",
                                {"1ms", "200ms", "2s", "1m", "1h"},
                                {"0ms", "0s", "25h"}},
                      RangeCase{"{monitoring: {scrapeInterval: VALUE}}",
                                "spec.monitoring.scrapeInterval",
                                {"1s", "15s", "5m", "1000ms"},
                                {"0s", "500ms", "6m", "301s", "1h"}},
                      RangeCase{"{verify: {timeout: VALUE}}",
                                "spec.verify.timeout",
                                {"1s", "60s", "30m"},
                                {"0s", "31m", "1h"}}));

TEST(Rules, ReplicationFactorAtMostReplicas) {
  EXPECT_TRUE(loads(withSpec("{target: aws, edge: {kafka: {replicas: 3, replicationFactor: 3}}}")));
  EXPECT_TRUE(failsAt(withSpec("{target: aws, edge: {kafka: {replicas: 2, replicationFactor: 3}}}"),
                      "spec.edge.kafka.replicationFactor", "must be 1..replicas (2), got 3"));
  EXPECT_TRUE(failsAt(withSpec("{edge: {kafka: {replicationFactor: 0}}}"),
                      "spec.edge.kafka.replicationFactor", "must be"));
}

TEST(Rules, DurationSyntax) {
  for (const char* bad : {"5", "5 s", "s", "1.5s", "-1s", "5sec", "1m30s", "\"5s\"", "[5s]"}) {
    EXPECT_TRUE(failsAt(withSpec(std::string("{verify: {timeout: ") + bad + "}}"),
                        "spec.verify.timeout", "expected a duration"))
        << bad;
  }
  const auto r = withSpec("{verify: {timeout: 2m}, edge: {worker: {batchTimeout: 50ms}}}");
  ASSERT_TRUE(loads(r));
  EXPECT_EQ(r.pipeline->spec.verify.timeout, std::chrono::seconds(120));
  EXPECT_EQ(r.pipeline->spec.edge.worker.batch_timeout, std::chrono::milliseconds(50));
}

TEST(Rules, SecondsFieldsNeedWholeSeconds) {
  EXPECT_TRUE(failsAt(withSpec("{verify: {timeout: 1500ms}}"), "spec.verify.timeout",
                      "whole number of seconds"));
}

TEST(Rules, Enums) {
  EXPECT_TRUE(failsAt(withSpec("{target: gcp}"), "spec.target", "must be one of local|aws|hosts"));
  EXPECT_TRUE(failsAt(withSpec("{target: Local}"), "spec.target", "did you mean `local`?"));
  EXPECT_TRUE(failsAt(withSpec("{cluster: {installMode: offline}}"), "spec.cluster.installMode",
                      "must be one of online|airgap"));
  EXPECT_TRUE(failsAt(withSpec("{hosts: {hostKeyPolicy: accept}}"), "spec.hosts.hostKeyPolicy",
                      "must be one of strict|accept-new"));
  const auto r = withSpec(
      "{hosts: {hostKeyPolicy: accept-new}, cluster: {installMode: airgap, "
      "airgapBinary: /opt/k3s}}");
  ASSERT_TRUE(loads(r));
  EXPECT_EQ(r.pipeline->spec.hosts.host_key_policy, HostKeyPolicy::AcceptNew);
  EXPECT_EQ(r.pipeline->spec.cluster.install_mode, InstallMode::Airgap);
}

TEST(Rules, AirgapRequiresBinary) {
  EXPECT_TRUE(failsAt(withSpec("{cluster: {installMode: airgap}}"), "spec.cluster.airgapBinary",
                      "is required when installMode is airgap"));
}

TEST(Rules, TopicNames) {
  for (const char* bad : {"\"a b\"", "\"gpu/metadata\"", "\".\"", "\"..\"", "\"\"", "é"}) {
    EXPECT_TRUE(failsAt(withSpec(std::string("{edge: {kafka: {topic: ") + bad + "}}}"),
                        "spec.edge.kafka.topic"))
        << bad;
  }
  EXPECT_TRUE(failsAt(withSpec("{edge: {kafka: {dlqTopic: " + std::string(250, 'a') + "}}}"),
                      "spec.edge.kafka.dlqTopic", "at most 249"));
  EXPECT_TRUE(loads(
      withSpec("{edge: {kafka: {topic: A.b_c-9, dlqTopic: " + std::string(249, 'a') + "}}}")));
}

TEST(Rules, DlqTopicDiffersFromTopic) {
  EXPECT_TRUE(failsAt(withSpec("{edge: {kafka: {topic: t, dlqTopic: t}}}"),
                      "spec.edge.kafka.dlqTopic", "must differ"));
}

TEST(Rules, LocalRequiresSingleReplicas) {
  const auto r = withSpec(
      "{edge: {kafka: {replicas: 2}, processor: {replicas: 2}, "
      "worker: {replicas: 3}}}");
  EXPECT_TRUE(failsAt(r, "spec.edge.kafka.replicas", "must be 1 for target local"));
  EXPECT_TRUE(failsAt(r, "spec.edge.processor.replicas", "must be 1 for target local"));
  EXPECT_TRUE(failsAt(r, "spec.edge.worker.replicas", "must be 1 for target local, got 3"));
}

TEST(Rules, LocalPortsDistinct) {
  const auto r = withSpec("{local: {ports: {s3: 9092, prometheus: 27017}}}");
  EXPECT_TRUE(failsAt(r, "spec.local.ports.s3", "also spec.local.ports.kafka"));
  EXPECT_TRUE(failsAt(r, "spec.local.ports.prometheus", "also spec.local.ports.db"));
}

TEST(Rules, AwsRequiresRegion) {
  EXPECT_TRUE(failsAt(withSpec("{target: aws, infra: {region: \"\"}}"), "spec.infra.region",
                      "is required for target aws"));
  EXPECT_TRUE(loads(withSpec("{target: aws}")));
}

TEST(Rules, HostsRequiresBastionAndNodes) {
  auto r = withSpec("{target: hosts}");
  EXPECT_TRUE(failsAt(r, "spec.hosts.bastion.address", "is required for target hosts"));
  EXPECT_TRUE(failsAt(r, "spec.hosts.nodes", "at least one node"));
  r = withSpec("{target: hosts, hosts: {bastion: {address: b}, nodes: [{name: n}]}}");
  EXPECT_TRUE(failsAt(r, "spec.hosts.nodes[0].address", "is required"));
  r = withSpec(
      "{target: hosts, hosts: {bastion: {address: b}, nodes: [{name: n, address: a}, "
      "{name: n, address: c}]}}");
  EXPECT_TRUE(failsAt(r, "spec.hosts.nodes[1].name", "duplicate node name"));
  r = withSpec(
      "{target: hosts, hosts: {bastion: {address: b}, nodes: [{address: a}, "
      "{address: c}]}}");
  ASSERT_TRUE(loads(r));
  EXPECT_EQ(r.pipeline->spec.hosts.nodes[1].name, "node-2");
  EXPECT_EQ(r.pipeline->spec.hosts.nodes[0].port, 0);  // unset: hosts.sshConfig, then 22 (stages/remote.h)
}

TEST(Rules, DefaultTunnelsForClusterTargets) {
  const auto r = withSpec("{target: aws}");
  ASSERT_TRUE(loads(r));
  const auto& t = r.pipeline->spec.tunnels;
  ASSERT_EQ(t.size(), 4u);
  EXPECT_EQ(t[0].name, "kafka");
  EXPECT_EQ(t[0].local_port, 19092);
  EXPECT_EQ(t[0].remote_host, "kafka");
  EXPECT_EQ(t[0].remote_port, 9092);
  EXPECT_EQ(t[2].name, "k3s");
  EXPECT_EQ(t[2].local_port, 16443);
  EXPECT_EQ(t[2].remote_host, "k3s-api");
  EXPECT_EQ(t[2].remote_port, 6443);
  EXPECT_TRUE(withSpec("{target: aws, tunnels: []}").pipeline->spec.tunnels.empty());
}

TEST(Rules, TunnelsUniqueNamesAndLocalPorts) {
  const auto r = withSpec(
      "{target: aws, tunnels: ["
      "{name: a, localPort: 1000, remoteHost: h, remotePort: 1},"
      "{name: a, localPort: 1000, remoteHost: h, remotePort: 1},"
      "{localPort: 1001}]}");
  EXPECT_TRUE(failsAt(r, "spec.tunnels[1].name", "duplicate tunnel name"));
  EXPECT_TRUE(failsAt(r, "spec.tunnels[1].localPort", "used by another tunnel"));
  EXPECT_TRUE(failsAt(r, "spec.tunnels[2].name", "is required"));
  EXPECT_TRUE(failsAt(r, "spec.tunnels[2].remoteHost", "is required"));
  EXPECT_TRUE(failsAt(r, "spec.tunnels[2].remotePort", "is required"));
}

TEST(Rules, NamespacesAreUniqueDnsLabels) {
  const auto r = withSpec("{platform: {namespaces: [app, App, app]}}");
  EXPECT_TRUE(failsAt(r, "spec.platform.namespaces[1]", "DNS-1123"));
  EXPECT_TRUE(failsAt(r, "spec.platform.namespaces[2]", "duplicate namespace"));
}

TEST(Rules, ArchiveBucketRequiredWhenEnabled) {
  EXPECT_TRUE(failsAt(withSpec("{platform: {archive: {bucket: \"\"}}}"),
                      "spec.platform.archive.bucket", "is required"));
  EXPECT_TRUE(loads(withSpec("{platform: {archive: {enabled: false, bucket: \"\"}}}")));
}

TEST(Rules, MissingFieldPointsAtEnclosingSection) {
  const auto r = testing::load(std::string(testing::kHeader) +
                               "spec:\n  target: hosts\n  hosts:\n    bastion:\n      user: u\n"
                               "    nodes: [{address: a}]\n");
  const auto* d = testing::find(r, "spec.hosts.bastion.address");
  ASSERT_NE(d, nullptr) << testing::dump(r);
  EXPECT_EQ(d->line, 6);
  EXPECT_EQ(d->column, 5);
}

}  // namespace
}  // namespace ca4::spec
