// I/O: the listeners of a Tunnel and its thread (accept, connect with backoff, hand sockets to the
// session). The bytes themselves are pumped by the session's I/O thread (session.cpp).
#include <ca4/drivers/ssh/tunnel.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <random>
#include <thread>


namespace ca4::drivers::ssh {

std::string_view toString(TunnelState s) {
  switch (s) {
    case TunnelState::Connecting: return "connecting";
    case TunnelState::Up: return "up";
    case TunnelState::Reconnecting: return "reconnecting";
    case TunnelState::Failed: return "failed";
    case TunnelState::Stopped: return "stopped";
  }
  return "?";
}

std::chrono::milliseconds backoffDelay(int attempt, std::chrono::milliseconds min,
                                       std::chrono::milliseconds max) {
  if (attempt < 1) attempt = 1;
  auto d = min;
  for (int i = 1; i < attempt && d < max; ++i) d *= 2;
  return std::min(d, max);
}

namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

struct Pending {
  int fd;
  std::size_t forward;
  Clock::time_point deadline;
};

// Binds a listening TCP socket on address:port (port 0 = any); returns the fd and the real port.
Result<std::pair<int, std::uint16_t>> listenOn(const Forward& f) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(f.localPort);
  if (::inet_pton(AF_INET, f.bindAddress.c_str(), &a.sin_addr) != 1) {
    return Error::terminal("tunnel " + f.name + ": bind address '" + f.bindAddress +
                               "' is not an IPv4 address",
                           "use 127.0.0.1 (the default) or another local IPv4 address");
  }
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return Error::terminal(std::string("socket: ") + std::strerror(errno));
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  const std::string where = f.bindAddress + ":" + std::to_string(f.localPort);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    int e = errno;
    ::close(fd);
    if (e == EADDRINUSE) {
      return Error::terminal(
          "tunnel " + f.name + ": " + where + " is already in use",
          "stop what listens there (`ss -ltnp 'sport = :" + std::to_string(f.localPort) +
              "'`; a background tunnel: `ca4ctl tunnel status` / `ca4ctl tunnel stop`), or pick "
              "another port in spec.tunnels (localPort)");
    }
    return Error::terminal("tunnel " + f.name + ": cannot listen on " + where + ": " +
                           std::strerror(e));
  }
  if (::listen(fd, 128) != 0) {
    int e = errno;
    ::close(fd);
    return Error::terminal("tunnel " + f.name + ": listen on " + where + ": " + std::strerror(e));
  }
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  return std::make_pair(fd, ntohs(a.sin_port));
}

class TunnelImpl final : public Tunnel {
 public:
  TunnelImpl(std::vector<Forward> forwards, std::vector<int> listeners, Connector connect,
             TunnelOptions options)
      : forwards_(std::move(forwards)),
        listeners_(std::move(listeners)),
        connect_(std::move(connect)),
        options_(std::move(options)) {
    thread_ = std::thread([this] { loop(); });
  }
  ~TunnelImpl() override { stop(); }

  const std::vector<Forward>& forwards() const override { return forwards_; }

  TunnelState state() const override {
    std::lock_guard lock(mu_);
    return state_;
  }

  engine::Status waitUp(std::chrono::milliseconds timeout) override {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, timeout, [&] {
      return state_ == TunnelState::Up || state_ == TunnelState::Failed ||
             state_ == TunnelState::Stopped;
    });
    if (state_ == TunnelState::Up) return engine::okStatus();
    if (state_ == TunnelState::Failed) return failure_;
    if (state_ == TunnelState::Stopped) return Error::terminal("tunnel stopped");
    return Error::retryable("tunnel not up after " +
                                std::to_string(timeout.count() / 1000) + " s" +
                                (lastError_.empty() ? "" : ": " + lastError_),
                            "check that the bastion answers (spec.hosts.bastion)");
  }

  TunnelStats stats() const override {
    std::lock_guard lock(mu_);
    TunnelStats s = stats_;
    s.open = session_ ? session_->openForwards() : 0;
    return s;
  }

  void stop() override {
    stopping_ = true;
    if (thread_.joinable()) thread_.join();
    std::lock_guard lock(mu_);
    for (int fd : listeners_) ::close(fd);
    listeners_.clear();
    for (auto& p : pending_) ::close(p.fd);
    pending_.clear();
    session_.reset();
    if (state_ != TunnelState::Failed) state_ = TunnelState::Stopped;
    cv_.notify_all();
  }

 private:
  void setState(TunnelState s, std::string message, int attempt = 0,
                std::chrono::milliseconds retryIn = 0ms) {
    {
      std::lock_guard lock(mu_);
      state_ = s;
    }
    cv_.notify_all();
    report({s, std::move(message), attempt, retryIn, {}});
  }
  void report(const TunnelEvent& e) {
    if (options_.onEvent) options_.onEvent(e);
  }

  // One connect attempt; false when it failed (state and next attempt time updated).
  bool tryConnect() {
    ++attempt_;
    auto s = connect_();
    if (s) {
      std::lock_guard lock(mu_);
      session_ = std::move(*s);
      lastError_.clear();
      attempt_ = 0;
      return true;
    }
    const Error& e = s.error();
    {
      std::lock_guard lock(mu_);
      lastError_ = e.message;
    }
    if (!e.isRetryable()) {
      {
        std::lock_guard lock(mu_);
        failure_ = e;
      }
      setState(TunnelState::Failed, e.message + (e.fix.empty() ? "" : " — " + e.fix), attempt_);
      return false;
    }
    auto delay = backoffDelay(attempt_, options_.backoffMin, options_.backoffMax);
    // ±20 % jitter: tunnels of many operators do not reconnect in lockstep.
    std::uniform_int_distribution<long> jitter(-delay.count() / 5, delay.count() / 5);
    delay += std::chrono::milliseconds(jitter(rng_));
    nextAttempt_ = Clock::now() + delay;
    setState(everUp_ ? TunnelState::Reconnecting : TunnelState::Connecting, e.message, attempt_,
             delay);
    return false;
  }

  void hand(int fd, std::size_t i) {
    const Forward& f = forwards_[i];
    auto st = session_->forward(fd, f.host, f.port);  // takes fd
    std::lock_guard lock(mu_);
    if (st) {
      ++stats_.forwarded;
    } else {
      ++stats_.failed;
      lastError_ = st.error().message;
    }
    if (!st) report({TunnelState::Up, "tunnel " + f.name + ": " + st.error().message, 0, 0ms, f.name});
  }

  void loop() {
    rng_.seed(std::random_device{}());
    setState(TunnelState::Connecting, "connecting");
    while (!stopping_) {
      bool up = false;
      {
        std::lock_guard lock(mu_);
        if (state_ == TunnelState::Failed) break;
        up = session_ && session_->connected();
      }
      if (!up) {
        bool hadSession = false;
        {
          std::lock_guard lock(mu_);
          hadSession = session_ != nullptr;
          if (hadSession) {
            session_.reset();
            ++stats_.reconnects;
          }
        }
        if (hadSession) {
          attempt_ = 0;
          nextAttempt_ = Clock::now();
          setState(TunnelState::Reconnecting, "connection lost; reconnecting");
        }
        if (Clock::now() >= nextAttempt_) {
          if (tryConnect()) {
            everUp_ = true;
            setState(TunnelState::Up, "up");
            flushPending();
          } else if (state() == TunnelState::Failed) {
            break;
          }
        }
      }
      serve(200);
      expirePending();
    }
    std::lock_guard lock(mu_);
    for (auto& p : pending_) ::close(p.fd);
    pending_.clear();
  }

  // Accepts what is ready on the listeners (waits up to ms); forwards or parks each connection.
  void serve(int ms) {
    std::vector<pollfd> fds;
    for (int fd : listeners_) fds.push_back({fd, POLLIN, 0});
    if (::poll(fds.data(), fds.size(), ms) <= 0) return;
    for (std::size_t i = 0; i < fds.size(); ++i) {
      if (!(fds[i].revents & POLLIN)) continue;
      while (true) {
        int c = ::accept4(fds[i].fd, nullptr, nullptr, SOCK_CLOEXEC);
        if (c < 0) break;
        int one = 1;
        ::setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        bool up = false;
        {
          std::lock_guard lock(mu_);
          ++stats_.accepted;
          up = session_ && session_->connected();
          if (!up) pending_.push_back({c, i, Clock::now() + options_.pendingTimeout});
        }
        if (up) hand(c, i);
      }
    }
  }

  void flushPending() {
    std::vector<Pending> ready;
    {
      std::lock_guard lock(mu_);
      ready.swap(pending_);
    }
    for (auto& p : ready) hand(p.fd, p.forward);
  }

  void expirePending() {
    std::lock_guard lock(mu_);
    auto now = Clock::now();
    std::erase_if(pending_, [&](const Pending& p) {
      if (p.deadline > now) return false;
      ::close(p.fd);
      ++stats_.failed;
      return true;
    });
  }

  std::vector<Forward> forwards_;
  std::vector<int> listeners_;
  Connector connect_;
  TunnelOptions options_;

  mutable std::mutex mu_;  // state_, session_, stats_, pending_, lastError_, failure_
  std::condition_variable cv_;
  TunnelState state_ = TunnelState::Connecting;
  std::unique_ptr<Session> session_;
  TunnelStats stats_;
  std::vector<Pending> pending_;
  std::string lastError_;
  Error failure_;

  // The tunnel thread's own.
  int attempt_ = 0;
  bool everUp_ = false;
  Clock::time_point nextAttempt_ = Clock::now();
  std::mt19937 rng_;

  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

}  // namespace

Result<std::unique_ptr<Tunnel>> Tunnel::start(std::vector<Forward> forwards, Connector connect,
                                              TunnelOptions options) {
  if (forwards.empty()) return Error::terminal("tunnel: nothing to forward");
  std::vector<int> listeners;
  for (auto& f : forwards) {
    auto l = listenOn(f);
    if (!l) {
      for (int fd : listeners) ::close(fd);
      return l.error();
    }
    listeners.push_back(l->first);
    f.localPort = l->second;
  }
  return std::unique_ptr<Tunnel>(std::make_unique<TunnelImpl>(
      std::move(forwards), std::move(listeners), std::move(connect), std::move(options)));
}

}  // namespace ca4::drivers::ssh
