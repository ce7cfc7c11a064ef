#include <ca4/worker/document.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <set>

namespace ca4::worker {
namespace {

Enriched sample(bool optional_fields) {
  envelope::Envelope env;
  env.event_id = "evt-42";
  env.produced_at_us = 1'795'435'200'123'456;  // 2026-11-23T12:00:00.123456Z
  env.source.producer = "colab-notebook";
  env.item.uri = "s3://bucket/a.jpg";
  env.item.sha256 = std::string(64, 'a');
  env.item.kind = envelope::ItemKind::Image;
  env.item.size_bytes = 123456;
  env.extraction.model.name = "resnet50";
  env.extraction.device.type = envelope::DeviceType::Gpu;
  env.extraction.device.name = "Tesla T4";
  env.extraction.embedding = {1, 2, 2};
  if (optional_fields) {
    env.source.producer_version = "1.4.2";
    env.item.width = 224;
    env.item.height = 224;
    env.item.channels = 3;
    env.item.mime_type = "image/jpeg";
    env.extraction.model.version = "v2";
    env.extraction.device.memory_mb = 15360;
    env.extraction.device.driver = "535";
    env.timings.inference_ms = 11.5;
    env.attributes = {{"dataset", "demo"}, {"split", "train"}};
  }
  return transform(std::move(env), Lineage{"gpu-metadata", 3, 77, 1'795'435'200'200},
                   1'795'435'200'123'456 + 5'000);
}

bson_iter_t find(const bson_t* doc, const char* dotted) {
  bson_iter_t it, out;
  EXPECT_TRUE(bson_iter_init(&it, doc));
  EXPECT_TRUE(bson_iter_find_descendant(&it, dotted, &out)) << dotted;
  return out;
}

TEST(ToBson, FieldTypes) {
  const auto e = sample(true);
  const BsonPtr doc = toBson(e);
  auto it = find(doc.get(), "_id");
  ASSERT_TRUE(BSON_ITER_HOLDS_UTF8(&it));
  EXPECT_STREQ(bson_iter_utf8(&it, nullptr), "evt-42");
  it = find(doc.get(), "produced_at");
  ASSERT_TRUE(BSON_ITER_HOLDS_DATE_TIME(&it));
  EXPECT_EQ(bson_iter_date_time(&it), 1'795'435'200'123);
  it = find(doc.get(), "produced_at_us");
  ASSERT_TRUE(BSON_ITER_HOLDS_INT64(&it));
  EXPECT_EQ(bson_iter_int64(&it), 1'795'435'200'123'456);
  it = find(doc.get(), "item.size_bytes");
  EXPECT_TRUE(BSON_ITER_HOLDS_INT64(&it));
  it = find(doc.get(), "item.width");
  ASSERT_TRUE(BSON_ITER_HOLDS_INT32(&it));
  EXPECT_EQ(bson_iter_int32(&it), 224);
  it = find(doc.get(), "item.kind");
  EXPECT_STREQ(bson_iter_utf8(&it, nullptr), "image");
  it = find(doc.get(), "extraction.device.class");
  EXPECT_STREQ(bson_iter_utf8(&it, nullptr), "datacenter-gpu");
  it = find(doc.get(), "extraction.device.memory_mb");
  EXPECT_TRUE(BSON_ITER_HOLDS_INT64(&it));
  it = find(doc.get(), "extraction.embedding_stats.dims");
  ASSERT_TRUE(BSON_ITER_HOLDS_INT32(&it));
  EXPECT_EQ(bson_iter_int32(&it), 3);
  it = find(doc.get(), "extraction.embedding_stats.l2_norm");
  ASSERT_TRUE(BSON_ITER_HOLDS_DOUBLE(&it));
  EXPECT_DOUBLE_EQ(bson_iter_double(&it), 3.0);
  it = find(doc.get(), "lineage.partition");
  EXPECT_TRUE(BSON_ITER_HOLDS_INT32(&it));
  it = find(doc.get(), "lineage.offset");
  ASSERT_TRUE(BSON_ITER_HOLDS_INT64(&it));
  EXPECT_EQ(bson_iter_int64(&it), 77);
  it = find(doc.get(), "lineage.kafka_timestamp");
  ASSERT_TRUE(BSON_ITER_HOLDS_DATE_TIME(&it));
  EXPECT_EQ(bson_iter_date_time(&it), 1'795'435'200'200);
  it = find(doc.get(), "processed_at");
  EXPECT_TRUE(BSON_ITER_HOLDS_DATE_TIME(&it));
  it = find(doc.get(), "ingest_latency_us");
  ASSERT_TRUE(BSON_ITER_HOLDS_INT64(&it));
  EXPECT_EQ(bson_iter_int64(&it), 5'000);
  it = find(doc.get(), "attributes.split");
  EXPECT_STREQ(bson_iter_utf8(&it, nullptr), "train");
  it = find(doc.get(), "timings.inference_ms");
  EXPECT_TRUE(BSON_ITER_HOLDS_DOUBLE(&it));
}

TEST(ToBson, EmbeddingIsANormalizedDoubleArray) {
  const BsonPtr doc = toBson(sample(false));
  auto it = find(doc.get(), "extraction.embedding");
  ASSERT_TRUE(BSON_ITER_HOLDS_ARRAY(&it));
  bson_iter_t arr;
  ASSERT_TRUE(bson_iter_recurse(&it, &arr));
  std::vector<double> got;
  std::vector<std::string> keys;
  while (bson_iter_next(&arr)) {
    ASSERT_TRUE(BSON_ITER_HOLDS_DOUBLE(&arr));
    keys.emplace_back(bson_iter_key(&arr));
    got.push_back(bson_iter_double(&arr));
  }
  EXPECT_EQ(keys, (std::vector<std::string>{"0", "1", "2"}));
  ASSERT_EQ(got.size(), 3u);
  EXPECT_DOUBLE_EQ(got[0], 1.0 / 3);
  EXPECT_DOUBLE_EQ(got[1], 2.0 / 3);
}

TEST(ToBson, OptionalFieldsAreOmittedNotNull) {
  const BsonPtr doc = toBson(sample(false));
  bson_iter_t it, out;
  for (const char* path : {"item.width", "item.mime_type", "source.producer_version", "timings",
                           "extraction.device.memory_mb", "extraction.model.version"}) {
    ASSERT_TRUE(bson_iter_init(&it, doc.get()));
    EXPECT_FALSE(bson_iter_find_descendant(&it, path, &out)) << path;
  }
  auto a = find(doc.get(), "attributes");
  EXPECT_TRUE(BSON_ITER_HOLDS_DOCUMENT(&a)) << "attributes is always present (maybe empty)";
  EXPECT_TRUE(bson_validate(doc.get(), BSON_VALIDATE_UTF8, nullptr));
}

void keyPaths(const nlohmann::json& j, const std::string& prefix, std::set<std::string>& out) {
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string p = prefix.empty() ? it.key() : prefix + "." + it.key();
    out.insert(p);
    if (it->is_object()) keyPaths(*it, p, out);
  }
}

TEST(ToJson, HasExactlyTheBsonShape) {
  for (bool optional : {true, false}) {
    const auto e = sample(optional);
    const BsonPtr doc = toBson(e);
    char* relaxed = bson_as_relaxed_extended_json(doc.get(), nullptr);
    auto from_bson = nlohmann::json::parse(relaxed);
    bson_free(relaxed);
    const auto from_json = nlohmann::json::parse(toJson(e));
    std::set<std::string> a, b;
    keyPaths(from_bson, "", a);
    keyPaths(from_json, "", b);
    // relaxed extended JSON spells dates as {"$date": …}
    std::erase_if(a, [](const std::string& k) { return k.ends_with(".$date"); });
    EXPECT_EQ(a, b);
    EXPECT_EQ(from_json["produced_at"], "2026-11-23T12:00:00.123456Z");
    EXPECT_EQ(from_json["extraction"]["embedding"].size(), 3u);
    EXPECT_EQ(from_json["lineage"]["offset"], 77);
  }
}

}  // namespace
}  // namespace ca4::worker
