// The local target's services as PURE data: which processes run, with which argv, config files
// and readiness checks, derived from the spec and the resolved layout. No I/O here, so every
// command line ca4ctl will run is unit-tested (tests/local_services_test.cpp).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "ca4/drivers/local/process.h"
#include "ca4/engine/result.h"
#include "ca4/spec/spec.h"

namespace ca4::stages::local {

// Where things are on this machine (absolute paths), resolved once per run by resolveLayout().
struct Layout {
  std::string data_dir;     // <spec dir>/.ca4/local
  std::string bin_dir;      // ca4-processor, ca4-worker
  std::string cache_dir;    // ~/.cache/ca4
  std::string java;         // java (PATH)
  std::string kafka_libs;   // <cache>/kafka-<v>/libs
  std::string ferretdb;     // <cache>/bin/ferretdb
  std::string moto_server;  // <cache>/venv/bin/moto_server
  std::string prometheus;   // prometheus (PATH)
};

// Checks every prerequisite the spec needs and reports ALL that are missing at once, each with
// its fix, as one terminal error (nothing here gets better by retrying).
engine::Result<Layout> resolveLayout(const spec::Pipeline& p);

// Readiness probe kinds, executed by the stage through the drivers.
enum class Probe { KafkaMetadata, MongoPing, HttpAny, HttpOk };

struct Component {
  std::string name;          // kafka | db | s3 | processor | worker | prometheus
  std::string stage;         // platform | edge | monitoring
  std::uint16_t port = 0;    // the port that proves it listens
  Probe probe = Probe::HttpOk;
  std::string probe_path;    // for Http probes: "/readyz"
  drivers::local::ProcessSpec process;
  // Files written before start (path → content); part of the config digest.
  std::map<std::string, std::string> files;
  int start_timeout_s = 60;
  // sha256 over argv, env NAMES and file contents (never env values): a change → restart.
  std::string configDigest() const;
};

// Fixed, non-secret credentials for the embedded S3 server (moto accepts any).
inline constexpr const char* kLocalS3AccessKey = "ca4local";
inline constexpr const char* kLocalS3Secret = "ca4local-not-a-secret";

struct Endpoints;  // endpoints.h

std::vector<Component> platformComponents(const spec::Pipeline& p, const Layout& l);
std::vector<Component> edgeComponents(const spec::Pipeline& p, const Layout& l,
                                      const std::string& api_keys_file);
std::vector<Component> monitoringComponents(const spec::Pipeline& p, const Layout& l);

// Pure config-file builders (exposed for tests).
std::string kafkaProperties(const spec::Pipeline& p, const Layout& l);
std::string kafkaLog4j2();
std::string prometheusConfig(const spec::Pipeline& p);

}  // namespace ca4::stages::local
