// parseEnvelope / toCanonicalJson against nlohmann::json::parse (the generic-DOM peer) and
// against raw simdjson walks (the floor), on the 21.7 KB / 2048-float sample envelope.
//
//   envelope_bench --benchmark_min_time=1
// Compare the "ns/doc" columns; bytes_per_second is over the input document.
#include <benchmark/benchmark.h>
#include <simdjson.h>

#include <nlohmann/json.hpp>

#include "ca4/common/envelope.h"
#include "ca4/common/testing/sample_envelope.h"

namespace {

using namespace ca4::envelope;

const std::string& doc() {
  static const std::string d = testing::sampleEnvelopeJson("evt-bench-0001");
  return d;
}
const std::string& smallDoc() {
  static const std::string d = testing::sampleSmallEnvelopeJson("evt-bench-0002");
  return d;
}

void setBytes(benchmark::State& state, std::size_t n) {
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * n));
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}

void BM_ParseEnvelope(benchmark::State& state) {
  const std::string& d = doc();
  for (auto _ : state) {
    ParseResult r = parseEnvelope(d);
    if (!r.ok()) state.SkipWithError("sample rejected");
    benchmark::DoNotOptimize(r);
  }
  setBytes(state, d.size());
}
BENCHMARK(BM_ParseEnvelope);

void BM_ParseEnvelopeSmall(benchmark::State& state) {
  const std::string& d = smallDoc();
  for (auto _ : state) {
    ParseResult r = parseEnvelope(d);
    benchmark::DoNotOptimize(r);
  }
  setBytes(state, d.size());
}
BENCHMARK(BM_ParseEnvelopeSmall);

void BM_ToCanonicalJson(benchmark::State& state) {
  const Envelope e = *parseEnvelope(doc()).envelope;
  std::size_t n = 0;
  for (auto _ : state) {
    std::string c = toCanonicalJson(e);
    n = c.size();
    benchmark::DoNotOptimize(c);
  }
  setBytes(state, n);
}
BENCHMARK(BM_ToCanonicalJson);

// What the processor does per record: validate + normalize + serialize for Kafka.
void BM_ParseAndCanonical(benchmark::State& state) {
  const std::string& d = doc();
  for (auto _ : state) {
    ParseResult r = parseEnvelope(d);
    std::string c = toCanonicalJson(*r.envelope);
    benchmark::DoNotOptimize(c);
  }
  setBytes(state, d.size());
}
BENCHMARK(BM_ParseAndCanonical);

// The peer: a generic DOM parse only (no validation, no normalization, no output).
void BM_NlohmannParse(benchmark::State& state) {
  const std::string& d = doc();
  for (auto _ : state) {
    nlohmann::json j = nlohmann::json::parse(d);
    benchmark::DoNotOptimize(j);
  }
  setBytes(state, d.size());
}
BENCHMARK(BM_NlohmannParse);

void BM_NlohmannParseAndDump(benchmark::State& state) {
  const std::string& d = doc();
  for (auto _ : state) {
    std::string out = nlohmann::json::parse(d).dump();
    benchmark::DoNotOptimize(out);
  }
  setBytes(state, d.size());
}
BENCHMARK(BM_NlohmannParseAndDump);

// The floor: simdjson on-demand summing the embedding, and a DOM parse (ondemand vs DOM choice).
void BM_SimdjsonOndemandWalk(benchmark::State& state) {
  const simdjson::padded_string p(doc());
  simdjson::ondemand::parser parser;
  for (auto _ : state) {
    auto d = parser.iterate(p);
    double sum = 0;
    for (auto v : d["extraction"]["embedding"].get_array()) sum += v.get_double().value_unsafe();
    benchmark::DoNotOptimize(sum);
  }
  setBytes(state, doc().size());
}
BENCHMARK(BM_SimdjsonOndemandWalk);

void BM_SimdjsonDomParse(benchmark::State& state) {
  const simdjson::padded_string p(doc());
  simdjson::dom::parser parser;
  for (auto _ : state) {
    simdjson::dom::element e;
    if (parser.parse(p).get(e)) state.SkipWithError("dom parse");
    benchmark::DoNotOptimize(e);
  }
  setBytes(state, doc().size());
}
BENCHMARK(BM_SimdjsonDomParse);

}  // namespace

BENCHMARK_MAIN();
