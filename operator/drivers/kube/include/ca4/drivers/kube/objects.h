// Kubernetes objects as JSON values, and the manifest loaders. Pure: no network I/O (the
// kustomization loader reads files, nothing else).
#pragma once

#include <ca4/engine/result.h>

#include <nlohmann/json.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace ca4::drivers::kube {

using engine::Error;
using engine::Result;
using Json = nlohmann::json;

// Identity of an object. `ns` is "" for cluster-scoped objects (and for namespaced objects that
// carry no metadata.namespace: the applier rejects those).
struct ObjectRef {
  std::string apiVersion;  // "apps/v1", "v1"
  std::string kind;        // "Deployment"
  std::string ns;
  std::string name;

  std::string group() const;    // "apps"; "" for the core group ("v1")
  std::string version() const;  // "v1"
  // "Deployment/app/processor-api", "Namespace/platform" (no namespace part when ns is "")
  std::string str() const;
  Json toJson() const;  // {"apiVersion","kind","namespace","name"}
  static Result<ObjectRef> fromJson(const Json& j);
  friend bool operator==(const ObjectRef&, const ObjectRef&) = default;
  friend auto operator<=>(const ObjectRef&, const ObjectRef&) = default;
};

// The ref of an object (apiVersion, kind, metadata.namespace, metadata.name; missing → "").
ObjectRef refOf(const Json& obj);

// Parses a multi-document YAML stream ("---" separated) into JSON objects; empty documents are
// skipped. Plain scalars are typed by the YAML 1.2 core schema (null ~ "", true/false, decimal /
// 0x / 0o ints, floats incl. .inf/.nan); quoted and block scalars are strings; explicit tags
// !!str/!!int/!!bool/!!float are honoured. A top-level `kind: List` document is flattened into
// its `items`. Each object must be a mapping with string apiVersion, kind and metadata.name.
// Errors are terminal: "<source>:<line>:<col>: <message>" (line/col 1-based).
Result<std::vector<Json>> parseManifests(std::string_view yaml, const std::string& source);

// Loads a kustomization directory (<dir>/kustomization.yaml, .yml or Kustomization) — the subset
// ca4's manifests use, so `kubectl apply -k <dir>` and ca4ctl see the same objects:
//   resources:          files (*.yaml/*.yml/*.json) or directories holding a kustomization, in order
//   configMapGenerator: name, namespace, files ([key=]path), literals (key=value), options
//                       {labels, annotations}; behavior must be absent or "create"
//   generatorOptions:   disableNameSuffixHash must be true (ca4ctl does not reproduce kustomize's
//                       hash suffix), labels, annotations
//   apiVersion, kind:   kustomize.config.k8s.io/v1beta1 / Kustomization (checked when present)
// Any other field is a terminal error naming the file, the field and the supported set. Paths
// are relative to the kustomization's directory and may not escape the top directory given.
// Output: resources' objects in order, then generated ConfigMaps. A duplicate ObjectRef is an
// error naming both sources.
Result<std::vector<Json>> loadKustomization(const std::string& dir);

}  // namespace ca4::drivers::kube
