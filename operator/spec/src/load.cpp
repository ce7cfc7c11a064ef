// loadString/loadFile: bounds and syntax first (size, tabs, YAML, nesting), then decode →
// defaults → validate. Every exception yaml-cpp may throw is caught here: a load never throws.
#include <yaml-cpp/eventhandler.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <system_error>

#include "context.h"
#include "names.h"

namespace ca4::spec {
namespace {

using detail::Context;
using detail::Mark;

constexpr std::size_t kMaxBytes = 1u << 20;  // 1 MiB: a ca4.yaml is a few KiB
constexpr int kMaxDepth = 64;                // the schema is 6 levels deep
constexpr std::size_t kMaxNodes = 1u << 20;  // visits, counting alias expansions (alias bombs)

// A ca4.yaml is UTF-8; other bytes would reach names, messages and the digest.
bool reportInvalidUtf8(Context& ctx, const std::string& text) {
  const auto at = detail::invalidUtf8At(text);
  if (at == std::string::npos) return false;
  const auto nl = at == 0 ? std::string::npos : text.rfind('\n', at - 1);
  const auto start = nl == std::string::npos ? 0 : nl + 1;
  const auto line =
      1 + std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(at), '\n');
  ctx.error(Mark{static_cast<int>(line), static_cast<int>(at - start) + 1}, "",
            "the file is not valid UTF-8", "save it as UTF-8");
  return true;
}

// YAML forbids tabs in indentation; yaml-cpp's messages for them are unhelpful, so find them
// first. Reports the first tab of each indented content line.
bool reportTabs(Context& ctx, const std::string& text) {
  bool found = false;
  int line = 1;
  for (std::size_t start = 0; start < text.size(); ++line) {
    auto end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    const auto content = text.find_first_not_of(" \t", start);
    if (content < end && text[content] != '#' && text[content] != '\r') {
      const auto tab = text.find('\t', start);
      if (tab < content) {
        ctx.error(Mark{line, static_cast<int>(tab - start) + 1}, "", "tab character in indentation",
                  "indent with spaces only");
        found = true;
      }
    }
    start = end + 1;
  }
  return found;
}

// Walks the tree (following aliases) to bound depth and expanded size before decoding.
bool withinBounds(Context& ctx, const YAML::Node& n, int depth, std::size_t& visits) {
  if (++visits > kMaxNodes) {
    ctx.error(n, "", "document expands to more than " + std::to_string(kMaxNodes) + " nodes",
              "remove repeated aliases (*name)");
    return false;
  }
  if (depth > kMaxDepth) {
    ctx.error(n, "", "nesting deeper than " + std::to_string(kMaxDepth) + " levels",
              "flatten the document; ca4.yaml is at most 6 levels deep");
    return false;
  }
  if (n.IsMap()) {
    for (const auto& kv : n) {
      if (!withinBounds(ctx, kv.first, depth + 1, visits) ||
          !withinBounds(ctx, kv.second, depth + 1, visits)) {
        return false;
      }
    }
  } else if (n.IsSequence()) {
    for (const auto& item : n) {
      if (!withinBounds(ctx, item, depth + 1, visits)) return false;
    }
  }
  return true;
}

// Records where each document starts; ignores everything else.
class DocumentStarts final : public YAML::EventHandler {
 public:
  std::vector<YAML::Mark> starts;
  void OnDocumentStart(const YAML::Mark& m) override { starts.push_back(m); }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t,
                const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}
};

// Parses exactly one document; nullopt after reporting. Not YAML::LoadAll: in yaml-cpp 0.7 it
// loops forever on a stray top-level ',' (jbeder/yaml-cpp#1040, fixed upstream in #1319), so
// documents are counted with a bounded loop and the first one is built with YAML::Load.
std::optional<YAML::Node> parse(Context& ctx, const std::string& text) {
  YAML::Node root;
  DocumentStarts docs;
  try {
    std::istringstream in(text);
    YAML::Parser parser(in);
    while (docs.starts.size() < 2 && parser.HandleNextDocument(docs)) {
    }
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    ctx.error(detail::markOf(e.mark), "", "YAML syntax error: " + e.msg,
              "fix the YAML at this position");
    return std::nullopt;
  }
  if (docs.starts.size() > 1) {
    const auto& at = docs.starts[1];
    const bool separator =
        at.pos >= 0 && text.compare(static_cast<std::size_t>(at.pos), 3, "---") == 0;
    ctx.error(detail::markOf(at), "",
              separator ? "expected one YAML document" : "unexpected content after the document",
              separator ? "keep one document (remove the extra --- and what follows)"
                        : "remove it, or fix the indentation so it belongs to a key");
    return std::nullopt;
  }
  if (!detail::present(root)) {
    ctx.error(Mark{}, "", "the document is empty",
              "start from the commented ca4.yaml at the repository root");
    return std::nullopt;
  }
  return root;
}

std::string baseDirOf(const std::string& file) {
  std::error_code ec;
  const auto dir = std::filesystem::path(file).parent_path();
  auto abs = std::filesystem::absolute(dir.empty() ? "." : dir, ec);
  if (ec) return dir.string();
  return abs.lexically_normal().string();
}

void loadInto(Context& ctx, const std::string& text, Pipeline& p) {
  if (text.size() > kMaxBytes) {
    ctx.error(Mark{}, "", "file is larger than 1 MiB",
              "a ca4.yaml is a few KiB; check that this is the right file");
    return;
  }
  if (text.find_first_not_of(" \t\r\n") == std::string::npos) {
    ctx.error(Mark{}, "", "the file is empty",
              "start from the commented ca4.yaml at the repository root");
    return;
  }
  if (reportInvalidUtf8(ctx, text) || reportTabs(ctx, text)) return;
  const auto root = parse(ctx, text);
  if (!root) return;
  std::size_t visits = 0;
  if (!withinBounds(ctx, *root, 0, visits)) return;
  detail::decodePipeline(ctx, *root, p);
  detail::applyDefaults(ctx.positions(), p);
  detail::validatePipeline(ctx, p);
}

}  // namespace

LoadResult loadString(const std::string& text, const std::string& file, const EnvLookup& env) {
  LoadResult result;
  Context ctx(file, env);
  Pipeline p;
  try {
    loadInto(ctx, text, p);
  } catch (const YAML::Exception& e) {  // decode is exception-free by design; belt and braces
    ctx.error(detail::markOf(e.mark), "", "cannot read the document: " + e.msg, "");
  } catch (const std::exception& e) {  // e.g. std::bad_alloc
    ctx.error(Mark{}, "", std::string("cannot read the document: ") + e.what(), "");
  }
  result.diagnostics = ctx.take();
  if (result.diagnostics.empty()) {
    p.source_path = file;
    p.base_dir = baseDirOf(file);
    result.pipeline = std::move(p);
  }
  return result;
}

LoadResult loadFile(const std::string& path, const EnvLookup& env) {
  std::ifstream in(path, std::ios::binary);
  std::error_code ec;
  const bool is_dir = std::filesystem::is_directory(path, ec);
  if (!in || is_dir) {
    LoadResult r;
    r.diagnostics.push_back(Diagnostic{path, 0, 0, "", "cannot read the file",
                                       "check the path, or pass -f path/to/ca4.yaml"});
    return r;
  }
  // Read at most one byte past the limit: loadString reports the size.
  std::string text(kMaxBytes + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<std::size_t>(in.gcount()));
  return loadString(text, path, env);
}

}  // namespace ca4::spec
