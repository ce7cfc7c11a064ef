#include <gtest/gtest.h>

#include <algorithm>

#include "ca4/stages/local_services.h"

using namespace ca4::stages::local;

namespace {

ca4::spec::Pipeline pipeline() {
  ca4::spec::Pipeline p;
  p.metadata.name = "ca4";
  p.base_dir = "/work";
  return p;
}

Layout layout() {
  Layout l;
  l.data_dir = "/work/.ca4/local";
  l.bin_dir = "/work/build/bin";
  l.cache_dir = "/c";
  l.java = "/usr/bin/java";
  l.kafka_libs = "/c/kafka-4.1.1/libs";
  l.ferretdb = "/c/bin/ferretdb";
  l.moto_server = "/c/venv/bin/moto_server";
  l.prometheus = "/usr/bin/prometheus";
  return l;
}

const Component& byName(const std::vector<Component>& cs, const std::string& n) {
  auto it = std::find_if(cs.begin(), cs.end(), [&](const Component& c) { return c.name == n; });
  if (it == cs.end()) throw std::runtime_error("no component " + n);
  return *it;
}

bool hasArg(const Component& c, const std::string& a) {
  return std::find(c.process.argv.begin(), c.process.argv.end(), a) != c.process.argv.end();
}

}  // namespace

TEST(LocalServices, PlatformHasKafkaDbAndS3OnSpecPorts) {
  auto p = pipeline();
  p.spec.local.ports.kafka = 19092;
  p.spec.local.ports.db = 27018;
  auto cs = platformComponents(p, layout());
  ASSERT_EQ(cs.size(), 3u);
  EXPECT_EQ(byName(cs, "kafka").port, 19092);
  EXPECT_EQ(byName(cs, "kafka").process.argv.front(), "/usr/bin/java");
  EXPECT_TRUE(hasArg(byName(cs, "db"), "--listen-addr=127.0.0.1:27018"));
  EXPECT_TRUE(hasArg(byName(cs, "s3"), std::to_string(p.spec.local.ports.s3)));
  auto props = byName(cs, "kafka").files.at("/work/.ca4/local/kafka.properties");
  EXPECT_NE(props.find("listeners=PLAINTEXT://127.0.0.1:19092,CONTROLLER://127.0.0.1:9093"), std::string::npos);
  EXPECT_NE(props.find("log.dirs=/work/.ca4/local/kafka-data"), std::string::npos);
  EXPECT_NE(props.find("auto.create.topics.enable=false"), std::string::npos);
}

TEST(LocalServices, ArchiveOffMeansNoS3ServerAndNoS3Flags) {
  auto p = pipeline();
  p.spec.platform.archive.enabled = false;
  auto cs = platformComponents(p, layout());
  EXPECT_EQ(cs.size(), 2u);
  auto edge = edgeComponents(p, layout(), "/k");
  EXPECT_FALSE(hasArg(byName(edge, "worker"), "--s3-endpoint"));
  EXPECT_EQ(byName(edge, "worker").process.env.count("AWS_SECRET_ACCESS_KEY"), 0u);
}

TEST(LocalServices, EdgeWiresTopicGroupKeysAndNeverPutsTheDbUriInArgv) {
  auto p = pipeline();
  p.spec.edge.kafka.topic = "t1";
  p.spec.edge.kafka.consumer_group = "g1";
  auto cs = edgeComponents(p, layout(), "/work/.ca4/local/api-keys");
  const auto& proc = byName(cs, "processor");
  EXPECT_EQ(proc.process.argv.front(), "/work/build/bin/ca4-processor");
  EXPECT_TRUE(hasArg(proc, "/work/.ca4/local/api-keys"));
  EXPECT_TRUE(hasArg(proc, "t1"));
  EXPECT_EQ(proc.probe_path, "/readyz");
  const auto& w = byName(cs, "worker");
  EXPECT_TRUE(hasArg(w, "g1"));
  EXPECT_TRUE(hasArg(w, "gpu-metadata.dlq"));
  for (const auto& a : w.process.argv) EXPECT_EQ(a.find("mongodb://"), std::string::npos) << a;
  EXPECT_EQ(w.process.env.at("CA4_MONGO_URI"), "mongodb://127.0.0.1:27017/");
}

TEST(LocalServices, ConfigDigestTracksArgvAndFilesButNotEnvValues) {
  auto p = pipeline();
  auto a = byName(edgeComponents(p, layout(), "/k"), "worker");
  auto b = a;
  b.process.env["AWS_SECRET_ACCESS_KEY"] = "another-secret";
  EXPECT_EQ(a.configDigest(), b.configDigest()) << "env values (secrets) must not feed the digest";
  p.spec.local.ports.kafka = 9999;
  auto c = byName(edgeComponents(p, layout(), "/k"), "worker");
  EXPECT_NE(a.configDigest(), c.configDigest());
  auto k1 = byName(platformComponents(pipeline(), layout()), "kafka");
  auto p2 = pipeline();
  p2.spec.edge.kafka.partitions = 7;  // changes kafka.properties (num.partitions)
  auto k2 = byName(platformComponents(p2, layout()), "kafka");
  EXPECT_NE(k1.configDigest(), k2.configDigest());
  EXPECT_EQ(k1.configDigest().rfind("sha256:", 0), 0u);
}

TEST(LocalServices, PrometheusScrapesProcessorAndWorker) {
  auto p = pipeline();
  p.spec.monitoring.scrape_interval = std::chrono::seconds(7);
  auto cfg = prometheusConfig(p);
  EXPECT_NE(cfg.find("scrape_interval: 7s"), std::string::npos);
  EXPECT_NE(cfg.find("'127.0.0.1:8080'"), std::string::npos);
  EXPECT_NE(cfg.find("'127.0.0.1:9102'"), std::string::npos);
  auto cs = monitoringComponents(p, layout());
  ASSERT_EQ(cs.size(), 1u);
  EXPECT_EQ(cs[0].probe_path, "/-/ready");
  p.spec.monitoring.enabled = false;
  EXPECT_TRUE(monitoringComponents(p, layout()).empty());
}
