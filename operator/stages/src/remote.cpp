// The hosts target's way in: SSH endpoints, tunnels and their probes (see remote.h).
#include "ca4/stages/remote.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <set>

#include "ca4/drivers/http/http_client.h"
#include "ca4/drivers/kafka/admin.h"
#include "ca4/drivers/ssh/ssh_config.h"
#include "ca4/stages/files.h"

namespace ca4::stages::remote {
namespace {

using Clock = std::chrono::steady_clock;

long long msSince(Clock::time_point t0) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0).count();
}

ssh::Endpoint endpoint(const spec::Pipeline& p, const spec::SshEndpoint& e) {
  return {e.name, e.address, e.port, e.user, absUnder(p.base_dir, e.identity_file)};
}

void complete(spec::SshEndpoint& e, const std::string& configText) {
  auto c = ssh::lookupSshConfig(configText, e.address);
  if (!c.hostName.empty()) e.address = c.hostName;
  if (e.port == 0) e.port = c.port ? c.port : 22;
  if (e.user.empty()) e.user = c.user.empty() ? "ubuntu" : c.user;
  if (e.identity_file.empty()) e.identity_file = c.identityFile;
}

const std::set<std::string>& serverNodeAliases() {
  static const std::set<std::string> names{"k3s-api", "kafka", "grafana", "prometheus"};
  return names;
}

}  // namespace

spec::Pipeline resolveHosts(const spec::Pipeline& p, const std::string& configText) {
  spec::Pipeline r = p;
  complete(r.spec.hosts.bastion, configText);
  for (auto& n : r.spec.hosts.nodes) complete(n, configText);
  return r;
}

std::vector<ssh::Endpoint> bastionJumps(const spec::Pipeline& p, const std::string& configText) {
  std::vector<ssh::Endpoint> out;
  auto c = ssh::lookupSshConfig(configText, p.spec.hosts.bastion.address);
  for (const auto& j : ssh::parseProxyJump(c.proxyJump)) {
    spec::SshEndpoint e{j.host, j.host, j.port, j.user, ""};
    complete(e, configText);
    out.push_back(endpoint(p, e));
  }
  return out;
}

spec::Pipeline resolveHosts(const spec::Pipeline& p) {
  const std::string path = absUnder(p.base_dir, p.spec.hosts.ssh_config);
  return resolveHosts(p, path.empty() ? "" : readFile(path));
}

engine::Result<SshPlan> sshPlanFor(const spec::Pipeline& p) {
  const std::string path = absUnder(p.base_dir, p.spec.hosts.ssh_config);
  const std::string text = path.empty() ? "" : readFile(path);
  return sshPlan(resolveHosts(p, text), bastionJumps(p, text));
}

engine::Result<SshPlan> sshPlan(const spec::Pipeline& p, std::vector<ssh::Endpoint> jumps) {
  const auto& h = p.spec.hosts;
  if (h.bastion.address.empty()) {
    return engine::Error::terminal("spec.hosts.bastion.address is empty",
                                   "set the bastion's public address in ca4.yaml");
  }
  SshPlan plan;
  plan.jumps = std::move(jumps);
  plan.bastion = endpoint(p, h.bastion);
  for (const auto& n : h.nodes) plan.nodes.push_back(endpoint(p, n));
  plan.options.knownHosts = absUnder(p.base_dir, h.known_hosts);
  plan.options.hostKeyPolicy = h.host_key_policy == spec::HostKeyPolicy::AcceptNew
                                   ? ssh::HostKeyPolicy::AcceptNew
                                   : ssh::HostKeyPolicy::Strict;
  plan.options.passphrase = h.key_passphrase.value();
  return plan;
}

std::string resolveRemoteHost(const spec::Pipeline& p, const std::string& remoteHost) {
  if (serverNodeAliases().count(remoteHost) && !p.spec.hosts.nodes.empty()) {
    return p.spec.hosts.nodes.front().address;
  }
  return remoteHost;
}

engine::Result<std::vector<ssh::Forward>> forwards(const spec::Pipeline& p,
                                                   const std::vector<std::string>& names) {
  const bool all = names.empty() || (names.size() == 1 && names[0] == "all");
  std::vector<ssh::Forward> out;
  std::string known;
  for (const auto& t : p.spec.tunnels) known += (known.empty() ? "" : ", ") + t.name;
  if (p.spec.tunnels.empty()) {
    return engine::Error::terminal("the spec has no tunnels (spec.tunnels is empty)",
                                   "remove `tunnels: []` for the defaults, or list some");
  }
  for (const auto& n : names) {
    if (n == "all") continue;
    bool found = false;
    for (const auto& t : p.spec.tunnels) found = found || t.name == n;
    if (!found) {
      return engine::Error::terminal("no tunnel named '" + n + "' in the spec",
                                     "tunnels in the spec: " + known + " (or `all`)");
    }
  }
  for (const auto& t : p.spec.tunnels) {
    if (!all && std::find(names.begin(), names.end(), t.name) == names.end()) continue;
    out.push_back({t.name, "127.0.0.1", t.local_port, resolveRemoteHost(p, t.remote_host),
                   t.remote_port});
  }
  return out;
}

ProbeKind probeKindFor(const std::string& n) {
  if (n == "k3s") return ProbeKind::Https;
  if (n == "grafana" || n == "prometheus") return ProbeKind::Http;
  if (n == "kafka") return ProbeKind::Kafka;
  return ProbeKind::Tcp;
}

std::string_view toString(ProbeKind k) {
  switch (k) {
    case ProbeKind::Tcp: return "tcp";
    case ProbeKind::Http: return "http";
    case ProbeKind::Https: return "https";
    case ProbeKind::Kafka: return "kafka";
  }
  return "?";
}

engine::Result<std::unique_ptr<ssh::Tunnel>> openTunnel(const spec::Pipeline& p,
                                                       std::vector<ssh::Forward> fwds,
                                                       ssh::TunnelOptions options) {
  auto plan = sshPlanFor(p);
  if (!plan) return plan.error();
  SshPlan sp = std::move(*plan);
  auto connect = [sp]() { return ssh::connect(sp.bastion, sp.jumps, sp.options); };
  return ssh::Tunnel::start(std::move(fwds), connect, std::move(options));
}

Check probe(const ssh::Forward& f, std::chrono::milliseconds timeout) {
  Check c;
  c.name = f.name;
  const auto t0 = Clock::now();
  const std::string local = "127.0.0.1:" + std::to_string(f.localPort);
  const std::string remote = f.host + ":" + std::to_string(f.port);
  const ProbeKind kind = probeKindFor(f.name);
  c.fields = {{"local", local}, {"remote", remote}, {"probe", std::string(toString(kind))}};
  auto fail = [&](const std::string& why) {
    c.ok = false;
    c.message = "no traffic through " + local + " → " + remote + ": " + why;
    c.fix = "is " + remote + " serving? (ca4ctl status; the tunnel itself reconnects on its own)";
    c.duration_ms = msSince(t0);
    return c;
  };
  if (kind == ProbeKind::Http || kind == ProbeKind::Https) {
    const std::string path =
        f.name == "k3s" ? "/version" : f.name == "grafana" ? "/api/health" : "/-/ready";
    drivers::http::HttpClient http;
    drivers::http::Request req;
    req.url = std::string(kind == ProbeKind::Https ? "https" : "http") + "://" + local + path;
    req.timeout = timeout;
    // Reachability only: the K3s API's identity is checked by the Kubernetes client (CA from the
    // kubeconfig); any HTTP answer means the bytes went both ways.
    req.insecureSkipVerify = kind == ProbeKind::Https;
    auto r = http.request(req);
    if (!r) return fail(r.error().message);
    c.ok = true;
    c.message = "GET " + path + " → " + std::to_string(r->status) + " through " + local + " → " +
                remote;
    c.duration_ms = msSince(t0);
    return c;
  }
  if (kind == ProbeKind::Kafka) {
    auto admin = drivers::kafka::Admin::create(local, timeout);
    if (!admin) return fail(admin.error().message);
    auto info = admin->describeCluster();
    if (!info) return fail(info.error().message);
    c.ok = true;
    c.message = "metadata: " + std::to_string(info->brokerCount()) + " broker(s) through " + local +
                " → " + remote;
    c.duration_ms = msSince(t0);
    return c;
  }
  // TCP: the tunnel closes our connection at once when the target refuses the channel; a
  // connection still open (or already talking) after a short wait reached the target.
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(f.localPort);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return fail("nothing listens on " + local + " (is the tunnel running?)");
  }
  pollfd pf{fd, POLLIN, 0};
  int wait = static_cast<int>(std::min<long long>(timeout.count(), 500));
  bool closed = false;
  if (::poll(&pf, 1, wait) > 0) {
    char b;
    closed = ::recv(fd, &b, 1, MSG_PEEK) <= 0;
  }
  ::close(fd);
  if (closed) return fail("the target refused the connection");
  c.ok = true;
  c.message = "TCP open through " + local + " → " + remote;
  c.duration_ms = msSince(t0);
  return c;
}

engine::Result<std::string> ApiAccess::server(const spec::Pipeline& original) {
  const spec::Pipeline p = resolveHosts(original);
  if (p.spec.hosts.nodes.empty()) {
    return engine::Error::terminal("spec.hosts.nodes is empty: no K3s server to reach",
                                   "list the nodes; the first is the K3s server");
  }
  const auto& b = p.spec.hosts.bastion;
  const std::string target = p.spec.hosts.nodes.front().address;
  const std::string key = b.address + ":" + std::to_string(b.port) + "/" + b.user + "/" +
                          b.identity_file + "/" + p.spec.hosts.known_hosts + "/" + target;
  if (!tunnel_ || key != key_ || tunnel_->state() == ssh::TunnelState::Failed) {
    tunnel_.reset();
    auto t = openTunnel(original, {{"k3s-api", "127.0.0.1", 0, target, 6443}});
    if (!t) return t.error();
    tunnel_ = std::move(*t);
    key_ = key;
  }
  auto up = tunnel_->waitUp(std::chrono::seconds(30));
  if (!up) return up.error();
  return "https://127.0.0.1:" + std::to_string(tunnel_->forwards().front().localPort);
}

std::uint16_t userApiPort(const spec::Pipeline& p) {
  const std::string server = p.spec.hosts.nodes.empty() ? "" : p.spec.hosts.nodes.front().address;
  for (const auto& t : p.spec.tunnels) {
    if (t.remote_port == 6443 && resolveRemoteHost(p, t.remote_host) == server) return t.local_port;
  }
  return 16443;
}

}  // namespace ca4::stages::remote
