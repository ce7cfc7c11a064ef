// API keys: loading and constant-time verification.
//
// Key file format (--api-keys-file), one key per line:
//     # comment
//     colab-prod:3f9c0c…        name:key  (the name is what logs and metrics show)
//     9a7e51…                   bare key  (named "sha256:<first 8 hex of its digest>")
// Environment (CA4_API_KEYS): the same entries separated by commas.
// Keys are 8..256 printable ASCII characters without spaces, quotes or commas.
//
// Verification hashes the presented key with SHA-256 and compares the digest against every
// stored digest with CRYPTO_memcmp, without an early exit, so the time taken does not depend
// on which key (if any) matched or on how many leading bytes were right.
// Thread-safety: ApiKeyStore is immutable after construction; authenticate() is re-entrant.
#pragma once

#include "ca4/processor/result.h"

#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ca4::processor {

struct ApiKey {
  std::string name;
  std::string key;
};

// Parses the key-file format above. Errors name the line ("line 3: …") and never echo a key.
Result<std::vector<ApiKey>> parseApiKeys(std::string_view text, std::string_view origin);
// Parses CA4_API_KEYS (comma-separated entries).
Result<std::vector<ApiKey>> parseApiKeysEnv(std::string_view csv);
// Reads and parses a key file; a missing or unreadable file is an error naming the path.
Result<std::vector<ApiKey>> loadApiKeysFile(const std::string& path);

using Sha256Digest = std::array<unsigned char, 32>;
Sha256Digest sha256(std::string_view data);

class ApiKeyStore {
 public:
  // Duplicate names or keys are rejected by validateKeys(); the constructor trusts its input.
  explicit ApiKeyStore(const std::vector<ApiKey>& keys);

  // Returns the key's name when `authorization` is "Bearer <known key>" (scheme is
  // case-insensitive), nullopt otherwise.
  std::optional<std::string> authenticate(std::optional<std::string_view> authorization) const;
  std::size_t size() const { return entries_.size(); }

 private:
  struct Entry {
    std::string name;
    Sha256Digest digest;
  };
  std::vector<Entry> entries_;
};

// Rejects duplicate names and duplicate keys (across file and environment).
Result<std::vector<ApiKey>> validateKeys(std::vector<ApiKey> keys);

}  // namespace ca4::processor
