#include "ca4/worker/consumer.h"

#include "kafka_log.h"
#include "log_fields.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <random>
#include <thread>

namespace ca4::worker {

using detail::Fields;
using Clock_ = std::chrono::steady_clock;

namespace {

void rebalanceTrampoline(rd_kafka_t* rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* parts,
                         void*) {
  static_cast<Consumer*>(rd_kafka_opaque(rk))->onRebalance(err, parts);
}

bool transientCommitError(rd_kafka_resp_err_t e) {
  switch (e) {
    case RD_KAFKA_RESP_ERR__TRANSPORT:
    case RD_KAFKA_RESP_ERR__TIMED_OUT:
    case RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT:
    case RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE:
    case RD_KAFKA_RESP_ERR_NOT_COORDINATOR:
    case RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS:
    case RD_KAFKA_RESP_ERR__WAIT_COORD:
      return true;
    default:
      return false;  // generation/membership errors: the group moved on; redelivery is idempotent
  }
}

}  // namespace

Consumer::Consumer(const Config& config, BatchProcessor& processor, Metrics& metrics,
                   std::shared_ptr<spdlog::logger> log)
    : config_(config),
      processor_(processor),
      metrics_(metrics),
      log_(std::move(log)),
      backoff_(config.backoff_initial, config.backoff_max, std::random_device{}()) {}

Consumer::~Consumer() = default;

std::variant<std::unique_ptr<Consumer>, std::string> Consumer::create(const Config& config,
                                                                      BatchProcessor& processor,
                                                                      Metrics& metrics,
                                                                      std::shared_ptr<spdlog::logger> log) {
  std::unique_ptr<Consumer> c(new Consumer(config, processor, metrics, std::move(log)));
  char errstr[512];
  KafkaConf conf(rd_kafka_conf_new());
  auto set = [&](const std::string& k, const std::string& v) -> std::optional<std::string> {
    if (rd_kafka_conf_set(conf.get(), k.c_str(), v.c_str(), errstr, sizeof errstr) != RD_KAFKA_CONF_OK)
      return "kafka config " + k + ": " + errstr;
    return std::nullopt;
  };
  const std::pair<std::string, std::string> base[] = {
      {"bootstrap.servers", config.brokers},
      {"group.id", config.group},
      {"client.id", "ca4-worker"},
      // Offsets are committed explicitly, only after the batch is written (at-least-once).
      {"enable.auto.commit", "false"},
      {"enable.auto.offset.store", "false"},
      {"auto.offset.reset", "earliest"},
      {"partition.assignment.strategy", config.assignment_strategy},
      {"enable.partition.eof", "false"},
      // A batch of 500 × ~22 KB envelopes; fetch enough per round trip.
      {"fetch.max.bytes", "52428800"},
      {"queued.max.messages.kbytes", "65536"},
  };
  for (const auto& [k, v] : base)
    if (auto e = set(k, v)) return *e;
  for (const auto& [k, v] : config.kafka_extra)
    if (auto e = set(k, v)) return *e;
  rd_kafka_conf_set_opaque(conf.get(), c.get());
  rd_kafka_conf_set_rebalance_cb(conf.get(), rebalanceTrampoline);
  rd_kafka_conf_set_log_cb(conf.get(), detail::kafkaLogToSpdlog);
  rd_kafka_conf_set_error_cb(conf.get(), detail::kafkaErrorToSpdlog);

  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf.get(), errstr, sizeof errstr);
  if (!rk) return std::string("kafka consumer: ") + errstr;
  conf.release();
  c->rk_.reset(rk);
  rd_kafka_poll_set_consumer(rk);

  PartitionList topics(rd_kafka_topic_partition_list_new(1));
  rd_kafka_topic_partition_list_add(topics.get(), config.topic.c_str(), RD_KAFKA_PARTITION_UA);
  if (auto err = rd_kafka_subscribe(rk, topics.get()))
    return std::string("kafka subscribe: ") + rd_kafka_err2str(err);
  return c;
}

void Consumer::onRebalance(rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* parts) {
  rd_kafka_t* rk = rk_.get();
  const bool cooperative = std::strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE") == 0;
  auto partitionsOf = [&] {
    std::string s;
    for (int i = 0; i < parts->cnt; ++i) s += (i ? "," : "") + std::to_string(parts->elems[i].partition);
    return s;
  };
  if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
    if (cooperative) {
      KafkaError e(rd_kafka_incremental_assign(rk, parts));
      if (e) log_->error("{}", Fields("incremental assign failed").str("error", rd_kafka_error_string(e.get())).text());
    } else {
      rd_kafka_assign(rk, parts);
    }
    for (int i = 0; i < parts->cnt; ++i)
      if (config_.topic == parts->elems[i].topic) owned_.insert(parts->elems[i].partition);
    // A batch is being retried: new partitions must not start flowing either.
    if (paused_) rd_kafka_pause_partitions(rk, parts);
    log_->info("{}", Fields("partitions assigned").str("partitions", partitionsOf()).str("protocol", cooperative ? "cooperative" : "eager").text());
  } else {
    // Revoked or lost. Whatever of the current batch is not committed stays uncommitted: the
    // batch is abandoned by run() and the partitions' next owner re-reads from the last commit.
    if (in_batch_) revoked_during_batch_ = true;
    for (int i = 0; i < parts->cnt; ++i) {
      owned_.erase(parts->elems[i].partition);
      committed_.erase(parts->elems[i].partition);
      metrics_.removeLag(parts->elems[i].partition);
    }
    if (cooperative) {
      KafkaError e(rd_kafka_incremental_unassign(rk, parts));
      if (e) log_->error("{}", Fields("incremental unassign failed").str("error", rd_kafka_error_string(e.get())).text());
    } else {
      rd_kafka_assign(rk, nullptr);
      owned_.clear();
    }
    log_->info("{}", Fields(err == RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS ? "partitions revoked" : "partitions lost")
                         .str("partitions", partitionsOf())
                         .boolean("batch_abandoned", in_batch_)
                         .text());
  }
  assigned_ = !owned_.empty();
}

KafkaMessage Consumer::pollOne(std::chrono::milliseconds timeout) {
  rd_kafka_message_t* raw = rd_kafka_consumer_poll(rk_.get(), static_cast<int>(std::max<long>(0, timeout.count())));
  if (!raw) return {};
  KafkaMessage m(raw);
  if (m->err) {
    if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      const auto now = Clock_::now();
      if (now - last_poll_error_log_ > std::chrono::seconds(5)) {
        last_poll_error_log_ = now;
        log_->warn("{}", Fields("consumer error").str("error", rd_kafka_err2name(m->err))
                             .str("detail", rd_kafka_message_errstr(m.get())).text());
      }
    }
    return {};
  }
  return m;
}

void Consumer::setPaused(bool on) {
  if (paused_ == on) return;
  rd_kafka_topic_partition_list_t* raw = nullptr;
  if (rd_kafka_assignment(rk_.get(), &raw) == RD_KAFKA_RESP_ERR_NO_ERROR && raw) {
    PartitionList list(raw);
    if (on) rd_kafka_pause_partitions(rk_.get(), list.get());
    else rd_kafka_resume_partitions(rk_.get(), list.get());
  }
  paused_ = on;
  metrics_.paused().Set(on ? 1 : 0);
  log_->log(on ? spdlog::level::warn : spdlog::level::info, "{}",
            Fields(on ? "consumption paused" : "consumption resumed").text());
}

bool Consumer::commit(const std::vector<CommitOffset>& offsets) {
  PartitionList list(rd_kafka_topic_partition_list_new(static_cast<int>(offsets.size())));
  for (const auto& o : offsets)
    rd_kafka_topic_partition_list_add(list.get(), o.topic.c_str(), o.partition)->offset = o.next_offset;
  for (int attempt = 1;; ++attempt) {
    const rd_kafka_resp_err_t err = rd_kafka_commit(rk_.get(), list.get(), /*async=*/0);
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      for (const auto& o : offsets)
        if (o.topic == config_.topic) committed_[o.partition] = o.next_offset;
      return true;
    }
    metrics_.retries("commit").Increment();
    // The data is written: a lost commit only means redelivery, which the upsert absorbs.
    log_->warn("{}", Fields("offset commit failed").str("error", rd_kafka_err2name(err)).num("attempt", attempt).text());
    if (!transientCommitError(err) || attempt >= 3) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(200 * attempt));
  }
}

void Consumer::rewind(const Batch& batch) {
  std::map<std::int32_t, std::int64_t> first;
  for (const auto& r : batch.records) {
    if (r.topic != config_.topic || !owned_.count(r.partition)) continue;
    auto [it, inserted] = first.try_emplace(r.partition, r.offset);
    if (!inserted) it->second = std::min(it->second, r.offset);
  }
  for (const auto& m : stash_) {
    if (!owned_.count(m->partition)) continue;
    auto [it, inserted] = first.try_emplace(m->partition, m->offset);
    if (!inserted) it->second = std::min(it->second, m->offset);
  }
  stash_.clear();
  if (first.empty()) return;
  PartitionList list(rd_kafka_topic_partition_list_new(static_cast<int>(first.size())));
  for (const auto& [p, off] : first) rd_kafka_topic_partition_list_add(list.get(), config_.topic.c_str(), p)->offset = off;
  KafkaError e(rd_kafka_seek_partitions(rk_.get(), list.get(), 5000));
  if (e) log_->error("{}", Fields("rewind after abandoned batch failed").str("error", rd_kafka_error_string(e.get())).text());
}

void Consumer::updateLag() {
  for (auto p : owned_) {
    std::int64_t lo = 0, hi = 0;
    if (rd_kafka_get_watermark_offsets(rk_.get(), config_.topic.c_str(), p, &lo, &hi) != RD_KAFKA_RESP_ERR_NO_ERROR ||
        hi < 0)
      continue;
    std::int64_t base = -1;
    if (auto it = committed_.find(p); it != committed_.end()) {
      base = it->second;
    } else {
      PartitionList pos(rd_kafka_topic_partition_list_new(1));
      rd_kafka_topic_partition_list_add(pos.get(), config_.topic.c_str(), p);
      if (rd_kafka_position(rk_.get(), pos.get()) == RD_KAFKA_RESP_ERR_NO_ERROR) base = pos->elems[0].offset;
    }
    if (base >= 0) metrics_.lag(p).Set(static_cast<double>(std::max<std::int64_t>(0, hi - base)));
  }
}

int Consumer::run(const std::atomic<bool>& stop) {
  log_->info("{}", Fields("consumer started").str("topic", config_.topic).str("group", config_.group)
                       .num("batch_size", static_cast<std::int64_t>(config_.batch_size))
                       .num("batch_ms", config_.batch_time.count()).text());
  auto last_lag = Clock_::now();
  while (!stop) {
    heartbeat_ = Clock_::now();
    std::vector<KafkaMessage> msgs = std::move(stash_);
    stash_.clear();
    const auto deadline = Clock_::now() + config_.batch_time;
    while (msgs.size() < config_.batch_size && !stop) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock_::now());
      if (left.count() <= 0) break;
      if (auto m = pollOne(left)) msgs.push_back(std::move(m));
    }
    if (Clock_::now() - last_lag > std::chrono::seconds(1)) {
      updateLag();
      last_lag = Clock_::now();
    }
    if (msgs.empty()) continue;

    std::vector<Record> records;
    records.reserve(msgs.size());
    for (const auto& m : msgs) {
      rd_kafka_timestamp_type_t type;
      const std::int64_t ts = rd_kafka_message_timestamp(m.get(), &type);
      records.push_back(Record{rd_kafka_topic_name(m->rkt), m->partition, m->offset,
                               ts >= 0 ? std::optional<std::int64_t>(ts) : std::nullopt,
                               std::string_view(static_cast<const char*>(m->key), m->key ? m->key_len : 0),
                               std::string_view(static_cast<const char*>(m->payload), m->payload ? m->len : 0)});
    }
    in_batch_ = true;
    revoked_during_batch_ = false;
    const auto started = Clock_::now();
    Batch batch = processor_.prepare(std::move(records));
    backoff_.reset();
    for (;;) {
      const AttemptResult r = processor_.attempt(batch);
      if (r.done) {
        const bool ok = commit(BatchProcessor::commitOffsets(batch));
        if (log_->should_log(spdlog::level::debug))
          log_->debug("{}", Fields("batch done").num("records", static_cast<std::int64_t>(batch.records.size()))
                                .num("attempts", batch.attempts).boolean("committed", ok)
                                .num("ms", std::chrono::duration_cast<std::chrono::milliseconds>(Clock_::now() - started).count())
                                .text());
        break;
      }
      const Error& e = *r.error;
      const auto wait = backoff_.next();
      log_->warn("{}", Fields("write failed, retrying batch").str("target", e.target).num("code", e.code)
                           .str("error", e.message).num("attempt", batch.attempts)
                           .num("records", static_cast<std::int64_t>(batch.records.size()))
                           .num("backoff_ms", wait.count()).text());
      setPaused(true);
      // Keep polling while waiting: it keeps the group membership (max.poll.interval.ms) and
      // serves rebalances. Paused partitions deliver nothing; anything that still arrives is
      // kept for the next batch.
      const auto until = Clock_::now() + wait;
      while (Clock_::now() < until && !stop && !revoked_during_batch_) {
        heartbeat_ = Clock_::now();
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock_::now());
        if (auto m = pollOne(std::min(left, std::chrono::milliseconds(100)))) stash_.push_back(std::move(m));
      }
      if (stop || revoked_during_batch_) {
        // Abandon: nothing of this batch is committed; still-owned partitions are rewound so
        // the records are read again (by us, or by the next owner from the last commit).
        setPaused(false);
        rewind(batch);
        log_->warn("{}", Fields("batch abandoned, not committed").str("cause", stop ? "shutdown" : "rebalance")
                             .num("records", static_cast<std::int64_t>(batch.records.size())).text());
        break;
      }
    }
    in_batch_ = false;
    if (paused_) setPaused(false);
  }
  stash_.clear();
  log_->info("{}", Fields("closing consumer").text());
  if (auto err = rd_kafka_consumer_close(rk_.get()))
    log_->warn("{}", Fields("consumer close").str("error", rd_kafka_err2name(err)).text());
  return 0;
}

}  // namespace ca4::worker
