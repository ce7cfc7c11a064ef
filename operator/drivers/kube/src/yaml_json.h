// Internal: YAML → JSON conversion shared by the manifest parser and the kustomization loader.
#pragma once

#include <yaml-cpp/yaml.h>

#include <string>
#include <string_view>
#include <vector>

#include "ca4/drivers/kube/objects.h"

namespace ca4::drivers::kube::detail {

// "<source>:<line>:<col>" with 1-based line and column (just "<source>" for an unknown mark).
std::string location(const std::string& source, const YAML::Mark& mark);

// A manifest object and where its document starts ("app.yaml:12:1").
struct Located {
  Json object;
  std::string where;
};

// parseManifests, keeping each object's location (for "defined twice" messages).
Result<std::vector<Located>> parseManifestsLocated(std::string_view yaml,
                                                   const std::string& source);

// Converts one YAML node by the rules of parseManifests (typing, tags, duplicate keys, limits).
// On failure returns false and sets `mark` and `message`.
bool yamlToJson(const YAML::Node& node, Json& out, YAML::Mark& mark, std::string& message);

// Plain scalars true/True/TRUE and false/False/FALSE (YAML 1.2 core); other text → false.
bool isCoreBool(const YAML::Node& node, bool& value);

bool validUtf8(std::string_view s);

}  // namespace ca4::drivers::kube::detail
