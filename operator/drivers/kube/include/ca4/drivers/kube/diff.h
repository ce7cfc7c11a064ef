// Comparing desired and live objects. Pure.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "ca4/drivers/kube/objects.h"

namespace ca4::drivers::kube {

// A copy without the fields the server owns: metadata.{managedFields, resourceVersion, uid,
// generation, creationTimestamp, selfLink, deletionTimestamp, deletionGracePeriodSeconds},
// metadata.annotations["kubectl.kubernetes.io/last-applied-configuration"] (and annotations /
// labels left empty by that), and `status`.
Json normalizeForDiff(const Json& obj);

// Whether every field set in `desired` holds the same value in `live`: mappings recursively
// (extra keys in live are fine), arrays must have the same length with elements compared
// pairwise by the same rule, scalars equal (numbers by value: 1 == 1.0). `null` in desired
// matches a missing key. The cheap "unchanged" test that runs before any server dry-run.
bool isSubset(const Json& desired, const Json& live);

struct FieldChange {
  std::string path;           // ".spec.replicas", ".data.app.conf", ".spec.template.spec.containers[name=api].image"
  std::optional<Json> before;  // absent: added
  std::optional<Json> after;   // absent: removed
};

// Deep difference live → next (both normalized by the caller or not; the function normalizes).
// Arrays whose elements are all objects with a string "name" are matched by name (paths use
// [name=x]); other arrays by index when the lengths match, else as one changed value. Sorted by path.
std::vector<FieldChange> diffObjects(const Json& live, const Json& next);

// One line per change for `ca4ctl plan`: "  ~ .spec.replicas: 1 → 3", "  + .data.x: \"v\"",
// "  - .metadata.labels.y". Values are compact JSON, cut to 80 characters with "…". For a
// Secret (or when redact is true) every value under .data / .stringData prints as "(sensitive)".
std::string renderDiff(const ObjectRef& ref, const std::vector<FieldChange>& changes, bool redact = false);

}  // namespace ca4::drivers::kube
