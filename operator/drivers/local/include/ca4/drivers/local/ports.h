// Loopback port probes for the local target.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

namespace ca4::drivers::local {

// True when something accepts TCP connections on host:port within `timeout`.
bool tcpOpen(const std::string& host, std::uint16_t port,
             std::chrono::milliseconds timeout = std::chrono::milliseconds(300));

// Who listens on a TCP port (from /proc/net/tcp{,6} and /proc/*/fd), for "port in use" errors.
struct PortOwner {
  int pid = 0;           // 0 when the socket's owner is not visible (another user / namespace)
  std::string comm;      // "java"
};
std::optional<PortOwner> listeningOwner(std::uint16_t port);

}  // namespace ca4::drivers::local
