// K3s on the nodes, the pure half (see k3s.h): facts, desired config, the plan per node, commands.
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <map>
#include <sstream>

#include "ca4/drivers/ssh/ssh.h"
#include "ca4/stages/k3s.h"

namespace ca4::stages::k3s {
namespace {

using drivers::ssh::shellQuote;

constexpr const char* kConfigMarker = "--- config.yaml ---";
constexpr const char* kOwnDir = "/var/lib/rancher/k3s/ca4";

std::string roleWord(Role r) { return r == Role::Server ? "server" : "agent"; }

// A config.yaml as key → printable value ("[a, b]" for lists); "" input → empty map.
std::map<std::string, std::string> flatten(const std::string& text) {
  std::map<std::string, std::string> out;
  if (text.empty()) return out;
  YAML::Node n;
  try {
    n = YAML::Load(text);
  } catch (const YAML::Exception&) {
    out["(unparsable)"] = "(file is not YAML)";
    return out;
  }
  if (!n.IsMap()) return out;
  for (const auto& kv : n) {
    const std::string key = kv.first.as<std::string>("");
    std::string v;
    if (kv.second.IsSequence()) {
      v = "[";
      for (std::size_t i = 0; i < kv.second.size(); ++i) {
        v += (i ? ", " : "") + kv.second[i].as<std::string>("");
      }
      v += "]";
    } else if (kv.second.IsScalar()) {
      v = kv.second.as<std::string>("");
    } else {
      v = "(complex)";
    }
    out[key] = v;
  }
  return out;
}

bool isSensitiveKey(const std::string& k) { return k == "token" || k == "agent-token"; }

}  // namespace

std::string probeCommand() {
  std::string own = kOwnDir;
  return "v=$(" + std::string(kBinary) + " --version 2>/dev/null | head -n 1)\n" + R"SH(echo "version=$v"
if [ -d /run/systemd/system ]; then echo systemd=yes; sd=1; else echo systemd=no; sd=0; fi
pid=
if [ $sd = 1 ]; then
  for u in k3s k3s-agent; do
    p=$(systemctl show -p MainPID --value "$u" 2>/dev/null || true)
    if [ -n "$p" ] && [ "$p" != 0 ]; then pid=$p; fi
  done
fi
)SH" + "if [ -z \"$pid\" ] && [ -f " + own + "/k3s.pid ]; then pid=$(cat " + own + "/k3s.pid); fi\n" + R"SH(
if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q k3s; then
  echo running=yes; echo "pid=$pid"; echo "started=$(stat -c %Y /proc/$pid)"
else
  echo running=no
fi
echo "arch=$(uname -m)"
)SH" + "echo '" + kConfigMarker + "'\ncat " + kConfig + " 2>/dev/null || true\n";
}

std::string versionFromOutput(const std::string& out) {
  std::istringstream in(out);
  std::string a, b, v;
  in >> a >> b >> v;
  if (a != "k3s" || b != "version" || v.empty() || v[0] != 'v') return "";
  return v;
}

engine::Result<NodeFacts> parseFacts(const std::string& output) {
  NodeFacts f;
  auto marker = output.find(std::string(kConfigMarker) + "\n");
  if (marker == std::string::npos) {
    return engine::Error::terminal("unexpected answer from the node's probe (no config marker)",
                                   "the node's login shell must be a POSIX sh (bash, dash)");
  }
  f.config = output.substr(marker + std::string(kConfigMarker).size() + 1);
  std::istringstream in(output.substr(0, marker));
  std::string line;
  while (std::getline(in, line)) {
    auto eq = line.find('=');
    if (eq == std::string::npos) continue;
    const std::string k = line.substr(0, eq), v = line.substr(eq + 1);
    if (k == "version") f.version = versionFromOutput(v);
    else if (k == "systemd") f.systemd = v == "yes";
    else if (k == "running") f.running = v == "yes";
    else if (k == "pid") f.pid = std::atoll(v.c_str());
    else if (k == "started") f.startedAt = std::atoll(v.c_str());
    else if (k == "arch") f.arch = v;
  }
  return f;
}

std::string desiredConfig(const spec::Pipeline& p, std::size_t index, const std::string& token) {
  const auto& nodes = p.spec.hosts.nodes;
  const auto& n = nodes.at(index);
  std::ostringstream o;
  o << "# Written by ca4ctl: `ca4ctl up` puts it back if edited.\n";
  o << "node-name: " << n.name << "\n";
  o << "node-ip: " << n.address << "\n";
  if (index == 0) {
    std::vector<std::string> sans{"127.0.0.1", "localhost"};
    for (const auto& s : p.spec.cluster.tls_sans) {
      if (std::find(sans.begin(), sans.end(), s) == sans.end()) sans.push_back(s);
    }
    o << "tls-san:\n";
    for (const auto& s : sans) o << "  - " << s << "\n";
    o << "write-kubeconfig-mode: \"0600\"\n";
  } else {
    o << "server: https://" << nodes.front().address << ":" << kApiPort << "\n";
    o << "token: " << token << "\n";
  }
  return o.str();
}

std::vector<std::string> configDiff(const std::string& current, const std::string& desired) {
  auto a = flatten(current), b = flatten(desired);
  std::vector<std::string> out;
  auto show = [](const std::string& k, const std::string& v) {
    return isSensitiveKey(k) ? std::string("(sensitive)") : v;
  };
  for (const auto& [k, v] : b) {
    auto it = a.find(k);
    if (it == a.end()) out.push_back("+ " + k + ": " + show(k, v));
    else if (it->second != v) out.push_back("~ " + k + ": " + show(k, it->second) + " → " + show(k, v));
  }
  for (const auto& [k, v] : a) {
    if (!b.count(k)) out.push_back("- " + k + ": " + show(k, v));
  }
  if (out.empty() && current != desired) out.push_back("~ (comments or formatting)");
  return out;
}

NodeStep planNode(const NodeFacts& facts, const std::string& desiredVersion,
                  const std::string& desiredConfigText) {
  NodeStep s;
  std::vector<std::string> why;
  if (facts.version != desiredVersion) {
    s.install = true;
    s.action = facts.version.empty() ? "install" : "upgrade";
    why.push_back(facts.version.empty() ? "k3s " + desiredVersion + " (none installed)"
                                        : "k3s " + facts.version + " → " + desiredVersion);
  }
  if (facts.config != desiredConfigText) {
    s.writeConfig = true;
    s.diff = configDiff(facts.config, desiredConfigText);
    if (s.action.empty()) s.action = "update";
    why.push_back(facts.config.empty() ? "config.yaml missing" : "config.yaml changed");
  }
  if (s.install || s.writeConfig || !facts.running) {
    s.restart = true;
    if (s.action.empty()) s.action = "start";
    if (!facts.running) why.push_back("k3s not running");
  }
  for (std::size_t i = 0; i < why.size(); ++i) s.detail += (i ? ", " : "") + why[i];
  return s;
}

std::string writeConfigCommand() {
  const std::string tmp = std::string(kConfig) + ".ca4tmp";
  return "set -e; umask 077; mkdir -p /etc/rancher/k3s; cat > " + tmp + "; chmod 600 " + tmp +
         "; mv -f " + tmp + " " + kConfig;
}

std::string startCommand(Role role, bool systemd) {
  const std::string r = roleWord(role);
  if (systemd) {
    const std::string unit = role == Role::Server ? "k3s" : "k3s-agent";
    const std::string type = role == Role::Server ? "notify" : "exec";
    // The official installer's unit, when it wrote one, is kept; otherwise a minimal equivalent.
    return "set -e; f=/etc/systemd/system/" + unit + ".service\n"
           "if [ ! -f \"$f\" ]; then\n"
           "  printf '%s\\n' '[Unit]' 'Description=Lightweight Kubernetes (ca4ctl)' "
           "'Wants=network-online.target' 'After=network-online.target' '[Service]' 'Type=" + type +
           "' 'ExecStart=" + kBinary + " " + r + "' 'KillMode=process' 'Delegate=yes' "
           "'LimitNOFILE=1048576' 'TasksMax=infinity' 'Restart=always' 'RestartSec=5s' '[Install]' "
           "'WantedBy=multi-user.target' > \"$f\"\n"
           "  systemctl daemon-reload\n"
           "fi\n"
           "systemctl enable " + unit + " >/dev/null 2>&1\n"
           "systemctl restart " + unit + "\n";
  }
  const std::string d = kOwnDir;
  return "set -e; d=" + d + "; mkdir -p \"$d\"; chmod 700 \"$d\"\n"
         "if [ -f \"$d/k3s.pid\" ]; then p=$(cat \"$d/k3s.pid\")\n"
         "  if kill -0 \"$p\" 2>/dev/null && tr '\\0' ' ' <\"/proc/$p/cmdline\" | grep -q k3s; then\n"
         "    kill \"$p\"; i=0\n"
         "    while kill -0 \"$p\" 2>/dev/null && [ $i -lt 300 ]; do sleep 0.1; i=$((i+1)); done\n"
         "    kill -9 \"$p\" 2>/dev/null || true\n"
         "  fi\n"
         "fi\n"
         "setsid " + std::string(kBinary) + " " + r + " </dev/null >>\"$d/k3s.log\" 2>&1 &\n"
         "echo $! > \"$d/k3s.pid\"\n"
         "sleep 1\n"
         "if ! kill -0 \"$(cat \"$d/k3s.pid\")\" 2>/dev/null; then\n"
         "  echo \"k3s " + r + " exited at once; last lines of $d/k3s.log:\" >&2; tail -n 20 \"$d/k3s.log\" >&2; exit 1\n"
         "fi\n";
}

std::string onlineInstallCommand(Role role, const std::string& version) {
  return "set -e; curl -sfL https://get.k3s.io | INSTALL_K3S_VERSION=" + shellQuote(version) +
         " INSTALL_K3S_SKIP_START=true INSTALL_K3S_EXEC=" + roleWord(role) + " sh -";
}

std::string airgapInstallCommand(Role role, const std::string& version, const std::string& script) {
  return "set -e; INSTALL_K3S_SKIP_DOWNLOAD=true INSTALL_K3S_VERSION=" + shellQuote(version) +
         " INSTALL_K3S_SKIP_START=true INSTALL_K3S_EXEC=" + roleWord(role) + " sh " +
         shellQuote(script);
}

engine::Result<std::string> rewriteKubeconfig(const std::string& k3sYaml, const std::string& server,
                                              const std::string& name) {
  YAML::Node n;
  try {
    n = YAML::Load(k3sYaml);
  } catch (const YAML::Exception& e) {
    return engine::Error::terminal("the server's k3s.yaml is not YAML: " + std::string(e.what()));
  }
  if (!n.IsMap() || !n["clusters"].IsSequence() || n["clusters"].size() != 1 ||
      !n["users"].IsSequence() || n["users"].size() != 1 || !n["contexts"].IsSequence() ||
      n["contexts"].size() != 1) {
    return engine::Error::terminal(
        "the server's k3s.yaml is not a one-cluster kubeconfig as K3s writes it",
        "check /etc/rancher/k3s/k3s.yaml on the server node");
  }
  n["clusters"][0]["name"] = name;
  n["clusters"][0]["cluster"]["server"] = server;
  n["users"][0]["name"] = name;
  n["contexts"][0]["name"] = name;
  n["contexts"][0]["context"]["cluster"] = name;
  n["contexts"][0]["context"]["user"] = name;
  n["current-context"] = name;
  YAML::Emitter e;
  e << n;
  return std::string(e.c_str()) + "\n";
}

bool looksLikeNodeToken(const std::string& t) {
  if (t.rfind("K10", 0) != 0) return false;
  auto sep = t.find("::");
  return sep != std::string::npos && sep > 3 && t.find(':', sep + 2) != std::string::npos;
}

}  // namespace ca4::stages::k3s
