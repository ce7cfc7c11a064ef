// kubeconfig → how to reach one cluster (the selected context). Pure parse + a file loader.
// Supports: contexts, clusters, users; certificate-authority(-data), client-certificate(-data),
// client-key(-data), token, tokenFile; insecure-skip-tls-verify (honoured only when the file says
// so: the caller warns). Relative file paths resolve against the kubeconfig's directory.
// Credentials (key, token) are kept in memory only and never appear in errors or describe().
#pragma once

#include <ca4/engine/result.h>

#include <string>
#include <string_view>

namespace ca4::drivers::kube {

struct ClusterAccess {
  std::string context;  // the context used
  std::string server;   // "https://127.0.0.1:6443" (no trailing '/')
  std::string caPem, caFile;
  std::string certPem, certFile;
  std::string keyPem, keyFile;  // secret
  std::string token;            // secret (bearer)
  bool insecureSkipVerify = false;
  std::string defaultNamespace = "default";
  // "context ca4, server https://127.0.0.1:6443, user ca4-admin (client certificate)": no secrets.
  std::string describe() const;
  std::string user;  // the user entry's name
};

// context "" = current-context. `source` names the file in errors; `baseDir` resolves relative paths.
engine::Result<ClusterAccess> parseKubeconfig(std::string_view yaml, const std::string& source,
                                              const std::string& context, const std::string& baseDir);
// Reads the file (a leading "~/" is the home directory) and parses it. A missing file is a
// terminal error whose fix names how to get one.
engine::Result<ClusterAccess> loadKubeconfig(const std::string& path, const std::string& context);

}  // namespace ca4::drivers::kube
