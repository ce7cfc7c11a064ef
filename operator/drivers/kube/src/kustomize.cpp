// loadKustomization: the subset of kustomize ca4's manifests use (see objects.h). Reads files;
// everything else is pure.
#include <ca4/common/base64.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>

#include "ca4/drivers/kube/objects.h"
#include "yaml_json.h"

namespace ca4::drivers::kube {
namespace {

namespace fs = std::filesystem;
using engine::Status;
using engine::Unit;

constexpr const char* kFileNames[] = {"kustomization.yaml", "kustomization.yml", "Kustomization"};
constexpr const char* kSupportedTop =
    "apiVersion, kind, resources, configMapGenerator, generatorOptions, labels";
constexpr const char* kSupportedGenerator = "name, namespace, behavior, files, literals, options";
constexpr const char* kSupportedOptions = "labels, annotations";
constexpr const char* kSupportedGeneratorOptions = "disableNameSuffixHash, labels, annotations";

// ConfigMap keys: [-._a-zA-Z0-9]+, at most 253 characters, not "." or "..".
bool validConfigMapKey(std::string_view k) {
  if (k.empty() || k.size() > 253 || k == "." || k == "..") return false;
  return std::all_of(k.begin(), k.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '.';
  });
}

std::optional<std::string> readFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return std::nullopt;
  return ss.str();
}

class Loader {
 public:
  explicit Loader(fs::path root) : root_(std::move(root)) {}

  std::vector<detail::Located> objects;

  // `canon`: the directory, canonical; `shown`: the same directory as the user would write it.
  Status load(const fs::path& canon, const fs::path& shown) {
    if (std::find(stack_.begin(), stack_.end(), canon) != stack_.end()) {
      std::string chain;
      for (const auto& d : stack_) chain += d.string() + " → ";
      return Error::terminal("kustomization cycle: " + chain + canon.string(),
                             "remove the resources entry that includes a parent directory");
    }
    stack_.push_back(canon);
    auto s = loadDir(canon, shown);
    stack_.pop_back();
    return s;
  }

 private:
  fs::path root_;
  std::vector<fs::path> stack_;
  std::string file_;  // the kustomization file being read, as shown in messages

  Error at(const YAML::Node& n, const std::string& msg, std::string fix = {}) const {
    return Error::terminal(detail::location(file_, n.Mark()) + ": " + msg, std::move(fix));
  }

  // A path named in the kustomization: relative to `canon`, inside the top directory.
  Result<fs::path> resolve(const fs::path& canon, const YAML::Node& n, const std::string& field,
                           const std::string& entry) const {
    if (entry.find("://") != std::string::npos || entry.rfind("github.com/", 0) == 0 ||
        entry.rfind("git@", 0) == 0)
      return at(n, field + ": remote resource \"" + entry + "\" is not supported",
                "vendor it into the manifests directory");
    std::error_code ec;
    const fs::path target = fs::weakly_canonical(canon / entry, ec);
    if (ec) return at(n, field + ": \"" + entry + "\": " + ec.message());
    const fs::path rel = target.lexically_relative(root_);
    if (rel.empty() || *rel.begin() == "..")
      return at(n, field + ": \"" + entry + "\" is outside " + root_.string(),
                "keep every file under the kustomization's directory");
    return target;
  }

  Result<std::string> scalarText(const YAML::Node& n, const std::string& field) const {
    if (!n.IsScalar()) return at(n, field + ": expected a string");
    return n.Scalar();
  }

  Result<std::map<std::string, std::string>> stringMap(const YAML::Node& n,
                                                       const std::string& field) const {
    std::map<std::string, std::string> out;
    if (n.IsNull()) return out;
    if (!n.IsMap()) return at(n, field + ": expected a mapping of strings");
    for (const auto& kv : n) {
      if (!kv.first.IsScalar() || !kv.second.IsScalar())
        return at(kv.first, field + ": expected a mapping of strings");
      out[kv.first.Scalar()] = kv.second.Scalar();
    }
    return out;
  }

  Status unsupported(const YAML::Node& key, const std::string& where, const char* supported) const {
    return at(
        key,
        "unsupported field \"" + where + key.Scalar() + "\" (ca4ctl supports " + supported + ")",
        "remove it, or write its effect into the manifests themselves");
  }

  Status loadDir(const fs::path& canon, const fs::path& shown) {
    std::vector<const char*> found;
    for (const char* name : kFileNames) {
      std::error_code ec;
      if (fs::is_regular_file(canon / name, ec)) found.push_back(name);
    }
    if (found.empty())
      return Error::terminal("no kustomization.yaml, kustomization.yml or Kustomization in " +
                             shown.string());
    if (found.size() > 1)
      return Error::terminal(
          "found both " + (shown / found[0]).string() + " and " + (shown / found[1]).string(),
          "keep one kustomization file per directory");
    const fs::path path = canon / found[0];
    const std::string file = (shown / found[0]).lexically_normal().string();
    file_ = file;
    const auto text = readFile(path);
    if (!text) return Error::terminal(file + ": cannot read", "check the file's permissions");

    std::vector<YAML::Node> docs;
    try {
      docs = YAML::LoadAll(*text);
    } catch (const YAML::Exception& e) {
      return Error::terminal(detail::location(file, e.mark) + ": " + e.msg, "fix the YAML syntax");
    }
    docs.erase(
        std::remove_if(docs.begin(), docs.end(), [](const YAML::Node& d) { return d.IsNull(); }),
        docs.end());
    if (docs.empty()) return Unit{};
    if (docs.size() > 1) return at(docs[1], "a kustomization is a single YAML document");
    const YAML::Node& root = docs[0];
    if (!root.IsMap()) return at(root, "expected a mapping");

    YAML::Node resources, generators, generatorsKey, options, labels;
    bool hasOptions = false;
    const std::size_t first = objects.size();  // this kustomization's objects start here
    for (const auto& kv : root) {
      const std::string key = kv.first.IsScalar() ? kv.first.Scalar() : std::string();
      if (key == "apiVersion") {
        if (!kv.second.IsScalar() || kv.second.Scalar() != "kustomize.config.k8s.io/v1beta1")
          return at(kv.second, "apiVersion: expected kustomize.config.k8s.io/v1beta1");
      } else if (key == "kind") {
        if (!kv.second.IsScalar() || kv.second.Scalar() != "Kustomization")
          return at(kv.second, "kind: expected Kustomization");
      } else if (key == "resources") {
        resources = kv.second;
      } else if (key == "configMapGenerator") {
        generators = kv.second;
        generatorsKey = kv.first;
      } else if (key == "generatorOptions") {
        options = kv.second;
        hasOptions = true;
      } else if (key == "labels") {
        labels = kv.second;
      } else {
        return unsupported(kv.first, "", kSupportedTop);
      }
    }

    // generatorOptions first: it decides whether the generators below are acceptable.
    std::map<std::string, std::string> commonLabels, commonAnnotations;
    if (hasOptions) {
      if (!options.IsMap()) return at(options, "generatorOptions: expected a mapping");
      bool disableHash = false;
      for (const auto& kv : options) {
        const std::string key = kv.first.IsScalar() ? kv.first.Scalar() : std::string();
        if (key == "disableNameSuffixHash") {
          if (!detail::isCoreBool(kv.second, disableHash))
            return at(kv.second, "generatorOptions.disableNameSuffixHash: expected true or false");
        } else if (key == "labels") {
          auto m = stringMap(kv.second, "generatorOptions.labels");
          if (!m) return m.error();
          commonLabels = std::move(*m);
        } else if (key == "annotations") {
          auto m = stringMap(kv.second, "generatorOptions.annotations");
          if (!m) return m.error();
          commonAnnotations = std::move(*m);
        } else {
          return unsupported(kv.first, "generatorOptions.", kSupportedGeneratorOptions);
        }
      }
      if (!disableHash)
        return at(options,
                  "generatorOptions.disableNameSuffixHash must be true: ca4ctl does not "
                  "reproduce kustomize's name hash suffix",
                  "set generatorOptions.disableNameSuffixHash: true");
    }

    if (resources.IsDefined() && !resources.IsNull()) {
      if (!resources.IsSequence()) return at(resources, "resources: expected a list of paths");
      for (const auto& item : resources) {
        if (auto s = loadResource(canon, shown, item); !s) return s;
        file_ = file;  // a nested kustomization changed it
      }
    }

    if (generators.IsDefined() && !generators.IsNull()) {
      if (!generators.IsSequence()) return at(generators, "configMapGenerator: expected a list");
      if (!hasOptions && generators.size() > 0)
        return at(generatorsKey,
                  "configMapGenerator needs generatorOptions.disableNameSuffixHash: true (ca4ctl "
                  "does not reproduce kustomize's name hash suffix)",
                  "add generatorOptions: {disableNameSuffixHash: true}");
      std::size_t i = 0;
      for (const auto& g : generators) {
        auto cm = generate(canon, g, i++, commonLabels, commonAnnotations);
        if (!cm) return cm.error();
        objects.push_back(
            {std::move(*cm), detail::location(file, g.Mark()) + " (configMapGenerator)"});
      }
    }

    // labels: [{pairs: {k: v}}]: added to metadata.labels of every object of this kustomization
    // (selectors and pod templates untouched: includeSelectors/includeTemplates must be false).
    if (labels.IsDefined() && !labels.IsNull()) {
      if (!labels.IsSequence()) return at(labels, "labels: expected a list of {pairs: {…}}");
      std::map<std::string, std::string> add;
      for (const auto& entry : labels) {
        if (!entry.IsMap()) return at(entry, "labels: expected {pairs: {…}}");
        for (const auto& kv : entry) {
          const std::string key = kv.first.IsScalar() ? kv.first.Scalar() : std::string();
          if (key == "pairs") {
            auto m = stringMap(kv.second, "labels.pairs");
            if (!m) return m.error();
            for (auto& [k, v] : *m) add[k] = v;
          } else if (key == "includeSelectors" || key == "includeTemplates") {
            bool b = true;
            if (!detail::isCoreBool(kv.second, b) || b)
              return at(kv.second, "labels." + key + ": only false is supported by ca4ctl",
                        "set " + key + ": false and write selector/template labels into the manifests");
          } else {
            return unsupported(kv.first, "labels.", "pairs, includeSelectors, includeTemplates");
          }
        }
      }
      for (std::size_t i = first; i < objects.size(); ++i) {
        auto& meta = objects[i].object["metadata"];
        for (const auto& [k, v] : add) meta["labels"][k] = v;
      }
    }
    return Unit{};
  }

  Status loadResource(const fs::path& canon, const fs::path& shown, const YAML::Node& item) {
    auto entry = scalarText(item, "resources");
    if (!entry) return entry.error();
    auto target = resolve(canon, item, "resources", *entry);
    if (!target) return target.error();
    const fs::path shownTarget = (shown / *entry).lexically_normal();
    std::error_code ec;
    if (fs::is_directory(*target, ec)) return load(*target, shownTarget);
    if (!fs::exists(*target, ec)) return at(item, "resources: \"" + *entry + "\" does not exist");
    const std::string ext = target->extension().string();
    if (ext != ".yaml" && ext != ".yml" && ext != ".json")
      return at(item, "resources: \"" + *entry +
                          "\": expected a .yaml, .yml or .json file or a directory with a "
                          "kustomization");
    const auto text = readFile(*target);
    if (!text) return at(item, "resources: cannot read \"" + *entry + "\"");
    auto parsed = detail::parseManifestsLocated(*text, shownTarget.string());
    if (!parsed) return parsed.error();
    for (auto& l : *parsed) objects.push_back(std::move(l));
    return Unit{};
  }

  Result<Json> generate(const fs::path& canon, const YAML::Node& g, std::size_t index,
                        std::map<std::string, std::string> labels,
                        std::map<std::string, std::string> annotations) const {
    const std::string field = "configMapGenerator[" + std::to_string(index) + "]";
    if (!g.IsMap()) return at(g, field + ": expected a mapping");
    std::string name, ns;
    std::map<std::string, std::string> data, binaryData;
    const auto addKey = [&](const YAML::Node& n, const std::string& key, std::string value,
                            bool utf8) -> Status {
      if (!validConfigMapKey(key))
        return at(n, field + ": \"" + key + "\" is not a valid ConfigMap key ([-._a-zA-Z0-9]+)");
      if (data.count(key) || binaryData.count(key))
        return at(n, field + ": key \"" + key + "\" is defined twice");
      (utf8 ? data : binaryData)[key] = std::move(value);
      return Unit{};
    };
    for (const auto& kv : g) {
      const std::string key = kv.first.IsScalar() ? kv.first.Scalar() : std::string();
      if (key == "name") {
        auto s = scalarText(kv.second, field + ".name");
        if (!s) return s.error();
        name = *s;
      } else if (key == "namespace") {
        auto s = scalarText(kv.second, field + ".namespace");
        if (!s) return s.error();
        ns = *s;
      } else if (key == "behavior") {
        if (!kv.second.IsScalar() || kv.second.Scalar() != "create")
          return at(kv.second, field + ".behavior: only \"create\" is supported",
                    "remove behavior (merge and replace need a base ConfigMap)");
      } else if (key == "literals") {
        if (kv.second.IsNull()) continue;
        if (!kv.second.IsSequence()) return at(kv.second, field + ".literals: expected a list");
        for (const auto& lit : kv.second) {
          auto s = scalarText(lit, field + ".literals");
          if (!s) return s.error();
          const auto eq = s->find('=');
          if (eq == std::string::npos)
            return at(lit, field + ".literals: \"" + *s + "\" is not key=value");
          std::string value = s->substr(eq + 1);
          if (value.size() >= 2 && (value.front() == '"' || value.front() == '\'') &&
              value.back() == value.front())
            value = value.substr(1, value.size() - 2);  // as kustomize does
          if (auto st = addKey(lit, s->substr(0, eq), std::move(value), true); !st)
            return st.error();
        }
      } else if (key == "files") {
        if (kv.second.IsNull()) continue;
        if (!kv.second.IsSequence()) return at(kv.second, field + ".files: expected a list");
        for (const auto& f : kv.second) {
          auto s = scalarText(f, field + ".files");
          if (!s) return s.error();
          std::string dataKey, rel = *s;
          if (const auto eq = s->find('='); eq != std::string::npos) {
            dataKey = s->substr(0, eq);
            rel = s->substr(eq + 1);
            if (dataKey.empty() || rel.empty())
              return at(f, field + ".files: \"" + *s + "\" is not [key=]path");
          }
          auto target = resolve(canon, f, field + ".files", rel);
          if (!target) return target.error();
          std::error_code ec;
          if (!fs::is_regular_file(*target, ec))
            return at(f, field + ".files: \"" + rel + "\" is not a file");
          if (dataKey.empty()) dataKey = fs::path(rel).filename().string();
          auto content = readFile(*target);
          if (!content) return at(f, field + ".files: cannot read \"" + rel + "\"");
          const bool utf8 = detail::validUtf8(*content);
          if (auto st = addKey(f, dataKey, utf8 ? std::move(*content) : common::base64Encode(*content), utf8);
              !st)
            return st.error();
        }
      } else if (key == "options") {
        if (kv.second.IsNull()) continue;
        if (!kv.second.IsMap()) return at(kv.second, field + ".options: expected a mapping");
        for (const auto& o : kv.second) {
          const std::string okey = o.first.IsScalar() ? o.first.Scalar() : std::string();
          if (okey != "labels" && okey != "annotations")
            return unsupported(o.first, field + ".options.", kSupportedOptions).error();
          auto m = stringMap(o.second, field + ".options." + okey);
          if (!m) return m.error();
          for (auto& [k, v] : *m) (okey == "labels" ? labels : annotations)[k] = std::move(v);
        }
      } else {
        return unsupported(kv.first, field + ".", kSupportedGenerator).error();
      }
    }
    if (name.empty()) return at(g, field + ".name: required");

    Json cm{{"apiVersion", "v1"}, {"kind", "ConfigMap"}, {"metadata", {{"name", name}}}};
    if (!ns.empty()) cm["metadata"]["namespace"] = ns;
    if (!labels.empty()) cm["metadata"]["labels"] = labels;
    if (!annotations.empty()) cm["metadata"]["annotations"] = annotations;
    if (!data.empty()) cm["data"] = data;
    if (!binaryData.empty()) cm["binaryData"] = binaryData;
    return cm;
  }
};

}  // namespace

Result<std::vector<Json>> loadKustomization(const std::string& dir) {
  std::error_code ec;
  const fs::path root = fs::canonical(dir, ec);
  if (ec || !fs::is_directory(root, ec))
    return Error::terminal("kustomization directory " + dir + " does not exist");
  Loader loader(root);
  if (auto s = loader.load(root, fs::path(dir)); !s) return s.error();

  // Duplicates: kubectl apply -k refuses them too; name both places.
  std::map<ObjectRef, const std::string*> seen;
  for (const auto& l : loader.objects) {
    const auto [it, inserted] = seen.emplace(refOf(l.object), &l.where);
    if (!inserted)
      return Error::terminal("duplicate object " + it->first.str() + ": defined at " + *it->second +
                                 " and at " + l.where,
                             "keep one definition");
  }
  std::vector<Json> out;
  out.reserve(loader.objects.size());
  for (auto& l : loader.objects) out.push_back(std::move(l.object));
  return out;
}

}  // namespace ca4::drivers::kube
