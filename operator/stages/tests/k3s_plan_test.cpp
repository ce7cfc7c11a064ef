// The pure half of the K3s bootstrap (stages/k3s.h): facts, desired config, plan, commands.
#include <gtest/gtest.h>

#include <cstdio>

#include "ca4/spec/load.h"
#include "ca4/stages/k3s.h"

namespace k3s = ca4::stages::k3s;

namespace {

ca4::spec::Pipeline pipeline(const std::string& extraCluster = "") {
  std::string doc = R"(apiVersion: ca4.dev/v1alpha1
kind: Pipeline
metadata: {name: lab}
spec:
  target: hosts
  hosts:
    bastion: {address: 203.0.113.10, user: root}
    nodes:
      - {name: edge-1, address: 10.0.1.10}
      - {name: edge-2, address: 10.0.1.11}
  cluster:
    k3sVersion: v1.34.1+k3s1
    tlsSans: [k3s.lab.example, 127.0.0.1]
)" + extraCluster;
  auto r = ca4::spec::loadString(doc, "ca4.yaml", {});
  if (!r.ok()) throw std::runtime_error("spec: " + r.diagnostics.front().str());
  return *r.pipeline;
}

const std::string kToken = "K10" + std::string(64, 'a') + "::server:" + std::string(32, 'f');

// `sh -n`: the command parses as POSIX shell.
bool shellParses(const std::string& cmd) {
  std::FILE* f = ::popen("sh -n", "w");
  if (!f) return false;
  std::fputs(cmd.c_str(), f);
  return ::pclose(f) == 0;
}

}  // namespace

TEST(K3sFacts, ParsesTheProbeAnswerAndKeepsTheConfigVerbatim) {
  auto f = k3s::parseFacts(
      "version=k3s version v1.34.1+k3s1 (ca4standin)\nsystemd=no\nrunning=yes\npid=4242\n"
      "started=1763900000\narch=x86_64\n--- config.yaml ---\nnode-name: edge-1\ntoken: x\n");
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->version, "v1.34.1+k3s1");
  EXPECT_FALSE(f->systemd);
  EXPECT_TRUE(f->running);
  EXPECT_EQ(f->pid, 4242);
  EXPECT_EQ(f->startedAt, 1763900000);
  EXPECT_EQ(f->arch, "x86_64");
  EXPECT_EQ(f->config, "node-name: edge-1\ntoken: x\n");
}

TEST(K3sFacts, NothingInstalled) {
  auto f = k3s::parseFacts("version=\nsystemd=yes\nrunning=no\narch=aarch64\n--- config.yaml ---\n");
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->version, "");
  EXPECT_TRUE(f->systemd);
  EXPECT_FALSE(f->running);
  EXPECT_EQ(f->config, "");
}

TEST(K3sFacts, AnAnswerWithoutTheMarkerIsAnError) {
  auto f = k3s::parseFacts("Welcome to fish\n");
  ASSERT_FALSE(f.ok());
  EXPECT_NE(f.error().fix.find("POSIX"), std::string::npos);
}

TEST(K3sVersion, FromTheFirstLineOfK3sVersion) {
  EXPECT_EQ(k3s::versionFromOutput("k3s version v1.34.1+k3s1 (ab12cd)\ngo version go1.24\n"), "v1.34.1+k3s1");
  EXPECT_EQ(k3s::versionFromOutput(""), "");
  EXPECT_EQ(k3s::versionFromOutput("sh: k3s: not found"), "");
}

TEST(K3sConfig, ServerHasTheTunnelEndpointAndSpecSansOnceEach) {
  auto p = pipeline();
  std::string c = k3s::desiredConfig(p, 0, "");
  EXPECT_NE(c.find("node-name: edge-1\n"), std::string::npos) << c;
  EXPECT_NE(c.find("node-ip: 10.0.1.10\n"), std::string::npos) << c;
  EXPECT_NE(c.find("tls-san:\n  - 127.0.0.1\n  - localhost\n  - k3s.lab.example\n"), std::string::npos) << c;
  EXPECT_EQ(c.find("token"), std::string::npos) << c;
  EXPECT_EQ(c, k3s::desiredConfig(p, 0, ""));  // deterministic
}

TEST(K3sConfig, AgentJoinsTheServerOverThePrivateNetworkWithTheToken) {
  auto p = pipeline();
  std::string c = k3s::desiredConfig(p, 1, kToken);
  EXPECT_NE(c.find("node-name: edge-2\n"), std::string::npos) << c;
  EXPECT_NE(c.find("server: https://10.0.1.10:6443\n"), std::string::npos) << c;
  EXPECT_NE(c.find("token: " + kToken + "\n"), std::string::npos);
  EXPECT_EQ(c.find("tls-san"), std::string::npos);
}

TEST(K3sConfig, DiffNamesKeysAndHidesTheToken) {
  auto p = pipeline();
  std::string agent = k3s::desiredConfig(p, 1, kToken);
  std::string rotated = k3s::desiredConfig(p, 1, "K10" + std::string(64, 'b') + "::server:zzz");
  auto d = k3s::configDiff(agent, rotated);
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0], "~ token: (sensitive) → (sensitive)");
  auto fresh = k3s::configDiff("", agent);
  for (const auto& line : fresh) EXPECT_EQ(line.find(kToken), std::string::npos) << line;
  EXPECT_NE(std::find(fresh.begin(), fresh.end(), "+ token: (sensitive)"), fresh.end());
  auto server = k3s::configDiff("node-name: edge-1\ntls-san: [127.0.0.1]\n", k3s::desiredConfig(p, 0, ""));
  EXPECT_NE(std::find(server.begin(), server.end(),
                      "~ tls-san: [127.0.0.1] → [127.0.0.1, localhost, k3s.lab.example]"),
            server.end());
  EXPECT_NE(std::find(server.begin(), server.end(), "+ node-ip: 10.0.1.10"), server.end());
}

TEST(K3sPlan, FreshNodeInstallsWritesAndStarts) {
  k3s::NodeFacts f;
  auto s = k3s::planNode(f, "v1.34.1+k3s1", "node-name: a\n");
  EXPECT_TRUE(s.install);
  EXPECT_TRUE(s.writeConfig);
  EXPECT_TRUE(s.restart);
  EXPECT_EQ(s.action, "install");
  EXPECT_NE(s.detail.find("none installed"), std::string::npos);
}

TEST(K3sPlan, MatchingRunningNodeIsLeftAlone) {
  k3s::NodeFacts f;
  f.version = "v1.34.1+k3s1";
  f.running = true;
  f.config = "node-name: a\n";
  auto s = k3s::planNode(f, "v1.34.1+k3s1", "node-name: a\n");
  EXPECT_TRUE(s.converged());
  EXPECT_EQ(s.action, "");
}

TEST(K3sPlan, NewVersionUpgradesAndRestarts) {
  k3s::NodeFacts f;
  f.version = "v1.34.1+k3s1";
  f.running = true;
  f.config = "node-name: a\n";
  auto s = k3s::planNode(f, "v1.34.2+k3s1", "node-name: a\n");
  EXPECT_TRUE(s.install);
  EXPECT_FALSE(s.writeConfig);
  EXPECT_TRUE(s.restart);
  EXPECT_EQ(s.action, "upgrade");
  EXPECT_EQ(s.detail, "k3s v1.34.1+k3s1 → v1.34.2+k3s1");
}

TEST(K3sPlan, ChangedConfigRestartsWithoutReinstalling) {
  k3s::NodeFacts f;
  f.version = "v1.34.1+k3s1";
  f.running = true;
  f.config = "node-name: a\n";
  auto s = k3s::planNode(f, "v1.34.1+k3s1", "node-name: b\n");
  EXPECT_FALSE(s.install);
  EXPECT_TRUE(s.writeConfig);
  EXPECT_TRUE(s.restart);
  EXPECT_EQ(s.action, "update");
  EXPECT_EQ(s.diff, (std::vector<std::string>{"~ node-name: a → b"}));
}

TEST(K3sPlan, StoppedNodeIsStarted) {
  k3s::NodeFacts f;
  f.version = "v1.34.1+k3s1";
  f.config = "node-name: a\n";
  auto s = k3s::planNode(f, "v1.34.1+k3s1", "node-name: a\n");
  EXPECT_FALSE(s.install);
  EXPECT_FALSE(s.writeConfig);
  EXPECT_TRUE(s.restart);
  EXPECT_EQ(s.action, "start");
}

TEST(K3sCommands, AllParseAsPosixShell) {
  EXPECT_TRUE(shellParses(k3s::probeCommand()));
  EXPECT_TRUE(shellParses(k3s::writeConfigCommand()));
  for (bool systemd : {false, true}) {
    EXPECT_TRUE(shellParses(k3s::startCommand(k3s::Role::Server, systemd))) << systemd;
    EXPECT_TRUE(shellParses(k3s::startCommand(k3s::Role::Agent, systemd))) << systemd;
  }
  EXPECT_TRUE(shellParses(k3s::onlineInstallCommand(k3s::Role::Server, "v1.34.1+k3s1")));
  EXPECT_TRUE(shellParses(k3s::airgapInstallCommand(k3s::Role::Agent, "v1.34.1+k3s1", "/tmp/i.sh")));
  auto start = k3s::startCommand(k3s::Role::Agent, false);
  EXPECT_NE(start.find("setsid /usr/local/bin/k3s agent"), std::string::npos);
  EXPECT_NE(k3s::startCommand(k3s::Role::Server, true).find("systemctl restart k3s"), std::string::npos);
  EXPECT_NE(k3s::airgapInstallCommand(k3s::Role::Server, "v1", "/x").find("INSTALL_K3S_SKIP_DOWNLOAD=true"),
            std::string::npos);
}

TEST(K3sKubeconfig, RewritesServerAndNamesEverythingAfterTheContext) {
  const std::string k3sYaml = R"(apiVersion: v1
clusters:
- cluster:
    certificate-authority-data: Q0E=
    server: https://127.0.0.1:6443
  name: default
contexts:
- context:
    cluster: default
    user: default
  name: default
current-context: default
kind: Config
preferences: {}
users:
- name: default
  user:
    client-certificate-data: Q0VSVA==
    client-key-data: S0VZ
)";
  auto r = k3s::rewriteKubeconfig(k3sYaml, "https://127.0.0.1:16443", "ca4");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_NE(r->find("server: https://127.0.0.1:16443"), std::string::npos) << *r;
  EXPECT_NE(r->find("current-context: ca4"), std::string::npos) << *r;
  EXPECT_EQ(r->find("default"), std::string::npos) << *r;
  EXPECT_NE(r->find("client-key-data: S0VZ"), std::string::npos);
  EXPECT_NE(r->find("certificate-authority-data: Q0E="), std::string::npos);
  EXPECT_FALSE(k3s::rewriteKubeconfig("clusters: []\n", "https://x", "ca4").ok());
  EXPECT_FALSE(k3s::rewriteKubeconfig(": : :\n[", "https://x", "ca4").ok());
}

TEST(K3sToken, Shape) {
  EXPECT_TRUE(k3s::looksLikeNodeToken(kToken));
  EXPECT_FALSE(k3s::looksLikeNodeToken("secret"));
  EXPECT_FALSE(k3s::looksLikeNodeToken("K10abc"));
}
