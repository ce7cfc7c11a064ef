#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "ca4/drivers/local/ports.h"
#include "ca4/drivers/local/process.h"

namespace fs = std::filesystem;
using namespace ca4::drivers::local;
using namespace std::chrono_literals;

namespace {

struct TmpDir {
  fs::path path;
  TmpDir() {
    char tmpl[] = "/tmp/ca4-drvlocal-XXXXXX";
    path = ::mkdtemp(tmpl);
  }
  ~TmpDir() { fs::remove_all(path); }
};

std::string slurp(const fs::path& p) {
  std::ifstream in(p);
  return {std::istreambuf_iterator<char>(in), {}};
}

}  // namespace

TEST(Process, StartsDetachedWritesLogAndStops) {
  TmpDir d;
  ProcessSpec spec{"echoer", {"/bin/sh", "-c", "echo hello-$CA4_T; exec sleep 30"}, {{"CA4_T", "x1"}},
                   (d.path / "e.log").string(), d.path.string()};
  auto r = start(spec);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_GT(r->pid, 0);
  EXPECT_TRUE(alive(*r));
  // detached: its own session, not our child
  EXPECT_EQ(::getsid(r->pid), r->pid);
  auto st = readProcStat(r->pid);
  for (int i = 0; i < 100 && st && st->comm != "sleep"; ++i) {
    std::this_thread::sleep_for(20ms);
    st = readProcStat(r->pid);
  }
  ASSERT_TRUE(st);
  EXPECT_EQ(st->comm, "sleep");
  EXPECT_EQ(::getpgid(r->pid), r->pid);
  for (int i = 0; i < 100 && slurp(d.path / "e.log").empty(); ++i) std::this_thread::sleep_for(20ms);
  EXPECT_EQ(slurp(d.path / "e.log"), "hello-x1\n");
  EXPECT_EQ(fs::status(d.path / "e.log").permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write);
  ASSERT_TRUE(stop(*r, 5s).ok());
  EXPECT_FALSE(alive(*r));
  EXPECT_TRUE(stop(*r, 1s).ok()) << "stopping a stopped process is fine";
}

TEST(Process, MissingBinaryIsTerminalAndNamesIt) {
  TmpDir d;
  auto r = start({"ghost", {"/nonexistent/ca4-ghost"}, {}, (d.path / "g.log").string(), ""});
  ASSERT_FALSE(r.ok());
  EXPECT_FALSE(r.error().isRetryable());
  EXPECT_NE(r.error().message.find("/nonexistent/ca4-ghost"), std::string::npos);
}

TEST(Process, RecycledPidIsNotAlive) {
  TmpDir d;
  auto r = start({"s", {"/bin/sleep", "30"}, {}, (d.path / "s.log").string(), ""});
  ASSERT_TRUE(r.ok());
  ProcessRecord other = *r;
  other.start_ticks += 1;  // same pid, different start time = someone else
  EXPECT_FALSE(alive(other));
  EXPECT_TRUE(alive(*r));
  ASSERT_TRUE(stop(*r, 5s).ok());
}

TEST(Process, StopEscalatesToSigkill) {
  TmpDir d;
  auto r = start({"stubborn", {"/bin/sh", "-c", "trap '' TERM; while :; do sleep 0.1; done"}, {},
                  (d.path / "s.log").string(), ""});
  ASSERT_TRUE(r.ok());
  std::this_thread::sleep_for(200ms);
  auto t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(stop(*r, 500ms).ok());
  EXPECT_FALSE(alive(*r));
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 450ms);
}

TEST(Process, RunToCompletionReturnsExitCode) {
  TmpDir d;
  auto ok = runToCompletion({"t", {"/bin/sh", "-c", "exit 3"}, {}, (d.path / "t.log").string(), ""}, 5s);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(*ok, 3);
  auto slow = runToCompletion({"t", {"/bin/sleep", "10"}, {}, (d.path / "t.log").string(), ""}, 200ms);
  ASSERT_FALSE(slow.ok());
  EXPECT_TRUE(slow.error().isRetryable());
}

TEST(Process, RecordJsonRoundTrip) {
  ProcessRecord r{42, 12345, "2026-11-23T00:00:00Z", "/x.log"};
  auto back = ProcessRecord::fromJson(r.toJson());
  ASSERT_TRUE(back);
  EXPECT_EQ(back->pid, 42);
  EXPECT_EQ(back->start_ticks, 12345u);
  EXPECT_FALSE(ProcessRecord::fromJson(nlohmann::json::object()));
}

TEST(Ports, OpenAndOwner) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ASSERT_EQ(::listen(fd, 4), 0);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  std::uint16_t port = ntohs(a.sin_port);
  EXPECT_TRUE(tcpOpen("127.0.0.1", port));
  auto owner = listeningOwner(port);
  ASSERT_TRUE(owner);
  EXPECT_EQ(owner->pid, ::getpid());
  ::close(fd);
  EXPECT_FALSE(tcpOpen("127.0.0.1", port));
  EXPECT_FALSE(listeningOwner(port));
}
