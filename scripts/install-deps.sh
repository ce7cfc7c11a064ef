#!/usr/bin/env bash
# Installs the system packages ca4 builds and tests with (Debian 12 / bookworm), idempotently:
# packages already installed are skipped, and `apt-get update` runs only when something is
# missing and the package lists are older than a day (or were never fetched). A warm run takes
# about a second. Needs root (or sudo) only when something is missing.
#
#   scripts/install-deps.sh          install what is missing
#   scripts/install-deps.sh --check  list what is missing, exit 1 if anything is
set -euo pipefail

PACKAGES=(
  # toolchain
  build-essential cmake ninja-build pkg-config clang libclang-rt-14-dev clang-format
  # libraries (cmake/ca4_deps.cmake finds them)
  libpistache-dev librdkafka-dev libmongoc-dev libbson-dev libsimdjson-dev libcli11-dev
  libspdlog-dev nlohmann-json3-dev libyaml-cpp-dev libssh-dev libcurl4-openssl-dev
  prometheus-cpp-dev
  # tests and benchmarks
  libgtest-dev libgmock-dev libbenchmark-dev prometheus wrk nginx-light libnginx-mod-http-echo hyperfine
  python3-yaml strace
  # the remote-hosts testbed: sshd in network namespaces
  openssh-server iproute2
  # services: Kafka runs on Java 17, its jars come through Maven (scripts/install-services.sh)
  openjdk-17-jre-headless maven
)
# Not from apt: Go. Debian 12's golang (1.19) is too old to build FerretDB v1.24 (needs >= 1.22);
# the machines have a Go toolchain in /usr/local/go. Python 3 with venv is also expected.

say() { printf '[install-deps] %s\n' "$*"; }
die() { printf '[install-deps] error: %s\n' "$*" >&2; exit 1; }

missing=()
for p in "${PACKAGES[@]}"; do
  [[ "$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null)" == installed ]] || missing+=("$p")
done

if [[ ${1:-} == --check ]]; then
  if [[ ${#missing[@]} -gt 0 ]]; then echo "missing: ${missing[*]}"; exit 1; fi
  echo "all ${#PACKAGES[@]} packages installed"; exit 0
fi

if [[ ${#missing[@]} -gt 0 ]]; then
  sudo=()
  if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null 2>&1 || die "not root and no sudo; install: ${missing[*]}"
    sudo=(sudo)
  fi
  say "installing ${#missing[@]} package(s): ${missing[*]}"
  lists=/var/lib/apt/lists
  if [[ -z "$(find "$lists" -maxdepth 1 -name '*_Packages*' -mmin -1440 2>/dev/null | head -n1)" ]]; then
    say "apt-get update"
    "${sudo[@]}" apt-get update -q >/dev/null || die "apt-get update failed"
  fi
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -q --no-install-recommends \
    "${missing[@]}" || die "apt-get install failed for: ${missing[*]}"
else
  say "all ${#PACKAGES[@]} packages already installed"
fi

# Tools that do not come from apt: report clearly, do not fail the C++ build for them.
go=$(command -v go || true)
[[ -z $go && -x /usr/local/go/bin/go ]] && go=/usr/local/go/bin/go
if [[ -z $go ]]; then
  say "warning: no Go toolchain (needed by scripts/install-services.sh for FerretDB): install Go >= 1.22 in /usr/local/go"
fi
command -v kubectl >/dev/null 2>&1 \
  || say "warning: kubectl missing (the Kubernetes tests observe the cluster with it, and bench/ compares with it); the machine images carry it"
python3 -c 'import venv' 2>/dev/null \
  || say "warning: python3 with venv missing (needed for the S3 server): apt-get install python3-venv"
