# shellcheck shell=bash
# Sourced by the bench drivers: starts real services on free loopback ports in a temp dir and
# stops them on exit. Nothing here writes into the work tree.
#
#   source bench/lib/services.sh      # sets BENCH_TMP, installs the EXIT trap
#   svc_kafka_start                   # -> KAFKA_BOOTSTRAP=127.0.0.1:<port> (KRaft, single node)
#   svc_ferretdb_start                # -> MONGO_URI=mongodb://127.0.0.1:<port>/ (SQLite backend)
#   svc_bg NAME CMD...                # starts CMD in the background, logged, stopped on exit
#   svc_stop NAME                     # stops one of them (TERM, then KILL after 10 s)
#
# Jars and binaries come from the project's cache (scripts/install-services.sh): Kafka from
# $CA4_CACHE/kafka-*/libs (else bench/connect's own jars, see bench/README.md), FerretDB from
# $CA4_CACHE/bin/ferretdb. Servers are pinned with $SERVER_CPUS (taskset list, default 1) unless
# the caller overrides it per start, e.g. SVC_CPUS=0 svc_kafka_start.

CA4_CACHE=${CA4_CACHE:-$HOME/.cache/ca4}
BENCH_CACHE=${BENCH_CACHE:-$CA4_CACHE/bench}
BENCH_TMP=${BENCH_TMP:-$(mktemp -d /tmp/ca4-bench.XXXXXX)}
declare -gA SVC_PID=()

say() { printf '[bench %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() { say "error: $*"; exit 1; }

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

wait_port() { # wait_port PORT SECONDS NAME
  local deadline=$((SECONDS + $2))
  while ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; do
    [[ -n ${SVC_PID[$3]:-} ]] && ! kill -0 "${SVC_PID[$3]}" 2>/dev/null && {
      tail -n 30 "$BENCH_TMP/$3.log" >&2; die "$3 exited before listening on :$1 (log: $BENCH_TMP/$3.log)"; }
    ((SECONDS < deadline)) || { tail -n 30 "$BENCH_TMP/$3.log" >&2; die "$3 not listening on :$1 after $2 s"; }
    sleep 0.2
  done
}

# svc_bg NAME CMD... : runs CMD under taskset ${SVC_CPUS:-$SERVER_CPUS} in its own process group.
svc_bg() {
  local name=$1; shift
  local cpus=${SVC_CPUS:-${SERVER_CPUS:-1}}
  setsid taskset -c "$cpus" "$@" >"$BENCH_TMP/$name.log" 2>&1 &
  SVC_PID[$name]=$!
  # Reaper: if this driver dies without running its EXIT trap (SIGKILL, a killed terminal), stop
  # the service's process group anyway. Detached so it outlives the driver's own group.
  setsid bash -c 'while kill -0 "$1" 2>/dev/null; do sleep 1; done
    kill -TERM -- "-$2" 2>/dev/null; sleep 10; kill -KILL -- "-$2" 2>/dev/null' reaper "$$" "${SVC_PID[$name]}" \
    </dev/null >/dev/null 2>&1 &
  say "started $name (pid ${SVC_PID[$name]}, cpus $cpus)"
}

svc_stop() {
  local name=$1 pid=${SVC_PID[$1]:-}
  [[ -n $pid ]] || return 0
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -0 "$pid" 2>/dev/null && { kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null; }
  fi
  wait "$pid" 2>/dev/null || true  # its exit status (143 after TERM) is not ours (set -e)
  unset 'SVC_PID[$name]'
}

svc_stop_all() {
  local n
  for n in "${!SVC_PID[@]}"; do svc_stop "$n"; done
  if [[ ${BENCH_KEEP_TMP:-0} == 1 ]]; then say "kept $BENCH_TMP"; else rm -rf "$BENCH_TMP"; fi
}
trap svc_stop_all EXIT
trap 'exit 130' INT TERM

kafka_libs() {
  local d
  for d in "$CA4_CACHE"/kafka-*/libs "$BENCH_CACHE/connect/libs"; do
    [[ -f $(ls "$d"/kafka_2.13-*.jar 2>/dev/null | head -1) ]] && { echo "$d"; return; }
  done
  return 1
}

svc_kafka_start() {
  local libs; libs=$(kafka_libs) || die "no Kafka jars: run scripts/install-services.sh kafka (or bench/worker_bench.sh --fetch)"
  local port cport dir=$BENCH_TMP/kafka
  port=$(free_port); cport=$(free_port)
  mkdir -p "$dir/data"
  cat >"$dir/server.properties" <<EOF
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$cport
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$cport
advertised.listeners=PLAINTEXT://127.0.0.1:$port
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$dir/data
num.partitions=${KAFKA_PARTITIONS:-1}
auto.create.topics.enable=true
offsets.topic.replication.factor=1
offsets.topic.num.partitions=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
message.max.bytes=10485760
EOF
  cat >"$dir/log4j2.properties" <<EOF
rootLogger.level=WARN
rootLogger.appenderRef.stdout.ref=STDOUT
appender.stdout.type=Console
appender.stdout.name=STDOUT
appender.stdout.layout.type=PatternLayout
appender.stdout.layout.pattern=[%d] %p %m (%c)%n
EOF
  local jopts=(-Xms512m -Xmx1g -XX:+UseG1GC "-Dlog4j2.configurationFile=$dir/log4j2.properties" -cp "$libs/*")
  java "${jopts[@]}" kafka.tools.StorageTool format -t "$(java -cp "$libs/*" kafka.tools.StorageTool random-uuid 2>/dev/null)" \
    -c "$dir/server.properties" --ignore-formatted >"$dir/format.log" 2>&1 || { cat "$dir/format.log" >&2; die "kafka storage format failed"; }
  SVC_CPUS=${SVC_CPUS:-${KAFKA_CPUS:-0}} svc_bg kafka java "${jopts[@]}" kafka.Kafka "$dir/server.properties"
  wait_port "$port" 120 kafka
  KAFKA_BOOTSTRAP=127.0.0.1:$port
  export KAFKA_BOOTSTRAP
  say "kafka ready at $KAFKA_BOOTSTRAP ($libs)"
}

svc_ferretdb_start() {
  local bin=${FERRETDB_BIN:-$CA4_CACHE/bin/ferretdb}
  [[ -x $bin ]] || die "no FerretDB at $bin: run scripts/install-services.sh ferretdb"
  local port dport dir=$BENCH_TMP/ferretdb
  port=$(free_port); dport=$(free_port)
  mkdir -p "$dir/data"
  SVC_CPUS=${SVC_CPUS:-${FERRETDB_CPUS:-0}} svc_bg ferretdb "$bin" --handler=sqlite --sqlite-url="file:$dir/data/" \
    --state-dir="$dir" --listen-addr="127.0.0.1:$port" --debug-addr="127.0.0.1:$dport" \
    --telemetry=disable --log-level=warn
  wait_port "$port" 60 ferretdb
  MONGO_URI="mongodb://127.0.0.1:$port/"
  export MONGO_URI
  say "ferretdb ready at $MONGO_URI"
}

# bench_python: the venv with bench/peers/requirements.txt (created once, reused).
bench_python() {
  local venv=${CA4_BENCH_VENV:-$BENCH_CACHE/venv} req
  req=$(dirname "${BASH_SOURCE[0]}")/../peers/requirements.txt
  local want; want=$(sha256sum "$req" | cut -c1-16)
  if [[ ! -x $venv/bin/python || "$(cat "$venv/.ca4-req" 2>/dev/null)" != "$want" ]]; then
    say "creating $venv from bench/peers/requirements.txt"
    python3 -m venv "$venv" && "$venv/bin/pip" install -q -r "$req" >&2 || die "pip install -r $req failed"
    echo "$want" >"$venv/.ca4-req"
  fi
  echo "$venv/bin/python"
}
