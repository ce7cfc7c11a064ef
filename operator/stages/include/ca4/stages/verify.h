// Verification checks, target-independent: they only use Endpoints.
//   preflight  every component answers its health endpoint
//   kafka      the topic exists with the spec's partitions (and the DLQ)
//   db         write, read back and delete a probe document
//   e2e        POST a uniquely tagged event as the producer would → its document in the DB
//              (→ its S3 object when archive is on); reports the end-to-end latency and, on
//              failure, the stage of the flow where it stopped.
#pragma once

#include <nlohmann/json.hpp>

#include <functional>
#include <string>
#include <vector>

#include "ca4/stages/endpoints.h"

namespace ca4::stages {

struct Check {
  std::string name;        // "processor", "kafka.topic", "e2e"
  bool ok = false;
  std::string message;     // "ready (GET /readyz 200, 3 ms)" / "no document after 60 s"
  std::string fix;         // on failure
  long long duration_ms = 0;
  nlohmann::json fields = nlohmann::json::object();
};

using Progress = std::function<void(const std::string&)>;

std::vector<Check> verifyPreflight(const spec::Pipeline& p, const Endpoints& e);
std::vector<Check> verifyKafka(const spec::Pipeline& p, const Endpoints& e);
std::vector<Check> verifyDb(const spec::Pipeline& p, const Endpoints& e);
std::vector<Check> verifyE2e(const spec::Pipeline& p, const Endpoints& e, const Progress& progress);

// The verification event (pure): a valid ca4.metadata/v1 envelope with a 2048-float embedding,
// GPU device info and produced_at = `produced_at_rfc3339`.
std::string verifyEvent(const std::string& event_id, const std::string& produced_at_rfc3339);
// "raw/dt=YYYY-MM-DD/hour=HH/<id>.json" — the worker's archive key contract
// (runtime/worker/include/ca4/worker/s3_layout.h), by the event's produced_at.
std::string archiveRawKey(const std::string& event_id, long long produced_at_unix);

}  // namespace ca4::stages
