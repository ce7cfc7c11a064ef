#include "ca4/worker/kafka_dlq.h"

#include "kafka_log.h"

#include <chrono>
#include <cstdint>
#include <string>

namespace ca4::worker {

struct KafkaDeadLetterSink::State {
  std::uint64_t generation = 0;
  std::vector<rd_kafka_resp_err_t> results;
  std::size_t outstanding = 0;
};

KafkaDeadLetterSink::KafkaDeadLetterSink() : state_(std::make_unique<State>()) {}
KafkaDeadLetterSink::~KafkaDeadLetterSink() = default;

namespace {

// Delivery reports are matched to the current send() by (generation, index) packed into the
// message opaque, so a late report for an abandoned send can never write into a newer one.
using DeliveryState = KafkaDeadLetterSink::State;

void onDelivery(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
  auto* state = static_cast<DeliveryState*>(opaque);
  const auto packed = reinterpret_cast<std::uintptr_t>(m->_private);
  const std::uint64_t gen = packed >> 32;
  const std::size_t index = packed & 0xffffffffu;
  if (gen != (state->generation & 0xffffffffu) || index >= state->results.size()) return;
  state->results[index] = m->err;
  if (state->outstanding > 0) --state->outstanding;
}

DeliveryState& stateOf(rd_kafka_t* rk) { return *static_cast<DeliveryState*>(rd_kafka_opaque(rk)); }

}  // namespace

std::variant<std::unique_ptr<KafkaDeadLetterSink>, std::string> KafkaDeadLetterSink::create(
    const KafkaDlqOptions& o) {
  char errstr[512];
  KafkaConf conf(rd_kafka_conf_new());
  auto set = [&](const std::string& k, const std::string& v) -> bool {
    return rd_kafka_conf_set(conf.get(), k.c_str(), v.c_str(), errstr, sizeof errstr) == RD_KAFKA_CONF_OK;
  };
  if (!set("bootstrap.servers", o.brokers) || !set("acks", "all") || !set("enable.idempotence", "true") ||
      !set("linger.ms", "5") || !set("client.id", "ca4-worker-dlq") ||
      !set("message.timeout.ms", std::to_string(o.timeout.count())))
    return std::string("dlq producer config: ") + errstr;
  for (const auto& [k, v] : o.extra) {
    // consumer-only settings passed with --kafka-opt are ignored here
    if (rd_kafka_conf_set(conf.get(), k.c_str(), v.c_str(), errstr, sizeof errstr) == RD_KAFKA_CONF_INVALID)
      return "dlq producer config " + k + ": " + errstr;
  }
  std::unique_ptr<KafkaDeadLetterSink> sink(new KafkaDeadLetterSink());
  rd_kafka_conf_set_opaque(conf.get(), sink->state_.get());
  rd_kafka_conf_set_dr_msg_cb(conf.get(), onDelivery);
  rd_kafka_conf_set_log_cb(conf.get(), detail::kafkaLogToSpdlog);
  rd_kafka_conf_set_error_cb(conf.get(), detail::kafkaErrorToSpdlog);
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf.get(), errstr, sizeof errstr);
  if (!rk) return std::string("dlq producer: ") + errstr;
  conf.release();  // owned by rk now
  sink->options_ = o;
  sink->producer_.reset(rk);
  return sink;
}

std::optional<Error> KafkaDeadLetterSink::send(std::span<const DeadLetter> letters) {
  rd_kafka_t* rk = producer_.get();
  DeliveryState& st = stateOf(rk);
  ++st.generation;
  st.results.assign(letters.size(), RD_KAFKA_RESP_ERR__IN_PROGRESS);
  st.outstanding = letters.size();
  const auto gen = static_cast<std::uintptr_t>(st.generation & 0xffffffffu);
  const auto deadline = std::chrono::steady_clock::now() + options_.timeout;

  for (std::size_t i = 0; i < letters.size(); ++i) {
    const DeadLetter& d = letters[i];
    const std::string partition = std::to_string(d.source_partition);
    const std::string offset = std::to_string(d.source_offset);
    void* opaque = reinterpret_cast<void*>((gen << 32) | i);
    for (;;) {
      const rd_kafka_resp_err_t err = rd_kafka_producev(
          rk, RD_KAFKA_V_TOPIC(options_.topic.c_str()), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
          RD_KAFKA_V_KEY(d.key.data(), d.key.size()),
          RD_KAFKA_V_VALUE(const_cast<char*>(d.value.data()), d.value.size()),
          RD_KAFKA_V_HEADER("ca4-dlq-reason", d.reason.data(), static_cast<ssize_t>(d.reason.size())),
          RD_KAFKA_V_HEADER("ca4-dlq-detail", d.detail.data(), static_cast<ssize_t>(d.detail.size())),
          RD_KAFKA_V_HEADER("ca4-source-topic", d.source_topic.data(), static_cast<ssize_t>(d.source_topic.size())),
          RD_KAFKA_V_HEADER("ca4-source-partition", partition.data(), static_cast<ssize_t>(partition.size())),
          RD_KAFKA_V_HEADER("ca4-source-offset", offset.data(), static_cast<ssize_t>(offset.size())),
          RD_KAFKA_V_OPAQUE(opaque), RD_KAFKA_V_END);
      if (err == RD_KAFKA_RESP_ERR_NO_ERROR) break;
      if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL && std::chrono::steady_clock::now() < deadline) {
        rd_kafka_poll(rk, 50);
        continue;
      }
      st.results[i] = err;
      --st.outstanding;
      break;
    }
  }
  // Wait for every delivery report (acks=all): only then may the source offsets be committed.
  while (st.outstanding > 0 && std::chrono::steady_clock::now() < deadline) rd_kafka_flush(rk, 100);
  for (std::size_t i = 0; i < st.results.size(); ++i) {
    if (st.results[i] != RD_KAFKA_RESP_ERR_NO_ERROR) {
      // Broker down, topic missing, timeout: the letter is not stored; retry the batch later.
      return Error{Disposition::Retry, "dlq", st.results[i], rd_kafka_err2str(st.results[i])};
    }
  }
  return std::nullopt;
}

}  // namespace ca4::worker
