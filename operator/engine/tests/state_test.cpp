#include "ca4/engine/state.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "fakes.h"

namespace ca4::engine {
namespace {

using testing::TempDir;
namespace fsys = std::filesystem;

State sampleState() {
  State s;
  s.target = "local";
  s.spec_digest = "sha256:0123";
  s.stages["platform"] = {"Ready",
                          "3 components running",
                          "2026-11-23T16:00:00.000Z",
                          {{"pids", {{"db", 11}, {"s3", 12}}}, {"secret", "${CA4_KEY}"}}};
  s.stages["infra"] = {"Skipped", "target local has no cloud infrastructure",
                       "2026-11-23T16:00:00.000Z", nlohmann::json::object()};
  RunRecord r;
  r.run = "r-20261123T160000Z-1a2b";
  r.command = "up";
  r.spec_digest = "sha256:0123";
  r.started_at = "2026-11-23T16:00:00.000Z";
  r.duration_ms = 1234;
  r.outcome = "Ready";
  r.stages = {{"infra", "Skipped"}, {"platform", "Ready"}};
  s.addRun(r);
  return s;
}

void writeFile(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

std::vector<std::string> listDir(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& e : fsys::directory_iterator(dir)) names.push_back(e.path().filename());
  std::sort(names.begin(), names.end());
  return names;
}

TEST(StateStore, RoundTrip) {
  TempDir dir;
  StateStore store(dir.path() + "/.ca4");
  EXPECT_EQ(store.path(), dir.path() + "/.ca4/state.json");
  const State s = sampleState();
  ASSERT_TRUE(store.save(s).ok());
  auto loaded = store.load();
  ASSERT_TRUE(loaded.ok()) << loaded.error().message;
  EXPECT_EQ(loaded->toJson(), s.toJson());
  EXPECT_EQ(loaded->stages["platform"].data["pids"]["s3"], 12);
  EXPECT_EQ(loaded->history.at(0).stages.at("infra"), "Skipped");
  EXPECT_EQ(loaded->history.at(0).duration_ms, 1234);
}

TEST(StateStore, JsonShapeIsTheDocumentedOne) {
  const auto j = sampleState().toJson();
  EXPECT_EQ(j["schemaVersion"], kStateSchemaVersion);
  EXPECT_EQ(j["target"], "local");
  EXPECT_EQ(j["specDigest"], "sha256:0123");
  EXPECT_EQ(j["stages"]["platform"]["condition"], "Ready");
  EXPECT_EQ(j["stages"]["platform"]["updatedAt"], "2026-11-23T16:00:00.000Z");
  EXPECT_EQ(j["history"][0]["durationMs"], 1234);
  EXPECT_EQ(j["history"][0]["startedAt"], "2026-11-23T16:00:00.000Z");
  EXPECT_EQ(j["history"][0]["stages"]["platform"], "Ready");
}

TEST(StateStore, FileIs0600AndDirectoryIs0700) {
  TempDir dir;
  StateStore store(dir.path() + "/nested/.ca4");
  ASSERT_TRUE(store.save(sampleState()).ok());
  struct stat st {};
  ASSERT_EQ(::stat(store.path().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(::stat(store.dir().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
}

TEST(StateStore, MissingFileIsAFreshState) {
  TempDir dir;
  auto loaded = StateStore(dir.path() + "/.ca4").load();
  ASSERT_TRUE(loaded.ok());
  EXPECT_EQ(loaded->schema_version, kStateSchemaVersion);
  EXPECT_TRUE(loaded->stages.empty());
  EXPECT_TRUE(loaded->history.empty());
  EXPECT_FALSE(fsys::exists(dir.path() + "/.ca4"));  // load never creates anything
}

TEST(StateStore, CorruptFileIsATerminalErrorNamingTheFile) {
  TempDir dir;
  StateStore store(dir.path());
  for (const std::string text : {"{\"schemaVersion\":1,\"stages\":{", "", "garbage", "[1,2]"}) {
    writeFile(store.path(), text);
    auto loaded = store.load();
    ASSERT_FALSE(loaded.ok()) << text;
    EXPECT_FALSE(loaded.error().isRetryable());
    EXPECT_NE(loaded.error().message.find(store.path()), std::string::npos)
        << loaded.error().message;
    EXPECT_NE(loaded.error().fix.find("mv " + store.path()), std::string::npos)
        << loaded.error().fix;
  }
}

TEST(StateStore, WrongTypesAreRefused) {
  TempDir dir;
  StateStore store(dir.path());
  for (const std::string text :
       {R"({"schemaVersion":1,"stages":[]})", R"({"schemaVersion":1,"stages":{"a":1}})",
        R"({"schemaVersion":1,"target":7})", R"({"schemaVersion":1,"history":{}})",
        R"({"schemaVersion":"1"})", R"({"target":"local"})"}) {
    writeFile(store.path(), text);
    auto loaded = store.load();
    ASSERT_FALSE(loaded.ok()) << text;
    EXPECT_NE(loaded.error().message.find(store.path()), std::string::npos);
  }
}

TEST(StateStore, UnknownSchemaVersionIsRefused) {
  TempDir dir;
  StateStore store(dir.path());
  writeFile(store.path(), R"({"schemaVersion":2,"stages":{}})");
  auto loaded = store.load();
  ASSERT_FALSE(loaded.ok());
  EXPECT_NE(loaded.error().message.find("unknown schemaVersion 2"), std::string::npos)
      << loaded.error().message;
  EXPECT_NE(loaded.error().message.find(store.path()), std::string::npos);
  EXPECT_NE(loaded.error().fix.find("different ca4ctl version"), std::string::npos);
  EXPECT_FALSE(State::fromJson({{"schemaVersion", 0}}).ok());
}

TEST(StateStore, AddRunKeepsTheNewest) {
  State s;
  for (int i = 0; i < 30; ++i) {
    RunRecord r;
    r.run = "r-" + std::to_string(i);
    s.addRun(r);
  }
  ASSERT_EQ(s.history.size(), kHistoryLimit);
  EXPECT_EQ(s.history.front().run, "r-10");
  EXPECT_EQ(s.history.back().run, "r-29");
}

TEST(StateStore, CleanSaveLeavesNoTempFiles) {
  TempDir dir;
  StateStore store(dir.path());
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(store.save(sampleState()).ok());
  EXPECT_EQ(listDir(dir.path()), std::vector<std::string>{"state.json"});
}

TEST(StateStore, TempFilesOfDeadProcessesAreRemoved) {
  TempDir dir;
  const pid_t dead = ::fork();
  ASSERT_GE(dead, 0);
  if (dead == 0) ::_exit(0);
  ASSERT_EQ(::waitpid(dead, nullptr, 0), dead);
  const std::string stale = dir.path() + "/.state.json." + std::to_string(dead) + ".3.tmp";
  writeFile(stale, "{\"schemaVer");
  ASSERT_TRUE(StateStore(dir.path()).save(State{}).ok());
  EXPECT_FALSE(fsys::exists(stale));
}

TEST(StateStore, UnwritableDirectoryIsATerminalError) {
  if (::geteuid() == 0) GTEST_SKIP() << "root ignores directory permissions";
  TempDir dir;
  ASSERT_EQ(::chmod(dir.path().c_str(), 0500), 0);
  auto st = StateStore(dir.path()).save(State{});
  ::chmod(dir.path().c_str(), 0700);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message.find(dir.path() + "/state.json"), std::string::npos);
}

TEST(StateStore, SaveOverAFileWhereTheDirectoryShouldBe) {
  TempDir dir;
  writeFile(dir.path() + "/.ca4", "not a dir");
  auto st = StateStore(dir.path() + "/.ca4").save(State{});
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message.find(".ca4"), std::string::npos) << st.error().message;
}

// A SIGKILL at any instant of save() leaves a loadable file: the old one or the new one.
TEST(StateStore, KilledWriterNeverLeavesATornFile) {
  for (int round = 0; round < 20; ++round) {
    TempDir dir;
    const std::string state_dir = dir.path() + "/.ca4";
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      StateStore store(state_dir);
      for (std::size_t n = 0;; n += 997) {
        State s;
        s.stages["edge"].data["n"] = n;
        s.stages["edge"].data["blob"] = std::string(n, 'x');
        if (!store.save(s).ok()) ::_exit(3);
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(180 + 3 * round));
    ASSERT_EQ(::kill(pid, SIGKILL), 0);
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFSIGNALED(status)) << "the writer failed on its own, round " << round;

    auto loaded = StateStore(state_dir).load();
    ASSERT_TRUE(loaded.ok()) << "round " << round << ": " << loaded.error().message;
    const auto& data = loaded->stages["edge"].data;
    ASSERT_TRUE(data.contains("n")) << "round " << round << ": the writer never saved";
    EXPECT_EQ(data["blob"].get<std::string>().size(), data["n"].get<std::size_t>());
  }
}

}  // namespace
}  // namespace ca4::engine
