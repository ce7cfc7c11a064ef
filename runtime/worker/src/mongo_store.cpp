#include "ca4/worker/mongo_store.h"

#include <ca4/common/logging.h>

#include <map>
#include <mutex>

namespace ca4::worker {

namespace {

void initMongoc() {
  static std::once_flag once;
  std::call_once(once, [] { mongoc_init(); });  // mongoc_cleanup is left to process exit
}

std::string hostsOf(const mongoc_uri_t* uri) {
  std::string out;
  for (const mongoc_host_list_t* h = mongoc_uri_get_hosts(uri); h; h = h->next) {
    if (!out.empty()) out += ',';
    out += h->host_and_port;
  }
  if (out.empty()) {
    if (const char* srv = mongoc_uri_get_srv_hostname(uri)) out = std::string("srv:") + srv;
  }
  return out;
}

Error fromBsonError(const bson_error_t& e, Disposition d) {
  return Error{d, "db", static_cast<std::int64_t>(e.code), e.message};
}

void logToSpdlog(mongoc_log_level_t level, const char* domain, const char* message, void*) {
  static auto log = ca4::log::make("worker");
  std::string line = std::string("mongoc\",\"domain\":\"") + ca4::log::jsonEscape(domain ? domain : "") +
                     "\",\"detail\":\"" + ca4::log::jsonEscape(message ? message : "");
  switch (level) {
    case MONGOC_LOG_LEVEL_ERROR:
    case MONGOC_LOG_LEVEL_CRITICAL: log->error("{}", line); break;
    case MONGOC_LOG_LEVEL_WARNING: log->warn("{}", line); break;
    default: break;  // info/debug/trace: too chatty for a service log
  }
}

}  // namespace

void installMongocLogHandler() {
  static std::once_flag once;
  std::call_once(once, [] {
    initMongoc();
    mongoc_log_set_handler(logToSpdlog, nullptr);
  });
}

std::string redactMongoUri(const std::string& uri) {
  initMongoc();
  bson_error_t err;
  MongoUri u(mongoc_uri_new_with_error(uri.c_str(), &err));
  return u ? hostsOf(u.get()) : "<invalid uri>";
}

std::variant<std::unique_ptr<MongoDocumentStore>, std::string> MongoDocumentStore::create(
    const MongoOptions& o) {
  initMongoc();
  bson_error_t err;
  MongoUri uri(mongoc_uri_new_with_error(o.uri.c_str(), &err));
  // mongoc's message may quote parts of the URI (user info): do not pass it on.
  if (!uri) return std::string("--mongo-uri does not parse as a MongoDB connection string (value not shown)");

  mongoc_uri_set_option_as_bool(uri.get(), MONGOC_URI_RETRYWRITES, o.retry_writes);
  if (!o.tls_ca_file.empty()) {
    mongoc_uri_set_option_as_bool(uri.get(), MONGOC_URI_TLS, true);
    mongoc_uri_set_option_as_utf8(uri.get(), MONGOC_URI_TLSCAFILE, o.tls_ca_file.c_str());
  }
  auto setDefault = [&](const char* key, std::int32_t v) {
    if (!mongoc_uri_has_option(uri.get(), key)) mongoc_uri_set_option_as_int32(uri.get(), key, v);
  };
  setDefault(MONGOC_URI_SERVERSELECTIONTIMEOUTMS, o.server_selection_timeout_ms);
  setDefault(MONGOC_URI_CONNECTTIMEOUTMS, o.connect_timeout_ms);
  setDefault(MONGOC_URI_SOCKETTIMEOUTMS, o.socket_timeout_ms);
  if (!mongoc_uri_has_option(uri.get(), MONGOC_URI_APPNAME))
    mongoc_uri_set_option_as_utf8(uri.get(), MONGOC_URI_APPNAME, "ca4-worker");

  std::unique_ptr<MongoDocumentStore> store(new MongoDocumentStore());
  store->client_.reset(mongoc_client_new_from_uri_with_error(uri.get(), &err));
  if (!store->client_) return std::string("cannot create a MongoDB client: ") + err.message;
  mongoc_client_set_error_api(store->client_.get(), MONGOC_ERROR_API_VERSION_2);
  store->collection_.reset(
      mongoc_client_get_collection(store->client_.get(), o.database.c_str(), o.collection.c_str()));
  store->database_ = o.database;
  store->hosts_ = hostsOf(uri.get());
  return store;
}

std::optional<Error> MongoDocumentStore::ping() {
  ScopedBson cmd;
  BSON_APPEND_INT32(cmd.get(), "ping", 1);
  ScopedBson reply;
  bson_error_t err;
  if (mongoc_client_command_simple(client_.get(), database_.c_str(), cmd.get(), nullptr, reply.get(), &err))
    return std::nullopt;
  return fromBsonError(err, Disposition::Retry);
}

BulkResult MongoDocumentStore::upsert(std::span<const DocumentWrite> docs) {
  BulkResult result;
  result.items.resize(docs.size());
  if (docs.empty()) return result;

  ScopedBson bulk_opts;
  BSON_APPEND_BOOL(bulk_opts.get(), "ordered", false);
  MongoBulk bulk(mongoc_collection_create_bulk_operation_with_opts(collection_.get(), bulk_opts.get()));

  ScopedBson op_opts;
  BSON_APPEND_BOOL(op_opts.get(), "upsert", true);

  std::vector<std::size_t> op_to_input;  // bulk op index → docs index
  op_to_input.reserve(docs.size());
  for (std::size_t i = 0; i < docs.size(); ++i) {
    const auto& d = docs[i];
    // {_id: id, produced_at_us: {$lt: version}}: matches only an OLDER stored version.
    ScopedBson filter;
    bson_append_utf8(filter.get(), "_id", 3, d.id.data(), static_cast<int>(d.id.size()));
    bson_t cond;
    bson_append_document_begin(filter.get(), "produced_at_us", -1, &cond);
    bson_append_int64(&cond, "$lt", 3, d.produced_at_us);
    bson_append_document_end(filter.get(), &cond);
    bson_error_t err;
    if (!mongoc_bulk_operation_replace_one_with_opts(bulk.get(), filter.get(), d.doc, op_opts.get(), &err)) {
      // The driver refused this document before sending (invalid keys / UTF-8): about its
      // content, so permanent for it alone.
      result.items[i] = {WriteOutcome::Failed, fromBsonError(err, classifyMongoCommandError(err.domain, err.code))};
      continue;
    }
    op_to_input.push_back(i);
  }
  if (op_to_input.empty()) return result;

  ScopedBson reply;
  bson_error_t err;
  const bool ok = mongoc_bulk_operation_execute(bulk.get(), reply.get(), &err) != 0;

  // writeErrors: [{index, code, errmsg}], per document; writeConcernErrors: [{code, errmsg}]
  std::map<std::size_t, std::pair<std::int32_t, std::string>> write_errors;
  std::optional<Error> wc_error;
  bson_iter_t it, arr, entry;
  if (bson_iter_init_find(&it, reply.get(), "writeErrors") && BSON_ITER_HOLDS_ARRAY(&it) &&
      bson_iter_recurse(&it, &arr)) {
    while (bson_iter_next(&arr)) {
      if (!BSON_ITER_HOLDS_DOCUMENT(&arr) || !bson_iter_recurse(&arr, &entry)) continue;
      std::int64_t index = -1;
      std::int32_t code = 0;
      std::string msg;
      while (bson_iter_next(&entry)) {
        const std::string_view k = bson_iter_key(&entry);
        if (k == "index") index = bson_iter_as_int64(&entry);
        else if (k == "code") code = static_cast<std::int32_t>(bson_iter_as_int64(&entry));
        else if (k == "errmsg" && BSON_ITER_HOLDS_UTF8(&entry)) msg = bson_iter_utf8(&entry, nullptr);
      }
      if (index >= 0) write_errors[static_cast<std::size_t>(index)] = {code, std::move(msg)};
    }
  }
  if (bson_iter_init_find(&it, reply.get(), "writeConcernErrors") && BSON_ITER_HOLDS_ARRAY(&it) &&
      bson_iter_recurse(&it, &arr) && bson_iter_next(&arr)) {
    wc_error = Error{Disposition::Retry, "db", 64, "write concern not satisfied"};
  }

  if (!ok) {
    // Failed for a reason other than per-document write errors (connection, server selection,
    // auth, a command-level refusal) — or write errors plus such a failure. Whether any write
    // of this bulk applied is unknown; the caller retries, which is idempotent.
    const bool server_write_errors =
        !write_errors.empty() && (err.domain == MONGOC_ERROR_SERVER || err.domain == MONGOC_ERROR_COMMAND ||
                                  err.domain == MONGOC_ERROR_WRITE_CONCERN);
    if (!server_write_errors) {
      result.items.clear();
      result.error = fromBsonError(err, classifyMongoCommandError(err.domain, err.code));
      return result;
    }
  }
  if (wc_error) {
    result.items.clear();
    result.error = std::move(wc_error);
    return result;
  }
  for (std::size_t op = 0; op < op_to_input.size(); ++op) {
    auto& item = result.items[op_to_input[op]];
    auto we = write_errors.find(op);
    if (we == write_errors.end()) {
      item.outcome = WriteOutcome::Written;
    } else if (we->second.first == kMongoDuplicateKey) {
      // The filter did not match (an equal or newer version is stored) and the upsert's
      // insert collided on _id: nothing changed, by design.
      item.outcome = WriteOutcome::Duplicate;
    } else {
      item.outcome = WriteOutcome::Failed;
      item.error = Error{classifyMongoWriteError(we->second.first), "db", we->second.first, we->second.second};
    }
  }
  return result;
}

}  // namespace ca4::worker
