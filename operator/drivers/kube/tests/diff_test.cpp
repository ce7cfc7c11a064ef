// normalizeForDiff, isSubset, diffObjects and renderDiff (incl. Secret redaction).
#include <ca4/drivers/kube/diff.h>
#include <gtest/gtest.h>

namespace ca4::drivers::kube {
namespace {

Json deployment(int replicas, const std::string& image) {
  return Json::parse(R"({
    "apiVersion": "apps/v1", "kind": "Deployment",
    "metadata": {"name": "api", "namespace": "app", "labels": {"app": "api"}},
    "spec": {"replicas": )" +
                     std::to_string(replicas) + R"(,
      "template": {"spec": {"containers": [
        {"name": "api", "image": ")" +
                     image + R"(", "ports": [{"containerPort": 8080}]},
        {"name": "sidecar", "image": "envoy:1.30"}]}}}})");
}

// A live object as the server returns it: server-owned fields, defaults, status.
Json live(int replicas, const std::string& image) {
  Json j = deployment(replicas, image);
  j["metadata"]["uid"] = "0b6f…";
  j["metadata"]["resourceVersion"] = "4711";
  j["metadata"]["generation"] = 3;
  j["metadata"]["creationTimestamp"] = "2026-01-01T00:00:00Z";
  j["metadata"]["managedFields"] = Json::array({{{"manager", "ca4ctl"}}});
  j["metadata"]["annotations"] = {{"kubectl.kubernetes.io/last-applied-configuration", "{}"},
                                  {"deployment.kubernetes.io/revision", "2"}};
  j["spec"]["strategy"] = {{"type", "RollingUpdate"}};
  j["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"] = "IfNotPresent";
  j["status"] = {{"readyReplicas", replicas}};
  return j;
}

TEST(NormalizeForDiff, DropsServerOwnedFields) {
  const Json n = normalizeForDiff(live(2, "api:1"));
  EXPECT_FALSE(n.contains("status"));
  for (const char* k :
       {"managedFields", "resourceVersion", "uid", "generation", "creationTimestamp"})
    EXPECT_FALSE(n["metadata"].contains(k)) << k;
  EXPECT_EQ(n["metadata"]["annotations"], (Json{{"deployment.kubernetes.io/revision", "2"}}));
  EXPECT_EQ(n["metadata"]["labels"], (Json{{"app", "api"}}));
  EXPECT_EQ(n["spec"]["replicas"], 2);

  Json j = deployment(1, "x");
  j["metadata"]["selfLink"] = "/apis/…";
  j["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z";
  j["metadata"]["deletionGracePeriodSeconds"] = 30;
  j["metadata"]["annotations"] = {{"kubectl.kubernetes.io/last-applied-configuration", "{}"}};
  j["metadata"]["labels"] = Json::object();
  const Json m = normalizeForDiff(j);
  EXPECT_EQ(m["metadata"], (Json{{"name", "api"}, {"namespace", "app"}}));
  // The input is not modified.
  EXPECT_TRUE(j["metadata"].contains("selfLink"));
  EXPECT_EQ(normalizeForDiff(Json("x")), Json("x"));
}

TEST(IsSubset, DesiredFieldsHeldByLive) {
  EXPECT_TRUE(isSubset(deployment(2, "api:1"), live(2, "api:1")));
  EXPECT_FALSE(isSubset(deployment(3, "api:1"), live(2, "api:1")));
  EXPECT_FALSE(isSubset(deployment(2, "api:2"), live(2, "api:1")));
  // live lacks a desired key
  Json d = deployment(2, "api:1");
  d["spec"]["paused"] = false;
  EXPECT_FALSE(isSubset(d, live(2, "api:1")));
  // a mapping in desired against a scalar in live
  EXPECT_FALSE(isSubset(Json{{"a", {{"b", 1}}}}, Json{{"a", 1}}));
}

TEST(IsSubset, NumbersCompareByValue) {
  EXPECT_TRUE(isSubset(Json{{"n", 1}}, Json{{"n", 1.0}}));
  EXPECT_TRUE(isSubset(Json{{"n", 1.0}}, Json{{"n", 1}}));
  EXPECT_TRUE(isSubset(Json{{"n", 3u}}, Json{{"n", 3}}));
  EXPECT_TRUE(isSubset(Json{{"n", -2}}, Json{{"n", -2.0}}));
  EXPECT_FALSE(isSubset(Json{{"n", 1}}, Json{{"n", 1.5}}));
  EXPECT_FALSE(isSubset(Json{{"n", -1}}, Json{{"n", 18446744073709551615ULL}}));
  // 2^53 + 1 is not the double 2^53: no rounding through double.
  EXPECT_FALSE(isSubset(Json{{"n", 9007199254740993LL}}, Json{{"n", 9007199254740992.0}}));
  EXPECT_FALSE(isSubset(Json{{"n", 9007199254740993LL}}, Json{{"n", 9007199254740992LL}}));
  // a number is not its string
  EXPECT_FALSE(isSubset(Json{{"n", 1}}, Json{{"n", "1"}}));
  EXPECT_FALSE(isSubset(Json{{"b", true}}, Json{{"b", 1}}));
}

TEST(IsSubset, NullMatchesMissing) {
  EXPECT_TRUE(isSubset(Json{{"creationTimestamp", nullptr}}, Json::object()));
  EXPECT_TRUE(isSubset(Json{{"x", nullptr}}, Json{{"x", nullptr}}));
  EXPECT_FALSE(isSubset(Json{{"x", nullptr}}, Json{{"x", 1}}));
}

TEST(IsSubset, ArraysSameLengthPairwise) {
  EXPECT_TRUE(isSubset(Json{{"a", {{{"x", 1}}}}}, Json{{"a", {{{"x", 1}, {"y", 2}}}}}));
  EXPECT_FALSE(isSubset(Json{{"a", {1}}}, Json{{"a", {1, 2}}}));
  EXPECT_FALSE(isSubset(Json{{"a", {1, 2}}}, Json{{"a", {2, 1}}}));
  EXPECT_FALSE(isSubset(Json{{"a", Json::array()}}, Json{{"a", Json::object()}}));
  EXPECT_TRUE(isSubset(Json{{"a", Json::array()}}, Json{{"a", Json::array()}}));
}

TEST(DiffObjects, IdenticalApartFromServerFieldsIsEmpty) {
  Json l = live(2, "api:1");
  l["spec"]["template"]["spec"]["containers"][0].erase("imagePullPolicy");
  l["spec"].erase("strategy");
  l["metadata"]["annotations"].erase("deployment.kubernetes.io/revision");
  EXPECT_TRUE(diffObjects(l, deployment(2, "api:1")).empty());
}

TEST(DiffObjects, ScalarChangesAdditionsRemovalsSortedByPath) {
  Json next = deployment(3, "api:1");
  next["metadata"]["labels"]["tier"] = "web";
  next["metadata"]["labels"].erase("app");
  const auto changes = diffObjects(deployment(2, "api:1"), next);
  ASSERT_EQ(changes.size(), 3u);
  EXPECT_EQ(changes[0].path, ".metadata.labels.app");
  EXPECT_EQ(changes[0].before, Json("api"));
  EXPECT_FALSE(changes[0].after);
  EXPECT_EQ(changes[1].path, ".metadata.labels.tier");
  EXPECT_FALSE(changes[1].before);
  EXPECT_EQ(changes[1].after, Json("web"));
  EXPECT_EQ(changes[2].path, ".spec.replicas");
  EXPECT_EQ(changes[2].before, Json(2));
  EXPECT_EQ(changes[2].after, Json(3));
}

TEST(DiffObjects, NumbersByValueAndNullAsAbsent) {
  EXPECT_TRUE(diffObjects(Json{{"a", 1}}, Json{{"a", 1.0}}).empty());
  EXPECT_TRUE(diffObjects(Json{{"a", nullptr}}, Json::object()).empty());
  const auto c = diffObjects(Json{{"a", nullptr}}, Json{{"a", 2}});
  ASSERT_EQ(c.size(), 1u);
  EXPECT_FALSE(c[0].before);
  EXPECT_EQ(c[0].after, Json(2));
}

TEST(DiffObjects, NameKeyedArraysMatchByName) {
  Json l = deployment(2, "api:1");
  Json n = deployment(2, "api:2");
  // reorder and add a container: matched by name, not by index
  auto& cs = n["spec"]["template"]["spec"]["containers"];
  std::swap(cs[0], cs[1]);
  cs.push_back({{"name", "debug"}, {"image", "busybox"}});
  l["spec"]["template"]["spec"]["containers"].push_back({{"name", "old"}, {"image", "x"}});
  const auto changes = diffObjects(l, n);
  ASSERT_EQ(changes.size(), 3u);
  EXPECT_EQ(changes[0].path, ".spec.template.spec.containers[name=api].image");
  EXPECT_EQ(changes[0].before, Json("api:1"));
  EXPECT_EQ(changes[0].after, Json("api:2"));
  EXPECT_EQ(changes[1].path, ".spec.template.spec.containers[name=debug]");
  EXPECT_FALSE(changes[1].before);
  EXPECT_EQ(changes[1].after, (Json{{"name", "debug"}, {"image", "busybox"}}));
  EXPECT_EQ(changes[2].path, ".spec.template.spec.containers[name=old]");
  EXPECT_FALSE(changes[2].after);
}

TEST(DiffObjects, OtherArraysByIndexOrWhole) {
  const auto same = diffObjects(Json{{"args", {"a", "b"}}}, Json{{"args", {"a", "c"}}});
  ASSERT_EQ(same.size(), 1u);
  EXPECT_EQ(same[0].path, ".args[1]");
  EXPECT_EQ(same[0].before, Json("b"));
  EXPECT_EQ(same[0].after, Json("c"));

  const auto ports =
      diffObjects(Json{{"ports", {{{"port", 80}}}}}, Json{{"ports", {{{"port", 81}}}}});
  ASSERT_EQ(ports.size(), 1u);
  EXPECT_EQ(ports[0].path, ".ports[0].port");

  const auto grown = diffObjects(Json{{"args", {"a"}}}, Json{{"args", {"a", "b"}}});
  ASSERT_EQ(grown.size(), 1u);
  EXPECT_EQ(grown[0].path, ".args");
  EXPECT_EQ(grown[0].before, Json::array({"a"}));
  EXPECT_EQ(grown[0].after, Json::array({"a", "b"}));

  // Duplicate names: not name-keyed, compared by index.
  const Json dupA = {{"v", {{{"name", "x"}, {"n", 1}}, {{"name", "x"}, {"n", 2}}}}};
  const Json dupB = {{"v", {{{"name", "x"}, {"n", 1}}, {{"name", "x"}, {"n", 3}}}}};
  const auto dup = diffObjects(dupA, dupB);
  ASSERT_EQ(dup.size(), 1u);
  EXPECT_EQ(dup[0].path, ".v[1].n");
}

TEST(DiffObjects, TypeChangeIsOneChangeAndCreationIsOneAddition) {
  const auto t = diffObjects(Json{{"a", {{"b", 1}}}}, Json{{"a", "s"}});
  ASSERT_EQ(t.size(), 1u);
  EXPECT_EQ(t[0].path, ".a");
  const auto created = diffObjects(nullptr, deployment(1, "x"));
  ASSERT_EQ(created.size(), 1u);
  EXPECT_EQ(created[0].path, "");
  EXPECT_FALSE(created[0].before);
}

TEST(RenderDiff, OneLinePerChange) {
  Json before = deployment(1, "api:1");
  before["metadata"]["labels"]["team"] = "edge";
  Json next = deployment(3, "api:1");
  next["metadata"]["labels"] = {{"team", "edge"}};
  next["data"] = {{"x", "v"}};
  const ObjectRef ref = refOf(next);
  EXPECT_EQ(renderDiff(ref, diffObjects(before, next)),
            "  + .data: {\"x\":\"v\"}\n"
            "  - .metadata.labels.app\n"
            "  ~ .spec.replicas: 1 → 3\n");
  EXPECT_EQ(renderDiff(ref, {{".data.x", std::nullopt, Json("v")}}), "  + .data.x: \"v\"\n");
  EXPECT_EQ(renderDiff(ref, {}), "");
  // A label map left empty is normalized away: one removal of the whole map.
  Json noLabels = deployment(1, "api:1");
  noLabels["metadata"].erase("labels");
  EXPECT_EQ(renderDiff(ref, diffObjects(deployment(1, "api:1"), noLabels)),
            "  - .metadata.labels\n");
}

TEST(RenderDiff, LongValuesAreCutTo80Characters) {
  const std::string longText(200, 'a');
  const std::string line = renderDiff(ObjectRef{}, {{".x", std::nullopt, Json(longText)}});
  const std::string expected = "  + .x: \"" + std::string(78, 'a') + "…\n";
  EXPECT_EQ(line, expected);
  // Cut on characters, not bytes: a multi-byte character is never split.
  std::string accents;
  for (int i = 0; i < 100; ++i) accents += "é";
  const std::string cut = renderDiff(ObjectRef{}, {{".x", std::nullopt, Json(accents)}});
  std::string want = "  + .x: \"";
  for (int i = 0; i < 78; ++i) want += "é";
  EXPECT_EQ(cut, want + "…\n");
  // Exactly 80 characters: not cut.
  const std::string fits(78, 'b');
  EXPECT_EQ(renderDiff(ObjectRef{}, {{".x", std::nullopt, Json(fits)}}),
            "  + .x: \"" + fits + "\"\n");
}

TEST(RenderDiff, SecretValuesNeverAppear) {
  const std::string secret = "hunter2-s3cr3t";
  const std::string secretB64 = "aHVudGVyMi1zM2NyM3Q=";
  Json liveSecret = {{"apiVersion", "v1"},
                     {"kind", "Secret"},
                     {"metadata",
                      {{"name", "db"},
                       {"namespace", "app"},
                       {"annotations",
                        {{"kubectl.kubernetes.io/last-applied-configuration",
                          "{\"stringData\":{\"password\":\"" + secret + "\"}}"}}}}},
                     {"data", {{"password", "b2xk"}, {"user", "YWRtaW4="}}}};
  Json nextSecret = {{"apiVersion", "v1"},
                     {"kind", "Secret"},
                     {"metadata", {{"name", "db"}, {"namespace", "app"}}},
                     {"data", {{"password", secretB64}, {"token", secretB64}}},
                     {"stringData", {{"raw", secret}}}};
  const ObjectRef ref = refOf(nextSecret);
  const std::string out = renderDiff(ref, diffObjects(liveSecret, nextSecret));
  EXPECT_EQ(out,
            "  ~ .data.password: (sensitive) → (sensitive)\n"
            "  + .data.token: (sensitive)\n"
            "  - .data.user\n"
            "  + .stringData: (sensitive)\n");

  // Whole-object creation and hand-built changes above .data are scrubbed too.
  const std::string created = renderDiff(ref, diffObjects(nullptr, nextSecret));
  EXPECT_EQ(created.find(secret), std::string::npos) << created;
  EXPECT_EQ(created.find(secretB64), std::string::npos) << created;
  EXPECT_NE(created.find("(sensitive)"), std::string::npos) << created;
  const std::string annotations =
      renderDiff(ref, {{".metadata", liveSecret["metadata"], nextSecret["metadata"]},
                       {".metadata.annotations.kubectl.kubernetes.io/last-applied-configuration",
                        std::nullopt, Json("{\"data\":\"" + secret + "\"}")}});
  EXPECT_EQ(annotations.find(secret), std::string::npos) << annotations;

  // `redact` applies the same to any kind; .database is not .data.
  const std::string cm = renderDiff(
      ObjectRef{"v1", "ConfigMap", "app", "c"},
      {{".data.key", Json("old"), Json(secret)}, {".database", std::nullopt, Json("shown")}}, true);
  EXPECT_EQ(cm, "  ~ .data.key: (sensitive) → (sensitive)\n  + .database: \"shown\"\n");
  // Without redact, a ConfigMap shows its values.
  EXPECT_EQ(
      renderDiff(ObjectRef{"v1", "ConfigMap", "app", "c"}, {{".data.key", Json("a"), Json("b")}}),
      "  ~ .data.key: \"a\" → \"b\"\n");
}

}  // namespace
}  // namespace ca4::drivers::kube
