#include "ca4/worker/transform.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <limits>

namespace ca4::worker {

std::string_view toString(DeviceClass c) {
  switch (c) {
    case DeviceClass::Tpu: return "tpu";
    case DeviceClass::DatacenterGpu: return "datacenter-gpu";
    case DeviceClass::ConsumerGpu: return "consumer-gpu";
    case DeviceClass::Gpu: return "gpu";
    case DeviceClass::Cpu: return "cpu";
  }
  return "cpu";
}

namespace {

constexpr std::array<std::string_view, 19> kDatacenterParts = {
    "A100", "H100", "H200", "V100", "T4",  "L4",  "L40", "L40S", "P100", "P40",
    "P4",   "K80",  "A10",  "A10G", "A30", "A40", "B100", "B200", "GH200"};
constexpr std::array<std::string_view, 5> kConsumerMarks = {"RTX", "GTX", "GEFORCE", "TITAN",
                                                            "RADEON"};

template <class F>
void forEachToken(std::string_view name, F&& f) {
  std::string token;
  auto flush = [&] {
    if (!token.empty()) f(std::string_view(token));
    token.clear();
  };
  for (char c : name) {
    if (std::isalnum(static_cast<unsigned char>(c))) {
      token += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    } else {
      flush();
    }
  }
  flush();
}

bool isAmdInstinct(std::string_view t) {  // MI50, MI100, MI250X, MI300A …
  return t.size() > 2 && t.substr(0, 2) == "MI" && std::isdigit(static_cast<unsigned char>(t[2]));
}

}  // namespace

DeviceClass deviceClass(envelope::DeviceType type, std::string_view name) {
  bool tpu = type == envelope::DeviceType::Tpu, datacenter = false, consumer = false;
  forEachToken(name, [&](std::string_view t) {
    if (t == "TPU" || (t.size() > 3 && t.substr(0, 3) == "TPU")) tpu = true;  // TPU, TPUV4
    if (std::find(kDatacenterParts.begin(), kDatacenterParts.end(), t) != kDatacenterParts.end() ||
        isAmdInstinct(t))
      datacenter = true;
    if (std::find(kConsumerMarks.begin(), kConsumerMarks.end(), t) != kConsumerMarks.end())
      consumer = true;
  });
  if (tpu) return DeviceClass::Tpu;
  if (type == envelope::DeviceType::Cpu) return DeviceClass::Cpu;
  if (datacenter) return DeviceClass::DatacenterGpu;
  if (consumer) return DeviceClass::ConsumerGpu;
  return DeviceClass::Gpu;
}

EmbeddingStats embeddingStats(std::span<const float> v) {
  EmbeddingStats s;
  s.dims = static_cast<std::uint32_t>(v.size());
  if (v.empty()) return s;
  double sum = 0, sq = 0;
  double mn = std::numeric_limits<double>::infinity(), mx = -mn;
  for (float f : v) {
    const double x = f;
    sum += x;
    sq += x * x;
    mn = std::min(mn, x);
    mx = std::max(mx, x);
  }
  const double n = static_cast<double>(v.size());
  s.l2_norm = std::sqrt(sq);
  s.mean = sum / n;
  // Two-pass variance: numerically stable for vectors whose mean is large relative to spread.
  double var = 0;
  for (float f : v) {
    const double d = static_cast<double>(f) - s.mean;
    var += d * d;
  }
  s.std = std::sqrt(var / n);
  s.min = mn;
  s.max = mx;
  return s;
}

std::vector<double> l2Normalize(std::span<const float> v) {
  double sq = 0;
  for (float f : v) sq += static_cast<double>(f) * f;
  std::vector<double> out(v.size(), 0.0);
  if (sq == 0) return out;
  const double inv = 1.0 / std::sqrt(sq);
  for (std::size_t i = 0; i < v.size(); ++i) out[i] = static_cast<double>(v[i]) * inv;
  return out;
}

Enriched transform(envelope::Envelope env, Lineage lineage, std::int64_t processed_at_us) {
  Enriched e;
  const auto& emb = env.extraction.embedding;
  e.stats = embeddingStats(emb);
  e.embedding = l2Normalize(emb);
  e.device_class = deviceClass(env.extraction.device.type, env.extraction.device.name);
  e.lineage = std::move(lineage);
  e.processed_at_us = processed_at_us;
  e.ingest_latency_us = processed_at_us - env.produced_at_us;
  env.extraction.embedding.clear();
  env.extraction.embedding.shrink_to_fit();
  e.envelope = std::move(env);
  return e;
}

}  // namespace ca4::worker
