#include <ca4/worker/transform.h>

#include <gtest/gtest.h>

#include <cmath>

namespace ca4::worker {
namespace {

using envelope::DeviceType;

TEST(L2Normalize, DividesByTheEuclideanNorm) {
  const std::vector<float> v = {3, 4};
  const auto n = l2Normalize(v);
  ASSERT_EQ(n.size(), 2u);
  EXPECT_DOUBLE_EQ(n[0], 0.6);
  EXPECT_DOUBLE_EQ(n[1], 0.8);
}

TEST(L2Normalize, ResultHasUnitNorm) {
  std::vector<float> v(2048);
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = static_cast<float>(std::sin(i * 0.37) * 3.0 + 0.1);
  const auto n = l2Normalize(v);
  double sq = 0;
  for (double x : n) sq += x * x;
  EXPECT_NEAR(std::sqrt(sq), 1.0, 1e-12);
}

TEST(L2Normalize, ZeroAndEmptyVectorsStayZero) {
  const std::vector<float> zero(4, 0.0f);
  for (double x : l2Normalize(zero)) EXPECT_EQ(x, 0.0);
  EXPECT_TRUE(l2Normalize(std::vector<float>{}).empty());
}

TEST(EmbeddingStats, OverTheOriginalVector) {
  const std::vector<float> v = {1, 2, 3, 4};
  const auto s = embeddingStats(v);
  EXPECT_EQ(s.dims, 4u);
  EXPECT_DOUBLE_EQ(s.l2_norm, std::sqrt(30.0));
  EXPECT_DOUBLE_EQ(s.mean, 2.5);
  EXPECT_DOUBLE_EQ(s.std, std::sqrt(1.25));  // population std
  EXPECT_DOUBLE_EQ(s.min, 1);
  EXPECT_DOUBLE_EQ(s.max, 4);
}

TEST(EmbeddingStats, NegativeValuesAndSingleElement) {
  const std::vector<float> v = {-2.5f};
  const auto s = embeddingStats(v);
  EXPECT_EQ(s.dims, 1u);
  EXPECT_DOUBLE_EQ(s.l2_norm, 2.5);
  EXPECT_DOUBLE_EQ(s.mean, -2.5);
  EXPECT_DOUBLE_EQ(s.std, 0);
  EXPECT_DOUBLE_EQ(s.min, -2.5);
  EXPECT_DOUBLE_EQ(s.max, -2.5);
  const auto e = embeddingStats(std::vector<float>{});
  EXPECT_EQ(e.dims, 0u);
  EXPECT_EQ(e.l2_norm, 0);
}

struct DeviceCase {
  DeviceType type;
  const char* name;
  DeviceClass expected;
};

class DeviceClassTest : public ::testing::TestWithParam<DeviceCase> {};

TEST_P(DeviceClassTest, Classifies) {
  const auto& c = GetParam();
  EXPECT_EQ(toString(deviceClass(c.type, c.name)), toString(c.expected)) << c.name;
}

INSTANTIATE_TEST_SUITE_P(
    Table, DeviceClassTest,
    ::testing::Values(DeviceCase{DeviceType::Gpu, "Tesla T4", DeviceClass::DatacenterGpu},
                      DeviceCase{DeviceType::Gpu, "NVIDIA A100-SXM4-40GB", DeviceClass::DatacenterGpu},
                      DeviceCase{DeviceType::Gpu, "NVIDIA H100 80GB HBM3", DeviceClass::DatacenterGpu},
                      DeviceCase{DeviceType::Gpu, "Tesla V100-SXM2-16GB", DeviceClass::DatacenterGpu},
                      DeviceCase{DeviceType::Gpu, "NVIDIA L4", DeviceClass::DatacenterGpu},
                      DeviceCase{DeviceType::Gpu, "Tesla P100-PCIE-16GB", DeviceClass::DatacenterGpu},
                      DeviceCase{DeviceType::Gpu, "nvidia a10g", DeviceClass::DatacenterGpu},
                      DeviceCase{DeviceType::Gpu, "AMD Instinct MI250X", DeviceClass::DatacenterGpu},
                      DeviceCase{DeviceType::Gpu, "NVIDIA GeForce RTX 4090", DeviceClass::ConsumerGpu},
                      DeviceCase{DeviceType::Gpu, "GeForce GTX 1080 Ti", DeviceClass::ConsumerGpu},
                      DeviceCase{DeviceType::Gpu, "NVIDIA RTX A6000", DeviceClass::ConsumerGpu},
                      DeviceCase{DeviceType::Gpu, "Tesla K80", DeviceClass::DatacenterGpu},
                      DeviceCase{DeviceType::Gpu, "Mystery Accelerator", DeviceClass::Gpu},
                      DeviceCase{DeviceType::Tpu, "TPU v4", DeviceClass::Tpu},
                      DeviceCase{DeviceType::Tpu, "", DeviceClass::Tpu},
                      DeviceCase{DeviceType::Gpu, "Google TPUv3", DeviceClass::Tpu},
                      DeviceCase{DeviceType::Cpu, "Intel Xeon @ 2.20GHz", DeviceClass::Cpu},
                      DeviceCase{DeviceType::Cpu, "Tesla T4", DeviceClass::Cpu}));

envelope::Envelope sampleEnvelope() {
  envelope::Envelope e;
  e.event_id = "evt-1";
  e.produced_at_us = 1'795'000'000'000'000;
  e.extraction.embedding = {3, 4};
  e.extraction.device = {DeviceType::Gpu, "Tesla T4", 15360, "535.104.05"};
  return e;
}

TEST(Transform, CarriesLineageTimesAndDerivedFields) {
  auto env = sampleEnvelope();
  const auto out = transform(env, Lineage{"gpu-metadata", 2, 41, 1'795'000'000'100}, env.produced_at_us + 2'500);
  EXPECT_EQ(out.lineage.topic, "gpu-metadata");
  EXPECT_EQ(out.lineage.partition, 2);
  EXPECT_EQ(out.lineage.offset, 41);
  ASSERT_TRUE(out.lineage.kafka_timestamp_ms);
  EXPECT_EQ(*out.lineage.kafka_timestamp_ms, 1'795'000'000'100);
  EXPECT_EQ(out.processed_at_us, env.produced_at_us + 2'500);
  EXPECT_EQ(out.ingest_latency_us, 2'500);
  EXPECT_EQ(out.device_class, DeviceClass::DatacenterGpu);
  ASSERT_EQ(out.embedding.size(), 2u);
  EXPECT_DOUBLE_EQ(out.embedding[1], 0.8);
  EXPECT_DOUBLE_EQ(out.stats.l2_norm, 5.0);
  EXPECT_TRUE(out.envelope.extraction.embedding.empty()) << "the raw vector is not carried twice";
  EXPECT_EQ(out.envelope.event_id, "evt-1");
}

TEST(Transform, NegativeLatencyUnderClockSkewIsKept) {
  auto env = sampleEnvelope();
  const auto out = transform(env, Lineage{"t", 0, 0, std::nullopt}, env.produced_at_us - 1'000);
  EXPECT_EQ(out.ingest_latency_us, -1'000);
  EXPECT_FALSE(out.lineage.kafka_timestamp_ms);
}

TEST(Transform, IsDeterministic) {
  const auto a = transform(sampleEnvelope(), Lineage{"t", 1, 2, 3}, 42);
  const auto b = transform(sampleEnvelope(), Lineage{"t", 1, 2, 3}, 42);
  EXPECT_EQ(a.embedding, b.embedding);
  EXPECT_EQ(a.ingest_latency_us, b.ingest_latency_us);
}

}  // namespace
}  // namespace ca4::worker
