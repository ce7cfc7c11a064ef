#include "ca4/processor/auth.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>

namespace ca4::processor {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

bool validKeyChars(std::string_view key) {
  for (char c : key) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x21 || u > 0x7E || c == '"' || c == '\'' || c == ',' || c == '\\') return false;
  }
  return true;
}

bool validName(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  for (char c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.') {
      return false;
    }
  }
  return true;
}

std::string fingerprintName(std::string_view key) {
  static constexpr char kHex[] = "0123456789abcdef";
  const auto d = sha256(key);
  std::string name = "sha256:";
  for (int i = 0; i < 4; ++i) {
    name += kHex[d[i] >> 4];
    name += kHex[d[i] & 0xF];
  }
  return name;
}

// Parses one entry; `where` prefixes error messages ("line 3", "entry 2").
Result<ApiKey> parseEntry(std::string_view entry, const std::string& where) {
  ApiKey k;
  const auto colon = entry.find(':');
  std::string_view key = entry;
  if (colon != std::string_view::npos) {
    const std::string_view name = trim(entry.substr(0, colon));
    key = trim(entry.substr(colon + 1));
    if (!validName(name)) {
      return Result<ApiKey>::failure(
          where + ": key name must be 1..64 characters of [A-Za-z0-9._-] (format name:key)");
    }
    k.name = std::string(name);
  }
  if (key.size() < 8 || key.size() > 256) {
    return Result<ApiKey>::failure(where + ": key must be 8..256 characters long");
  }
  if (!validKeyChars(key)) {
    return Result<ApiKey>::failure(
        where + ": key must be printable ASCII without spaces, quotes, commas or backslashes");
  }
  k.key = std::string(key);
  if (k.name.empty()) k.name = fingerprintName(k.key);
  return Result<ApiKey>::success(std::move(k));
}

}  // namespace

Sha256Digest sha256(std::string_view data) {
  Sha256Digest out{};
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), out.data(), &len, EVP_sha256(), nullptr);
  return out;
}

Result<std::vector<ApiKey>> parseApiKeys(std::string_view text, std::string_view origin) {
  std::vector<ApiKey> keys;
  std::size_t line_no = 0;
  while (!text.empty()) {
    const auto nl = text.find('\n');
    const std::string_view line = trim(text.substr(0, nl));
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    ++line_no;
    if (line.empty() || line.front() == '#') continue;
    auto k = parseEntry(line, std::string(origin) + ":" + std::to_string(line_no));
    if (!k) return Result<std::vector<ApiKey>>::failure(k.error());
    keys.push_back(std::move(k).value());
  }
  return Result<std::vector<ApiKey>>::success(std::move(keys));
}

Result<std::vector<ApiKey>> parseApiKeysEnv(std::string_view csv) {
  std::vector<ApiKey> keys;
  std::size_t n = 0;
  while (!csv.empty()) {
    const auto comma = csv.find(',');
    const std::string_view entry = trim(csv.substr(0, comma));
    csv = comma == std::string_view::npos ? std::string_view{} : csv.substr(comma + 1);
    ++n;
    if (entry.empty()) continue;
    auto k = parseEntry(entry, "CA4_API_KEYS entry " + std::to_string(n));
    if (!k) return Result<std::vector<ApiKey>>::failure(k.error());
    keys.push_back(std::move(k).value());
  }
  return Result<std::vector<ApiKey>>::success(std::move(keys));
}

Result<std::vector<ApiKey>> loadApiKeysFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return Result<std::vector<ApiKey>>::failure("cannot read --api-keys-file " + path + ": " +
                                                std::strerror(errno));
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  return parseApiKeys(ss.str(), path);
}

Result<std::vector<ApiKey>> validateKeys(std::vector<ApiKey> keys) {
  std::set<std::string> names;
  std::set<Sha256Digest> digests;
  for (const auto& k : keys) {
    if (!names.insert(k.name).second) {
      return Result<std::vector<ApiKey>>::failure("API key name '" + k.name +
                                                  "' is used twice; names must be unique");
    }
    if (!digests.insert(sha256(k.key)).second) {
      return Result<std::vector<ApiKey>>::failure("API key '" + k.name +
                                                  "' repeats an earlier key; keys must be unique");
    }
  }
  return Result<std::vector<ApiKey>>::success(std::move(keys));
}

ApiKeyStore::ApiKeyStore(const std::vector<ApiKey>& keys) {
  entries_.reserve(keys.size());
  for (const auto& k : keys) entries_.push_back({k.name, sha256(k.key)});
}

std::optional<std::string> ApiKeyStore::authenticate(
    std::optional<std::string_view> authorization) const {
  if (!authorization) return std::nullopt;
  std::string_view h = trim(*authorization);
  constexpr std::string_view kScheme = "bearer";
  if (h.size() <= kScheme.size()) return std::nullopt;
  for (std::size_t i = 0; i < kScheme.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(h[i])) != kScheme[i]) return std::nullopt;
  }
  if (h[kScheme.size()] != ' ' && h[kScheme.size()] != '\t') return std::nullopt;
  const std::string_view presented = trim(h.substr(kScheme.size()));
  if (presented.empty()) return std::nullopt;

  // Fixed work per call: one hash, one comparison per stored key, no early exit.
  const Sha256Digest d = sha256(presented);
  const Entry* match = nullptr;
  for (const auto& e : entries_) {
    const bool equal = CRYPTO_memcmp(d.data(), e.digest.data(), d.size()) == 0;
    match = equal ? &e : match;
  }
  if (match == nullptr) return std::nullopt;
  return match->name;
}

}  // namespace ca4::processor
