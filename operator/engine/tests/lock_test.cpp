#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "ca4/engine/state.h"
#include "fakes.h"

namespace ca4::engine {
namespace {

using testing::TempDir;

std::string readAll(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(StateLock, SecondAcquireIsRefusedWithTheHolder) {
  TempDir dir;
  const std::string ca4 = dir.path() + "/.ca4";
  auto first = StateLock::acquire(ca4, "up");
  ASSERT_TRUE(first.ok()) << first.error().message;

  const std::string pid = std::to_string(::getpid());
  const std::string holder = readAll(ca4 + "/state.lock");
  EXPECT_EQ(holder.rfind(pid + " up 20", 0), 0u) << holder;

  // Same process, second open file description: flock refuses it too.
  auto second = StateLock::acquire(ca4, "plan");
  ASSERT_FALSE(second.ok());
  const Error& e = second.error();
  EXPECT_FALSE(e.isRetryable());
  EXPECT_NE(e.message.find("another ca4ctl holds " + ca4 + "/state.lock"), std::string::npos)
      << e.message;
  EXPECT_NE(e.message.find("(pid " + pid + ", `ca4ctl up`, since 20"), std::string::npos)
      << e.message;
  EXPECT_EQ(e.fix, "wait for it to finish, or stop it (kill " + pid + ")");
}

TEST(StateLock, CommandsWithSpacesAreQuotedWhole) {
  TempDir dir;
  auto first = StateLock::acquire(dir.path(), "up --only edge");
  ASSERT_TRUE(first.ok());
  auto second = StateLock::acquire(dir.path(), "down");
  ASSERT_FALSE(second.ok());
  EXPECT_NE(second.error().message.find("`ca4ctl up --only edge`"), std::string::npos)
      << second.error().message;
}

TEST(StateLock, ReleasedWhenDestroyed) {
  TempDir dir;
  {
    auto first = StateLock::acquire(dir.path(), "up");
    ASSERT_TRUE(first.ok());
  }
  EXPECT_TRUE(StateLock::acquire(dir.path(), "up").ok());
}

TEST(StateLock, MoveKeepsTheLock) {
  TempDir dir;
  auto first = StateLock::acquire(dir.path(), "up");
  ASSERT_TRUE(first.ok());
  std::optional<StateLock> moved(std::move(*first));
  first = Error::terminal("gone");  // destroys the moved-from lock: must not release
  EXPECT_FALSE(StateLock::acquire(dir.path(), "up").ok());

  auto other_dir = TempDir();
  auto other = StateLock::acquire(other_dir.path(), "up");
  ASSERT_TRUE(other.ok());
  *moved = std::move(*other);  // releases the first directory's lock
  EXPECT_TRUE(StateLock::acquire(dir.path(), "up").ok());
  EXPECT_FALSE(StateLock::acquire(other_dir.path(), "up").ok());
  moved.reset();
  EXPECT_TRUE(StateLock::acquire(other_dir.path(), "up").ok());
}

TEST(StateLock, ReleasedWhenTheHolderIsKilled) {
  TempDir dir;
  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::close(ready[0]);
    auto lock = StateLock::acquire(dir.path(), "up");
    const char c = lock.ok() ? '1' : '0';
    if (::write(ready[1], &c, 1) != 1) ::_exit(2);
    for (;;) ::pause();
  }
  ::close(ready[1]);
  char c = 0;
  ASSERT_EQ(::read(ready[0], &c, 1), 1);
  ::close(ready[0]);
  ASSERT_EQ(c, '1');

  auto refused = StateLock::acquire(dir.path(), "up");
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().message.find("pid " + std::to_string(pid)), std::string::npos)
      << refused.error().message;
  EXPECT_NE(refused.error().fix.find("kill " + std::to_string(pid)), std::string::npos);

  ASSERT_EQ(::kill(pid, SIGKILL), 0);
  ASSERT_EQ(::waitpid(pid, nullptr, 0), pid);
  EXPECT_TRUE(StateLock::acquire(dir.path(), "up").ok());
}

}  // namespace
}  // namespace ca4::engine
