#include "ca4/testsupport/ssh_server.hpp"

#include <signal.h>
#include <sys/stat.h>

#include <filesystem>

#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace ca4::testsupport {
namespace {

std::string readText(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string firstLine(const std::string& s) { return s.substr(0, s.find('\n')); }

void runKeygen(const std::vector<std::string>& argv, const std::filesystem::path& log) {
  auto p = Process::start({.argv = argv, .env = {}, .cwd = {}, .logFile = log});
  auto rc = p.wait(std::chrono::seconds(60));
  if (!rc || *rc != 0) {
    throw std::runtime_error("ssh-keygen failed (" +
                             (rc ? std::to_string(*rc) : std::string("timeout")) + "):\n" +
                             tailFile(log));
  }
}

}  // namespace

SshUserKey generateSshUserKey(const std::filesystem::path& dir, const std::string& name,
                              const std::string& type, const std::string& passphrase) {
  auto key = dir / name;
  std::filesystem::remove(key);
  std::filesystem::remove(key.string() + ".pub");
  std::vector<std::string> argv = {"ssh-keygen", "-q",        "-t", type,
                                   "-N",         passphrase,  "-C", "ca4-test-" + name,
                                   "-f",         key.string()};
  if (type == "rsa") {
    argv.insert(argv.end(), {"-b", "3072"});
  }
  runKeygen(argv, dir / (name + ".keygen.log"));
  return {key, firstLine(readText(key.string() + ".pub"))};
}

SshServer::SshServer(const std::string& name, const std::string& listenAddress,
                     const std::string& logLevel, std::chrono::seconds startTimeout)
    : dir_("ca4-sshd-" + name), address_(listenAddress) {
  const auto& d = dir_.path();
  // sshd's privilege separation directory; Debian's package creates it at boot only.
  std::filesystem::create_directories("/run/sshd");
  ::chmod("/run/sshd", 0755);
  runKeygen({"ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "ca4-test-host", "-f",
             (d / "ssh_host_ed25519_key").string()},
            d / "keygen.log");
  std::string pub = firstLine(readText(d / "ssh_host_ed25519_key.pub"));
  hostPublicKey_ = pub.substr(0, pub.rfind(' '));  // drop the comment
  std::ofstream(d / "authorized_keys").close();
  port_ = freeLoopbackPort();
  {
    std::ofstream cfg(d / "sshd_config");
    cfg << "Port " << port_ << "\n"
        << "ListenAddress " << address_ << "\n"
        << "HostKey " << (d / "ssh_host_ed25519_key").string() << "\n"
        << "AuthorizedKeysFile " << (d / "authorized_keys").string() << "\n"
        << "PermitRootLogin prohibit-password\n"
        << "PubkeyAuthentication yes\n"
        << "PasswordAuthentication no\n"
        << "KbdInteractiveAuthentication no\n"
        << "UsePAM no\n"
        << "PidFile none\n"
        << "StrictModes no\n"
        << "AllowTcpForwarding yes\n"
        << "AllowAgentForwarding no\n"
        << "X11Forwarding no\n"
        << "PrintMotd no\n"
        << "Subsystem sftp internal-sftp\n"
        << "LogLevel " << logLevel << "\n";
  }
  name_ = name;
  startTimeout_ = startTimeout;
  start();
}

void SshServer::start() {
  const auto& d = dir_.path();
  const auto& name = name_;
  const auto startTimeout = startTimeout_;
  process_ = Process::start({
      .argv = {"/usr/sbin/sshd", "-D", "-e", "-f", (d / "sshd_config").string()},
      .env = {},
      .cwd = d,
      .logFile = serverLog(),
  });
  auto deadline = std::chrono::steady_clock::now() + startTimeout;
  while (!waitForTcp(address_, port_, std::chrono::milliseconds(100))) {
    if (!process_.alive() || std::chrono::steady_clock::now() >= deadline) {
      std::string msg =
          "sshd " + name + " on " + address_ + ":" + std::to_string(port_) + ": " +
          (process_.alive() ? "not listening before the start timeout" : "exited during start") +
          "\n--- log (tail)\n" + tailFile(serverLog());
      process_.kill();
      throw std::runtime_error(msg);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

SshServer::~SshServer() { stop(); }

std::string SshServer::hostKeyLine() const {
  return "[" + address_ + "]:" + std::to_string(port_) + " " + hostPublicKey_ + "\n";
}

void SshServer::authorize(const SshUserKey& key) {
  std::ofstream(dir_.path() / "authorized_keys", std::ios::app) << key.publicLine << "\n";
}

std::filesystem::path SshServer::serverLog() const { return dir_.path() / "sshd.log"; }

void SshServer::stop() { process_.stop(std::chrono::seconds(5)); }

void SshServer::killAll() {
  // sshd's per-connection processes call setsid(), so they are outside the listener's process
  // group; they are its children, though.
  const pid_t master = process_.pid();
  if (master > 0 && process_.alive()) {
    for (const auto& e : std::filesystem::directory_iterator("/proc")) {
      const std::string pid = e.path().filename().string();
      if (pid.find_first_not_of("0123456789") != std::string::npos) continue;
      std::string stat = readText(e.path() / "stat");
      auto close = stat.rfind(')');
      if (close == std::string::npos) continue;
      std::istringstream rest(stat.substr(close + 2));
      std::string state;
      pid_t ppid = 0;
      rest >> state >> ppid;
      if (ppid == master) ::kill(static_cast<pid_t>(std::stol(pid)), SIGKILL);
    }
  }
  process_.kill();
}

void SshServer::restart() {
  killAll();
  start();
}

bool SshServer::running() { return process_.alive(); }

}  // namespace ca4::testsupport
