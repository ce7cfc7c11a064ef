#include "ca4/drivers/kube/objects.h"

#include <yaml-cpp/yaml.h>

#include <charconv>
#include <cstdint>
#include <limits>
#include <optional>

#include "yaml_json.h"

namespace ca4::drivers::kube {

// ---------------------------------------------------------------------------------------------
// ObjectRef

std::string ObjectRef::group() const {
  const auto slash = apiVersion.find('/');
  return slash == std::string::npos ? std::string() : apiVersion.substr(0, slash);
}

std::string ObjectRef::version() const {
  const auto slash = apiVersion.find('/');
  return slash == std::string::npos ? apiVersion : apiVersion.substr(slash + 1);
}

std::string ObjectRef::str() const {
  return ns.empty() ? kind + "/" + name : kind + "/" + ns + "/" + name;
}

Json ObjectRef::toJson() const {
  return Json{{"apiVersion", apiVersion}, {"kind", kind}, {"namespace", ns}, {"name", name}};
}

Result<ObjectRef> ObjectRef::fromJson(const Json& j) {
  if (!j.is_object()) return Error::terminal("object ref: expected a JSON object");
  ObjectRef ref;
  const std::pair<const char*, std::string*> fields[] = {
      {"apiVersion", &ref.apiVersion}, {"kind", &ref.kind}, {"name", &ref.name}};
  for (const auto& [key, out] : fields) {
    const auto it = j.find(key);
    if (it == j.end() || !it->is_string() || it->get_ref<const std::string&>().empty())
      return Error::terminal(std::string("object ref: \"") + key + "\" must be a non-empty string");
    *out = it->get<std::string>();
  }
  if (const auto it = j.find("namespace"); it != j.end() && !it->is_null()) {
    if (!it->is_string()) return Error::terminal("object ref: \"namespace\" must be a string");
    ref.ns = it->get<std::string>();
  }
  return ref;
}

ObjectRef refOf(const Json& obj) {
  ObjectRef ref;
  if (!obj.is_object()) return ref;
  const auto str = [](const Json& o, const char* key) -> std::string {
    const auto it = o.find(key);
    return it != o.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  ref.apiVersion = str(obj, "apiVersion");
  ref.kind = str(obj, "kind");
  if (const auto md = obj.find("metadata"); md != obj.end() && md->is_object()) {
    ref.ns = str(*md, "namespace");
    ref.name = str(*md, "name");
  }
  return ref;
}

// ---------------------------------------------------------------------------------------------
// YAML → JSON

namespace detail {
namespace {

constexpr int kMaxDepth = 256;                // a cyclic alias (`&a [*a]`) ends here
constexpr std::size_t kMaxNodes = 1'000'000;  // alias expansion ("billion laughs") ends here
constexpr std::string_view kTagPrefix = "tag:yaml.org,2002:";

bool isNullText(std::string_view s) {
  return s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL";
}

std::optional<bool> boolText(std::string_view s) {
  if (s == "true" || s == "True" || s == "TRUE") return true;
  if (s == "false" || s == "False" || s == "FALSE") return false;
  return std::nullopt;
}

bool isDigit(char c) { return c >= '0' && c <= '9'; }

int digitValue(char c) {
  if (isDigit(c)) return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return 99;
}

// Integers: [-+]? then 0x<hex> | 0o<octal> | <decimal digits>. A sign is accepted on every form
// and a leading-zero literal of octal digits (0644) is octal, as the Go YAML libraries behind
// kubectl and kustomize read it (YAML 1.2 core would say decimal 644; see README).
std::optional<Json> intText(std::string_view s) {
  bool negative = false;
  if (!s.empty() && (s[0] == '+' || s[0] == '-')) {
    negative = s[0] == '-';
    s.remove_prefix(1);
  }
  int base = 10;
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
    base = 16;
    s.remove_prefix(2);
  } else if (s.size() > 2 && s[0] == '0' && s[1] == 'o') {
    base = 8;
    s.remove_prefix(2);
  }
  if (s.empty()) return std::nullopt;
  for (char c : s)
    if (digitValue(c) >= base) return std::nullopt;
  if (base == 10 && s.size() > 1 && s[0] == '0' && s.find_first_of("89") == std::string_view::npos)
    base = 8;

  std::uint64_t mag = 0;
  bool overflow = false;
  long double approx = 0;
  for (char c : s) {
    const auto d = static_cast<std::uint64_t>(digitValue(c));
    approx = approx * base + static_cast<long double>(d);
    if (mag > (std::numeric_limits<std::uint64_t>::max() - d) / static_cast<std::uint64_t>(base))
      overflow = true;
    else
      mag = mag * static_cast<std::uint64_t>(base) + d;
  }
  constexpr auto kMaxI64 = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
  if (overflow) return Json(static_cast<double>(negative ? -approx : approx));
  if (!negative) {
    if (mag <= kMaxI64) return Json(static_cast<std::int64_t>(mag));
    return Json(mag);
  }
  if (mag <= kMaxI64) return Json(-static_cast<std::int64_t>(mag));
  if (mag == kMaxI64 + 1) return Json(std::numeric_limits<std::int64_t>::min());
  return Json(-static_cast<double>(mag));
}

// [-+]? ( \. [0-9]+ | [0-9]+ ( \. [0-9]* )? ) ( [eE] [-+]? [0-9]+ )?
bool floatSyntax(std::string_view s) {
  std::size_t i = 0;
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
  std::size_t intDigits = 0, fracDigits = 0;
  while (i < s.size() && isDigit(s[i])) ++i, ++intDigits;
  if (i < s.size() && s[i] == '.') {
    ++i;
    while (i < s.size() && isDigit(s[i])) ++i, ++fracDigits;
  }
  if (intDigits == 0 && fracDigits == 0) return false;
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
    std::size_t expDigits = 0;
    while (i < s.size() && isDigit(s[i])) ++i, ++expDigits;
    if (expDigits == 0) return false;
  }
  return i == s.size();
}

// nullopt: not a float; a JSON string value: the error message.
std::optional<Json> floatText(std::string_view s, std::string& error) {
  std::string_view body = s;
  bool negative = false;
  if (!body.empty() && (body[0] == '+' || body[0] == '-')) {
    negative = body[0] == '-';
    body.remove_prefix(1);
  }
  if (body == ".inf" || body == ".Inf" || body == ".INF")
    return Json(negative ? -std::numeric_limits<double>::infinity()
                         : std::numeric_limits<double>::infinity());
  if (s == ".nan" || s == ".NaN" || s == ".NAN")
    return Json(std::numeric_limits<double>::quiet_NaN());
  if (!floatSyntax(s)) return std::nullopt;
  double v = 0;
  const auto r = std::from_chars(body.data(), body.data() + body.size(), v);
  if (r.ec != std::errc() || r.ptr != body.data() + body.size()) {
    error = "number " + std::string(s) + " is out of range";
    return std::nullopt;
  }
  return Json(negative ? -v : v);
}

struct Converter {
  std::size_t nodes = 0;
  YAML::Mark errMark;
  std::string errMessage;

  bool fail(const YAML::Node& n, std::string message) {
    errMark = n.Mark();
    errMessage = std::move(message);
    return false;
  }

  bool scalar(const YAML::Node& n, Json& out) {
    const std::string& tag = n.Tag();
    const std::string& text = n.Scalar();
    std::string error;
    if (tag == "!") {  // quoted or block scalar, or the non-specific tag `!`
      out = text;
      return true;
    }
    if (tag == "?") {  // plain scalar: YAML 1.2 core schema
      if (isNullText(text)) {
        out = nullptr;
      } else if (const auto b = boolText(text)) {
        out = *b;
      } else if (auto i = intText(text)) {
        out = std::move(*i);
      } else if (auto f = floatText(text, error)) {
        out = std::move(*f);
      } else if (!error.empty()) {
        return fail(n, error);
      } else {
        out = text;
      }
      return true;
    }
    if (tag.rfind(kTagPrefix, 0) == 0) {
      const std::string_view t = std::string_view(tag).substr(kTagPrefix.size());
      if (t == "str") {
        out = text;
        return true;
      }
      if (t == "null" && isNullText(text)) {
        out = nullptr;
        return true;
      }
      if (t == "bool") {
        if (const auto b = boolText(text)) {
          out = *b;
          return true;
        }
      }
      if (t == "int") {
        if (auto i = intText(text)) {
          out = std::move(*i);
          return true;
        }
      }
      if (t == "float") {
        if (auto f = floatText(text, error)) {
          out = std::move(*f);
          return true;
        }
        if (error.empty()) {
          if (auto i = intText(text)) {
            out = i->get<double>();
            return true;
          }
        }
        if (!error.empty()) return fail(n, error);
      }
      if (t == "null" || t == "bool" || t == "int" || t == "float")
        return fail(n, "\"" + text + "\" is not a valid !!" + std::string(t));
    }
    return fail(n, "unsupported tag " + shortTag(tag) +
                       " (supported: !!str, !!int, !!float, "
                       "!!bool, !!null)");
  }

  static std::string shortTag(const std::string& tag) {
    if (tag.rfind(kTagPrefix, 0) == 0) return "!!" + tag.substr(kTagPrefix.size());
    return tag;
  }

  bool collectionTagOk(const YAML::Node& n, std::string_view expected) {
    const std::string& tag = n.Tag();
    if (tag.empty() || tag == "?" || tag == "!" ||
        tag == std::string(kTagPrefix) + std::string(expected))
      return true;
    return fail(n, "unsupported tag " + shortTag(tag) + " on a " +
                       (expected == "map" ? "mapping" : "sequence"));
  }

  bool convert(const YAML::Node& n, Json& out, int depth) {
    if (++nodes > kMaxNodes)
      return fail(n, "document too large (more than 1000000 nodes after alias expansion)");
    if (depth > kMaxDepth) return fail(n, "nesting deeper than 256 levels (or a recursive alias)");
    switch (n.Type()) {
      case YAML::NodeType::Undefined:
      case YAML::NodeType::Null:
        // yaml-cpp turns untagged plain ~/null/empty into Null nodes (tag ""); a tagged empty
        // scalar stays a Scalar.
        out = nullptr;
        return true;
      case YAML::NodeType::Scalar:
        return scalar(n, out);
      case YAML::NodeType::Sequence: {
        if (!collectionTagOk(n, "seq")) return false;
        out = Json::array();
        for (const auto& item : n) {
          Json v;
          if (!convert(item, v, depth + 1)) return false;
          out.push_back(std::move(v));
        }
        return true;
      }
      case YAML::NodeType::Map: {
        if (!collectionTagOk(n, "map")) return false;
        out = Json::object();
        for (const auto& kv : n) {
          std::string key;
          if (kv.first.IsNull()) {
            key = "null";
          } else if (kv.first.IsScalar()) {
            key = kv.first.Scalar();
          } else {
            return fail(kv.first, "a mapping key must be a scalar");
          }
          if (key == "<<" && kv.first.Tag() == "?")
            return fail(kv.first, "merge keys (<<) are not supported; write the fields out");
          if (out.contains(key)) return fail(kv.first, "duplicate key \"" + key + "\"");
          Json v;
          if (!convert(kv.second, v, depth + 1)) return false;
          out[key] = std::move(v);
        }
        return true;
      }
    }
    return fail(n, "unexpected YAML node");
  }
};

// Position of `key`'s value in mapping `map` (the mapping's own mark when absent).
YAML::Mark markOf(const YAML::Node& map, std::string_view key) {
  if (map.IsMap()) {
    for (const auto& kv : map)
      if (kv.first.IsScalar() && kv.first.Scalar() == key) {
        const YAML::Mark m = kv.second.Mark();
        return m.is_null() ? kv.first.Mark() : m;
      }
  }
  return map.Mark();
}

YAML::Node child(const YAML::Node& map, std::string_view key) {
  if (map.IsMap()) {
    for (const auto& kv : map)
      if (kv.first.IsScalar() && kv.first.Scalar() == key) return kv.second;
  }
  return YAML::Node(YAML::NodeType::Undefined);
}

std::string describe(const Json& v) {
  switch (v.type()) {
    case Json::value_t::null:
      return "null";
    case Json::value_t::object:
      return "a mapping";
    case Json::value_t::array:
      return "a list";
    case Json::value_t::string:
      return "a string";
    case Json::value_t::boolean:
      return "a boolean";
    default:
      return "a number";
  }
}

// One object: a mapping with string apiVersion, kind and metadata.name.
std::optional<Error> checkObject(const Json& obj, const YAML::Node& node,
                                 const std::string& source) {
  const auto err = [&](const YAML::Mark& m, const std::string& msg) {
    return Error::terminal(location(source, m) + ": " + msg,
                           "every document must be a Kubernetes object with apiVersion, kind and "
                           "metadata.name");
  };
  if (!obj.is_object())
    return err(node.Mark(), "expected a Kubernetes object (a mapping), got " + describe(obj));
  for (const char* key : {"apiVersion", "kind"}) {
    const auto it = obj.find(key);
    if (it == obj.end()) return err(node.Mark(), std::string(key) + ": required");
    if (!it->is_string() || it->get_ref<const std::string&>().empty())
      return err(markOf(node, key),
                 std::string(key) + ": expected a non-empty string, got " + describe(*it));
  }
  const std::string kind = obj["kind"].get<std::string>();
  const auto md = obj.find("metadata");
  if (md == obj.end()) return err(node.Mark(), "metadata.name: required (" + kind + ")");
  const YAML::Node mdNode = child(node, "metadata");
  if (!md->is_object())
    return err(markOf(node, "metadata"), "metadata: expected a mapping, got " + describe(*md));
  const auto name = md->find("name");
  if (name == md->end()) return err(mdNode.Mark(), "metadata.name: required (" + kind + ")");
  if (!name->is_string() || name->get_ref<const std::string&>().empty())
    return err(markOf(mdNode, "name"),
               "metadata.name: expected a non-empty string, got " + describe(*name));
  return std::nullopt;
}

}  // namespace

std::string location(const std::string& source, const YAML::Mark& mark) {
  if (mark.is_null() || mark.line < 0) return source;
  return source + ":" + std::to_string(mark.line + 1) + ":" + std::to_string(mark.column + 1);
}

bool yamlToJson(const YAML::Node& node, Json& out, YAML::Mark& mark, std::string& message) {
  Converter c;
  if (c.convert(node, out, 0)) return true;
  mark = c.errMark;
  message = std::move(c.errMessage);
  return false;
}

bool isCoreBool(const YAML::Node& node, bool& value) {
  if (!node.IsScalar() || node.Tag() == "!") return false;
  if (node.Tag() != "?" && node.Tag() != std::string(kTagPrefix) + "bool") return false;
  const auto b = boolText(node.Scalar());
  if (!b) return false;
  value = *b;
  return true;
}

bool validUtf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    std::size_t len = 0;
    std::uint32_t cp = 0;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      len = 2, cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3, cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4, cp = c & 0x07;
    } else {
      return false;
    }
    if (i + len > s.size()) return false;
    for (std::size_t k = 1; k < len; ++k) {
      const auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
        cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
      return false;
    i += len;
  }
  return true;
}

Result<std::vector<Located>> parseManifestsLocated(std::string_view yaml,
                                                   const std::string& source) {
  std::vector<YAML::Node> docs;
  try {
    docs = YAML::LoadAll(std::string(yaml));
  } catch (const YAML::Exception& e) {
    return Error::terminal(location(source, e.mark) + ": " + e.msg, "fix the YAML syntax");
  }
  std::vector<Located> out;
  for (const auto& doc : docs) {
    if (!doc.IsDefined() || doc.IsNull()) continue;  // empty document ("---" alone, comments)
    Json obj;
    YAML::Mark mark;
    std::string message;
    if (!yamlToJson(doc, obj, mark, message))
      return Error::terminal(location(source, mark) + ": " + message);
    if (obj.is_object()) {
      const auto kind = obj.find("kind");
      if (kind != obj.end() && *kind == "List") {
        const YAML::Node itemsNode = child(doc, "items");
        const auto items = obj.find("items");
        if (items == obj.end() || items->is_null()) continue;
        if (!items->is_array())
          return Error::terminal(location(source, markOf(doc, "items")) +
                                 ": items: expected a list, got " + describe(*items));
        std::size_t i = 0;
        for (const auto& itemNode : itemsNode) {
          Json& item = (*items)[i++];
          if (auto e = checkObject(item, itemNode, source)) return *e;
          out.push_back({std::move(item), location(source, itemNode.Mark())});
        }
        continue;
      }
    }
    if (auto e = checkObject(obj, doc, source)) return *e;
    out.push_back({std::move(obj), location(source, doc.Mark())});
  }
  return out;
}

}  // namespace detail

Result<std::vector<Json>> parseManifests(std::string_view yaml, const std::string& source) {
  auto located = detail::parseManifestsLocated(yaml, source);
  if (!located) return located.error();
  std::vector<Json> out;
  out.reserve(located->size());
  for (auto& l : *located) out.push_back(std::move(l.object));
  return out;
}

}  // namespace ca4::drivers::kube
