#include "ca4/drivers/local/ports.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>

#include "ca4/drivers/local/process.h"

namespace ca4::drivers::local {

bool tcpOpen(const std::string& host, std::uint16_t port, std::chrono::milliseconds timeout) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &res) != 0) return false;
  bool open = false;
  for (addrinfo* a = res; a && !open; a = a->ai_next) {
    int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) continue;
    int rc = ::connect(fd, a->ai_addr, a->ai_addrlen);
    if (rc == 0) {
      open = true;
    } else if (errno == EINPROGRESS) {
      pollfd p{fd, POLLOUT, 0};
      if (::poll(&p, 1, static_cast<int>(timeout.count())) == 1) {
        int err = 0;
        socklen_t len = sizeof err;
        ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
        open = err == 0;
      }
    }
    ::close(fd);
  }
  ::freeaddrinfo(res);
  return open;
}

namespace {

// Socket inodes listening (state 0A) on `port` in /proc/net/tcp and tcp6.
std::set<std::string> listeningInodes(std::uint16_t port) {
  std::set<std::string> inodes;
  char want[8];
  std::snprintf(want, sizeof want, "%04X", port);
  for (const char* f : {"/proc/net/tcp", "/proc/net/tcp6"}) {
    std::ifstream in(f);
    std::string line;
    std::getline(in, line);  // header
    while (std::getline(in, line)) {
      std::istringstream ls(line);
      std::string sl, local, remote, st, queues, tr, retr, uid, timeout, inode;
      ls >> sl >> local >> remote >> st >> queues >> tr >> retr >> uid >> timeout >> inode;
      auto colon = local.rfind(':');
      if (st == "0A" && colon != std::string::npos && local.substr(colon + 1) == want) {
        inodes.insert(inode);
      }
    }
  }
  return inodes;
}

}  // namespace

std::optional<PortOwner> listeningOwner(std::uint16_t port) {
  auto inodes = listeningInodes(port);
  if (inodes.empty()) return std::nullopt;
  DIR* proc = ::opendir("/proc");
  if (!proc) return PortOwner{};
  std::optional<PortOwner> found;
  while (dirent* d = ::readdir(proc)) {
    if (found) break;
    char* end = nullptr;
    long pid = std::strtol(d->d_name, &end, 10);
    if (*end != '\0' || pid <= 0) continue;
    std::string fddir = std::string("/proc/") + d->d_name + "/fd";
    DIR* fds = ::opendir(fddir.c_str());
    if (!fds) continue;
    while (dirent* f = ::readdir(fds)) {
      char target[256];
      std::string link = fddir + "/" + f->d_name;
      ssize_t n = ::readlink(link.c_str(), target, sizeof target - 1);
      if (n <= 0) continue;
      target[n] = '\0';
      // "socket:[12345]"
      std::string t(target);
      if (t.rfind("socket:[", 0) == 0 && inodes.count(t.substr(8, t.size() - 9))) {
        PortOwner o;
        o.pid = static_cast<int>(pid);
        if (auto st = readProcStat(o.pid)) o.comm = st->comm;
        found = o;
        break;
      }
    }
    ::closedir(fds);
  }
  ::closedir(proc);
  return found ? found : std::optional<PortOwner>(PortOwner{});
}

}  // namespace ca4::drivers::local
