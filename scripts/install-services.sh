#!/usr/bin/env bash
# Installs the real services the integration tests start (tests/support) into a cache:
#   Apache Kafka (KRaft) from Maven Central jars, FerretDB from the Go module proxy, and the
#   S3-compatible server chosen in scripts/services/README.md (moto_server from PyPI).
#
#   scripts/install-services.sh            Kafka, FerretDB, S3 server (what the tests need)
#   scripts/install-services.sh --bench    also FastAPI + uvicorn + kafka-python (benchmark peer)
#   scripts/install-services.sh --force    reinstall (what is named, else everything)
#   scripts/install-services.sh kafka s3   only the named components (kafka ferretdb s3 bench)
#
# Cache: ${CA4_CACHE:-$HOME/.cache/ca4}. Idempotent: each component writes a marker file
# (<cache>/<component>.installed) holding its version only after a complete install, so a warm
# run only reads markers. Nothing downloaded is written into the work tree.
set -euo pipefail

KAFKA_VERSION=4.1.1          # org.apache.kafka:kafka_2.13 (KRaft only; Java 17)
LOG4J_VERSION=2.24.3         # Kafka 4.1's own log4j2 version
SLF4J_VERSION=2.0.17         # log4j-slf4j2-impl needs slf4j-api 2.x (kafka-clients asks for 1.7)
FERRETDB_VERSION=v1.24.0     # github.com/FerretDB/FerretDB (v1: SQLite backend built in).
                             # v1.24.1 is refused by the Go module proxy here (403).
MOTO_VERSION=5.2.5           # moto[server] from PyPI: the S3 server (see scripts/services/README.md)
BENCH_PIP=("fastapi" "uvicorn" "kafka-python")

cache=${CA4_CACHE:-$HOME/.cache/ca4}
force=0
only=()
for arg in "$@"; do
  case $arg in
    --bench) only+=(kafka ferretdb s3 bench) ;;
    --force) force=1 ;;
    kafka|ferretdb|s3|bench) only+=("$arg") ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    *) echo "install-services.sh: unknown argument '$arg' (try --help)" >&2; exit 2 ;;
  esac
done

say() { printf '[install-services] %s\n' "$*"; }
die() { printf '[install-services] error: %s\n' "$*" >&2; exit 1; }
need() { command -v "$1" >/dev/null 2>&1 || die "'$1' not found: $2"; }

# installed NAME VERSION -> true when the marker says VERSION is fully installed
installed() {
  [[ $force -eq 0 && -f "$cache/$1.installed" && "$(cat "$cache/$1.installed")" == "$2" ]]
}
mark() { printf '%s' "$2" >"$cache/$1.installed"; }

mkdir -p "$cache/bin"

install_kafka() {
  local dir="$cache/kafka-$KAFKA_VERSION"
  if installed kafka "$KAFKA_VERSION"; then say "kafka $KAFKA_VERSION: already installed"; return; fi
  need java "run scripts/install-deps.sh (openjdk-17-jre-headless)"
  need mvn "run scripts/install-deps.sh (maven)"
  say "kafka $KAFKA_VERSION: resolving jars from Maven Central into $dir/libs"
  local t0=$SECONDS
  rm -rf "$dir" && mkdir -p "$dir/libs"
  # kafka-tools (the admin CLIs) is left out: it drags in Kafka Connect and Jetty, and the tests
  # administer topics through librdkafka. The pom lives in the cache: it only drives dependency:copy-dependencies.
  cat >"$dir/pom.xml" <<EOF
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>ca4.cache</groupId><artifactId>kafka-runtime</artifactId><version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId><version>$KAFKA_VERSION</version></dependency>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka-server</artifactId><version>$KAFKA_VERSION</version></dependency>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka-storage</artifactId><version>$KAFKA_VERSION</version></dependency>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka-clients</artifactId><version>$KAFKA_VERSION</version></dependency>
    <dependency><groupId>org.slf4j</groupId><artifactId>slf4j-api</artifactId><version>$SLF4J_VERSION</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-core</artifactId><version>$LOG4J_VERSION</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-slf4j2-impl</artifactId><version>$LOG4J_VERSION</version></dependency>
  </dependencies>
</project>
EOF
  if ! mvn -q -B -f "$dir/pom.xml" dependency:copy-dependencies -DincludeScope=runtime \
        -DoutputDirectory="$dir/libs" >"$dir/mvn.log" 2>&1; then
    tail -n 30 "$dir/mvn.log" >&2
    die "kafka: mvn dependency:copy-dependencies failed (full log: $dir/mvn.log)"
  fi
  # Two slf4j bindings would make logging nondeterministic: keep only log4j2's.
  rm -f "$dir"/libs/slf4j-reload4j-*.jar "$dir"/libs/slf4j-log4j12-*.jar "$dir"/libs/logback-classic-*.jar
  [[ -f "$dir/libs/kafka_2.13-$KAFKA_VERSION.jar" ]] || die "kafka: kafka_2.13-$KAFKA_VERSION.jar missing after mvn"
  java -cp "$dir/libs/*" kafka.tools.StorageTool random-uuid >/dev/null 2>&1 \
    || die "kafka: 'java -cp libs/* kafka.tools.StorageTool random-uuid' does not run"
  mark kafka "$KAFKA_VERSION"
  say "kafka $KAFKA_VERSION: installed in $((SECONDS - t0)) s ($(du -sh "$dir/libs" | cut -f1))"
}

install_ferretdb() {
  if installed ferretdb "$FERRETDB_VERSION" && [[ -x "$cache/bin/ferretdb" ]]; then
    say "ferretdb $FERRETDB_VERSION: already installed"; return
  fi
  local go=go
  command -v go >/dev/null 2>&1 || go=/usr/local/go/bin/go
  command -v "$go" >/dev/null 2>&1 || die "ferretdb: Go toolchain not found (expected on PATH or /usr/local/go/bin)"
  say "ferretdb $FERRETDB_VERSION: building from the Go module proxy (about 2 min cold on 2 cores)"
  local t0=$SECONDS log="$cache/ferretdb-install.log"
  # Not `go install …@version`: it also reads the module's version list, which the proxy here
  # refuses for FerretDB. `go mod download` of the exact version works. The build must run with
  # FerretDB as the main module and build/version/version.txt present, else the binary panics
  # at start ("Invalid build/version/version.txt"), so build from a writable copy of the source.
  local json moddir src="$cache/src/ferretdb-$FERRETDB_VERSION"
  json=$(cd "$cache" && GOTOOLCHAIN=local GOFLAGS= $go mod download -json \
           "github.com/FerretDB/FerretDB@$FERRETDB_VERSION" 2>"$log") \
    || { cat "$log" >&2; printf '%s\n' "$json" >&2
         die "ferretdb: 'go mod download github.com/FerretDB/FerretDB@$FERRETDB_VERSION' failed"; }
  moddir=$(printf '%s\n' "$json" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')
  [[ -d "$moddir" ]] || die "ferretdb: module source directory not found in: $json"
  rm -rf "$src" && mkdir -p "$cache/src" && cp -r "$moddir" "$src" && chmod -R u+w "$src"
  printf '%s\n' "$FERRETDB_VERSION" >"$src/build/version/version.txt"
  if ! (cd "$src" && GOTOOLCHAIN=local GOFLAGS=-buildvcs=false \
          $go build -trimpath -o "$cache/bin/ferretdb" ./cmd/ferretdb) >>"$log" 2>&1; then
    tail -n 30 "$log" >&2
    die "ferretdb: go build failed (full log: $log)"
  fi
  "$cache/bin/ferretdb" --version >/dev/null 2>&1 || die "ferretdb: $cache/bin/ferretdb --version fails"
  rm -rf "$src"
  mark ferretdb "$FERRETDB_VERSION"
  say "ferretdb $FERRETDB_VERSION: installed in $((SECONDS - t0)) s"
}

venv_python() {
  local venv="$cache/venv"
  if [[ ! -x "$venv/bin/python" ]]; then
    need python3 "install Python 3 (python3-venv)"
    say "python venv: creating $venv" >&2
    python3 -m venv "$venv" || die "python3 -m venv $venv failed (install python3-venv)"
    "$venv/bin/python" -m pip install -q --upgrade pip >&2 2>&1 || true
  fi
  printf '%s' "$venv/bin/python"
}

install_s3() {
  if installed s3-moto "$MOTO_VERSION" && [[ -x "$cache/venv/bin/moto_server" ]]; then
    say "s3 (moto_server $MOTO_VERSION): already installed"; return
  fi
  local py; py=$(venv_python)
  say "s3 (moto_server $MOTO_VERSION): pip install 'moto[server]==$MOTO_VERSION' into $cache/venv"
  local t0=$SECONDS
  if ! "$py" -m pip install -q "moto[server]==$MOTO_VERSION" >"$cache/moto-install.log" 2>&1; then
    tail -n 30 "$cache/moto-install.log" >&2
    die "s3: pip install moto[server] failed (full log: $cache/moto-install.log)"
  fi
  [[ -x "$cache/venv/bin/moto_server" ]] || die "s3: $cache/venv/bin/moto_server missing after pip install"
  mark s3-moto "$MOTO_VERSION"
  say "s3 (moto_server $MOTO_VERSION): installed in $((SECONDS - t0)) s"
}

install_bench() {
  local want="${BENCH_PIP[*]}"
  if installed bench-python "$want"; then say "bench python peer: already installed"; return; fi
  local py; py=$(venv_python)
  say "bench python peer: pip install $want into $cache/venv"
  local t0=$SECONDS
  "$py" -m pip install -q "${BENCH_PIP[@]}" >"$cache/bench-install.log" 2>&1 \
    || { tail -n 30 "$cache/bench-install.log" >&2; die "bench: pip install failed (log: $cache/bench-install.log)"; }
  mark bench-python "$want"
  say "bench python peer: installed in $((SECONDS - t0)) s"
}

[[ ${#only[@]} -gt 0 ]] || only=(kafka ferretdb s3)
for c in kafka ferretdb s3 bench; do
  [[ " ${only[*]} " == *" $c "* ]] && "install_$c"
done
say "done: cache $cache"
