#include "ca4/processor/http.h"

#include <algorithm>
#include <cctype>
#include <cstdio>

namespace ca4::processor {
namespace {

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Length of the valid UTF-8 sequence starting at s[i], or 0 if it is invalid.
std::size_t utf8SequenceLength(std::string_view s, std::size_t i) {
  const auto b0 = static_cast<unsigned char>(s[i]);
  std::size_t len = 0;
  unsigned min = 0;
  unsigned cp = 0;
  if (b0 < 0x80) return 1;
  if ((b0 & 0xE0) == 0xC0) {
    len = 2, min = 0x80, cp = b0 & 0x1F;
  } else if ((b0 & 0xF0) == 0xE0) {
    len = 3, min = 0x800, cp = b0 & 0x0F;
  } else if ((b0 & 0xF8) == 0xF0) {
    len = 4, min = 0x10000, cp = b0 & 0x07;
  } else {
    return 0;
  }
  if (i + len > s.size()) return 0;
  for (std::size_t k = 1; k < len; ++k) {
    const auto b = static_cast<unsigned char>(s[i + k]);
    if ((b & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (b & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return len;
}

}  // namespace

std::string_view routeLabel(Route r) {
  switch (r) {
    case Route::Metadata: return "metadata";
    case Route::MetadataBatch: return "metadata_batch";
    case Route::Healthz: return "healthz";
    case Route::Readyz: return "readyz";
    case Route::Metrics: return "metrics";
    case Route::Other: break;
  }
  return "other";
}

Route routeFor(std::string_view path) {
  if (path == "/v1/metadata" || path == "/metadata") return Route::Metadata;
  if (path == "/v1/metadata:batch") return Route::MetadataBatch;
  if (path == "/healthz") return Route::Healthz;
  if (path == "/readyz") return Route::Readyz;
  if (path == "/metrics") return Route::Metrics;
  return Route::Other;
}

const std::string* HttpResponse::header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (iequals(k, name)) return &v;
  }
  return nullptr;
}

void appendJsonString(std::string& out, std::string_view s) {
  out += '"';
  for (std::size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x80) {
      const std::size_t n = utf8SequenceLength(s, i);
      if (n == 0) {
        out += "\xEF\xBF\xBD";  // U+FFFD
        ++i;
      } else {
        out.append(s.substr(i, n));
        i += n;
      }
      continue;
    }
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20 || c == 0x7F) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
    ++i;
  }
  out += '"';
}

std::string errorJson(std::string_view code, std::string_view message,
                      const std::vector<envelope::FieldError>& details) {
  std::string out;
  out.reserve(64 + message.size() + details.size() * 48);
  out += R"({"error":{"code":)";
  appendJsonString(out, code);
  out += R"(,"message":)";
  appendJsonString(out, message);
  if (!details.empty()) {
    out += R"(,"details":[)";
    bool first = true;
    for (const auto& d : details) {
      if (!first) out += ',';
      first = false;
      out += R"({"path":)";
      appendJsonString(out, d.path);
      out += R"(,"message":)";
      appendJsonString(out, d.message);
      out += '}';
    }
    out += ']';
  }
  out += "}}";
  return out;
}

HttpResponse errorResponse(int status, std::string_view code, std::string_view message,
                           const std::vector<envelope::FieldError>& details) {
  HttpResponse r;
  r.status = status;
  r.body = errorJson(code, message, details);
  return r;
}

HttpResponse retryLater(int status, std::string_view code, std::string_view message,
                        int retry_after_seconds) {
  HttpResponse r = errorResponse(status, code, message);
  r.headers.emplace_back("Retry-After", std::to_string(std::max(1, retry_after_seconds)));
  return r;
}

std::optional<BodyFormat> parseMediaType(std::string_view content_type) {
  const auto semi = content_type.find(';');
  const std::string_view type = trim(content_type.substr(0, semi));
  std::optional<BodyFormat> format;
  if (iequals(type, "application/json")) {
    format = BodyFormat::Json;
  } else if (iequals(type, "application/x-ndjson")) {
    format = BodyFormat::Ndjson;
  } else {
    return std::nullopt;
  }
  // Parameters: a charset must be UTF-8 (any case, optionally quoted); others are ignored.
  std::string_view params =
      semi == std::string_view::npos ? std::string_view{} : content_type.substr(semi + 1);
  while (!params.empty()) {
    const auto end = params.find(';');
    const std::string_view param = trim(params.substr(0, end));
    params = end == std::string_view::npos ? std::string_view{} : params.substr(end + 1);
    if (param.empty()) continue;
    const auto eq = param.find('=');
    if (eq == std::string_view::npos) return std::nullopt;
    const std::string_view name = trim(param.substr(0, eq));
    std::string_view value = trim(param.substr(eq + 1));
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
      value = value.substr(1, value.size() - 2);
    }
    if (iequals(name, "charset") && !iequals(value, "utf-8") && !iequals(value, "utf8")) {
      return std::nullopt;
    }
  }
  return format;
}

ContentDecision decideContent(Route route, std::optional<std::string_view> content_type,
                              std::size_t body_size, const BodyLimits& limits) {
  ContentDecision d;
  const bool batch = route == Route::MetadataBatch;
  const auto format = content_type ? parseMediaType(*content_type) : std::nullopt;
  if (!format || (!batch && *format != BodyFormat::Json)) {
    d.error = errorResponse(
        415, "unsupported_media_type",
        batch ? "Content-Type must be application/json (an array) or application/x-ndjson"
              : "Content-Type must be application/json");
    return d;
  }
  const std::size_t limit = batch ? limits.max_batch_body : limits.max_body;
  if (body_size > limit) {
    d.error = errorResponse(413, "payload_too_large",
                            "request body is " + std::to_string(body_size) +
                                " bytes; the limit is " + std::to_string(limit));
    return d;
  }
  if (body_size == 0) {
    d.error = errorResponse(400, "invalid_payload", "request body is empty",
                            {{"", "expected a JSON document"}});
    return d;
  }
  d.format = format;
  return d;
}

}  // namespace ca4::processor
