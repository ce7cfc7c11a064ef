// parseKubeconfig / loadKubeconfig: context selection, inline (base64) and file credentials,
// relative paths, refusals (exec plugins, half a client certificate), and that describe() and
// errors never carry key material or tokens.
#include <ca4/drivers/kube/cluster_access.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>

#include "temp_dir.h"

namespace ca4::drivers::kube {
namespace {

namespace fs = std::filesystem;
using engine::Result;

using test::TempDir;

// base64 of the strings below (printf %s … | base64).
constexpr const char* kCaPem = "CA-PEM-DATA";
constexpr const char* kCaB64 = "Q0EtUEVNLURBVEE=";
constexpr const char* kCertPem = "CLIENT-CERT-PEM";
constexpr const char* kCertB64 = "Q0xJRU5ULUNFUlQtUEVN";
constexpr const char* kKeyPem = "CLIENT-KEY-SECRET-MATERIAL";
constexpr const char* kKeyB64 = "Q0xJRU5ULUtFWS1TRUNSRVQtTUFURVJJQUw=";
constexpr const char* kToken = "tok-SECRET-0123456789";

// Two contexts: ca4 (client certificate, inline) and other (token, namespace, TLS verify off).
std::string twoContexts() {
  return std::string(R"(apiVersion: v1
kind: Config
current-context: ca4
clusters:
  - name: k3s
    cluster:
      server: https://127.0.0.1:16443/
      certificate-authority-data: )") +
         kCaB64 + R"(
  - name: lab
    cluster:
      server: https://lab.example:6443
      insecure-skip-tls-verify: true
contexts:
  - name: ca4
    context: {cluster: k3s, user: ca4-admin}
  - name: other
    context: {cluster: lab, user: robot, namespace: team}
users:
  - name: ca4-admin
    user:
      client-certificate-data: )" +
         kCertB64 + R"(
      client-key-data: )" + kKeyB64 + R"(
  - name: robot
    user:
      token: )" + kToken + "\n";
}

Result<ClusterAccess> parse(const std::string& yaml, const std::string& context = "",
                            const std::string& baseDir = "/etc/kube") {
  return parseKubeconfig(yaml, "kubeconfig.yaml", context, baseDir);
}

std::string errorOf(const Result<ClusterAccess>& r) {
  if (r.ok()) return "<ok>";
  EXPECT_FALSE(r.error().isRetryable()) << r.error().message;
  return r.error().message;
}

bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

TEST(Kubeconfig, CurrentContextWithInlineCertificates) {
  auto r = parse(twoContexts());
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->context, "ca4");
  EXPECT_EQ(r->user, "ca4-admin");
  EXPECT_EQ(r->server, "https://127.0.0.1:16443");  // trailing '/' trimmed
  EXPECT_EQ(r->caPem, kCaPem);
  EXPECT_EQ(r->certPem, kCertPem);
  EXPECT_EQ(r->keyPem, kKeyPem);
  EXPECT_TRUE(r->caFile.empty());
  EXPECT_TRUE(r->certFile.empty());
  EXPECT_TRUE(r->keyFile.empty());
  EXPECT_TRUE(r->token.empty());
  EXPECT_FALSE(r->insecureSkipVerify);
  EXPECT_EQ(r->defaultNamespace, "default");
  EXPECT_EQ(r->describe(),
            "context ca4, server https://127.0.0.1:16443, user ca4-admin (client certificate)");
}

TEST(Kubeconfig, ExplicitContextWithTokenAndInsecure) {
  auto r = parse(twoContexts(), "other");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->context, "other");
  EXPECT_EQ(r->user, "robot");
  EXPECT_EQ(r->server, "https://lab.example:6443");
  EXPECT_EQ(r->token, kToken);
  EXPECT_TRUE(r->insecureSkipVerify);
  EXPECT_EQ(r->defaultNamespace, "team");
  EXPECT_TRUE(r->certPem.empty());
  EXPECT_TRUE(r->keyPem.empty());
  const auto d = r->describe();
  EXPECT_TRUE(contains(d, "bearer token")) << d;
  EXPECT_TRUE(contains(d, "TLS verification OFF")) << d;
}

TEST(Kubeconfig, DescribeNeverShowsSecrets) {
  for (const char* ctx : {"ca4", "other"}) {
    auto r = parse(twoContexts(), ctx);
    ASSERT_TRUE(r.ok()) << r.error().message;
    const auto d = r->describe();
    EXPECT_FALSE(contains(d, kToken)) << d;
    EXPECT_FALSE(contains(d, "SECRET")) << d;
    EXPECT_FALSE(contains(d, kKeyPem)) << d;
    EXPECT_FALSE(contains(d, kKeyB64)) << d;
    EXPECT_FALSE(contains(d, kCertPem)) << d;
  }
}

TEST(Kubeconfig, UnknownContextListsTheAvailableOnes) {
  auto r = parse(twoContexts(), "prod");
  const auto msg = errorOf(r);
  EXPECT_TRUE(contains(msg, "kubeconfig.yaml")) << msg;
  EXPECT_TRUE(contains(msg, "context \"prod\" not found")) << msg;
  EXPECT_TRUE(contains(msg, "ca4, other")) << msg;
  EXPECT_FALSE(r.error().fix.empty());
}

TEST(Kubeconfig, NoContextAndNoCurrentContext) {
  std::string y = twoContexts();
  y.erase(y.find("current-context: ca4\n"), std::string("current-context: ca4\n").size());
  auto r = parse(y);
  EXPECT_TRUE(contains(errorOf(r), "no current-context"));
  EXPECT_TRUE(contains(r.error().fix, "ca4, other")) << r.error().fix;
}

TEST(Kubeconfig, FilePathsResolveAgainstBaseDir) {
  const std::string y = R"(current-context: c
clusters:
  - name: k
    cluster:
      server: https://10.0.0.1:6443
      certificate-authority: pki/ca.crt
contexts:
  - name: c
    context: {cluster: k, user: u}
users:
  - name: u
    user:
      client-certificate: pki/client.crt
      client-key: /abs/client.key
)";
  auto r = parse(y, "", "/home/me/.kube");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->caFile, "/home/me/.kube/pki/ca.crt");
  EXPECT_EQ(r->certFile, "/home/me/.kube/pki/client.crt");
  EXPECT_EQ(r->keyFile, "/abs/client.key");  // absolute: unchanged
  EXPECT_TRUE(r->caPem.empty());
  EXPECT_TRUE(contains(r->describe(), "client certificate"));
  EXPECT_FALSE(contains(r->describe(), "client.key"));
}

TEST(Kubeconfig, TokenFileIsRead) {
  TempDir d;
  d.write("token", std::string(kToken) + "\n");
  const std::string y = R"(current-context: c
clusters: [{name: k, cluster: {server: "https://k:6443"}}]
contexts: [{name: c, context: {cluster: k, user: u}}]
users: [{name: u, user: {tokenFile: token}}]
)";
  auto r = parse(y, "", d.str());
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->token, kToken);  // first line, no newline
  EXPECT_TRUE(contains(r->describe(), "bearer token"));
  EXPECT_FALSE(contains(r->describe(), kToken));

  // An inline token wins over tokenFile.
  std::string both = y;
  both.replace(both.find("{tokenFile: token}"), 18, "{token: inline, tokenFile: token}");
  auto b = parse(both, "", d.str());
  ASSERT_TRUE(b.ok()) << b.error().message;
  EXPECT_EQ(b->token, "inline");

  // An unreadable tokenFile names the file, not its content.
  auto missing = parse(y, "", d.str("nowhere"));
  const auto msg = errorOf(missing);
  EXPECT_TRUE(contains(msg, "tokenFile")) << msg;
  EXPECT_TRUE(contains(msg, d.str("nowhere/token"))) << msg;
}

TEST(Kubeconfig, CertificateWithoutKeyIsRefused) {
  const std::string y = std::string(R"(current-context: c
clusters: [{name: k, cluster: {server: "https://k:6443"}}]
contexts: [{name: c, context: {cluster: k, user: u}}]
users: [{name: u, user: {client-certificate-data: )") +
                        kCertB64 + "}}]\n";
  auto r = parse(y);
  EXPECT_TRUE(contains(errorOf(r), "client certificate without its key")) << errorOf(r);
  EXPECT_TRUE(contains(r.error().fix, "client-key")) << r.error().fix;

  // The reverse too, and the key never appears in the message.
  std::string keyOnly = y;
  keyOnly.replace(keyOnly.find("client-certificate-data: "), 25, "client-key-data: ");
  keyOnly.replace(keyOnly.find(kCertB64), std::string(kCertB64).size(), kKeyB64);
  auto k = parse(keyOnly);
  const auto msg = errorOf(k);
  EXPECT_TRUE(contains(msg, "without its key")) << msg;
  EXPECT_FALSE(contains(msg, kKeyPem));
  EXPECT_FALSE(contains(msg, kKeyB64));
}

TEST(Kubeconfig, ExecPluginIsRefused) {
  const std::string y = R"(current-context: eks
clusters: [{name: k, cluster: {server: "https://eks.example"}}]
contexts: [{name: eks, context: {cluster: k, user: aws}}]
users:
  - name: aws
    user:
      exec:
        apiVersion: client.authentication.k8s.io/v1beta1
        command: aws
        args: [eks, get-token, --cluster-name, ca4]
)";
  auto r = parse(y);
  const auto msg = errorOf(r);
  EXPECT_TRUE(contains(msg, "user \"aws\"")) << msg;
  EXPECT_TRUE(contains(msg, "exec")) << msg;
  EXPECT_FALSE(r.error().fix.empty());
}

TEST(Kubeconfig, BadInputs) {
  EXPECT_TRUE(contains(errorOf(parse("[a, b]")), "not a kubeconfig"));
  EXPECT_TRUE(contains(errorOf(parse("clusters: [\n")), "kubeconfig.yaml:"));
  std::string y = twoContexts();
  y.replace(y.find(kCaB64), std::string(kCaB64).size(), "not*base64");
  EXPECT_TRUE(contains(errorOf(parse(y)), "certificate-authority-data is not base64"));
  y = twoContexts();
  y.replace(y.find("https://127.0.0.1:16443/"), 24, "127.0.0.1:16443");
  EXPECT_TRUE(contains(errorOf(parse(y)), "no usable server URL"));
  y = twoContexts();
  y.replace(y.find("{cluster: k3s,"), 14, "{cluster: gone,");
  EXPECT_TRUE(contains(errorOf(parse(y)), "cluster \"gone\" of context \"ca4\" not found"));
  y = twoContexts();
  y.replace(y.find("user: ca4-admin}"), 16, "user: nobody}");
  EXPECT_TRUE(contains(errorOf(parse(y)), "user \"nobody\" of context \"ca4\" not found"));
}

TEST(Kubeconfig, LoadReadsTheFileAndResolvesRelativeToIt) {
  TempDir d;
  d.write("kube/config", R"(current-context: c
clusters: [{name: k, cluster: {server: "https://k:6443", certificate-authority: ca.crt}}]
contexts: [{name: c, context: {cluster: k, user: u}}]
users: [{name: u, user: {token: t}}]
)");
  auto r = loadKubeconfig(d.str("kube/config"), "");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->caFile, d.str("kube/ca.crt"));
  EXPECT_EQ(r->token, "t");
}

TEST(Kubeconfig, LoadMissingFileIsTerminalWithAFix) {
  TempDir d;
  auto r = loadKubeconfig(d.str("missing/kubeconfig"), "");
  ASSERT_FALSE(r.ok());
  EXPECT_FALSE(r.error().isRetryable());
  EXPECT_TRUE(contains(r.error().message, d.str("missing/kubeconfig"))) << r.error().message;
  EXPECT_TRUE(contains(r.error().fix, "spec.cluster.kubeconfig")) << r.error().fix;
}

}  // namespace
}  // namespace ca4::drivers::kube
