// The remote-hosts issue's acceptance tests: the real ca4ctl with target hosts on a VPC made of
// network namespaces (tests/testbed/vpc.sh: a bastion on a public net joined to this host, two
// edge nodes on a private net behind it, Debian's sshd in each). The "k3s binary" ca4ctl uploads
// (air-gapped install, the product's code path unchanged) is tests/testbed/k3s-standin.sh, which
// starts the real control plane (kube-apiserver, etcd, controller-manager, scheduler, KWOK) inside
// the server node's namespace and lets the agent register its node with the join token.
//   up → K3s on both nodes through the bastion, kubeconfig fetched (0600) and rewritten to the
//   tunnel endpoint, manifests applied through the tunnel, nodes and workloads Ready → up again:
//   no change, no restart, no file rewritten → the bastion's sshd killed and restarted: the
//   background tunnel reconnects and its probe passes → wrong host key: refused, nothing run on
//   that host → wrong user key: a clear auth error → a new k3s version: upgraded node by node →
//   a binary that is not the pinned version: refused → no private key, token or kubeconfig
//   content in any output, log or state file.
// The OpenSSH client and kubectl are the tests' independent observers; ca4ctl uses neither.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "ca4/testsupport/net.hpp"
#include "ca4/testsupport/shell.hpp"

namespace fs = std::filesystem;
using json = nlohmann::json;
using namespace std::chrono_literals;

namespace {

using ca4::testsupport::slurp;
using ca4::testsupport::spit;
using Cmd = ca4::testsupport::ShellResult;
std::string quote(const std::string& s) { return ca4::testsupport::shq(s); }

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ' || s.back() == '\r')) s.pop_back();
  return s;
}

constexpr const char* kPrefix = "c4h";
constexpr const char* kSubnet = "10.82";
constexpr const char* kV1 = "v1.34.1+k3s1";
constexpr const char* kV2 = "v1.34.2+k3s1";

class HostsTarget : public ::testing::Test {
 protected:
  static inline std::unique_ptr<ca4::testsupport::TempDir> dir_;
  static inline std::string mongo_password_, api_key_;
  static inline std::vector<std::string> all_output_;
  static inline bool vpc_up_ = false;
  static inline int api_port_ = 0;

  static fs::path dir() { return dir_->path(); }
  static fs::path vpc() { return dir() / "vpc"; }
  static std::string source() { return ca4::testsupport::sourceDir().string(); }
  static std::string bin() { return ca4::testsupport::binDir().string(); }
  static std::string vpcSh() { return quote(source() + "/tests/testbed/vpc.sh"); }
  static std::string vpcArgs() {
    return " --data-dir " + quote(vpc().string()) + " --prefix " + kPrefix;
  }
  static fs::path kubeconfig() { return dir() / "kubeconfigs" / "ca4-kubeconfig"; }

  static Cmd sh(const std::string& cmd, bool record = false) {
    auto r = ca4::testsupport::runShell(cmd, dir());
    if (record) all_output_.push_back(r.out + r.err);
    return r;
  }
  // ca4ctl in the test directory, with the secrets in its environment.
  static Cmd ca4ctl(const std::vector<std::string>& args, const std::string& spec = "ca4.yaml") {
    std::string cmd = "cd " + quote(dir().string()) + " && CA4_IT_MONGO_URI=" +
                      quote("mongodb://ca4:" + mongo_password_ + "@docdb.internal:27017/ca4") +
                      " CA4_IT_API_KEY=" + quote(api_key_) + " " + quote(bin() + "/ca4ctl") + " -f " +
                      quote(spec);
    for (const auto& a : args) cmd += " " + quote(a);
    auto r = sh(cmd, true);
    std::fprintf(stderr, "[ca4ctl %s] rc=%d %.2fs\n%s%s", args.empty() ? "" : args.front().c_str(), r.rc,
                 r.seconds, r.out.c_str(), r.err.c_str());
    return r;
  }
  // The OpenSSH client through the VPC's ssh_config (the observer).
  static Cmd onNode(const std::string& host, const std::string& command) {
    return sh("ssh -F " + quote((vpc() / "ssh_config").string()) + " " + host + " " + quote(command));
  }
  static Cmd kubectl(const std::string& args) {
    return sh("kubectl --kubeconfig " + quote(kubeconfig().string()) + " " + args);
  }
  static std::vector<json> jsonLines(const std::string& out) {
    std::vector<json> v;
    std::istringstream in(out);
    for (std::string line; std::getline(in, line);) {
      json j = json::parse(line, nullptr, false);
      if (!j.is_discarded()) v.push_back(j);
    }
    return v;
  }
  static std::vector<std::string> changes(const std::string& out) {
    std::vector<std::string> s;
    for (const auto& e : jsonLines(out))
      if (e.value("type", "") == "stage.change") s.push_back(e.value("action", "") + " " + e.value("object", ""));
    return s;
  }
  static std::string sshdLog(const std::string& ns) { return slurp(vpc() / "logs" / (ns + ".log")); }

  static std::string hosts(const std::string& knownHosts, const std::string& identity) {
    const std::string sub = kSubnet;
    return "  hosts:\n"
           "    bastion: {name: bastion, address: " + sub + ".0.10, user: root, identityFile: " + identity + "}\n"
           "    nodes:\n"
           "      - {name: edge-1, address: " + sub + ".1.11, user: root, identityFile: " + identity + "}\n"
           "      - {name: edge-2, address: " + sub + ".1.12, user: root, identityFile: " + identity + "}\n"
           "    knownHosts: " + knownHosts + "\n"
           "    sshConfig: \"\"\n";
  }
  static std::string spec(const std::string& version, const std::string& binary,
                          const std::string& knownHosts = "vpc/known_hosts",
                          const std::string& identity = "vpc/id_ed25519", std::string hostsBlock = "") {
    if (hostsBlock.empty()) hostsBlock = hosts(knownHosts, identity);
    return "apiVersion: ca4.dev/v1alpha1\n"
           "kind: Pipeline\n"
           "metadata: {name: ca4-hosts-it}\n"
           "spec:\n"
           "  target: hosts\n" + hostsBlock +
           "  cluster:\n"
           "    k3sVersion: " + version + "\n"
           "    installMode: airgap\n"
           "    airgapBinary: " + binary + "\n"
           "    tlsSans: [k3s.lab.test]\n"
           "    manifests: " + source() + "/manifests\n"
           "    readyTimeout: 180s\n"
           "  tunnels:\n"
           "    - {name: k3s, localPort: " + std::to_string(api_port_) + ", remoteHost: k3s-api, remotePort: 6443}\n"
           "  platform:\n"
           "    db: {uri: \"${CA4_IT_MONGO_URI}\"}\n"
           "    archive: {bucket: ca4-it-archive, endpoint: \"http://s3.internal:9000\"}\n"
           "  edge:\n"
           "    kafka: {partitions: 3}\n"
           "    processor: {apiKey: \"${CA4_IT_API_KEY}\"}\n";
  }

  struct NodeState {
    std::string pid, binMtime, configMtime;
  };
  static NodeState nodeState(const std::string& host) {
    auto r = onNode(host, "cat /var/lib/rancher/k3s/ca4/k3s.pid; stat -c %Y /usr/local/bin/k3s; "
                          "stat -c %Y /etc/rancher/k3s/config.yaml");
    std::istringstream in(r.out);
    NodeState s;
    in >> s.pid >> s.binMtime >> s.configMtime;
    return s;
  }

  static void SetUpTestSuite() {
    dir_ = std::make_unique<ca4::testsupport::TempDir>("ca4-hosts-it");
    std::mt19937_64 rng(std::random_device{}());
    mongo_password_ = "pw" + std::to_string(rng());
    api_key_ = "key" + std::to_string(rng()) + std::to_string(rng());
    api_port_ = ca4::testsupport::freeLoopbackPort();
    sh(vpcSh() + " down" + vpcArgs());  // a VPC left by a killed run
    auto up = sh(vpcSh() + " up" + vpcArgs() + " --subnet " + kSubnet + " --nodes 2");
    std::fprintf(stderr, "%s%s", up.out.c_str(), up.err.c_str());
    ASSERT_EQ(up.rc, 0) << "the VPC did not come up (root, iproute2 and openssh-server needed)\n" << up.err;
    vpc_up_ = true;
    for (auto [v, f] : {std::pair{kV1, "k3s-v1"}, std::pair{kV2, "k3s-v2"}}) {
      auto r = sh(quote(source() + "/tests/testbed/k3s-standin.sh") + " render --version " + v + " --out " +
                  quote((dir() / f).string()));
      ASSERT_EQ(r.rc, 0) << r.err;
    }
    spit(dir() / "ca4.yaml", spec(kV1, "k3s-v1"));
  }
  static void TearDownTestSuite() {
    if (dir_) ca4ctl({"tunnel", "stop"});
    if (vpc_up_) sh(vpcSh() + " down" + vpcArgs());
    dir_.reset();
  }
};

TEST_F(HostsTarget, A_UpBootstrapsK3sThroughTheBastionAndAppliesEverything) {
  auto up = ca4ctl({"up", "-o", "json"});
  ASSERT_EQ(up.rc, 0) << up.out << up.err;
  auto ch = changes(up.out);
  EXPECT_NE(std::find(ch.begin(), ch.end(), "install node/edge-1"), ch.end()) << up.out;
  EXPECT_NE(std::find(ch.begin(), ch.end(), "install node/edge-2"), ch.end()) << up.out;

  // the kubeconfig: 0600, the users' tunnel endpoint, context ca4
  struct stat st {};
  ASSERT_EQ(::stat(kubeconfig().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  const std::string kc = slurp(kubeconfig());
  EXPECT_NE(kc.find("server: https://127.0.0.1:" + std::to_string(api_port_)), std::string::npos) << kc;
  EXPECT_NE(kc.find("current-context: ca4"), std::string::npos);

  // the k3s binary is on the nodes, not on this host
  EXPECT_EQ(trim(onNode("node-1", "/usr/local/bin/k3s --version | head -n1").out),
            std::string("k3s version ") + kV1 + " (ca4standin)");
  EXPECT_EQ(trim(onNode("node-2", "stat -c %a /etc/rancher/k3s/config.yaml").out), "600");

  // the users' tunnel, in the background; kubectl through it
  auto t = ca4ctl({"tunnel", "k3s", "--background"});
  ASSERT_EQ(t.rc, 0) << t.out << t.err;
  auto nodes = kubectl("get nodes -o json");
  ASSERT_EQ(nodes.rc, 0) << nodes.err;
  std::set<std::string> ready;
  const json list = json::parse(nodes.out);
  for (const auto& n : list["items"]) {
    for (const auto& c : n["status"]["conditions"]) {
      if (c["type"] == "Ready" && c["status"] == "True") ready.insert(n["metadata"]["name"]);
    }
  }
  EXPECT_EQ(ready, (std::set<std::string>{"edge-1", "edge-2"})) << nodes.out.substr(0, 3000);
  // workloads rolled out on the nodes
  for (const char* w : {"deployment/processor-api -n app", "deployment/metadata-worker -n app",
                        "statefulset/kafka -n platform"}) {
    auto r = kubectl(std::string("rollout status --timeout=60s ") + w);
    EXPECT_EQ(r.rc, 0) << w << ": " << r.out << r.err;
  }
  auto pods = kubectl("get pods -A -o jsonpath='{.items[*].spec.nodeName}'");
  EXPECT_NE(pods.out.find("edge-"), std::string::npos) << pods.out;
}

TEST_F(HostsTarget, A2_DoctorLogsIntoEveryHost) {
  auto d = ca4ctl({"doctor"});
  EXPECT_EQ(d.rc, 0) << d.out << d.err;
  for (const char* h : {"ssh bastion", "ssh edge-1", "ssh edge-2"}) EXPECT_NE(d.out.find(h), std::string::npos) << d.out;
  EXPECT_NE(d.out.find("host key verified, logged in (through bastion)"), std::string::npos) << d.out;
}

TEST_F(HostsTarget, B_UpAgainChangesNothingAndRestartsNothing) {
  auto before1 = nodeState("node-1"), before2 = nodeState("node-2");
  ASSERT_FALSE(before1.pid.empty());
  const auto kcTime = fs::last_write_time(kubeconfig());
  auto plan = ca4ctl({"plan", "-o", "json"});
  EXPECT_EQ(plan.rc, 0) << plan.out;
  auto up = ca4ctl({"up", "-o", "json"});
  ASSERT_EQ(up.rc, 0) << up.out << up.err;
  EXPECT_TRUE(changes(up.out).empty()) << up.out;
  auto after1 = nodeState("node-1"), after2 = nodeState("node-2");
  EXPECT_EQ(after1.pid, before1.pid) << "the k3s server restarted";
  EXPECT_EQ(after2.pid, before2.pid) << "the k3s agent restarted";
  EXPECT_EQ(after1.binMtime, before1.binMtime);
  EXPECT_EQ(after1.configMtime, before1.configMtime);
  EXPECT_EQ(after2.configMtime, before2.configMtime);
  EXPECT_EQ(fs::last_write_time(kubeconfig()), kcTime);
}

TEST_F(HostsTarget, C_BastionSshdRestartedTheTunnelReconnects) {
  auto st = ca4ctl({"tunnel", "status"});
  ASSERT_EQ(st.rc, 0) << st.out << st.err;
  auto stop = sh(vpcSh() + " sshd-stop" + vpcArgs() + " --kill-sessions bastion");
  ASSERT_EQ(stop.rc, 0) << stop.err;
  // the tunnel notices (its record leaves "up")
  bool noticed = false;
  for (int i = 0; i < 100 && !noticed; ++i) {
    json rec = json::parse(slurp(dir() / ".ca4" / "tunnel.json"), nullptr, false);
    noticed = !rec.is_discarded() && rec.value("state", "") != "up";
    if (!noticed) std::this_thread::sleep_for(100ms);
  }
  EXPECT_TRUE(noticed) << slurp(dir() / ".ca4" / "tunnel.json");
  EXPECT_NE(ca4ctl({"tunnel", "status"}).rc, 0);
  std::this_thread::sleep_for(1s);
  auto start = sh(vpcSh() + " sshd-start" + vpcArgs() + " bastion");
  ASSERT_EQ(start.rc, 0) << start.err;
  int rc = -1;
  for (int i = 0; i < 60 && rc != 0; ++i) {
    rc = ca4ctl({"tunnel", "status"}).rc;
    if (rc != 0) std::this_thread::sleep_for(500ms);
  }
  EXPECT_EQ(rc, 0) << slurp(dir() / ".ca4" / "tunnel.log");
  auto nodes = kubectl("get nodes");
  EXPECT_EQ(nodes.rc, 0) << nodes.err;
  const std::string log = slurp(dir() / ".ca4" / "tunnel.log");
  EXPECT_NE(log.find("\"state\":\"reconnecting\""), std::string::npos) << log;
  EXPECT_GE(log.rfind("\"state\":\"up\""), log.find("\"state\":\"reconnecting\"")) << log;
}

TEST_F(HostsTarget, D_WrongHostKeyIsRefusedAndNothingRunsThere) {
  // the bastion's entry carries node-1's key
  std::string kh = slurp(vpc() / "known_hosts"), bastionLine, nodeKey;
  std::istringstream in(kh);
  for (std::string l; std::getline(in, l);) {
    if (l.rfind(std::string(kSubnet) + ".0.10 ", 0) == 0) bastionLine = l;
    if (l.rfind(std::string(kSubnet) + ".1.11 ", 0) == 0) nodeKey = l.substr(l.find(' ') + 1);
  }
  ASSERT_FALSE(bastionLine.empty()) << kh;
  ASSERT_FALSE(nodeKey.empty()) << kh;
  std::string wrong = kh;
  wrong.replace(wrong.find(bastionLine), bastionLine.size(), std::string(kSubnet) + ".0.10 " + nodeKey);
  spit(dir() / "known_hosts_wrong", wrong);
  spit(dir() / "wrong-hostkey.yaml", spec(kV1, "k3s-v1", "known_hosts_wrong"));
  const std::string ns = std::string(kPrefix) + "-bastion";
  const std::size_t logBefore = sshdLog(ns).size();
  auto up = ca4ctl({"up"}, "wrong-hostkey.yaml");
  EXPECT_EQ(up.rc, 1);
  const std::string all = up.out + up.err;
  EXPECT_NE(all.find("[host-key-mismatch]"), std::string::npos) << all;
  EXPECT_NE(all.find(std::string(kSubnet) + ".0.10"), std::string::npos) << all;
  EXPECT_NE(all.find("SHA256:"), std::string::npos) << all;
  std::this_thread::sleep_for(300ms);
  const std::string log = sshdLog(ns).substr(logBefore);
  EXPECT_EQ(log.find("Accepted publickey"), std::string::npos) << "authenticated despite the mismatch:\n" << log;
  auto doctor = ca4ctl({"doctor"}, "wrong-hostkey.yaml");
  EXPECT_EQ(doctor.rc, 1);
  EXPECT_NE(doctor.out.find("[host-key-mismatch]"), std::string::npos) << doctor.out;
}

TEST_F(HostsTarget, E_WrongUserKeyIsAClearAuthError) {
  auto kg = sh("ssh-keygen -q -t ed25519 -N '' -C stranger -f " + quote((dir() / "id_stranger").string()));
  ASSERT_EQ(kg.rc, 0) << kg.err;
  spit(dir() / "wrong-key.yaml", spec(kV1, "k3s-v1", "vpc/known_hosts", "id_stranger"));
  auto up = ca4ctl({"up"}, "wrong-key.yaml");
  EXPECT_EQ(up.rc, 1);
  const std::string all = up.out + up.err;
  EXPECT_NE(all.find("[auth-failed]"), std::string::npos) << all;
  EXPECT_NE(all.find("root@" + std::string(kSubnet) + ".0.10"), std::string::npos) << all;
}

TEST_F(HostsTarget, F_NewVersionIsUpgradedNodeByNode) {
  auto before1 = nodeState("node-1");
  spit(dir() / "ca4.yaml", spec(kV2, "k3s-v2"));
  auto plan = ca4ctl({"plan", "-o", "json"});
  EXPECT_EQ(plan.rc, 2) << plan.out;
  auto ch = changes(plan.out);
  EXPECT_NE(std::find(ch.begin(), ch.end(), "upgrade node/edge-1"), ch.end()) << plan.out;
  EXPECT_NE(std::find(ch.begin(), ch.end(), "upgrade node/edge-2"), ch.end()) << plan.out;
  auto up = ca4ctl({"up", "-o", "json"});
  ASSERT_EQ(up.rc, 0) << up.out << up.err;
  // server first, Ready, then the agent
  const auto p1 = up.out.find("edge-1: Ready"), p2 = up.out.find("edge-2: restarting");
  EXPECT_NE(p1, std::string::npos) << up.out;
  EXPECT_NE(p2, std::string::npos) << up.out;
  EXPECT_LT(p1, p2) << up.out;
  for (const char* h : {"node-1", "node-2"}) {
    EXPECT_EQ(trim(onNode(h, "/usr/local/bin/k3s --version | head -n1").out),
              std::string("k3s version ") + kV2 + " (ca4standin)");
  }
  EXPECT_NE(nodeState("node-1").pid, before1.pid);
  auto again = ca4ctl({"up", "-o", "json"});
  EXPECT_EQ(again.rc, 0);
  EXPECT_TRUE(changes(again.out).empty()) << again.out;
}

TEST_F(HostsTarget, F2_SshConfigAliasesReachTheSameConvergedCluster) {
  // Only Host aliases of the VPC's ssh_config (HostName, User, Port, IdentityFile; the nodes'
  // ProxyJump is the bastion anyway): the same machines, so nothing to change.
  spit(dir() / "aliases.yaml", spec(kV2, "k3s-v2", "", "",
                                    "  hosts:\n"
                                    "    bastion: {name: bastion, address: bastion}\n"
                                    "    nodes:\n"
                                    "      - {name: edge-1, address: node-1}\n"
                                    "      - {name: edge-2, address: node-2}\n"
                                    "    knownHosts: vpc/known_hosts\n"
                                    "    sshConfig: vpc/ssh_config\n"));
  auto plan = ca4ctl({"plan", "--stage", "cluster", "-o", "json"}, "aliases.yaml");
  EXPECT_EQ(plan.rc, 0) << plan.out << plan.err;
  EXPECT_TRUE(changes(plan.out).empty()) << plan.out;
  auto st = ca4ctl({"status"}, "aliases.yaml");
  EXPECT_NE(st.out.find("k3s " + std::string(kV2) + " server"), std::string::npos) << st.out;
}

TEST_F(HostsTarget, G_ABinaryOfAnotherVersionIsRefused) {
  spit(dir() / "mismatch.yaml", spec("v1.34.3+k3s1", "k3s-v2"));
  auto up = ca4ctl({"up", "--stage", "cluster"}, "mismatch.yaml");
  EXPECT_EQ(up.rc, 1);
  const std::string all = up.out + up.err;
  EXPECT_NE(all.find(std::string("reports ") + kV2 + ", but spec.cluster.k3sVersion is v1.34.3+k3s1"),
            std::string::npos)
      << all;
  // the wrong file never replaced the node's k3s
  EXPECT_EQ(trim(onNode("node-1", "/usr/local/bin/k3s --version | head -n1; ls /usr/local/bin").out),
            std::string("k3s version ") + kV2 + " (ca4standin)\nk3s");
}

TEST_F(HostsTarget, H_NoKeyTokenOrKubeconfigContentAnywhere) {
  const std::string token = trim(onNode("node-1", "cat /var/lib/rancher/k3s/server/node-token").out);
  ASSERT_GT(token.size(), 20u);
  const std::string secretPart = token.substr(token.rfind(':') + 1);
  std::vector<std::string> secrets{token, secretPart, mongo_password_, api_key_};
  for (const std::string key : {"client-key-data: ", "client-certificate-data: "}) {
    const std::string kc = slurp(kubeconfig());
    auto p = kc.find(key);
    ASSERT_NE(p, std::string::npos);
    secrets.push_back(kc.substr(p + key.size(), 40));
  }
  std::istringstream priv(slurp(vpc() / "id_ed25519"));
  for (std::string l; std::getline(priv, l);) {
    if (l.size() >= 40 && l.find("-----") == std::string::npos) secrets.push_back(l.substr(0, 40));
  }
  std::vector<std::pair<std::string, std::string>> places;
  for (std::size_t i = 0; i < all_output_.size(); ++i) places.push_back({"output " + std::to_string(i), all_output_[i]});
  for (const char* f : {".ca4/state.json", ".ca4/tunnel.log", ".ca4/tunnel.json"}) {
    places.push_back({f, slurp(dir() / f)});
  }
  ASSERT_FALSE(places[0].second.empty());
  for (const auto& [where, text] : places) {
    for (const auto& s : secrets) {
      EXPECT_EQ(text.find(s), std::string::npos) << "a secret (" << s.size() << " chars) in " << where;
    }
  }
  // state.json and the tunnel record are private
  for (const char* f : {".ca4/state.json", ".ca4/tunnel.json"}) {
    struct stat st {};
    if (::stat((dir() / f).c_str(), &st) == 0) {
      EXPECT_EQ(st.st_mode & 0077, 0u) << f;
    }
  }
}

}  // namespace
