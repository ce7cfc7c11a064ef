#include "ca4/processor/kafka_publisher.h"

#include <chrono>

namespace ca4::processor {
namespace {

struct Pending {
  std::string key;
  std::string payload;
  DeliveryCallback done;
};

std::string errorText(rd_kafka_resp_err_t err) { return rd_kafka_err2str(err); }

}  // namespace

DeliveryResult KafkaPublisher::classify(rd_kafka_resp_err_t err) {
  DeliveryResult r;
  r.detail = err == RD_KAFKA_RESP_ERR_NO_ERROR ? "" : errorText(err);
  switch (err) {
    case RD_KAFKA_RESP_ERR_NO_ERROR:
      r.status = DeliveryStatus::Acked;
      return r;
    case RD_KAFKA_RESP_ERR__QUEUE_FULL:
      r.status = DeliveryStatus::Unavailable, r.reason = "queue_full";
      return r;
    case RD_KAFKA_RESP_ERR__MSG_TIMED_OUT:
    case RD_KAFKA_RESP_ERR__TIMED_OUT:
      r.status = DeliveryStatus::Unavailable, r.reason = "timeout";
      return r;
    case RD_KAFKA_RESP_ERR__PURGE_QUEUE:
    case RD_KAFKA_RESP_ERR__PURGE_INFLIGHT:
      r.status = DeliveryStatus::Unavailable, r.reason = "purged";
      return r;
    case RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC:
    case RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART:
      // Retryable: the operator may (re)create the topic.
      r.status = DeliveryStatus::Unavailable, r.reason = "unknown_topic";
      return r;
    case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE:
      // Permanent: the same record will be too large next time too.
      r.status = DeliveryStatus::Failed, r.reason = "too_large";
      return r;
    case RD_KAFKA_RESP_ERR__FATAL:
      // The producer is dead until restart; another replica of this service can take it.
      r.status = DeliveryStatus::Unavailable, r.reason = "fatal";
      return r;
    default:
      r.status = DeliveryStatus::Unavailable, r.reason = "broker_error";
      return r;
  }
}

KafkaPublisher::KafkaPublisher(KafkaConfig config, Log log)
    : config_(std::move(config)), log_(std::move(log)) {}

Result<std::unique_ptr<KafkaPublisher>> KafkaPublisher::create(const KafkaConfig& config,
                                                               Log log) {
  std::unique_ptr<KafkaPublisher> p(new KafkaPublisher(config, std::move(log)));
  if (auto err = p->init(); !err.empty()) {
    return Result<std::unique_ptr<KafkaPublisher>>::failure(std::move(err));
  }
  return Result<std::unique_ptr<KafkaPublisher>>::success(std::move(p));
}

std::string KafkaPublisher::init() {
  kafka::ConfPtr conf(rd_kafka_conf_new());
  char errstr[512];
  std::vector<std::pair<std::string, std::string>> settings = {
      {"bootstrap.servers", config_.brokers},
      {"client.id", "ca4-processor"},
      {"acks", "all"},
      {"enable.idempotence", "true"},
      {"message.timeout.ms", std::to_string(config_.message_timeout_ms)},
      {"linger.ms", std::to_string(config_.linger_ms)},
      {"queue.buffering.max.kbytes", std::to_string(config_.queue_max_kbytes)},
      {"allow.auto.create.topics", config_.allow_auto_create_topics ? "true" : "false"},
      {"socket.keepalive.enable", "true"},
      // A broker thread waiting to reconnect only notices timed-out records when it wakes:
      // with the default 10 s backoff a 503 could come message.timeout.ms + 10 s late
      // (measured). 1 s keeps the answer within about a second of the timeout.
      {"reconnect.backoff.max.ms", "1000"},
  };
  settings.insert(settings.end(), config_.properties.begin(), config_.properties.end());
  for (const auto& [k, v] : settings) {
    if (rd_kafka_conf_set(conf.get(), k.c_str(), v.c_str(), errstr, sizeof errstr) !=
        RD_KAFKA_CONF_OK) {
      return "kafka setting " + k + ": " + errstr;
    }
  }
  rd_kafka_conf_set_opaque(conf.get(), this);
  rd_kafka_conf_set_dr_msg_cb(conf.get(), &KafkaPublisher::onDelivery);
  rd_kafka_conf_set_log_cb(conf.get(), &KafkaPublisher::onLog);
  rd_kafka_conf_set_error_cb(conf.get(), &KafkaPublisher::onError);

  // rd_kafka_new takes ownership of conf on success only.
  rk_.reset(rd_kafka_new(RD_KAFKA_PRODUCER, conf.get(), errstr, sizeof errstr));
  if (!rk_) return std::string("cannot create the Kafka producer: ") + errstr;
  (void)conf.release();

  topic_.reset(rd_kafka_topic_new(rk_.get(), config_.topic.c_str(), nullptr));
  if (!topic_) {
    return "cannot create topic handle " + config_.topic + ": " +
           errorText(rd_kafka_last_error());
  }
  poller_ = std::jthread([this](std::stop_token stop) {
    while (!stop.stop_requested()) rd_kafka_poll(rk_.get(), 100);
  });
  return {};
}

KafkaPublisher::~KafkaPublisher() {
  if (rk_) failAll(std::chrono::seconds(5));
  if (poller_.joinable()) {
    poller_.request_stop();
    poller_.join();
  }
}

void KafkaPublisher::publish(std::string key, std::string payload, DeliveryCallback done) {
  auto p = std::make_unique<Pending>(Pending{std::move(key), std::move(payload), std::move(done)});
  ++outstanding_;
  // msgflags 0: librdkafka neither copies nor frees the payload; `p` keeps it alive until the
  // delivery report.
  const rd_kafka_resp_err_t err = rd_kafka_producev(
      rk_.get(), RD_KAFKA_V_RKT(topic_.get()), RD_KAFKA_V_PARTITION(RD_KAFKA_PARTITION_UA),
      RD_KAFKA_V_KEY(p->key.data(), p->key.size()),
      RD_KAFKA_V_VALUE(p->payload.data(), p->payload.size()), RD_KAFKA_V_MSGFLAGS(0),
      RD_KAFKA_V_OPAQUE(p.get()), RD_KAFKA_V_END);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    --outstanding_;
    p->done(classify(err));
    return;
  }
  (void)p.release();  // owned by librdkafka's message until onDelivery
}

void KafkaPublisher::onDelivery(rd_kafka_t* /*rk*/, const rd_kafka_message_t* msg,
                                void* opaque) {
  auto* self = static_cast<KafkaPublisher*>(opaque);
  std::unique_ptr<Pending> p(static_cast<Pending*>(msg->_private));
  if (!p) return;
  DeliveryResult r = classify(msg->err);
  if (msg->err == RD_KAFKA_RESP_ERR_NO_ERROR &&
      rd_kafka_message_status(msg) != RD_KAFKA_MSG_STATUS_PERSISTED) {
    // Not expected with acks=all, but never report a record as stored unless it is.
    r.status = DeliveryStatus::Unavailable, r.reason = "broker_error";
    r.detail = "delivery reported without persistence";
  }
  p->done(r);
  p.reset();
  --self->outstanding_;
}

void KafkaPublisher::onLog(const rd_kafka_t* rk, int level, const char* fac, const char* buf) {
  auto* self = static_cast<KafkaPublisher*>(rd_kafka_opaque(rk));
  if (self == nullptr) return;
  const std::string_view facility = fac ? fac : "";
  const std::string_view text = buf ? buf : "";
  // Connection failures are reported once more through onError (as warnings); keep
  // librdkafka's own lines for critical conditions and debugging.
  if (level <= 2) {
    self->log_.error("librdkafka", {{"facility", facility}, {"detail", text}});
  } else {
    self->log_.debug("librdkafka", {{"facility", facility}, {"detail", text}});
  }
}

void KafkaPublisher::onError(rd_kafka_t* rk, int err, const char* reason, void* opaque) {
  auto* self = static_cast<KafkaPublisher*>(opaque);
  if (err == RD_KAFKA_RESP_ERR__FATAL) {
    char fatal[512];
    const auto orig = rd_kafka_fatal_error(rk, fatal, sizeof fatal);
    self->log_.error("kafka producer fatal error; restart required",
                     {{"code", rd_kafka_err2name(orig)}, {"detail", fatal}});
    return;
  }
  self->log_.warn("kafka error", {{"code", rd_kafka_err2name(static_cast<rd_kafka_resp_err_t>(err))},
                                  {"detail", reason ? reason : ""}});
}

Readiness KafkaPublisher::checkReady(std::chrono::milliseconds timeout) {
  char fatal[512];
  if (rd_kafka_fatal_error(rk_.get(), fatal, sizeof fatal) != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return {false, std::string("kafka producer fatal error: ") + fatal};
  }
  const rd_kafka_metadata_t* raw = nullptr;
  const auto err = rd_kafka_metadata(rk_.get(), 0, topic_.get(), &raw,
                                     static_cast<int>(timeout.count()));
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return {false, "kafka brokers " + config_.brokers + " unreachable: " + errorText(err)};
  }
  kafka::MetadataPtr md(raw);
  for (int i = 0; i < md->topic_cnt; ++i) {
    const auto& t = md->topics[i];
    if (config_.topic != t.topic) continue;
    if (t.err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return {false, "topic " + config_.topic + ": " + errorText(t.err)};
    }
    if (t.partition_cnt == 0) return {false, "topic " + config_.topic + " has no partitions"};
    for (int p = 0; p < t.partition_cnt; ++p) {
      if (t.partitions[p].leader < 0) {
        return {false, "topic " + config_.topic + " partition " + std::to_string(p) +
                           " has no leader"};
      }
    }
    return {true, ""};
  }
  return {false, "topic " + config_.topic + " not found"};
}

void KafkaPublisher::drain(std::chrono::milliseconds timeout) {
  // rd_kafka_flush serves delivery reports itself (alongside the delivery thread).
  rd_kafka_flush(rk_.get(), static_cast<int>(timeout.count()));
  failAll(std::chrono::seconds(5));
}

void KafkaPublisher::failAll(std::chrono::milliseconds wait) {
  if (outstanding_.load() == 0) return;
  rd_kafka_purge(rk_.get(), RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
  const auto deadline = std::chrono::steady_clock::now() + wait;
  while (outstanding_.load() > 0 && std::chrono::steady_clock::now() < deadline) {
    rd_kafka_poll(rk_.get(), 50);
  }
}

}  // namespace ca4::processor
