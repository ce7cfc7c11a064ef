#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "ca4/cli/app.h"

namespace fs = std::filesystem;

namespace {

struct Run {
  int rc;
  std::string out, err;
};

Run ca4ctl(std::vector<std::string> args) {
  args.insert(args.begin(), "ca4ctl");
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  std::FILE* out = std::tmpfile();
  std::FILE* err = std::tmpfile();
  int rc = ca4::cli::run(static_cast<int>(argv.size()), argv.data(), out, err);
  auto slurp = [](std::FILE* f) {
    std::fflush(f);
    std::rewind(f);
    std::string s;
    char buf[4096];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) s.append(buf, n);
    std::fclose(f);
    return s;
  };
  return {rc, slurp(out), slurp(err)};
}

struct SpecDir {
  fs::path dir;
  explicit SpecDir(const std::string& yaml) {
    char tmpl[] = "/tmp/ca4-cli-XXXXXX";
    dir = ::mkdtemp(tmpl);
    std::ofstream(dir / "ca4.yaml") << yaml;
  }
  ~SpecDir() { fs::remove_all(dir); }
  std::string file() const { return (dir / "ca4.yaml").string(); }
};

}  // namespace

TEST(Cli, HelpTeachesExitCodesAndExamples) {
  auto r = ca4ctl({"--help"});
  EXPECT_EQ(r.rc, 0);
  EXPECT_NE(r.out.find("Exit codes"), std::string::npos);
  EXPECT_NE(r.out.find("verify"), std::string::npos);
  EXPECT_NE(r.out.find("reconcile"), std::string::npos);
}

TEST(Cli, UnknownCommandIsAUsageError) {
  auto r = ca4ctl({"frobnicate"});
  EXPECT_EQ(r.rc, ca4::cli::kExitUsage);
}

TEST(Cli, InvalidSpecGivesFileLineColAndExit1) {
  SpecDir d("apiVersion: ca4.dev/v1alpha1\nkind: Pipeline\nspec:\n  edge:\n    kafka:\n      partitions: 500\n");
  auto r = ca4ctl({"-f", d.file(), "plan"});
  EXPECT_EQ(r.rc, ca4::cli::kExitFailed);
  EXPECT_NE(r.err.find("ca4.yaml:6:19"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("spec.edge.kafka.partitions"), std::string::npos) << r.err;
}

TEST(Cli, InvalidSpecAsJsonLines) {
  SpecDir d("apiVersion: ca4.dev/v1alpha1\nkind: Pipeline\nspec:\n  target: mars\n");
  auto r = ca4ctl({"-f", d.file(), "-o", "json", "plan"});
  EXPECT_EQ(r.rc, ca4::cli::kExitFailed);
  std::istringstream lines(r.out);
  std::string line;
  int n = 0;
  while (std::getline(lines, line)) {
    auto j = nlohmann::json::parse(line);
    EXPECT_EQ(j["type"], "spec.error");
    EXPECT_EQ(j["line"], 4);
    ++n;
  }
  EXPECT_EQ(n, 1);
}

TEST(Cli, CompletionScripts) {
  auto b = ca4ctl({"completion", "bash"});
  EXPECT_EQ(b.rc, 0);
  EXPECT_NE(b.out.find("complete -F _ca4ctl ca4ctl"), std::string::npos);
  auto z = ca4ctl({"completion", "zsh"});
  EXPECT_NE(z.out.find("#compdef ca4ctl"), std::string::npos);
}

TEST(Cli, VersionJson) {
  auto r = ca4ctl({"-o", "json", "version"});
  EXPECT_EQ(r.rc, 0);
  EXPECT_EQ(nlohmann::json::parse(r.out)["type"], "version");
}

// The spec's invalid corpus, through the CLI: exit 1, every expected file:line:col with its path,
// nothing forbidden (literal secrets) printed.
TEST(Cli, InvalidCorpusEveryErrorWithFileLineColExit1) {
  int files = 0;
  for (const auto& entry : fs::directory_iterator(CA4_SPEC_CORPUS_DIR)) {
    if (entry.path().extension() != ".yaml") continue;
    ++files;
    std::ifstream in(entry.path());
    std::string line;
    std::vector<std::pair<std::string, std::string>> expect;  // "L:C", path
    std::vector<std::string> absent;
    while (std::getline(in, line) && line.rfind("#", 0) == 0) {
      std::istringstream ls(line);
      std::string hash, kind, pos, path;
      ls >> hash >> kind;
      if (kind == "expect:") {
        ls >> pos >> path;
        expect.emplace_back(pos, path);
      } else if (kind == "absent:") {
        std::getline(ls >> std::ws, path);
        absent.push_back(path);
      }
    }
    auto r = ca4ctl({"-f", entry.path().string(), "plan"});
    EXPECT_EQ(r.rc, ca4::cli::kExitFailed) << entry.path();
    for (const auto& [pos, path] : expect) {
      // 0:0 = no position (empty file): printed as "file: …"
      const std::string where = entry.path().filename().string() + (pos == "0:0" ? "" : ":" + pos) + ": ";
      auto at = r.err.find(where);
      EXPECT_NE(at, std::string::npos) << entry.path() << " lacks " << where << "\n" << r.err;
      if (at != std::string::npos) {
        EXPECT_NE(r.err.find(path, at), std::string::npos) << entry.path() << " " << path;
      }
    }
    for (const auto& a : absent) EXPECT_EQ((r.out + r.err).find(a), std::string::npos) << entry.path() << " leaks " << a;
  }
  EXPECT_GE(files, 20);
}

TEST(Cli, MissingPrerequisitesAreListedWithFixesNotAHang) {
  SpecDir d("apiVersion: ca4.dev/v1alpha1\nkind: Pipeline\nspec:\n  local:\n    binDir: /nonexistent/bin\n"
            "    cacheDir: /nonexistent/cache\n    dataDir: .ca4/local\n");
  auto r = ca4ctl({"-f", d.file(), "up"});
  EXPECT_EQ(r.rc, ca4::cli::kExitFailed);
  const auto all = r.out + r.err;
  EXPECT_NE(all.find("missing prerequisites"), std::string::npos) << all;
  EXPECT_NE(all.find("make build"), std::string::npos) << all;
  EXPECT_NE(all.find("scripts/install-services.sh"), std::string::npos) << all;
  auto doc = ca4ctl({"-f", d.file(), "doctor"});
  EXPECT_EQ(doc.rc, ca4::cli::kExitFailed);
  EXPECT_NE(doc.out.find("✗ doctor    prerequisites"), std::string::npos) << doc.out;
}

TEST(Cli, ShowSpecPrintsTheEffectiveSpecWithoutSecretValues) {
  SpecDir d("apiVersion: ca4.dev/v1alpha1\nkind: Pipeline\nspec:\n  edge:\n    processor: {apiKey: \"${CA4_CLI_TEST_KEY}\"}\n");
  ::setenv("CA4_CLI_TEST_KEY", "very-secret-value-123", 1);
  auto r = ca4ctl({"-f", d.file(), "plan", "--show-spec"});
  ::unsetenv("CA4_CLI_TEST_KEY");
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.out.find("partitions: 3"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("${CA4_CLI_TEST_KEY}"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("very-secret-value-123"), std::string::npos);
}

TEST(Cli, TunnelRefusesTargetsWithoutABastionAndUnknownNames) {
  SpecDir local("apiVersion: ca4.dev/v1alpha1\nkind: Pipeline\nmetadata: {name: t}\nspec: {target: local}\n");
  auto r = ca4ctl({"-f", local.file(), "tunnel"});
  EXPECT_EQ(r.rc, ca4::cli::kExitFailed);
  EXPECT_NE(r.err.find("target local has no tunnels"), std::string::npos) << r.err;

  SpecDir hosts(
      "apiVersion: ca4.dev/v1alpha1\nkind: Pipeline\nmetadata: {name: t}\n"
      "spec:\n  target: hosts\n  hosts:\n    bastion: {address: 192.0.2.1}\n"
      "    nodes: [{name: edge-1, address: 10.0.1.10}]\n    sshConfig: \"\"\n");
  auto unknown = ca4ctl({"-f", hosts.file(), "tunnel", "kafak"});
  EXPECT_EQ(unknown.rc, ca4::cli::kExitFailed);
  EXPECT_NE(unknown.err.find("no tunnel named 'kafak'"), std::string::npos) << unknown.err;
  EXPECT_NE(unknown.err.find("kafka, grafana, k3s, prometheus"), std::string::npos) << unknown.err;

  auto status = ca4ctl({"-f", hosts.file(), "tunnel", "status"});
  EXPECT_EQ(status.rc, ca4::cli::kExitNotRunning);
  EXPECT_NE(status.out.find("no background tunnel runs"), std::string::npos) << status.out;
  auto stop = ca4ctl({"-f", hosts.file(), "-o", "json", "tunnel", "stop"});
  EXPECT_EQ(stop.rc, 0);
  EXPECT_NE(stop.out.find("\"type\":\"tunnel.stopped\""), std::string::npos) << stop.out;
}
