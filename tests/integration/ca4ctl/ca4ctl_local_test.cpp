// The acceptance tests for ca4ctl's local target, on real processes:
//   up → verify e2e → up again (no changes) → kill the worker → status shows it → up repairs it
//   → down leaves nothing behind (and down twice is fine);
//   ca4ctl SIGKILLed mid-up → next up converges, state.json always parses; a concurrent second
//   up is refused with the holder's pid; -o json parses as JSON lines for every command; the
//   API key from the spec's environment appears in no log, event or state file.
// Every service gets a free loopback port, and all state lives in a temp dir.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <thread>

#include "ca4/testsupport/net.hpp"
#include "ca4/testsupport/process.hpp"
#include "ca4/testsupport/shell.hpp"

namespace fs = std::filesystem;
using ca4::testsupport::freeLoopbackPort;
using ca4::testsupport::slurp;
using json = nlohmann::json;

namespace {

struct Result {
  int rc = -1;
  std::string out, err;
  double seconds = 0;
};

class Ca4ctlLocal : public ::testing::Test {
 protected:
  static inline std::unique_ptr<ca4::testsupport::TempDir> dir_;
  static inline std::string secret_;
  static inline std::vector<std::string> all_output_;  // everything ca4ctl printed, for the leak check

  static fs::path dir() { return dir_->path(); }
  static std::string bin() { return ca4::testsupport::binDir().string(); }

  static void SetUpTestSuite() {
    dir_ = std::make_unique<ca4::testsupport::TempDir>("ca4ctl-it");
    std::mt19937_64 rng(std::random_device{}());
    secret_ = "ca4secret" + std::to_string(rng()) + std::to_string(rng());
    std::ofstream(dir() / "ca4.yaml") << "apiVersion: ca4.dev/v1alpha1\n"
                                         "kind: Pipeline\n"
                                         "metadata: {name: ca4-it}\n"
                                         "spec:\n"
                                         "  target: local\n"
                                         "  edge:\n"
                                         "    kafka: {partitions: 2}\n"
                                         "    processor: {apiKey: \"${CA4_IT_API_KEY}\"}\n"
                                         "  monitoring: {scrapeInterval: 2s}\n"
                                         "  verify: {timeout: 90s}\n"
                                         "  local:\n"
                                         "    binDir: " + bin() + "\n"
                                         "    ports:\n"
                                         "      kafka: " + std::to_string(freeLoopbackPort()) + "\n"
                                         "      kafkaController: " + std::to_string(freeLoopbackPort()) + "\n"
                                         "      db: " + std::to_string(freeLoopbackPort()) + "\n"
                                         "      s3: " + std::to_string(freeLoopbackPort()) + "\n"
                                         "      processor: " + std::to_string(freeLoopbackPort()) + "\n"
                                         "      workerMetrics: " + std::to_string(freeLoopbackPort()) + "\n"
                                         "      prometheus: " + std::to_string(freeLoopbackPort()) + "\n";
  }

  static void TearDownTestSuite() {
    // Whatever happened, leave no process behind: down, then kill anything still recorded.
    ca4ctl({"down"});
    auto state = slurp(dir() / ".ca4/state.json");
    if (!state.empty()) {
      for (const auto& [stage, rec] : json::parse(state)["stages"].items()) {
        const json procs = rec["data"].contains("processes") ? rec["data"]["processes"] : json::object();
        for (const auto& [name, p] : procs.items()) {
          ::kill(-p["pid"].get<int>(), SIGKILL);
        }
      }
    }
    // …and anything a killed or failed run started but never recorded (its arguments name
    // this suite's directory): a run in session 4 left a FerretDB behind.
    if (int n = ca4::testsupport::killProcessesMentioning(dir()); n > 0) {
      std::fprintf(stderr, "teardown: killed %d unrecorded process(es) under %s\n", n, dir().c_str());
    }
    dir_.reset();
  }

  // Runs ca4ctl in the spec's directory with the secret in its environment.
  static Result ca4ctl(const std::vector<std::string>& args, const std::string& extra_env = "") {
    std::string cmd = "cd '" + dir().string() + "' && CA4_IT_API_KEY='" + secret_ + "' " + extra_env + " '" +
                      bin() + "/ca4ctl'";
    for (const auto& a : args) cmd += " '" + a + "'";
    cmd += " >'" + (dir() / "out.txt").string() + "' 2>'" + (dir() / "err.txt").string() + "'";
    auto t0 = std::chrono::steady_clock::now();
    int st = std::system(cmd.c_str());
    Result r;
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    r.rc = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    r.out = slurp(dir() / "out.txt");
    r.err = slurp(dir() / "err.txt");
    all_output_.push_back(r.out + r.err);
    std::fprintf(stderr, "[ca4ctl %s] rc=%d %.2fs\n%s%s", args.empty() ? "" : args.back().c_str(), r.rc,
                 r.seconds, r.out.c_str(), r.err.c_str());
    return r;
  }

  static std::vector<json> jsonLines(const std::string& out) {
    std::vector<json> v;
    std::istringstream in(out);
    std::string line;
    while (std::getline(in, line)) {
      if (line.empty()) continue;
      json j;
      EXPECT_NO_THROW(j = json::parse(line)) << "not a JSON line: " << line;
      v.push_back(j);
    }
    return v;
  }

  static std::map<std::string, int> recordedPids() {
    std::map<std::string, int> pids;
    auto state = json::parse(slurp(dir() / ".ca4/state.json"));
    for (const auto& [stage, rec] : state["stages"].items()) {
      const json procs = rec["data"].contains("processes") ? rec["data"]["processes"] : json::object();
        for (const auto& [name, p] : procs.items()) {
        pids[name] = p["pid"].get<int>();
      }
    }
    return pids;
  }

  // Running = exists and is not a zombie (services are reparented to init, which may reap late).
  static bool pidAlive(int pid) {
    std::string stat = slurp("/proc/" + std::to_string(pid) + "/stat");
    auto close = stat.rfind(')');
    if (stat.empty() || close == std::string::npos || close + 2 >= stat.size()) return false;
    char state = stat[close + 2];
    return state != 'Z' && state != 'X';
  }
};

}  // namespace

TEST_F(Ca4ctlLocal, A_UpVerifyIdempotentRepairDown) {
  // 1. up from nothing, as JSON lines
  auto up = ca4ctl({"-o", "json", "up"});
  ASSERT_EQ(up.rc, 0) << up.err;
  auto events = jsonLines(up.out);
  ASSERT_FALSE(events.empty());
  int changes = 0;
  for (const auto& e : events) {
    ASSERT_TRUE(e.contains("ts") && e.contains("type") && e.contains("run")) << e.dump();
    if (e["type"] == "stage.change") ++changes;
  }
  EXPECT_GE(changes, 7) << "kafka, db, s3, 2 topics, api key, processor, worker, prometheus, bucket";
  EXPECT_EQ(events.back()["type"], "run.done");
  auto pids = recordedPids();
  for (const char* c : {"kafka", "db", "s3", "processor", "worker", "prometheus"}) {
    ASSERT_TRUE(pids.count(c)) << c;
    EXPECT_TRUE(pidAlive(pids[c])) << c;
  }
  // api key file holds the secret and is 0600
  struct stat st {};
  ASSERT_EQ(::stat((dir() / ".ca4/local/api-keys").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600);
  ASSERT_EQ(::stat((dir() / ".ca4/state.json").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600);

  // 2. verify: every check, as a table and as JSON
  auto v = ca4ctl({"verify", "e2e"});
  ASSERT_EQ(v.rc, 0) << v.out << v.err;
  EXPECT_NE(v.out.find("end-to-end"), std::string::npos);
  for (const char* what : {"preflight", "kafka", "db", "e2e"}) {
    auto vj = ca4ctl({"-o", "json", "verify", what});
    EXPECT_EQ(vj.rc, 0) << what << vj.out;
    for (const auto& e : jsonLines(vj.out)) {
      EXPECT_EQ(e["type"], "check");
      EXPECT_EQ(e["status"], "ok") << e.dump();
    }
  }
  auto kafka = jsonLines(ca4ctl({"-o", "json", "verify", "kafka"}).out);
  ASSERT_FALSE(kafka.empty());
  EXPECT_EQ(kafka[0]["fields"]["partitions"], 2);

  // 3. converged re-run: no changes, quickly; plan exits 0
  auto again = ca4ctl({"-o", "json", "up"});
  ASSERT_EQ(again.rc, 0);
  for (const auto& e : jsonLines(again.out)) EXPECT_NE(e["type"], "stage.change") << e.dump();
  EXPECT_EQ(recordedPids(), pids) << "a converged up must not restart anything";
  std::fprintf(stderr, "converged re-run took %.3f s\n", again.seconds);
  EXPECT_EQ(ca4ctl({"plan"}).rc, 0);

  // 4. kill the worker → status notices (exit 3) → plan exit 2 → up repairs only the worker
  ASSERT_EQ(::kill(pids["worker"], SIGKILL), 0);
  for (int i = 0; i < 50 && pidAlive(pids["worker"]); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  auto status = ca4ctl({"status"});
  EXPECT_EQ(status.rc, 3);
  EXPECT_NE(status.out.find("worker"), std::string::npos);
  EXPECT_NE(status.out.find("stopped"), std::string::npos);
  auto sj = jsonLines(ca4ctl({"-o", "json", "status"}).out);
  bool saw = false;
  for (const auto& e : sj) {
    if (e["component"] == "worker") {
      EXPECT_EQ(e["state"], "stopped");
      saw = true;
    }
  }
  EXPECT_TRUE(saw);
  auto plan = ca4ctl({"-o", "json", "plan"});
  EXPECT_EQ(plan.rc, 2);
  auto repair = ca4ctl({"-o", "json", "up"});
  ASSERT_EQ(repair.rc, 0);
  std::vector<std::string> objects;
  for (const auto& e : jsonLines(repair.out)) {
    if (e["type"] == "stage.change") objects.push_back(e["object"]);
  }
  EXPECT_EQ(objects, std::vector<std::string>{"process/worker"});
  auto after = recordedPids();
  EXPECT_NE(after["worker"], pids["worker"]);
  EXPECT_EQ(after["kafka"], pids["kafka"]);
  EXPECT_EQ(ca4ctl({"status"}).rc, 0);
  EXPECT_EQ(ca4ctl({"verify", "e2e"}).rc, 0);

  // 5. down: nothing left; twice is fine
  auto down = ca4ctl({"-o", "json", "down"});
  EXPECT_EQ(down.rc, 0);
  jsonLines(down.out);
  for (const auto& [name, pid] : after) EXPECT_FALSE(pidAlive(pid)) << name;
  EXPECT_EQ(ca4ctl({"down"}).rc, 0);
  EXPECT_EQ(ca4ctl({"status"}).rc, 3);
}

TEST_F(Ca4ctlLocal, B_KilledMidUpConvergesAndLockRefusesASecondRun) {
  // Start up in the background, SIGKILL it while it starts services; state.json must parse.
  std::string cmd = "cd '" + dir().string() + "' && CA4_IT_API_KEY='" + secret_ + "' exec '" + bin() +
                    "/ca4ctl' up >up-bg.txt 2>&1";
  pid_t pid = ::fork();
  if (pid == 0) {
    ::setpgid(0, 0);
    ::execl("/bin/sh", "sh", "-c", cmd.c_str(), nullptr);
    _exit(127);
  }
  // While it runs (it holds the lock once the lock file names it), a second up is refused with
  // the holder's pid.
  for (int i = 0; i < 100 && slurp(dir() / ".ca4/state.lock").find(std::to_string(pid)) == std::string::npos; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  auto second = ca4ctl({"up"});
  bool refused = second.rc == 4;
  EXPECT_NE(second.err.find("pid " + std::to_string(pid)), std::string::npos) << second.err;
  EXPECT_TRUE(refused);
  std::this_thread::sleep_for(std::chrono::seconds(4));  // mid-way: Kafka is usually starting
  ::kill(-pid, SIGKILL);
  int st = 0;
  ::waitpid(pid, &st, 0);
  if (fs::exists(dir() / ".ca4/state.json")) {
    EXPECT_NO_THROW(json::parse(slurp(dir() / ".ca4/state.json")));
  }
  auto up = ca4ctl({"up"});
  ASSERT_EQ(up.rc, 0) << up.err;
  EXPECT_EQ(ca4ctl({"status"}).rc, 0);
  EXPECT_EQ(ca4ctl({"verify", "e2e"}).rc, 0);
  // a killed run must not leave duplicates: one process per recorded component port
  auto again = ca4ctl({"-o", "json", "up"});
  for (const auto& e : jsonLines(again.out)) EXPECT_NE(e["type"], "stage.change") << e.dump();
  EXPECT_EQ(ca4ctl({"down"}).rc, 0);
}

TEST_F(Ca4ctlLocal, C_PortConflictIsAClearErrorNotAHang) {
  // Something else listens on the processor's port.
  auto spec = slurp(dir() / "ca4.yaml");
  auto pos = spec.find("processor: ", spec.find("ports:"));
  int port = std::stoi(spec.substr(pos + 11));
  std::string cmd = "python3 -c \"import socket,time; s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(('127.0.0.1'," +
                    std::to_string(port) + ")); s.listen(); time.sleep(300)\" & echo $! > '" + (dir() / "squatter.pid").string() + "'";
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  ASSERT_TRUE(ca4::testsupport::waitForTcp("127.0.0.1", port, std::chrono::seconds(10)));
  auto up = ca4ctl({"up"});
  EXPECT_EQ(up.rc, 1);
  EXPECT_NE((up.out + up.err).find("port " + std::to_string(port) + " is in use by pid"), std::string::npos) << up.out << up.err;
  EXPECT_NE((up.out + up.err).find("spec.local.ports.processor"), std::string::npos);
  EXPECT_LT(up.seconds, 200.0);
  ::kill(std::stoi(slurp(dir() / "squatter.pid")), SIGKILL);
  EXPECT_EQ(ca4ctl({"down"}).rc, 0);
}

TEST_F(Ca4ctlLocal, D_WatchRepairsDriftAndStopsOnSigterm) {
  ASSERT_EQ(ca4ctl({"up"}).rc, 0);
  auto before = recordedPids();
  std::string cmd = "cd '" + dir().string() + "' && CA4_IT_API_KEY='" + secret_ + "' exec '" + bin() +
                    "/ca4ctl' -o json reconcile --watch --interval 2 >watch.jsonl 2>watch.err";
  pid_t pid = ::fork();
  if (pid == 0) {
    ::setpgid(0, 0);
    ::execl("/bin/sh", "sh", "-c", cmd.c_str(), nullptr);
    _exit(127);
  }
  auto waitFor = [&](const std::function<bool()>& cond, int seconds) {
    for (int i = 0; i < seconds * 10; ++i) {
      if (cond()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return false;
  };
  // drift 1: a killed process is restarted by the loop
  ASSERT_EQ(::kill(before["processor"], SIGKILL), 0);
  EXPECT_TRUE(waitFor([&] {
    auto now = recordedPids();
    return now.count("processor") && now["processor"] != before["processor"] && pidAlive(now["processor"]);
  }, 60)) << slurp(dir() / "watch.jsonl");
  // drift 2: an edited spec is applied (Prometheus gets a new scrape interval → restart)
  auto spec = slurp(dir() / "ca4.yaml");
  auto pos = spec.find("scrapeInterval: 2s");
  ASSERT_NE(pos, std::string::npos);
  spec.replace(pos, 18, "scrapeInterval: 3s");
  std::ofstream(dir() / "ca4.yaml") << spec;
  EXPECT_TRUE(waitFor([&] {
    auto now = recordedPids();
    return now["prometheus"] != before["prometheus"] && pidAlive(now["prometheus"]);
  }, 60)) << slurp(dir() / "watch.jsonl");
  EXPECT_NE(slurp(dir() / ".ca4/local/prometheus.yml").find("scrape_interval: 3s"), std::string::npos);
  // stops cleanly on SIGTERM
  ::kill(pid, SIGTERM);
  int st = 0;
  bool exited = waitFor([&] { return ::waitpid(pid, &st, WNOHANG) == pid; }, 60);
  if (!exited) ::kill(-pid, SIGKILL), ::waitpid(pid, &st, 0);
  EXPECT_TRUE(exited);
  EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) << st;
  auto lines = jsonLines(slurp(dir() / "watch.jsonl"));
  all_output_.push_back(slurp(dir() / "watch.jsonl") + slurp(dir() / "watch.err"));
  ASSERT_FALSE(lines.empty());
  EXPECT_EQ(lines.back()["type"], "watch.stopped");
  bool spec_changed = false;
  for (const auto& l : lines) spec_changed = spec_changed || l["type"] == "spec.changed";
  EXPECT_TRUE(spec_changed);
  // the lock is free again
  EXPECT_EQ(ca4ctl({"up"}).rc, 0);
  EXPECT_EQ(ca4ctl({"down"}).rc, 0);
}

TEST_F(Ca4ctlLocal, E_JsonEverywhereAndNoSecretLeaks) {
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"-o", "json", "version"}, {"-o", "json", "doctor"}, {"-o", "json", "plan"}, {"-o", "json", "status"}}) {
    auto r = ca4ctl(args);
    auto lines = jsonLines(r.out);
    EXPECT_FALSE(lines.empty()) << args.back();
  }
  // The secret (the API key from the environment) must appear nowhere but the 0600 key file.
  for (const auto& o : all_output_) EXPECT_EQ(o.find(secret_), std::string::npos) << o;
  for (const auto& entry : fs::recursive_directory_iterator(dir())) {
    if (!entry.is_regular_file()) continue;
    if (entry.path().filename() == "api-keys") continue;
    auto name = entry.path().string();
    if (name.find("/db-data/") != std::string::npos || name.find("/kafka-data/") != std::string::npos ||
        name.find("/prometheus-data/") != std::string::npos) {
      continue;  // event payload stores, not logs/state
    }
    EXPECT_EQ(slurp(entry.path()).find(secret_), std::string::npos) << "secret leaked into " << name;
  }
}
