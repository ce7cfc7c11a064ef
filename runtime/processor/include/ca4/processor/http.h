// Transport-independent HTTP types and the pure decisions made on them: routing, media types,
// body limits, and the error JSON every 4xx/5xx carries:
//   {"error":{"code":"invalid_payload","message":"...","details":[{"path":"a.b[3]","message":"..."}]}}
// Nothing here touches a socket; the Pistache layer (server.h) only converts to and from these.
#pragma once

#include <ca4/common/envelope.h>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ca4::processor {

enum class Route { Metadata, MetadataBatch, Healthz, Readyz, Metrics, Other };
inline constexpr Route kAllRoutes[] = {Route::Metadata, Route::MetadataBatch, Route::Healthz,
                                       Route::Readyz,   Route::Metrics,       Route::Other};

// Label used in metrics and logs: "metadata", "metadata_batch", "healthz", ...
std::string_view routeLabel(Route r);
// Exact match on the path (no query string): /v1/metadata and /metadata (the seeds' path) are
// the same route; /v1/metadata:batch is the batch route.
Route routeFor(std::string_view path);

// A request as the core sees it. Views stay valid for the duration of Processor::handle().
struct RequestView {
  std::string_view method;  // "POST", "GET", ...
  std::string_view path;    // without the query string
  std::optional<std::string_view> content_type;
  std::optional<std::string_view> authorization;
  std::optional<std::string_view> origin;
  std::string_view body;
  std::string_view client;  // peer address; the rate-limit key when auth is off
};

struct HttpResponse {
  int status = 200;
  std::string body;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers

  const std::string* header(std::string_view name) const;  // case-insensitive lookup
};

// Appends `s` as a JSON string literal (with quotes). Control characters are escaped and
// invalid UTF-8 is replaced by U+FFFD, so the output is always valid JSON even when the
// input (e.g. an unknown field name in a rejected document) is not.
void appendJsonString(std::string& out, std::string_view s);

// `details` may be empty; each FieldError becomes {"path":...,"message":...}.
std::string errorJson(std::string_view code, std::string_view message,
                      const std::vector<envelope::FieldError>& details = {});
HttpResponse errorResponse(int status, std::string_view code, std::string_view message,
                           const std::vector<envelope::FieldError>& details = {});
// 429 / 503 with Retry-After (seconds, at least 1).
HttpResponse retryLater(int status, std::string_view code, std::string_view message,
                        int retry_after_seconds);

enum class BodyFormat { Json, Ndjson };

// Parses a Content-Type value: "application/json", "application/json; charset=utf-8",
// "application/x-ndjson". Media types are case-insensitive; the only charset accepted is
// UTF-8. Anything else yields nullopt.
std::optional<BodyFormat> parseMediaType(std::string_view content_type);

struct BodyLimits {
  std::size_t max_body = 512 * 1024;              // one envelope (2048 floats ≈ 22 KB)
  std::size_t max_batch_body = 32 * 1024 * 1024;  // a batch request
};

// The checks done before parsing a POST body, in this order: media type (415), size (413).
// Single records accept JSON only; batches accept a JSON array or NDJSON.
struct ContentDecision {
  std::optional<BodyFormat> format;  // set iff accepted
  std::optional<HttpResponse> error;
};
ContentDecision decideContent(Route route, std::optional<std::string_view> content_type,
                              std::size_t body_size, const BodyLimits& limits);

}  // namespace ca4::processor
