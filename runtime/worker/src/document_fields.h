// The ONE field list of the stored document, written against a small writer concept so the
// BSON encoder (DB) and the JSON encoder (S3 archive) cannot drift apart.
//
// Writer concept:
//   str(key, string_view)  i32(key, int32)  i64(key, int64)  dbl(key, double)
//   dateUs(key, int64 µs)  doubles(key, span<const double>)  begin(key)  end()
#pragma once

#include <ca4/worker/transform.h>

#include <span>

namespace ca4::worker::detail {

// Version of this shape; bump when a field changes meaning.
inline constexpr std::int32_t kTransformVersion = 1;

template <class W>
void emitDocument(const Enriched& e, W& w) {
  const auto& env = e.envelope;
  auto optStr = [&](std::string_view k, const std::string& v) {
    if (!v.empty()) w.str(k, v);
  };
  w.str("_id", env.event_id);
  w.str("event_id", env.event_id);
  w.str("schema_version", env.schema_version);
  w.dateUs("produced_at", env.produced_at_us);
  w.i64("produced_at_us", env.produced_at_us);  // the version the upsert filter compares

  w.begin("source");
  w.str("producer", env.source.producer);
  optStr("producer_version", env.source.producer_version);
  optStr("host", env.source.host);
  optStr("run_id", env.source.run_id);
  w.end();

  w.begin("item");
  w.str("uri", env.item.uri);
  w.str("sha256", env.item.sha256);
  w.str("kind", envelope::toString(env.item.kind));
  w.i64("size_bytes", env.item.size_bytes);
  if (env.item.width) w.i32("width", *env.item.width);
  if (env.item.height) w.i32("height", *env.item.height);
  if (env.item.channels) w.i32("channels", *env.item.channels);
  optStr("mime_type", env.item.mime_type);
  w.end();

  w.begin("extraction");
  w.begin("model");
  w.str("name", env.extraction.model.name);
  optStr("version", env.extraction.model.version);
  w.end();
  w.begin("device");
  w.str("type", envelope::toString(env.extraction.device.type));
  w.str("name", env.extraction.device.name);
  w.str("class", toString(e.device_class));
  if (env.extraction.device.memory_mb) w.i64("memory_mb", *env.extraction.device.memory_mb);
  optStr("driver", env.extraction.device.driver);
  w.end();
  w.doubles("embedding", std::span<const double>(e.embedding));
  w.begin("embedding_stats");
  w.i32("dims", static_cast<std::int32_t>(e.stats.dims));
  w.dbl("l2_norm", e.stats.l2_norm);
  w.dbl("mean", e.stats.mean);
  w.dbl("std", e.stats.std);
  w.dbl("min", e.stats.min);
  w.dbl("max", e.stats.max);
  w.end();
  w.end();

  const auto& t = env.timings;
  if (t.preprocess_ms || t.inference_ms || t.total_ms) {
    w.begin("timings");
    if (t.preprocess_ms) w.dbl("preprocess_ms", *t.preprocess_ms);
    if (t.inference_ms) w.dbl("inference_ms", *t.inference_ms);
    if (t.total_ms) w.dbl("total_ms", *t.total_ms);
    w.end();
  }

  w.begin("attributes");
  for (const auto& [k, v] : env.attributes) w.str(k, v);
  w.end();

  w.begin("lineage");
  w.str("topic", e.lineage.topic);
  w.i32("partition", e.lineage.partition);
  w.i64("offset", e.lineage.offset);
  if (e.lineage.kafka_timestamp_ms) w.dateUs("kafka_timestamp", *e.lineage.kafka_timestamp_ms * 1000);
  w.end();

  w.dateUs("processed_at", e.processed_at_us);
  w.i64("ingest_latency_us", e.ingest_latency_us);
  w.i32("transform_version", kTransformVersion);
}

}  // namespace ca4::worker::detail
