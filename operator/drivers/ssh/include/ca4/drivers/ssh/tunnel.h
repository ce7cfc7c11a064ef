// Local port forwards through one SSH session (`ssh -N -L` semantics; many forwards share the
// session), kept up: a lost connection is re-made with backoff while the listeners stay bound, and
// connections accepted meanwhile wait (up to pendingTimeout) instead of being refused.
//
// Threading: one thread per Tunnel accepts, connects and hands each accepted socket to the
// session (Session::forward), whose own I/O thread pumps the bytes. Events are reported from the
// tunnel's thread; state(), stats(), waitUp() and stop() may be called from any thread.
#pragma once
#include <ca4/drivers/ssh/ssh.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace ca4::drivers::ssh {

struct Forward {
  std::string name;  // "kafka", "k3s": for messages and localPort()
  std::string bindAddress = "127.0.0.1";
  std::uint16_t localPort = 0;  // 0 = a free port, chosen at start (see Tunnel::forwards())
  std::string host;             // as seen from the session's target (the bastion)
  std::uint16_t port = 0;
};

enum class TunnelState { Connecting, Up, Reconnecting, Failed, Stopped };
std::string_view toString(TunnelState s);  // "connecting", "up", "reconnecting", "failed", "stopped"

struct TunnelEvent {
  TunnelState state = TunnelState::Connecting;
  std::string message;  // why (the connect error, "connection lost"); never a secret
  int attempt = 0;      // connect attempts since the last Up
  std::chrono::milliseconds retryIn{0};
  // Set (to the forward's name) when one accepted connection could not be forwarded (its target
  // refused, or it waited too long); the tunnel's own state is unchanged then.
  std::string forward;
};

struct TunnelOptions {
  std::chrono::milliseconds backoffMin{500};
  std::chrono::milliseconds backoffMax{30000};
  std::chrono::milliseconds pendingTimeout{10000};  // how long an accepted connection waits for Up
  std::function<void(const TunnelEvent&)> onEvent;   // state changes and failed channel opens
};

struct TunnelStats {
  std::uint64_t accepted = 0;     // connections accepted on the listeners
  std::uint64_t forwarded = 0;    // handed to a channel
  std::uint64_t failed = 0;       // channel open refused (target down) or waited too long
  std::uint64_t reconnects = 0;   // sessions re-made after a loss
  std::size_t open = 0;           // channels pumped right now
};

// Makes the session the forwards go through (the bastion, or a node through it).
using Connector = std::function<Result<std::unique_ptr<Session>>()>;

class Tunnel {
 public:
  // Binds every listener first (all or none: a port in use is a terminal error naming the
  // address and the forward), then starts the thread that connects and serves. A terminal
  // connect error (auth, host key) ends in Failed; retryable ones are retried with backoff.
  static Result<std::unique_ptr<Tunnel>> start(std::vector<Forward> forwards, Connector connect,
                                               TunnelOptions options = {});
  virtual ~Tunnel() = default;  // stops

  // The forwards with their bound local ports.
  virtual const std::vector<Forward>& forwards() const = 0;
  virtual TunnelState state() const = 0;
  // Until Up (ok), Failed (its error, terminal) or `timeout` (a retryable error naming the last
  // connect error).
  virtual engine::Status waitUp(std::chrono::milliseconds timeout) = 0;
  virtual TunnelStats stats() const = 0;
  // Closes the listeners and the session; state Stopped. Idempotent.
  virtual void stop() = 0;
};

// ---- pure helpers (unit-tested) ----
// The delay before connect attempt `attempt` (1-based): min, 2·min, 4·min, … capped at max.
std::chrono::milliseconds backoffDelay(int attempt, std::chrono::milliseconds min,
                                       std::chrono::milliseconds max);

}  // namespace ca4::drivers::ssh
