// The pure parts of the applier: the digest stored in state (Secret values left out), the
// inventory's JSON form, and plan bookkeeping. Planning and applying need a cluster and are
// covered by the integration tests.
#include <ca4/drivers/kube/applier.h>
#include <gtest/gtest.h>

namespace ca4::drivers::kube {
namespace {

Json configMap(const std::string& value) {
  return {{"apiVersion", "v1"},
          {"kind", "ConfigMap"},
          {"metadata", {{"name", "ca4-edge-config"}, {"namespace", "app"}}},
          {"data", {{"KAFKA_TOPIC", value}}}};
}

Json secret(const std::string& password, bool extraKey = false) {
  Json s = {{"apiVersion", "v1"},
            {"kind", "Secret"},
            {"metadata", {{"name", "ca4-mongo-credentials"}, {"namespace", "app"}}},
            {"type", "Opaque"},
            {"data", {{"uri", password}}}};
  if (extraKey) s["data"]["extra"] = "eA==";
  return s;
}

TEST(Digest, StableAndSensitiveToValues) {
  const auto a = digestOf(configMap("gpu-metadata"));
  EXPECT_EQ(a, digestOf(configMap("gpu-metadata")));
  EXPECT_EQ(a.size(), 64u);
  EXPECT_EQ(a.find_first_not_of("0123456789abcdef"), std::string::npos) << a;
  EXPECT_NE(a, digestOf(configMap("other-topic")));
  // Key order in the input does not matter (canonical JSON).
  Json reordered = Json::parse(R"({"data":{"KAFKA_TOPIC":"gpu-metadata"},"metadata":{"namespace":"app","name":"ca4-edge-config"},"kind":"ConfigMap","apiVersion":"v1"})");
  EXPECT_EQ(a, digestOf(reordered));
}

TEST(Digest, SecretValuesAreLeftOut) {
  const std::string value = "bW9uZ29kYjovL3VzZXI6aHVudGVyMkBkYg==";  // mongodb://user:hunter2@db
  const auto a = digestOf(secret(value));
  EXPECT_EQ(a, digestOf(secret("b3RoZXI=")));  // only a value changed
  EXPECT_NE(a, digestOf(secret(value, true)));  // a key was added
  EXPECT_EQ(a.find(value), std::string::npos);
  EXPECT_EQ(a.find("hunter2"), std::string::npos);

  // stringData values too; but metadata still counts.
  Json s1 = secret(value);
  s1["stringData"] = {{"token", "plain-SECRET-1"}};
  Json s2 = secret(value);
  s2["stringData"] = {{"token", "plain-SECRET-2"}};
  EXPECT_EQ(digestOf(s1), digestOf(s2));
  Json s3 = secret(value);
  s3["metadata"]["labels"] = {{"a", "b"}};
  EXPECT_NE(a, digestOf(s3));

  // A ConfigMap with the same shape is not redacted: its values count.
  Json cm1 = secret("x"), cm2 = secret("y");
  cm1["kind"] = cm2["kind"] = "ConfigMap";
  EXPECT_NE(digestOf(cm1), digestOf(cm2));
}

TEST(Inventory, RoundTrip) {
  const std::vector<InventoryEntry> inv = {
      {{"v1", "Namespace", "", "app"}, "d1"},
      {{"apps/v1", "Deployment", "app", "processor-api"}, "d2"},
      {{"v1", "Secret", "app", "ca4-mongo-credentials"}, ""},
  };
  const Json j = inventoryToJson(inv);
  ASSERT_TRUE(j.is_array());
  ASSERT_EQ(j.size(), 3u);
  EXPECT_EQ(j[1], (Json{{"apiVersion", "apps/v1"},
                        {"kind", "Deployment"},
                        {"namespace", "app"},
                        {"name", "processor-api"},
                        {"digest", "d2"}}));
  const auto back = inventoryFromJson(Json::parse(j.dump()));
  ASSERT_EQ(back.size(), inv.size());
  for (std::size_t i = 0; i < inv.size(); ++i) {
    EXPECT_EQ(back[i].ref, inv[i].ref) << i;
    EXPECT_EQ(back[i].digest, inv[i].digest) << i;
  }
  EXPECT_TRUE(inventoryToJson({}).is_array());
  EXPECT_TRUE(inventoryToJson({}).empty());
}

TEST(Inventory, BadEntriesAreSkipped) {
  const Json j = Json::parse(R"([
    {"apiVersion":"v1","kind":"ConfigMap","namespace":"app","name":"ok","digest":"d"},
    42,
    "ConfigMap/app/x",
    null,
    {"kind":"ConfigMap","name":"no-api-version"},
    {"apiVersion":"v1","kind":"ConfigMap","name":""},
    {"apiVersion":"v1","kind":"ConfigMap","namespace":7,"name":"bad-ns"},
    {"apiVersion":"v1","kind":"Namespace","name":"no-digest"},
    {"apiVersion":"v1","kind":"ConfigMap","namespace":"app","name":"bad-digest","digest":42}
  ])");
  const auto inv = inventoryFromJson(j);
  ASSERT_EQ(inv.size(), 3u);
  EXPECT_EQ(inv[0].ref.str(), "ConfigMap/app/ok");
  EXPECT_EQ(inv[0].digest, "d");
  EXPECT_EQ(inv[1].ref.str(), "Namespace/no-digest");
  EXPECT_EQ(inv[1].digest, "");
  EXPECT_EQ(inv[2].ref.str(), "ConfigMap/app/bad-digest");
  EXPECT_EQ(inv[2].digest, "");  // a non-string digest: the object is still known, its digest not

  EXPECT_TRUE(inventoryFromJson(Json()).empty());
  EXPECT_TRUE(inventoryFromJson(Json::object()).empty());
  EXPECT_TRUE(inventoryFromJson("x").empty());
}

TEST(Plan, ChangesCountsCreateUpdateDelete) {
  Plan p;
  EXPECT_EQ(p.changes(), 0);
  for (Action a : {Action::Create, Action::Update, Action::Unchanged, Action::Delete, Action::Keep,
                   Action::Unchanged, Action::Create}) {
    PlannedObject o;
    o.action = a;
    p.objects.push_back(std::move(o));
  }
  EXPECT_EQ(p.changes(), 4);
}

TEST(Plan, ActionNames) {
  EXPECT_EQ(toString(Action::Create), "create");
  EXPECT_EQ(toString(Action::Update), "update");
  EXPECT_EQ(toString(Action::Unchanged), "unchanged");
  EXPECT_EQ(toString(Action::Delete), "delete");
  EXPECT_EQ(toString(Action::Keep), "keep");
}

}  // namespace
}  // namespace ca4::drivers::kube
