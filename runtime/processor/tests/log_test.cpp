#include "ca4/processor/log.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace ca4::processor {
namespace {

// ca4::log's JSON pattern wraps the rendered message as {…,"msg":"<render>}.
nlohmann::json line(const Log& log, std::string_view msg, std::initializer_list<Field> fields) {
  return nlohmann::json::parse(R"({"msg":")" + log.render(msg, fields) + "}");
}

TEST(Log, JsonLinesAreObjectsWithFields) {
  const Log log(nullptr, log::Format::Json);
  EXPECT_EQ(line(log, "listening", {}), (nlohmann::json{{"msg", "listening"}}));
  const auto j = line(log, "request rejected", {{"code", "401"}, {"client", "1.2.3.4"}});
  EXPECT_EQ(j["msg"], "request rejected");
  EXPECT_EQ(j["code"], "401");
  EXPECT_EQ(j["client"], "1.2.3.4");
  const auto esc = line(log, "x", {{"detail", "a \"quoted\"\nline\\"}});
  EXPECT_EQ(esc["detail"], "a \"quoted\"\nline\\");
}

TEST(Log, TextIsKeyValue) {
  const Log log(nullptr, log::Format::Text);
  EXPECT_EQ(log.render("listening", {{"port", "8080"}}), "listening port=8080");
}

}  // namespace
}  // namespace ca4::processor
