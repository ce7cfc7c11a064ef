// ObjectStore over libcurl (HTTP/1.1 PUT, keep-alive, up to `parallel` transfers at once via
// curl_multi), signed with the pure SigV4 signer (sigv4.h). Path-style URLs
// (<endpoint>/<bucket>/<key>) by default, as MinIO/moto and most S3-compatible servers expect;
// virtual-hosted style (<bucket>.<endpoint host>) when path_style is false.
// Not thread-safe: used by the consumer loop only.
#pragma once

#include <ca4/worker/holders.h>
#include <ca4/common/sigv4.h>
#include <ca4/worker/stores.h>

#include <memory>
#include <string>
#include <vector>

namespace ca4::worker {

struct S3Options {
  std::string endpoint;  // "http://127.0.0.1:9000" or "https://s3.us-east-1.amazonaws.com"
  std::string bucket;
  std::string region = "us-east-1";
  sigv4::Credentials credentials;  // from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY; never logged
  bool path_style = true;
  long timeout_ms = 10000;
  int parallel = 8;
  std::string tls_ca_file;  // optional CA bundle for https endpoints
};

class S3ObjectStore final : public ObjectStore {
 public:
  explicit S3ObjectStore(S3Options options);
  std::vector<std::optional<Error>> put(std::span<const ObjectPut> objects) override;

  // What a PUT of `key` looks like (URL, headers including Authorization) at `unix_seconds`;
  // pure, used by put() and by tests.
  struct PreparedPut {
    std::string url;
    std::vector<std::string> headers;  // "Name: value"
  };
  PreparedPut preparePut(const ObjectPut& object, std::int64_t unix_seconds) const;

 private:
  S3Options options_;
  std::string scheme_host_;  // "http://127.0.0.1:9000"
  std::string host_header_;  // "127.0.0.1:9000" (or "<bucket>.host" for virtual-hosted)
  std::string base_path_;    // "/<bucket>" for path style, "" otherwise
  CurlMulti multi_;
  std::vector<CurlHandle> easy_;  // reused between calls for keep-alive
};

// The <Code> of an S3 XML error body, "" if none.
std::string s3ErrorCode(std::string_view body);

}  // namespace ca4::worker
