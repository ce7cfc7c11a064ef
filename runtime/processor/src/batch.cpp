#include "ca4/processor/batch.h"

namespace ca4::processor {
namespace {

bool isSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

std::string_view trimJson(std::string_view s) {
  while (!s.empty() && isSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && isSpace(s.back())) s.remove_suffix(1);
  return s;
}

SplitResult fail(std::string_view message) {
  SplitResult r;
  r.error = errorResponse(400, "invalid_payload", message, {{"", std::string(message)}});
  return r;
}

SplitResult tooMany(std::size_t max_records) {
  SplitResult r;
  r.error = errorResponse(413, "too_many_records",
                          "a batch holds at most " + std::to_string(max_records) + " records");
  return r;
}

}  // namespace

SplitResult splitJsonArray(std::string_view body, std::size_t max_records) {
  const std::string_view doc = trimJson(body);
  if (doc.empty() || doc.front() != '[') return fail("expected a JSON array of envelopes");
  SplitResult out;
  std::size_t pos = 1;
  std::size_t start = pos;
  int depth = 0;
  bool in_string = false;
  bool closed = false;
  for (; pos < doc.size(); ++pos) {
    const char c = doc[pos];
    if (in_string) {
      if (c == '\\') {
        ++pos;  // skip the escaped character
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      ++depth;
    } else if ((c == '}' || c == ']') && depth > 0) {
      --depth;
    } else if (c == '}') {
      return fail("unbalanced '}' in the batch array");
    } else if ((c == ',' || c == ']') && depth == 0) {
      const std::string_view rec = trimJson(doc.substr(start, pos - start));
      const bool last = c == ']';
      if (rec.empty()) {
        if (!(last && out.records.empty())) return fail("empty element in the batch array");
      } else {
        if (out.records.size() == max_records) return tooMany(max_records);
        out.records.push_back(rec);
      }
      start = pos + 1;
      if (last) {
        closed = true;
        ++pos;
        break;
      }
    }
  }
  if (in_string) return fail("unterminated string in the batch array");
  if (!closed) return fail("unterminated batch array");
  if (!trimJson(doc.substr(pos)).empty()) return fail("unexpected text after the batch array");
  if (out.records.empty()) return fail("the batch is empty");
  return out;
}

SplitResult splitNdjson(std::string_view body, std::size_t max_records) {
  SplitResult out;
  while (!body.empty()) {
    const auto nl = body.find('\n');
    const std::string_view line = trimJson(body.substr(0, nl));
    body = nl == std::string_view::npos ? std::string_view{} : body.substr(nl + 1);
    if (line.empty()) continue;
    if (out.records.size() == max_records) return tooMany(max_records);
    out.records.push_back(line);
  }
  if (out.records.empty()) return fail("the batch is empty");
  return out;
}

HttpResponse renderBatch(const std::vector<RecordResult>& results, int retry_after_seconds) {
  std::size_t accepted = 0, rejected = 0, failed = 0;
  std::string body;
  body.reserve(48 + results.size() * 72);
  body += R"({"results":[)";
  bool first = true;
  for (const auto& r : results) {
    if (!first) body += ',';
    first = false;
    body += R"({"index":)";
    body += std::to_string(r.index);
    switch (r.status) {
      case RecordStatus::Accepted:
        ++accepted;
        body += R"(,"event_id":)";
        appendJsonString(body, r.event_id);
        body += R"(,"status":"accepted"})";
        break;
      case RecordStatus::Rejected: {
        ++rejected;
        body += R"(,"status":"rejected","errors":[)";
        bool first_err = true;
        for (const auto& e : r.errors) {
          if (!first_err) body += ',';
          first_err = false;
          body += R"({"path":)";
          appendJsonString(body, e.path);
          body += R"(,"message":)";
          appendJsonString(body, e.message);
          body += '}';
        }
        body += "]}";
        break;
      }
      case RecordStatus::Failed:
        ++failed;
        if (!r.event_id.empty()) {
          body += R"(,"event_id":)";
          appendJsonString(body, r.event_id);
        }
        body += R"(,"status":"failed","error":)";
        appendJsonString(body, r.failure.empty() ? "unavailable" : r.failure);
        body += '}';
        break;
    }
  }
  body += R"(],"accepted":)" + std::to_string(accepted) + R"(,"rejected":)" +
          std::to_string(rejected) + R"(,"failed":)" + std::to_string(failed) + "}";
  HttpResponse resp;
  resp.body = std::move(body);
  if (accepted == 0 && failed > 0) {
    resp.status = 503;
    resp.headers.emplace_back("Retry-After", std::to_string(std::max(1, retry_after_seconds)));
  }
  return resp;
}

}  // namespace ca4::processor
