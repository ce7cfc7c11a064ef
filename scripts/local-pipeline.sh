#!/usr/bin/env bash
# Runs the whole pipeline on this machine, as real processes, until ca4ctl's local target lands:
#   Kafka (KRaft) → ca4-processor → topic gpu-metadata → ca4-worker → FerretDB (+ S3 archive)
#
#   scripts/local-pipeline.sh up       start what is not running (safe to re-run)
#   scripts/local-pipeline.sh verify   POST a uniquely tagged event, wait for its document and
#                                      its S3 object, print the end-to-end latency
#   scripts/local-pipeline.sh status   what runs, with pids, ports and logs
#   scripts/local-pipeline.sh down     stop everything, in reverse order (safe to re-run)
#
# State (pids, logs, data, the generated API key, 0600) lives in .ca4/local/. Ports can be
# changed with CA4_PORT_{KAFKA,CONTROLLER,FERRETDB,S3,PROCESSOR,WORKER_METRICS}.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cache=${CA4_CACHE:-$HOME/.cache/ca4}
state=$root/.ca4/local
bin=${CA4_BIN_DIR:-$root/build/bin}
KAFKA_VERSION=$(cat "$cache/kafka.installed" 2>/dev/null || true)

P_KAFKA=${CA4_PORT_KAFKA:-9092}
P_CONTROLLER=${CA4_PORT_CONTROLLER:-9093}
P_FERRETDB=${CA4_PORT_FERRETDB:-27017}
P_S3=${CA4_PORT_S3:-9000}
P_PROCESSOR=${CA4_PORT_PROCESSOR:-8080}
P_WORKER=${CA4_PORT_WORKER_METRICS:-9102}
TOPIC=gpu-metadata
PARTITIONS=${CA4_PARTITIONS:-3}
BUCKET=ca4-archive
# Local-only S3 credentials for the in-process moto server (it accepts any); not a secret.
S3_KEY=ca4local S3_SECRET=ca4localsecret

say() { printf '[ca4-local] %s\n' "$*"; }
die() { printf '[ca4-local] error: %s\n' "$*" >&2; exit 1; }

alive() { [[ -f $state/$1.pid ]] && kill -0 "$(cat "$state/$1.pid")" 2>/dev/null; }
port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# start NAME PORT CMD... : starts CMD detached unless NAME already runs; refuses a taken port.
start() {
  local name=$1 port=$2; shift 2
  if alive "$name"; then say "$name: running (pid $(cat "$state/$name.pid"))"; return 0; fi
  if port_busy "$port"; then
    die "$name: port $port is already in use by another program; stop it or set CA4_PORT_${name^^}=<free port>"
  fi
  setsid "$@" >>"$state/$name.log" 2>&1 < /dev/null &
  echo $! >"$state/$name.pid"
  echo "$port" >"$state/$name.port"
  say "$name: started (pid $!, port $port, log .ca4/local/$name.log)"
}

# wait_for NAME PORT SECONDS: until the TCP port answers, or fail with the log's tail.
wait_for() {
  local name=$1 port=$2 limit=$3 t0=$SECONDS
  until port_busy "$port"; do
    alive "$name" || { tail -n 20 "$state/$name.log" >&2; die "$name exited during start (log above)"; }
    (( SECONDS - t0 < limit )) || { tail -n 20 "$state/$name.log" >&2; die "$name: not listening on $port after ${limit}s"; }
    sleep 0.3
  done
}

http_ok() { curl -fsS -o /dev/null --max-time 2 "$1" 2>/dev/null; }

preflight() {
  [[ -n $KAFKA_VERSION && -x $cache/bin/ferretdb && -x $cache/venv/bin/moto_server ]] \
    || die "services not installed: run scripts/install-services.sh"
  [[ -x $bin/ca4-processor && -x $bin/ca4-worker ]] \
    || die "binaries not built in $bin: run 'make build' (or set CA4_BIN_DIR)"
  command -v java >/dev/null || die "java not found: run scripts/install-deps.sh"
  "$cache/venv/bin/python" -c 'import kafka' 2>/dev/null || scripts/install-services.sh bench >/dev/null
}

api_key() {
  if [[ ! -f $state/api-keys ]]; then
    (umask 077; printf 'local:%s\n' "$(head -c 24 /dev/urandom | base64 | tr -d '/+=')" >"$state/api-keys")
  fi
  cut -d: -f2- "$state/api-keys" | head -n 1
}

up() {
  preflight
  mkdir -p "$state" && chmod 700 "$state"
  local t0=$SECONDS
  # Kafka, KRaft single node (broker + controller).
  if ! alive kafka; then
    mkdir -p "$state/kafka-data"
    cat >"$state/kafka.properties" <<EOF
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$P_CONTROLLER
listeners=PLAINTEXT://127.0.0.1:$P_KAFKA,CONTROLLER://127.0.0.1:$P_CONTROLLER
advertised.listeners=PLAINTEXT://127.0.0.1:$P_KAFKA
controller.listener.names=CONTROLLER
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$state/kafka-data
auto.create.topics.enable=false
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
EOF
    if [[ ! -f $state/kafka-data/meta.properties ]]; then
      say "kafka: formatting storage"
      java -Xmx256m -cp "$cache/kafka-$KAFKA_VERSION/libs/*" kafka.tools.StorageTool format \
        -t "$(java -cp "$cache/kafka-$KAFKA_VERSION/libs/*" kafka.tools.StorageTool random-uuid 2>/dev/null)" \
        -c "$state/kafka.properties" >>"$state/kafka.log" 2>&1 || die "kafka storage format failed (.ca4/local/kafka.log)"
    fi
  fi
  start kafka "$P_KAFKA" java -Xmx512m -Dlog4j2.configurationFile="$root/scripts/services/kafka-log4j2.properties" \
    -Dkafka.logs.dir="$state" -cp "$cache/kafka-$KAFKA_VERSION/libs/*" kafka.Kafka "$state/kafka.properties"
  mkdir -p "$state/ferretdb-data" "$state/ferretdb-state"
  start ferretdb "$P_FERRETDB" "$cache/bin/ferretdb" --handler=sqlite --sqlite-url="file:$state/ferretdb-data/" \
    --listen-addr="127.0.0.1:$P_FERRETDB" --state-dir="$state/ferretdb-state" --telemetry=disable \
    --debug-addr=- --log-level=warn
  start s3 "$P_S3" "$cache/venv/bin/moto_server" -H 127.0.0.1 -p "$P_S3"
  wait_for kafka "$P_KAFKA" 120; wait_for ferretdb "$P_FERRETDB" 60; wait_for s3 "$P_S3" 60

  say "kafka: ensuring topics $TOPIC ($PARTITIONS partitions) and $TOPIC.dlq"
  "$cache/venv/bin/python" - "$P_KAFKA" "$TOPIC" "$PARTITIONS" <<'EOF' >>"$state/admin.log" 2>&1 || die "topic creation failed (.ca4/local/admin.log)"
import sys, time
from kafka.admin import KafkaAdminClient, NewTopic
from kafka.errors import TopicAlreadyExistsError
port, topic, parts = sys.argv[1], sys.argv[2], int(sys.argv[3])
for attempt in range(60):
    try:
        admin = KafkaAdminClient(bootstrap_servers=f"127.0.0.1:{port}", client_id="ca4-local")
        break
    except Exception:
        time.sleep(1)
existing = set(admin.list_topics())
new = [NewTopic(t, p, 1) for t, p in ((topic, parts), (topic + ".dlq", 1)) if t not in existing]
if new:
    try:
        admin.create_topics(new)
    except TopicAlreadyExistsError:
        pass
EOF
  AWS_ACCESS_KEY_ID=$S3_KEY AWS_SECRET_ACCESS_KEY=$S3_SECRET curl -fsS -o /dev/null -X PUT \
    --aws-sigv4 "aws:amz:us-east-1:s3" --user "$S3_KEY:$S3_SECRET" "http://127.0.0.1:$P_S3/$BUCKET" \
    || die "s3: could not create bucket $BUCKET"

  api_key >/dev/null
  start processor "$P_PROCESSOR" "$bin/ca4-processor" --listen "127.0.0.1:$P_PROCESSOR" \
    --brokers "127.0.0.1:$P_KAFKA" --topic "$TOPIC" --api-keys-file "$state/api-keys"
  start worker "$P_WORKER" env AWS_ACCESS_KEY_ID=$S3_KEY AWS_SECRET_ACCESS_KEY=$S3_SECRET \
    "$bin/ca4-worker" --brokers "127.0.0.1:$P_KAFKA" --topic "$TOPIC" \
    --mongo-uri "mongodb://127.0.0.1:$P_FERRETDB/" --metrics-listen "127.0.0.1:$P_WORKER" \
    --s3-endpoint "http://127.0.0.1:$P_S3" --s3-bucket "$BUCKET" --s3-region us-east-1
  wait_for processor "$P_PROCESSOR" 30; wait_for worker "$P_WORKER" 30
  local t1=$SECONDS
  until http_ok "http://127.0.0.1:$P_PROCESSOR/readyz"; do
    (( SECONDS - t1 < 60 )) || die "processor not ready after 60 s (.ca4/local/processor.log)"
    sleep 0.5
  done
  say "pipeline up in $((SECONDS - t0)) s — API http://127.0.0.1:$P_PROCESSOR (key in .ca4/local/api-keys)"
}

verify() {
  [[ -f $state/api-keys ]] || die "not up: run scripts/local-pipeline.sh up"
  local id="verify-$(date +%s)-$RANDOM" key body t0 deadline
  key=$(api_key)
  body=$("$cache/venv/bin/python" - "$id" <<'EOF'
import json, sys, random, datetime
rnd = random.Random(7)
print(json.dumps({
  "schema_version": "ca4.metadata/v1", "event_id": sys.argv[1],
  "source": {"producer": "ca4-verify", "host": "localhost"},
  "item": {"uri": "file:///verify.png", "sha256": "ab" * 32, "kind": "image", "size_bytes": 1234,
           "width": 224, "height": 224, "channels": 3},
  "extraction": {"model": {"name": "resnet50"}, "embedding": [rnd.uniform(-1, 1) for _ in range(2048)],
                 "device": {"type": "gpu", "name": "Tesla T4", "memory_mb": 15360}},
  "produced_at": datetime.datetime.now(datetime.timezone.utc).isoformat()}))
EOF
)
  t0=$(date +%s%N)
  local code
  code=$(curl -sS -o "$state/verify.out" -w '%{http_code}' -H "Authorization: Bearer $key" \
    -H 'Content-Type: application/json' --data-binary "$body" "http://127.0.0.1:$P_PROCESSOR/v1/metadata") \
    || die "verify: processor unreachable on port $P_PROCESSOR"
  [[ $code == 202 ]] || die "verify: POST /v1/metadata answered $code: $(cat "$state/verify.out")"
  say "verify: processor accepted $id (202 after Kafka ack)"
  deadline=$((SECONDS + 60))
  until "$cache/venv/bin/python" - "$P_FERRETDB" "$id" <<'EOF' 2>/dev/null
import socket, struct, sys
# Minimal OP_MSG find by _id over the Mongo wire protocol (no driver in the venv).
import json
def bson_doc(items):
    out = b""
    for k, v in items:
        kb = k.encode() + b"\0"
        if isinstance(v, str):
            vb = v.encode() + b"\0"; out += b"\x02" + kb + struct.pack("<i", len(vb)) + vb
        elif isinstance(v, int):
            out += b"\x10" + kb + struct.pack("<i", v)
        elif isinstance(v, list):
            out += b"\x03" + kb + bson_doc(v)
    return struct.pack("<i", len(out) + 5) + out + b"\0"
port, eid = int(sys.argv[1]), sys.argv[2]
doc = bson_doc([("find", "gpu_metadata"), ("filter", [("_id", eid)]), ("limit", 1), ("$db", "ca4")])
body = struct.pack("<I", 0) + b"\0" + doc
msg = struct.pack("<iiii", 16 + len(body), 1, 0, 2013) + body
s = socket.create_connection(("127.0.0.1", port), timeout=3); s.sendall(msg)
hdr = s.recv(16, socket.MSG_WAITALL); n = struct.unpack("<i", hdr[:4])[0]
data = b""
while len(data) < n - 16: data += s.recv(n - 16 - len(data))
sys.exit(0 if eid.encode() in data[5:] and b"firstBatch" in data else 1)
EOF
  do
    (( SECONDS < deadline )) || die "verify: event $id accepted but no document in ca4.gpu_metadata after 60 s — stopped between Kafka and the DB (see .ca4/local/worker.log)"
    sleep 0.2
  done
  local ms=$(( ($(date +%s%N) - t0) / 1000000 ))
  say "verify: document $id is in ca4.gpu_metadata — end-to-end ${ms} ms"
  local day hour
  day=$(date -u +%Y-%m-%d); hour=$(date -u +%H)
  if curl -fsS -o /dev/null --aws-sigv4 "aws:amz:us-east-1:s3" --user "$S3_KEY:$S3_SECRET" \
       "http://127.0.0.1:$P_S3/$BUCKET/raw/dt=$day/hour=$hour/$id.json"; then
    say "verify: archived object raw/dt=$day/hour=$hour/$id.json exists"
  else
    die "verify: document written but S3 object raw/dt=$day/hour=$hour/$id.json missing"
  fi
  say "verify: e2e OK"
}

status() {
  local rc=0
  for c in kafka ferretdb s3 processor worker; do
    if alive "$c"; then printf '%-10s running  pid %-7s port %-6s .ca4/local/%s.log\n' "$c" "$(cat "$state/$c.pid")" "$(cat "$state/$c.port")" "$c"
    else printf '%-10s stopped\n' "$c"; rc=3; fi
  done
  return $rc
}

down() {
  for c in worker processor s3 ferretdb kafka; do
    if alive "$c"; then
      local pid; pid=$(cat "$state/$c.pid")
      kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
      for _ in $(seq 1 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
      kill -0 "$pid" 2>/dev/null && { kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid"; say "$c: killed after 30 s"; }
      say "$c: stopped"
    fi
    rm -f "$state/$c.pid"
  done
}

case ${1:-} in
  up) up ;; verify) verify ;; status) status ;; down) down ;;
  *) sed -n '2,12p' "$0"; exit 2 ;;
esac
