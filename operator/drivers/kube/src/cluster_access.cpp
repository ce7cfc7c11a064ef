#include "ca4/drivers/kube/cluster_access.h"

#include <ca4/common/base64.h>
#include <yaml-cpp/yaml.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>

namespace ca4::drivers::kube {

using engine::Error;
using engine::Result;

namespace {

std::string str(const YAML::Node& n, const char* key) {
  const auto v = n[key];
  return v && v.IsScalar() ? v.as<std::string>() : std::string();
}

// The entry `name` of a kubeconfig list (clusters/users/contexts), its inner mapping under `inner`.
YAML::Node findNamed(const YAML::Node& root, const char* list, const std::string& name, const char* inner) {
  const auto l = root[list];
  if (!l || !l.IsSequence()) return YAML::Node();
  for (const auto& e : l) {
    if (e.IsMap() && str(e, "name") == name) return e[inner];
  }
  return YAML::Node();
}

std::string names(const YAML::Node& root, const char* list) {
  std::string out;
  const auto l = root[list];
  if (!l || !l.IsSequence()) return out;
  for (const auto& e : l) {
    if (!e.IsMap()) continue;
    if (!out.empty()) out += ", ";
    out += str(e, "name");
  }
  return out.empty() ? "none" : out;
}

std::string resolvePath(const std::string& p, const std::string& baseDir) {
  if (p.empty()) return p;
  if (p.rfind("~/", 0) == 0) {
    const char* home = std::getenv("HOME");
    return std::string(home ? home : "") + p.substr(1);
  }
  if (p.front() == '/' || baseDir.empty()) return p;
  return (std::filesystem::path(baseDir) / p).string();
}

}  // namespace

std::string ClusterAccess::describe() const {
  std::string auth = !certPem.empty() || !certFile.empty() ? "client certificate"
                     : !token.empty()                        ? "bearer token"
                                                             : "anonymous";
  return "context " + context + ", server " + server + ", user " + user + " (" + auth + ")" +
         (insecureSkipVerify ? ", TLS verification OFF" : "");
}

Result<ClusterAccess> parseKubeconfig(std::string_view yaml, const std::string& source,
                                      const std::string& context, const std::string& baseDir) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml));
  } catch (const YAML::Exception& e) {
    return Error::terminal(source + ":" + std::to_string(e.mark.line + 1) + ":" +
                               std::to_string(e.mark.column + 1) + ": not a kubeconfig: " + e.msg,
                           "fix the YAML, or point spec.cluster.kubeconfig at the right file");
  }
  if (!root.IsMap()) return Error::terminal(source + ": not a kubeconfig (expected a mapping)");
  ClusterAccess a;
  a.context = context.empty() ? str(root, "current-context") : context;
  if (a.context.empty()) {
    return Error::terminal(source + ": no context given and no current-context",
                           "set spec.cluster.context to one of: " + names(root, "contexts"));
  }
  const auto ctx = findNamed(root, "contexts", a.context, "context");
  if (!ctx || !ctx.IsMap()) {
    return Error::terminal(source + ": context \"" + a.context + "\" not found (have: " + names(root, "contexts") + ")",
                           "set spec.cluster.context to one of them");
  }
  const std::string clusterName = str(ctx, "cluster");
  a.user = str(ctx, "user");
  if (const auto ns = str(ctx, "namespace"); !ns.empty()) a.defaultNamespace = ns;
  const auto cl = findNamed(root, "clusters", clusterName, "cluster");
  if (!cl || !cl.IsMap()) {
    return Error::terminal(source + ": cluster \"" + clusterName + "\" of context \"" + a.context + "\" not found",
                           "add it under clusters:, or pick another context");
  }
  a.server = str(cl, "server");
  while (!a.server.empty() && a.server.back() == '/') a.server.pop_back();
  if (a.server.rfind("https://", 0) != 0 && a.server.rfind("http://", 0) != 0) {
    return Error::terminal(source + ": cluster \"" + clusterName + "\" has no usable server URL",
                           "set clusters[].cluster.server to https://host:port");
  }
  if (const auto d = str(cl, "certificate-authority-data"); !d.empty()) {
    auto pem = common::base64Decode(d);
    if (!pem) return Error::terminal(source + ": cluster \"" + clusterName + "\": certificate-authority-data is not base64");
    a.caPem = *pem;
  }
  a.caFile = resolvePath(str(cl, "certificate-authority"), baseDir);
  {
    const auto v = str(cl, "insecure-skip-tls-verify");
    a.insecureSkipVerify = v == "true" || v == "True" || v == "TRUE";
  }

  if (!a.user.empty()) {
    const auto u = findNamed(root, "users", a.user, "user");
    if (!u || !u.IsMap()) {
      return Error::terminal(source + ": user \"" + a.user + "\" of context \"" + a.context + "\" not found",
                             "add it under users:, or pick another context");
    }
    if (u["exec"] || u["auth-provider"]) {
      return Error::terminal(source + ": user \"" + a.user + "\" uses an exec/auth-provider plugin, which ca4ctl does not run",
                             "use a kubeconfig with a client certificate or a token (e.g. the K3s one)");
    }
    auto blob = [&](const char* dataKey, std::string& out) -> std::optional<Error> {
      if (const auto d = str(u, dataKey); !d.empty()) {
        auto v = common::base64Decode(d);
        if (!v) return Error::terminal(source + ": user \"" + a.user + "\": " + dataKey + " is not base64");
        out = *v;
      }
      return std::nullopt;
    };
    if (auto e = blob("client-certificate-data", a.certPem)) return *e;
    if (auto e = blob("client-key-data", a.keyPem)) return *e;
    a.certFile = resolvePath(str(u, "client-certificate"), baseDir);
    a.keyFile = resolvePath(str(u, "client-key"), baseDir);
    a.token = str(u, "token");
    if (const auto tf = resolvePath(str(u, "tokenFile"), baseDir); a.token.empty() && !tf.empty()) {
      std::ifstream in(tf);
      if (!in) return Error::terminal(source + ": user \"" + a.user + "\": tokenFile " + tf + " cannot be read");
      std::getline(in, a.token);
      while (!a.token.empty() && (a.token.back() == '\r' || a.token.back() == ' ')) a.token.pop_back();
    }
    const bool hasCert = !a.certPem.empty() || !a.certFile.empty();
    const bool hasKey = !a.keyPem.empty() || !a.keyFile.empty();
    if (hasCert != hasKey) {
      return Error::terminal(source + ": user \"" + a.user + "\" has a client certificate without its key (or the reverse)",
                             "give both client-certificate(-data) and client-key(-data)");
    }
  }
  return a;
}

Result<ClusterAccess> loadKubeconfig(const std::string& path, const std::string& context) {
  const std::string p = resolvePath(path, "");
  std::ifstream in(p);
  if (!in) {
    return Error::terminal("kubeconfig " + p + " cannot be read",
                           "set spec.cluster.kubeconfig to the cluster's kubeconfig (for K3s: "
                           "/etc/rancher/k3s/k3s.yaml on the server; ca4ctl fetches it on target hosts)");
  }
  std::stringstream ss;
  ss << in.rdbuf();
  return parseKubeconfig(ss.str(), p, context, std::filesystem::path(p).parent_path().string());
}

}  // namespace ca4::drivers::kube
