#include "probes.h"

#include "ca4/drivers/http/http_client.h"
#include "ca4/drivers/kafka/admin.h"
#include "ca4/drivers/local/ports.h"
#include "ca4/drivers/mongo/probe.h"

namespace ca4::stages::local {

engine::Status httpOk(const std::string& url, const std::string& path, std::chrono::milliseconds timeout) {
  drivers::http::HttpClient http;
  auto r = http.get(url + path, timeout);
  if (!r) return r.error();
  if (r->status != 200) {
    return engine::Error::retryable("GET " + path + " answered " + std::to_string(r->status) +
                                    (r->body.empty() ? "" : ": " + r->body.substr(0, 200)));
  }
  return engine::okStatus();
}

engine::Status probe(const Component& c) {
  using engine::Error;
  if (!drivers::local::tcpOpen("127.0.0.1", c.port)) {
    return Error::retryable("port " + std::to_string(c.port) + " not listening");
  }
  const std::string hostport = "127.0.0.1:" + std::to_string(c.port);
  switch (c.probe) {
    case Probe::KafkaMetadata: {
      auto admin = drivers::kafka::Admin::create(hostport, std::chrono::seconds(2));
      if (!admin) return admin.error();
      auto info = admin->describeCluster();
      if (!info) return info.error();
      if (info->controllerId < 0) return Error::retryable("no controller elected yet");
      return engine::okStatus();
    }
    case Probe::MongoPing: {
      auto db = drivers::mongo::Probe::create({"mongodb://" + hostport + "/", "", std::chrono::seconds(2)});
      if (!db) return db.error();
      return db->ping();
    }
    case Probe::HttpOk:
      return httpOk("http://" + hostport, c.probe_path, std::chrono::seconds(2));
    case Probe::HttpAny: {
      drivers::http::HttpClient http;
      auto r = http.get("http://" + hostport + c.probe_path, std::chrono::seconds(2));
      return r ? engine::okStatus() : engine::Status(r.error());
    }
  }
  return engine::okStatus();
}

}  // namespace ca4::stages::local
