// Deterministic sample envelopes for tests and benchmarks (processor, worker, bench/).
// Header-only, standard library only, locale-independent. Not for production code.
//
//   sampleEnvelopeJson("evt-1")        -> a valid ~21.7 KB ca4.metadata/v1 document with a
//                                         2048-float ResNet50-like embedding
//   sampleSmallEnvelopeJson("evt-2")   -> a valid ~1 KB document (32 floats)
//   sampleBatchJson / sampleBatchNdjson -> n documents as a JSON array / NDJSON
//
// The same arguments always give the same bytes. Documents are valid but NOT canonical
// (they carry the formatting a Python producer would send), so tests of normalization can
// compare toCanonicalJson(parse(sample)) with the sample itself.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace ca4::envelope::testing {

struct SampleOptions {
  std::size_t dims = 2048;          // embedding length
  std::uint64_t seed = 0;           // 0: derived from the event_id
  bool optional_fields = true;      // timings, attributes, item dimensions, device memory
  std::string_view kind = "image";  // written as given (the parser canonicalizes case)
  std::string_view device_type = "gpu";
  std::string_view produced_at = "2026-11-23T12:00:00.123456Z";
};

namespace detail {

inline std::uint64_t fnv1a(std::string_view s) {
  std::uint64_t h = 1469598103934665603ULL;
  for (const char c : s) {
    h ^= static_cast<unsigned char>(c);
    h *= 1099511628211ULL;
  }
  return h;
}

// splitmix64: tiny, fast, good enough for test data.
struct Rng {
  std::uint64_t state;
  std::uint64_t next() {
    std::uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }
};

inline void appendUint(std::string& out, std::uint64_t v) {
  char buf[24];
  int n = 0;
  do {
    buf[n++] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v != 0);
  while (n > 0) out.push_back(buf[--n]);
}

// One post-ReLU-like activation as a Python producer prints it: 1/8 are "0.0", the others
// "d.dddddddd" in [0, 2).
inline void appendActivation(std::string& out, Rng& rng) {
  const std::uint64_t r = rng.next();
  if (r % 8 == 0) {
    out.append("0.0");
    return;
  }
  const std::uint64_t v = (r >> 16) % 200000000ULL;
  appendUint(out, v / 100000000ULL);
  out.push_back('.');
  const std::uint64_t frac = v % 100000000ULL;
  for (std::uint64_t p = 10000000ULL; p > 0; p /= 10)
    out.push_back(static_cast<char>('0' + frac / p % 10));
}

inline void appendJsonString(std::string& out, std::string_view s) {
  out.push_back('"');
  for (const char c : s) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  out.push_back('"');
}

}  // namespace detail

// 64 lower-case hex characters derived from `seed`.
inline std::string sampleSha256(std::string_view seed) {
  detail::Rng rng{detail::fnv1a(seed)};
  std::string out;
  constexpr std::string_view kHex = "0123456789abcdef";
  for (int i = 0; i < 4; ++i) {
    std::uint64_t x = rng.next();
    for (int j = 0; j < 16; ++j, x >>= 4) out.push_back(kHex[x & 0xf]);
  }
  return out;
}

inline std::string sampleEnvelopeJson(std::string_view event_id, const SampleOptions& o) {
  detail::Rng rng{o.seed != 0 ? o.seed : detail::fnv1a(event_id)};
  std::string out;
  out.reserve(1024 + o.dims * 11);
  out.append(R"({"schema_version": "ca4.metadata/v1", "event_id": )");
  detail::appendJsonString(out, event_id);
  out.append(R"(, "produced_at": )");
  detail::appendJsonString(out, o.produced_at);
  out.append(R"(, "source": {"producer": "colab-notebook", "producer_version": "1.4.2", )"
             R"("host": "colab-vm-7f3a2c", "run_id": "run-2026-11-23-0001"}, )");
  out.append(R"("item": {"uri": "s3://ca4-datasets/images/2026/11/23/)");
  out.append(event_id);
  out.append(R"(.jpg", "sha256": ")");
  out.append(sampleSha256(event_id));
  out.append(R"(", "kind": )");
  detail::appendJsonString(out, o.kind);
  out.append(R"(, "size_bytes": )");
  detail::appendUint(out, 20000 + rng.next() % 500000);
  if (o.optional_fields) {
    out.append(R"(, "width": 224, "height": 224, "channels": 3, "mime_type": "image/jpeg")");
  }
  out.append(
      R"(}, "extraction": {"model": {"name": "resnet50", "version": "torchvision-0.16/IMAGENET1K_V2"}, )"
      R"("embedding": [)");
  for (std::size_t i = 0; i < o.dims; ++i) {
    if (i != 0) out.push_back(',');
    detail::appendActivation(out, rng);
  }
  out.append(R"(], "device": {"type": )");
  detail::appendJsonString(out, o.device_type);
  out.append(R"(, "name": "Tesla T4")");
  if (o.optional_fields) out.append(R"(, "memory_mb": 15360, "driver": "535.104.05")");
  out.append("}}");
  if (o.optional_fields) {
    out.append(R"(, "timings": {"preprocess_ms": 3.25, "inference_ms": 11.7, "total_ms": 15.4}, )"
               R"("attributes": {"split": "train", "dataset": "ca4-demo", "label": "n01440764"})");
  }
  out.push_back('}');
  return out;
}

inline std::string sampleEnvelopeJson(std::string_view event_id, std::size_t dims = 2048) {
  SampleOptions o;
  o.dims = dims;
  return sampleEnvelopeJson(event_id, o);
}

inline std::string sampleSmallEnvelopeJson(std::string_view event_id) {
  return sampleEnvelopeJson(event_id, 32);
}

// n documents with event ids "<prefix>-0" .. "<prefix>-(n-1)".
inline std::string sampleBatchJson(std::size_t n, std::string_view prefix = "evt",
                                   std::size_t dims = 2048) {
  std::string out = "[";
  for (std::size_t i = 0; i < n; ++i) {
    if (i != 0) out.push_back(',');
    std::string id(prefix);
    id.push_back('-');
    detail::appendUint(id, i);
    out.append(sampleEnvelopeJson(id, dims));
  }
  out.push_back(']');
  return out;
}

inline std::string sampleBatchNdjson(std::size_t n, std::string_view prefix = "evt",
                                     std::size_t dims = 2048) {
  std::string out;
  for (std::size_t i = 0; i < n; ++i) {
    std::string id(prefix);
    id.push_back('-');
    detail::appendUint(id, i);
    out.append(sampleEnvelopeJson(id, dims));
    out.push_back('\n');
  }
  return out;
}

}  // namespace ca4::envelope::testing
