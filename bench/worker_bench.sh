#!/usr/bin/env bash
# Worker benchmark: events/s from Kafka into the Mongo-compatible DB (FerretDB, SQLite backend)
# for ca4-worker vs the MongoDB Kafka sink connector on Kafka Connect standalone.
#
#   bench/worker_bench.sh [--targets connect,ca4] [--events 20000] [--record large|small]
#                         [--partitions 1] [--timeout 900] [--out FILE.csv] [--fetch]
#
# Steps: start a KRaft broker and FerretDB (core $SERVICE_CPUS, default 0), create gpu-metadata,
# preload N envelopes (unique event_ids, keyed by event_id, acks=all; bench/lib/kafkatool.py),
# then for each target: empty its collection, start the consumer alone on core $SERVER_CPUS
# (default 1), and poll the collection count until it reaches N.
# Reported: steady events/s = N / (time of the Nth document - time of the first document), and
# wall events/s = N / (time from process start to the Nth document, startup included).
#
# Connector (equivalent idempotent upsert): key = event_id (StringConverter) hoisted into
# {_id: event_id} by the HoistField$Key SMT, ProvidedInKeyStrategy -> _id = event_id,
# ReplaceOneDefaultStrategy -> replaceOne({_id}, doc, upsert=true); value JsonConverter without
# schemas; tasks.max = partitions. Jars: bench/connect/pom.xml copied into
# ~/.cache/ca4/bench/connect/libs (--fetch, or automatically when missing).
# ca4-worker: $CA4_WORKER (default: newest build*/bin/ca4-worker) started as
#   $CA4_WORKER $CA4_WORKER_ARGS with @BROKERS@ @MONGO@ @DB@ @COLL@ @METRICS@ substituted.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
# shellcheck source=lib/services.sh
source "$here/lib/services.sh"

targets=connect,ca4 events=20000 record=large partitions=1 timeout=900 fetch=0
out=$here/results/worker.csv
SERVER_CPUS=${SERVER_CPUS:-1}
SERVICE_CPUS=${SERVICE_CPUS:-0}
while [[ $# -gt 0 ]]; do
  case $1 in
    --targets) targets=$2; shift 2 ;;
    --events) events=$2; shift 2 ;;
    --record) record=$2; shift 2 ;;
    --partitions) partitions=$2; shift 2 ;;
    --timeout) timeout=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --fetch) fetch=1; shift ;;
    -h|--help) sed -n '2,24p' "$0"; exit 0 ;;
    *) die "unknown argument $1 (try --help)" ;;
  esac
done

connect_libs=$BENCH_CACHE/connect/libs
fetch_connect() {
  say "fetching Kafka Connect + mongo-kafka-connect jars into $connect_libs (Maven Central)"
  rm -rf "$connect_libs"
  mvn -q -B -f "$here/connect/pom.xml" dependency:copy-dependencies -DincludeScope=runtime \
    -DoutputDirectory="$connect_libs" >"$BENCH_CACHE/connect-mvn.log" 2>&1 \
    || { tail -30 "$BENCH_CACHE/connect-mvn.log" >&2; die "mvn failed (log: $BENCH_CACHE/connect-mvn.log)"; }
  rm -f "$connect_libs"/slf4j-reload4j-*.jar "$connect_libs"/slf4j-log4j12-*.jar
}
if [[ ,$targets, == *,connect,* ]] && { [[ $fetch == 1 ]] || ! ls "$connect_libs"/mongo-kafka-connect-*.jar >/dev/null 2>&1; }; then
  fetch_connect
fi

PY=$(bench_python)
DB=ca4bench
RUN_ID=$(date +%s)
mkdir -p "$BENCH_TMP/payloads" "$(dirname "$out")"
python3 "$here/lib/gen_payloads.py" "$BENCH_TMP/payloads" >/dev/null
SVC_CPUS=$SERVICE_CPUS svc_kafka_start
SVC_CPUS=$SERVICE_CPUS svc_ferretdb_start
"$PY" "$here/lib/kafkatool.py" create-topic "$KAFKA_BOOTSTRAP" gpu-metadata "$partitions"
say "preloading $events $record envelopes into gpu-metadata"
taskset -c "$SERVER_CPUS" "$PY" "$here/lib/kafkatool.py" load "$KAFKA_BOOTSTRAP" gpu-metadata \
  "$BENCH_TMP/payloads/$record.json" "$events" "$RUN_ID" >&2

start_connect() { # collection
  local d=$BENCH_TMP/connect rport
  mkdir -p "$d"; rport=$(free_port)
  cat >"$d/worker.properties" <<EOF
bootstrap.servers=$KAFKA_BOOTSTRAP
key.converter=org.apache.kafka.connect.storage.StringConverter
value.converter=org.apache.kafka.connect.json.JsonConverter
value.converter.schemas.enable=false
offset.storage.file.filename=$d/connect.offsets
offset.flush.interval.ms=10000
listeners=http://127.0.0.1:$rport
plugin.discovery=only_scan
EOF
  cat >"$d/mongo-sink.properties" <<EOF
name=mongo-sink-$RUN_ID
connector.class=com.mongodb.kafka.connect.MongoSinkConnector
tasks.max=$partitions
topics=gpu-metadata
connection.uri=$MONGO_URI
database=$DB
collection=$1
key.converter=org.apache.kafka.connect.storage.StringConverter
value.converter=org.apache.kafka.connect.json.JsonConverter
value.converter.schemas.enable=false
transforms=hoistKey
transforms.hoistKey.type=org.apache.kafka.connect.transforms.HoistField\$Key
transforms.hoistKey.field=_id
document.id.strategy=com.mongodb.kafka.connect.sink.processor.id.strategy.ProvidedInKeyStrategy
writemodel.strategy=com.mongodb.kafka.connect.sink.writemodel.strategy.ReplaceOneDefaultStrategy
errors.tolerance=none
EOF
  cat >"$d/log4j2.properties" <<EOF
rootLogger.level=WARN
rootLogger.appenderRef.stdout.ref=STDOUT
appender.stdout.type=Console
appender.stdout.name=STDOUT
appender.stdout.layout.type=PatternLayout
appender.stdout.layout.pattern=[%d] %p %m (%c)%n
EOF
  svc_bg connect java -Xms512m -Xmx1g -XX:+UseG1GC "-Dlog4j2.configurationFile=$d/log4j2.properties" \
    -cp "$connect_libs/*" org.apache.kafka.connect.cli.ConnectStandalone "$d/worker.properties" "$d/mongo-sink.properties"
}

start_ca4() { # collection
  local bin=${CA4_WORKER:-}
  if [[ -z $bin ]]; then bin=$(ls -t "$repo"/build*/bin/ca4-worker 2>/dev/null | head -1 || true); fi
  if [[ -z $bin || ! -x $bin ]]; then say "SKIP ca4: no ca4-worker binary (build it, or set CA4_WORKER)"; return 1; fi
  local args=${CA4_WORKER_ARGS:---brokers @BROKERS@ --topic gpu-metadata --group edge-worker --mongo-uri @MONGO@ --db @DB@ --collection @COLL@ --metrics-listen @METRICS@ --log-level warn}
  args=${args//@BROKERS@/$KAFKA_BOOTSTRAP}; args=${args//@MONGO@/$MONGO_URI}; args=${args//@DB@/$DB}
  args=${args//@COLL@/$1}; args=${args//@METRICS@/127.0.0.1:$(free_port)}
  # shellcheck disable=SC2086 # args is a word list by design
  svc_bg ca4 "$bin" $args
}

if [[ ! -s $out ]]; then
  echo "date,machine,target,record,record_bytes,events,partitions,steady_events_per_s,wall_events_per_s,first_doc_s,done_s,steady_mb_per_s" >"$out"
fi
machine="$(nproc)cpu-$(awk '/MemTotal/{printf "%dG", $2/1048576}' /proc/meminfo)-shared"
rbytes=$(wc -c <"$BENCH_TMP/payloads/$record.json")
declare -A EPS=()
summary=$BENCH_TMP/summary.tsv
: >"$summary"
IFS=, read -ra tlist <<<"$targets"
for t in "${tlist[@]}"; do
  coll="metadata_$t"
  "$PY" "$here/lib/kafkatool.py" drop "$MONGO_URI" "$DB" "$coll"
  "start_$t" "$coll" || continue
  line=$("$PY" "$here/lib/kafkatool.py" wait-count "$MONGO_URI" "$DB" "$coll" "$events" "$timeout" 2>"$BENCH_TMP/$t.count.log") || {
    say "$t: did not reach $events documents: $line"; tail -20 "$BENCH_TMP/$t.log" >&2; svc_stop "$t"; continue; }
  svc_stop "$t"
  declare -A r=()
  for kv in ${line#CA4_COUNT }; do r[${kv%%=*}]=${kv#*=}; done
  steady=$(awk -v n="$events" -v a="${r[first_s]}" -v b="${r[done_s]}" 'BEGIN{d=b-a; printf "%.1f", (d>0? n/d : 0)}')
  wall=$(awk -v n="$events" -v b="${r[done_s]}" 'BEGIN{printf "%.1f", n/b}')
  mbs=$(awk -v e="$steady" -v b="$rbytes" 'BEGIN{printf "%.2f", e*b/1e6}')
  "$PY" "$here/lib/kafkatool.py" check "$MONGO_URI" "$DB" "$coll" >"$BENCH_TMP/$t.doc" 2>&1 || true
  say "$t: $steady events/s steady, $wall events/s wall (first doc ${r[first_s]} s, all $events at ${r[done_s]} s); doc: $(head -c 300 "$BENCH_TMP/$t.doc")"
  echo "$(date -u +%Y-%m-%dT%H:%MZ),$machine,$t,$record,$rbytes,$events,$partitions,$steady,$wall,${r[first_s]},${r[done_s]},$mbs" >>"$out"
  printf '%s\t%s\t%s\t%s\n' "$t" "$steady" "$wall" "$mbs" >>"$summary"
  EPS[$t]=$steady
done

echo
echo "| target | record | events | steady events/s | wall events/s | MB/s | vs connect |"
echo "|---|---|---:|---:|---:|---:|---:|"
while IFS=$'\t' read -r t steady wall mbs; do
  ratio=-; [[ -n ${EPS[connect]:-} ]] && ratio=$(awk -v a="$steady" -v b="${EPS[connect]}" 'BEGIN{printf "%.2f", a/b}')
  echo "| $t | $record ($rbytes B) | $events | $steady | $wall | $mbs | $ratio |"
done <"$summary"
echo "rows appended to $out"
