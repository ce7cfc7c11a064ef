// loadKustomization on real directories (one fresh temp dir per test): resources in order,
// nested kustomizations, the ConfigMap generator, and every refusal of the supported subset.
#include <ca4/drivers/kube/objects.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>

#include "temp_dir.h"

namespace ca4::drivers::kube {
namespace {

namespace fs = std::filesystem;

using test::TempDir;

const char* kHeader = "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n";
const char* kNs = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: app\n";
const char* kDeploy =
    "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: api\n  namespace: app\n"
    "spec:\n  replicas: 2\n";

std::vector<std::string> refs(const std::vector<Json>& objs) {
  std::vector<std::string> out;
  for (const auto& o : objs) out.push_back(refOf(o).str());
  return out;
}

std::string errorOf(const TempDir& d, const std::string& sub = "") {
  auto r = loadKustomization(d.str(sub));
  if (r.ok()) return "<ok>";
  EXPECT_FALSE(r.error().isRetryable());
  return r.error().message;
}

// `msg` contains every one of `parts`.
::testing::AssertionResult mentions(const std::string& msg,
                                    std::initializer_list<std::string> parts) {
  for (const auto& p : parts)
    if (msg.find(p) == std::string::npos)
      return ::testing::AssertionFailure() << "\"" << msg << "\" does not mention \"" << p << "\"";
  return ::testing::AssertionSuccess();
}

TEST(Kustomize, ResourcesInOrderThenGeneratedConfigMaps) {
  TempDir d;
  d.write("kustomization.yaml", std::string(kHeader) + R"(resources:
  - namespace.yaml
  - apps/deploy.yml
  - extra.json
configMapGenerator:
  - name: api-config
    namespace: app
    files:
      - conf/app.conf
      - renamed.txt=conf/other.txt
    literals:
      - LOG_LEVEL=debug
      - QUOTED="a b"
      - EQ=x=y
    options:
      labels:
        tier: api
generatorOptions:
  disableNameSuffixHash: true
  labels:
    app.kubernetes.io/part-of: ca4
    tier: overridden
  annotations:
    note: generated
)");
  d.write("namespace.yaml", kNs);
  d.write("apps/deploy.yml", kDeploy);
  d.write(
      "extra.json",
      R"({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "api", "namespace": "app"},
              "spec": {"ports": [{"port": 80}]}})");
  d.write("conf/app.conf", "a=1\nb=2\n");
  d.write("conf/other.txt", "hello");

  auto r = loadKustomization(d.str());
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(refs(*r), (std::vector<std::string>{"Namespace/app", "Deployment/app/api",
                                                "Service/app/api", "ConfigMap/app/api-config"}));
  EXPECT_EQ((*r)[1]["spec"]["replicas"], 2);
  EXPECT_EQ((*r)[2]["spec"]["ports"][0]["port"], 80);
  const Json& cm = (*r)[3];
  EXPECT_EQ(cm["apiVersion"], "v1");
  EXPECT_EQ(cm["metadata"]["name"], "api-config");  // no hash suffix
  EXPECT_EQ(cm["metadata"]["labels"],
            (Json{{"app.kubernetes.io/part-of", "ca4"}, {"tier", "api"}}));
  EXPECT_EQ(cm["metadata"]["annotations"], (Json{{"note", "generated"}}));
  EXPECT_EQ(cm["data"], (Json{{"app.conf", "a=1\nb=2\n"},
                              {"renamed.txt", "hello"},
                              {"LOG_LEVEL", "debug"},
                              {"QUOTED", "a b"},
                              {"EQ", "x=y"}}));
  EXPECT_FALSE(cm.contains("binaryData"));
}

TEST(Kustomize, NestedKustomizationsAndAlternativeFileNames) {
  TempDir d;
  d.write("kustomization.yml", "resources: [base, app.yaml]\n");  // apiVersion/kind optional
  d.write("base/Kustomization", std::string(kHeader) + "resources:\n- ns.yaml\n");
  d.write("base/ns.yaml", kNs);
  d.write("app.yaml", kDeploy);
  auto r = loadKustomization(d.str());
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(refs(*r), (std::vector<std::string>{"Namespace/app", "Deployment/app/api"}));
}

TEST(Kustomize, EmptyKustomizationYieldsNothing) {
  TempDir d;
  d.write("kustomization.yaml", "# nothing yet\n");
  auto r = loadKustomization(d.str());
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_TRUE(r->empty());
}

TEST(Kustomize, NonUtf8FileGoesToBinaryData) {
  TempDir d;
  d.write("kustomization.yaml",
          "configMapGenerator:\n- name: bin\n  files: [blob.bin]\n"
          "generatorOptions:\n  disableNameSuffixHash: true\n");
  d.write("blob.bin", std::string("\xff\x00\x01", 3));
  auto r = loadKustomization(d.str());
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ((*r)[0]["binaryData"]["blob.bin"], "/wAB");
  EXPECT_FALSE((*r)[0].contains("data"));
}

TEST(Kustomize, MissingDirectoryOrKustomization) {
  EXPECT_TRUE(mentions(loadKustomization("/nonexistent/ca4-kube").error().message,
                       {"/nonexistent/ca4-kube", "does not exist"}));
  TempDir d;
  EXPECT_TRUE(mentions(errorOf(d), {"no kustomization.yaml", d.str()}));
  d.write("kustomization.yaml", "resources: []\n");
  d.write("kustomization.yml", "resources: []\n");
  EXPECT_TRUE(mentions(errorOf(d), {"found both", "kustomization.yaml", "kustomization.yml"}));
}

TEST(Kustomize, UnsupportedFieldIsNamedWithTheSupportedSet) {
  TempDir d;
  d.write("kustomization.yaml", std::string(kHeader) + "resources: []\nnamePrefix: dev-\n");
  EXPECT_EQ(errorOf(d), d.str("kustomization.yaml") +
                            ":4:1: unsupported field \"namePrefix\" (ca4ctl supports apiVersion, "
                            "kind, resources, configMapGenerator, generatorOptions, labels)");
  d.write("kustomization.yaml", "secretGenerator: []\n");
  EXPECT_TRUE(mentions(errorOf(d), {":1:1: unsupported field \"secretGenerator\""}));
  d.write("kustomization.yaml",
          "configMapGenerator:\n- name: x\n  envs: [a.env]\ngeneratorOptions:\n"
          "  disableNameSuffixHash: true\n");
  EXPECT_TRUE(mentions(errorOf(d), {":3:3: unsupported field \"configMapGenerator[0].envs\"",
                                    "name, namespace, behavior, files, literals, options"}));
  d.write("kustomization.yaml",
          "configMapGenerator:\n- name: x\n  options:\n    immutable: true\n"
          "generatorOptions:\n  disableNameSuffixHash: true\n");
  EXPECT_TRUE(
      mentions(errorOf(d), {":4:5: unsupported field \"configMapGenerator[0].options.immutable\"",
                            "labels, annotations"}));
  d.write("kustomization.yaml",
          "generatorOptions:\n  disableNameSuffixHash: true\n  immutable: true\n");
  EXPECT_TRUE(mentions(errorOf(d), {":3:3: unsupported field \"generatorOptions.immutable\""}));
}

TEST(Kustomize, ApiVersionAndKindAreChecked) {
  TempDir d;
  d.write("kustomization.yaml", "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\n");
  EXPECT_TRUE(
      mentions(errorOf(d), {":1:13: apiVersion: expected kustomize.config.k8s.io/v1beta1"}));
  d.write("kustomization.yaml", "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Component\n");
  EXPECT_TRUE(mentions(errorOf(d), {":2:7: kind: expected Kustomization"}));
}

TEST(Kustomize, DisableNameSuffixHashMustBeTrue) {
  TempDir d;
  const std::string gen = "configMapGenerator:\n- name: x\n  literals: [a=b]\n";
  d.write("kustomization.yaml", gen);
  EXPECT_TRUE(mentions(
      errorOf(d), {":1:1: configMapGenerator needs generatorOptions.disableNameSuffixHash: true"}));
  d.write("kustomization.yaml", gen + "generatorOptions:\n  disableNameSuffixHash: false\n");
  EXPECT_TRUE(mentions(
      errorOf(d), {":5:3: generatorOptions.disableNameSuffixHash must be true", "hash suffix"}));
  d.write("kustomization.yaml", gen + "generatorOptions:\n  labels: {a: b}\n");
  EXPECT_TRUE(mentions(errorOf(d), {"generatorOptions.disableNameSuffixHash must be true"}));
  d.write("kustomization.yaml", gen + "generatorOptions:\n  disableNameSuffixHash: \"true\"\n");
  EXPECT_TRUE(mentions(errorOf(d),
                       {":5:26: generatorOptions.disableNameSuffixHash: expected true or false"}));
  d.write("kustomization.yaml", gen + "generatorOptions:\n  disableNameSuffixHash: yes\n");
  EXPECT_TRUE(mentions(errorOf(d), {"expected true or false"}));
  d.write("kustomization.yaml", gen + "generatorOptions:\n  disableNameSuffixHash: True\n");
  EXPECT_EQ(errorOf(d), "<ok>");
}

TEST(Kustomize, GeneratorBehaviorAndFields) {
  TempDir d;
  const std::string opts = "generatorOptions:\n  disableNameSuffixHash: true\n";
  d.write("kustomization.yaml", "configMapGenerator:\n- name: x\n  behavior: merge\n" + opts);
  EXPECT_TRUE(mentions(errorOf(d), {":3:13: configMapGenerator[0].behavior: only \"create\""}));
  d.write("kustomization.yaml",
          "configMapGenerator:\n- name: x\n  behavior: create\n  literals: [a=1]\n" + opts);
  EXPECT_EQ(errorOf(d), "<ok>");
  d.write("kustomization.yaml", "configMapGenerator:\n- literals: [a=1]\n" + opts);
  EXPECT_TRUE(mentions(errorOf(d), {":2:3: configMapGenerator[0].name: required"}));
  d.write("kustomization.yaml", "configMapGenerator:\n- name: x\n  literals: [novalue]\n" + opts);
  EXPECT_TRUE(mentions(errorOf(d), {"\"novalue\" is not key=value"}));
  d.write("kustomization.yaml",
          "configMapGenerator:\n- name: x\n  literals: [\"bad key=1\"]\n" + opts);
  EXPECT_TRUE(mentions(errorOf(d), {"\"bad key\" is not a valid ConfigMap key"}));
  d.write("kustomization.yaml", "configMapGenerator:\n- name: x\n  literals: [a=1, a=2]\n" + opts);
  EXPECT_TRUE(mentions(errorOf(d), {":3:19: configMapGenerator[0]: key \"a\" is defined twice"}));
  d.write("a", "file a");
  d.write("kustomization.yaml",
          "configMapGenerator:\n- name: x\n  literals: [a=1]\n  files: [a]\n" + opts);
  EXPECT_TRUE(mentions(errorOf(d), {"key \"a\" is defined twice"}));
  d.write("kustomization.yaml", "configMapGenerator:\n- name: x\n  files: [missing.txt]\n" + opts);
  EXPECT_TRUE(
      mentions(errorOf(d), {":3:11: configMapGenerator[0].files: \"missing.txt\" is not a file"}));
}

TEST(Kustomize, PathsMayNotEscapeTheTopDirectory) {
  TempDir d;
  d.write("outside.yaml", kNs);
  d.write("top/kustomization.yaml", "resources:\n- ../outside.yaml\n");
  EXPECT_TRUE(mentions(errorOf(d, "top"),
                       {"top/kustomization.yaml:2:3: resources: \"../outside.yaml\" is outside"}));

  d.write("top/kustomization.yaml", "resources:\n- " + d.str("outside.yaml") + "\n");
  EXPECT_TRUE(mentions(errorOf(d, "top"), {"is outside"}));

  // A nested kustomization may not climb above the directory given either.
  d.write("top/kustomization.yaml", "resources:\n- sub\n");
  d.write("top/sub/kustomization.yaml", "resources:\n- ../../outside.yaml\n");
  EXPECT_TRUE(mentions(errorOf(d, "top"), {"top/sub/kustomization.yaml:2:3:", "is outside"}));
  // ... but may use its siblings inside it.
  d.write("top/sub/kustomization.yaml", "resources:\n- ../ns.yaml\n");
  d.write("top/ns.yaml", kNs);
  EXPECT_EQ(errorOf(d, "top"), "<ok>");

  d.write("top/kustomization.yaml",
          "configMapGenerator:\n- name: x\n  files: [../secret.txt]\n"
          "generatorOptions:\n  disableNameSuffixHash: true\n");
  d.write("secret.txt", "s");
  EXPECT_TRUE(mentions(errorOf(d, "top"), {"files: \"../secret.txt\" is outside"}));

  // A symlink pointing out is followed before the check.
  fs::create_symlink(d.path() / "outside.yaml", d.path() / "top/link.yaml");
  d.write("top/kustomization.yaml", "resources:\n- link.yaml\n");
  EXPECT_TRUE(mentions(errorOf(d, "top"), {"\"link.yaml\" is outside"}));
}

TEST(Kustomize, ResourceProblems) {
  TempDir d;
  d.write("kustomization.yaml", "resources:\n- missing.yaml\n");
  EXPECT_TRUE(mentions(errorOf(d), {":2:3: resources: \"missing.yaml\" does not exist"}));
  d.write("kustomization.yaml", "resources:\n- https://github.com/x/y//base\n");
  EXPECT_TRUE(mentions(errorOf(d), {"remote resource", "not supported"}));
  d.write("notes.txt", "x");
  d.write("kustomization.yaml", "resources:\n- notes.txt\n");
  EXPECT_TRUE(mentions(errorOf(d), {"expected a .yaml, .yml or .json file"}));
  d.write("kustomization.yaml", "resources: app.yaml\n");
  EXPECT_TRUE(mentions(errorOf(d), {":1:12: resources: expected a list of paths"}));
  d.write("plain/x.yaml", kNs);
  d.write("kustomization.yaml", "resources:\n- plain\n");
  EXPECT_TRUE(mentions(errorOf(d), {"no kustomization.yaml", "plain"}));
  // Errors inside a resource file carry that file's line and column.
  d.write("bad.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: [x\n");
  d.write("kustomization.yaml", "resources:\n- bad.yaml\n");
  EXPECT_TRUE(mentions(errorOf(d), {"bad.yaml:5:1: "}));
}

TEST(Kustomize, CycleIsRefused) {
  TempDir d;
  d.write("kustomization.yaml", "resources: [a]\n");
  d.write("a/kustomization.yaml", "resources: [..]\n");
  EXPECT_TRUE(mentions(errorOf(d), {"kustomization cycle"}));
}

TEST(Kustomize, DuplicateObjectNamesBothSources) {
  TempDir d;
  d.write("one.yaml", kDeploy);
  d.write("two.yaml",
          std::string("apiVersion: v1\nkind: Namespace\nmetadata: {name: x}\n---\n") + kDeploy);
  d.write("kustomization.yaml", "resources: [one.yaml, two.yaml]\n");
  const std::string msg = errorOf(d);
  EXPECT_TRUE(
      mentions(msg, {"duplicate object Deployment/app/api", "one.yaml:1:1", "two.yaml:5:1"}));

  // A generated ConfigMap clashing with a file's.
  d.write("cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cfg, namespace: app}\n");
  d.write("kustomization.yaml",
          "resources: [cm.yaml]\nconfigMapGenerator:\n- name: cfg\n  namespace: app\n"
          "generatorOptions:\n  disableNameSuffixHash: true\n");
  EXPECT_TRUE(mentions(errorOf(d), {"duplicate object ConfigMap/app/cfg", "cm.yaml:1:1",
                                    "kustomization.yaml:3:3 (configMapGenerator)"}));

  // The same file listed twice.
  d.write("kustomization.yaml", "resources: [one.yaml, ./one.yaml]\n");
  EXPECT_TRUE(mentions(errorOf(d), {"duplicate object Deployment/app/api"}));
}

TEST(Kustomize, LabelsAreAddedToEveryObjectOfTheKustomization) {
  TempDir d;
  d.write("kustomization.yaml", std::string(kHeader) + R"(labels:
  - pairs:
      app.kubernetes.io/part-of: ca4
    includeSelectors: false
  - pairs:
      tier: edge
    includeTemplates: false
resources:
  - ns.yaml
  - deploy.yaml
  - sub
configMapGenerator:
  - name: gen
    namespace: app
    literals: [a=1]
    options:
      labels:
        app.kubernetes.io/name: gen
generatorOptions:
  disableNameSuffixHash: true
)");
  d.write("ns.yaml", kNs);
  d.write("deploy.yaml",
          "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: api\n  namespace: app\n"
          "  labels:\n    tier: overridden\n    keep: me\n"
          "spec:\n  selector:\n    matchLabels: {app: api}\n"
          "  template:\n    metadata:\n      labels: {app: api}\n");
  d.write("sub/kustomization.yaml",
          "resources: [svc.yaml]\nlabels:\n- pairs: {inner: yes}\n");
  d.write("sub/svc.yaml", "apiVersion: v1\nkind: Service\nmetadata: {name: api, namespace: app}\n");

  auto r = loadKustomization(d.str());
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_EQ(refs(*r), (std::vector<std::string>{"Namespace/app", "Deployment/app/api",
                                                "Service/app/api", "ConfigMap/app/gen"}));
  for (const auto& o : *r) {
    EXPECT_EQ(o["metadata"]["labels"]["app.kubernetes.io/part-of"], "ca4") << refOf(o).str();
    EXPECT_EQ(o["metadata"]["labels"]["tier"], "edge") << refOf(o).str();
  }
  const Json& deploy = (*r)[1];
  EXPECT_EQ(deploy["metadata"]["labels"]["keep"], "me");  // existing labels kept
  // Selectors and pod templates are untouched.
  EXPECT_EQ(deploy["spec"]["selector"]["matchLabels"], (Json{{"app", "api"}}));
  EXPECT_EQ(deploy["spec"]["template"]["metadata"]["labels"], (Json{{"app", "api"}}));
  // The nested kustomization's own labels apply to its objects only.
  EXPECT_EQ((*r)[2]["metadata"]["labels"]["inner"], "yes");
  EXPECT_FALSE((*r)[0]["metadata"]["labels"].contains("inner"));
  // The generated ConfigMap keeps its generator labels too.
  EXPECT_EQ((*r)[3]["metadata"]["labels"]["app.kubernetes.io/name"], "gen");
}

TEST(Kustomize, LabelsSubsetIsChecked) {
  TempDir d;
  d.write("ns.yaml", kNs);
  d.write("kustomization.yaml",
          "resources: [ns.yaml]\nlabels:\n- pairs: {a: b}\n  includeSelectors: true\n");
  EXPECT_TRUE(mentions(errorOf(d), {":4:21: labels.includeSelectors: only false is supported"}));
  d.write("kustomization.yaml",
          "resources: [ns.yaml]\nlabels:\n- pairs: {a: b}\n  includeTemplates: true\n");
  EXPECT_TRUE(mentions(errorOf(d), {"labels.includeTemplates: only false is supported"}));
  d.write("kustomization.yaml",
          "resources: [ns.yaml]\nlabels:\n- pairs: {a: b}\n  fields: [x]\n");
  EXPECT_TRUE(mentions(errorOf(d), {":4:3: unsupported field \"labels.fields\"",
                                    "pairs, includeSelectors, includeTemplates"}));
  d.write("kustomization.yaml", "resources: [ns.yaml]\nlabels: {a: b}\n");
  EXPECT_TRUE(mentions(errorOf(d), {":2:9: labels: expected a list"}));
  d.write("kustomization.yaml", "resources: [ns.yaml]\nlabels:\n- a\n");
  EXPECT_TRUE(mentions(errorOf(d), {"labels: expected {pairs"}));
  d.write("kustomization.yaml", "resources: [ns.yaml]\nlabels:\n- pairs: [a]\n");
  EXPECT_TRUE(mentions(errorOf(d), {"labels.pairs: expected a mapping of strings"}));
  d.write("kustomization.yaml", "resources: [ns.yaml]\nlabels:\n- pairs: {a: b}\n  includeSelectors: false\n");
  EXPECT_EQ(errorOf(d), "<ok>");
}

}  // namespace
}  // namespace ca4::drivers::kube
