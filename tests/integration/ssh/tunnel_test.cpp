// ssh::Tunnel (local port forwards through one SSH session, with reconnect) against a REAL
// OpenSSH sshd (tests/support SshServer) and a TCP echo server behind it. No `ssh` binary.
#include <arpa/inet.h>
#include <ca4/drivers/ssh/tunnel.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <mutex>
#include <random>
#include <sstream>
#include <thread>

#include "ca4/testsupport/net.hpp"
#include "ca4/testsupport/shell.hpp"
#include "ca4/testsupport/ssh_server.hpp"

namespace ts = ca4::testsupport;
namespace ssh = ca4::drivers::ssh;
using namespace std::chrono_literals;

namespace {

// A TCP echo server on 127.0.0.1 (a thread per connection) that counts its connections.
class EchoServer {
 public:
  EchoServer() {
    fd_ = ts::listenLoopback(port_);
    accept_ = std::thread([this] {
      while (true) {
        int c = ::accept(fd_, nullptr, nullptr);
        if (c < 0) return;
        ++connections_;
        std::lock_guard lock(mu_);
        conns_.emplace_back([c] {
          char buf[65536];
          ssize_t n;
          while ((n = ::read(c, buf, sizeof buf)) > 0) {
            ssize_t off = 0;
            while (off < n) {
              ssize_t w = ::write(c, buf + off, static_cast<size_t>(n - off));
              if (w <= 0) break;
              off += w;
            }
          }
          ::close(c);
        });
      }
    });
  }
  ~EchoServer() {
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    accept_.join();
    std::lock_guard lock(mu_);
    for (auto& t : conns_) t.join();
  }
  std::uint16_t port() const { return port_; }
  int connections() const { return connections_; }

 private:
  int fd_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<int> connections_{0};
  std::thread accept_;
  std::mutex mu_;
  std::vector<std::thread> conns_;
};

// Connects to 127.0.0.1:port, sends `data`, half-closes, returns all it reads back.
std::string roundTrip(std::uint16_t port, const std::string& data) {
  int fd = ts::connectLoopback(port);
  if (fd < 0) return "<connect failed>";
  std::thread writer([&] {
    std::size_t off = 0;
    while (off < data.size()) {
      ssize_t n = ::write(fd, data.data() + off, data.size() - off);
      if (n <= 0) break;
      off += static_cast<std::size_t>(n);
    }
    ::shutdown(fd, SHUT_WR);
  });
  std::string got;
  char buf[65536];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0) got.append(buf, static_cast<std::size_t>(n));
  writer.join();
  ::close(fd);
  return got;
}

std::string randomBytes(std::size_t n, unsigned seed) {
  std::string s(n, '\0');
  std::mt19937 rng(seed);
  for (auto& c : s) c = static_cast<char>(rng());
  return s;
}

std::size_t count(const std::string& hay, const std::string& needle) {
  std::size_t n = 0;
  for (auto p = hay.find(needle); p != std::string::npos; p = hay.find(needle, p + 1)) ++n;
  return n;
}

class TunnelIT : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    tmp_ = std::make_unique<ts::TempDir>("ca4-tunnel-it");
    bastion_ = std::make_unique<ts::SshServer>("tunnel-bastion", "127.0.0.1", "VERBOSE");
    key_ = ts::generateSshUserKey(tmp_->path(), "id_user");
    bastion_->authorize(key_);
    knownHosts_ = tmp_->path() / "known_hosts";
    std::ofstream(knownHosts_) << bastion_->hostKeyLine();
  }
  static void TearDownTestSuite() {
    bastion_.reset();
    tmp_.reset();
  }
  static ssh::Connector connector(const std::filesystem::path& knownHosts = knownHosts_) {
    return [knownHosts] {
      ssh::Options o;
      o.knownHosts = knownHosts.string();
      o.connectTimeout = 5s;
      o.keepAlive = 2s;
      ssh::Endpoint ep{"bastion", bastion_->address(), static_cast<std::uint16_t>(bastion_->port()),
                       "root", key_.privateKey.string()};
      return ssh::connect(ep, {}, o);
    };
  }
  struct Events {
    std::mutex mu;
    std::vector<ssh::TunnelEvent> all;
    std::vector<std::string> states() {
      std::lock_guard lock(mu);
      std::vector<std::string> s;
      for (auto& e : all) s.emplace_back(ssh::toString(e.state));
      return s;
    }
  };
  static ssh::TunnelOptions options(Events& ev) {
    ssh::TunnelOptions o;
    o.backoffMin = 100ms;
    o.backoffMax = 1s;
    o.onEvent = [&ev](const ssh::TunnelEvent& e) {
      std::lock_guard lock(ev.mu);
      ev.all.push_back(e);
    };
    return o;
  }

  static std::unique_ptr<ts::TempDir> tmp_;
  static std::unique_ptr<ts::SshServer> bastion_;
  static ts::SshUserKey key_;
  static std::filesystem::path knownHosts_;
};
std::unique_ptr<ts::TempDir> TunnelIT::tmp_;
std::unique_ptr<ts::SshServer> TunnelIT::bastion_;
ts::SshUserKey TunnelIT::key_;
std::filesystem::path TunnelIT::knownHosts_;

TEST_F(TunnelIT, EightStreamsOverTwoForwardsShareOneSession) {
  EchoServer a, b;
  const std::size_t logBefore = ts::slurp(bastion_->serverLog()).size();
  Events ev;
  auto t = ssh::Tunnel::start({{"a", "127.0.0.1", 0, "127.0.0.1", a.port()},
                               {"b", "127.0.0.1", 0, "127.0.0.1", b.port()}},
                              connector(), options(ev));
  ASSERT_TRUE(t.ok()) << t.error().message;
  auto& tunnel = **t;
  ASSERT_TRUE(tunnel.waitUp(10s).ok());
  ASSERT_EQ(tunnel.forwards().size(), 2u);
  for (auto& f : tunnel.forwards()) EXPECT_NE(f.localPort, 0) << f.name;

  std::vector<std::thread> clients;
  std::atomic<int> good{0};
  for (int i = 0; i < 8; ++i) {
    clients.emplace_back([&, i] {
      const auto& f = tunnel.forwards()[static_cast<std::size_t>(i % 2)];
      std::string data = randomBytes(1 << 20, static_cast<unsigned>(i));
      if (roundTrip(f.localPort, data) == data) ++good;
    });
  }
  for (auto& c : clients) c.join();
  EXPECT_EQ(good.load(), 8);
  EXPECT_EQ(a.connections() + b.connections(), 8);
  auto st = tunnel.stats();
  EXPECT_EQ(st.accepted, 8u);
  EXPECT_EQ(st.forwarded, 8u);
  EXPECT_EQ(st.reconnects, 0u);
  // one SSH login for all of it
  std::string log = ts::slurp(bastion_->serverLog()).substr(logBefore);
  EXPECT_EQ(count(log, "Accepted publickey"), 1u) << log;
  EXPECT_EQ(ev.states(), (std::vector<std::string>{"connecting", "up"}));
  tunnel.stop();
  EXPECT_EQ(tunnel.state(), ssh::TunnelState::Stopped);
  EXPECT_EQ(roundTrip(tunnel.forwards()[0].localPort, "x"), "<connect failed>");
}

// A client that stops reading fills its socket, then libssh's channel buffer, then the SSH
// window: the sender must wait (no byte lost or reordered, nothing buffered without bound) while
// the session's other channels keep flowing.
TEST_F(TunnelIT, AStalledReaderLosesNothingAndDoesNotBlockOtherChannels) {
  const std::size_t total = 24u << 20;  // several 2 MiB windows
  const std::string payload = randomBytes(total, 42);
  std::uint16_t sourcePort = 0;
  const int srv = ts::listenLoopback(sourcePort);
  std::atomic<std::size_t> sent{0};
  std::thread source([&] {  // one connection: write all of payload as fast as it is taken
    int c = ::accept(srv, nullptr, nullptr);
    if (c < 0) return;
    while (sent < total) {
      ssize_t w = ::write(c, payload.data() + sent, total - sent);
      if (w <= 0) break;
      sent += static_cast<std::size_t>(w);
    }
    ::close(c);
  });
  EchoServer echo;
  Events ev;
  auto t = ssh::Tunnel::start({{"source", "127.0.0.1", 0, "127.0.0.1", sourcePort},
                               {"echo", "127.0.0.1", 0, "127.0.0.1", echo.port()}},
                              connector(), options(ev));
  ASSERT_TRUE(t.ok()) << t.error().message;
  auto& tunnel = **t;
  ASSERT_TRUE(tunnel.waitUp(10s).ok());

  const int fd = ts::connectLoopback(tunnel.forwards()[0].localPort);
  ASSERT_GE(fd, 0);
  int small = 64 * 1024;  // keep the kernel's share small so the tunnel's buffering shows
  ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
  char first = 0;
  ASSERT_EQ(::read(fd, &first, 1), 1);  // data flows; now stop reading
  std::size_t stalledAt = 0;
  for (int i = 0; i < 50; ++i) {  // until the sender is held back (its count stops moving)
    std::this_thread::sleep_for(20ms);
    if (sent == stalledAt && i > 5) break;
    stalledAt = sent;
  }
  // Held back: what the sender got rid of is bounded by socket buffers and one window, far
  // below the whole payload.
  EXPECT_LT(sent.load(), total / 2) << "the tunnel buffered without bound";
  // The stalled channel does not stop the session: another channel round-trips 1 MiB.
  const std::string data = randomBytes(1 << 20, 7);
  EXPECT_EQ(roundTrip(tunnel.forwards()[1].localPort, data), data);

  std::string got(1, first);
  got.reserve(total);
  char buf[65536];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0) got.append(buf, static_cast<std::size_t>(n));
  ::close(fd);
  source.join();
  ::close(srv);
  EXPECT_EQ(sent.load(), total);
  ASSERT_EQ(got.size(), total);
  EXPECT_TRUE(got == payload) << "bytes reordered or corrupted";
  tunnel.stop();
}

TEST_F(TunnelIT, APortInUseIsTerminalNamesTheAddressAndBindsNothing) {
  std::uint16_t busyPort = 0;
  const int busy = ts::listenLoopback(busyPort, 1);
  const auto freePort = static_cast<std::uint16_t>(ts::freeLoopbackPort());
  Events ev;
  auto t = ssh::Tunnel::start({{"grafana", "127.0.0.1", freePort, "127.0.0.1", 3000},
                               {"kafka", "127.0.0.1", busyPort, "127.0.0.1", 9092}},
                              connector(), options(ev));
  ASSERT_FALSE(t.ok());
  EXPECT_FALSE(t.error().isRetryable());
  const std::string where = "127.0.0.1:" + std::to_string(busyPort);
  EXPECT_NE(t.error().message.find("tunnel kafka: " + where + " is already in use"),
            std::string::npos)
      << t.error().message;
  EXPECT_NE(t.error().fix.find("ca4ctl tunnel status"), std::string::npos) << t.error().fix;
  ::close(busy);
  // all or none: the first forward's port was released again
  EXPECT_FALSE(ts::waitForTcp("127.0.0.1", freePort, 50ms));
  EXPECT_TRUE(ev.states().empty());
}

TEST_F(TunnelIT, ReconnectsAfterTheBastionDiesAndParkedConnectionsGoThrough) {
  EchoServer echo;
  Events ev;
  auto t = ssh::Tunnel::start({{"echo", "127.0.0.1", 0, "127.0.0.1", echo.port()}}, connector(),
                              options(ev));
  ASSERT_TRUE(t.ok()) << t.error().message;
  auto& tunnel = **t;
  ASSERT_TRUE(tunnel.waitUp(10s).ok());
  const auto port = tunnel.forwards()[0].localPort;
  ASSERT_EQ(roundTrip(port, "before"), "before");

  bastion_->killAll();  // listener and every session: the connection drops
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (tunnel.state() == ssh::TunnelState::Up && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(20ms);
  }
  ASSERT_NE(tunnel.state(), ssh::TunnelState::Up) << "the lost connection was not noticed";
  // A client connecting while the bastion is down is parked, not refused...
  std::string parked;
  std::thread client([&] { parked = roundTrip(port, "during"); });
  std::this_thread::sleep_for(300ms);
  bastion_->start();
  // ...and goes through once the tunnel is back.
  ASSERT_TRUE(tunnel.waitUp(15s).ok());
  client.join();
  EXPECT_EQ(parked, "during");
  EXPECT_EQ(roundTrip(port, "after"), "after");
  auto st = tunnel.stats();
  EXPECT_EQ(st.reconnects, 1u);
  auto states = ev.states();
  ASSERT_GE(states.size(), 4u);
  EXPECT_EQ(states[0], "connecting");
  EXPECT_EQ(states[1], "up");
  EXPECT_EQ(states[2], "reconnecting");
  EXPECT_EQ(states.back(), "up");
}

TEST_F(TunnelIT, AWrongHostKeyFailsAtOnceWithoutRetrying) {
  auto wrong = tmp_->path() / "known_hosts_wrong";
  {
    ts::TempDir other("ca4-tunnel-other");
    ts::SshServer impostor("impostor", "127.0.0.1");
    std::string line = impostor.hostKeyLine();  // another key ...
    std::string pub = line.substr(line.find(' ') + 1);
    std::ofstream(wrong) << "[" << bastion_->address() << "]:" << bastion_->port() << " " << pub;
  }
  Events ev;
  const std::size_t logBefore = ts::slurp(bastion_->serverLog()).size();
  auto t = ssh::Tunnel::start({{"echo", "127.0.0.1", 0, "127.0.0.1", 9}}, connector(wrong),
                              options(ev));
  ASSERT_TRUE(t.ok());
  auto up = (*t)->waitUp(10s);
  ASSERT_FALSE(up.ok());
  EXPECT_FALSE(up.error().isRetryable());
  EXPECT_NE(up.error().message.find("[host-key-mismatch]"), std::string::npos)
      << up.error().message;
  EXPECT_EQ((*t)->state(), ssh::TunnelState::Failed);
  std::this_thread::sleep_for(500ms);  // several backoff periods: no second attempt
  std::string log = ts::slurp(bastion_->serverLog()).substr(logBefore);
  EXPECT_LE(count(log, "Connection from"), 1u) << log;
  EXPECT_EQ(ev.states(), (std::vector<std::string>{"connecting", "failed"}));
}

TEST_F(TunnelIT, ATargetThatIsDownClosesTheClientAndIsCounted) {
  Events ev;
  const auto closedPort = static_cast<std::uint16_t>(ts::freeLoopbackPort());
  auto t = ssh::Tunnel::start({{"nothing", "127.0.0.1", 0, "127.0.0.1", closedPort}}, connector(),
                              options(ev));
  ASSERT_TRUE(t.ok());
  ASSERT_TRUE((*t)->waitUp(10s).ok());
  EXPECT_EQ(roundTrip((*t)->forwards()[0].localPort, "hello"), "");
  // the client sees the close before the tunnel's thread has counted it
  for (int i = 0; i < 100 && (*t)->stats().failed == 0; ++i) std::this_thread::sleep_for(10ms);
  auto st = (*t)->stats();
  EXPECT_EQ(st.accepted, 1u);
  EXPECT_EQ(st.failed, 1u);
  EXPECT_EQ((*t)->state(), ssh::TunnelState::Up);  // the session itself is fine
  std::lock_guard lock(ev.mu);
  bool named = false;
  for (auto& e : ev.all) {
    named = named || e.message.find("tunnel nothing: ") != std::string::npos;
  }
  EXPECT_TRUE(named);
}

}  // namespace
