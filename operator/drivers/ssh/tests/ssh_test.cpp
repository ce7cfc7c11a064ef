// Pure helpers of the SSH driver: fingerprints (pinned against `ssh-keygen -lf`), known_hosts
// names and lookup (plain, [addr]:port, hashed, negated, revoked), shell quoting, error classes.
#include <ca4/drivers/ssh/ssh.h>
#include <ca4/drivers/ssh/ssh_config.h>
#include <ca4/drivers/ssh/tunnel.h>
#include <gtest/gtest.h>

#include "known_hosts.h"

namespace ssh = ca4::drivers::ssh;
namespace d = ca4::drivers::ssh::detail;

namespace {

// Generated once with `ssh-keygen -t ed25519` / `-t rsa -b 2048`; the expected fingerprints are
// what `ssh-keygen -lf k.pub` printed for them.
const char* kEd25519B64 = "AAAAC3NzaC1lZDI1NTE5AAAAIHbpRAyBaa7H5ZaGGSVlVfGXjpNdQ5AIYV2bhHyk38ru";
const char* kEd25519Fp = "SHA256:CxY1M17DLb7jrSfZ8DIQ9n0q+/HYHxwa4Tso+HeXPlE";
const char* kRsaB64 =
    "AAAAB3NzaC1yc2EAAAADAQABAAABAQDRUdgIrFtcILoYJ1EfXc2e4nrSZ4rFkFYuHRjIOXx3o95LCBQs9GN4m1w+"
    "DIZPKai8oqgtQSmLyck0aKSe"
    "XriwyWjh5Td8Zk7xcDhHr+Y4JW9D1HKUf0XzUYsJsXasUk22rdmI/"
    "piIK6sJbvHMqzboo3aud4Cck4xSIHMHNysyZEtUrThXl8zWYT5l5QfO0QRg"
    "4+x4ZlAKPdheawBfNaCzm+PpJS1TaLqwX+r0vCIb/"
    "fyXrdQTIDmgYI0NGys6ztGLjVEMsSFQY7E2pH7wstSbzKe1syFTgQBmAzdtm1aNJ3ux9y73"
    "oIl4fFKNUfAW4y90SRG61YziaInbDRdmNpTJ";
const char* kRsaFp = "SHA256:0WnzrfUxuHYKOvzmY3/zTAw/BS8ZVE9QbSx0ROwOzos";
// `ssh-keygen -H` of "[10.0.0.5]:2222 ssh-ed25519 <kEd25519B64>"
const char* kHashedLine =
    "|1|Ei+KX6U0moUPyCbrJt1wXUqIQuk=|JIb71vXNAi9ToaBud1vBCJl3gDE= ssh-ed25519 "
    "AAAAC3NzaC1lZDI1NTE5AAAAIHbpRAyBaa7H5ZaGGSVlVfGXjpNdQ5AIYV2bhHyk38ru";

std::string blob(const char* b64) { return d::base64Decode(b64).value(); }

}  // namespace

TEST(Fingerprint, MatchesSshKeygenForEd25519AndRsa) {
  EXPECT_EQ(ssh::fingerprintSha256(blob(kEd25519B64)), kEd25519Fp);
  EXPECT_EQ(ssh::fingerprintSha256(blob(kRsaB64)), kRsaFp);
}

TEST(Base64, RoundTripsAllPaddings) {
  for (const std::string& s :
       std::vector<std::string>{"", "a", "ab", "abc", "abcd", std::string("\0\xff\x10", 3)}) {
    auto enc = d::base64Encode(s);
    auto dec = d::base64Decode(enc);
    ASSERT_TRUE(dec.has_value()) << enc;
    EXPECT_EQ(*dec, s);
  }
  EXPECT_EQ(d::base64Encode(blob(kEd25519B64)), kEd25519B64);
  EXPECT_FALSE(d::base64Decode("!!!!").has_value());
}

TEST(KnownHostsName, BracketsNonDefaultPorts) {
  EXPECT_EQ(ssh::knownHostsName("10.0.0.5", 22), "10.0.0.5");
  EXPECT_EQ(ssh::knownHostsName("10.0.0.5", 2222), "[10.0.0.5]:2222");
  EXPECT_EQ(ssh::knownHostsName("bastion.example", 22), "bastion.example");
  EXPECT_EQ(ssh::knownHostsName("::1", 2200), "[::1]:2200");
}

TEST(ShellQuote, QuotesAndEscapesSingleQuotes) {
  EXPECT_EQ(ssh::shellQuote("abc"), "'abc'");
  EXPECT_EQ(ssh::shellQuote(""), "''");
  EXPECT_EQ(ssh::shellQuote("it's"), "'it'\\''s'");
  EXPECT_EQ(ssh::shellQuote("a b;$(rm -rf /)`x`\"q\""), "'a b;$(rm -rf /)`x`\"q\"'");
  EXPECT_EQ(ssh::shellQuote("''"), "''\\'''\\'''");
}

TEST(HostPatterns, PlainWildcardNegatedHashed) {
  EXPECT_TRUE(d::hostPatternsMatch("10.0.0.5", "10.0.0.5"));
  EXPECT_FALSE(
      d::hostPatternsMatch("10.0.0.5", "[10.0.0.5]:2222"));  // the port is part of the name
  EXPECT_TRUE(d::hostPatternsMatch("a,[10.0.0.5]:2222", "[10.0.0.5]:2222"));
  EXPECT_TRUE(d::hostPatternsMatch("*.lan", "edge-1.lan"));
  EXPECT_TRUE(d::hostPatternsMatch("edge-?.lan", "edge-1.lan"));
  EXPECT_FALSE(d::hostPatternsMatch("*.lan,!edge-1.lan", "edge-1.lan"));
  std::string hashed = std::string(kHashedLine).substr(0, std::string(kHashedLine).find(' '));
  EXPECT_TRUE(d::hostPatternsMatch(hashed, "[10.0.0.5]:2222"));
  EXPECT_FALSE(d::hostPatternsMatch(hashed, "10.0.0.5"));
}

TEST(KnownHosts, MatchUnknownMismatchRevoked) {
  using K = d::KnownHostsVerdict::Kind;
  const std::string ed = blob(kEd25519B64), rsa = blob(kRsaB64);
  const std::string file = std::string("# comment\n\n") + "[10.0.0.5]:2222 ssh-ed25519 " +
                           kEd25519B64 + " c\n" + "@cert-authority * ssh-rsa " + kRsaB64 + "\n" +
                           "garbage\n";
  EXPECT_EQ(d::checkKnownHosts(file, "[10.0.0.5]:2222", ed).kind, K::Match);
  EXPECT_EQ(d::checkKnownHosts(file, "10.0.0.5", ed).kind, K::Unknown);  // cert-authority ignored
  auto mm = d::checkKnownHosts(file, "[10.0.0.5]:2222", rsa);
  EXPECT_EQ(mm.kind, K::Mismatch);
  ASSERT_EQ(mm.expected.size(), 1u);
  EXPECT_EQ(mm.expected[0], kEd25519Fp);
  EXPECT_EQ(d::checkKnownHosts(std::string(kHashedLine) + "\n", "[10.0.0.5]:2222", ed).kind,
            K::Match);
  EXPECT_EQ(d::checkKnownHosts(std::string("@revoked * ssh-ed25519 ") + kEd25519B64 + "\n" + file,
                               "[10.0.0.5]:2222", ed)
                .kind,
            K::Revoked);
  EXPECT_EQ(d::checkKnownHosts("", "x", ed).kind, K::Unknown);
}

TEST(KnownHosts, AppendedLineIsFoundAgain) {
  const std::string ed = blob(kEd25519B64);
  auto line = d::knownHostsLine("[127.0.0.1]:2022", "ssh-ed25519", ed);
  EXPECT_EQ(line, std::string("[127.0.0.1]:2022 ssh-ed25519 ") + kEd25519B64 + "\n");
  EXPECT_EQ(d::checkKnownHosts(line, "[127.0.0.1]:2022", ed).kind,
            d::KnownHostsVerdict::Kind::Match);
}

TEST(Errors, KindPrefixAndRetryClass) {
  auto e = d::makeError(ssh::SshErrorKind::Unreachable, "node: refused");
  EXPECT_TRUE(e.isRetryable());
  EXPECT_EQ(e.message, "[unreachable] node: refused");
  EXPECT_TRUE(d::makeError(ssh::SshErrorKind::Timeout, "x").isRetryable());
  for (auto k : {ssh::SshErrorKind::AuthFailed, ssh::SshErrorKind::HostKeyMismatch,
                 ssh::SshErrorKind::HostKeyUnknown, ssh::SshErrorKind::CommandFailed,
                 ssh::SshErrorKind::Sftp, ssh::SshErrorKind::Other}) {
    EXPECT_FALSE(d::makeError(k, "x").isRetryable()) << ssh::toString(k);
  }
  EXPECT_EQ(ssh::toString(ssh::SshErrorKind::HostKeyMismatch), "host-key-mismatch");
  EXPECT_EQ(d::describe({"node", "10.0.0.5", 2222, "root", ""}), "node (root@10.0.0.5:2222)");
  EXPECT_EQ(d::tail(std::string(3000, 'a') + "END").size(), 2048u);
}

TEST(TunnelBackoff, DoublesFromMinAndCapsAtMax) {
  using std::chrono::milliseconds;
  using ca4::drivers::ssh::backoffDelay;
  EXPECT_EQ(backoffDelay(1, milliseconds(500), milliseconds(30000)), milliseconds(500));
  EXPECT_EQ(backoffDelay(2, milliseconds(500), milliseconds(30000)), milliseconds(1000));
  EXPECT_EQ(backoffDelay(4, milliseconds(500), milliseconds(30000)), milliseconds(4000));
  EXPECT_EQ(backoffDelay(7, milliseconds(500), milliseconds(30000)), milliseconds(30000));
  EXPECT_EQ(backoffDelay(1000, milliseconds(500), milliseconds(30000)), milliseconds(30000));
  EXPECT_EQ(backoffDelay(0, milliseconds(500), milliseconds(30000)), milliseconds(500));
}

TEST(TunnelState, Names) {
  using ca4::drivers::ssh::TunnelState;
  EXPECT_EQ(ca4::drivers::ssh::toString(TunnelState::Reconnecting), "reconnecting");
  EXPECT_EQ(ca4::drivers::ssh::toString(TunnelState::Up), "up");
}

namespace {
const char* kSshConfig = R"(# a user's ~/.ssh/config
Host bastion lab-bastion
  HostName 203.0.113.10
  User ec2-user
  IdentityFile "~/.ssh/lab key.pem"
Host edge-* !edge-9
  HostName %h.lab.internal
  ProxyJump bastion
  Port=2222
Match host foo
  User nobody
Host *
  User root
  Port 22
  IdentityFile ~/.ssh/id_ed25519
)";
}  // namespace

TEST(SshConfig, FirstValueWinsAcrossMatchingBlocks) {
  auto b = ca4::drivers::ssh::lookupSshConfig(kSshConfig, "bastion");
  EXPECT_EQ(b.hostName, "203.0.113.10");
  EXPECT_EQ(b.user, "ec2-user");
  EXPECT_EQ(b.port, 22);  // from Host *
  EXPECT_EQ(b.identityFile, "~/.ssh/lab key.pem");
  EXPECT_EQ(b.proxyJump, "");
  EXPECT_EQ(b.ignored, (std::vector<std::string>{"Match at line 10"}));
}

TEST(SshConfig, PatternsNegationAndTokens) {
  auto e = ca4::drivers::ssh::lookupSshConfig(kSshConfig, "edge-1");
  EXPECT_EQ(e.hostName, "edge-1.lab.internal");
  EXPECT_EQ(e.port, 2222);
  EXPECT_EQ(e.proxyJump, "bastion");
  EXPECT_EQ(e.user, "root");
  auto nine = ca4::drivers::ssh::lookupSshConfig(kSshConfig, "edge-9");
  EXPECT_EQ(nine.hostName, "");
  EXPECT_EQ(nine.port, 22);
  auto other = ca4::drivers::ssh::lookupSshConfig(kSshConfig, "10.0.0.5");
  EXPECT_EQ(other.hostName, "");
  EXPECT_EQ(other.user, "root");  // Match blocks do not apply
  EXPECT_EQ(ca4::drivers::ssh::lookupSshConfig("", "x").user, "");
}

TEST(SshConfig, ProxyJumpLists) {
  auto j = ca4::drivers::ssh::parseProxyJump("admin@jump1:2200,jump2,[fd00::1]:22");
  ASSERT_EQ(j.size(), 3u);
  EXPECT_EQ(j[0].user, "admin");
  EXPECT_EQ(j[0].host, "jump1");
  EXPECT_EQ(j[0].port, 2200);
  EXPECT_EQ(j[1].host, "jump2");
  EXPECT_EQ(j[1].port, 0);
  EXPECT_EQ(j[2].host, "fd00::1");
  EXPECT_EQ(j[2].port, 22);
  EXPECT_TRUE(ca4::drivers::ssh::parseProxyJump("none").empty());
  EXPECT_TRUE(ca4::drivers::ssh::parseProxyJump("").empty());
}
