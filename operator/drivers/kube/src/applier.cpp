#include "ca4/drivers/kube/applier.h"

#include <ca4/common/sigv4.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <set>
#include <thread>

namespace ca4::drivers::kube {

using engine::Error;
using engine::Result;
using engine::Status;

namespace {

constexpr const char* kApplyPatch = "application/apply-patch+yaml";

bool isProtected(const Json& live) {
  const auto* m = live.is_object() && live.contains("metadata") ? &live["metadata"] : nullptr;
  if (!m || !m->contains("annotations") || !(*m)["annotations"].is_object()) return false;
  const auto& a = (*m)["annotations"];
  return a.contains(kPruneAnnotation) && a[kPruneAnnotation] == "disabled";
}

std::string plural(std::size_t n, const char* what) {
  return std::to_string(n) + " " + what + (n == 1 ? "" : "s");
}

std::string joinManagers(const std::vector<std::string>& m) {
  std::string out;
  for (const auto& x : m) out += (out.empty() ? "" : ", ") + x;
  return out;
}

}  // namespace

std::string_view toString(Action a) {
  switch (a) {
    case Action::Create: return "create";
    case Action::Update: return "update";
    case Action::Unchanged: return "unchanged";
    case Action::Delete: return "delete";
    case Action::Keep: return "keep";
  }
  return "unchanged";
}

int Plan::changes() const {
  return static_cast<int>(std::count_if(objects.begin(), objects.end(), [](const PlannedObject& o) {
    return o.action == Action::Create || o.action == Action::Update || o.action == Action::Delete;
  }));
}

Json inventoryToJson(const std::vector<InventoryEntry>& inv) {
  Json out = Json::array();
  for (const auto& e : inv) {
    Json j = e.ref.toJson();
    j["digest"] = e.digest;
    out.push_back(std::move(j));
  }
  return out;
}

std::vector<InventoryEntry> inventoryFromJson(const Json& j) {
  std::vector<InventoryEntry> out;
  if (!j.is_array()) return out;
  for (const auto& e : j) {
    auto ref = ObjectRef::fromJson(e);
    if (!ref) continue;
    // A non-string digest (hand-edited state) is dropped, not thrown: the object is still known.
    const auto d = e.find("digest");
    out.push_back({*ref, d != e.end() && d->is_string() ? d->get<std::string>() : std::string()});
  }
  return out;
}

std::string digestOf(const Json& desired) {
  Json d = desired;
  if (d.is_object() && d.value("kind", "") == "Secret") {
    for (const char* k : {"data", "stringData"}) {
      if (d.contains(k) && d[k].is_object()) {
        for (auto& [key, v] : d[k].items()) v = "";
      }
    }
  }
  return sigv4::sha256Hex(d.dump());
}

Applier::Applier(Client& client, ApplyOptions options) : client_(client), options_(std::move(options)) {}

Result<Json> Applier::get(const ObjectRef& ref, const ResourceInfo& info) {
  auto r = client_.request("GET", objectPath(info, ref.ns, ref.name));
  if (!r) return r.error();
  if (r->status == 404) return Json();
  if (auto e = r->error()) return e->toError("get " + ref.str());
  return r->json();
}

Result<Plan> Applier::plan(const std::vector<Json>& desiredIn, const std::vector<InventoryEntry>& inventory, bool prune) {
  std::vector<Json> desired = desiredIn;
  sortForApply(desired);
  std::map<ObjectRef, std::string> prevDigest;
  for (const auto& e : inventory) prevDigest[e.ref] = e.digest;

  // Kinds defined by CRDs of this same set, and namespaces created by it: objects depending on
  // them cannot be dry-run before the real apply.
  std::set<std::string> newNamespaces;
  std::set<std::string> crdKinds;  // "group/Kind"
  for (const auto& o : desired) {
    const auto ref = refOf(o);
    if (ref.kind == "CustomResourceDefinition" && o.contains("spec")) {
      crdKinds.insert(o["spec"].value("group", "") + "/" + o["spec"]["names"].value("kind", ""));
    }
  }

  Plan plan;
  std::vector<std::string> problems;
  std::set<ObjectRef> seen;
  for (auto& obj : desired) {
    PlannedObject p;
    p.ref = refOf(obj);
    if (!seen.insert(p.ref).second) return Error::terminal("manifests define " + p.ref.str() + " twice", "keep one of them");
    auto info = client_.resolve(p.ref.apiVersion, p.ref.kind);
    if (!info) {
      if (crdKinds.count(p.ref.group() + "/" + p.ref.kind)) {  // its CRD is applied first
        p.action = Action::Create;
        p.detail = "new (custom resource; its CRD is in this set)";
        p.desired = obj;
        p.digest = digestOf(obj);
        plan.objects.push_back(std::move(p));
        continue;
      }
      return info.error();
    }
    if (info->namespaced && p.ref.ns.empty()) {
      return Error::terminal(p.ref.str() + ": kind " + p.ref.kind + " is namespaced but the manifest has no metadata.namespace",
                             "set metadata.namespace in the manifest");
    }
    if (!info->namespaced && !p.ref.ns.empty()) {  // cluster-scoped: a namespace would be ignored
      obj["metadata"].erase("namespace");
      p.ref.ns.clear();
    }
    p.desired = obj;
    p.digest = digestOf(obj);
    auto live = get(p.ref, *info);
    if (!live) return live.error();
    p.live = *live;
    const bool nsIsNew = info->namespaced && newNamespaces.count(p.ref.ns);
    if (p.ref.kind == "Namespace" && p.live.is_null()) newNamespaces.insert(p.ref.name);

    if (!p.live.is_null()) {
      const auto d = prevDigest.find(p.ref);
      if (d != prevDigest.end() && d->second == p.digest && isSubset(obj, p.live)) {
        p.action = Action::Unchanged;
        plan.objects.push_back(std::move(p));
        continue;
      }
    }
    if (nsIsNew) {  // the namespace does not exist yet: the server cannot dry-run this one
      p.action = Action::Create;
      p.detail = "new";
      plan.objects.push_back(std::move(p));
      continue;
    }
    // Server dry-run: validation, defaulting, conflicts: exactly what the real apply would do.
    const std::string path = objectPath(*info, p.ref.ns, p.ref.name);
    auto dry = client_.request("PATCH", path + applyQuery(options_.fieldManager, options_.force, true), obj.dump(), kApplyPatch);
    if (!dry) return dry.error();
    if (auto e = dry->error(); e && e->kind == ApiErrorKind::Conflict && !e->conflictingManagers().empty()) {
      const auto managers = e->conflictingManagers();
      const bool drift = std::all_of(managers.begin(), managers.end(), [&](const std::string& m) {
        return std::find(options_.driftManagers.begin(), options_.driftManagers.end(), m) != options_.driftManagers.end();
      });
      if (!drift) {
        problems.push_back(e->toError("apply " + p.ref.str()).message);
        continue;
      }
      p.takeOver = true;
      p.detail = "revert hand edit by " + joinManagers(managers);
      dry = client_.request("PATCH", path + applyQuery(options_.fieldManager, true, true), obj.dump(), kApplyPatch);
      if (!dry) return dry.error();
    }
    if (auto e = dry->error(); e && e->kind == ApiErrorKind::NotFound && p.live.is_null() &&
                                 e->message == "namespaces \"" + p.ref.ns + "\" not found") {
      // Its namespace comes from an earlier stage that has not run yet (ca4ctl plan).
      p.action = Action::Create;
      p.detail = "new (namespace " + p.ref.ns + " not created yet: not validated)";
      plan.objects.push_back(std::move(p));
      continue;
    }
    if (auto e = dry->error()) {
      auto err = e->toError("apply " + p.ref.str());
      if (err.isRetryable()) return err;
      problems.push_back(err.message);
      continue;
    }
    if (p.live.is_null()) {
      p.action = Action::Create;
      p.detail = "new";
    } else {
      p.diff = diffObjects(normalizeForDiff(p.live), normalizeForDiff(dry->json()));
      if (p.diff.empty()) {
        p.action = Action::Unchanged;  // only the digest moved (e.g. a field the server defaults)
      } else {
        p.action = Action::Update;
        const std::string n = plural(p.diff.size(), "field");
        p.detail = p.detail.empty() ? n : p.detail + ": " + n;
      }
    }
    plan.objects.push_back(std::move(p));
  }
  if (!problems.empty()) {
    std::string msg = plural(problems.size(), "object") + " cannot be applied (nothing of this set was changed):";
    for (const auto& m : problems) msg += "\n  " + m;
    std::string fix = "fix the manifest fields named above";
    if (msg.find("conflict") != std::string::npos)
      fix += "; for fields owned by another field manager: agree with it, or set spec.cluster.forceConflicts: true";
    return Error::terminal(msg, fix);
  }

  if (prune) {
    std::vector<PlannedObject> deletes;
    for (const auto& e : inventory) {
      if (seen.count(e.ref)) continue;
      auto info = client_.resolve(e.ref.apiVersion, e.ref.kind);
      if (!info) continue;  // kind gone (CRD removed): nothing left to delete
      auto live = get(e.ref, *info);
      if (!live) return live.error();
      if (live->is_null()) continue;
      PlannedObject p;
      p.ref = e.ref;
      p.live = *live;
      if (isProtected(p.live)) {
        p.action = Action::Keep;
        p.detail = std::string("no longer in the manifests; kept (") + kPruneAnnotation + ": disabled)";
      } else {
        p.action = Action::Delete;
        p.detail = "no longer in the manifests";
      }
      deletes.push_back(std::move(p));
    }
    std::stable_sort(deletes.begin(), deletes.end(), [](const PlannedObject& a, const PlannedObject& b) {
      return applyRank(a.ref.kind) > applyRank(b.ref.kind);
    });
    for (auto& d : deletes) plan.objects.push_back(std::move(d));
  }
  return plan;
}

ApplyOutcome Applier::apply(const Plan& plan, const std::vector<InventoryEntry>& previous, const Progress& progress) {
  ApplyOutcome out;
  std::map<ObjectRef, std::string> inv;  // the new inventory, built as we go
  for (const auto& e : previous) inv[e.ref] = e.digest;
  auto finish = [&]() {
    // desired objects first (apply order), then whatever is left from before
    std::set<ObjectRef> done;
    for (const auto& p : plan.objects) {
      auto it = inv.find(p.ref);
      if (it == inv.end()) continue;
      out.inventory.push_back({p.ref, it->second});
      done.insert(p.ref);
    }
    for (const auto& [ref, digest] : inv)
      if (!done.count(ref)) out.inventory.push_back({ref, digest});
  };
  bool crdApplied = false;
  for (const auto& p : plan.objects) {
    if (p.action == Action::Unchanged) {
      inv[p.ref] = p.digest;
      continue;
    }
    if (p.action == Action::Keep) {
      inv.erase(p.ref);  // no longer ours to manage
      continue;
    }
    auto info = client_.resolve(p.ref.apiVersion, p.ref.kind, crdApplied);
    if (!info) {
      out.error = info.error();
      break;
    }
    const std::string path = objectPath(*info, p.ref.ns, p.ref.name);
    if (p.action == Action::Delete) {
      if (progress) progress("delete " + p.ref.str());
      auto r = client_.request("DELETE", path, R"({"kind":"DeleteOptions","apiVersion":"v1","propagationPolicy":"Background"})");
      if (!r) { out.error = r.error(); break; }
      if (auto e = r->error(); e && e->kind != ApiErrorKind::NotFound) {
        out.error = e->toError("delete " + p.ref.str());
        break;
      }
      inv.erase(p.ref);
      ++out.deleted;
      continue;
    }
    if (progress) progress(std::string(toString(p.action)) + " " + p.ref.str());
    auto r = client_.request("PATCH", path + applyQuery(options_.fieldManager, options_.force || p.takeOver, false),
                             p.desired.dump(), kApplyPatch);
    if (!r) { out.error = r.error(); break; }
    if (auto e = r->error()) {
      out.error = e->toError("apply " + p.ref.str());
      break;
    }
    inv[p.ref] = p.digest;
    if (p.ref.kind == "CustomResourceDefinition") crdApplied = true;
    (p.action == Action::Create ? out.created : out.updated)++;
  }
  finish();
  return out;
}

Result<Readiness> Applier::readinessOf(const ObjectRef& ref, const Json& live) {
  if (live.is_null()) return Readiness{false, false, "does not exist"};
  if (ref.kind == "Service" && needsEndpoints(live)) {
    auto r = client_.request("GET", "/apis/discovery.k8s.io/v1/namespaces/" + ref.ns +
                                        "/endpointslices?labelSelector=kubernetes.io%2Fservice-name%3D" + ref.name);
    if (!r) return r.error();
    if (auto e = r->error()) return e->toError("list EndpointSlices of " + ref.str());
    const Json list = r->json();
    std::vector<Json> slices;
    if (list.contains("items") && list["items"].is_array())
      for (const auto& s : list["items"]) slices.push_back(s);
    return assessService(live, slices);
  }
  return assess(live);
}

Status Applier::waitReady(const Plan& plan, const Progress& progress) {
  struct Pending {
    ObjectRef ref;
    Json live;
    bool fresh;  // live was observed after the apply
  };
  std::vector<Pending> pending;
  for (const auto& p : plan.objects) {
    if (p.action == Action::Delete || p.action == Action::Keep) continue;
    // Unchanged objects were observed during plan(); changed ones must be read again.
    pending.push_back({p.ref, p.action == Action::Unchanged ? p.live : Json(), p.action == Action::Unchanged});
  }
  const auto deadline = std::chrono::steady_clock::now() + options_.readyTimeout;
  const auto started = std::chrono::steady_clock::now();
  std::string lastReport;
  auto interval = options_.pollInterval;  // grows to 5 s: a slow rollout is not polled 2×/s for minutes
  for (;;) {
    std::vector<Pending> still;
    std::vector<std::string> reasons;
    for (auto& x : pending) {
      if (!x.fresh) {
        auto info = client_.resolve(x.ref.apiVersion, x.ref.kind);
        if (!info) return info.error();
        auto live = get(x.ref, *info);
        if (!live) return live.error();
        x.live = *live;
      }
      auto r = readinessOf(x.ref, x.live);
      if (!r) return r.error();
      if (r->failed) {
        return Error::terminal(x.ref.str() + " failed: " + r->reason,
                               "inspect it (kubectl describe) and fix the manifest; ca4ctl will not wait for it");
      }
      if (!r->ready) {
        reasons.push_back(x.ref.str() + ": " + r->reason);
        still.push_back({x.ref, Json(), false});
      }
    }
    if (still.empty()) return engine::okStatus();
    const auto now = std::chrono::steady_clock::now();
    const auto waited = std::chrono::duration_cast<std::chrono::seconds>(now - started).count();
    if (now >= deadline) {
      std::string msg = plural(reasons.size(), "object") + " not ready after " + std::to_string(waited) + " s:";
      for (const auto& r : reasons) msg += "\n  " + r;
      return Error::retryable(msg, "check the pods' events (kubectl -n <ns> describe pod); raise spec.cluster.readyTimeout for slow pulls");
    }
    if (progress) {
      std::string msg = "waiting for " + plural(reasons.size(), "object") + " (" + std::to_string(waited) + " s): " + reasons.front();
      if (msg != lastReport) progress(msg);
      lastReport = msg;
    }
    pending = std::move(still);
    std::this_thread::sleep_for(interval);
    interval = std::min(interval * 3 / 2, std::chrono::milliseconds(5000));
  }
}

Result<std::vector<std::pair<ObjectRef, Readiness>>> Applier::observe(const std::vector<ObjectRef>& refs) {
  std::vector<std::pair<ObjectRef, Readiness>> out;
  for (const auto& ref : refs) {
    auto info = client_.resolve(ref.apiVersion, ref.kind);
    if (!info) return info.error();
    auto live = get(ref, *info);
    if (!live) return live.error();
    auto r = readinessOf(ref, *live);
    if (!r) return r.error();
    out.emplace_back(ref, *r);
  }
  return out;
}

Result<int> Applier::destroy(const std::vector<InventoryEntry>& inventory, const Progress& progress) {
  std::vector<ObjectRef> refs;
  for (const auto& e : inventory) refs.push_back(e.ref);
  std::stable_sort(refs.begin(), refs.end(), [](const ObjectRef& a, const ObjectRef& b) {
    return applyRank(a.kind) > applyRank(b.kind);
  });
  int deleted = 0;
  for (const auto& ref : refs) {
    auto info = client_.resolve(ref.apiVersion, ref.kind);
    if (!info) continue;
    auto live = get(ref, *info);
    if (!live) return live.error();
    if (live->is_null()) continue;
    if (isProtected(*live)) {
      if (progress) progress("keep " + ref.str() + " (" + kPruneAnnotation + ": disabled)");
      continue;
    }
    if (progress) progress("delete " + ref.str());
    auto r = client_.request("DELETE", objectPath(*info, ref.ns, ref.name),
                             R"({"kind":"DeleteOptions","apiVersion":"v1","propagationPolicy":"Background"})");
    if (!r) return r.error();
    if (auto e = r->error(); e && e->kind != ApiErrorKind::NotFound) return e->toError("delete " + ref.str());
    ++deleted;
  }
  return deleted;
}

}  // namespace ca4::drivers::kube
