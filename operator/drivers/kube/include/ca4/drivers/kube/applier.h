// Server-side apply of a set of objects, with a plan (per-object diff from a server dry-run),
// inventory-based prune, apply ordering and readiness waits. All I/O goes through Client.
//
// plan():  GET each object; unchanged when the inventory digest matches and the live object
//          already holds every desired field (no request beyond the GET); otherwise an SSA dry-run
//          (`dryRun=All`) whose result is diffed against the live object. Every create/update is
//          validated by a dry-run BEFORE anything is written, so an invalid manifest or a
//          conflict fails the plan and nothing of that set is half-applied.
//          Conflicts: a field owned by an interactive edit (kubectl edit/patch/…, see
//          ApplyOptions::driftManagers) is drift and is taken back; a field owned by any other
//          manager fails with the managers and fields named, unless `force`.
// apply(): PATCH application/apply-patch+yaml ?fieldManager=ca4ctl in apply order, then deletes
//          pruned objects in reverse order. Returns the new inventory even on failure (what was
//          applied is recorded, so a re-run prunes correctly).
// Objects annotated `ca4.dev/prune: disabled` are never deleted by prune or destroy.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "ca4/drivers/kube/client.h"
#include "ca4/drivers/kube/diff.h"
#include "ca4/drivers/kube/readiness.h"

namespace ca4::drivers::kube {

inline constexpr const char* kPruneAnnotation = "ca4.dev/prune";  // "disabled" protects the object

struct ApplyOptions {
  std::string fieldManager = "ca4ctl";
  bool force = false;  // take over fields owned by other managers
  // Managers whose ownership is a hand edit (drift) that ca4ctl takes back without `force`.
  std::vector<std::string> driftManagers = {"kubectl-edit",  "kubectl-patch", "kubectl-client-side-apply",
                                            "kubectl-replace", "kubectl-set",  "kubectl-label",
                                            "kubectl-annotate", "kubectl-scale", "kubectl"};
  std::chrono::seconds readyTimeout{300};
  std::chrono::milliseconds pollInterval{500};
};

// What ca4ctl applied: the object and the digest of the desired document it applied.
struct InventoryEntry {
  ObjectRef ref;
  std::string digest;
};
Json inventoryToJson(const std::vector<InventoryEntry>& inv);
std::vector<InventoryEntry> inventoryFromJson(const Json& j);  // tolerant: bad entries skipped

// sha256 of the canonical JSON of a desired object. A Secret's data/stringData VALUES are left
// out (keys only), so the digest stored in state reveals nothing; a changed value is still seen
// because plan() compares the desired fields with the live object.
std::string digestOf(const Json& desired);

enum class Action { Create, Update, Unchanged, Delete, Keep };
std::string_view toString(Action a);  // create | update | unchanged | delete | keep

struct PlannedObject {
  ObjectRef ref;
  Action action = Action::Unchanged;
  std::string detail;  // "new", "2 fields", "revert hand edit by kubectl-edit", "protected (ca4.dev/prune: disabled)"
  Json desired;        // null for Delete/Keep
  std::string digest;
  std::vector<FieldChange> diff;
  bool takeOver = false;  // apply with force (drift by a hand edit)
  Json live;              // as observed; null when absent
};

struct Plan {
  std::vector<PlannedObject> objects;  // apply order; deletes last
  int changes() const;                 // create + update + delete
};

using Progress = std::function<void(const std::string&)>;

struct ApplyOutcome {
  std::vector<InventoryEntry> inventory;
  std::optional<engine::Error> error;
  int created = 0, updated = 0, deleted = 0;
};

class Applier {
 public:
  Applier(Client& client, ApplyOptions options);

  // `prune`: inventory entries that are not desired become Delete (or Keep when protected).
  engine::Result<Plan> plan(const std::vector<Json>& desired, const std::vector<InventoryEntry>& inventory,
                            bool prune = true);
  ApplyOutcome apply(const Plan& plan, const std::vector<InventoryEntry>& previous, const Progress& progress = {});
  // Polls until every desired object of the plan is ready (see readiness.h), or readyTimeout:
  // the error names each object that is not ready and why. A failed object (Job Failed) is terminal.
  engine::Status waitReady(const Plan& plan, const Progress& progress = {});
  // One observation (no waiting) of the given objects: absent objects are not ready.
  engine::Result<std::vector<std::pair<ObjectRef, Readiness>>> observe(const std::vector<ObjectRef>& refs);
  // Readiness of an object already read (a plan's `live`): no request, except the EndpointSlices
  // of a Service with a selector.
  engine::Result<Readiness> readinessOf(const ObjectRef& ref, const Json& live);
  // Deletes the inventory in reverse apply order (protected objects kept). Returns how many.
  engine::Result<int> destroy(const std::vector<InventoryEntry>& inventory, const Progress& progress = {});

 private:
  engine::Result<Json> get(const ObjectRef& ref, const ResourceInfo& info);  // null when absent
  Client& client_;
  ApplyOptions options_;
};

}  // namespace ca4::drivers::kube
