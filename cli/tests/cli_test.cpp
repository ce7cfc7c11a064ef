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
