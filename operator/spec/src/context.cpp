#include "context.h"

#include <algorithm>

namespace ca4::spec {

std::string Diagnostic::str() const {
  std::string s = file;
  if (line > 0) s += ":" + std::to_string(line) + ":" + std::to_string(column);
  s += ": ";
  if (!path.empty()) s += path + ": ";
  s += message;
  if (!fix.empty()) s += " (fix: " + fix + ")";
  return s;
}

namespace detail {

Mark markOf(const YAML::Mark& m) {
  if (m.is_null() || m.line < 0 || m.column < 0) return {};
  return {m.line + 1, m.column + 1};
}

Mark markOf(const YAML::Node& n) {
  if (!n.IsDefined()) return {};
  return markOf(n.Mark());
}

std::string parentPath(const std::string& path) {
  if (!path.empty() && path.back() == ']') {
    const auto open = path.rfind('[');
    return open == std::string::npos ? std::string{} : path.substr(0, open);
  }
  const auto dot = path.rfind('.');
  return dot == std::string::npos ? std::string{} : path.substr(0, dot);
}

void Positions::record(const std::string& path, Mark key, Mark value) { at_[path] = {key, value}; }

Mark Positions::valueOf(const std::string& path) const {
  if (auto it = at_.find(path); it != at_.end()) return it->second.second;
  for (auto p = parentPath(path);; p = parentPath(p)) {
    if (auto it = at_.find(p); it != at_.end()) return it->second.first;
    if (p.empty()) return {};
  }
}

void Context::error(Mark at, std::string path, std::string message, std::string fix) {
  diagnostics_.push_back(
      Diagnostic{file_, at.line, at.column, std::move(path), std::move(message), std::move(fix)});
}

std::vector<Diagnostic> Context::take() {
  std::stable_sort(diagnostics_.begin(), diagnostics_.end(),
                   [](const Diagnostic& a, const Diagnostic& b) {
                     return a.line != b.line ? a.line < b.line : a.column < b.column;
                   });
  return std::move(diagnostics_);
}

}  // namespace detail
}  // namespace ca4::spec
