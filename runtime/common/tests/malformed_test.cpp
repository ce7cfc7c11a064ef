// The malformed-input corpus: every input gives errors (never a crash, never an exception), and
// syntax errors are reported once, at path "", with a byte offset where one is known.
#include <string>

#include "test_util.h"

namespace ca4::envelope {
namespace {

using test::errorsOf;
using test::one;
using ::testing::HasSubstr;

std::string small() { return testing::sampleEnvelopeJson("evt-1", 4); }

TEST(Malformed, EmptyAndWhitespaceBodies) {
  EXPECT_EQ(errorsOf(std::string()), one("", "empty document"));
  EXPECT_EQ(errorsOf(std::string(" \n\t ")), one("", "empty document"));
}

TEST(Malformed, TopLevelMustBeAnObject) {
  for (const char* doc : {"[1,2]", "[]", "\"envelope\"", "42", "null", "true"}) {
    EXPECT_EQ(errorsOf(std::string(doc)), one("", "expected a JSON object")) << doc;
  }
  const std::string batch = "[" + small() + "]";
  EXPECT_EQ(errorsOf(batch), one("", "expected a JSON object"));
}

TEST(Malformed, TrailingContent) {
  EXPECT_EQ(errorsOf(small() + " x"),
            one("", "unexpected content after the top-level object at byte " +
                        std::to_string(small().size() + 1)));
  EXPECT_EQ(errorsOf(small() + small()),
            one("", "unexpected content after the top-level object at byte " +
                        std::to_string(small().size())));
  EXPECT_TRUE(parseEnvelope(small() + " \n").ok());
}

TEST(Malformed, TruncatedAtEveryByteNeverCrashesAndEndsWithTheSyntaxError) {
  const std::string doc = small();
  for (std::size_t n = 0; n < doc.size(); ++n) {
    const auto errors = errorsOf(doc.substr(0, n));
    ASSERT_FALSE(errors.empty()) << n;
    EXPECT_EQ(errors.back().path, "") << n << ": " << doc.substr(0, n);
  }
}

TEST(Malformed, TruncatedDocumentKeepsTheFieldErrorsBeforeTheBreak) {
  std::string doc = small();
  doc.replace(doc.find("\"evt-1\""), 7, "\"bad id\"");
  doc.resize(doc.find("\"embedding\"") + 20);  // cut inside the embedding
  const auto errors = errorsOf(doc);
  EXPECT_EQ(errors, (std::vector<FieldError>{
                        {"event_id", "must be 1..128 characters of [A-Za-z0-9._:-]"},
                        {"", "unexpected end of document at byte " + std::to_string(doc.size()) +
                                 " (unclosed string, object or array)"}}));
}

TEST(Malformed, SyntaxErrorMidwayKeepsEarlierFieldErrors) {
  std::string doc = small();
  doc.replace(doc.find("\"evt-1\""), 7, "\"bad id\"");
  const auto at = doc.find("\"device\"");
  doc.insert(at, ",");  // ",," before "device"
  const auto errors = errorsOf(doc);
  ASSERT_EQ(errors.size(), 2u);
  EXPECT_EQ(errors[0], (FieldError{"event_id", "must be 1..128 characters of [A-Za-z0-9._:-]"}));
  EXPECT_EQ(errors[1].path, "");
  EXPECT_THAT(errors[1].message, HasSubstr("malformed JSON"));
  EXPECT_THAT(errors[1].message, HasSubstr(" at byte "));
}

TEST(Malformed, MissingCommaInsideTheEmbedding) {
  std::string doc = small();
  const auto at = doc.find("\"embedding\": [") + 14;
  doc.insert(at, "1 2,");
  const auto errors = errorsOf(doc);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].path, "");
  EXPECT_THAT(errors[0].message, HasSubstr("at byte " + std::to_string(at + 2)));
}

TEST(Malformed, MismatchedBrackets) {
  // Balanced count but wrong kind: found by simdjson while walking the unknown field.
  const auto errors = errorsOf(std::string(R"({"a":[1,2}})"));
  ASSERT_EQ(errors.size(), 2u);
  EXPECT_EQ(errors[0], (FieldError{"a", "unknown field"}));
  EXPECT_THAT(errors[1].message, HasSubstr("malformed JSON"));
  // Unbalanced: found by the structure scan.
  EXPECT_EQ(errorsOf(std::string(R"({"a":[1,2}])")),
            one("", "mismatched closing bracket at byte 9"));
}

TEST(Malformed, InvalidUtf8IsReportedWithItsOffset) {
  std::string doc = small();
  const auto at = doc.find("colab");
  doc[at + 1] = '\xff';
  EXPECT_EQ(errorsOf(doc), one("", "invalid UTF-8 at byte " + std::to_string(at + 1)));
  doc = small();
  doc.replace(at, 2, "\xed\xa0\x80");  // an encoded surrogate
  EXPECT_EQ(errorsOf(doc), one("", "invalid UTF-8 at byte " + std::to_string(at)));
  doc = small();
  doc.replace(at, 2, "\xc0\xaf");  // overlong '/'
  EXPECT_EQ(errorsOf(doc), one("", "invalid UTF-8 at byte " + std::to_string(at)));
}

TEST(Malformed, InvalidStringContents) {
  std::string doc = small();
  auto at = doc.find("colab");
  doc[at] = '\x01';
  EXPECT_EQ(errorsOf(doc),
            one("", "unescaped control character in a string at byte " + std::to_string(at)));
  doc = small();
  doc.replace(doc.find("colab"), 5, R"(\q)");
  EXPECT_EQ(errorsOf(doc), one("source.producer", "invalid string escape"));
  doc = small();
  doc.replace(doc.find("colab"), 5, R"(\ud800)");  // a lone surrogate escape
  EXPECT_EQ(errorsOf(doc), one("source.producer", "invalid string escape"));
  doc = small();
  doc.replace(doc.find("colab"), 5, R"(\u00e9\ud83d\ude00)");  // valid escapes decode
  EXPECT_EQ(parseEnvelope(doc).envelope->source.producer, "é😀-notebook");
}

TEST(Malformed, UnterminatedString) {
  const std::string doc = R"({"event_id": "abc)";
  EXPECT_EQ(errorsOf(doc),
            one("", "unexpected end of document at byte 17 (unclosed string, object or array)"));
}

TEST(Malformed, HugeArraysAreCutAtTheLimit) {
  std::string doc = small();
  std::string many;
  for (int i = 0; i < 60000; ++i) many += "1,";
  doc.insert(doc.find("\"embedding\": [") + 14, many);
  EXPECT_EQ(errorsOf(doc, Limits{.max_document_bytes = 1 << 20}),
            one("extraction.embedding", "expected at most 4096 elements"));
}

TEST(Malformed, DeepNestingDoesNotRecurse) {
  const std::string deep = std::string(100000, '[') + std::string(100000, ']');
  EXPECT_EQ(errorsOf(deep, Limits{.max_document_bytes = 1 << 20}),
            one("", "expected a JSON object"));
  const std::string deep_obj =
      R"({"x":)" + std::string(100000, '[') + std::string(100000, ']') + "}";
  const auto deep_errors = errorsOf(deep_obj, Limits{.max_document_bytes = 1 << 20});
  ASSERT_GE(deep_errors.size(), 2u);
  EXPECT_EQ(deep_errors[0], (FieldError{"x", "unknown field"}));
  EXPECT_EQ(deep_errors[1], (FieldError{"x", "nesting deeper than 8 levels"}));
  const std::string open_only = R"({"x":)" + std::string(100000, '[');
  const auto errors = errorsOf(open_only, Limits{.max_document_bytes = 1 << 20});
  ASSERT_FALSE(errors.empty());
  EXPECT_EQ(errors.back().path, "");
}

TEST(Malformed, WrongTypesEverywhere) {
  // Every field replaced by a value of the wrong type: one error per field, no syntax error.
  const std::string doc =
      R"({"schema_version":1,"event_id":[],"produced_at":{},"source":"s","item":1,"extraction":true,)"
      R"("timings":"t","attributes":[1]})";
  EXPECT_EQ(errorsOf(doc), (std::vector<FieldError>{{"schema_version", "expected string"},
                                                    {"event_id", "expected string"},
                                                    {"produced_at", "expected string"},
                                                    {"source", "expected object"},
                                                    {"item", "expected object"},
                                                    {"extraction", "expected object"},
                                                    {"timings", "expected object"},
                                                    {"attributes", "expected object"}}));
}

TEST(Malformed, InvalidLiterals) {
  std::string doc = small();
  doc.replace(doc.find("\"Tesla T4\""), 10, "tru");
  EXPECT_EQ(errorsOf(doc), one("extraction.device.name", "invalid JSON value \"tru\""));
}

TEST(Malformed, RandomMutationsNeverCrash) {
  const std::string base = small();
  testing::detail::Rng rng{1234};
  constexpr char kBytes[] = "{}[],:\"\\0123456789eE+-.ntfaNI \x01\xff\xc3";
  std::size_t accepted = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string doc = base;
    const int edits = 1 + static_cast<int>(rng.next() % 4);
    for (int k = 0; k < edits; ++k) {
      const std::size_t at = rng.next() % doc.size();
      switch (rng.next() % 3) {
        case 0:
          doc[at] = kBytes[rng.next() % (sizeof kBytes - 1)];
          break;
        case 1:
          doc.erase(at, 1 + rng.next() % 8);
          break;
        default:
          doc.insert(at, 1, kBytes[rng.next() % (sizeof kBytes - 1)]);
          break;
      }
      if (doc.empty()) doc = "{";
    }
    const ParseResult r = parseEnvelope(doc);
    ASSERT_EQ(r.ok(), r.errors.empty());
    if (r.ok()) {
      ++accepted;
      const std::string c = toCanonicalJson(*r.envelope);
      const ParseResult again = parseEnvelope(c);
      ASSERT_TRUE(again.ok()) << doc;
      ASSERT_EQ(toCanonicalJson(*again.envelope), c) << doc;
    }
  }
  EXPECT_GT(accepted, 0u);
}

}  // namespace
}  // namespace ca4::envelope
