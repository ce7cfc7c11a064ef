// One test (or one parameter row) per validation and normalization rule of SCHEMA.md.
#include <string>
#include <vector>

#include "test_util.h"

namespace ca4::envelope {
namespace {

using nlohmann::json;
using test::errorsOf;
using test::one;
using test::parseOk;
using test::sample;
using ::testing::ElementsAre;

TEST(Envelope, AcceptsTheRealisticSample) {
  const std::string doc = testing::sampleEnvelopeJson("evt-1");
  EXPECT_GT(doc.size(), 21000u);
  EXPECT_LT(doc.size(), 22500u);
  const Envelope e = parseOk(doc);
  EXPECT_EQ(e.schema_version, kSchemaVersion);
  EXPECT_EQ(e.event_id, "evt-1");
  EXPECT_EQ(e.source.producer, "colab-notebook");
  EXPECT_EQ(e.source.producer_version, "1.4.2");
  EXPECT_EQ(e.item.uri, "s3://ca4-datasets/images/2026/11/23/evt-1.jpg");
  EXPECT_EQ(e.item.sha256, testing::sampleSha256("evt-1"));
  EXPECT_EQ(e.item.kind, ItemKind::Image);
  EXPECT_EQ(e.item.width, 224);
  EXPECT_EQ(e.item.channels, 3);
  EXPECT_EQ(e.extraction.model.name, "resnet50");
  ASSERT_EQ(e.extraction.embedding.size(), 2048u);
  const json tree = json::parse(doc);
  for (std::size_t i = 0; i < 2048; ++i) {
    ASSERT_EQ(e.extraction.embedding[i], tree["extraction"]["embedding"][i].get<float>()) << i;
  }
  EXPECT_EQ(e.extraction.device.type, DeviceType::Gpu);
  EXPECT_EQ(e.extraction.device.name, "Tesla T4");
  EXPECT_EQ(e.extraction.device.memory_mb, 15360);
  EXPECT_EQ(e.timings.inference_ms, 11.7);
  EXPECT_EQ(e.produced_at_us, *parseRfc3339("2026-11-23T12:00:00.123456Z"));
  using Attr = std::pair<std::string, std::string>;
  EXPECT_THAT(e.attributes, ElementsAre(Attr{"dataset", "ca4-demo"}, Attr{"label", "n01440764"},
                                        Attr{"split", "train"}));
}

TEST(Envelope, AcceptsMinimalDocumentWithoutOptionals) {
  testing::SampleOptions o;
  o.dims = 1;
  o.optional_fields = false;
  const Envelope e = parseOk(testing::sampleEnvelopeJson("m", o));
  EXPECT_FALSE(e.item.width.has_value());
  EXPECT_FALSE(e.extraction.device.memory_mb.has_value());
  EXPECT_TRUE(e.attributes.empty());
  EXPECT_EQ(e.timings, Timings{});
}

TEST(Envelope, NullMeansAbsentForOptionalFields) {
  json j = sample();
  j["source"]["host"] = nullptr;
  j["item"]["width"] = nullptr;
  j["item"]["mime_type"] = nullptr;
  j["extraction"]["device"]["memory_mb"] = nullptr;
  j["timings"]["total_ms"] = nullptr;
  j["attributes"] = nullptr;
  const Envelope e = parseOk(j);
  EXPECT_EQ(e.source.host, "");
  EXPECT_FALSE(e.item.width);
  EXPECT_FALSE(e.timings.total_ms);
  EXPECT_TRUE(e.attributes.empty());
  j["timings"] = nullptr;
  EXPECT_EQ(parseOk(j).timings, Timings{});
}

// ---- required fields ----
class Required : public ::testing::TestWithParam<std::string> {};

TEST_P(Required, MissingFieldIsReportedWithItsPath) {
  json j = sample();
  const json::json_pointer ptr("/" + [](std::string p) {
    for (auto& c : p)
      if (c == '.') c = '/';
    return p;
  }(GetParam()));
  j.at(ptr.parent_pointer()).erase(ptr.back());
  EXPECT_EQ(errorsOf(j), one(GetParam(), "required"));
}

INSTANTIATE_TEST_SUITE_P(Envelope, Required,
                         ::testing::Values("schema_version", "event_id", "produced_at", "source",
                                           "item", "extraction", "source.producer", "item.uri",
                                           "item.sha256", "item.kind", "item.size_bytes",
                                           "extraction.model", "extraction.model.name",
                                           "extraction.embedding", "extraction.device",
                                           "extraction.device.type", "extraction.device.name"));

// ---- wrong types and bad values: (json pointer, replacement JSON, path, message) ----
struct BadValue {
  std::string pointer, value, path, message;
};
void PrintTo(const BadValue& b, std::ostream* os) { *os << b.pointer << "=" << b.value; }

class Bad : public ::testing::TestWithParam<BadValue> {};

TEST_P(Bad, IsReportedWithPathAndMessage) {
  const BadValue& b = GetParam();
  json j = sample();
  j[json::json_pointer(b.pointer)] = json::parse(b.value);
  EXPECT_EQ(errorsOf(j), one(b.path, b.message));
}

const std::string k129(129, 'a');
const std::string k1025 = "\"" + std::string(1025, 'x') + "\"";

INSTANTIATE_TEST_SUITE_P(
    Envelope, Bad,
    ::testing::Values(
        BadValue{"/schema_version", R"("v1")", "schema_version", R"(must be "ca4.metadata/v1")"},
        BadValue{"/schema_version", R"("1")", "schema_version", R"(must be "ca4.metadata/v1")"},
        BadValue{"/schema_version", R"("ca4.metadata/v2")", "schema_version",
                 R"(must be "ca4.metadata/v1")"},
        BadValue{"/schema_version", "1", "schema_version", "expected string"},
        BadValue{"/event_id", R"("a b")", "event_id",
                 "must be 1..128 characters of [A-Za-z0-9._:-]"},
        BadValue{"/event_id", R"("")", "event_id", "must be 1..128 characters of [A-Za-z0-9._:-]"},
        BadValue{"/event_id", R"("évt")", "event_id",
                 "must be 1..128 characters of [A-Za-z0-9._:-]"},
        BadValue{"/event_id", "\"" + k129 + "\"", "event_id",
                 "must be 1..128 characters of [A-Za-z0-9._:-]"},
        BadValue{"/event_id", "42", "event_id", "expected string"},
        BadValue{"/produced_at", R"("2026-02-30T00:00:00Z")", "produced_at",
                 "expected RFC 3339 date-time with offset, e.g. 2026-11-23T12:00:00Z"},
        BadValue{"/produced_at", R"("2026-11-23T12:00:00")", "produced_at",
                 "expected RFC 3339 date-time with offset, e.g. 2026-11-23T12:00:00Z"},
        BadValue{"/produced_at", "1763899200", "produced_at", "expected string"},
        BadValue{"/source", "[]", "source", "expected object"},
        BadValue{"/source/producer", R"("   ")", "source.producer", "must not be empty"},
        BadValue{"/source/producer", k1025, "source.producer", "longer than 1024 bytes"},
        BadValue{"/source/host", "true", "source.host", "expected string"},
        BadValue{"/item", "null", "item", "expected object"},
        BadValue{"/item/uri", R"("")", "item.uri", "must not be empty"},
        BadValue{"/item/uri", "\"" + std::string(2049, 'u') + "\"", "item.uri",
                 "longer than 2048 bytes"},
        BadValue{"/item/sha256", "\"" + std::string(63, 'a') + "\"", "item.sha256",
                 "expected 64 hex characters"},
        BadValue{"/item/sha256", "\"" + std::string(63, 'a') + "g\"", "item.sha256",
                 "expected 64 hex characters"},
        BadValue{"/item/kind", R"("picture")", "item.kind",
                 "must be one of image|video|audio|text|tabular|other"},
        BadValue{"/item/kind", "3", "item.kind", "expected string"},
        BadValue{"/item/size_bytes", "-1", "item.size_bytes", "must be >= 0"},
        BadValue{"/item/size_bytes", "1.5", "item.size_bytes", "expected integer"},
        BadValue{"/item/size_bytes", R"("12")", "item.size_bytes", "expected integer"},
        BadValue{"/item/size_bytes", "1e30", "item.size_bytes", "expected integer"},
        BadValue{"/item/width", "0", "item.width", "must be > 0"},
        BadValue{"/item/height", "2147483648", "item.height", "must be <= 2147483647"},
        BadValue{"/item/channels", "-3", "item.channels", "must be > 0"},
        BadValue{"/item/mime_type", "{}", "item.mime_type", "expected string"},
        BadValue{"/extraction", "\"x\"", "extraction", "expected object"},
        BadValue{"/extraction/model", "\"resnet50\"", "extraction.model", "expected object"},
        BadValue{"/extraction/model/name", "\"\"", "extraction.model.name", "must not be empty"},
        BadValue{"/extraction/model/version", "1", "extraction.model.version", "expected string"},
        BadValue{"/extraction/embedding", "[]", "extraction.embedding", "must not be empty"},
        BadValue{"/extraction/embedding", "{}", "extraction.embedding", "expected array"},
        BadValue{"/extraction/embedding", "[0.5,\"x\",1]", "extraction.embedding[1]",
                 "expected number"},
        BadValue{"/extraction/embedding", "[0.5,null]", "extraction.embedding[1]",
                 "expected number"},
        BadValue{"/extraction/embedding", "[0.5,[1]]", "extraction.embedding[1]",
                 "expected number"},
        BadValue{"/extraction/embedding", "[1e39]", "extraction.embedding[0]",
                 "number out of float range"},
        BadValue{"/extraction/embedding", "[-3.5e38]", "extraction.embedding[0]",
                 "number out of float range"},
        BadValue{"/extraction/embedding", "[340282356779733661637539395458142568448]",
                 "extraction.embedding[0]",
                 "number out of float range"},  // exactly FLT_MAX + half an ulp rounds to infinity
        BadValue{"/extraction/device", "[]", "extraction.device", "expected object"},
        BadValue{"/extraction/device/type", R"("npu")", "extraction.device.type",
                 "must be one of gpu|tpu|cpu"},
        BadValue{"/extraction/device/name", R"(" ")", "extraction.device.name",
                 "must not be empty"},
        BadValue{"/extraction/device/memory_mb", "0", "extraction.device.memory_mb", "must be > 0"},
        BadValue{"/extraction/device/memory_mb", "1.5", "extraction.device.memory_mb",
                 "expected integer"},
        BadValue{"/extraction/device/driver", "535", "extraction.device.driver", "expected string"},
        BadValue{"/timings", "[]", "timings", "expected object"},
        BadValue{"/timings/total_ms", "-1", "timings.total_ms", "must be >= 0"},
        BadValue{"/timings/inference_ms", "\"12\"", "timings.inference_ms", "expected number"},
        BadValue{"/attributes", "[]", "attributes", "expected object"},
        BadValue{"/attributes/split", "1", "attributes.split", "expected string"},
        BadValue{"/attributes/split", k1025, "attributes.split", "longer than 1024 bytes"},
        BadValue{"/attributes/" + k129, "\"v\"", "attributes[\"" + std::string(64, 'a') + "...\"]",
                 "key must be 1..128 bytes"},
        BadValue{"/attributes/a.b c", "2", "attributes[\"a.b c\"]", "expected string"}));

// ---- rules that need raw JSON text ----
std::string withField(std::string_view before, std::string_view insert) {
  std::string doc = testing::sampleEnvelopeJson("evt-1", 4);
  const auto at = doc.find(before);
  EXPECT_NE(at, std::string::npos);
  doc.insert(at, insert);
  return doc;
}

TEST(Envelope, NumbersBeyondDoubleAreRejectedWithTheirIndex) {
  json j = sample(4);
  std::string doc = j.dump();
  const auto at = doc.find("\"embedding\":[") + 13;
  doc.insert(at, "1e999,0.5,");
  EXPECT_EQ(errorsOf(doc), one("extraction.embedding[0]", "number out of range"));
}

TEST(Envelope, IntegersBeyondInt64AreOutOfRange) {
  std::string doc = sample(4).dump();
  const auto at = doc.find("\"size_bytes\":") + 13;
  doc.replace(at, doc.find(',', at) - at, "99999999999999999999");
  EXPECT_EQ(errorsOf(doc), one("item.size_bytes", "integer out of range"));
}

TEST(Envelope, NanAndInfinityTokensAreRejectedWithTheirIndex) {
  std::string doc = sample(4).dump();
  const auto at = doc.find("\"embedding\":[") + 13;
  doc.insert(at, "0.1,NaN,Infinity,-Infinity,");
  EXPECT_EQ(errorsOf(doc),
            (std::vector<FieldError>{
                {"extraction.embedding[1]",
                 "invalid JSON value \"NaN\" (NaN and Infinity are not allowed)"},
                {"extraction.embedding[2]",
                 "invalid JSON value \"Infinity\" (NaN and Infinity are not allowed)"},
                {"extraction.embedding[3]",
                 "invalid number \"-Infinity\" (NaN and Infinity are not allowed)"}}));
}

TEST(Envelope, EmbeddingLongerThanTheLimit) {
  json j = sample(4097);
  EXPECT_EQ(errorsOf(j), one("extraction.embedding", "expected at most 4096 elements"));
  EXPECT_TRUE(parseEnvelope(sample(4096).dump()).ok());
  Limits small;
  small.max_embedding = 3;
  EXPECT_EQ(errorsOf(sample(4), small), one("extraction.embedding", "expected at most 3 elements"));
}

TEST(Envelope, UnknownFieldsAreRejectedAtEveryLevel) {
  for (const std::string ptr :
       {"/foo", "/source/foo", "/item/foo", "/extraction/foo", "/extraction/model/foo",
        "/extraction/device/foo", "/timings/foo"}) {
    json j = sample();
    j[json::json_pointer(ptr)] = 1;
    std::string path = ptr.substr(1);
    for (auto& c : path)
      if (c == '/') c = '.';
    EXPECT_EQ(errorsOf(j), one(path, "unknown field")) << ptr;
  }
}

TEST(Envelope, UnknownFieldNamesThatAreNotIdentifiersAreQuoted) {
  EXPECT_EQ(errorsOf(withField("\"source\"", R"("we\"ird.key": 1, )")),
            one(R"(["we\"ird.key"])", "unknown field"));
}

TEST(Envelope, DuplicateKeysAreRejected) {
  EXPECT_EQ(errorsOf(withField("\"source\"", R"("event_id": "evt-2", )")),
            one("event_id", "duplicate field"));
  EXPECT_EQ(errorsOf(withField("\"producer_version\"", R"("producer": "x", )")),
            one("source.producer", "duplicate field"));
  // Escapes are resolved before comparing: "\u0065vent_id" is event_id.
  EXPECT_EQ(errorsOf(withField("\"source\"", R"("\u0065vent_id": "evt-2", )")),
            one("event_id", "duplicate field"));
  EXPECT_EQ(errorsOf(withField("\"dataset\"", R"("split": "x", )")),
            one("attributes.split", "duplicate field"));
}

TEST(Envelope, TooManyAttributes) {
  json j = sample();
  for (int i = 0; i < 40; ++i) j["attributes"]["k" + std::to_string(i)] = "v";
  EXPECT_EQ(errorsOf(j), one("attributes", "expected at most 32 entries"));
}

TEST(Envelope, AttributeKeyOf128BytesIsAccepted) {
  json j = sample();
  j["attributes"][std::string(128, 'k')] = "v";
  EXPECT_TRUE(parseEnvelope(j.dump()).ok());
}

TEST(Envelope, NestingDeeperThanTheLimitIsReported) {
  std::string deep = std::string(20, '[') + std::string(20, ']');
  EXPECT_EQ(
      errorsOf(withField("\"source\"", "\"x\": " + deep + ", ")),
      (std::vector<FieldError>{{"x", "unknown field"}, {"x", "nesting deeper than 8 levels"}}));
  // Depth 8 exactly (root + 7 arrays) is within the limit.
  deep = std::string(7, '[') + std::string(7, ']');
  EXPECT_EQ(errorsOf(withField("\"source\"", "\"x\": " + deep + ", ")), one("x", "unknown field"));
  Limits shallow;
  shallow.max_depth = 3;
  json j = sample();
  j["extraction"]["embedding"][0] = json::array({json::array()});
  EXPECT_EQ(errorsOf(j, shallow),
            (std::vector<FieldError>{{"extraction.embedding[0]", "expected number"},
                                     {"extraction.embedding[0]", "nesting deeper than 3 levels"}}));
}

TEST(Envelope, DocumentSizeLimit) {
  Limits l;
  l.max_document_bytes = 100;
  EXPECT_EQ(errorsOf(sample().dump(), l).at(0).path, "");
  EXPECT_THAT(errorsOf(sample().dump(), l).at(0).message,
              ::testing::HasSubstr("larger than the limit of 100"));
  EXPECT_TRUE(parseEnvelope(testing::sampleEnvelopeJson("a"), Limits{}).ok());
}

TEST(Envelope, MultipleErrorsAreReportedTogetherInDocumentOrder) {
  json j = sample();
  j["event_id"] = "bad id";
  j["item"]["sha256"] = "xyz";
  j["item"].erase("uri");
  j["extraction"]["embedding"][2] = "x";
  j["extraction"]["embedding"][5] = true;
  j["extraction"]["device"]["type"] = "fpga";
  j["bogus"] = 1;
  EXPECT_EQ(errorsOf(j), (std::vector<FieldError>{
                             {"bogus", "unknown field"},
                             {"event_id", "must be 1..128 characters of [A-Za-z0-9._:-]"},
                             {"extraction.device.type", "must be one of gpu|tpu|cpu"},
                             {"extraction.embedding[2]", "expected number"},
                             {"extraction.embedding[5]", "expected number"},
                             {"item.sha256", "expected 64 hex characters"},
                             {"item.uri", "required"},
                         }));  // nlohmann sorts keys, so this is the document order
}

TEST(Envelope, ErrorCountIsCapped) {
  json j = sample();
  j["extraction"]["embedding"] = json::array();
  for (int i = 0; i < 500; ++i) j["extraction"]["embedding"].push_back("x");
  const auto errors = errorsOf(j);
  ASSERT_EQ(errors.size(), 101u);
  EXPECT_EQ(errors[99], (FieldError{"extraction.embedding[99]", "expected number"}));
  EXPECT_EQ(errors[100], (FieldError{"", "too many errors; only the first 100 are reported"}));
}

// ---- normalization ----
TEST(Envelope, NormalizesStringsEnumsHashAndTime) {
  json j = sample();
  j["event_id"] = "  evt-1\t";
  j["source"]["producer"] = "\n colab-notebook  ";
  j["item"]["kind"] = " VIDEO ";
  j["item"]["sha256"] = "ABCDEF" + std::string(58, 'A');
  j["extraction"]["device"]["type"] = "GPU";
  j["produced_at"] = "2026-11-23T17:30:00.1234567+05:30";
  j["attributes"] = {{"zeta", " z "}, {"alpha", "a"}};
  const Envelope e = parseOk(j);
  EXPECT_EQ(e.event_id, "evt-1");
  EXPECT_EQ(e.source.producer, "colab-notebook");
  EXPECT_EQ(e.item.kind, ItemKind::Video);
  EXPECT_EQ(e.item.sha256, "abcdef" + std::string(58, 'a'));
  EXPECT_EQ(e.extraction.device.type, DeviceType::Gpu);
  EXPECT_EQ(formatRfc3339(e.produced_at_us), "2026-11-23T12:00:00.123456Z");
  using Attr = std::pair<std::string, std::string>;
  EXPECT_THAT(e.attributes, ElementsAre(Attr{"alpha", "a"}, Attr{"zeta", "z"}));
}

TEST(Envelope, EnumsAreCaseInsensitive) {
  const std::pair<const char*, ItemKind> kinds[] = {
      {"Image", ItemKind::Image}, {"video", ItemKind::Video},     {"AUDIO", ItemKind::Audio},
      {"tExt", ItemKind::Text},   {"Tabular", ItemKind::Tabular}, {"OTHER", ItemKind::Other}};
  for (const auto& [s, k] : kinds) {
    json j = sample();
    j["item"]["kind"] = s;
    EXPECT_EQ(parseOk(j).item.kind, k) << s;
  }
  const std::pair<const char*, DeviceType> types[] = {
      {"Gpu", DeviceType::Gpu}, {"TPU", DeviceType::Tpu}, {"cpu", DeviceType::Cpu}};
  for (const auto& [s, t] : types) {
    json j = sample();
    j["extraction"]["device"]["type"] = s;
    EXPECT_EQ(parseOk(j).extraction.device.type, t) << s;
  }
}

TEST(Envelope, WhitespaceOnlyOptionalStringsBecomeAbsent) {
  json j = sample();
  j["source"]["host"] = "   ";
  EXPECT_EQ(parseOk(j).source.host, "");
}

TEST(Envelope, LongestAllowedValuesAreAccepted) {
  json j = sample();
  j["event_id"] = std::string(128, 'e');
  j["item"]["uri"] = std::string(2048, 'u');
  j["source"]["producer"] = std::string(1024, 'p');
  EXPECT_TRUE(parseEnvelope(j.dump()).ok());
}

TEST(Envelope, NegativeZeroTimingIsNormalizedToZero) {
  json j = sample();
  j["timings"]["total_ms"] = -0.0;
  const Envelope e = parseOk(j);
  ASSERT_TRUE(e.timings.total_ms);
  EXPECT_FALSE(std::signbit(*e.timings.total_ms));
}

}  // namespace
}  // namespace ca4::envelope
