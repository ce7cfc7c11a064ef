#include "ca4/worker/mongo_store.h"

#include <ca4/common/logging.h>

#include <map>
#include <unordered_map>
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
  const std::string_view msg = message ? message : "";
  // FerretDB 1.x does not implement endSessions; libmongoc warns about it on every close.
  if (msg.find("endSessions") != std::string_view::npos) return;
  const std::string line = std::string("mongoc\",\"domain\":\"") + ca4::log::jsonEscape(domain ? domain : "") +
                           "\",\"detail\":\"" + ca4::log::jsonEscape(msg) + "\"";
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

bool MongoDocumentStore::isFerretDb() {
  if (ferretdb_) return *ferretdb_;
  ScopedBson cmd;
  BSON_APPEND_INT32(cmd.get(), "buildInfo", 1);
  ScopedBson reply;
  bson_error_t err;
  if (!mongoc_client_command_simple(client_.get(), "admin", cmd.get(), nullptr, reply.get(), &err))
    return false;  // unknown: use the portable compare-and-set filter, ask again next time
  bson_iter_t it;
  ferretdb_ = bson_iter_init_find(&it, reply.get(), "ferretdbVersion");
  return *ferretdb_;
}

std::unordered_map<std::string, std::int64_t> MongoDocumentStore::storedVersions(
    std::span<const std::string_view> ids, std::optional<Error>& error) {
  std::unordered_map<std::string, std::int64_t> out;
  ScopedBson filter;
  bson_t id_doc, in;
  bson_append_document_begin(filter.get(), "_id", 3, &id_doc);
  bson_append_array_begin(&id_doc, "$in", 3, &in);
  char buf[16];
  for (std::size_t i = 0; i < ids.size(); ++i) {
    const char* key;
    const std::size_t klen = bson_uint32_to_string(static_cast<std::uint32_t>(i), &key, buf, sizeof buf);
    bson_append_utf8(&in, key, static_cast<int>(klen), ids[i].data(), static_cast<int>(ids[i].size()));
  }
  bson_append_array_end(&id_doc, &in);
  bson_append_document_end(filter.get(), &id_doc);
  ScopedBson opts;
  bson_t proj;
  bson_append_document_begin(opts.get(), "projection", -1, &proj);
  bson_append_int32(&proj, "produced_at_us", -1, 1);
  bson_append_document_end(opts.get(), &proj);
  mongoc_cursor_t* cursor = mongoc_collection_find_with_opts(collection_.get(), filter.get(), opts.get(), nullptr);
  const bson_t* doc = nullptr;
  while (mongoc_cursor_next(cursor, &doc)) {
    bson_iter_t it;
    if (!bson_iter_init_find(&it, doc, "_id") || !BSON_ITER_HOLDS_UTF8(&it)) continue;
    std::string id = bson_iter_utf8(&it, nullptr);
    out[std::move(id)] = bson_iter_init_find(&it, doc, "produced_at_us") ? bson_iter_as_int64(&it) : -1;
  }
  bson_error_t err;
  if (mongoc_cursor_error(cursor, &err)) error = fromBsonError(err, classifyMongoCommandError(err.domain, err.code));
  mongoc_cursor_destroy(cursor);
  return out;
}

std::optional<std::int64_t> MongoDocumentStore::storedVersion(std::string_view id, std::optional<Error>& error) {
  // {_id: id} alone: the only filter shape FerretDB 1.24 pushes down to SQLite.
  ScopedBson filter;
  bson_append_utf8(filter.get(), "_id", 3, id.data(), static_cast<int>(id.size()));
  ScopedBson opts;
  bson_t proj;
  bson_append_document_begin(opts.get(), "projection", -1, &proj);
  bson_append_int32(&proj, "produced_at_us", -1, 1);
  bson_append_document_end(opts.get(), &proj);
  BSON_APPEND_INT64(opts.get(), "limit", 1);
  mongoc_cursor_t* cursor = mongoc_collection_find_with_opts(collection_.get(), filter.get(), opts.get(), nullptr);
  const bson_t* doc = nullptr;
  std::optional<std::int64_t> version;
  if (mongoc_cursor_next(cursor, &doc)) {
    bson_iter_t it;
    version = bson_iter_init_find(&it, doc, "produced_at_us") ? bson_iter_as_int64(&it) : std::int64_t{-1};
  }
  bson_error_t err;
  if (mongoc_cursor_error(cursor, &err)) error = fromBsonError(err, classifyMongoCommandError(err.domain, err.code));
  mongoc_cursor_destroy(cursor);
  return version;
}

BulkResult MongoDocumentStore::upsert(std::span<const DocumentWrite> docs) {
  BulkResult result;
  result.items.resize(docs.size());
  if (docs.empty()) return result;

  std::vector<std::optional<std::int64_t>> known(docs.size());  // stored version, once read
  // ---- phase 1: one unordered bulk of plain inserts (the fast path: new events) ----
  std::vector<std::size_t> exists;  // inputs whose _id is already stored
  ScopedBson bulk_opts;
  BSON_APPEND_BOOL(bulk_opts.get(), "ordered", false);
  MongoBulk bulk(mongoc_collection_create_bulk_operation_with_opts(collection_.get(), bulk_opts.get()));
  std::vector<std::size_t> op_to_input;  // bulk op index → docs index
  op_to_input.reserve(docs.size());
  for (std::size_t i = 0; i < docs.size(); ++i) {
    bson_error_t err;
    if (!mongoc_bulk_operation_insert_with_opts(bulk.get(), docs[i].doc, nullptr, &err)) {
      // The driver refused this document before sending (invalid keys / UTF-8): about its
      // content, so permanent for it alone.
      result.items[i] = {WriteOutcome::Failed, fromBsonError(err, classifyMongoCommandError(err.domain, err.code))};
      continue;
    }
    op_to_input.push_back(i);
  }
  if (op_to_input.empty() && exists.empty()) return result;

  ScopedBson reply;
  bson_error_t err;
  const bool ok = op_to_input.empty() || mongoc_bulk_operation_execute(bulk.get(), reply.get(), &err) != 0;

  // writeErrors: [{index, code, errmsg}] per document; writeConcernErrors: [{code, errmsg}]
  std::map<std::size_t, std::pair<std::int32_t, std::string>> write_errors;
  bool wc_error = false;
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
      bson_iter_recurse(&it, &arr) && bson_iter_next(&arr))
    wc_error = true;

  if (!ok) {
    // Failed for a reason other than per-document write errors (connection, server selection,
    // auth, a command-level refusal), or write errors plus such a failure. Whether any insert
    // applied is unknown; the caller retries, which is idempotent.
    const bool only_write_errors =
        !write_errors.empty() && (err.domain == MONGOC_ERROR_SERVER || err.domain == MONGOC_ERROR_COMMAND ||
                                  err.domain == MONGOC_ERROR_WRITE_CONCERN);
    if (!only_write_errors) {
      result.items.clear();
      result.error = fromBsonError(err, classifyMongoCommandError(err.domain, err.code));
      return result;
    }
  }
  if (wc_error) {
    result.items.clear();
    result.error = Error{Disposition::Retry, "db", 64, "write concern not satisfied"};
    return result;
  }

  for (std::size_t op = 0; op < op_to_input.size(); ++op) {
    auto& item = result.items[op_to_input[op]];
    auto we = write_errors.find(op);
    if (we == write_errors.end()) {
      item.outcome = WriteOutcome::Written;
    } else if (we->second.first == kMongoDuplicateKey) {
      exists.push_back(op_to_input[op]);
    } else {
      item.outcome = WriteOutcome::Failed;
      item.error = Error{classifyMongoWriteError(we->second.first), "db", we->second.first, we->second.second};
    }
  }
  if (exists.empty()) return result;

  // ---- phase 2: the _id exists (redelivery, or a re-sent event): replace only if older ----
  const bool ferret = isFerretDb();
  std::optional<Error> down;  // once the DB fails, the remaining lookups are not attempted
  if (exists.size() > kPointLookupMax) {
    // One {_id: {$in: [...]}} query instead of one lookup per id. On MongoDB/DocumentDB both
    // use the _id index. On FerretDB 1.24/SQLite every read by _id scans the table (the _id
    // index is on `sjson->"_id"`, queries filter on `sjson->'$._id'`, so SQLite never uses it):
    // one scan per batch instead of one per redelivered record.
    std::vector<std::string_view> ids;
    for (std::size_t i : exists) ids.push_back(docs[i].id);
    std::optional<Error> e;
    auto found = storedVersions(ids, e);
    if (e) {
      result.items.clear();
      e->disposition = Disposition::Retry;
      result.error = std::move(e);
      return result;
    }
    for (std::size_t i : exists) {
      auto it = found.find(std::string(docs[i].id));
      if (it != found.end()) known[i] = it->second;
    }
  }
  for (std::size_t i : exists) {
    auto& item = result.items[i];
    const DocumentWrite& d = docs[i];
    if (down) {
      item = {WriteOutcome::Failed, *down};
      continue;
    }
    std::optional<Error> lookup_error;
    const auto stored =
        known[i] ? known[i] : exists.size() > kPointLookupMax ? std::nullopt : storedVersion(d.id, lookup_error);
    if (lookup_error) {
      lookup_error->disposition = Disposition::Retry;  // a read failing says nothing about the document
      down = lookup_error;
      item = {WriteOutcome::Failed, *lookup_error};
      continue;
    }
    if (!stored) {
      // deleted between our insert and the lookup: the next attempt inserts it again
      item = {WriteOutcome::Failed, Error{Disposition::Retry, "db", 0, "document vanished during upsert"}};
      continue;
    }
    if (*stored >= d.produced_at_us) {
      item.outcome = WriteOutcome::Duplicate;  // an equal or newer version is stored
      continue;
    }
    // Older version stored. Compare-and-set on the version just read: {_id, produced_at_us:
    // stored}. On FerretDB that two-key filter is not pushed down (a full collection scan per
    // statement) and its update is query-then-write anyway, so the filter is {_id} alone there;
    // see README "FerretDB".
    ScopedBson filter;
    bson_append_utf8(filter.get(), "_id", 3, d.id.data(), static_cast<int>(d.id.size()));
    if (!ferret) bson_append_int64(filter.get(), "produced_at_us", -1, *stored);
    ScopedBson rep;
    bson_error_t rerr;
    if (!mongoc_collection_replace_one(collection_.get(), filter.get(), d.doc, nullptr, rep.get(), &rerr)) {
      const Disposition disp = classifyMongoCommandError(rerr.domain, rerr.code);
      item = {WriteOutcome::Failed, fromBsonError(rerr, disp)};
      if (disp == Disposition::Retry) down = item.error;
      continue;
    }
    bson_iter_t m;
    const std::int64_t matched =
        bson_iter_init_find(&m, rep.get(), "matchedCount") ? bson_iter_as_int64(&m) : 0;
    if (matched == 1) {
      item.outcome = WriteOutcome::Written;
    } else {
      // Someone else changed it between our read and our write: decide again next attempt.
      item = {WriteOutcome::Failed, Error{Disposition::Retry, "db", 0, "concurrent update, re-checking"}};
    }
  }
  return result;
}

}  // namespace ca4::worker
