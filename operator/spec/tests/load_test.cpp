// Loading: syntax, structure, types, unknown keys, positions, defaults, bounds, files.
#include <filesystem>
#include <fstream>

#include "test_util.h"

namespace ca4::spec {
namespace {

using testing::failsAt;
using testing::kHeader;
using testing::load;
using testing::loads;
using testing::withSpec;

TEST(Load, MinimalDocumentGetsAllDefaults) {
  const auto r = load(std::string(kHeader));
  ASSERT_TRUE(loads(r));
  const auto& p = *r.pipeline;
  EXPECT_EQ(p.metadata.name, "ca4");
  EXPECT_EQ(p.spec.target, Target::Local);
  EXPECT_EQ(p.spec.edge.kafka.partitions, 3);
  EXPECT_EQ(p.spec.edge.worker.batch_timeout, std::chrono::milliseconds(200));
  EXPECT_EQ(p.spec.local.ports.db, 27017);
  EXPECT_TRUE(p.spec.tunnels.empty()) << "local has no bastion, so no default tunnels";
  EXPECT_EQ(p.spec.platform.archive.endpoint, "http://127.0.0.1:9000");
}

TEST(Load, NullValuesMeanDefaults) {
  const auto r = load(std::string(kHeader) + "metadata:\nspec:\n  edge:\n    kafka:\n");
  ASSERT_TRUE(loads(r));
  EXPECT_EQ(r.pipeline->spec.edge.kafka.topic, "gpu-metadata");
}

TEST(Load, SyntaxErrorHasParserPosition) {
  const auto r = load(std::string(kHeader) + "spec:\n  target: [local\n");
  ASSERT_FALSE(r.ok());
  ASSERT_EQ(r.diagnostics.size(), 1u) << testing::dump(r);
  EXPECT_NE(r.diagnostics[0].message.find("YAML syntax error"), std::string::npos);
  EXPECT_GE(r.diagnostics[0].line, 4);
  EXPECT_GT(r.diagnostics[0].column, 0);
}

TEST(Load, EmptyFileIsOneDiagnostic) {
  for (const char* text : {"", "   \n\n", "# only a comment\n"}) {
    const auto r = load(text);
    ASSERT_FALSE(r.ok()) << text;
    ASSERT_EQ(r.diagnostics.size(), 1u);
    EXPECT_NE(r.diagnostics[0].message.find("empty"), std::string::npos);
  }
}

TEST(Load, MoreThanOneDocumentIsRejected) {
  EXPECT_FALSE(load(std::string(kHeader) + "---\n" + std::string(kHeader)).ok());
}

// yaml-cpp 0.7's LoadAll never returns on these (jbeder/yaml-cpp#1040); load must.
TEST(Load, StrayTopLevelCommaDoesNotHang) {
  for (const char* text : {",", ", a", "{a: b}\n,", "[a]\n,", "\"a\"\n,", "# c\n, a b: c"}) {
    EXPECT_FALSE(load(text).ok()) << text;
  }
  EXPECT_FALSE(load(std::string(kHeader) + "spec: {}\n,\n").ok());
}

TEST(Load, RootMustBeAMap) { EXPECT_TRUE(failsAt(load("- a\n- b\n"), "", "expected a map")); }

TEST(Load, ApiVersionAndKindAreRequiredAndFixed) {
  auto r = load("metadata: {name: x}\n");
  EXPECT_TRUE(failsAt(r, "apiVersion", "is required"));
  EXPECT_TRUE(failsAt(r, "kind", "is required"));
  r = load("apiVersion: ca4.dev/v1\nkind: Pipe\n");
  EXPECT_TRUE(failsAt(r, "apiVersion", "must be ca4.dev/v1alpha1"));
  EXPECT_TRUE(failsAt(r, "kind", "must be Pipeline"));
  const auto* d = testing::find(r, "kind");
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->line, 2);
  EXPECT_EQ(d->column, 7);
  EXPECT_NE(d->fix.find("Pipeline"), std::string::npos);
}

TEST(Load, UnknownKeyAtKeyPositionWithDidYouMean) {
  const auto r = load(std::string(kHeader) + "spec:\n  edge:\n    kafka:\n      partitons: 3\n");
  ASSERT_TRUE(failsAt(r, "spec.edge.kafka.partitons", "did you mean `partitions`?"));
  const auto& d = r.diagnostics[0];
  EXPECT_EQ(d.line, 6);
  EXPECT_EQ(d.column, 7);
  EXPECT_EQ(d.fix, "rename it to partitions");
}

TEST(Load, UnknownKeySnakeCaseSuggestsCamelCase) {
  EXPECT_TRUE(failsAt(withSpec("{infra: {terraform_dir: x}}"), "spec.infra.terraform_dir",
                      "did you mean `terraformDir`?"));
}

TEST(Load, UnknownKeyFarFromAnyKnownHasNoSuggestion) {
  const auto r = withSpec("{zzzzzz: 1}");
  ASSERT_TRUE(failsAt(r, "spec.zzzzzz", "unknown key"));
  EXPECT_EQ(r.diagnostics[0].message.find("did you mean"), std::string::npos);
}

TEST(Load, UnknownTopLevelKey) {
  EXPECT_TRUE(failsAt(load(std::string(kHeader) + "specs: {}\n"), "specs", "did you mean `spec`?"));
}

TEST(Load, DuplicateKeyIsReported) {
  EXPECT_TRUE(failsAt(withSpec("{target: local, target: aws}"), "spec.target", "duplicate key"));
}

TEST(Load, WrongTypesNameTheExpectedType) {
  EXPECT_TRUE(failsAt(withSpec("{edge: {kafka: {partitions: three}}}"),
                      "spec.edge.kafka.partitions", "expected an integer"));
  EXPECT_TRUE(failsAt(withSpec("{edge: {kafka: {partitions: \"3\"}}}"),
                      "spec.edge.kafka.partitions", "expected an integer, got the string"));
  EXPECT_TRUE(failsAt(withSpec("{edge: {kafka: {partitions: 2.5}}}"), "spec.edge.kafka.partitions",
                      "expected an integer"));
  EXPECT_TRUE(failsAt(withSpec("{platform: {namespaces: {a: b}}}"), "spec.platform.namespaces",
                      "expected a list, got a map"));
  EXPECT_TRUE(failsAt(withSpec("{monitoring: {enabled: abc}}"), "spec.monitoring.enabled",
                      "expected a boolean"));
  EXPECT_TRUE(failsAt(withSpec("{monitoring: {enabled: \"true\"}}"), "spec.monitoring.enabled",
                      "expected a boolean"));
  EXPECT_TRUE(failsAt(withSpec("{edge: [1, 2]}"), "spec.edge", "expected a map, got a list"));
  EXPECT_TRUE(failsAt(withSpec("{infra: {region: [a]}}"), "spec.infra.region",
                      "expected a string, got a list"));
  EXPECT_TRUE(failsAt(withSpec("{edge: {processor: {rateLimit: fast}}}"),
                      "spec.edge.processor.rateLimit", "expected a number"));
  EXPECT_TRUE(failsAt(withSpec("{platform: {namespaces: [a, ~]}}"), "spec.platform.namespaces[1]",
                      "expected a string"));
}

TEST(Load, AllProblemsAreReportedAtOnceSortedByPosition) {
  const auto r = load(
      "apiVersion: v2\n"
      "kind: Pipeline\n"
      "spec:\n"
      "  target: moon\n"
      "  edge:\n"
      "    kafka: {partitions: 0, replicas: 9}\n"
      "  monitoring: {scrapeInterval: 10m}\n");
  ASSERT_GE(r.diagnostics.size(), 5u) << testing::dump(r);
  for (std::size_t i = 1; i < r.diagnostics.size(); ++i) {
    const auto& a = r.diagnostics[i - 1];
    const auto& b = r.diagnostics[i];
    EXPECT_TRUE(a.line < b.line || (a.line == b.line && a.column <= b.column)) << testing::dump(r);
  }
}

TEST(Load, DiagnosticStrFormat) {
  Diagnostic d{"ca4.yaml", 14, 5, "spec.edge.kafka.partitions", "must be 1..64, got 100",
               "set 1..64"};
  EXPECT_EQ(d.str(),
            "ca4.yaml:14:5: spec.edge.kafka.partitions: must be 1..64, got 100 (fix: set 1..64)");
  d.line = 0;
  EXPECT_EQ(d.str(),
            "ca4.yaml: spec.edge.kafka.partitions: must be 1..64, got 100 (fix: set 1..64)");
  d.path.clear();
  d.fix.clear();
  EXPECT_EQ(d.str(), "ca4.yaml: must be 1..64, got 100");
}

TEST(Load, RangeErrorPointsAtTheValue) {
  const auto r = load(std::string(kHeader) + "spec:\n  edge:\n    kafka:\n      partitions: 100\n");
  ASSERT_EQ(r.diagnostics.size(), 1u) << testing::dump(r);
  EXPECT_EQ(r.diagnostics[0].str(),
            "ca4.yaml:6:19: spec.edge.kafka.partitions: must be 1..64, got 100 (fix: set 1..64)");
}

TEST(Load, ListItemPathsUseBrackets) {
  const auto r = withSpec(
      "{target: aws, tunnels: [{name: a, localPort: 1, remoteHost: h, "
      "remotePort: 2}, {name: b, localPort: 0, remoteHost: h, remotePort: 2}]}");
  EXPECT_TRUE(failsAt(r, "spec.tunnels[1].localPort", "must be 1..65535"));
}

TEST(Load, TabIndentationIsReportedAtTheTab) {
  const auto r = load(std::string(kHeader) + "spec:\n\ttarget: local\n");
  ASSERT_EQ(r.diagnostics.size(), 1u) << testing::dump(r);
  EXPECT_EQ(r.diagnostics[0].line, 4);
  EXPECT_EQ(r.diagnostics[0].column, 1);
  EXPECT_NE(r.diagnostics[0].message.find("tab"), std::string::npos);
}

TEST(Load, InvalidUtf8IsReportedAtTheByte) {
  const auto r = load(std::string(kHeader) + "metadata: {name: \"ab\xff\"}\n");
  ASSERT_EQ(r.diagnostics.size(), 1u) << testing::dump(r);
  EXPECT_EQ(r.diagnostics[0].line, 3);
  EXPECT_EQ(r.diagnostics[0].column, 21);
  EXPECT_NE(r.diagnostics[0].message.find("UTF-8"), std::string::npos);
  for (const char* bad : {"\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xe2\x82"}) {
    EXPECT_FALSE(load(std::string(kHeader) + "# " + bad + "\n").ok()) << "overlong/surrogate/range";
  }
  EXPECT_TRUE(loads(load(std::string(kHeader) + "metadata: {labels: {who: \"Zoë ✓ 𝄞\"}}\n")));
}

TEST(Load, EnvValueMustBeUtf8) {
  EXPECT_TRUE(failsAt(withSpec("{infra: {workspace: \"${W}\"}}", {{"W",
                                                                   "a\xff"
                                                                   "b"}}),
                      "spec.infra.workspace", "not valid UTF-8"));
}

TEST(Load, DocumentLargerThanOneMiBIsRejected) {
  std::string text(kHeader);
  text += "metadata:\n  labels:\n";
  while (text.size() <= (1u << 20)) text += "    k" + std::to_string(text.size()) + ": v\n";
  const auto r = load(text);
  ASSERT_EQ(r.diagnostics.size(), 1u);
  EXPECT_NE(r.diagnostics[0].message.find("1 MiB"), std::string::npos);
}

TEST(Load, DeepNestingIsADiagnosticNotACrash) {
  for (int depth : {65, 100, 5000, 100000}) {
    const auto r = load(std::string(kHeader) + "x: " + std::string(depth, '[') +
                        std::string(depth, ']') + "\n");
    EXPECT_FALSE(r.ok()) << depth;
    EXPECT_FALSE(r.diagnostics.empty());
  }
}

TEST(Load, AliasBombIsBounded) {
  std::string text(kHeader);
  text += "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n";
  for (int i = 1; i < 9; ++i) {
    const auto prev = "*a" + std::to_string(i - 1);
    text += "a" + std::to_string(i) + ": &a" + std::to_string(i) + " [" + prev;
    for (int k = 0; k < 9; ++k) text += ", " + prev;
    text += "]\n";
  }
  const auto r = load(text);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(failsAt(r, "", "expands to more than"));
}

TEST(Load, AnchorsAndAliasesWork) {
  const auto r = load(std::string(kHeader) +
                      "spec:\n  target: hosts\n  hosts:\n    bastion: &b {address: 10.0.0.1}\n"
                      "    nodes: [{name: n1, address: 10.0.0.2}]\n");
  ASSERT_TRUE(loads(r));
  EXPECT_EQ(r.pipeline->spec.hosts.bastion.name, "bastion");
}

TEST(Load, MetadataNameMustBeDns1123Label) {
  for (const char* bad : {"Ca4", "-ca4", "ca4-", "ca_4", "\"\"",
                          "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"}) {
    const auto r = load(std::string(kHeader) + "metadata: {name: " + bad + "}\n");
    EXPECT_TRUE(failsAt(r, "metadata.name", "DNS-1123")) << bad;
  }
  const auto r = load(std::string(kHeader) + "metadata: {name: ca4-local-2, labels: {team: ml}}\n");
  ASSERT_TRUE(loads(r));
  EXPECT_EQ(r.pipeline->metadata.name, "ca4-local-2");
  EXPECT_EQ(r.pipeline->metadata.labels.at("team"), "ml");
}

TEST(Load, RelativePathsStayAsWrittenAndBaseDirIsAbsolute) {
  const auto r = loadString(std::string(kHeader) +
                                "spec:\n  local: {dataDir: data/x, binDir: ../bin}\n"
                                "  cluster: {kubeconfig: kc/a}\n  infra: {terraformDir: tf}\n",
                            "conf/ca4.yaml", testing::fakeEnv({}));
  ASSERT_TRUE(loads(r));
  const auto& p = *r.pipeline;
  EXPECT_EQ(p.spec.local.data_dir, "data/x");
  EXPECT_EQ(p.spec.local.bin_dir, "../bin");
  EXPECT_EQ(p.spec.cluster.kubeconfig, "kc/a");
  EXPECT_EQ(p.spec.infra.terraform_dir, "tf");
  EXPECT_EQ(p.source_path, "conf/ca4.yaml");
  EXPECT_TRUE(std::filesystem::path(p.base_dir).is_absolute());
  EXPECT_EQ(std::filesystem::path(p.base_dir).filename(), "conf");
}

TEST(Load, MissingFileIsOneDiagnosticWithoutPosition) {
  const auto r = loadFile("/nonexistent/dir/ca4.yaml", testing::fakeEnv({}));
  ASSERT_EQ(r.diagnostics.size(), 1u);
  EXPECT_EQ(r.diagnostics[0].line, 0);
  EXPECT_EQ(r.diagnostics[0].file, "/nonexistent/dir/ca4.yaml");
  EXPECT_EQ(r.diagnostics[0].str().rfind("/nonexistent/dir/ca4.yaml: ", 0), 0u);
}

TEST(Load, LoadFileReadsAndSetsSource) {
  const auto dir = std::filesystem::temp_directory_path() / "ca4_spec_load_test";
  std::filesystem::create_directories(dir);
  const auto file = dir / "ca4.yaml";
  std::ofstream(file) << kHeader << "metadata: {name: from-file}\n";
  const auto r = loadFile(file.string(), testing::fakeEnv({}));
  std::filesystem::remove_all(dir);
  ASSERT_TRUE(loads(r));
  EXPECT_EQ(r.pipeline->metadata.name, "from-file");
  EXPECT_EQ(r.pipeline->source_path, file.string());
  EXPECT_EQ(std::filesystem::path(r.pipeline->base_dir), dir);
}

}  // namespace
}  // namespace ca4::spec
