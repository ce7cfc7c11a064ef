#include "ca4/processor/batch.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace ca4::processor {
namespace {

std::vector<std::string> records(const SplitResult& r) {
  return {r.records.begin(), r.records.end()};
}

TEST(SplitJsonArray, FindsTopLevelElements) {
  const auto r = splitJsonArray(R"( [ {"a":[1,2,{"b":"],}"}]} , {"c":"\"]"} ,3, "x"] )", 10);
  ASSERT_FALSE(r.error);
  EXPECT_EQ(records(r), (std::vector<std::string>{R"({"a":[1,2,{"b":"],}"}]})", R"({"c":"\"]"})",
                                                  "3", R"("x")"}));
}

TEST(SplitJsonArray, StructuralErrorsRejectTheWholeBatch) {
  for (const char* bad : {"", "{}", "[", "[{}", "[{}]x", "[{},]", "[,{}]", "[{}}]", "[\"abc]",
                          "[]", "  [ ]  ", "[{},,{}]"}) {
    const auto r = splitJsonArray(bad, 10);
    ASSERT_TRUE(r.error) << bad;
    EXPECT_EQ(r.error->status, 400) << bad;
    const auto j = nlohmann::json::parse(r.error->body);
    EXPECT_EQ(j["error"]["code"], "invalid_payload") << bad;
  }
}

TEST(SplitJsonArray, TooManyRecordsIs413) {
  const auto r = splitJsonArray("[1,2,3,4]", 3);
  ASSERT_TRUE(r.error);
  EXPECT_EQ(r.error->status, 413);
  EXPECT_EQ(nlohmann::json::parse(r.error->body)["error"]["code"], "too_many_records");
  EXPECT_FALSE(splitJsonArray("[1,2,3]", 3).error);
}

TEST(SplitJsonArray, DeepNestingDoesNotRecurse) {
  std::string deep = "[" + std::string(100000, '[') + std::string(100000, ']') + "]";
  const auto r = splitJsonArray(deep, 10);
  ASSERT_FALSE(r.error);
  EXPECT_EQ(r.records.size(), 1u);
}

TEST(SplitNdjson, LinesSkipBlanksAndCarriageReturns) {
  const auto r = splitNdjson("{\"a\":1}\r\n\n  \n{\"b\":2}\n{\"c\":3}", 10);
  ASSERT_FALSE(r.error);
  EXPECT_EQ(records(r), (std::vector<std::string>{R"({"a":1})", R"({"b":2})", R"({"c":3})"}));
  EXPECT_EQ(splitNdjson("1\n2\n3\n", 2).error->status, 413);
  EXPECT_EQ(splitNdjson("\n \n", 2).error->status, 400);
}

TEST(RenderBatch, MixedResultsAre200WithCounts) {
  std::vector<RecordResult> results(3);
  results[0] = {0, RecordStatus::Accepted, "e0", {}, ""};
  results[1] = {1, RecordStatus::Rejected, "", {{"item.sha256", "expected 64 hex characters"}}, ""};
  results[2] = {2, RecordStatus::Failed, "e2", {}, "unavailable"};
  const auto resp = renderBatch(results, 5);
  EXPECT_EQ(resp.status, 200);
  EXPECT_EQ(resp.header("Retry-After"), nullptr);
  const auto j = nlohmann::json::parse(resp.body);
  EXPECT_EQ(j["accepted"], 1);
  EXPECT_EQ(j["rejected"], 1);
  EXPECT_EQ(j["failed"], 1);
  EXPECT_EQ(j["results"][0]["event_id"], "e0");
  EXPECT_EQ(j["results"][0]["status"], "accepted");
  EXPECT_EQ(j["results"][1]["status"], "rejected");
  EXPECT_EQ(j["results"][1]["errors"][0]["path"], "item.sha256");
  EXPECT_EQ(j["results"][2]["status"], "failed");
  EXPECT_EQ(j["results"][2]["error"], "unavailable");
}

TEST(RenderBatch, AllRejectedIs200) {
  std::vector<RecordResult> results = {{0, RecordStatus::Rejected, "", {{"", "bad"}}, ""}};
  EXPECT_EQ(renderBatch(results, 5).status, 200);
}

TEST(RenderBatch, NothingAcceptedAndSomethingFailedIs503) {
  std::vector<RecordResult> results = {{0, RecordStatus::Failed, "e0", {}, "unavailable"},
                                       {1, RecordStatus::Rejected, "", {{"", "bad"}}, ""}};
  const auto resp = renderBatch(results, 7);
  EXPECT_EQ(resp.status, 503);
  ASSERT_NE(resp.header("Retry-After"), nullptr);
  EXPECT_EQ(*resp.header("Retry-After"), "7");
}

}  // namespace
}  // namespace ca4::processor
