// resolveLayout(): the only place the local target looks at this machine's files to find its
// prerequisites. Everything missing is reported at once with the command that fixes it.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "ca4/stages/endpoints.h"
#include "ca4/stages/files.h"
#include "ca4/stages/local_services.h"

namespace ca4::stages {
namespace fs = std::filesystem;

namespace {

bool executable(const std::string& p) { return !p.empty() && ::access(p.c_str(), X_OK) == 0; }

std::string onPath(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::istringstream dirs(path ? path : "/usr/bin:/bin");
  std::string d;
  while (std::getline(dirs, d, ':')) {
    std::string c = (d.empty() ? "." : d) + "/" + name;
    if (executable(c)) return c;
  }
  return "";
}

std::string selfDir() {
  std::error_code ec;
  auto exe = fs::read_symlink("/proc/self/exe", ec);
  return ec ? "" : exe.parent_path().string();
}

std::string readTrimmed(const std::string& file) {
  std::ifstream in(file);
  std::string s;
  std::getline(in, s);
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ' || s.back() == '\r')) s.pop_back();
  return s;
}

}  // namespace

std::string absUnder(const std::string& base, const std::string& p) {
  if (p.empty()) return p;
  fs::path path(p);
  if (p.rfind("~/", 0) == 0) {
    const char* home = std::getenv("HOME");
    path = fs::path(home ? home : "/") / p.substr(2);
  }
  if (path.is_relative()) path = fs::path(base.empty() ? "." : base) / path;
  return fs::weakly_canonical(path).string();
}

std::string readFile(const std::string& path) {
  std::ifstream in(path);
  return {std::istreambuf_iterator<char>(in), {}};
}

engine::Status writeFileAtomic(const std::string& path, const std::string& content, mode_t mode) {
  std::error_code ec;
  fs::create_directories(fs::path(path).parent_path(), ec);
  const std::string tmp = path + ".tmp";
  ::unlink(tmp.c_str());  // a leftover with other permissions is not reused
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) {
    return engine::Error::terminal("cannot write " + path + ": " + std::strerror(errno),
                                   "check the permissions of its directory");
  }
  ::fchmod(fd, mode);  // the umask does not narrow what the caller asked for
  std::size_t off = 0;
  while (off < content.size()) {
    ssize_t w = ::write(fd, content.data() + off, content.size() - off);
    if (w <= 0) {
      const int e = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      return engine::Error::terminal("cannot write " + path + ": " + std::strerror(e), "check the free space");
    }
    off += static_cast<std::size_t>(w);
  }
  ::close(fd);
  fs::rename(tmp, path, ec);
  if (ec) return engine::Error::terminal("cannot write " + path + ": " + ec.message());
  return engine::okStatus();
}

std::string localDataDir(const spec::Pipeline& p) { return absUnder(p.base_dir, p.spec.local.data_dir); }
std::string stateDir(const spec::Pipeline& p) { return absUnder(p.base_dir, ".ca4"); }
std::string apiKeysFile(const spec::Pipeline& p) { return localDataDir(p) + "/api-keys"; }

namespace local {

engine::Result<Layout> resolveLayout(const spec::Pipeline& p) {
  Layout l;
  l.data_dir = localDataDir(p);
  if (!p.spec.local.cache_dir.empty()) {
    l.cache_dir = absUnder(p.base_dir, p.spec.local.cache_dir);
  } else if (const char* c = std::getenv("CA4_CACHE"); c && *c) {
    l.cache_dir = c;
  } else {
    const char* home = std::getenv("HOME");
    l.cache_dir = std::string(home ? home : "/root") + "/.cache/ca4";
  }

  std::vector<std::string> missing;
  // ca4-processor / ca4-worker: explicit binDir, else beside ca4ctl, else <spec dir>/build/bin.
  std::vector<std::string> candidates;
  if (!p.spec.local.bin_dir.empty()) {
    candidates = {absUnder(p.base_dir, p.spec.local.bin_dir)};
  } else {
    if (const char* b = std::getenv("CA4_BIN_DIR"); b && *b) candidates.push_back(b);
    candidates.push_back(selfDir());
    candidates.push_back(absUnder(p.base_dir, "build/bin"));
  }
  for (const auto& c : candidates) {
    if (executable(c + "/ca4-processor") && executable(c + "/ca4-worker")) {
      l.bin_dir = c;
      break;
    }
  }
  if (l.bin_dir.empty()) {
    missing.push_back("ca4-processor and ca4-worker not found in " + candidates.front() +
                      " — fix: run `make build` (or set spec.local.binDir)");
  }

  l.java = onPath("java");
  if (l.java.empty()) missing.push_back("java not found on PATH — fix: scripts/install-deps.sh");

  std::string kafka_version = readTrimmed(l.cache_dir + "/kafka.installed");
  l.kafka_libs = l.cache_dir + "/kafka-" + kafka_version + "/libs";
  if (kafka_version.empty() || !fs::is_directory(l.kafka_libs)) {
    missing.push_back("Apache Kafka not installed in " + l.cache_dir +
                      " — fix: scripts/install-services.sh");
  }
  l.ferretdb = l.cache_dir + "/bin/ferretdb";
  if (!executable(l.ferretdb)) {
    missing.push_back("FerretDB not installed (" + l.ferretdb + ") — fix: scripts/install-services.sh");
  }
  if (p.spec.platform.archive.enabled) {
    l.moto_server = l.cache_dir + "/venv/bin/moto_server";
    if (!executable(l.moto_server)) {
      missing.push_back("S3 server (moto) not installed (" + l.moto_server +
                        ") — fix: scripts/install-services.sh, or set spec.platform.archive.enabled: false");
    }
  }
  if (p.spec.monitoring.enabled) {
    l.prometheus = onPath("prometheus");
    if (l.prometheus.empty()) {
      missing.push_back("prometheus not found on PATH — fix: scripts/install-deps.sh (Debian package "
                        "`prometheus`), or set spec.monitoring.enabled: false");
    }
  }
  if (!missing.empty()) {
    std::string msg = "missing prerequisites for the local target:";
    for (const auto& m : missing) msg += "\n  - " + m;
    return engine::Error::terminal(msg, "run `ca4ctl doctor` for the full list, or `make up` which installs and builds everything");
  }
  return l;
}

}  // namespace local

engine::Result<Endpoints> resolveEndpoints(const spec::Pipeline& p) {
  if (p.spec.target != spec::Target::Local) {
    return engine::Error::terminal(
        "verify kafka/db/e2e on target " + std::string(spec::toString(p.spec.target)) +
            " reach the services through the tunnels, which are not built yet",
        "`ca4ctl verify preflight` checks the rollout through the Kubernetes API; the tunnels land with the remote-hosts issue");
  }
  const auto& ports = p.spec.local.ports;
  auto loop = [](std::uint16_t port) { return "127.0.0.1:" + std::to_string(port); };
  Endpoints e;
  e.kafka_bootstrap = loop(ports.kafka);
  e.processor_url = "http://" + loop(ports.processor);
  e.worker_metrics_url = "http://" + loop(ports.worker_metrics);
  if (p.spec.monitoring.enabled) e.prometheus_url = "http://" + loop(ports.prometheus);
  e.mongo_uri = "mongodb://" + loop(ports.db) + "/";
  e.db = p.spec.platform.db.database;
  e.collection = p.spec.platform.db.collection;
  const auto& a = p.spec.platform.archive;
  e.archive = a.enabled;
  e.s3_endpoint = "http://" + loop(ports.s3);
  e.s3_region = a.region;
  e.s3_bucket = a.bucket;
  e.s3_access_key = a.access_key_id.empty() ? local::kLocalS3AccessKey : a.access_key_id.value();
  e.s3_secret_key = a.secret_access_key.empty() ? local::kLocalS3Secret : a.secret_access_key.value();
  if (!p.spec.edge.processor.api_key.empty()) {
    e.api_key = p.spec.edge.processor.api_key.value();
  } else {
    // "name:key" lines written by the edge stage (0600)
    std::ifstream in(apiKeysFile(p));
    std::string line;
    while (std::getline(in, line)) {
      if (line.empty() || line[0] == '#') continue;
      auto colon = line.find(':');
      e.api_key = colon == std::string::npos ? line : line.substr(colon + 1);
      break;
    }
  }
  return e;
}

}  // namespace ca4::stages
