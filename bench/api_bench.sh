#!/usr/bin/env bash
# API benchmark: ca4-processor vs the FastAPI + kafka-python peer vs nginx (the HTTP ceiling).
#
#   bench/api_bench.sh [--targets nginx,nginx-discard,fastapi,ca4] [--workloads large,small,batch_small,batch_large]
#                      [--duration 15] [--warmup 3] [--connections 64] [--unique pool|fresh|0] [--out FILE.csv]
#
# Every server runs alone on core $SERVER_CPUS (default 1) under taskset; wrk (1 thread, the same
# connection count for every target) and the Kafka broker share core $CLIENT_CPUS (default 0).
# The script starts and stops everything itself (EXIT trap): a KRaft broker with topic
# gpu-metadata when fastapi or ca4 is measured, the peer, nginx, ca4-processor.
# Workloads (bench/lib/gen_payloads.py): large = one 21.5 KB envelope with a 2048-float embedding,
# small = one 0.9 KB envelope, batch_small = 100 small ones, batch_large = 10 large ones
# (batches go to /v1/metadata:batch). Every request carries fresh event_ids (UNIQUE=1).
# Results: one CSV row per (target, workload) appended to --out (default bench/results/api.csv),
# and a markdown table with ratios on stdout.
#
# ca4-processor: $CA4_PROCESSOR (default: newest build*/bin/ca4-processor), started as
#   $CA4_PROCESSOR $CA4_PROCESSOR_ARGS     with @PORT@ @BOOTSTRAP@ @KEYFILE@ substituted
# (default: --listen 127.0.0.1:@PORT@ --brokers @BOOTSTRAP@ --threads 1 --rate 0 --api-keys-file @KEYFILE@,
# one HTTP thread: the comparison is per core; --rate 0: no per-key rate limit, like the peer).  Missing binary: the ca4 rows are skipped with a note.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
# shellcheck source=lib/services.sh
source "$here/lib/services.sh"

targets=nginx,nginx-discard,fastapi,ca4
workloads=large,small,batch_small,batch_large
duration=15 warmup=3 conns=64 unique=pool
out=$here/results/api.csv
SERVER_CPUS=${SERVER_CPUS:-1}
CLIENT_CPUS=${CLIENT_CPUS:-0}
while [[ $# -gt 0 ]]; do
  case $1 in
    --targets) targets=$2; shift 2 ;;
    --workloads) workloads=$2; shift 2 ;;
    --duration) duration=$2; shift 2 ;;
    --warmup) warmup=$2; shift 2 ;;
    --connections) conns=$2; shift 2 ;;
    --unique) unique=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    -h|--help) sed -n '2,25p' "$0"; exit 0 ;;
    *) die "unknown argument $1 (try --help)" ;;
  esac
done
command -v wrk >/dev/null || die "wrk not found (apt-get install wrk)"
API_KEY=bench-key
RUN_ID=$(date +%s)
payloads=$BENCH_TMP/payloads
mkdir -p "$payloads" "$(dirname "$out")"
python3 "$here/lib/gen_payloads.py" "$payloads" >"$payloads/sizes.tsv"
echo "$API_KEY" >"$BENCH_TMP/api-keys"

need_kafka=0
[[ ,$targets, == *,fastapi,* || ,$targets, == *,ca4,* ]] && need_kafka=1
PY=""
if [[ ,$targets, == *,fastapi,* || $need_kafka == 1 ]]; then PY=$(bench_python); fi
if [[ $need_kafka == 1 ]]; then
  SVC_CPUS=$CLIENT_CPUS svc_kafka_start
  "$PY" "$here/lib/kafkatool.py" create-topic "$KAFKA_BOOTSTRAP" gpu-metadata "${KAFKA_PARTITIONS:-1}"
fi

path_for() { [[ $1 == batch_* ]] && echo "/v1/metadata:batch" || echo "/v1/metadata"; }
lua_for() { [[ $1 == batch_* ]] && echo "$here/wrk/post_batch.lua" || echo "$here/wrk/post_single.lua"; }

start_target() { # start_target NAME -> sets PORT, or returns 1 when the target is unavailable
  PORT=$(free_port)
  case $1 in
    nginx|nginx-discard)
      local d=$BENCH_TMP/nginx echo_mod=/usr/lib/nginx/modules/ngx_http_echo_module.so load="" read_body
      mkdir -p "$d/body"
      if [[ -f $echo_mod ]]; then
        load="load_module $echo_mod;"
        read_body="echo_read_request_body; echo_status 202; echo -n '{\"status\":\"accepted\"}';"
      else
        say "nginx echo module missing (libnginx-mod-http-echo): location / falls back to discard"
        read_body="return 202 '{\"status\":\"accepted\"}';"
      fi
      sed -e "s|__PORT__|$PORT|g" -e "s|__PREFIX__|$d|g" -e "s|__LOAD_ECHO__|$load|" \
          -e "s|__READ_BODY__|$read_body|" "$here/peers/nginx.conf" >"$d/nginx.conf"
      svc_bg "$1" nginx -p "$d" -c "$d/nginx.conf"
      ;;
    fastapi)
      CA4_KAFKA_BOOTSTRAP=$KAFKA_BOOTSTRAP CA4_API_KEYS=$API_KEY svc_bg fastapi \
        "$PY" -m uvicorn --app-dir "$here/peers" fastapi_app:app --host 127.0.0.1 --port "$PORT" \
        --workers 1 --loop uvloop --http httptools --no-access-log --log-level warning
      ;;
    ca4)
      local bin=${CA4_PROCESSOR:-}
      if [[ -z $bin ]]; then bin=$(ls -t "$repo"/build*/bin/ca4-processor 2>/dev/null | head -1 || true); fi
      if [[ -z $bin || ! -x $bin ]]; then
        say "SKIP ca4: no ca4-processor binary (build it, or set CA4_PROCESSOR)"; return 1
      fi
      local args=${CA4_PROCESSOR_ARGS:---listen 127.0.0.1:@PORT@ --brokers @BOOTSTRAP@ --threads 1 --rate 0 --api-keys-file @KEYFILE@}
      args=${args//@PORT@/$PORT}; args=${args//@BOOTSTRAP@/$KAFKA_BOOTSTRAP}; args=${args//@KEYFILE@/$BENCH_TMP/api-keys}
      # shellcheck disable=SC2086 # args is a word list by design
      svc_bg ca4 "$bin" $args
      ;;
    *) die "unknown target $1" ;;
  esac
  wait_port "$PORT" 60 "$1"
}

url_for() { # url_for TARGET WORKLOAD
  local p; p=$(path_for "$2")
  [[ $1 == nginx-discard ]] && p="/discard$p"
  echo "http://127.0.0.1:$PORT$p"
}

smoke() { # one request per workload must answer 2xx (202; the processor's batch answers 200)
  local code
  code=$(sed "s/__EID__/smoke-$RUN_ID-$RANDOM/g" "$payloads/$2.json" | curl -s -o "$BENCH_TMP/smoke.out" -w '%{http_code}' \
    -H "Authorization: Bearer $API_KEY" -H 'Content-Type: application/json' --data-binary @- "$(url_for "$1" "$2")")
  [[ $code == 2?? ]] || { say "smoke $1/$2: HTTP $code: $(head -c 300 "$BENCH_TMP/smoke.out")"; return 1; }
}

if [[ ! -s $out ]]; then
  echo "date,machine,target,workload,body_bytes,records_per_req,connections,duration_s,requests,rps,records_per_s,mb_per_s,p50_ms,p90_ms,p99_ms,max_ms,errors,unique" >"$out"
fi
machine="$(nproc)cpu-$(awk '/MemTotal/{printf "%dG", $2/1048576}' /proc/meminfo)-shared"
declare -A RPS=()
results=$BENCH_TMP/results.tsv
: >"$results"

run_wrk() { # run_wrk TARGET WORKLOAD SECONDS -> CA4_RESULT line
  BODY_FILE=$payloads/$2.json API_KEY=$API_KEY UNIQUE=$unique RUN_ID="$RUN_ID$RANDOM" WRK_LUA_DIR=$here/wrk \
    taskset -c "$CLIENT_CPUS" wrk -t1 -c"$conns" -d"${3}s" --timeout 10s --latency -s "$(lua_for "$2")" "$(url_for "$1" "$2")" \
    >"$BENCH_TMP/wrk.out" 2>&1 || { cat "$BENCH_TMP/wrk.out" >&2; return 1; }
  grep '^CA4_RESULT' "$BENCH_TMP/wrk.out"
}

IFS=, read -ra tlist <<<"$targets"
IFS=, read -ra wlist <<<"$workloads"
for t in "${tlist[@]}"; do
  start_target "$t" || continue
  for w in "${wlist[@]}"; do
    smoke "$t" "$w" || { say "SKIP $t/$w: smoke request failed"; continue; }
    ((warmup > 0)) && run_wrk "$t" "$w" "$warmup" >/dev/null
    line=$(run_wrk "$t" "$w" "$duration") || { say "wrk failed for $t/$w"; continue; }
    declare -A r=()
    for kv in ${line#CA4_RESULT }; do r[${kv%%=*}]=${kv#*=}; done
    errors=$((r[err_connect] + r[err_read] + r[err_write] + r[err_status] + r[err_timeout]))
    recs=$(awk -v a="${r[rps]}" -v b="${r[records_per_req]}" 'BEGIN{printf "%.1f", a*b}')
    mbs=$(awk -v a="${r[rps]}" -v b="${r[body_bytes]}" 'BEGIN{printf "%.2f", a*b/1e6}')
    echo "$(date -u +%Y-%m-%dT%H:%MZ),$machine,$t,$w,${r[body_bytes]},${r[records_per_req]},$conns,$duration,${r[requests]},${r[rps]},$recs,$mbs,${r[p50_ms]},${r[p90_ms]},${r[p99_ms]},${r[max_ms]},$errors,$unique" >>"$out"
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$t" "$w" "${r[rps]}" "$recs" "$mbs" "${r[p50_ms]}" "${r[p99_ms]}" "$errors" >>"$results"
    RPS[$t/$w]=${r[rps]}
    say "$t/$w: ${r[rps]} req/s, $recs rec/s, $mbs MB/s, p50 ${r[p50_ms]} ms, p99 ${r[p99_ms]} ms, errors $errors"
  done
  svc_stop "$t"
done

ratio() { [[ -n ${RPS[$1]:-} && -n ${RPS[$2]:-} ]] && awk -v a="${RPS[$1]}" -v b="${RPS[$2]}" 'BEGIN{printf "%.2f", a/b}' || echo "-"; }
echo
echo "| target | workload | req/s | records/s | MB/s | p50 ms | p99 ms | errors | vs fastapi | vs nginx |"
echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"
while IFS=$'\t' read -r t w rps recs mbs p50 p99 errs; do
  echo "| $t | $w | $rps | $recs | $mbs | $p50 | $p99 | $errs | $(ratio "$t/$w" "fastapi/$w") | $(ratio "$t/$w" "nginx/$w") |"
done <"$results"
echo
echo "rows appended to $out; body sizes: $(tr '\t\n' ': ' <"$payloads/sizes.tsv")"
