#include "ca4/drivers/kube/diff.h"

#include <algorithm>
#include <cstdint>
#include <set>

namespace ca4::drivers::kube {
namespace {

constexpr const char* kLastApplied = "kubectl.kubernetes.io/last-applied-configuration";
constexpr std::size_t kMaxValueChars = 80;

// Numbers by value across integer / unsigned / float representations (1 == 1.0, and no rounding
// between large integers).
bool numbersEqual(const Json& a, const Json& b) {
  if (a.is_number_float() || b.is_number_float()) {
    // long double holds every int64 / uint64 exactly on the platforms we build for.
    const auto wide = [](const Json& x) -> long double {
      if (x.is_number_float()) return x.get<double>();
      if (x.is_number_unsigned()) return static_cast<long double>(x.get<std::uint64_t>());
      return static_cast<long double>(x.get<std::int64_t>());
    };
    return wide(a) == wide(b);
  }
  const bool aNeg = a.is_number_integer() && !a.is_number_unsigned() && a.get<std::int64_t>() < 0;
  const bool bNeg = b.is_number_integer() && !b.is_number_unsigned() && b.get<std::int64_t>() < 0;
  if (aNeg != bNeg) return false;
  if (aNeg) return a.get<std::int64_t>() == b.get<std::int64_t>();
  return a.get<std::uint64_t>() == b.get<std::uint64_t>();
}

// Deep equality with numbers by value.
bool same(const Json& a, const Json& b) {
  if (a.is_number() && b.is_number()) return numbersEqual(a, b);
  if (a.type() != b.type()) return false;
  if (a.is_object()) {
    if (a.size() != b.size()) return false;
    for (auto it = a.begin(); it != a.end(); ++it) {
      const auto other = b.find(it.key());
      if (other == b.end() || !same(it.value(), *other)) return false;
    }
    return true;
  }
  if (a.is_array()) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
      if (!same(a[i], b[i])) return false;
    return true;
  }
  return a == b;
}

// Whether the array's elements are all objects with a distinct string "name".
bool nameKeyed(const Json& arr) {
  std::set<std::string> names;
  for (const auto& e : arr) {
    if (!e.is_object()) return false;
    const auto n = e.find("name");
    if (n == e.end() || !n->is_string()) return false;
    if (!names.insert(n->get<std::string>()).second) return false;
  }
  return true;
}

const Json* byName(const Json& arr, const std::string& name) {
  for (const auto& e : arr)
    if (e["name"] == name) return &e;
  return nullptr;
}

void diffInto(const std::string& path, const Json& a, const Json& b,
              std::vector<FieldChange>& out) {
  if (a.is_object() && b.is_object()) {
    // A null value counts as absent (as in isSubset).
    for (auto it = a.begin(); it != a.end(); ++it) {
      const auto other = b.find(it.key());
      const std::string p = path + "." + it.key();
      if (other == b.end() || other->is_null()) {
        if (!it.value().is_null()) out.push_back({p, it.value(), std::nullopt});
      } else if (it.value().is_null()) {
        out.push_back({p, std::nullopt, *other});
      } else {
        diffInto(p, it.value(), *other, out);
      }
    }
    for (auto it = b.begin(); it != b.end(); ++it)
      if (!a.contains(it.key()) && !it.value().is_null())
        out.push_back({path + "." + it.key(), std::nullopt, it.value()});
    return;
  }
  if (a.is_array() && b.is_array()) {
    if (nameKeyed(a) && nameKeyed(b) && !(a.empty() && b.empty())) {
      for (const auto& e : a) {
        const std::string name = e["name"].get<std::string>();
        const std::string p = path + "[name=" + name + "]";
        if (const Json* other = byName(b, name)) {
          diffInto(p, e, *other, out);
        } else {
          out.push_back({p, e, std::nullopt});
        }
      }
      for (const auto& e : b) {
        const std::string name = e["name"].get<std::string>();
        if (!byName(a, name)) out.push_back({path + "[name=" + name + "]", std::nullopt, e});
      }
      return;
    }
    if (a.size() == b.size()) {
      for (std::size_t i = 0; i < a.size(); ++i)
        diffInto(path + "[" + std::to_string(i) + "]", a[i], b[i], out);
      return;
    }
  }
  if (a.is_null()) {
    if (!b.is_null()) out.push_back({path, std::nullopt, b});
  } else if (b.is_null()) {
    out.push_back({path, a, std::nullopt});
  } else if (!same(a, b)) {
    out.push_back({path, a, b});
  }
}

void eraseIfEmptyObject(Json& obj, const char* key) {
  const auto it = obj.find(key);
  if (it != obj.end() && (it->is_null() || (it->is_object() && it->empty()))) obj.erase(it);
}

// Under .data / .stringData (a Secret's values), or the last-applied annotation (which holds a
// copy of them).
bool sensitivePath(const std::string& path) {
  for (const std::string root : {".data", ".stringData"}) {
    if (path.rfind(root, 0) == 0 &&
        (path.size() == root.size() || path[root.size()] == '.' || path[root.size()] == '['))
      return true;
  }
  return path == std::string(".metadata.annotations.") + kLastApplied;
}

// A copy of `v` (found at `path`) with every sensitive value below it replaced.
Json scrub(const Json& v, const std::string& path) {
  if (sensitivePath(path)) return "(sensitive)";
  if (v.is_object()) {
    Json out = Json::object();
    for (auto it = v.begin(); it != v.end(); ++it)
      out[it.key()] = scrub(it.value(), path + "." + it.key());
    return out;
  }
  return v;
}

// Compact JSON, at most kMaxValueChars characters (UTF-8 code points) with "…" when cut.
std::string shown(const Json& v) {
  const std::string s = v.dump(-1, ' ', false, Json::error_handler_t::replace);
  std::size_t chars = 0, cut = std::string::npos;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if ((static_cast<unsigned char>(s[i]) & 0xC0) == 0x80) continue;  // continuation byte
    if (chars == kMaxValueChars - 1) cut = i;
    if (++chars > kMaxValueChars) return s.substr(0, cut) + "…";
  }
  return s;
}

}  // namespace

Json normalizeForDiff(const Json& obj) {
  Json out = obj;
  if (!out.is_object()) return out;
  out.erase("status");
  const auto md = out.find("metadata");
  if (md == out.end() || !md->is_object()) return out;
  for (const char* key :
       {"managedFields", "resourceVersion", "uid", "generation", "creationTimestamp", "selfLink",
        "deletionTimestamp", "deletionGracePeriodSeconds"})
    md->erase(key);
  if (const auto ann = md->find("annotations"); ann != md->end() && ann->is_object())
    ann->erase(kLastApplied);
  eraseIfEmptyObject(*md, "annotations");
  eraseIfEmptyObject(*md, "labels");
  return out;
}

bool isSubset(const Json& desired, const Json& live) {
  if (desired.is_object()) {
    if (!live.is_object()) return false;
    for (auto it = desired.begin(); it != desired.end(); ++it) {
      const auto other = live.find(it.key());
      if (it.value().is_null()) {
        if (other != live.end() && !other->is_null()) return false;
        continue;
      }
      if (other == live.end() || !isSubset(it.value(), *other)) return false;
    }
    return true;
  }
  if (desired.is_array()) {
    if (!live.is_array() || live.size() != desired.size()) return false;
    for (std::size_t i = 0; i < desired.size(); ++i)
      if (!isSubset(desired[i], live[i])) return false;
    return true;
  }
  if (desired.is_number() && live.is_number()) return numbersEqual(desired, live);
  return desired == live;
}

std::vector<FieldChange> diffObjects(const Json& live, const Json& next) {
  std::vector<FieldChange> out;
  diffInto("", normalizeForDiff(live), normalizeForDiff(next), out);
  std::stable_sort(out.begin(), out.end(),
                   [](const FieldChange& a, const FieldChange& b) { return a.path < b.path; });
  return out;
}

std::string renderDiff(const ObjectRef& ref, const std::vector<FieldChange>& changes, bool redact) {
  redact = redact || ref.kind == "Secret";
  const auto value = [&](const Json& v, const std::string& path) {
    if (!redact) return shown(v);
    if (sensitivePath(path)) return std::string("(sensitive)");
    return shown(scrub(v, path));
  };
  std::string out;
  for (const auto& c : changes) {
    if (c.before && c.after) {
      out += "  ~ " + c.path + ": " + value(*c.before, c.path) + " → " + value(*c.after, c.path);
    } else if (c.after) {
      out += "  + " + c.path + ": " + value(*c.after, c.path);
    } else if (c.before) {
      out += "  - " + c.path;
    } else {
      out += "  ~ " + c.path;
    }
    out += '\n';
  }
  return out;
}

}  // namespace ca4::drivers::kube
