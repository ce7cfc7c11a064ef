// The SSH driver (operator/drivers/ssh) against REAL OpenSSH servers started by tests/support's
// SshServer: "bastion" and "bastion2" on 127.0.0.1, "node" on 127.0.0.2 (reached through the
// bastions' direct-tcpip forwards). No `ssh` binary is involved anywhere.
#include <arpa/inet.h>
#include <ca4/drivers/ssh/ssh.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <random>
#include <sstream>
#include <thread>

#include "ca4/testsupport/net.hpp"
#include "ca4/testsupport/shell.hpp"
#include "ca4/testsupport/process.hpp"
#include "ca4/testsupport/ssh_server.hpp"

namespace ts = ca4::testsupport;
namespace ssh = ca4::drivers::ssh;
using namespace std::chrono_literals;

namespace {

const std::string kPassphrase = "correct horse battery staple 9";

// The SHA256 fingerprint of a "type base64" public key, as `ssh-keygen -lf` prints it
// (independent of the driver's own fingerprint code).
std::string keygenFingerprint(const std::filesystem::path& dir, const std::string& publicKey) {
  static int n = 0;
  auto pub = dir / ("fp" + std::to_string(++n) + ".pub");
  ts::spit(pub, publicKey + "\n");
  auto log = dir / ("fp" + std::to_string(n) + ".out");
  auto p = ts::Process::start(
      {.argv = {"ssh-keygen", "-lf", pub.string()}, .env = {}, .cwd = {}, .logFile = log});
  auto rc = p.wait(30s);
  if (!rc || *rc != 0) throw std::runtime_error("ssh-keygen -lf failed: " + ts::slurp(log));
  std::istringstream out(ts::slurp(log));
  std::string bits, fp;
  out >> bits >> fp;
  return fp;
}

class SshIT : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    tmp_ = std::make_unique<ts::TempDir>("ca4-ssh-it");
    // The bastions log at DEBUG1 (direct-tcpip targets, userauth requests); the node at VERBOSE,
    // since at DEBUG sshd -e also writes debug lines into the sessions' stderr.
    bastion_ = std::make_unique<ts::SshServer>("bastion", "127.0.0.1", "DEBUG1");
    bastion2_ = std::make_unique<ts::SshServer>("bastion2", "127.0.0.1", "DEBUG1");
    node_ = std::make_unique<ts::SshServer>("node", "127.0.0.2", "VERBOSE");
    const auto& d = tmp_->path();
    userKey_ = ts::generateSshUserKey(d, "id_user");
    rsaKey_ = ts::generateSshUserKey(d, "id_rsa_user", "rsa");
    encKey_ = ts::generateSshUserKey(d, "id_enc", "ed25519", kPassphrase);
    strangerKey_ = ts::generateSshUserKey(d, "id_stranger");  // authorized nowhere
    for (auto* s : {bastion_.get(), bastion2_.get(), node_.get()}) {
      for (const auto* k : {&userKey_, &rsaKey_, &encKey_}) s->authorize(*k);
    }
    knownHosts_ = d / "known_hosts";
    ts::spit(knownHosts_,
              bastion_->hostKeyLine() + bastion2_->hostKeyLine() + node_->hostKeyLine());
  }
  static void TearDownTestSuite() {
    node_.reset();
    bastion2_.reset();
    bastion_.reset();
    tmp_.reset();
  }

  static ssh::Endpoint ep(const std::string& name, const ts::SshServer& s,
                          const ts::SshUserKey& key) {
    return {name, s.address(), static_cast<std::uint16_t>(s.port()), "root",
            key.privateKey.string()};
  }
  static ssh::Endpoint bastion(const ts::SshUserKey& key = userKey_) {
    return ep("bastion", *bastion_, key);
  }
  static ssh::Endpoint bastion2() { return ep("bastion2", *bastion2_, userKey_); }
  static ssh::Endpoint node(const ts::SshUserKey& key = userKey_) {
    return ep("node", *node_, key);
  }
  static ssh::Options options(const std::filesystem::path& knownHosts = knownHosts_) {
    ssh::Options o;
    o.knownHosts = knownHosts.string();
    o.connectTimeout = 10s;
    o.keepAlive = 5s;
    return o;
  }
  static std::unique_ptr<ssh::Session> mustConnect(const ssh::Endpoint& target,
                                                   const std::vector<ssh::Endpoint>& jumps,
                                                   const ssh::Options& o = options()) {
    auto s = ssh::connect(target, jumps, o);
    if (!s)
      throw std::runtime_error("connect failed: " + s.error().message + " / fix: " + s.error().fix);
    return std::move(*s);
  }
  // No private key, passphrase or key file content in an error.
  static void expectNoSecrets(const ssh::Error& e) {
    std::string all = e.message + "\n" + e.fix;
    EXPECT_EQ(all.find(kPassphrase), std::string::npos) << all;
    EXPECT_EQ(all.find("PRIVATE KEY"), std::string::npos) << all;
    for (const auto* k : {&userKey_, &rsaKey_, &encKey_, &strangerKey_}) {
      std::string priv = ts::slurp(k->privateKey);
      // any 40-char line of the private key file's base64 body
      std::istringstream lines(priv);
      std::string line;
      while (std::getline(lines, line)) {
        if (line.size() >= 40 && line.find("-----") == std::string::npos) {
          EXPECT_EQ(all.find(line.substr(0, 40)), std::string::npos)
              << "private key material in: " << all;
        }
      }
    }
  }
  static std::size_t logSize(const ts::SshServer& s) { return ts::slurp(s.serverLog()).size(); }
  static std::string logSince(const ts::SshServer& s, std::size_t offset) {
    std::string t = ts::slurp(s.serverLog());
    return offset < t.size() ? t.substr(offset) : "";
  }
  static bool logContainsEventually(const ts::SshServer& s, const std::string& needle) {
    for (int i = 0; i < 50; ++i) {
      if (ts::slurp(s.serverLog()).find(needle) != std::string::npos) return true;
      std::this_thread::sleep_for(100ms);
    }
    return false;
  }

  static std::unique_ptr<ts::TempDir> tmp_;
  static std::unique_ptr<ts::SshServer> bastion_, bastion2_, node_;
  static ts::SshUserKey userKey_, rsaKey_, encKey_, strangerKey_;
  static std::filesystem::path knownHosts_;
};
std::unique_ptr<ts::TempDir> SshIT::tmp_;
std::unique_ptr<ts::SshServer> SshIT::bastion_, SshIT::bastion2_, SshIT::node_;
ts::SshUserKey SshIT::userKey_, SshIT::rsaKey_, SshIT::encKey_, SshIT::strangerKey_;
std::filesystem::path SshIT::knownHosts_;

TEST_F(SshIT, ExecReportsExitStatusStdoutStderrAndStdin) {
  auto s = mustConnect(node(), {});
  EXPECT_EQ(s->endpoint().name, "node");
  auto r = s->exec("printf out; printf err >&2; exit 3");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->exitStatus, 3);
  EXPECT_EQ(r->out, "out");
  EXPECT_EQ(r->err, "err");

  auto in = s->exec("cat; printf X", "hello\nworld\n");
  ASSERT_TRUE(in.ok()) << in.error().message;
  EXPECT_EQ(in->exitStatus, 0);
  EXPECT_EQ(in->out, "hello\nworld\nX");

  // 3 MiB through stdin and back: larger than both channel windows, so input and output must
  // interleave (a write-all-then-read exec would deadlock here).
  std::string big(3 * 1024 * 1024, '\0');
  std::mt19937 rng(7);
  for (auto& c : big) c = static_cast<char>('a' + rng() % 26);
  auto echo = s->exec("cat", big, 60s);
  ASSERT_TRUE(echo.ok()) << echo.error().message;
  EXPECT_EQ(echo->exitStatus, 0);
  EXPECT_TRUE(echo->out == big) << "got " << echo->out.size() << " bytes";
}

TEST_F(SshIT, ExecTimeoutIsRetryableTimeout) {
  auto s = mustConnect(bastion(), {});
  auto r = s->exec("sleep 5", {}, 1s);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("[timeout]"), std::string::npos) << r.error().message;
  EXPECT_TRUE(r.error().isRetryable());
  // the session is still usable
  auto again = s->exec("echo ok");
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_EQ(again->out, "ok\n");
  // Not asserted: that `sleep` is gone. The driver sends a "signal KILL" request, but OpenSSH
  // refuses it for root logins ("session signalling requires privilege separation").
}

TEST_F(SshIT, RunTurnsNonZeroExitIntoCommandFailedNamingTheCommand) {
  auto s = mustConnect(node(), {bastion()});
  auto ok = s->run("true");
  ASSERT_TRUE(ok.ok()) << ok.error().message;
  auto r = s->run("echo boom >&2; exit 7");
  ASSERT_FALSE(r.ok());
  const auto& e = r.error();
  EXPECT_FALSE(e.isRetryable());
  EXPECT_NE(e.message.find("[command-failed]"), std::string::npos) << e.message;
  EXPECT_NE(e.message.find("echo boom >&2; exit 7"), std::string::npos) << e.message;
  EXPECT_NE(e.message.find("status 7"), std::string::npos) << e.message;
  EXPECT_NE(e.message.find("boom"), std::string::npos) << e.message;
  EXPECT_NE(e.message.find("node (root@127.0.0.2:"), std::string::npos) << e.message;
  auto hidden = s->run("exit 1 # token=s3cr3t", "write the token");
  ASSERT_FALSE(hidden.ok());
  EXPECT_EQ(hidden.error().message.find("s3cr3t"), std::string::npos) << hidden.error().message;
  EXPECT_NE(hidden.error().message.find("write the token"), std::string::npos);
}

TEST_F(SshIT, ConnectsToTheNodeThroughTheBastion) {
  auto s = mustConnect(node(), {bastion()});
  auto r = s->run("echo $SSH_CONNECTION");
  ASSERT_TRUE(r.ok()) << r.error().message;
  // "client_ip client_port server_ip server_port": the node's sshd on 127.0.0.2 took it.
  std::istringstream f(r->out);
  std::string cip, cport, sip, sport;
  f >> cip >> cport >> sip >> sport;
  EXPECT_EQ(sip, "127.0.0.2");
  EXPECT_EQ(sport, std::to_string(node_->port()));
  // and it came through the bastion's direct-tcpip forward
  EXPECT_TRUE(
      logContainsEventually(*bastion_, "target 127.0.0.2 port " + std::to_string(node_->port())))
      << ts::tailFile(bastion_->serverLog());
}

TEST_F(SshIT, ConnectsThroughAChainOfTwoJumps) {
  auto s = mustConnect(node(), {bastion(), bastion2()});
  auto r = s->run("hostname >/dev/null && echo via-two-jumps");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->out, "via-two-jumps\n");
  EXPECT_TRUE(logContainsEventually(*bastion_,
                                    "target 127.0.0.1 port " + std::to_string(bastion2_->port())));
  EXPECT_TRUE(
      logContainsEventually(*bastion2_, "target 127.0.0.2 port " + std::to_string(node_->port())));
}

TEST_F(SshIT, UploadsFiveMiBThroughTheJumpWithChecksumAndMode) {
  auto local = tmp_->path() / "payload.bin";
  std::string data(5 * 1024 * 1024, '\0');
  std::mt19937_64 rng(42);
  for (auto& c : data) c = static_cast<char>(rng());
  ts::spit(local, data);
  auto remote = node_->dir() / "uploaded.bin";  // same machine: the test can look at it directly
  auto s = mustConnect(node(), {bastion()});
  auto st = s->upload(local.string(), remote.string(), 0640);
  ASSERT_TRUE(st.ok()) << st.error().message;
  EXPECT_TRUE(ts::slurp(remote) == data);
  struct stat sb {};
  ASSERT_EQ(::stat(remote.c_str(), &sb), 0);
  EXPECT_EQ(sb.st_mode & 07777, 0640u);
  EXPECT_FALSE(std::filesystem::exists(remote.string() + ".ca4tmp"));
  // again, over the existing file, with another mode and content
  ts::spit(local, "second version\n");
  auto st2 = s->upload(local.string(), remote.string(), 0600);
  ASSERT_TRUE(st2.ok()) << st2.error().message;
  EXPECT_EQ(ts::slurp(remote), "second version\n");
  ASSERT_EQ(::stat(remote.c_str(), &sb), 0);
  EXPECT_EQ(sb.st_mode & 07777, 0600u);
  // into a directory that does not exist: a terminal Sftp error naming the path
  auto bad = s->upload(local.string(), (node_->dir() / "no-such-dir" / "x").string());
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("[sftp]"), std::string::npos) << bad.error().message;
  EXPECT_NE(bad.error().message.find("no-such-dir"), std::string::npos) << bad.error().message;
  EXPECT_FALSE(bad.error().isRetryable());
}

TEST_F(SshIT, ReadsARemoteFile) {
  auto remote = node_->dir() / "to-read.txt";
  std::string content = "line 1\nline 2 with 'quotes'\n";
  content += std::string(100000, 'z');
  ts::spit(remote, content);
  auto s = mustConnect(node(), {bastion()});
  auto r = s->readFile(remote.string());
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_TRUE(*r == content);
  auto missing = s->readFile((node_->dir() / "absent").string());
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("[sftp]"), std::string::npos) << missing.error().message;
  EXPECT_NE(missing.error().message.find("no such file"), std::string::npos)
      << missing.error().message;
}

TEST_F(SshIT, OpenTcpReachesAnEchoServerThroughTheBastion) {
  // A one-connection TCP echo server on a port only this test knows.
  std::uint16_t echoPort = 0;
  const int lfd = ts::listenLoopback(echoPort, 1);
  std::thread echo([lfd] {
    int c = ::accept(lfd, nullptr, nullptr);
    if (c < 0) return;
    char buf[16384];
    ssize_t n;
    while ((n = ::read(c, buf, sizeof buf)) > 0) {
      if (::write(c, buf, static_cast<size_t>(n)) != n) break;
    }
    ::close(c);
  });

  auto s = mustConnect(bastion(), {});
  auto fd = s->openTcp("127.0.0.1", echoPort);
  ASSERT_TRUE(fd.ok()) << fd.error().message;
  std::string sent(512 * 1024, '\0');
  std::mt19937 rng(3);
  for (auto& c : sent) c = static_cast<char>(rng());
  std::thread writer([&] {
    std::size_t off = 0;
    while (off < sent.size()) {
      ssize_t n = ::write(*fd, sent.data() + off, sent.size() - off);
      if (n <= 0) break;
      off += static_cast<std::size_t>(n);
    }
    ::shutdown(*fd, SHUT_WR);
  });
  std::string got;
  char buf[16384];
  ssize_t n;
  while ((n = ::read(*fd, buf, sizeof buf)) > 0) got.append(buf, static_cast<std::size_t>(n));
  writer.join();
  ::close(*fd);
  echo.join();
  ::close(lfd);
  EXPECT_EQ(got.size(), sent.size());
  EXPECT_TRUE(got == sent);

  // nothing listening behind the bastion: Unreachable, retryable
  auto closed = s->openTcp("127.0.0.1", static_cast<std::uint16_t>(ts::freeLoopbackPort()));
  ASSERT_FALSE(closed.ok());
  EXPECT_NE(closed.error().message.find("[unreachable]"), std::string::npos)
      << closed.error().message;
  EXPECT_TRUE(closed.error().isRetryable());
}

TEST_F(SshIT, WrongHostKeyIsAMismatchWithBothFingerprintsAndNothingRuns) {
  // The bastion's entry holds bastion2's key.
  auto kh = tmp_->path() / "known_hosts_wrong";
  std::string wrongLine =
      "[127.0.0.1]:" + std::to_string(bastion_->port()) + " " + bastion2_->hostPublicKey() + "\n";
  ts::spit(kh, wrongLine);
  const std::string expectedFp = keygenFingerprint(tmp_->path(), bastion2_->hostPublicKey());
  const std::string presentedFp = keygenFingerprint(tmp_->path(), bastion_->hostPublicKey());
  ASSERT_NE(expectedFp, presentedFp);
  auto marker = tmp_->path() / "mismatch-marker";
  const auto offset = logSize(*bastion_);
  for (auto policy : {ssh::HostKeyPolicy::Strict, ssh::HostKeyPolicy::AcceptNew}) {
    auto o = options(kh);
    o.hostKeyPolicy = policy;
    auto s = ssh::connect(bastion(), {}, o);
    if (s) (*s)->exec("touch " + marker.string());  // must never happen
    ASSERT_FALSE(s.ok());
    const auto& e = s.error();
    EXPECT_NE(e.message.find("[host-key-mismatch]"), std::string::npos) << e.message;
    EXPECT_NE(e.message.find(expectedFp), std::string::npos) << e.message;
    EXPECT_NE(e.message.find(presentedFp), std::string::npos) << e.message;
    EXPECT_NE(e.message.find("bastion"), std::string::npos) << e.message;
    EXPECT_NE(e.message.find("[127.0.0.1]:" + std::to_string(bastion_->port())), std::string::npos)
        << e.message;
    EXPECT_FALSE(e.isRetryable());
    expectNoSecrets(e);
  }
  EXPECT_FALSE(std::filesystem::exists(marker));
  EXPECT_EQ(ts::slurp(kh), wrongLine);  // accept-new never rewrites a changed key
  // and no authentication was even attempted on the server
  std::this_thread::sleep_for(300ms);
  std::string log = logSince(*bastion_, offset);
  EXPECT_EQ(log.find("userauth-request"), std::string::npos) << log;
  EXPECT_EQ(log.find("Accepted publickey"), std::string::npos) << log;
}

TEST_F(SshIT, WrongNodeKeyBehindTheBastionIsAMismatchNamingTheNode) {
  auto kh = tmp_->path() / "known_hosts_wrong_node";
  ts::spit(kh, bastion_->hostKeyLine() + "[127.0.0.2]:" + std::to_string(node_->port()) + " " +
                    bastion_->hostPublicKey() + "\n");
  auto marker = tmp_->path() / "node-marker";
  auto s = ssh::connect(node(), {bastion()}, options(kh));
  if (s) (*s)->exec("touch " + marker.string());
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find("[host-key-mismatch] node"), std::string::npos)
      << s.error().message;
  EXPECT_NE(s.error().message.find(keygenFingerprint(tmp_->path(), node_->hostPublicKey())),
            std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(marker));
}

TEST_F(SshIT, UnknownHostWithStrictIsHostKeyUnknownWithTheFix) {
  auto kh = tmp_->path() / "known_hosts_empty";
  ts::spit(kh, "");
  auto s = ssh::connect(bastion(), {}, options(kh));
  ASSERT_FALSE(s.ok());
  const auto& e = s.error();
  EXPECT_NE(e.message.find("[host-key-unknown]"), std::string::npos) << e.message;
  EXPECT_NE(e.message.find(keygenFingerprint(tmp_->path(), bastion_->hostPublicKey())),
            std::string::npos)
      << e.message;
  EXPECT_NE(e.fix.find("accept-new"), std::string::npos) << e.fix;
  EXPECT_NE(e.fix.find(bastion_->hostKeyLine().substr(0, bastion_->hostKeyLine().size() - 1)),
            std::string::npos)
      << e.fix;
  EXPECT_FALSE(e.isRetryable());
  EXPECT_EQ(ts::slurp(kh), "");
}

TEST_F(SshIT, AcceptNewAppendsTheKeyAndStrictWorksAfterwards) {
  auto dir = tmp_->path() / "fresh-home" / ".ssh";  // does not exist yet
  auto kh = dir / "known_hosts";
  auto o = options(kh);
  o.hostKeyPolicy = ssh::HostKeyPolicy::AcceptNew;
  {
    auto s = mustConnect(node(), {bastion()}, o);  // both hops are new
    EXPECT_TRUE(s->run("true").ok());
  }
  std::string text = ts::slurp(kh);
  EXPECT_NE(text.find(bastion_->hostKeyLine()), std::string::npos) << text;
  EXPECT_NE(text.find(node_->hostKeyLine()), std::string::npos) << text;
  struct stat sb {};
  ASSERT_EQ(::stat(kh.c_str(), &sb), 0);
  EXPECT_EQ(sb.st_mode & 0777, 0600u);
  auto s2 = mustConnect(node(), {bastion()}, options(kh));  // Strict
  EXPECT_TRUE(s2->run("true").ok());
  EXPECT_EQ(ts::slurp(kh), text);  // nothing appended twice
}

TEST_F(SshIT, WrongUserKeyIsAuthFailedNamingUserHostAndMethods) {
  auto s = ssh::connect(bastion(strangerKey_), {}, options());
  ASSERT_FALSE(s.ok());
  const auto& e = s.error();
  EXPECT_NE(e.message.find("[auth-failed]"), std::string::npos) << e.message;
  EXPECT_NE(e.message.find("root@127.0.0.1:" + std::to_string(bastion_->port())), std::string::npos)
      << e.message;
  EXPECT_NE(e.message.find("publickey " + strangerKey_.privateKey.string()), std::string::npos)
      << e.message;
  EXPECT_FALSE(e.isRetryable());
  expectNoSecrets(e);
  // a missing identity file says so
  auto missing = bastion();
  missing.identityFile = (tmp_->path() / "no-such-key").string();
  auto m = ssh::connect(missing, {}, options());
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.error().message.find("does not exist"), std::string::npos) << m.error().message;
}

TEST_F(SshIT, EncryptedKeyWorksWithItsPassphraseAndFailsClearlyWithout) {
  auto o = options();
  o.passphrase = kPassphrase;
  auto s = mustConnect(node(encKey_), {bastion(encKey_)}, o);
  EXPECT_TRUE(s->run("true").ok());

  o.passphrase = "not the passphrase";
  auto wrong = ssh::connect(bastion(encKey_), {}, o);
  ASSERT_FALSE(wrong.ok());
  EXPECT_NE(wrong.error().message.find("[auth-failed]"), std::string::npos)
      << wrong.error().message;
  EXPECT_NE(wrong.error().message.find("wrong passphrase"), std::string::npos)
      << wrong.error().message;
  EXPECT_EQ(wrong.error().message.find("not the passphrase"), std::string::npos)
      << wrong.error().message;
  expectNoSecrets(wrong.error());

  auto none = ssh::connect(bastion(encKey_), {}, options());
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.error().message.find("no passphrase was given"), std::string::npos)
      << none.error().message;
  expectNoSecrets(none.error());
}

TEST_F(SshIT, KeepalivesDoNotDisturbAnIdleJumpedSession) {
  auto o = options();
  o.keepAlive = 1s;  // an SSH_MSG_IGNORE per hop per second from the hops' I/O threads
  auto s = mustConnect(node(), {bastion()}, o);
  std::this_thread::sleep_for(2500ms);
  auto r = s->run("echo still-here");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->out, "still-here\n");
}

std::size_t countEntries(const char* dir) {
  return static_cast<std::size_t>(std::distance(std::filesystem::directory_iterator(dir),
                                                std::filesystem::directory_iterator()));
}

TEST_F(SshIT, ClosingASessionReleasesItsSocketsAndThreads) {
  mustConnect(bastion(), {});  // warm up lazily opened things (resolver, libssh init)
  const auto fds0 = countEntries("/proc/self/fd");

  const auto threads0 = countEntries("/proc/self/task");
  {
    auto s = mustConnect(node(), {bastion(), bastion2()});
    auto fd = s->openTcp("127.0.0.2", static_cast<std::uint16_t>(node_->port()));
    ASSERT_TRUE(fd.ok()) << fd.error().message;
    char banner[8] = {};
    ASSERT_EQ(::read(*fd, banner, 7), 7);  // the node's sshd greets through the tunnel
    EXPECT_EQ(std::string(banner, 7), "SSH-2.0");
    ::close(*fd);
    EXPECT_GT(countEntries("/proc/self/task"), threads0);  // one I/O thread per hop
  }
  // failed connects (host key unknown on the second hop; auth refused) release theirs too
  auto empty = tmp_->path() / "known_hosts_only_bastion";
  ts::spit(empty, bastion_->hostKeyLine());
  EXPECT_FALSE(ssh::connect(node(), {bastion()}, options(empty)).ok());
  EXPECT_FALSE(ssh::connect(bastion(strangerKey_), {}, options()).ok());
  EXPECT_EQ(countEntries("/proc/self/fd"), fds0);
  EXPECT_EQ(countEntries("/proc/self/task"), threads0);
}

TEST_F(SshIT, RsaKeyWorks) {
  auto s = mustConnect(bastion(rsaKey_), {});
  auto r = s->run("echo rsa-ok");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->out, "rsa-ok\n");
}

TEST_F(SshIT, NothingListeningIsUnreachableAndRetryable) {
  ssh::Endpoint closed{"ghost", "127.0.0.1", static_cast<std::uint16_t>(ts::freeLoopbackPort()),
                       "root", userKey_.privateKey.string()};
  auto s = ssh::connect(closed, {}, options());
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find("[unreachable] ghost"), std::string::npos) << s.error().message;
  EXPECT_TRUE(s.error().isRetryable());
  // behind the bastion too
  auto viaBastion = ssh::connect(closed, {bastion()}, options());
  ASSERT_FALSE(viaBastion.ok());
  EXPECT_NE(viaBastion.error().message.find("[unreachable]"), std::string::npos)
      << viaBastion.error().message;
  EXPECT_NE(viaBastion.error().message.find("ghost"), std::string::npos)
      << viaBastion.error().message;
  EXPECT_TRUE(viaBastion.error().isRetryable());
}

}  // namespace
