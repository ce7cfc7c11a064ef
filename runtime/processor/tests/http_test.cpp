#include "ca4/processor/http.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace ca4::processor {
namespace {

TEST(Route, ExactPaths) {
  EXPECT_EQ(routeFor("/v1/metadata"), Route::Metadata);
  EXPECT_EQ(routeFor("/metadata"), Route::Metadata);
  EXPECT_EQ(routeFor("/v1/metadata:batch"), Route::MetadataBatch);
  EXPECT_EQ(routeFor("/healthz"), Route::Healthz);
  EXPECT_EQ(routeFor("/readyz"), Route::Readyz);
  EXPECT_EQ(routeFor("/metrics"), Route::Metrics);
  EXPECT_EQ(routeFor("/v1/metadata/"), Route::Other);
  EXPECT_EQ(routeFor("/v1/metadata:other"), Route::Other);
  EXPECT_EQ(routeLabel(Route::MetadataBatch), "metadata_batch");
}

TEST(MediaType, AcceptsJsonWithUtf8Charset) {
  EXPECT_EQ(parseMediaType("application/json"), BodyFormat::Json);
  EXPECT_EQ(parseMediaType("Application/JSON"), BodyFormat::Json);
  EXPECT_EQ(parseMediaType("application/json; charset=utf-8"), BodyFormat::Json);
  EXPECT_EQ(parseMediaType("application/json;charset=\"UTF-8\""), BodyFormat::Json);
  EXPECT_EQ(parseMediaType("application/x-ndjson"), BodyFormat::Ndjson);
  EXPECT_EQ(parseMediaType("application/json; charset=latin1"), std::nullopt);
  EXPECT_EQ(parseMediaType("text/plain"), std::nullopt);
  EXPECT_EQ(parseMediaType("application/jsonx"), std::nullopt);
  EXPECT_EQ(parseMediaType(""), std::nullopt);
  EXPECT_EQ(parseMediaType("application/json; garbage"), std::nullopt);
}

TEST(DecideContent, SingleNeedsJson) {
  BodyLimits limits;
  auto d = decideContent(Route::Metadata, "application/x-ndjson", 10, limits);
  ASSERT_TRUE(d.error);
  EXPECT_EQ(d.error->status, 415);
  d = decideContent(Route::Metadata, std::nullopt, 10, limits);
  ASSERT_TRUE(d.error);
  EXPECT_EQ(d.error->status, 415);
  d = decideContent(Route::Metadata, "application/json", 10, limits);
  EXPECT_FALSE(d.error);
  EXPECT_EQ(d.format, BodyFormat::Json);
}

TEST(DecideContent, BatchAcceptsArrayOrNdjson) {
  BodyLimits limits;
  EXPECT_EQ(decideContent(Route::MetadataBatch, "application/json", 10, limits).format,
            BodyFormat::Json);
  EXPECT_EQ(decideContent(Route::MetadataBatch, "application/x-ndjson", 10, limits).format,
            BodyFormat::Ndjson);
  EXPECT_EQ(decideContent(Route::MetadataBatch, "text/csv", 10, limits).error->status, 415);
}

TEST(DecideContent, SizeLimitsPerRoute) {
  BodyLimits limits{100, 1000};
  EXPECT_FALSE(decideContent(Route::Metadata, "application/json", 100, limits).error);
  auto d = decideContent(Route::Metadata, "application/json", 101, limits);
  ASSERT_TRUE(d.error);
  EXPECT_EQ(d.error->status, 413);
  EXPECT_FALSE(decideContent(Route::MetadataBatch, "application/json", 1000, limits).error);
  EXPECT_EQ(decideContent(Route::MetadataBatch, "application/json", 1001, limits).error->status,
            413);
  // The media type is checked first: a huge text/plain body is a 415.
  EXPECT_EQ(decideContent(Route::Metadata, "text/plain", 5000, limits).error->status, 415);
  EXPECT_EQ(decideContent(Route::Metadata, "application/json", 0, limits).error->status, 400);
}

TEST(DefaultLimits, FitA2048FloatEnvelope) {
  BodyLimits limits;
  EXPECT_GE(limits.max_body, 2048u * 20u);  // 2048 floats at ≤ 20 characters each
  EXPECT_EQ(limits.max_body, 512u * 1024u);
}

TEST(ErrorJson, ShapeWithDetails) {
  const auto body = errorJson("invalid_payload", "2 problems",
                              {{"extraction.embedding[17]", "expected number"},
                               {"item.sha256", "expected 64 hex characters"}});
  const auto j = nlohmann::json::parse(body);
  EXPECT_EQ(j["error"]["code"], "invalid_payload");
  EXPECT_EQ(j["error"]["message"], "2 problems");
  ASSERT_EQ(j["error"]["details"].size(), 2u);
  EXPECT_EQ(j["error"]["details"][0]["path"], "extraction.embedding[17]");
  EXPECT_EQ(j["error"]["details"][0]["message"], "expected number");
}

TEST(ErrorJson, NoDetailsMemberWhenEmpty) {
  const auto j = nlohmann::json::parse(errorJson("unauthorized", "missing key"));
  EXPECT_FALSE(j["error"].contains("details"));
}

TEST(ErrorJson, InvalidUtf8AndControlCharactersStayValidJson) {
  const std::string nasty = std::string("bad\xff\xfe key \"q\" \\ \n\x01 ") + "\xe2\x82\xac";
  const auto body = errorJson("invalid_payload", nasty, {{nasty, nasty}});
  nlohmann::json j;
  ASSERT_NO_THROW(j = nlohmann::json::parse(body));
  const std::string msg = j["error"]["message"];
  EXPECT_NE(msg.find("\xEF\xBF\xBD"), std::string::npos);  // U+FFFD replaced the bad bytes
  EXPECT_NE(msg.find("\xe2\x82\xac"), std::string::npos);  // valid UTF-8 kept
  EXPECT_NE(msg.find("\"q\""), std::string::npos);
}

TEST(ErrorJson, OverlongAndSurrogateSequencesReplaced) {
  std::string out;
  appendJsonString(out, "\xc0\xaf|\xed\xa0\x80|\xf4\x90\x80\x80|\xe2\x82");
  EXPECT_TRUE(nlohmann::json::accept(out)) << out;
  EXPECT_EQ(out.find("\xc0"), std::string::npos);
}

TEST(RetryLater, CarriesRetryAfter) {
  const auto r = retryLater(429, "rate_limited", "slow down", 0);
  EXPECT_EQ(r.status, 429);
  ASSERT_NE(r.header("retry-after"), nullptr);
  EXPECT_EQ(*r.header("Retry-After"), "1");
}

}  // namespace
}  // namespace ca4::processor
