// The worker's transform: a PURE function from one parsed envelope plus its Kafka lineage and
// the processing time to the document that is stored (and archived). No I/O, no clock: the
// caller passes `processed_at_us`, so the same inputs always give the same output.
//
// Fields (see README.md "The transform" for the stored shape):
//  - embedding      the L2-normalized vector (v / ||v||₂), float32 → double. A zero vector
//                   stays zero (||v|| = 0 cannot be normalized; `stats.l2_norm` says so).
//  - stats          over the ORIGINAL vector: dims, l2 norm, mean, population std, min, max
//                   (accumulated in double).
//  - device_class   derived from extraction.device: "tpu" | "datacenter-gpu" | "consumer-gpu" |
//                   "gpu" (a GPU we do not recognize) | "cpu". See deviceClass().
//  - lineage        topic, partition, offset, Kafka record timestamp (ms, if any).
//  - processed_at_us, ingest_latency_us = processed_at_us − produced_at_us (may be negative
//                   when clocks are skewed; stored as is, never clamped).
//  - the envelope itself (already normalized by parseEnvelope).
#pragma once

#include <ca4/common/envelope.h>

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace ca4::worker {

enum class DeviceClass { Tpu, DatacenterGpu, ConsumerGpu, Gpu, Cpu };
std::string_view toString(DeviceClass c);

// Rules, first match wins:
//   type == tpu, or the name contains the token "TPU"                → Tpu
//   type == cpu                                                      → Cpu
//   a name token is a data-center part (A100 H100 H200 V100 T4 L4 L40 L40S P100 P40 P4 K80
//   A10 A10G A30 A40 or starts with "MI" + digits, e.g. MI250X)     → DatacenterGpu
//   a name token is RTX, GTX, GEFORCE, TITAN or RADEON               → ConsumerGpu
//   otherwise                                                        → Gpu
// Tokens are the upper-cased runs of [A-Za-z0-9] in the name ("NVIDIA A100-SXM4-40GB" →
// NVIDIA, A100, SXM4, 40GB), so "RTX 4090" never matches "T4".
DeviceClass deviceClass(envelope::DeviceType type, std::string_view name);

struct EmbeddingStats {
  std::uint32_t dims = 0;
  double l2_norm = 0, mean = 0, std = 0, min = 0, max = 0;
};

// Stats of `v` (all zeros for an empty vector).
EmbeddingStats embeddingStats(std::span<const float> v);
// v / ||v||₂ computed in double; a zero (or empty) vector is returned as zeros.
std::vector<double> l2Normalize(std::span<const float> v);

struct Lineage {
  std::string topic;
  std::int32_t partition = 0;
  std::int64_t offset = 0;
  std::optional<std::int64_t> kafka_timestamp_ms;  // absent when the broker gave none
};

struct Enriched {
  envelope::Envelope envelope;      // normalized, as parsed; embedding moved out (see below)
  std::vector<double> embedding;    // L2-normalized
  EmbeddingStats stats;
  DeviceClass device_class = DeviceClass::Cpu;
  Lineage lineage;
  std::int64_t processed_at_us = 0;
  std::int64_t ingest_latency_us = 0;
};

// Consumes `env` (its embedding vector is released after use: the stored document keeps only
// the normalized one).
Enriched transform(envelope::Envelope env, Lineage lineage, std::int64_t processed_at_us);

}  // namespace ca4::worker
