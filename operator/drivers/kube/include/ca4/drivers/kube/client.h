// A Kubernetes REST client: one libcurl handle reused for every request of a run (keep-alive,
// HTTP/2 when the server offers it over ALPN, so a run costs one TLS handshake), timeouts, and
// retries of 429/5xx/transport failures with Retry-After. Discovery (group/version/kind →
// resource) is cached per client. Requests are JSON; nothing is logged here.
#pragma once

#include <ca4/drivers/http/http_client.h>

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "ca4/drivers/kube/cluster_access.h"
#include "ca4/drivers/kube/objects.h"

namespace ca4::drivers::kube {

// ---- typed API errors (pure) ---------------------------------------------------------------
enum class ApiErrorKind { Conflict, Forbidden, Unauthorized, NotFound, Invalid, AlreadyExists,
                          TooManyRequests, Server, Unreachable, Other };
std::string_view toString(ApiErrorKind k);

struct StatusCause {
  std::string type;     // "FieldValueInvalid", "FieldManagerConflict"
  std::string field;    // "spec.template.spec.containers[0].image", ".data.key"
  std::string message;  // "Required value", "conflict with \"kubectl-edit\" using v1"
};
struct ApiError {
  ApiErrorKind kind = ApiErrorKind::Other;
  long status = 0;
  std::string reason;   // Status.reason: "Invalid", "Conflict", …
  std::string message;  // Status.message
  std::vector<StatusCause> causes;
  // The field managers named by FieldManagerConflict causes ("kubectl-edit").
  std::vector<std::string> conflictingManagers() const;
  // engine::Error with `what` ("apply Deployment/app/processor-api") in front, the causes as
  // "field: message" and a fix by kind. Retryable: 429, 5xx, Unreachable.
  engine::Error toError(const std::string& what) const;
};
// From an HTTP status and a (possibly non-JSON) body. 409 with reason AlreadyExists → AlreadyExists.
ApiError apiErrorFrom(long status, const std::string& body);

// ---- request builders (pure) -----------------------------------------------------------------
struct ResourceInfo {
  std::string group, version, resource;  // "apps", "v1", "deployments"
  bool namespaced = true;
};
// "/api/v1/namespaces/app/configmaps" | "/apis/apps/v1/deployments" (cluster-wide listing)
std::string collectionPath(const ResourceInfo& r, const std::string& ns);
// collectionPath + "/" + name (name percent-escaped)
std::string objectPath(const ResourceInfo& r, const std::string& ns, const std::string& name);
// "?fieldManager=ca4ctl&force=true&dryRun=All" (force/dryRun only when set)
std::string applyQuery(const std::string& fieldManager, bool force, bool dryRun);
// Resources from a discovery APIResourceList body ("/api/v1", "/apis/apps/v1"): kind → info.
// Subresources ("deployments/status") are skipped.
engine::Result<std::map<std::string, ResourceInfo>> parseResourceList(const std::string& body,
                                                                      const std::string& groupVersion);

// ---- the client (I/O) ----------------------------------------------------------------------------
struct ClientOptions {
  std::chrono::milliseconds requestTimeout{30000};
  int maxAttempts = 5;  // per request, for 429/5xx/transport failures
  std::chrono::milliseconds backoffInitial{200}, backoffMax{5000};
  bool http2 = true;
  std::function<void(std::chrono::milliseconds)> sleep;  // tests; default std::this_thread::sleep_for
};

struct ClientStats {
  long requests = 0;     // HTTP requests sent (retries included)
  long connections = 0;  // new connections (= TLS handshakes for https)
  long retries = 0;
  int httpVersion = 0;   // of the last response: 11 or 20
};

struct Response {
  long status = 0;
  std::string body;
  // nullopt for 2xx; the typed error otherwise
  std::optional<ApiError> error() const;
  Json json() const;  // body parsed (discarded → null on invalid JSON)
};

class Client {
 public:
  explicit Client(ClusterAccess access, ClientOptions options = {});
  ~Client();
  Client(Client&&) noexcept;
  Client& operator=(Client&&) noexcept;

  const ClusterAccess& access() const { return access_; }
  const ClientStats& stats() const { return stats_; }

  // Any HTTP status is a Response (after retries for 429/5xx); a transport failure that outlives
  // the retries is a retryable Error (ApiErrorKind::Unreachable) naming the server.
  engine::Result<Response> request(const std::string& method, const std::string& pathAndQuery,
                                   const std::string& body = {},
                                   const std::string& contentType = "application/json");

  // GET /version → "v1.34.4"
  engine::Result<std::string> serverVersion();
  // Discovery for apiVersion/kind, cached. `refresh` drops the cached group/version first (after
  // a CRD was applied). Unknown kind → terminal error naming apiVersion/kind.
  engine::Result<ResourceInfo> resolve(const std::string& apiVersion, const std::string& kind, bool refresh = false);

 private:
  ClusterAccess access_;
  ClientOptions options_;
  ClientStats stats_;
  http::HttpClient http_;
  std::map<std::string, std::map<std::string, ResourceInfo>> discovery_;  // groupVersion → kind → info
};

}  // namespace ca4::drivers::kube
