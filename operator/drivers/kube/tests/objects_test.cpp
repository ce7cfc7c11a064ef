// ObjectRef, refOf and parseManifests: YAML 1.2 core typing, tags, List flattening, object checks
// and error locations.
#include <ca4/drivers/kube/objects.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>

namespace ca4::drivers::kube {
namespace {

// The value of field `v` in an object whose `v:` line is written as `scalar`.
Json valueOf(const std::string& scalar) {
  const std::string yaml = "apiVersion: v1\nkind: X\nmetadata: {name: x}\nv: " + scalar + "\n";
  auto r = parseManifests(yaml, "t.yaml");
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
  if (!r.ok() || r->size() != 1) return Json("<error>");
  return (*r)[0]["v"];
}

std::string errorOf(const std::string& yaml, const std::string& source = "app.yaml") {
  auto r = parseManifests(yaml, source);
  if (r.ok()) return "<ok>";
  EXPECT_FALSE(r.error().isRetryable());
  return r.error().message;
}

TEST(ObjectRef, GroupVersionAndStr) {
  ObjectRef d{"apps/v1", "Deployment", "app", "processor-api"};
  EXPECT_EQ(d.group(), "apps");
  EXPECT_EQ(d.version(), "v1");
  EXPECT_EQ(d.str(), "Deployment/app/processor-api");
  ObjectRef ns{"v1", "Namespace", "", "platform"};
  EXPECT_EQ(ns.group(), "");
  EXPECT_EQ(ns.version(), "v1");
  EXPECT_EQ(ns.str(), "Namespace/platform");
}

TEST(ObjectRef, JsonRoundTrip) {
  ObjectRef d{"apps/v1", "Deployment", "app", "api"};
  const Json j = d.toJson();
  EXPECT_EQ(j, (Json{{"apiVersion", "apps/v1"},
                     {"kind", "Deployment"},
                     {"namespace", "app"},
                     {"name", "api"}}));
  auto back = ObjectRef::fromJson(j);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, d);

  auto clusterScoped =
      ObjectRef::fromJson({{"apiVersion", "v1"}, {"kind", "Namespace"}, {"name", "p"}});
  ASSERT_TRUE(clusterScoped.ok());
  EXPECT_EQ(clusterScoped->ns, "");
}

TEST(ObjectRef, FromJsonRejectsMissingOrWrongFields) {
  auto noKind = ObjectRef::fromJson({{"apiVersion", "v1"}, {"name", "x"}});
  ASSERT_FALSE(noKind.ok());
  EXPECT_NE(noKind.error().message.find("\"kind\""), std::string::npos);
  EXPECT_FALSE(ObjectRef::fromJson({{"apiVersion", "v1"}, {"kind", "K"}, {"name", 3}}).ok());
  EXPECT_FALSE(
      ObjectRef::fromJson({{"apiVersion", "v1"}, {"kind", "K"}, {"name", "x"}, {"namespace", 1}})
          .ok());
  EXPECT_FALSE(ObjectRef::fromJson(Json::array()).ok());
}

TEST(ObjectRef, OrderingAndEquality) {
  ObjectRef a{"v1", "ConfigMap", "a", "x"}, b{"v1", "ConfigMap", "b", "x"};
  EXPECT_LT(a, b);
  EXPECT_NE(a, b);
}

TEST(RefOf, ReadsFieldsAndDefaultsMissingToEmpty) {
  const Json obj = {{"apiVersion", "apps/v1"},
                    {"kind", "Deployment"},
                    {"metadata", {{"name", "api"}, {"namespace", "app"}}}};
  EXPECT_EQ(refOf(obj), (ObjectRef{"apps/v1", "Deployment", "app", "api"}));
  EXPECT_EQ(refOf({{"kind", "Namespace"}, {"metadata", {{"name", "p"}}}}),
            (ObjectRef{"", "Namespace", "", "p"}));
  EXPECT_EQ(refOf(Json::array()), ObjectRef{});
  EXPECT_EQ(refOf({{"kind", 3}, {"metadata", "x"}}), ObjectRef{});
}

TEST(ParseManifests, MultiDocumentStreamSkipsEmptyDocuments) {
  const std::string yaml = R"(---
# leading comment only
---
apiVersion: v1
kind: Namespace
metadata:
  name: app
---
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
  namespace: app
spec:
  replicas: 2
...
---
~
)";
  auto r = parseManifests(yaml, "m.yaml");
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ(refOf((*r)[0]).str(), "Namespace/app");
  EXPECT_EQ(refOf((*r)[1]).str(), "Deployment/app/api");
  EXPECT_EQ((*r)[1]["spec"]["replicas"], 2);
  EXPECT_TRUE((*r)[1]["spec"]["replicas"].is_number_integer());

  auto empty = parseManifests("", "e.yaml");
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());
}

TEST(ParseManifests, CoreSchemaNullsAndBools) {
  EXPECT_TRUE(valueOf("~").is_null());
  EXPECT_TRUE(valueOf("null").is_null());
  EXPECT_TRUE(valueOf("NULL").is_null());
  EXPECT_TRUE(valueOf("").is_null());
  EXPECT_EQ(valueOf("true"), Json(true));
  EXPECT_EQ(valueOf("False"), Json(false));
  EXPECT_EQ(valueOf("TRUE"), Json(true));
  // YAML 1.1 booleans are strings in YAML 1.2.
  EXPECT_EQ(valueOf("yes"), Json("yes"));
  EXPECT_EQ(valueOf("no"), Json("no"));
  EXPECT_EQ(valueOf("on"), Json("on"));
  EXPECT_EQ(valueOf("y"), Json("y"));
  EXPECT_EQ(valueOf("tRUE"), Json("tRUE"));
}

TEST(ParseManifests, QuotedAndBlockScalarsAreStrings) {
  EXPECT_EQ(valueOf("\"true\""), Json("true"));
  EXPECT_EQ(valueOf("'123'"), Json("123"));
  EXPECT_EQ(valueOf("\"~\""), Json("~"));
  EXPECT_EQ(valueOf("\"\""), Json(""));
  EXPECT_EQ(valueOf("'null'"), Json("null"));
  EXPECT_EQ(valueOf("! 12"), Json("12"));  // the non-specific tag
  EXPECT_EQ(valueOf("|\n  42\n"), Json("42\n"));
  EXPECT_EQ(valueOf(">-\n  true\n"), Json("true"));
}

TEST(ParseManifests, Integers) {
  EXPECT_EQ(valueOf("42"), Json(42));
  EXPECT_TRUE(valueOf("42").is_number_integer());
  EXPECT_EQ(valueOf("-17"), Json(-17));
  EXPECT_EQ(valueOf("+5"), Json(5));
  EXPECT_EQ(valueOf("0"), Json(0));
  EXPECT_EQ(valueOf("0x1F"), Json(31));
  EXPECT_EQ(valueOf("0o17"), Json(15));
  EXPECT_EQ(valueOf("9223372036854775807"), Json(9223372036854775807LL));
  EXPECT_EQ(valueOf("-9223372036854775808"), Json(std::numeric_limits<std::int64_t>::min()));
  const Json big = valueOf("18446744073709551615");
  EXPECT_TRUE(big.is_number_unsigned());
  EXPECT_EQ(big.get<std::uint64_t>(), 18446744073709551615ULL);
  EXPECT_TRUE(valueOf("99999999999999999999999").is_number_float());
  // Not numbers: strings.
  EXPECT_EQ(valueOf("0x"), Json("0x"));
  EXPECT_EQ(valueOf("1_000"), Json("1_000"));
  EXPECT_EQ(valueOf("12:30"), Json("12:30"));
  EXPECT_EQ(valueOf("1.2.3"), Json("1.2.3"));
  EXPECT_EQ(valueOf("0o8"), Json("0o8"));
  EXPECT_EQ(valueOf("2024-01-01"), Json("2024-01-01"));
}

// A leading-zero literal is octal, as kubectl and kustomize (Go YAML) read `defaultMode: 0644`;
// strict YAML 1.2 core would read decimal 644 (an invalid mode). See README.
TEST(ParseManifests, LeadingZeroIntegersAreOctalLikeKubectl) {
  EXPECT_EQ(valueOf("0777"), Json(511));
  EXPECT_EQ(valueOf("0644"), Json(420));
  EXPECT_EQ(valueOf("-010"), Json(-8));
  EXPECT_EQ(valueOf("089"), Json(89));  // not octal digits: decimal
  EXPECT_EQ(valueOf("\"0777\""), Json("0777"));
}

TEST(ParseManifests, Floats) {
  const Json e = valueOf("1e3");
  EXPECT_TRUE(e.is_number_float());
  EXPECT_EQ(e.get<double>(), 1000.0);
  EXPECT_EQ(valueOf("1.5"), Json(1.5));
  EXPECT_EQ(valueOf("-.5"), Json(-0.5));
  EXPECT_EQ(valueOf("1."), Json(1.0));
  EXPECT_EQ(valueOf("2.5E-1"), Json(0.25));
  EXPECT_EQ(valueOf("+1e+2"), Json(100.0));
  EXPECT_TRUE(std::isinf(valueOf(".inf").get<double>()));
  EXPECT_LT(valueOf("-.Inf").get<double>(), 0);
  EXPECT_TRUE(std::isnan(valueOf(".NaN").get<double>()));
  EXPECT_EQ(valueOf("1e"), Json("1e"));
  EXPECT_EQ(valueOf("."), Json("."));
  EXPECT_EQ(valueOf("inf"), Json("inf"));
}

TEST(ParseManifests, ExplicitTagsAreHonoured) {
  EXPECT_EQ(valueOf("!!str 123"), Json("123"));
  EXPECT_EQ(valueOf("!!str true"), Json("true"));
  EXPECT_EQ(valueOf("!!str ~"), Json("~"));
  EXPECT_EQ(valueOf("!!str"), Json(""));
  EXPECT_EQ(valueOf("!!int \"42\""), Json(42));
  EXPECT_EQ(valueOf("!!bool 'false'"), Json(false));
  const Json f = valueOf("!!float 3");
  EXPECT_TRUE(f.is_number_float());
  EXPECT_EQ(f.get<double>(), 3.0);
  EXPECT_TRUE(valueOf("!!null ''").is_null());
  EXPECT_EQ(valueOf("!!map {a: 1}"), (Json{{"a", 1}}));
  EXPECT_EQ(valueOf("!!seq [1]"), Json::array({1}));
}

TEST(ParseManifests, InvalidTaggedValuesAndUnknownTagsAreErrors) {
  const std::string head = "apiVersion: v1\nkind: X\nmetadata: {name: x}\n";
  EXPECT_EQ(errorOf(head + "v: !!int abc\n"), "app.yaml:4:4: \"abc\" is not a valid !!int");
  EXPECT_EQ(errorOf(head + "v: !!bool yes\n"), "app.yaml:4:4: \"yes\" is not a valid !!bool");
  EXPECT_EQ(errorOf(head + "v: !Ref x\n").rfind("app.yaml:4:4: unsupported tag !Ref", 0), 0u);
  EXPECT_EQ(errorOf(head + "v: !!binary aGk=\n").rfind("app.yaml:4:4: unsupported tag !!binary", 0),
            0u);
  EXPECT_EQ(errorOf(head + "v: 1e999\n"), "app.yaml:4:4: number 1e999 is out of range");
}

TEST(ParseManifests, KeysAndStructure) {
  auto r = parseManifests(R"(apiVersion: v1
kind: ConfigMap
metadata:
  name: cfg
  labels:
    "app.kubernetes.io/name": api
data:
  1: one
  true: "t"
  app.conf: |
    a=1
    b=2
  anchors: &x [1, 2]
  again: *x
)",
                          "cm.yaml");
  ASSERT_TRUE(r.ok()) << r.error().message;
  const Json& o = (*r)[0];
  EXPECT_EQ(o["metadata"]["labels"]["app.kubernetes.io/name"], "api");
  EXPECT_EQ(o["data"]["1"], "one");
  EXPECT_EQ(o["data"]["true"], "t");
  EXPECT_EQ(o["data"]["app.conf"], "a=1\nb=2\n");
  EXPECT_EQ(o["data"]["again"], Json::array({1, 2}));
}

TEST(ParseManifests, ListIsFlattened) {
  auto r = parseManifests(R"(apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: ConfigMap
  metadata: {name: a, namespace: app}
- apiVersion: v1
  kind: Secret
  metadata: {name: b, namespace: app}
---
apiVersion: v1
kind: List
items: []
)",
                          "list.yaml");
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ(refOf((*r)[0]).str(), "ConfigMap/app/a");
  EXPECT_EQ(refOf((*r)[1]).str(), "Secret/app/b");
}

TEST(ParseManifests, ListItemsAreChecked) {
  EXPECT_EQ(errorOf("apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: ConfigMap\n"
                    "  metadata: {}\n"),
            "app.yaml:6:13: metadata.name: required (ConfigMap)");
  EXPECT_EQ(errorOf("apiVersion: v1\nkind: List\nitems: 3\n"),
            "app.yaml:3:8: items: expected a list, got a number");
}

TEST(ParseManifests, SyntaxErrorsCarryLineAndColumn) {
  const Error e = parseManifests("apiVersion: v1\nkind: [a, b\n", "bad.yaml").error();
  EXPECT_EQ(e.kind, Error::Kind::Terminal);
  EXPECT_EQ(e.message.rfind("bad.yaml:3:1: ", 0), 0u) << e.message;
  EXPECT_EQ(errorOf("a: 1\n b: 2\n"), "app.yaml:2:3: illegal map value");
  EXPECT_EQ(errorOf("a: 1\n\tb: 2\n").rfind("app.yaml:2:1: ", 0), 0u);
  EXPECT_EQ(errorOf("a: *nope\n"), "app.yaml:1:4: the referenced anchor is not defined");
}

TEST(ParseManifests, ObjectChecksNameTheFieldAndPlace) {
  EXPECT_EQ(errorOf("- a\n- b\n"),
            "app.yaml:1:1: expected a Kubernetes object (a mapping), got a list");
  EXPECT_EQ(errorOf("just text\n"),
            "app.yaml:1:1: expected a Kubernetes object (a mapping), got a string");
  EXPECT_EQ(errorOf("kind: ConfigMap\nmetadata: {name: x}\n"),
            "app.yaml:1:1: apiVersion: required");
  EXPECT_EQ(errorOf("---\napiVersion: v1\nkind: 3\nmetadata: {name: x}\n"),
            "app.yaml:3:7: kind: expected a non-empty string, got a number");
  EXPECT_EQ(errorOf("apiVersion: v1\nkind: ConfigMap\n"),
            "app.yaml:1:1: metadata.name: required (ConfigMap)");
  EXPECT_EQ(errorOf("apiVersion: v1\nkind: ConfigMap\nmetadata: []\n"),
            "app.yaml:3:11: metadata: expected a mapping, got a list");
  EXPECT_EQ(errorOf("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: true\n"),
            "app.yaml:4:9: metadata.name: expected a non-empty string, got a boolean");
  // The second document is the bad one: its own line.
  EXPECT_EQ(errorOf("apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n---\n"
                    "apiVersion: v1\nkind: Namespace\nmetadata:\n  labels: {}\n"),
            "app.yaml:8:3: metadata.name: required (Namespace)");
}

TEST(ParseManifests, DuplicateKeysAndMergeKeysAreRefused) {
  EXPECT_EQ(errorOf("apiVersion: v1\nkind: X\nmetadata: {name: a}\nkind: Y\n"),
            "app.yaml:4:1: duplicate key \"kind\"");
  EXPECT_EQ(errorOf("apiVersion: v1\nkind: X\nmetadata: {name: a}\nbase: &b {x: 1}\n"
                    "spec:\n  <<: *b\n"),
            "app.yaml:6:3: merge keys (<<) are not supported; write the fields out");
  EXPECT_EQ(errorOf("? [a]\n: 1\n").rfind("app.yaml:1:3: a mapping key must be a scalar", 0), 0u);
}

TEST(ParseManifests, RecursiveAliasIsRefusedNotFollowed) {
  const std::string msg = errorOf("apiVersion: v1\nkind: X\nmetadata: {name: a}\nv: &a [1, *a]\n");
  EXPECT_NE(msg.find("recursive alias"), std::string::npos) << msg;
}

TEST(ParseManifests, AliasExpansionIsBounded) {
  std::string yaml =
      "apiVersion: v1\nkind: X\nmetadata: {name: a}\na0: &a0 [x, x, x, x, x, x, x, x, x, x]\n";
  for (int i = 1; i < 9; ++i) {
    const std::string prev = "*a" + std::to_string(i - 1);
    yaml += "a" + std::to_string(i) + ": &a" + std::to_string(i) + " [";
    for (int k = 0; k < 10; ++k) yaml += (k ? ", " : "") + prev;
    yaml += "]\n";
  }
  const std::string msg = errorOf(yaml);
  EXPECT_NE(msg.find("document too large"), std::string::npos) << msg;
}

}  // namespace
}  // namespace ca4::drivers::kube
