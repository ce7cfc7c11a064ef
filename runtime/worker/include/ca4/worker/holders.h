// RAII holders for the C handles the worker owns. Each is a unique_ptr with a stateless deleter,
// so ownership is explicit and moves are free. Thread-safety is that of the wrapped handle.
#pragma once

#include <bson/bson.h>
#include <curl/curl.h>
#include <librdkafka/rdkafka.h>
#include <mongoc/mongoc.h>

#include <memory>

namespace ca4::worker {

namespace detail {
struct KafkaDeleter {
  void operator()(rd_kafka_t* p) const noexcept { rd_kafka_destroy(p); }
};
struct KafkaConfDeleter {
  void operator()(rd_kafka_conf_t* p) const noexcept { rd_kafka_conf_destroy(p); }
};
struct PartitionListDeleter {
  void operator()(rd_kafka_topic_partition_list_t* p) const noexcept {
    rd_kafka_topic_partition_list_destroy(p);
  }
};
struct KafkaMessageDeleter {
  void operator()(rd_kafka_message_t* p) const noexcept { rd_kafka_message_destroy(p); }
};
struct KafkaErrorDeleter {
  void operator()(rd_kafka_error_t* p) const noexcept { rd_kafka_error_destroy(p); }
};
struct KafkaQueueDeleter {
  void operator()(rd_kafka_queue_t* p) const noexcept { rd_kafka_queue_destroy(p); }
};
struct KafkaHeadersDeleter {
  void operator()(rd_kafka_headers_t* p) const noexcept { rd_kafka_headers_destroy(p); }
};
struct MongoClientDeleter {
  void operator()(mongoc_client_t* p) const noexcept { mongoc_client_destroy(p); }
};
struct MongoCollectionDeleter {
  void operator()(mongoc_collection_t* p) const noexcept { mongoc_collection_destroy(p); }
};
struct MongoUriDeleter {
  void operator()(mongoc_uri_t* p) const noexcept { mongoc_uri_destroy(p); }
};
struct MongoBulkDeleter {
  void operator()(mongoc_bulk_operation_t* p) const noexcept { mongoc_bulk_operation_destroy(p); }
};
struct MongoWriteConcernDeleter {
  void operator()(mongoc_write_concern_t* p) const noexcept { mongoc_write_concern_destroy(p); }
};
struct CurlDeleter {
  void operator()(CURL* p) const noexcept { curl_easy_cleanup(p); }
};
struct CurlMultiDeleter {
  void operator()(CURLM* p) const noexcept { curl_multi_cleanup(p); }
};
struct CurlSlistDeleter {
  void operator()(curl_slist* p) const noexcept { curl_slist_free_all(p); }
};
}  // namespace detail

using KafkaHandle = std::unique_ptr<rd_kafka_t, detail::KafkaDeleter>;
using KafkaConf = std::unique_ptr<rd_kafka_conf_t, detail::KafkaConfDeleter>;
using PartitionList = std::unique_ptr<rd_kafka_topic_partition_list_t, detail::PartitionListDeleter>;
using KafkaMessage = std::unique_ptr<rd_kafka_message_t, detail::KafkaMessageDeleter>;
using KafkaError = std::unique_ptr<rd_kafka_error_t, detail::KafkaErrorDeleter>;
using KafkaQueue = std::unique_ptr<rd_kafka_queue_t, detail::KafkaQueueDeleter>;
using KafkaHeaders = std::unique_ptr<rd_kafka_headers_t, detail::KafkaHeadersDeleter>;
using MongoClient = std::unique_ptr<mongoc_client_t, detail::MongoClientDeleter>;
using MongoCollection = std::unique_ptr<mongoc_collection_t, detail::MongoCollectionDeleter>;
using MongoUri = std::unique_ptr<mongoc_uri_t, detail::MongoUriDeleter>;
using MongoBulk = std::unique_ptr<mongoc_bulk_operation_t, detail::MongoBulkDeleter>;
using MongoWriteConcern = std::unique_ptr<mongoc_write_concern_t, detail::MongoWriteConcernDeleter>;
using CurlHandle = std::unique_ptr<CURL, detail::CurlDeleter>;
using CurlMulti = std::unique_ptr<CURLM, detail::CurlMultiDeleter>;
using CurlSlist = std::unique_ptr<curl_slist, detail::CurlSlistDeleter>;

// Owns a heap bson_t from bson_new()/bson_sized_new(). (Not a unique_ptr alias: bson_t carries
// an alignment attribute that GCC warns about — and -Werror rejects — as a template argument.)
class BsonPtr {
 public:
  BsonPtr() = default;
  explicit BsonPtr(bson_t* p) : p_(p) {}
  BsonPtr(BsonPtr&& o) noexcept : p_(o.p_) { o.p_ = nullptr; }
  BsonPtr& operator=(BsonPtr&& o) noexcept {
    if (this != &o) {
      reset();
      p_ = o.p_;
      o.p_ = nullptr;
    }
    return *this;
  }
  BsonPtr(const BsonPtr&) = delete;
  BsonPtr& operator=(const BsonPtr&) = delete;
  ~BsonPtr() { reset(); }
  void reset(bson_t* p = nullptr) {
    if (p_) bson_destroy(p_);
    p_ = p;
  }
  bson_t* get() const { return p_; }
  bson_t* operator->() const { return p_; }
  explicit operator bool() const { return p_ != nullptr; }

 private:
  bson_t* p_ = nullptr;
};

// A bson_t initialized in place (bson_init) and destroyed on scope exit; for stack documents
// such as filters. Not movable: libbson may keep inline storage inside the struct.
class ScopedBson {
 public:
  ScopedBson() { bson_init(&doc_); }
  ~ScopedBson() { bson_destroy(&doc_); }
  ScopedBson(const ScopedBson&) = delete;
  ScopedBson& operator=(const ScopedBson&) = delete;
  bson_t* get() { return &doc_; }
  const bson_t* get() const { return &doc_; }

 private:
  bson_t doc_;
};

}  // namespace ca4::worker
