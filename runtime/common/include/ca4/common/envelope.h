// The CA4 metadata envelope, version 1: one GPU/TPU extraction result.
//
// Contract (see runtime/common/SCHEMA.md and runtime/processor/openapi.yaml):
//  - parseEnvelope() validates and normalizes in one pass over the bytes (simdjson on-demand);
//    it never throws, and on failure returns *every* problem it found, each with a JSON path
//    such as `extraction.embedding[17]`.
//  - A returned Envelope is normalized: trimmed strings, lower-case enums, UTC times.
//  - toCanonicalJson(parseEnvelope(x)) is a fixed point: parsing the canonical form yields the
//    same Envelope and the same canonical bytes. The processor publishes the canonical form;
//    the worker parses it again with the same function.
// Thread-safety: all functions are pure and re-entrant.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ca4::envelope {

inline constexpr std::string_view kSchemaVersion = "ca4.metadata/v1";
inline constexpr std::size_t kMaxEventIdBytes = 128;       // event_id: 1..128 of [A-Za-z0-9._:-]
inline constexpr std::size_t kMaxAttributeKeyBytes = 128;  // attributes keys: 1..128 bytes

enum class ItemKind { Image, Video, Audio, Text, Tabular, Other };
enum class DeviceType { Gpu, Tpu, Cpu };

struct Source {
  std::string producer;          // required, e.g. "colab-notebook", "ca4-producer"
  std::string producer_version;  // optional ("" when absent)
  std::string host;              // optional
  std::string run_id;            // optional
  bool operator==(const Source&) const = default;
};

struct Item {
  std::string uri;     // required, <= 2048 bytes
  std::string sha256;  // required, 64 hex chars, normalized to lower case
  ItemKind kind = ItemKind::Other;
  std::int64_t size_bytes = 0;  // required, >= 0
  std::optional<std::int32_t> width, height, channels;  // pixels / channels, > 0 when present
  std::string mime_type;                                // optional
  bool operator==(const Item&) const = default;
};

struct Model {
  std::string name;     // required, e.g. "resnet50"
  std::string version;  // optional
  bool operator==(const Model&) const = default;
};

struct Device {
  DeviceType type = DeviceType::Cpu;
  std::string name;                      // required, e.g. "Tesla T4"
  std::optional<std::int64_t> memory_mb;  // > 0 when present
  std::string driver;                    // optional, e.g. "535.104.05"
  bool operator==(const Device&) const = default;
};

struct Extraction {
  Model model;
  std::vector<float> embedding;  // 1..limits.max_embedding finite values (ResNet50: 2048)
  Device device;
  bool operator==(const Extraction&) const = default;
};

struct Timings {  // all optional, milliseconds, finite and >= 0
  std::optional<double> preprocess_ms, inference_ms, total_ms;
  bool operator==(const Timings&) const = default;
};

struct Envelope {
  std::string schema_version{kSchemaVersion};
  std::string event_id;  // idempotency key: 1..128 chars of [A-Za-z0-9._:-]
  Source source;
  Item item;
  Extraction extraction;
  Timings timings;
  std::int64_t produced_at_us = 0;  // producer's timestamp, UTC microseconds since epoch
  std::vector<std::pair<std::string, std::string>> attributes;  // free-form, sorted by key
  // Member-wise; floats compare by value (so -0.0f == 0.0f).
  bool operator==(const Envelope&) const = default;
};

struct Limits {
  std::size_t max_document_bytes = 256 * 1024;
  std::size_t max_embedding = 4096;
  std::size_t max_string = 1024;  // generic string fields
  std::size_t max_uri = 2048;
  std::size_t max_attributes = 32;
  std::size_t max_depth = 8;  // nesting deeper than the schema's own is rejected early
  // Added: parsing stops after this many errors and a last "" error says so, which bounds the
  // size of a 400 body for hostile input (e.g. 64k bad array elements).
  std::size_t max_errors = 100;
};

struct FieldError {
  std::string path;     // "" for the document itself, else e.g. "item.sha256"
  std::string message;  // e.g. "expected number"
  bool operator==(const FieldError&) const = default;
};

struct ParseResult {
  std::optional<Envelope> envelope;  // set iff errors is empty
  std::vector<FieldError> errors;
  bool ok() const { return envelope.has_value(); }
};

// `json` need not be padded; the parser copies into a padded buffer when needed.
ParseResult parseEnvelope(std::string_view json, const Limits& limits = {});

// Compact, deterministic JSON (fixed key order, shortest round-trip floats, RFC 3339 UTC
// time with microseconds: "2026-11-23T12:00:00.000000Z").
std::string toCanonicalJson(const Envelope& e);

std::string_view toString(ItemKind k);
std::string_view toString(DeviceType t);
// Formats UTC microseconds as "YYYY-MM-DDTHH:MM:SS.ffffffZ".
std::string formatRfc3339(std::int64_t micros);
// Parses RFC 3339 (any offset, optional fraction) into UTC microseconds.
std::optional<std::int64_t> parseRfc3339(std::string_view s);

}  // namespace ca4::envelope
