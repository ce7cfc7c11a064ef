#include "ca4/testsupport/ferretdb.hpp"

#include <mongoc/mongoc.h>

#include <memory>
#include <stdexcept>
#include <thread>

namespace ca4::testsupport {
namespace {

using Clock = std::chrono::steady_clock;

struct MongocDeleter {
  void operator()(mongoc_client_t* p) const { mongoc_client_destroy(p); }
  void operator()(mongoc_uri_t* p) const { mongoc_uri_destroy(p); }
};

// Owns a heap bson_t (unique_ptr<bson_t> trips -Wignored-attributes: bson_t is over-aligned).
struct Bson {
  explicit Bson(bson_t* p) : ptr(p) {}
  Bson(const Bson&) = delete;
  Bson& operator=(const Bson&) = delete;
  ~Bson() {
    if (ptr) bson_destroy(ptr);
  }
  bson_t* ptr;
};

// One ping with short timeouts; true when the server answered ok.
bool ping(const std::string& uri) {
  mongoc_init();  // idempotent
  std::unique_ptr<mongoc_uri_t, MongocDeleter> u(mongoc_uri_new(
      (uri + "?serverSelectionTimeoutMS=500&connectTimeoutMS=500&socketTimeoutMS=2000").c_str()));
  if (!u) return false;
  std::unique_ptr<mongoc_client_t, MongocDeleter> client(mongoc_client_new_from_uri(u.get()));
  if (!client) return false;
  Bson cmd(BCON_NEW("ping", BCON_INT32(1)));
  bson_t reply;
  bson_error_t error;
  bool ok = mongoc_client_command_simple(client.get(), "admin", cmd.ptr, nullptr, &reply, &error);
  bson_destroy(&reply);  // initialized by command_simple in every case
  return ok;
}

}  // namespace

FerretDb::FerretDb(std::chrono::seconds startTimeout)
    : startTimeout_(startTimeout), dir_("ca4-ferretdb") {
  requireInstalled("ferretdb");
  binary_ = serviceCache() / "bin" / "ferretdb";
  if (!std::filesystem::exists(binary_)) {
    throw std::runtime_error(binary_.string() +
                             " missing: run scripts/install-services.sh --force ferretdb");
  }
  port_ = freeLoopbackPort();
  std::filesystem::create_directories(dir_.path() / "data");
  std::filesystem::create_directories(dir_.path() / "state");
  start();
}

FerretDb::~FerretDb() { stop(); }

std::string FerretDb::uri() const { return "mongodb://127.0.0.1:" + std::to_string(port_) + "/"; }

std::filesystem::path FerretDb::serverLog() const { return dir_.path() / "ferretdb.log"; }

bool FerretDb::running() { return process_.alive(); }

void FerretDb::stop() { process_.stop(std::chrono::seconds(10)); }

void FerretDb::kill() { process_.kill(); }

void FerretDb::start() {
  if (process_.alive()) return;
  auto t0 = Clock::now();
  process_ = Process::start({
      .argv = {binary_.string(), "--handler=sqlite",
               "--sqlite-url=file:" + (dir_.path() / "data").string() + "/",
               "--listen-addr=127.0.0.1:" + std::to_string(port_),
               "--state-dir=" + (dir_.path() / "state").string(), "--telemetry=disable",
               "--debug-addr=-", "--log-level=warn", "--log-format=text"},
      .env = {},
      .cwd = dir_.path(),
      .logFile = serverLog(),
  });
  auto deadline = Clock::now() + startTimeout_;
  while (!ping(uri())) {
    if (!process_.alive() || Clock::now() >= deadline) {
      std::string why =
          process_.alive() ? "no ping answer before the start timeout" : "exited during start";
      std::string msg =
          "ferretdb on " + uri() + ": " + why + "\n--- log (tail)\n" + tailFile(serverLog());
      process_.kill();
      throw std::runtime_error(msg);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  lastStart_ = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0);
}

}  // namespace ca4::testsupport
