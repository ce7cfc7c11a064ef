// How to reach the running pipeline, per target. `verify` and `status` use these, so every
// check works on any target: local → loopback ports from the spec; aws/hosts → the tunnels.
#pragma once

#include <string>

#include "ca4/engine/result.h"
#include "ca4/spec/spec.h"

namespace ca4::stages {

struct Endpoints {
  std::string kafka_bootstrap;     // "127.0.0.1:9092"
  std::string processor_url;       // "http://127.0.0.1:8080"
  std::string worker_metrics_url;  // "http://127.0.0.1:9102"
  std::string prometheus_url;      // "" when monitoring is off
  std::string mongo_uri;           // may hold a password: never print (use redactUri)
  std::string db;
  std::string collection;
  bool archive = false;
  std::string s3_endpoint, s3_region, s3_bucket, s3_access_key, s3_secret_key;
  std::string api_key;             // secret: never print
};

// local: from spec.local.ports and the generated API key file. Other targets: not built yet
// (terminal error that says so).
engine::Result<Endpoints> resolveEndpoints(const spec::Pipeline& p);

// <base_dir>/<data_dir> as an absolute path; <base_dir>/.ca4 for the state.
std::string localDataDir(const spec::Pipeline& p);
std::string stateDir(const spec::Pipeline& p);
std::string apiKeysFile(const spec::Pipeline& p);

}  // namespace ca4::stages
