#include "ca4/engine/events.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <sstream>
#include <thread>

namespace ca4::engine {
namespace {

// Everything written to a FILE*, read back.
class Capture {
 public:
  Capture() : f_(std::tmpfile()) {}
  ~Capture() { std::fclose(f_); }
  Capture(const Capture&) = delete;
  Capture& operator=(const Capture&) = delete;
  std::FILE* file() { return f_; }
  std::string text() {
    std::fflush(f_);
    std::rewind(f_);
    std::string out;
    char buf[4096];
    std::size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, f_)) > 0) out.append(buf, n);
    std::fseek(f_, 0, SEEK_END);
    return out;
  }

 private:
  std::FILE* f_;
};

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

Event ev(const std::string& type, const std::string& stage = "", const std::string& status = "",
         const std::string& message = "", long long duration_ms = -1,
         nlohmann::json fields = nlohmann::json::object()) {
  Event e;
  e.run = "r-20261123T160000Z-1a2b";
  e.type = type;
  e.stage = stage;
  e.status = status;
  e.message = message;
  e.duration_ms = duration_ms;
  e.fields = std::move(fields);
  return e;
}

// A run as the engine reports it: a Ready stage with a change, a Stalled one, a Blocked one.
std::vector<Event> sampleRun() {
  return {
      ev("run.start", "", "", "", -1,
         {{"command", "up"}, {"target", "local"}, {"specDigest", "sha256:1"}}),
      ev("stage.skipped", "infra", "Skipped", "target local has no cloud infrastructure"),
      ev("stage.start", "platform"),
      ev("stage.progress", "platform", "", "db: waiting for port 27017"),
      ev("stage.change", "platform", "", "start process/kafka (not running)", -1,
         {{"action", "start"}, {"object", "process/kafka"}, {"detail", "not running"}}),
      ev("stage.retry", "platform", "Reconciling", "not yet", -1,
         {{"attempt", 1}, {"delay_ms", 500}, {"error", "not yet"}}),
      ev("stage.done", "platform", "Ready", "1 change applied", 1234),
      ev("stage.start", "edge"),
      ev("stage.done", "edge", "Stalled", "kafka: port 9092 is taken", 20,
         {{"fix", "stop pid 77 or change spec.local.ports.kafka"}}),
      ev("stage.done", "monitoring", "Blocked", "waiting for edge (Stalled)", 0),
      ev("check", "verify", "ok", "POST → document in 1.2 s", -1, {{"name", "e2e"}}),
      ev("check", "verify", "failed", "no S3 object", -1, {{"name", "archive"}}),
      ev("run.done", "", "Stalled", "edge Stalled, monitoring Blocked", 2500, {{"changes", 1}}),
  };
}

TEST(Event, ToJsonHasFixedKeysAndFlattenedFields) {
  Event e = ev("stage.done", "platform", "Ready", "ok", 12,
               {{"changes", nlohmann::json::array()}, {"type", "spoofed"}});
  e.ts = "2026-11-23T16:00:00.000Z";
  const auto j = e.toJson();
  EXPECT_EQ(j["ts"], "2026-11-23T16:00:00.000Z");
  EXPECT_EQ(j["run"], "r-20261123T160000Z-1a2b");
  EXPECT_EQ(j["type"], "stage.done");  // a field never overrides a fixed key
  EXPECT_EQ(j["stage"], "platform");
  EXPECT_EQ(j["status"], "Ready");
  EXPECT_EQ(j["duration_ms"], 12);
  EXPECT_TRUE(j["changes"].is_array());

  const auto bare = ev("run.start").toJson();
  EXPECT_TRUE(bare.contains("ts"));
  EXPECT_FALSE(bare.contains("stage"));
  EXPECT_FALSE(bare.contains("status"));
  EXPECT_FALSE(bare.contains("message"));
  EXPECT_FALSE(bare.contains("duration_ms"));
}

TEST(JsonLinesSink, OneParsableObjectPerLine) {
  Capture cap;
  JsonLinesSink sink(cap.file());
  auto events = sampleRun();
  events.push_back(ev("log", "", "failed", std::string("bad \xff utf-8")));  // must not throw
  for (const auto& e : events) sink.emit(e);
  const auto ls = lines(cap.text());
  ASSERT_EQ(ls.size(), events.size());
  for (std::size_t i = 0; i < ls.size(); ++i) {
    const auto j = nlohmann::json::parse(ls[i]);  // throws on a bad line
    ASSERT_TRUE(j.is_object());
    EXPECT_FALSE(j.at("ts").get<std::string>().empty());
    EXPECT_EQ(j.at("run"), "r-20261123T160000Z-1a2b");
    EXPECT_EQ(j.at("type"), events[i].type);
    EXPECT_EQ(j.contains("duration_ms"), events[i].duration_ms >= 0) << ls[i];
  }
  EXPECT_EQ(nlohmann::json::parse(ls[4])["object"], "process/kafka");
}

TEST(JsonLinesSink, KeepsAGivenTimestamp) {
  Capture cap;
  JsonLinesSink sink(cap.file());
  Event e = ev("log");
  e.ts = "2026-11-23T16:00:00.000Z";
  sink.emit(e);
  EXPECT_EQ(nlohmann::json::parse(cap.text())["ts"], "2026-11-23T16:00:00.000Z");
}

TEST(TerminalSink, PlainOutputWithoutATerminal) {
  Capture cap;
  {
    TerminalSink sink(cap.file(), /*tty=*/false, /*verbose=*/false);
    for (const auto& e : sampleRun()) sink.emit(e);
  }
  const std::string out = cap.text();
  EXPECT_EQ(out.find('\033'), std::string::npos) << out;
  EXPECT_EQ(out.find('\r'), std::string::npos) << out;
  EXPECT_NE(out.find("✓ platform   Ready    1.2s    1 change applied"), std::string::npos) << out;
  EXPECT_NE(out.find("  + start process/kafka  (not running)"), std::string::npos) << out;
  EXPECT_NE(out.find("    db: waiting for port 27017"), std::string::npos) << out;
  EXPECT_NE(out.find("✗ edge"), std::string::npos) << out;
  EXPECT_NE(out.find("\n    fix: stop pid 77 or change spec.local.ports.kafka\n"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("– infra"), std::string::npos) << out;
  EXPECT_NE(out.find("– monitoring"), std::string::npos) << out;
  EXPECT_NE(out.find("✓ e2e  POST → document in 1.2 s"), std::string::npos) << out;
  EXPECT_NE(out.find("✗ archive  no S3 object"), std::string::npos) << out;
  EXPECT_NE(out.find("Stalled in 2.5s: edge Stalled, monitoring Blocked"), std::string::npos)
      << out;

  // The summary table: one header and a row per finished stage, columns aligned.
  const auto ls = lines(out);
  auto header = std::find_if(ls.begin(), ls.end(),
                             [](const std::string& l) { return l.rfind("STAGE", 0) == 0; });
  ASSERT_NE(header, ls.end()) << out;
  const std::size_t status_col = header->find("STATUS");
  const std::size_t duration_col = header->find("DURATION");
  ASSERT_NE(status_col, std::string::npos);
  const std::vector<std::pair<std::string, std::string>> rows = {
      {"infra", "Skipped"}, {"platform", "Ready"}, {"edge", "Stalled"}, {"monitoring", "Blocked"}};
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const std::string& row = *(header + 1 + static_cast<std::ptrdiff_t>(i));
    EXPECT_EQ(row.rfind(rows[i].first, 0), 0u) << row;
    EXPECT_EQ(row.find(rows[i].second), status_col) << row;
    EXPECT_NE(row.find_first_not_of(' ', duration_col), std::string::npos) << row;
  }
}

TEST(TerminalSink, TtySpinnerIsRedrawnAndStopped) {
  Capture cap;
  {
    TerminalSink sink(cap.file(), /*tty=*/true, /*verbose=*/false);
    sink.emit(ev("stage.start", "platform"));
    sink.emit(ev("stage.progress", "platform", "", "db: waiting for port 27017"));
    std::this_thread::sleep_for(std::chrono::milliseconds(350));
    sink.emit(ev("stage.done", "platform", "Ready", "up to date", 350));
    sink.emit(ev("stage.start", "edge"));  // destroyed while a stage is in flight
  }
  const std::string out = cap.text();
  EXPECT_NE(out.find("\r\033[K"), std::string::npos);
  EXPECT_NE(out.find("⠙ platform"), std::string::npos) << out;  // at least one tick
  EXPECT_NE(out.find("db: waiting for port 27017"), std::string::npos);
  EXPECT_NE(out.find("✓ platform"), std::string::npos);
  EXPECT_EQ(out.substr(out.size() - 4), "\r\033[K");  // the spinner line is cleared at the end
}

TEST(TerminalSink, ConcurrentEmitters) {
  Capture cap;
  TerminalSink sink(cap.file(), /*tty=*/true, /*verbose=*/true);
  sink.emit(ev("stage.start", "edge"));
  std::vector<std::thread> ts;
  for (int t = 0; t < 4; ++t) {
    ts.emplace_back([&sink, t] {
      for (int i = 0; i < 200; ++i) {
        sink.emit(
            ev("stage.progress", "edge", "", "t" + std::to_string(t) + " " + std::to_string(i)));
      }
    });
  }
  for (auto& t : ts) t.join();
  EXPECT_NE(cap.text().find("t3 199"), std::string::npos);
}

TEST(TeeSink, FansOut) {
  auto a = std::make_shared<MemorySink>();
  auto b = std::make_shared<MemorySink>();
  TeeSink tee;
  tee.add(a);
  tee.add(b);
  tee.emit(ev("log", "", "", "hello"));
  ASSERT_EQ(a->events.size(), 1u);
  ASSERT_EQ(b->events.size(), 1u);
  EXPECT_EQ(b->events[0].message, "hello");
}

}  // namespace
}  // namespace ca4::engine
