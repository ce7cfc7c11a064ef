#include "ca4/drivers/kube/client.h"

#include <algorithm>
#include <cctype>
#include <random>
#include <thread>

namespace ca4::drivers::kube {

using engine::Error;
using engine::Result;

// ---- typed errors ----

std::string_view toString(ApiErrorKind k) {
  switch (k) {
    case ApiErrorKind::Conflict: return "conflict";
    case ApiErrorKind::Forbidden: return "forbidden";
    case ApiErrorKind::Unauthorized: return "unauthorized";
    case ApiErrorKind::NotFound: return "not found";
    case ApiErrorKind::Invalid: return "invalid";
    case ApiErrorKind::AlreadyExists: return "already exists";
    case ApiErrorKind::TooManyRequests: return "too many requests";
    case ApiErrorKind::Server: return "server error";
    case ApiErrorKind::Unreachable: return "unreachable";
    case ApiErrorKind::Other: return "error";
  }
  return "error";
}

ApiError apiErrorFrom(long status, const std::string& body) {
  ApiError e;
  e.status = status;
  const Json j = Json::parse(body, nullptr, false);
  if (j.is_object() && j.value("kind", "") == "Status") {
    e.reason = j.value("reason", "");
    e.message = j.value("message", "");
    if (const auto d = j.find("details"); d != j.end() && d->is_object()) {
      if (const auto c = d->find("causes"); c != d->end() && c->is_array()) {
        for (const auto& x : *c) {
          if (!x.is_object()) continue;
          e.causes.push_back({x.value("reason", ""), x.value("field", ""), x.value("message", "")});
        }
      }
    }
  } else {
    e.message = body.substr(0, 300);
  }
  if (status == 409) e.kind = e.reason == "AlreadyExists" ? ApiErrorKind::AlreadyExists : ApiErrorKind::Conflict;
  else if (status == 403) e.kind = ApiErrorKind::Forbidden;
  else if (status == 401) e.kind = ApiErrorKind::Unauthorized;
  else if (status == 404) e.kind = ApiErrorKind::NotFound;
  else if (status == 422 || status == 400) e.kind = ApiErrorKind::Invalid;
  else if (status == 429) e.kind = ApiErrorKind::TooManyRequests;
  else if (status >= 500) e.kind = ApiErrorKind::Server;
  return e;
}

std::vector<std::string> ApiError::conflictingManagers() const {
  std::vector<std::string> out;
  for (const auto& c : causes) {
    if (c.type != "FieldManagerConflict") continue;
    // message: conflict with "kubectl-edit" using v1   (or: … with "x" with subresource "scale")
    const auto a = c.message.find('"');
    if (a == std::string::npos) continue;
    const auto b = c.message.find('"', a + 1);
    if (b == std::string::npos) continue;
    auto m = c.message.substr(a + 1, b - a - 1);
    if (std::find(out.begin(), out.end(), m) == out.end()) out.push_back(std::move(m));
  }
  return out;
}

Error ApiError::toError(const std::string& what) const {
  std::string msg = what + ": " + std::string(toString(kind)) + " (HTTP " + std::to_string(status) + ")";
  if (!message.empty() && causes.empty()) msg += ": " + message;
  for (const auto& c : causes) {
    msg += "\n    " + (c.field.empty() ? std::string() : c.field + ": ") + c.message;
  }
  switch (kind) {
    case ApiErrorKind::TooManyRequests:
    case ApiErrorKind::Server:
    case ApiErrorKind::Unreachable:
      return Error::retryable(msg, "the API server is busy or restarting; ca4ctl retries");
    case ApiErrorKind::Conflict: {
      const auto m = conflictingManagers();
      if (!m.empty()) {
        std::string who;
        for (const auto& x : m) who += (who.empty() ? "\"" : ", \"") + x + "\"";
        return Error::terminal(msg, "these fields are also managed by " + who +
                                        "; change the manifest to agree, remove them from the other manager, "
                                        "or take them over with spec.cluster.forceConflicts: true (ca4ctl up --force-conflicts)");
      }
      return Error::retryable(msg, "the object changed while ca4ctl worked on it; ca4ctl retries");
    }
    case ApiErrorKind::Forbidden:
      return Error::terminal(msg, "the kubeconfig's user lacks RBAC permission for this; use an admin kubeconfig or grant it");
    case ApiErrorKind::Unauthorized:
      return Error::terminal(msg, "the API server rejected the credentials: refresh the kubeconfig (expired certificate or token?)");
    case ApiErrorKind::Invalid:
      return Error::terminal(msg, "fix the manifest field(s) named above");
    case ApiErrorKind::NotFound:
      return Error::terminal(msg, "check the apiVersion/kind and namespace");
    default:
      return Error::terminal(msg);
  }
}

// ---- request builders ----

namespace {
std::string escapeSegment(const std::string& s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~' || c == ':') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(hex[c >> 4]);
      out.push_back(hex[c & 15]);
    }
  }
  return out;
}
}  // namespace

std::string collectionPath(const ResourceInfo& r, const std::string& ns) {
  std::string p = r.group.empty() ? "/api/" + r.version : "/apis/" + r.group + "/" + r.version;
  if (r.namespaced && !ns.empty()) p += "/namespaces/" + escapeSegment(ns);
  return p + "/" + r.resource;
}

std::string objectPath(const ResourceInfo& r, const std::string& ns, const std::string& name) {
  return collectionPath(r, ns) + "/" + escapeSegment(name);
}

std::string applyQuery(const std::string& fieldManager, bool force, bool dryRun) {
  std::string q = "?fieldManager=" + escapeSegment(fieldManager);
  if (force) q += "&force=true";
  if (dryRun) q += "&dryRun=All";
  return q;
}

Result<std::map<std::string, ResourceInfo>> parseResourceList(const std::string& body,
                                                              const std::string& groupVersion) {
  const Json j = Json::parse(body, nullptr, false);
  if (!j.is_object() || !j.contains("resources") || !j["resources"].is_array()) {
    return Error::terminal("discovery of " + groupVersion + ": not an APIResourceList");
  }
  ResourceInfo base;
  if (const auto slash = groupVersion.find('/'); slash == std::string::npos) {
    base.version = groupVersion;
  } else {
    base.group = groupVersion.substr(0, slash);
    base.version = groupVersion.substr(slash + 1);
  }
  std::map<std::string, ResourceInfo> out;
  for (const auto& r : j["resources"]) {
    if (!r.is_object() || !r.contains("name") || !r["name"].is_string()) continue;
    const std::string name = r.value("name", "");
    if (name.empty() || name.find('/') != std::string::npos) continue;  // subresource
    ResourceInfo info = base;
    info.resource = name;
    info.namespaced = r.value("namespaced", true);
    out.emplace(r.value("kind", ""), std::move(info));
  }
  return out;
}

// ---- responses ----

std::optional<ApiError> Response::error() const {
  if (status >= 200 && status < 300) return std::nullopt;
  return apiErrorFrom(status, body);
}

Json Response::json() const { return Json::parse(body, nullptr, false); }

// ---- the client ----

Client::Client(ClusterAccess access, ClientOptions options) : access_(std::move(access)), options_(std::move(options)) {
  if (!options_.sleep) options_.sleep = [](std::chrono::milliseconds d) { std::this_thread::sleep_for(d); };
}
Client::~Client() = default;
Client::Client(Client&&) noexcept = default;
Client& Client::operator=(Client&&) noexcept = default;

namespace {
std::chrono::milliseconds retryAfter(const http::Response& r, std::chrono::milliseconds fallback) {
  const std::string v = r.header("retry-after");
  if (v.empty()) return fallback;
  try {
    const long s = std::stol(v);
    return std::chrono::milliseconds(std::clamp(s, 0L, 60L) * 1000);
  } catch (...) {
    return fallback;
  }
}
}  // namespace

Result<Response> Client::request(const std::string& method, const std::string& pathAndQuery,
                                 const std::string& body, const std::string& contentType) {
  http::Request req;
  req.method = method;
  req.url = access_.server + pathAndQuery;
  req.body = body;
  req.timeout = options_.requestTimeout;
  req.caPem = access_.caPem;
  req.caFile = access_.caFile;
  req.clientCertPem = access_.certPem;
  req.clientCertFile = access_.certFile;
  req.clientKeyPem = access_.keyPem;
  req.clientKeyFile = access_.keyFile;
  req.insecureSkipVerify = access_.insecureSkipVerify;
  req.http2 = options_.http2;
  req.headers.emplace_back("Accept", "application/json");
  if (!body.empty()) req.headers.emplace_back("Content-Type", contentType);
  if (!access_.token.empty()) req.headers.emplace_back("Authorization", "Bearer " + access_.token);
  req.headers.emplace_back("User-Agent", "ca4ctl");

  static thread_local std::mt19937 rng{std::random_device{}()};
  auto delay = options_.backoffInitial;
  const std::string what = method + " " + access_.server + pathAndQuery.substr(0, pathAndQuery.find('?'));
  for (int attempt = 1;; ++attempt) {
    ++stats_.requests;
    auto r = http_.request(req);
    if (r) stats_.connections += r->newConnections;
    const bool last = attempt >= options_.maxAttempts;
    if (!r) {
      if (!r.error().isRetryable() || last) {
        const auto& e = r.error();
        if (e.isRetryable())
          return Error::retryable(e.message + " (API server unreachable after " + std::to_string(attempt) + " attempts)",
                                  "is the cluster up and spec.cluster.kubeconfig's server reachable (tunnel up)?");
        return Error::terminal(e.message, "check the kubeconfig's server URL and certificates");
      }
    } else {
      stats_.httpVersion = r->httpVersion;
      const long s = r->status;
      if (!(s == 429 || s >= 500) || last) return Response{s, std::move(r->body)};
    }
    ++stats_.retries;
    std::uniform_int_distribution<long> jitter(0, delay.count() / 2);
    auto wait = delay + std::chrono::milliseconds(jitter(rng));
    if (r) wait = retryAfter(*r, wait);
    options_.sleep(wait);
    delay = std::min(delay * 2, options_.backoffMax);
  }
}

Result<std::string> Client::serverVersion() {
  auto r = request("GET", "/version");
  if (!r) return r.error();
  if (auto e = r->error()) return e->toError("GET /version");
  const Json j = r->json();
  if (!j.is_object() || !j.contains("gitVersion")) return Error::terminal("GET /version: not a Kubernetes API server");
  return j["gitVersion"].get<std::string>();
}

Result<ResourceInfo> Client::resolve(const std::string& apiVersion, const std::string& kind, bool refresh) {
  if (refresh) discovery_.erase(apiVersion);
  auto it = discovery_.find(apiVersion);
  if (it == discovery_.end()) {
    const std::string path = apiVersion.find('/') == std::string::npos ? "/api/" + apiVersion : "/apis/" + apiVersion;
    auto r = request("GET", path);
    if (!r) return r.error();
    if (r->status == 404) {
      return Error::terminal("apiVersion " + apiVersion + " is not served by the cluster (kind " + kind + ")",
                             "check the manifest's apiVersion; for a custom resource, apply its CRD first");
    }
    if (auto e = r->error()) return e->toError("discovery GET " + path);
    auto list = parseResourceList(r->body, apiVersion);
    if (!list) return list.error();
    it = discovery_.emplace(apiVersion, std::move(*list)).first;
  }
  const auto k = it->second.find(kind);
  if (k == it->second.end()) {
    return Error::terminal("kind " + kind + " is not served under apiVersion " + apiVersion,
                           "check the manifest's kind/apiVersion (kubectl api-resources lists them)");
  }
  return k->second;
}

}  // namespace ca4::drivers::kube
