#include "ca4/drivers/mongo/probe.h"

#include <mongoc/mongoc.h>

#include <algorithm>
#include <array>
#include <mutex>
#include <random>

namespace ca4::drivers::mongo {

namespace {

using Clock = std::chrono::steady_clock;

struct Deleter {
  void operator()(mongoc_client_t* p) const noexcept { mongoc_client_destroy(p); }
  void operator()(mongoc_uri_t* p) const noexcept { mongoc_uri_destroy(p); }
  void operator()(mongoc_collection_t* p) const noexcept { mongoc_collection_destroy(p); }
  void operator()(mongoc_cursor_t* p) const noexcept { mongoc_cursor_destroy(p); }
};
using MongoClient = std::unique_ptr<mongoc_client_t, Deleter>;
using MongoUri = std::unique_ptr<mongoc_uri_t, Deleter>;
using MongoCollection = std::unique_ptr<mongoc_collection_t, Deleter>;
using MongoCursor = std::unique_ptr<mongoc_cursor_t, Deleter>;

// A bson_t initialized in place and destroyed on scope exit (not movable: libbson may keep
// inline storage inside the struct).
class ScopedBson {
 public:
  ScopedBson() { bson_init(&doc_); }
  ~ScopedBson() { bson_destroy(&doc_); }
  ScopedBson(const ScopedBson&) = delete;
  ScopedBson& operator=(const ScopedBson&) = delete;
  bson_t* get() { return &doc_; }

 private:
  bson_t doc_;
};

void initMongoc() {
  static std::once_flag once;
  std::call_once(once, [] { mongoc_init(); });  // mongoc_cleanup is left to process exit
}

void quietHandler(mongoc_log_level_t level, const char* domain, const char* message, void*) {
  if (level > MONGOC_LOG_LEVEL_ERROR) return;  // CRITICAL=1, ERROR=2; warnings and below dropped
  const std::string_view msg = message ? message : "";
  if (msg.find("endSessions") != std::string_view::npos) return;
  mongoc_log_default_handler(level, domain, message, nullptr);
}

std::string randomHex(std::size_t bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::random_device rd;
  std::string out;
  for (std::size_t i = 0; i < bytes; ++i) {
    const auto b = static_cast<unsigned>(rd()) & 0xffu;
    out += kHex[b >> 4];
    out += kHex[b & 15];
  }
  return out;
}

std::chrono::microseconds since(Clock::time_point t0) {
  return std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - t0);
}

// Server codes meaning "not now" (shutdown, step-down, timeouts, FerretDB backend failures).
constexpr std::array<std::uint32_t, 19> kTransientServerCodes = {
    1,     6,     7,     50,    89,    91,    189, 262, 9001, 10107,
    11600, 11601, 11602, 13435, 13436, 16500, 24,  46,  112};

}  // namespace

// ---- pure helpers ----

std::string redactUri(std::string_view uri) {
  std::string_view scheme;
  for (std::string_view s : {"mongodb+srv://", "mongodb://"}) {
    if (uri.substr(0, s.size()) == s) {
      scheme = s;
      break;
    }
  }
  if (scheme.empty()) return "<not a mongodb URI>";
  const std::string_view rest = uri.substr(scheme.size());
  const auto end = rest.find_first_of("/?");
  std::string_view authority = rest.substr(0, end);
  const std::string_view tail = end == std::string_view::npos ? "" : rest.substr(end);
  // A '@' after the authority: a password with a raw '/' or '?' cut the authority short (or
  // an option value holds one). Either way, show nothing rather than part of a secret.
  if (tail.find('@') != std::string_view::npos) return std::string(scheme) + "<redacted>";
  std::string out(scheme);
  if (const auto at = authority.rfind('@'); at != std::string_view::npos) {
    out += "***@";
    authority = authority.substr(at + 1);
  }
  out += authority;
  const std::string_view path = tail.substr(0, tail.find('?'));  // "/db" (options dropped)
  if (path.size() > 1) out += path;
  return out;
}

bool isRetryableMongoError(std::uint32_t domain, std::uint32_t code) {
  switch (domain) {
    case MONGOC_ERROR_STREAM:            // connection refused/reset, socket timeout, DNS
    case MONGOC_ERROR_SERVER_SELECTION:  // no reachable server within serverSelectionTimeoutMS
    case MONGOC_ERROR_PROTOCOL:          // a reply cut short by a server going away
      return true;
    case MONGOC_ERROR_SASL:
    case MONGOC_ERROR_SCRAM:
      return false;  // credentials: the user fixes them
    case MONGOC_ERROR_CLIENT:
      // AUTHENTICATE: wrong user/password/mechanism — terminal. NOT_READY: topology scanning.
      return code == MONGOC_ERROR_CLIENT_NOT_READY;
    case MONGOC_ERROR_SERVER:
    case MONGOC_ERROR_QUERY:
    case MONGOC_ERROR_COMMAND:
    case MONGOC_ERROR_WRITE_CONCERN:
    case MONGOC_ERROR_COLLECTION:
      // 13 Unauthorized / 18 AuthenticationFailed are not in the list: terminal.
      return std::find(kTransientServerCodes.begin(), kTransientServerCodes.end(), code) !=
             kTransientServerCodes.end();
    default:
      return false;
  }
}

void quietMongocLogs() {
  initMongoc();
  mongoc_log_set_handler(quietHandler, nullptr);
}

// ---- Probe ----

struct Probe::Impl {
  ProbeOptions options;
  std::string redacted;
  std::string password;  // scrubbed from server/driver messages, just in case
  MongoClient client;

  Error fail(const std::string& what, const bson_error_t& e) const {
    std::string detail = e.message;
    if (password.size() >= 3) {
      for (auto p = detail.find(password); p != std::string::npos; p = detail.find(password))
        detail.replace(p, password.size(), "***");
    }
    std::string msg = "mongo " + redacted + ": " + what + ": " + detail;
    if (isRetryableMongoError(e.domain, e.code))
      return Error::retryable(std::move(msg), "is the database running and reachable?");
    const bool auth =
        (e.domain == MONGOC_ERROR_CLIENT && e.code == MONGOC_ERROR_CLIENT_AUTHENTICATE) ||
        e.domain == MONGOC_ERROR_SASL || e.domain == MONGOC_ERROR_SCRAM ||
        (e.domain == MONGOC_ERROR_SERVER && (e.code == 13 || e.code == 18));
    return Error::terminal(std::move(msg),
                           auth ? "check the user, password and authSource in the URI" : "");
  }

  MongoCollection collection(const std::string& db, const std::string& coll) const {
    return MongoCollection(mongoc_client_get_collection(client.get(), db.c_str(), coll.c_str()));
  }

  // Finds {_id: id} (limit 1); *found is set to the document as relaxed JSON.
  std::optional<Error> findOne(mongoc_collection_t* c, const std::string& id,
                               std::optional<std::string>* found, const std::string& what) const {
    ScopedBson filter;
    BSON_APPEND_UTF8(filter.get(), "_id", id.c_str());
    ScopedBson opts;
    BSON_APPEND_INT64(opts.get(), "limit", 1);
    MongoCursor cursor(mongoc_collection_find_with_opts(c, filter.get(), opts.get(), nullptr));
    const bson_t* doc = nullptr;
    found->reset();
    if (mongoc_cursor_next(cursor.get(), &doc)) {
      std::size_t len = 0;
      char* json = bson_as_relaxed_extended_json(doc, &len);
      if (json) {
        found->emplace(json, len);
        bson_free(json);
      }
    }
    bson_error_t err;
    if (mongoc_cursor_error(cursor.get(), &err)) return fail(what, err);
    return std::nullopt;
  }
};

Probe::Probe(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Probe::Probe(Probe&&) noexcept = default;
Probe& Probe::operator=(Probe&&) noexcept = default;
Probe::~Probe() = default;

const std::string& Probe::redactedUri() const { return impl_->redacted; }

Result<Probe> Probe::create(ProbeOptions options) {
  initMongoc();
  auto impl = std::make_unique<Impl>();
  impl->redacted = redactUri(options.uri);
  bson_error_t err;
  MongoUri uri(mongoc_uri_new_with_error(options.uri.c_str(), &err));
  // libmongoc's parse message may quote parts of the URI (userinfo): not passed on.
  if (!uri)
    return Error::terminal("mongo " + impl->redacted + ": the URI does not parse (value not shown)",
                           "use mongodb://[user:password@]host[:port][/db][?options]");
  if (const char* pw = mongoc_uri_get_password(uri.get())) impl->password = pw;
  const auto ms = static_cast<std::int32_t>(options.timeout.count());
  for (const char* key : {MONGOC_URI_SERVERSELECTIONTIMEOUTMS, MONGOC_URI_CONNECTTIMEOUTMS,
                          MONGOC_URI_SOCKETTIMEOUTMS}) {
    if (!mongoc_uri_has_option(uri.get(), key)) mongoc_uri_set_option_as_int32(uri.get(), key, ms);
  }
  if (!mongoc_uri_has_option(uri.get(), MONGOC_URI_APPNAME))
    mongoc_uri_set_option_as_utf8(uri.get(), MONGOC_URI_APPNAME, "ca4ctl");
  if (!options.tlsCaFile.empty()) {
    mongoc_uri_set_option_as_bool(uri.get(), MONGOC_URI_TLS, true);
    mongoc_uri_set_option_as_utf8(uri.get(), MONGOC_URI_TLSCAFILE, options.tlsCaFile.c_str());
  }
  impl->client.reset(mongoc_client_new_from_uri_with_error(uri.get(), &err));
  if (!impl->client)
    return Error::terminal("mongo " + impl->redacted + ": cannot create a client: " + err.message);
  mongoc_client_set_error_api(impl->client.get(), MONGOC_ERROR_API_VERSION_2);
  impl->options = std::move(options);
  return Probe(std::move(impl));
}

Status Probe::ping() {
  ScopedBson cmd;
  BSON_APPEND_INT32(cmd.get(), "ping", 1);
  ScopedBson reply;
  bson_error_t err;
  if (!mongoc_client_command_simple(impl_->client.get(), "admin", cmd.get(), nullptr, reply.get(),
                                    &err))
    return impl_->fail("ping", err);
  return engine::okStatus();
}

Result<RoundTrip> Probe::writeReadDelete(const std::string& db, const std::string& coll) {
  RoundTrip rt;
  rt.id = "ca4-probe-" + randomHex(16);
  const std::string ns = db + "." + coll;
  auto c = impl_->collection(db, coll);
  bson_error_t err;

  auto t0 = Clock::now();
  {
    ScopedBson doc;
    BSON_APPEND_UTF8(doc.get(), "_id", rt.id.c_str());
    BSON_APPEND_UTF8(doc.get(), "kind", "ca4ctl-probe");
    const auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::system_clock::now().time_since_epoch());
    BSON_APPEND_DATE_TIME(doc.get(), "at", now.count());
    ScopedBson reply;
    if (!mongoc_collection_insert_one(c.get(), doc.get(), nullptr, reply.get(), &err))
      return impl_->fail("insert probe into " + ns, err);
  }
  rt.insert = since(t0);

  auto cleanup = [&] {  // best effort after a failure past the insert
    ScopedBson sel;
    BSON_APPEND_UTF8(sel.get(), "_id", rt.id.c_str());
    bson_error_t ignored;
    mongoc_collection_delete_one(c.get(), sel.get(), nullptr, nullptr, &ignored);
  };

  t0 = Clock::now();
  std::optional<std::string> found;
  if (auto e = impl_->findOne(c.get(), rt.id, &found, "read probe back from " + ns)) {
    cleanup();
    return *e;
  }
  rt.read = since(t0);
  if (!found || found->find("ca4ctl-probe") == std::string::npos) {
    cleanup();
    return Error::terminal("mongo " + impl_->redacted + ": probe " + rt.id + " inserted into " +
                               ns + " but not read back",
                           "check the read concern / replica configuration");
  }

  t0 = Clock::now();
  {
    ScopedBson sel;
    BSON_APPEND_UTF8(sel.get(), "_id", rt.id.c_str());
    ScopedBson reply;
    if (!mongoc_collection_delete_one(c.get(), sel.get(), nullptr, reply.get(), &err))
      return impl_->fail("delete probe from " + ns, err);
    bson_iter_t it;
    const long long deleted =
        bson_iter_init_find(&it, reply.get(), "deletedCount") ? bson_iter_as_int64(&it) : -1;
    if (deleted != 1)
      return Error::terminal("mongo " + impl_->redacted + ": deleting probe " + rt.id + " from " +
                             ns + " removed " + std::to_string(deleted) + " documents, expected 1");
  }
  rt.remove = since(t0);

  if (auto e = impl_->findOne(c.get(), rt.id, &found, "confirm probe deleted from " + ns))
    return *e;
  if (found)
    return Error::terminal("mongo " + impl_->redacted + ": probe " + rt.id + " still in " + ns +
                           " after its deletion");
  return rt;
}

Result<std::optional<std::string>> Probe::findById(const std::string& db, const std::string& coll,
                                                   const std::string& id) {
  auto c = impl_->collection(db, coll);
  std::optional<std::string> found;
  if (auto e = impl_->findOne(c.get(), id, &found, "find " + id + " in " + db + "." + coll))
    return *e;
  return found;
}

Result<long long> Probe::count(const std::string& db, const std::string& coll) {
  auto c = impl_->collection(db, coll);
  ScopedBson filter;
  ScopedBson reply;
  bson_error_t err;
  const std::int64_t n =
      mongoc_collection_count_documents(c.get(), filter.get(), nullptr, nullptr, reply.get(), &err);
  if (n < 0) return impl_->fail("count " + db + "." + coll, err);
  return static_cast<long long>(n);
}

}  // namespace ca4::drivers::mongo
