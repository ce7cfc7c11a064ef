#!/usr/bin/env bash
# Tunnel benchmark: ca4ctl's libssh tunnel (`ca4ctl -f SPEC tunnel bench echo`) vs OpenSSH
# `ssh -N -L` through the same bastion with the same cipher: throughput (1 and N streams, both
# directions), setup latency and per-connection latency.
#
#   bench/tunnel_bench.sh [--rounds 5] [--setups 4] [--duration 10] [--streams 1,8]
#                         [--directions up,down] [--conns 50] [--tools openssh,ca4ctl]
#                         [--ca4ctl PATH] [--cipher NAME] [--prefix bt] [--subnet 10.79]
#                         [--port 15201] [--out FILE.csv]
#
# Starts its own VPC (tests/testbed/vpc.sh up --nodes 1, in a temp dir): bastion P-bastion at
# A.B.0.10, node P-node-1 at A.B.1.11 reachable only through it. In the node's namespace it runs
# `iperf3 -s` on A.B.1.11:5201 and a TCP echo server (lib/tunnel_tool.py) on A.B.1.11:5202.
# Both tools forward 127.0.0.1:PORT -> A.B.1.11:5201 and PORT+1 -> A.B.1.11:5202 through one
# session to the bastion (openssh on --port, --port+1; ca4ctl on --port+10, --port+11).
#   openssh  ssh -F D/ssh_config -N -o ExitOnForwardFailure=yes -o Ciphers=C [-o MACs=M]
#                -L 127.0.0.1:PORT:A.B.1.11:5201 -L 127.0.0.1:PORT+1:A.B.1.11:5202 bastion
#   ca4ctl   ca4ctl $CA4_TUNNEL_ARGS (default '-f @SPEC@ tunnel bench echo'); the spec (target
#            hosts, strict host keys, tunnels bench and echo) is written into the temp dir.
# Same algorithms: ca4ctl has no cipher option (it prefers AES-GCM), so the script finds what it negotiates: a
# probe sshd (the bastion's sshd_config with Port 2222 and LogLevel DEBUG1, in the bastion's
# namespace) logs "kex: algorithm / host key algorithm / client->server cipher" for one ca4ctl
# tunnel. OpenSSH then gets the same (-o Ciphers, -o MACs unless implicit, -o KexAlgorithms,
# -o HostKeyAlgorithms), checked with `ssh -v`. Without ca4ctl: --cipher or OpenSSH's defaults.
# One round per tool, tools interleaved and the order alternating (openssh first in odd rounds):
#   setup     spawn -> first 1-byte echo round trip through the tunnel (ms)
#   conn_rtt  --conns sequential connect + 1 byte + echo + close through the up tunnel (p50, p95)
#   tput      iperf3 -c 127.0.0.1 -p PORT -t DURATION -O 1 -P N [-R] -J, receiver Mbit/s;
#             up = local -> node, down = node -> local (-R). During each run /proc gives the
#             tunnel client's CPU (per thread) and the bastion namespace's (sshd) CPU, and for
#             the client's busiest thread /proc/.../schedstat: % of the time on a CPU, runnable
#             but waiting for one (the machine is shared), asleep (waiting for I/O or a timeout).
#   then --setups more start/stop cycles for setup samples; for openssh also 1 + --setups with
#   its default kex and host key algorithm (setup_default_kex_ms, same cipher).
# ca4ctl probes each forward once up (TCP: a connection held ~500 ms); the script waits for its
# two probe lines before measuring, since iperf3's server takes one client at a time.
# Prints a markdown table (medians over the rounds, ratio ca4ctl/openssh), appends rows to --out
# (date,machine,commit,tool,metric,round,value,unit,cipher,load1). Needs root, iproute2,
# openssh-server, python3; installs iperf3 with apt-get if missing. Everything it starts is
# stopped on exit, Ctrl-C or failure (and by a detached reaper if the driver is SIGKILLed);
# BENCH_KEEP_TMP=1 keeps the temp dir (logs, iperf3 JSON, spec).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)

say() { printf '[bench %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() { say "error: $*"; exit 1; }

rounds=5 setups=4 duration=10 streams=1,8 directions=up,down conns=50 tools=openssh,ca4ctl
ca4ctl="" cipher_opt="" prefix=bt subnet=10.79 port=15201 out=$here/results/tunnel.csv
while [[ $# -gt 0 ]]; do
  case $1 in
    --rounds) rounds=$2; shift 2 ;;
    --setups) setups=$2; shift 2 ;;
    --duration) duration=$2; shift 2 ;;
    --streams) streams=$2; shift 2 ;;
    --directions) directions=$2; shift 2 ;;
    --conns) conns=$2; shift 2 ;;
    --tools) tools=$2; shift 2 ;;
    --ca4ctl) ca4ctl=$2; shift 2 ;;
    --cipher) cipher_opt=$2; shift 2 ;;
    --prefix) prefix=$2; shift 2 ;;
    --subnet) subnet=$2; shift 2 ;;
    --port) port=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    -h|--help) sed -n '2,41p' "$0"; exit 0 ;;
    *) die "unknown argument $1 (try --help)" ;;
  esac
done
for v in rounds duration conns port; do [[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "--$v must be a positive integer"; done
[[ $setups =~ ^[0-9]+$ ]] || die "--setups must be a non-negative integer"
[[ $streams =~ ^[1-9][0-9]*(,[1-9][0-9]*)*$ ]] || die "--streams: a list like 1,8"
[[ $directions =~ ^(up|down)(,(up|down))?$ ]] || die "--directions: up, down or up,down"
[[ $(id -u) -eq 0 ]] || die "needs root (network namespaces)"
IFS=, read -r -a stream_list <<<"$streams"
IFS=, read -r -a dir_list <<<"$directions"
IFS=, read -r -a tool_list <<<"$tools"
for t in "${tool_list[@]}"; do [[ $t == openssh || $t == ca4ctl ]] || die "--tools: openssh and/or ca4ctl, got '$t'"; done
has_tool() { [[ " ${tool_list[*]} " == *" $1 "* ]]; }

# ---- prerequisites ------------------------------------------------------------------------------
if ! command -v iperf3 >/dev/null; then
  say "installing iperf3 (apt-get)"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q iperf3 >/dev/null || die "apt-get install iperf3 failed"
fi
for t in ssh ip ss; do command -v "$t" >/dev/null || die "$t not found"; done
py=/usr/bin/python3; [[ -x $py ]] || py=$(command -v python3) || die "python3 not found"
tool_py=$here/lib/tunnel_tool.py
vpc=$repo/tests/testbed/vpc.sh

# ca4ctl: --ca4ctl, else the repo's build, else the lead's build dir. It is copied into the temp
# dir (a rebuild during the run must not change the binary under test, nor be blocked by it).
ca4ctl_src=""
if has_tool ca4ctl; then
  for c in "$ca4ctl" "$repo/build/bin/ca4ctl" /tmp/build-lead/bin/ca4ctl; do
    [[ -n $c && -x $c ]] && { ca4ctl_src=$c; break; }
  done
  [[ -z $ca4ctl || $ca4ctl_src == "$ca4ctl" ]] || die "no ca4ctl at $ca4ctl"
  [[ -z $ca4ctl_src ]] || ca4ctl_src=$(cd "$(dirname "$ca4ctl_src")" && pwd)/$(basename "$ca4ctl_src")
  if [[ -z $ca4ctl_src ]]; then
    say "no ca4ctl binary (build it or pass --ca4ctl): openssh only"; tool_list=(openssh)
  elif ! "$ca4ctl_src" --help 2>/dev/null | grep -qE '^ +tunnel( |$)'; then
    say "$ca4ctl_src has no 'tunnel' subcommand yet: openssh only"; tool_list=(openssh)
  fi
fi
# The ca4ctl tunnel command line; @SPEC@ is the generated spec. One place to change it.
ca4_tunnel_args=${CA4_TUNNEL_ARGS:-'-f @SPEC@ tunnel bench echo'}

ports=($port $((port + 1)) $((port + 10)) $((port + 11)))
for p in "${ports[@]}"; do
  ! ss -Hltn "sport = :$p" | grep -q . || die "port $p is in use; pick another base with --port"
done

mkdir -p "$(dirname "$out")"; out=$(cd "$(dirname "$out")" && pwd)/$(basename "$out")
tmp=$(mktemp -d /tmp/ca4-tunnel-bench.XXXXXX)
D=$tmp/vpc
cd "$tmp"   # ca4ctl may keep state (.ca4) next to where it runs
mkdir -p "$tmp/pids" "$tmp/json"
# stop_pid PID: TERM, then KILL after 5 s
stop_pid() {
  local pid=$1 i
  kill -TERM "$pid" 2>/dev/null || return 0
  for ((i = 0; i < 250; i++)); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.02; done
  kill -KILL "$pid" 2>/dev/null || true
}
cleanup() {
  local rc=$? f
  trap - EXIT INT TERM
  for f in "$tmp"/pids/*.pid; do [[ -e $f ]] && stop_pid "$(cat "$f")"; rm -f "$f"; done
  if [[ -f $D/vpc.env ]]; then
    say "stopping the VPC"
    "$vpc" down --data-dir "$D" >"$tmp/down.log" 2>&1 || cat "$tmp/down.log" >&2
  fi
  if [[ ${BENCH_KEEP_TMP:-0} == 1 ]]; then say "kept $tmp"; else rm -rf "$tmp"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
# If this driver is SIGKILLed (no EXIT trap), a detached reaper still stops the tunnels and the VPC.
setsid bash -c 'while kill -0 "$1" 2>/dev/null; do sleep 1; done
  for f in "$3"/pids/*.pid; do [[ -e $f ]] && kill -TERM "$(cat "$f")" 2>/dev/null; done
  [[ -f $3/vpc/vpc.env ]] && "$2" down --data-dir "$3/vpc" >/dev/null 2>&1; [[ $4 == 1 ]] || rm -rf "$3"' \
  reaper "$$" "$vpc" "$tmp" "${BENCH_KEEP_TMP:-0}" </dev/null >/dev/null 2>&1 &

load_start=$(cut -d' ' -f1-3 /proc/loadavg)
say "load average at start: $load_start"
say "starting the VPC ($prefix, $subnet) in $D"
"$vpc" up --data-dir "$D" --prefix "$prefix" --subnet "$subnet" --nodes 1 >"$tmp/up.log" 2>&1 \
  || { cat "$tmp/up.log" >&2; die "vpc.sh up failed"; }
bastion=$subnet.0.10 node=$subnet.1.11 bastion_ns=$prefix-bastion node_ns=$prefix-node-1

# traffic servers inside the node's namespace (vpc.sh down stops everything in it)
ip netns exec "$node_ns" iperf3 -s -B "$node" -p 5201 -D --pidfile "$tmp/pids/iperf3-server.pid" \
  --logfile "$tmp/iperf3-server.log"
setsid ip netns exec "$node_ns" "$py" "$tool_py" echo-server --host "$node" --port 5202 \
  </dev/null >"$tmp/echo.log" 2>&1 &
echo $! >"$tmp/pids/echo-server.pid"
for ((i = 0; ; i++)); do
  ip netns exec "$bastion_ns" bash -c "exec 3<>/dev/tcp/$node/5202 && exec 4<>/dev/tcp/$node/5201" 2>/dev/null && break
  ((i < 100)) || die "iperf3/echo servers do not answer on $node"
  sleep 0.05
done

# ---- the two tunnels ----------------------------------------------------------------------------
write_spec() {  # write_spec FILE BASTION_PORT KNOWN_HOSTS
  cat >"$1" <<EOF
apiVersion: ca4.dev/v1alpha1
kind: Pipeline
metadata: {name: tunnel-bench}
spec:
  target: hosts
  hosts:
    bastion: {name: bastion, address: $bastion, port: $2, user: root, identityFile: $D/id_ed25519}
    nodes:
      - {name: node-1, address: $node, user: root, identityFile: $D/id_ed25519}
    knownHosts: $3
    hostKeyPolicy: strict
  tunnels:
    - {name: bench, localPort: $((port + 10)), remoteHost: $node, remotePort: 5201}
    - {name: echo, localPort: $((port + 11)), remoteHost: $node, remotePort: 5202}
EOF
}
write_spec "$tmp/ca4.yaml" 22 "$D/known_hosts"

if has_tool ca4ctl; then
  cp "$ca4ctl_src" "$tmp/ca4ctl"
  ca4ctl_sha=$(sha256sum "$tmp/ca4ctl" | cut -c1-16)
  say "ca4ctl: copy of $ca4ctl_src ($(date -r "$ca4ctl_src" '+%F %T'), sha256 $ca4ctl_sha…)"
fi
# OpenSSH's algorithm options (set below): the same cipher/MAC as ca4ctl, and the same key
# exchange and host key algorithm unless default_kex=1 (OpenSSH 9.2's default key exchange,
# sntrup761x25519-sha512, costs ~150 ms more per setup here than curve25519-sha256).
cipher_opts=() kex_opts=() ssh_algos=() default_kex=0
tunnel_cmd() {  # tunnel_cmd TOOL [SPEC] -> the command in array `cmd`
  if [[ $1 == openssh ]]; then
    cmd=(ssh -F "$D/ssh_config" -N -o ExitOnForwardFailure=yes)
    cmd+=("${cipher_opts[@]}"); ((default_kex)) || cmd+=("${kex_opts[@]}")
    cmd+=(-L "127.0.0.1:$port:$node:5201" -L "127.0.0.1:$((port + 1)):$node:5202" bastion)
  else
    local a=${ca4_tunnel_args//@SPEC@/${2:-$tmp/ca4.yaml}}
    read -r -a cmd <<<"$a"
    cmd=("$tmp/ca4ctl" "${cmd[@]}")
  fi
}
iperf_port() { [[ $1 == openssh ]] && echo "$port" || echo $((port + 10)); }
echo_port() { [[ $1 == openssh ]] && echo $((port + 1)) || echo $((port + 11)); }

# start_tunnel TOOL [SPEC]: sets tpid and setup_ms (spawn -> first echo round trip)
start_tunnel() {
  local r cmd from i; tunnel_cmd "$@"
  echo "+ ${cmd[*]}" >>"$tmp/$1.log"
  from=$(wc -l <"$tmp/$1.log")
  r=$("$py" "$tool_py" setup --port "$(echo_port "$1")" --pidfile "$tmp/pids/tunnel.pid" \
        --log "$tmp/$1.log" --timeout 30 -- "${cmd[@]}") \
    || { tail -n 20 "$tmp/$1.log" >&2; die "$1 tunnel did not come up (log $tmp/$1.log)"; }
  read -r tpid setup_ms <<<"$r"
  # ca4ctl probes each forward once it is up (a TCP connect held ~500 ms); iperf3's server serves
  # one client at a time, so wait for both probe lines (✓/✗) before anything else.
  if [[ $1 == ca4ctl ]]; then
    for ((i = 0; i < 250; i++)); do
      (($(tail -n +"$((from + 1))" "$tmp/$1.log" | grep -cE '^ *(✓|✗) (bench|echo):') >= 2)) && break
      sleep 0.02
    done
    ((i < 250)) || say "  (ca4ctl printed no probe lines within 5 s; going on)"
  fi
}
stop_tunnel() {
  stop_pid "$tpid"; rm -f "$tmp/pids/tunnel.pid"
  local p i; for p in "$(iperf_port openssh)" "$(iperf_port ca4ctl)"; do  # listeners gone
    for ((i = 0; i < 100; i++)); do ss -Hltn "sport = :$p" | grep -q . || break; sleep 0.02; done
  done
}

# algos FILE -> "KEX HOSTKEY CIPHER MAC" from the last debug1 "kex: ..." lines of an ssh -v or
# sshd log
algos() {
  tr -d '\r' <"$1" | awk '/kex: algorithm: /{for (i = 1; i < NF; i++) if ($i == "algorithm:" && $(i-1) == "kex:") k = $(i+1)}
       /kex: host key algorithm: /{for (i = 1; i < NF; i++) if ($i == "algorithm:" && $(i-1) == "key") h = $(i+1)}
       /kex: client->server cipher: /{for (i = 1; i < NF; i++) { if ($i == "cipher:") c = $(i+1); if ($i == "MAC:") m = $(i+1) }}
       END {if (c != "") print k, h, c, m}'
}
ssh_v() {  # ssh_v FILE [OPTIONS...]: ssh -v bastion true, its debug output in FILE
  local f=$1; shift
  ssh -v -F "$D/ssh_config" -o LogLevel=DEBUG1 "$@" bastion true >"$f" 2>&1 || { cat "$f" >&2; die "ssh bastion true failed"; }
}

ssh_v "$tmp/ssh-default.log"
read -r d_kex d_hk d_cipher d_mac < <(algos "$tmp/ssh-default.log") || die "no 'kex:' lines in $tmp/ssh-default.log"
say "OpenSSH's defaults: kex $d_kex, host key $d_hk, cipher $d_cipher, MAC $d_mac"
if has_tool ca4ctl; then
  # ca4ctl (libssh) cannot be asked which algorithms it chose: a probe sshd (the bastion's config
  # on port 2222 at DEBUG1, in the bastion's namespace; known_hosts with [A.B.0.10]:2222) logs them.
  grep -v -E '^(Port|ListenAddress|LogLevel|PidFile) ' "$D/$bastion_ns/sshd_config" >"$tmp/probe_sshd_config"
  printf 'Port 2222\nListenAddress %s\nLogLevel DEBUG1\nPidFile none\n' "$bastion" >>"$tmp/probe_sshd_config"
  awk -v h="$bastion" '$1 == h {print "[" h "]:2222 " $2 " " $3}' "$D/known_hosts" >"$tmp/probe_known_hosts"
  cat "$D/known_hosts" >>"$tmp/probe_known_hosts"
  write_spec "$tmp/probe.yaml" 2222 "$tmp/probe_known_hosts"
  ip netns exec "$bastion_ns" /usr/sbin/sshd -D -e -f "$tmp/probe_sshd_config" </dev/null 2>"$tmp/probe_sshd.log" &
  echo $! >"$tmp/pids/probe-sshd.pid"
  for ((i = 0; ; i++)); do
    timeout 2 bash -c "exec 3<>/dev/tcp/$bastion/2222 && IFS= read -r -t 1 l <&3 && [[ \$l == SSH-2.0-* ]]" 2>/dev/null && break
    ((i < 50)) || die "probe sshd on $bastion:2222 does not answer ($tmp/probe_sshd.log)"
    sleep 0.1
  done
  start_tunnel ca4ctl "$tmp/probe.yaml"; stop_tunnel
  stop_pid "$(cat "$tmp/pids/probe-sshd.pid")"; rm -f "$tmp/pids/probe-sshd.pid"
  read -r kex hostkey cipher mac < <(algos "$tmp/probe_sshd.log") || die "no 'kex:' lines in $tmp/probe_sshd.log"
  say "ca4ctl (libssh) negotiates: kex $kex, host key $hostkey, cipher $cipher, MAC $mac"
  [[ -z $cipher_opt || $cipher_opt == "$cipher" ]] \
    || say "WARNING: --cipher $cipher_opt for OpenSSH, but ca4ctl uses $cipher: not the same cipher"
  [[ -z $cipher_opt ]] || cipher=$cipher_opt mac="<implicit>"
else
  kex=$d_kex hostkey=$d_hk cipher=${cipher_opt:-$d_cipher} mac=$d_mac
fi
cipher_opts=(-o "Ciphers=$cipher")
[[ $mac == "<implicit>" ]] || cipher_opts+=(-o "MACs=$mac")
kex_opts=(-o "KexAlgorithms=$kex" -o "HostKeyAlgorithms=$hostkey")
ssh_algos=("${cipher_opts[@]}" "${kex_opts[@]}")
ssh_v "$tmp/ssh-check.log" "${ssh_algos[@]}"
read -r c_kex c_hk c_cipher c_mac < <(algos "$tmp/ssh-check.log") || die "no 'kex:' lines in $tmp/ssh-check.log"
[[ $c_kex == "$kex" && $c_hk == "$hostkey" && $c_cipher == "$cipher" ]] \
  || die "OpenSSH with ${ssh_algos[*]} negotiated $c_kex $c_hk $c_cipher"
[[ -z $cipher_opt ]] || mac=$c_mac
say "both tools: cipher $cipher (MAC $mac), kex $kex, host key $hostkey; OpenSSH: ${ssh_algos[*]}"

# ---- rounds -------------------------------------------------------------------------------------
commit=$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown)
[[ -z $(git -C "$repo" --no-optional-locks status --porcelain -uno 2>/dev/null) ]] || commit+="-dirty"
machine="$(nproc)cpu-$(awk '/MemTotal/ {printf "%d", $2 / 1048576}' /proc/meminfo)G-shared"
date_utc=$(date -u +%Y-%m-%dT%H:%MZ)
rows=$tmp/rows.csv; : >"$rows"
row() {  # row TOOL METRIC ROUND VALUE UNIT
  printf '%s,%s,%s,%s,%s,%s,%s,%s,%s,%s\n' "$date_utc" "$machine" "$commit" "$1" "$2" "$3" "$4" "$5" \
    "$cipher" "$(cut -d' ' -f1 /proc/loadavg)" >>"$rows"
}

one_round() {  # one_round TOOL ROUND
  local tool=$1 r=$2 n d k out args
  start_tunnel "$tool"
  row "$tool" setup_ms "$r" "$setup_ms" ms
  "$py" "$tool_py" rtt --port "$(echo_port "$tool")" -n "$conns" >"$tmp/rtt-$tool-$r.txt" || die "$tool: echo round trips failed"
  read -r p50 p95 < <("$py" -c 'import sys, statistics as s
v = sorted(float(x) for x in open(sys.argv[1]))
print(f"{s.median(v):.3f} {v[min(len(v) - 1, int(round(0.95 * (len(v) - 1))))]:.3f}")' "$tmp/rtt-$tool-$r.txt")
  row "$tool" conn_rtt_p50_ms "$r" "$p50" ms
  row "$tool" conn_rtt_p95_ms "$r" "$p95" ms
  say "  $tool: setup ${setup_ms} ms, conn rtt p50 $p50 ms p95 $p95 ms"
  for n in "${stream_list[@]}"; do
    for d in "${dir_list[@]}"; do
      args=(); [[ $d == down ]] && args=(--reverse)
      out=$("$py" "$tool_py" iperf --port "$(iperf_port "$tool")" --streams "$n" --duration "$duration" "${args[@]}" \
              --client-pid "$tpid" --server-ns "$bastion_ns" --json "$tmp/json/$tool-P$n-$d-$r.json") \
        || die "$tool: iperf3 -P $n $d failed (tunnel log $tmp/$tool.log)"
      echo "round $r $tool P$n $d $out" >>"$tmp/cpu.log"
      local mbps ccpu scpu rws qwait qsleep
      mbps=$(sed -n 's/.*mbps_rx=\([^ ]*\).*/\1/p' <<<"$out")
      ccpu=$(sed -n 's/.*client_cpu_pct=\([^ ]*\).*/\1/p' <<<"$out")
      scpu=$(sed -n 's/.*server_cpu_pct=\([^ ]*\).*/\1/p' <<<"$out")
      row "$tool" "tput_P${n}_$d" "$r" "$mbps" Mbit/s
      row "$tool" "client_cpu_P${n}_$d" "$r" "$ccpu" %
      row "$tool" "bastion_cpu_P${n}_$d" "$r" "$scpu" %
      rws=$(sed -n 's/.*busiest_run_wait_sleep_pct=\([^ ]*\).*/\1/p' <<<"$out")
      IFS=/ read -r _ qwait qsleep <<<"$rws"
      row "$tool" "client_runq_wait_P${n}_$d" "$r" "$qwait" %
      row "$tool" "client_asleep_P${n}_$d" "$r" "$qsleep" %
      say "  $tool: P$n $d $mbps Mbit/s (client CPU $ccpu %, bastion sshd $scpu %; busiest client thread on CPU/waiting for a CPU/asleep $rws %; threads ${out##*threads=})"
    done
  done
  stop_tunnel
  for ((k = 1; k <= setups; k++)); do
    start_tunnel "$tool"; row "$tool" setup_ms "$r" "$setup_ms" ms; stop_tunnel
  done
  # OpenSSH with its own default key exchange and host key algorithm (same cipher): setup only
  if [[ $tool == openssh ]]; then
    default_kex=1
    for ((k = 0; k <= setups; k++)); do
      start_tunnel "$tool"; row "$tool" setup_default_kex_ms "$r" "$setup_ms" ms; stop_tunnel
    done
    default_kex=0
  fi
}

say "tools: ${tool_list[*]}; $rounds round(s), iperf3 ${duration}s (+1 s omitted) streams ${streams} directions ${directions}"
for ((r = 1; r <= rounds; r++)); do
  order=("${tool_list[@]}")
  if ((r % 2 == 0 && ${#order[@]} == 2)); then order=("${order[1]}" "${order[0]}"); fi
  say "round $r/$rounds: ${order[*]} (load $(cut -d' ' -f1-3 /proc/loadavg))"
  for t in "${order[@]}"; do one_round "$t" "$r"; done
done
load_end=$(cut -d' ' -f1-3 /proc/loadavg)
say "load average at end: $load_end"

[[ -s $out ]] || echo "date,machine,commit,tool,metric,round,value,unit,cipher,load1" >"$out"
cat "$rows" >>"$out"
say "appended $(wc -l <"$rows") rows to $out"

# ---- summary ------------------------------------------------------------------------------------
"$py" - "$rows" "$tmp" "$cipher" "$load_start" "$load_end" "${ca4ctl_sha:-}" "$kex" "$hostkey" "$d_kex" <<'EOF'
import csv, glob, statistics as st, sys
rows, tmp, cipher, l0, l1, sha, kex, hk, dkex = sys.argv[1:10]
vals, byround = {}, {}
for r in csv.reader(open(rows)):
    vals.setdefault((r[3], r[4]), []).append(float(r[6]))
    byround[(r[3], r[4], r[5])] = float(r[6])
rtt = {}
for f in glob.glob(f"{tmp}/rtt-*.txt"):
    tool = f.split("/")[-1].split("-")[1]
    rtt.setdefault(tool, []).extend(float(x) for x in open(f))
def med(t, m):
    v = vals.get((t, m))
    return st.median(v) if v else None
def rng(t, m):
    v = vals.get((t, m))
    return f" ({min(v):,.0f}–{max(v):,.0f})" if v and len(v) > 1 else ""
def per_gb(t, cpu_m, tput_m):
    # CPU seconds per GB moved, per round (CPU % of one core / (Mbit/s / 8000)), median
    v = [byround[(t, cpu_m, r)] / 100 / (byround[(t, tput_m, r)] / 8000)
         for (tt, m, r) in byround if tt == t and m == tput_m and (t, cpu_m, r) in byround]
    return st.median(v) if v else None
def pct(v, p):
    v = sorted(v); return v[min(len(v) - 1, int(round(p * (len(v) - 1))))] if v else None
def fmt(x, d=0):
    return "–" if x is None else f"{x:,.{d}f}"
def line(name, a, b, d=0, ra="", rb="", bold=True):
    r = "–" if a is None or b is None or b == 0 else (f"**{a / b:.2f}**" if bold else f"{a / b:.2f}")
    print(f"| {name} | {fmt(a, d)}{ra} | {fmt(b, d)}{rb} | {r} |")
print()
print(f"cipher {cipher}, kex {kex}, host key {hk} (both tools); load average {l0} at start, {l1} at end"
      + (f"; ca4ctl sha256 {sha}…" if sha else ""))
print()
print("| metric | ca4ctl | OpenSSH `ssh -N -L` | ca4ctl / OpenSSH |")
print("|---|---:|---:|---:|")
tests = sorted({m[5:] for (_, m) in vals if m.startswith("tput_")},
               key=lambda m: (int(m.split("_")[0][1:]), m.endswith("_down")))
def label(m):
    n, d = m.split("_")
    return f"{n[1:]} stream{'s' if n != 'P1' else ''} {d}"
for m in tests:
    line(f"throughput {label(m)}, Mbit/s (higher is better; goal ≥ 0.8)", med("ca4ctl", "tput_" + m),
         med("openssh", "tput_" + m), 0, rng("ca4ctl", "tput_" + m), rng("openssh", "tput_" + m))
for m in tests:
    line(f"client CPU s per GB, {label(m)} (lower is better)", per_gb("ca4ctl", "client_cpu_" + m, "tput_" + m),
         per_gb("openssh", "client_cpu_" + m, "tput_" + m), 2, bold=False)
for m in tests:
    line(f"bastion sshd CPU s per GB, {label(m)} (lower is better)", per_gb("ca4ctl", "bastion_cpu_" + m, "tput_" + m),
         per_gb("openssh", "bastion_cpu_" + m, "tput_" + m), 2, bold=False)
line("setup: spawn → first echo round trip, ms (lower is better)", med("ca4ctl", "setup_ms"), med("openssh", "setup_ms"), 1)
line(f"setup, OpenSSH with its default kex {dkex}, ms (lower is better)", med("ca4ctl", "setup_ms"),
     med("openssh", "setup_default_kex_ms"), 1, bold=False)
line("connection through the up tunnel: connect + 1 B echo, p50 ms (lower is better)",
     st.median(rtt["ca4ctl"]) if rtt.get("ca4ctl") else None, st.median(rtt["openssh"]) if rtt.get("openssh") else None, 3)
line("connection through the up tunnel: connect + 1 B echo, p95 ms (lower is better)",
     pct(rtt.get("ca4ctl", []), 0.95), pct(rtt.get("openssh", []), 0.95), 3)
n = {t: len(vals.get((t, "setup_ms"), [])) for t in ("ca4ctl", "openssh")}
print(f"\nthroughput: median (min–max) of {len(vals.get(('openssh', 'tput_' + tests[0]), []))} runs a tool; "
      f"setup samples: ca4ctl {n['ca4ctl']}, openssh {n['openssh']}; connection samples: "
      f"ca4ctl {len(rtt.get('ca4ctl', []))}, openssh {len(rtt.get('openssh', []))}")
EOF
if [[ ${BENCH_KEEP_TMP:-0} == 1 ]]; then say "per-thread CPU of each iperf3 run: $tmp/cpu.log"; fi
