#!/usr/bin/env bash
# Kubernetes apply benchmark: ca4ctl (target kubernetes, REST + server-side apply over one
# HTTP/2 connection) vs `kubectl apply --server-side`, same manifests, same real control plane.
#
#   bench/kube-apply.sh [--rounds 5] [--converged 3] [--ca4ctl build/bin/ca4ctl] [--kubectl kubectl]
#                       [--port 18443] [--out FILE.csv]
#
# Starts its own control plane (tests/testbed/control-plane.sh: etcd, kube-apiserver, kcm,
# scheduler, KWOK with 2 fake nodes) in a temp dir on --port (etcd on port+1, its peer port+2),
# then per round, interleaved (ca4ctl, kubectl, ca4ctl, kubectl, ...), for each tool:
#   clean    delete namespaces app/platform/monitoring and ClusterRole/Binding ca4-promtail, wait
#            until gone, make the Released PVs Available again, delete ca4ctl's state (.ca4)
#   fresh    ca4ctl: `ca4ctl up -v` (applies and waits for readiness; output lines timestamped)
#            kubectl: `kubectl kustomize` of the 3 sets into one file (timed: render), then
#            `kubectl apply --server-side --field-manager=bench-kubectl -f FILE` (timed: apply),
#            then kubectl wait/rollout status for the workloads (timed: wait)
#   converged --converged times the same command again with nothing changed
# The 3 Secrets: ca4ctl renders them from the spec; for kubectl they are made once with
# `kubectl create secret generic --dry-run=client -o yaml` (same names and keys) and appended to
# the rendered file. kubectl uses its own discovery cache dir, warmed once before the rounds.
# Afterwards one more fresh + converged run per tool under `strace -f -e trace=connect` counts
# connect() calls to the API server; kubectl's requests come from `-v=6` (one line each),
# ca4ctl's from its "API: N requests" line (+3 GETs of the verify stage, printed after it) and,
# for converged runs, from apiserver_request_total deltas (leases excluded; that metric counts
# resource requests only, not discovery, /version or /metrics).
# Prints a markdown table (medians, ratio ca4ctl/kubectl) and appends rows to --out.
# Everything it starts is stopped on exit, Ctrl-C or failure; BENCH_KEEP_TMP=1 keeps the temp dir.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)

say() { printf '[bench %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() { say "error: $*"; exit 1; }

rounds=5 converged=3 port=18443 ca4ctl=$repo/build/bin/ca4ctl kubectl=kubectl
out=$here/results/kube_apply.csv
while [[ $# -gt 0 ]]; do
  case $1 in
    --rounds) rounds=$2; shift 2 ;;
    --converged) converged=$2; shift 2 ;;
    --ca4ctl) ca4ctl=$2; shift 2 ;;
    --kubectl) kubectl=$2; shift 2 ;;
    --port) port=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    -h|--help) sed -n '2,28p' "$0"; exit 0 ;;
    *) die "unknown argument $1 (try --help)" ;;
  esac
done
[[ $rounds =~ ^[1-9][0-9]*$ && $converged =~ ^[1-9][0-9]*$ ]] || die "--rounds and --converged must be positive integers"
[[ -x $ca4ctl ]] || die "no ca4ctl at $ca4ctl (build it, or pass --ca4ctl PATH)"
ca4ctl=$(cd "$(dirname "$ca4ctl")" && pwd)/$(basename "$ca4ctl")
command -v "$kubectl" >/dev/null || die "no kubectl ($kubectl)"
command -v strace >/dev/null || die "strace is needed to count connections"
for p in "$port" $((port + 1)) $((port + 2)); do
  ! ss -Hltn "sport = :$p" | grep -q . || die "port $p is in use; pick another with --port"
done

tmp=$(mktemp -d /tmp/ca4-kube-bench.XXXXXX)
cp_dir=$tmp/cp
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [[ -d $cp_dir/run ]]; then
    say "stopping the control plane"
    "$repo/tests/testbed/control-plane.sh" down --data-dir "$cp_dir" >"$tmp/down.log" 2>&1 || cat "$tmp/down.log" >&2
  fi
  if [[ ${BENCH_KEEP_TMP:-0} == 1 ]]; then say "kept $tmp"; else rm -rf "$tmp"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
# If this driver is SIGKILLed (no EXIT trap), a detached reaper still stops the control plane.
setsid bash -c 'while kill -0 "$1" 2>/dev/null; do sleep 1; done
  [[ -d $3/run ]] && "$2" down --data-dir "$3" >/dev/null 2>&1; rm -rf "$4"' \
  reaper "$$" "$repo/tests/testbed/control-plane.sh" "$cp_dir" "$([[ ${BENCH_KEEP_TMP:-0} == 1 ]] || echo "$tmp")" \
  </dev/null >/dev/null 2>&1 &

say "starting the control plane on 127.0.0.1:$port (etcd $((port + 1))), data $cp_dir"
"$repo/tests/testbed/control-plane.sh" up --data-dir "$cp_dir" --port "$port" --etcd-port $((port + 1)) --nodes 2 \
  >"$tmp/up.log" 2>&1 || { cat "$tmp/up.log" >&2; die "control plane did not start"; }
tail -1 "$tmp/up.log" >&2

export KUBECONFIG=$cp_dir/kubeconfig
export CA4_MONGO_URI='mongodb://bench:bench@db.invalid:27017/ca4' CA4_API_KEY=bench-key
kc=("$kubectl" --cache-dir "$tmp/kube-cache")
mkdir -p "$tmp/spec"
cat >"$tmp/spec/ca4.yaml" <<EOF
apiVersion: ca4.dev/v1alpha1
kind: Pipeline
metadata: {name: bench}
spec:
  target: kubernetes
  cluster: {kubeconfig: $KUBECONFIG, context: ca4, manifests: $repo/manifests, readyTimeout: 120s}
  platform: {db: {uri: "\${CA4_MONGO_URI}"}}
  edge: {processor: {apiKey: "\${CA4_API_KEY}"}}
EOF

# The Secrets ca4ctl renders (same names and keys), for kubectl; made once, outside the timings.
{
  "${kc[@]}" -n app create secret generic ca4-mongo-credentials --from-literal=uri="$CA4_MONGO_URI" --dry-run=client -o yaml
  echo ---
  "${kc[@]}" -n app create secret generic ca4-s3-config --from-literal=bucket=ca4-archive --from-literal=region=us-east-1 \
    --dry-run=client -o yaml
  echo ---
  "${kc[@]}" -n app create secret generic ca4-edge-api-config --from-literal=api-keys="spec:$CA4_API_KEY
" --dry-run=client -o yaml
} >"$tmp/secrets.yaml"
"${kc[@]}" api-resources >/dev/null  # warms kubectl's discovery cache (as on any workstation)

now() { printf '%s' "$EPOCHREALTIME"; }
elapsed() { python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.3f}')" "$1" "$2"; }

clean() {
  "${kc[@]}" delete namespace app platform monitoring --ignore-not-found --wait=true --timeout=180s >/dev/null
  "${kc[@]}" delete clusterrolebinding,clusterrole ca4-promtail --ignore-not-found --wait=true >/dev/null
  local pv
  for pv in $("${kc[@]}" get pv -o jsonpath='{range .items[?(@.status.phase=="Released")]}{.metadata.name}{" "}{end}'); do
    "${kc[@]}" patch pv "$pv" --type=json -p '[{"op":"remove","path":"/spec/claimRef"}]' >/dev/null
  done
  rm -rf "$tmp/spec/.ca4"
  ! "${kc[@]}" get namespace app platform monitoring --ignore-not-found -o name | grep -q . || die "namespaces not gone"
}

rows=$tmp/rows.csv
date=$(date -u +%Y-%m-%dT%H:%MZ)
machine="$(nproc)cpu-$(free -g | awk '/^Mem:/{print $2}')G-shared"
record() { # tool case round seconds
  echo "$date,$machine,$1,$2,$3,$4" >>"$rows"
  say "round $3: $1 $2 $4 s"
}

# ca4ctl up -v with each output line timestamped; prints the wall time and the "apply part":
# the wall time minus, for each stage, the time from its last PATCH/DELETE progress line to its
# ✓ line (readiness polling with 500 ms sleeps, and the stage's re-plan).
ca4ctl_up() { # log
  local t0 t1
  t0=$(now)
  "$ca4ctl" -f "$tmp/spec/ca4.yaml" up -v 2>&1 | while IFS= read -r l; do printf '%s %s\n' "$EPOCHREALTIME" "$l"; done >"$1"
  t1=$(now)
  grep -q ' Ready in ' "$1" || { cat "$1" >&2; die "ca4ctl up failed"; }
  awk -v t0="$t0" -v t1="$t1" '
    / → /                                   { last = 0 }
    /^[0-9.]+     (create|update|delete) /  { last = $1 }
    / ✓ /                                   { if (last) post += $1 - last; last = 0 }
    END { printf "%.3f %.3f\n", t1 - t0, t1 - t0 - post }' "$1"
}

kubectl_render() { # file
  {
    "${kc[@]}" kustomize "$repo/manifests/platform"; echo ---
    cat "$tmp/secrets.yaml"; echo ---
    "${kc[@]}" kustomize "$repo/manifests/edge"; echo ---
    "${kc[@]}" kustomize "$repo/manifests/monitoring"
  } >"$1"
}
kubectl_apply() { # file [extra kubectl args]
  local f=$1; shift
  "${kc[@]}" "$@" apply --server-side --field-manager=bench-kubectl -f "$f"
}
# What a script does after kubectl apply to know the rollout finished (ca4ctl up does it itself).
kubectl_wait() {
  "${kc[@]}" -n platform wait --for=condition=complete job/kafka-topics --timeout=120s
  "${kc[@]}" -n platform rollout status statefulset/kafka --timeout=120s
  "${kc[@]}" -n app wait --for=condition=Available deployment --all --timeout=120s
  "${kc[@]}" -n monitoring wait --for=condition=Available deployment --all --timeout=120s
  "${kc[@]}" -n monitoring rollout status statefulset/loki --timeout=120s
  "${kc[@]}" -n monitoring rollout status daemonset/promtail --timeout=120s
}

run_ca4ctl() { # round
  local r=$1 res i
  clean
  res=$(ca4ctl_up "$tmp/ca4ctl-fresh-$r.log")
  record ca4ctl fresh_up "$r" "${res% *}"
  record ca4ctl fresh_apply_part "$r" "${res#* }"
  sleep 2
  for i in $(seq "$converged"); do
    res=$(ca4ctl_up "$tmp/ca4ctl-conv-$r-$i.log")
    record ca4ctl converged "$r" "${res% *}"
  done
}

run_kubectl() { # round
  local r=$1 t0 t1 t2 t3 i
  clean
  t0=$(now); kubectl_render "$tmp/k-$r.yaml"
  t1=$(now); kubectl_apply "$tmp/k-$r.yaml" >"$tmp/kubectl-fresh-$r.log"
  t2=$(now); kubectl_wait >"$tmp/kubectl-wait-$r.log" 2>&1 || { cat "$tmp/kubectl-wait-$r.log" >&2; die "kubectl wait failed"; }
  t3=$(now)
  record kubectl fresh_render "$r" "$(elapsed "$t0" "$t1")"
  record kubectl fresh_apply "$r" "$(elapsed "$t1" "$t2")"
  record kubectl fresh_render_apply "$r" "$(elapsed "$t0" "$t2")"
  record kubectl fresh_render_apply_wait "$r" "$(elapsed "$t0" "$t3")"
  sleep 2
  for i in $(seq "$converged"); do
    t0=$(now); kubectl_render "$tmp/k-$r-$i.yaml"
    t1=$(now); kubectl_apply "$tmp/k-$r-$i.yaml" >"$tmp/kubectl-conv-$r-$i.log"
    t2=$(now)
    record kubectl converged_apply "$r" "$(elapsed "$t1" "$t2")"
    record kubectl converged "$r" "$(elapsed "$t0" "$t2")"
  done
}

objects=$(kubectl_render "$tmp/count.yaml"; grep -c '^kind:' "$tmp/count.yaml")
say "ca4ctl $ca4ctl; kubectl $("${kc[@]}" version --client 2>/dev/null | head -1); $objects objects; $rounds rounds"
for r in $(seq "$rounds"); do
  run_ca4ctl "$r"
  run_kubectl "$r"
done

# ---- counts: connections (strace) and requests ----
conns() { # strace output -> connect() calls to the API server
  grep -c "connect(.*sin_port=htons($port), sin_addr=inet_addr(\"127.0.0.1\")" "$1" || true
}
apiserver_requests() { # sum of apiserver_request_total, leases (KWOK heartbeats) excluded
  "$kubectl" --cache-dir "$tmp/kube-cache" get --raw /metrics \
    | awk '/^apiserver_request_total\{/ && !/resource="leases"/ { s += $NF } END { printf "%d\n", s }'
}
ca4ctl_requests() { # log -> last "API: N requests" + 3 (verify stage GETs, made after the last line)
  local n; n=$(grep -o 'API: [0-9]* requests' "$1" | tail -1 | awk '{print $2}'); echo $((n + 3))
}
k6_requests() { grep -cE 'round_trippers.go:[0-9]+\] (GET|PUT|PATCH|POST|DELETE) https' "$1" || true; }
# resourceVersions of the 36 objects: a converged run that writes nothing leaves them all as they were
rvs() { "${kc[@]}" get -f "$tmp/k-count.yaml" -o jsonpath='{range .items[*]}{.metadata.resourceVersion}{"\n"}{end}'; }
written() { diff <(echo "$1") <(echo "$2") | grep -c '^>' || true; }
counts=$tmp/counts.csv
say "counting connections and requests (strace runs, not timed)"
kubectl_render "$tmp/k-count.yaml"
clean
strace -f -qq -e trace=connect -o "$tmp/st-ca4-fresh" "$ca4ctl" -f "$tmp/spec/ca4.yaml" up -v >"$tmp/c-ca4-fresh.log" 2>&1
sleep 2
v0=$(rvs); m0=$(apiserver_requests)
strace -f -qq -e trace=connect -o "$tmp/st-ca4-conv" "$ca4ctl" -f "$tmp/spec/ca4.yaml" up -v >"$tmp/c-ca4-conv.log" 2>&1
m1=$(apiserver_requests); v1=$(rvs)
echo "ca4ctl,fresh,$(conns "$tmp/st-ca4-fresh"),$(ca4ctl_requests "$tmp/c-ca4-fresh.log"),,,$(grep -o '[0-9]* connection(s)' "$tmp/c-ca4-fresh.log" | tail -1 | cut -d' ' -f1)" >>"$counts"
echo "ca4ctl,converged,$(conns "$tmp/st-ca4-conv"),$(ca4ctl_requests "$tmp/c-ca4-conv.log"),$((m1 - m0)),$(written "$v0" "$v1"),$(grep -o '[0-9]* connection(s)' "$tmp/c-ca4-conv.log" | tail -1 | cut -d' ' -f1)" >>"$counts"
clean
strace -f -qq -e trace=connect -o "$tmp/st-k-fresh" "${kc[@]}" -v=6 apply --server-side --field-manager=bench-kubectl \
  -f "$tmp/k-count.yaml" >"$tmp/c-k-fresh.log" 2>&1
kubectl_wait >/dev/null 2>&1
sleep 2
v0=$(rvs); m0=$(apiserver_requests)
strace -f -qq -e trace=connect -o "$tmp/st-k-conv" "${kc[@]}" -v=6 apply --server-side --field-manager=bench-kubectl \
  -f "$tmp/k-count.yaml" >"$tmp/c-k-conv.log" 2>&1
m1=$(apiserver_requests); v1=$(rvs)
strace -f -qq -e trace=connect -o "$tmp/st-k-cold" "$kubectl" --cache-dir "$tmp/kube-cache-cold" -v=6 apply --server-side \
  --field-manager=bench-kubectl -f "$tmp/k-count.yaml" >"$tmp/c-k-cold.log" 2>&1
echo "kubectl,fresh,$(conns "$tmp/st-k-fresh"),$(k6_requests "$tmp/c-k-fresh.log"),,," >>"$counts"
echo "kubectl,converged,$(conns "$tmp/st-k-conv"),$(k6_requests "$tmp/c-k-conv.log"),$((m1 - m0)),$(written "$v0" "$v1")," >>"$counts"
echo "kubectl,converged (empty cache dir),$(conns "$tmp/st-k-cold"),$(k6_requests "$tmp/c-k-cold.log"),,," >>"$counts"
# per-verb breakdown of kubectl's requests, for the README
for f in fresh conv cold; do
  say "kubectl $f requests by verb: $(grep -oE 'round_trippers.go:[0-9]+\] (GET|PUT|PATCH|POST|DELETE)' "$tmp/c-k-$f.log" \
    | awk '{print $2}' | sort | uniq -c | tr -s ' \n' ' ')"
done

mkdir -p "$(dirname "$out")"
[[ -s $out ]] || echo "date,machine,tool,case,round,seconds" >"$out"
cat "$rows" >>"$out"

python3 - "$rows" "$counts" "$rounds" "$converged" "$objects" <<'EOF'
import csv, statistics, sys
rows, counts, rounds, conv, objects = sys.argv[1], sys.argv[2], *sys.argv[3:]
t = {}
for r in csv.reader(open(rows)):
    t.setdefault((r[2], r[3]), []).append(float(r[5]))
def med(tool, case):
    v = t.get((tool, case))
    return statistics.median(v) if v else float("nan")
def rng(tool, case):
    v = t.get((tool, case), [])
    return f"{min(v):.2f}–{max(v):.2f}" if v else ""
print(f"\n### {objects} objects, {rounds} rounds (fresh), {int(rounds) * int(conv)} converged runs each; medians in s (min–max)\n")
print("| case | ca4ctl | kubectl | ca4ctl / kubectl |")
print("|---|---:|---:|---:|")
lines = [
    ("fresh: ca4ctl `up` (apply + readiness) vs kubectl render + apply + wait", ("ca4ctl", "fresh_up"), ("kubectl", "fresh_render_apply_wait")),
    ("fresh: ca4ctl apply part vs kubectl render + apply", ("ca4ctl", "fresh_apply_part"), ("kubectl", "fresh_render_apply")),
    ("fresh: ca4ctl apply part vs kubectl apply only (pre-rendered file)", ("ca4ctl", "fresh_apply_part"), ("kubectl", "fresh_apply")),
    ("converged: ca4ctl `up` vs kubectl render + apply", ("ca4ctl", "converged"), ("kubectl", "converged")),
    ("converged: ca4ctl `up` vs kubectl apply only", ("ca4ctl", "converged"), ("kubectl", "converged_apply")),
]
for name, a, b in lines:
    ma, mb = med(*a), med(*b)
    print(f"| {name} | {ma:.3f} ({rng(*a)}) | {mb:.3f} ({rng(*b)}) | **{ma / mb:.2f}** |")
print(f"\nkubectl fresh render alone: {med('kubectl', 'fresh_render'):.3f} s (3 × kubectl kustomize)\n")
print("| tool | run | TCP connects to the API server (strace) | HTTP requests | apiserver_request_total delta | objects written | ca4ctl's connection count |")
print("|---|---|---:|---:|---:|---:|---:|")
for r in csv.reader(open(counts)):
    print("| " + " | ".join(r) + " |")
EOF
