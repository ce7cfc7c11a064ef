// The monitoring manifests against the real runtime:
//  - `promtool check config` accepts the Prometheus config in manifests/monitoring;
//  - every metric that any Grafana dashboard queries is one that a running ca4-processor or
//    ca4-worker really exports (after real traffic through Kafka into FerretDB).
#include <ca4/common/testing/sample_envelope.h>
#include <ca4/testsupport/ferretdb.hpp>
#include <ca4/testsupport/http.hpp>
#include <ca4/testsupport/kafka_broker.hpp>
#include <ca4/testsupport/net.hpp>
#include <ca4/testsupport/process.hpp>
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <thread>

namespace {
using namespace std::chrono_literals;
namespace fs = std::filesystem;
namespace ts = ca4::testsupport;
using json = nlohmann::json;
constexpr const char* kKey = "monitoring-it-key-0001";

using ca4::testsupport::binDir;
fs::path source() { return ca4::testsupport::sourceDir(); }

// Metric names an exposition lists (sample names, and the names of # TYPE lines).
std::set<std::string> exposed(const std::string& text) {
  std::set<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("# TYPE ", 0) == 0) {
      std::istringstream l(line.substr(7));
      std::string name;
      l >> name;
      out.insert(name);
    } else if (!line.empty() && line[0] != '#') {
      out.insert(line.substr(0, line.find_first_of("{ ")));
    }
  }
  return out;
}

// Metric names in a PromQL expression: identifiers outside label matchers, `by/without (…)`
// groupings, strings and range selectors, not followed by '(' (functions) and not keywords.
std::set<std::string> metricsIn(std::string expr) {
  static const std::set<std::string> keywords = {"by", "without", "on", "ignoring", "group_left", "group_right",
                                                 "offset", "bool", "and", "or", "unless", "inf", "nan"};
  expr = std::regex_replace(expr, std::regex(R"("[^"]*")"), " ");
  expr = std::regex_replace(expr, std::regex(R"(\{[^}]*\})"), " ");
  expr = std::regex_replace(expr, std::regex(R"(\[[^\]]*\])"), " ");
  expr = std::regex_replace(expr, std::regex(R"(\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\))"), " ");
  expr = std::regex_replace(expr, std::regex(R"(\$\{?[A-Za-z_]+\}?)"), " ");  // Grafana variables
  std::set<std::string> out;
  const std::regex ident(R"([A-Za-z_:][A-Za-z0-9_:]*)");
  for (auto it = std::sregex_iterator(expr.begin(), expr.end(), ident); it != std::sregex_iterator(); ++it) {
    const std::string name = it->str();
    const auto end = static_cast<std::size_t>(it->position() + it->length());
    const auto next = expr.find_first_not_of(" \t\n", end);
    if (next != std::string::npos && expr[next] == '(') continue;  // a function
    if (keywords.count(name)) continue;
    if (it->position() > 0 && std::isdigit(static_cast<unsigned char>(expr[it->position() - 1]))) continue;  // 5m, 1e3
    out.insert(name);
  }
  return out;
}

void collectExprs(const json& j, std::vector<std::string>& out) {
  if (j.is_object()) {
    for (const auto& [k, v] : j.items()) {
      if (k == "expr" && v.is_string()) out.push_back(v.get<std::string>());
      else collectExprs(v, out);
    }
  } else if (j.is_array()) {
    for (const auto& v : j) collectExprs(v, out);
  }
}

}  // namespace

TEST(MonitoringManifests, PromtoolAcceptsThePrometheusConfig) {
  const auto cfg = source() / "manifests/monitoring/prometheus/prometheus.yml";
  ASSERT_TRUE(fs::exists(cfg)) << cfg;
  const int st = std::system(("promtool check config '" + cfg.string() + "' >/dev/null 2>&1").c_str());
  EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) << "promtool check config " << cfg;
  // and a broken config is refused (the check can fail)
  ts::TempDir tmp("ca4-promtool");
  std::ofstream(tmp.path() / "bad.yml") << "scrape_configs:\n  - job_name: x\n    scrape_interval: soon\n";
  const int bad = std::system(("promtool check config '" + (tmp.path() / "bad.yml").string() + "' >/dev/null 2>&1").c_str());
  EXPECT_FALSE(WIFEXITED(bad) && WEXITSTATUS(bad) == 0);
}

TEST(MonitoringManifests, EveryDashboardMetricIsExportedByTheRuntime) {
  ts::KafkaBroker broker;
  broker.createTopic("gpu-metadata", 2);
  broker.createTopic("gpu-metadata.dlq", 1);
  ts::FerretDb db;
  ts::TempDir dir("ca4-monitoring-it");
  std::ofstream(dir.path() / "api-keys") << "monitoring:" << kKey << "\n";
  fs::permissions(dir.path() / "api-keys", fs::perms::owner_read | fs::perms::owner_write);
  const auto portFile = dir.path() / "processor.port";
  auto processor = ts::Process::start({
      .argv = {(binDir() / "ca4-processor").string(), "--listen", "127.0.0.1:0", "--port-file", portFile.string(),
               "--brokers", broker.bootstrap(), "--api-keys-file", (dir.path() / "api-keys").string(), "--log-format",
               "text"},
      .env = {},
      .cwd = {},
      .logFile = dir.path() / "processor.log",
  });
  int port = 0;
  for (auto deadline = std::chrono::steady_clock::now() + 30s; port == 0 && std::chrono::steady_clock::now() < deadline;) {
    std::ifstream in(portFile);
    in >> port;
    if (port == 0) std::this_thread::sleep_for(100ms);
  }
  ASSERT_NE(port, 0) << ts::tailFile(dir.path() / "processor.log");
  const int workerPort = ts::freeLoopbackPort();
  auto worker = ts::Process::start({
      .argv = {(binDir() / "ca4-worker").string(), "--brokers", broker.bootstrap(), "--mongo-uri", db.uri(),
               "--metrics-listen", "127.0.0.1:" + std::to_string(workerPort), "--log-format", "text"},
      .env = {},
      .cwd = {},
      .logFile = dir.path() / "worker.log",
  });
  // real traffic: 20 events accepted, and one rejected (so error series exist too)
  const std::string base = "http://127.0.0.1:" + std::to_string(port);
  for (int i = 0; i < 20; ++i) {
    auto r = ts::httpPostJson(base + "/v1/metadata", ca4::envelope::testing::sampleEnvelopeJson("mon-" + std::to_string(i)), kKey);
    ASSERT_EQ(r.status, 202) << r.body;
  }
  EXPECT_EQ(ts::httpPostJson(base + "/v1/metadata", "{}", kKey).status, 400);
  const std::string workerMetricsUrl = "http://127.0.0.1:" + std::to_string(workerPort) + "/metrics";
  std::set<std::string> workerNames;
  for (auto deadline = std::chrono::steady_clock::now() + 90s; std::chrono::steady_clock::now() < deadline;) {
    const auto body = ts::httpGet(workerMetricsUrl).body;
    workerNames = exposed(body);
    if (body.find("ca4_worker_documents_written_total 20") != std::string::npos && workerNames.count("ca4_worker_consumer_lag")) break;
    std::this_thread::sleep_for(500ms);
  }
  ASSERT_TRUE(workerNames.count("ca4_worker_documents_written_total")) << ts::tailFile(dir.path() / "worker.log");
  auto names = exposed(ts::httpGet(base + "/metrics").body);
  names.insert(workerNames.begin(), workerNames.end());

  std::size_t dashboards = 0, checked = 0;
  for (const auto& f : fs::directory_iterator(source() / "manifests/monitoring/dashboards")) {
    if (f.path().extension() != ".json") continue;
    ++dashboards;
    std::ifstream in(f.path());
    const json d = json::parse(in);
    std::vector<std::string> exprs;
    collectExprs(d, exprs);
    EXPECT_FALSE(exprs.empty()) << f.path() << " queries nothing";
    for (const auto& e : exprs) {
      const auto used = metricsIn(e);
      EXPECT_FALSE(used.empty()) << f.path().filename() << ": no metric found in " << e;
      for (const auto& m : used) {
        ++checked;
        EXPECT_TRUE(names.count(m)) << f.path().filename() << ": \"" << m << "\" (in " << e
                                    << ") is not exported by ca4-processor or ca4-worker";
      }
    }
  }
  EXPECT_GE(dashboards, 4u);
  EXPECT_GE(checked, 20u);
  std::fprintf(stderr, "%zu dashboards, %zu metric references checked against %zu exported names\n", dashboards, checked,
               names.size());
  // the extractor itself can fail: an invented metric is caught
  EXPECT_FALSE(names.count(*metricsIn("sum(rate(ca4_invented_total{x=\"y\"}[5m])) by (route)").begin()));
}
