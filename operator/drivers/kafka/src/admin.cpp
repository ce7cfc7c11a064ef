#include "ca4/drivers/kafka/admin.h"

#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <mutex>
#include <thread>

namespace ca4::drivers::kafka {

namespace {

using Clock = std::chrono::steady_clock;

// RAII holders: one unique_ptr per librdkafka handle type, each freed by its own destructor.
struct Deleter {
  void operator()(rd_kafka_t* p) const noexcept { rd_kafka_destroy(p); }
  void operator()(rd_kafka_conf_t* p) const noexcept { rd_kafka_conf_destroy(p); }
  void operator()(const rd_kafka_metadata_t* p) const noexcept { rd_kafka_metadata_destroy(p); }
  void operator()(rd_kafka_queue_t* p) const noexcept { rd_kafka_queue_destroy(p); }
  void operator()(rd_kafka_event_t* p) const noexcept { rd_kafka_event_destroy(p); }
  void operator()(rd_kafka_AdminOptions_t* p) const noexcept { rd_kafka_AdminOptions_destroy(p); }
  void operator()(rd_kafka_NewTopic_t* p) const noexcept { rd_kafka_NewTopic_destroy(p); }
  void operator()(rd_kafka_NewPartitions_t* p) const noexcept { rd_kafka_NewPartitions_destroy(p); }
  void operator()(rd_kafka_DeleteTopic_t* p) const noexcept { rd_kafka_DeleteTopic_destroy(p); }
};
using KafkaHandle = std::unique_ptr<rd_kafka_t, Deleter>;
using KafkaConf = std::unique_ptr<rd_kafka_conf_t, Deleter>;
using Metadata = std::unique_ptr<const rd_kafka_metadata_t, Deleter>;
using Queue = std::unique_ptr<rd_kafka_queue_t, Deleter>;
using Event = std::unique_ptr<rd_kafka_event_t, Deleter>;
using AdminOpts = std::unique_ptr<rd_kafka_AdminOptions_t, Deleter>;
using NewTopic = std::unique_ptr<rd_kafka_NewTopic_t, Deleter>;
using NewPartitions = std::unique_ptr<rd_kafka_NewPartitions_t, Deleter>;
using DeleteTopic = std::unique_ptr<rd_kafka_DeleteTopic_t, Deleter>;

// librdkafka logs connection refusals on its own threads; a CLI does not want them on stderr.
void dropLog(const rd_kafka_t*, int, const char*, const char*) {}

}  // namespace

const char* toString(TopicChange c) {
  switch (c) {
    case TopicChange::Created:
      return "created";
    case TopicChange::PartitionsIncreased:
      return "partitions increased";
    case TopicChange::Unchanged:
      return "unchanged";
  }
  return "?";
}

std::string topicNameProblem(const std::string& name) {
  if (name.empty()) return "topic name is empty";
  if (name.size() > 249) return "topic name is longer than 249 characters";
  if (name == "." || name == "..") return "topic name cannot be \".\" or \"..\"";
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == '-';
    if (!ok) return "topic name \"" + name + "\" may only contain [A-Za-z0-9._-]";
  }
  return {};
}

TopicPlan planTopic(const std::string& name, const std::optional<TopicInfo>& observed,
                    const TopicSpec& desired) {
  TopicPlan plan;
  if (!observed) {
    plan.action = TopicAction::Create;
    return plan;
  }
  if (observed->partitions < desired.partitions)
    plan.action = TopicAction::IncreasePartitions;
  else if (observed->partitions > desired.partitions)
    plan.action = TopicAction::RefuseDecrease;
  else
    plan.action = TopicAction::None;
  if (observed->replicationFactor != desired.replicationFactor) {
    plan.replicationNote = "topic " + name + " has replication factor " +
                           std::to_string(observed->replicationFactor) + ", spec asks " +
                           std::to_string(desired.replicationFactor) +
                           "; Kafka cannot change it in place (delete and recreate the topic, "
                           "or reassign its partitions)";
  }
  return plan;
}

bool isRetryableKafkaCode(int code) {
  switch (static_cast<rd_kafka_resp_err_t>(code)) {
    // Local: no broker reachable or no answer in time.
    case RD_KAFKA_RESP_ERR__TRANSPORT:
    case RD_KAFKA_RESP_ERR__TIMED_OUT:
    case RD_KAFKA_RESP_ERR__TIMED_OUT_QUEUE:
    case RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN:
    case RD_KAFKA_RESP_ERR__RESOLVE:
    case RD_KAFKA_RESP_ERR__WAIT_COORD:
    case RD_KAFKA_RESP_ERR__NODE_UPDATE:
    // Broker: the cluster is electing, starting, loaded or throttling us; a metadata answer
    // can lag a create by a moment.
    case RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT:
    case RD_KAFKA_RESP_ERR_NOT_CONTROLLER:
    case RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE:
    case RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION:
    case RD_KAFKA_RESP_ERR_BROKER_NOT_AVAILABLE:
    case RD_KAFKA_RESP_ERR_NETWORK_EXCEPTION:
    case RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE:
    case RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS:
    case RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS:
    case RD_KAFKA_RESP_ERR_KAFKA_STORAGE_ERROR:
    case RD_KAFKA_RESP_ERR_THROTTLING_QUOTA_EXCEEDED:
    case RD_KAFKA_RESP_ERR_REASSIGNMENT_IN_PROGRESS:
    case RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART:
      return true;
    // Everything else: invalid names/counts/configs, replication factor above the broker
    // count, authorization/authentication, policy — the user must change something.
    default:
      return false;
  }
}

// ---- Admin ----

struct Admin::Impl {
  AdminOptions options;
  std::mutex lastErrorMutex;  // error_cb runs on librdkafka's threads
  std::string lastError;
  KafkaHandle rk;  // declared last: destroyed first, while lastError is still alive

  std::string where() const { return "kafka " + options.bootstrapServers; }
  int timeoutMs() const { return static_cast<int>(options.timeout.count()); }

  // error_cb runs from rd_kafka_poll() (on this thread): serve the main queue first.
  std::string takeLastError() {
    rd_kafka_poll(rk.get(), 0);
    std::lock_guard lock(lastErrorMutex);
    return lastError;
  }

  Error error(rd_kafka_resp_err_t code, const std::string& what, const char* detail = nullptr) {
    std::string msg =
        where() + ": " + what + ": " + (detail && *detail ? detail : rd_kafka_err2str(code));
    const bool transport =
        code == RD_KAFKA_RESP_ERR__TRANSPORT || code == RD_KAFKA_RESP_ERR__TIMED_OUT ||
        code == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN || code == RD_KAFKA_RESP_ERR__TIMED_OUT_QUEUE;
    if (transport) {
      msg += " (timeout " + std::to_string(options.timeout.count()) + " ms";
      if (const std::string last = takeLastError(); !last.empty()) msg += "; last error: " + last;
      msg += ")";
      return Error::retryable(std::move(msg), "is the broker running and reachable at " +
                                                  options.bootstrapServers + "?");
    }
    if (isRetryableKafkaCode(code)) return Error::retryable(std::move(msg));
    return Error::terminal(std::move(msg));
  }

  Result<Metadata> metadata() {
    const rd_kafka_metadata_t* md = nullptr;
    // all_topics=1: a request naming one topic could auto-create it on brokers with
    // auto.create.topics.enable=true (the Kafka default).
    const rd_kafka_resp_err_t err = rd_kafka_metadata(rk.get(), 1, nullptr, &md, timeoutMs());
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) return error(err, "metadata request");
    return Metadata(md);
  }

  // Issues one admin request and returns its result event (request-level errors handled).
  template <typename Issue>
  Result<Event> adminCall(rd_kafka_admin_op_t op, const std::string& what, Issue issue) {
    char errstr[512];
    AdminOpts opts(rd_kafka_AdminOptions_new(rk.get(), op));
    rd_kafka_AdminOptions_set_request_timeout(opts.get(), timeoutMs(), errstr, sizeof errstr);
    if (op != RD_KAFKA_ADMIN_OP_ANY)
      rd_kafka_AdminOptions_set_operation_timeout(opts.get(), timeoutMs(), errstr, sizeof errstr);
    Queue queue(rd_kafka_queue_new(rk.get()));
    issue(opts.get(), queue.get());
    Event ev(rd_kafka_queue_poll(queue.get(), timeoutMs() + 5000));
    if (!ev) return error(RD_KAFKA_RESP_ERR__TIMED_OUT, what);
    if (const auto err = rd_kafka_event_error(ev.get()); err != RD_KAFKA_RESP_ERR_NO_ERROR)
      return error(err, what, rd_kafka_event_error_string(ev.get()));
    return ev;
  }
};

Admin::Admin(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Admin::Admin(Admin&&) noexcept = default;
Admin& Admin::operator=(Admin&&) noexcept = default;
Admin::~Admin() = default;

const std::string& Admin::bootstrapServers() const { return impl_->options.bootstrapServers; }

Result<Admin> Admin::create(std::string bootstrapServers, std::chrono::milliseconds timeout) {
  AdminOptions o;
  o.bootstrapServers = std::move(bootstrapServers);
  o.timeout = timeout;
  return create(std::move(o));
}

Result<Admin> Admin::create(AdminOptions options) {
  if (options.bootstrapServers.empty())
    return Error::terminal("kafka: no bootstrap servers given", "set host:port[,host:port…]");
  if (options.timeout.count() <= 0) return Error::terminal("kafka: timeout must be positive");
  auto impl = std::make_unique<Impl>();
  impl->options = std::move(options);
  KafkaConf conf(rd_kafka_conf_new());
  char errstr[512];
  auto set = [&](const std::string& key, const std::string& value) -> std::optional<Error> {
    if (rd_kafka_conf_set(conf.get(), key.c_str(), value.c_str(), errstr, sizeof errstr) !=
        RD_KAFKA_CONF_OK)
      // errstr may quote the value (a password): name the key only.
      return Error::terminal("kafka: librdkafka rejected property \"" + key +
                             "\" (value not shown)");
    return std::nullopt;
  };
  const std::string tmo = std::to_string(impl->options.timeout.count());
  // librdkafka's minimum for the connection setup timeout is 1000 ms.
  const std::string setupTmo =
      std::to_string(std::max<long long>(impl->options.timeout.count(), 1000));
  for (const auto& [k, v] : std::vector<std::pair<std::string, std::string>>{
           {"bootstrap.servers", impl->options.bootstrapServers},
           {"client.id", "ca4ctl"},
           {"socket.timeout.ms", tmo},
           {"socket.connection.setup.timeout.ms", setupTmo},
           {"reconnect.backoff.ms", "100"},
           {"reconnect.backoff.max.ms", "1000"},
           {"log.connection.close", "false"}}) {
    if (auto e = set(k, v)) return *e;
  }
  for (const auto& [k, v] : impl->options.config) {
    if (auto e = set(k, v)) return *e;
  }
  rd_kafka_conf_set_log_cb(conf.get(), dropLog);
  rd_kafka_conf_set_error_cb(conf.get(), [](rd_kafka_t*, int, const char* reason, void* opaque) {
    auto* self = static_cast<Impl*>(opaque);
    std::lock_guard lock(self->lastErrorMutex);
    self->lastError = reason ? reason : "";
  });
  rd_kafka_conf_set_opaque(conf.get(), impl.get());
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf.get(), errstr, sizeof errstr);
  if (!rk) return Error::terminal(std::string("kafka: cannot create a client: ") + errstr);
  conf.release();  // owned by rk now
  impl->rk.reset(rk);
  return Admin(std::move(impl));
}

Result<ClusterInfo> Admin::describeCluster() {
  auto md = impl_->metadata();
  if (!md) return md.error();
  ClusterInfo info;
  for (int i = 0; i < (*md)->broker_cnt; ++i) {
    const auto& b = (*md)->brokers[i];
    info.brokers.push_back({b.id, b.host ? b.host : "", b.port});
  }
  if (info.brokers.empty())
    return Error::retryable(impl_->where() + ": metadata lists no broker yet");
  // Known from the metadata answer just received; the call returns at once then.
  info.controllerId = rd_kafka_controllerid(impl_->rk.get(), impl_->timeoutMs());
  return info;
}

Result<std::optional<TopicInfo>> Admin::describeTopic(const std::string& name) {
  auto md = impl_->metadata();
  if (!md) return md.error();
  for (int t = 0; t < (*md)->topic_cnt; ++t) {
    const auto& mt = (*md)->topics[t];
    if (name != mt.topic) continue;
    if (mt.err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART) return std::optional<TopicInfo>();
    if (mt.err != RD_KAFKA_RESP_ERR_NO_ERROR && mt.partition_cnt == 0)
      return impl_->error(mt.err, "describe topic " + name);
    TopicInfo info;
    info.name = name;
    info.partitions = mt.partition_cnt;
    for (int p = 0; p < mt.partition_cnt; ++p) {
      if (mt.partitions[p].id == 0) info.replicationFactor = mt.partitions[p].replica_cnt;
      if (mt.partitions[p].leader < 0) ++info.partitionsWithoutLeader;
    }
    return std::optional<TopicInfo>(info);
  }
  return std::optional<TopicInfo>();
}

Result<TopicChange> Admin::ensureTopic(const std::string& name, int partitions,
                                       int replicationFactor) {
  if (auto p = topicNameProblem(name); !p.empty()) return Error::terminal("kafka: " + p);
  if (partitions < 1)
    return Error::terminal("kafka: topic " + name + ": partitions must be >= 1, got " +
                           std::to_string(partitions));
  if (replicationFactor < 1)
    return Error::terminal("kafka: topic " + name + ": replication factor must be >= 1, got " +
                           std::to_string(replicationFactor));
  const TopicSpec desired{partitions, replicationFactor};
  const std::string spec = std::to_string(partitions) + " partitions, replication factor " +
                           std::to_string(replicationFactor);

  // Two rounds: a create can race another client (TOPIC_ALREADY_EXISTS), then plan again.
  TopicChange change = TopicChange::Unchanged;
  for (int round = 0;; ++round) {
    auto observed = describeTopic(name);
    if (!observed) return observed.error();
    const TopicPlan plan = planTopic(name, *observed, desired);
    if (plan.action == TopicAction::RefuseDecrease) {
      return Error::terminal("cannot reduce partitions of " + name + " from " +
                                 std::to_string((*observed)->partitions) + " to " +
                                 std::to_string(partitions) +
                                 "; delete the topic or raise spec.edge.kafka.partitions",
                             "Kafka can only add partitions");
    }
    if (plan.action == TopicAction::None) break;

    rd_kafka_resp_err_t code = RD_KAFKA_RESP_ERR_NO_ERROR;
    std::string detail;
    auto checkTopics = [&](const rd_kafka_topic_result_t* const* results, std::size_t n) {
      for (std::size_t i = 0; i < n; ++i) {
        if (rd_kafka_topic_result_error(results[i]) == RD_KAFKA_RESP_ERR_NO_ERROR) continue;
        code = rd_kafka_topic_result_error(results[i]);
        const char* s = rd_kafka_topic_result_error_string(results[i]);
        detail = s ? s : "";
      }
    };
    char errstr[512];
    if (plan.action == TopicAction::Create) {
      const std::string what = "create topic " + name + " (" + spec + ")";
      NewTopic nt(rd_kafka_NewTopic_new(name.c_str(), partitions, replicationFactor, errstr,
                                        sizeof errstr));
      if (!nt) return Error::terminal(impl_->where() + ": " + what + ": " + errstr);
      auto ev = impl_->adminCall(RD_KAFKA_ADMIN_OP_CREATETOPICS, what,
                                 [&](rd_kafka_AdminOptions_t* o, rd_kafka_queue_t* q) {
                                   rd_kafka_NewTopic_t* topics[] = {nt.get()};
                                   rd_kafka_CreateTopics(impl_->rk.get(), topics, 1, o, q);
                                 });
      if (!ev) return ev.error();
      std::size_t n = 0;
      const auto* res =
          rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev->get()), &n);
      checkTopics(res, n);
      if (code == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
        if (round == 0) continue;  // another client created it: plan again from what it made
        return Error::retryable(impl_->where() + ": topic " + name +
                                " exists but the metadata does not list it yet");
      }
      if (code == RD_KAFKA_RESP_ERR_INVALID_REPLICATION_FACTOR) {
        return Error::terminal(impl_->where() + ": " + what + ": " + detail,
                               "the replication factor cannot exceed the number of brokers; "
                               "lower spec.edge.kafka.replication_factor or add brokers");
      }
      if (code != RD_KAFKA_RESP_ERR_NO_ERROR) return impl_->error(code, what, detail.c_str());
      change = TopicChange::Created;
    } else {  // IncreasePartitions
      const std::string what = "raise partitions of " + name + " from " +
                               std::to_string((*observed)->partitions) + " to " +
                               std::to_string(partitions);
      NewPartitions np(rd_kafka_NewPartitions_new(
          name.c_str(), static_cast<std::size_t>(partitions), errstr, sizeof errstr));
      if (!np) return Error::terminal(impl_->where() + ": " + what + ": " + errstr);
      auto ev = impl_->adminCall(RD_KAFKA_ADMIN_OP_CREATEPARTITIONS, what,
                                 [&](rd_kafka_AdminOptions_t* o, rd_kafka_queue_t* q) {
                                   rd_kafka_NewPartitions_t* parts[] = {np.get()};
                                   rd_kafka_CreatePartitions(impl_->rk.get(), parts, 1, o, q);
                                 });
      if (!ev) return ev.error();
      std::size_t n = 0;
      const auto* res = rd_kafka_CreatePartitions_result_topics(
          rd_kafka_event_CreatePartitions_result(ev->get()), &n);
      checkTopics(res, n);
      if (code != RD_KAFKA_RESP_ERR_NO_ERROR) return impl_->error(code, what, detail.c_str());
      change = TopicChange::PartitionsIncreased;
    }
    break;
  }

  // Wait until the metadata shows the desired partitions, each with a leader.
  const auto deadline = Clock::now() + impl_->options.timeout;
  std::string state = "not listed";
  while (true) {
    auto observed = describeTopic(name);
    if (observed && *observed) {
      const TopicInfo& t = **observed;
      if (t.partitions >= partitions && t.partitionsWithoutLeader == 0) return change;
      state = std::to_string(t.partitions) + " partitions, " +
              std::to_string(t.partitionsWithoutLeader) + " without a leader";
    } else if (!observed && !observed.error().isRetryable()) {
      return observed.error();
    }
    if (Clock::now() >= deadline) {
      return Error::retryable(impl_->where() + ": topic " + name + " (" + spec +
                              ") not ready after " +
                              std::to_string(impl_->options.timeout.count()) + " ms: " + state);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

Status Admin::deleteTopic(const std::string& name) {
  if (auto p = topicNameProblem(name); !p.empty()) return Error::terminal("kafka: " + p);
  const std::string what = "delete topic " + name;
  DeleteTopic dt(rd_kafka_DeleteTopic_new(name.c_str()));
  auto ev = impl_->adminCall(RD_KAFKA_ADMIN_OP_DELETETOPICS, what,
                             [&](rd_kafka_AdminOptions_t* o, rd_kafka_queue_t* q) {
                               rd_kafka_DeleteTopic_t* topics[] = {dt.get()};
                               rd_kafka_DeleteTopics(impl_->rk.get(), topics, 1, o, q);
                             });
  if (!ev) return ev.error();
  std::size_t n = 0;
  const auto* res =
      rd_kafka_DeleteTopics_result_topics(rd_kafka_event_DeleteTopics_result(ev->get()), &n);
  for (std::size_t i = 0; i < n; ++i) {
    const auto code = rd_kafka_topic_result_error(res[i]);
    if (code == RD_KAFKA_RESP_ERR_NO_ERROR || code == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART)
      continue;
    return impl_->error(code, what, rd_kafka_topic_result_error_string(res[i]));
  }
  const auto deadline = Clock::now() + impl_->options.timeout;
  while (true) {
    auto observed = describeTopic(name);
    if (observed && !*observed) return engine::okStatus();
    if (!observed && !observed.error().isRetryable()) return observed.error();
    if (Clock::now() >= deadline)
      return Error::retryable(impl_->where() + ": topic " + name + " still listed " +
                              std::to_string(impl_->options.timeout.count()) +
                              " ms after its deletion");
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

}  // namespace ca4::drivers::kafka
