#!/usr/bin/env bash
# Hand-run check of the K3s stand-in on a vpc.sh VPC, the way ca4ctl will drive it (README.md,
# section "K3s stand-in"):
#
#   k3s-smoke.sh --data-dir D [--prefix P] [--subnet A.B] [--keep]
#
# vpc.sh up (2 nodes) -> render the stand-in as v1.34.1+k3s1, scp it to both nodes as
# /usr/local/bin/k3s -> node-1: config.yaml + `setsid k3s server` -> poll for k3s.yaml and
# node-token -> node-2: `k3s agent` with that token -> from this host through `ssh -L` via the
# bastion: both nodes Ready -> a wrong token is refused -> server SIGTERM (control plane gone) and
# start again (same CA, same token) -> upgrade both to v1.34.2+k3s1 (the nodes' version follows)
# -> vpc.sh down, then nothing of the VPC runs and this host's /usr/local/bin/k3s, /etc/rancher
# and /var/lib/rancher are as before. Prints each step's time. --keep leaves the VPC up.
# Needs root, vpc.sh's and control-plane.sh's dependencies, and ~1.2 GB of memory.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

dir="" prefix=h1 subnet=10.78 keep=0
while [[ $# -gt 0 ]]; do
  case $1 in
    --data-dir) dir=${2:?}; shift 2 ;;
    --prefix) prefix=${2:?}; shift 2 ;;
    --subnet) subnet=${2:?}; shift 2 ;;
    --keep) keep=1; shift ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) echo "unknown argument '$1'" >&2; exit 2 ;;
  esac
done
[[ -n $dir ]] || { echo "--data-dir is required" >&2; exit 2; }
mkdir -p "$dir"; dir=$(cd "$dir" && pwd)
D=$dir/vpc work=$dir/work
mkdir -p "$work"

say() { printf '[k3s-smoke] %s\n' "$*"; }
fail() { printf '[k3s-smoke] FAILED: %s\n' "$*" >&2; exit 1; }
ms() { date +%s%3N; }
since() { local d=$(( $(ms) - $1 )); printf '%d.%03d s' $((d / 1000)) $((d % 1000)); }
n1() { ssh -F "$D/ssh_config" node-1 "$@"; }
n2() { ssh -F "$D/ssh_config" node-2 "$@"; }
wait_until() {  # wait_until SECONDS WHAT CMD...
  local limit=$1 what=$2 end; shift 2; end=$((SECONDS + limit))
  until "$@" >/dev/null 2>&1; do ((SECONDS < end)) || fail "$what (after ${limit}s)"; sleep 0.3; done
}
log_has() { "$1" "grep -q '$2' /var/lib/rancher/k3s/ca4-k3s.log"; }
# the start command ca4ctl runs (setsid, log and pid file under /var/lib/rancher/k3s)
# (not `mkdir ... && setsid ... &`: that backgrounds a subshell, whose pid $! is, and which holds
# the SSH channel open until k3s exits)
start_k3s() { "$1" "mkdir -p /var/lib/rancher/k3s; setsid /usr/local/bin/k3s $2 >/var/lib/rancher/k3s/ca4-k3s.log 2>&1 </dev/null & echo \$! >/var/lib/rancher/k3s/ca4-k3s.pid"; }
stop_k3s() { "$1" 'pid=$(cat /var/lib/rancher/k3s/ca4-k3s.pid); kill -TERM $pid; while kill -0 $pid 2>/dev/null; do sleep 0.1; done'; }

snapshot() { ls -la --time-style=full-iso /etc/rancher /var/lib/rancher 2>&1; ls -la --time-style=full-iso /usr/local/bin/k3s 2>&1 || true; }
snapshot >"$work/host.before"
tunnel="" 
cleanup() {
  [[ -z $tunnel ]] || kill "$tunnel" 2>/dev/null || true
  ((keep)) || "$here/vpc.sh" down --data-dir "$D" >/dev/null 2>&1 || true
}
trap cleanup EXIT

t=$(ms); "$here/vpc.sh" up --data-dir "$D" --prefix "$prefix" --subnet "$subnet" --nodes 2 | sed -n 1p
say "1. vpc up: $(since "$t")"
"$here/k3s-standin.sh" render --version v1.34.1+k3s1 --out "$work/k3s-v1.34.1"
"$here/k3s-standin.sh" render --version v1.34.2+k3s1 --out "$work/k3s-v1.34.2"
for n in node-1 node-2; do
  scp -q -F "$D/ssh_config" "$work/k3s-v1.34.1" "$n:/usr/local/bin/k3s"; ssh -F "$D/ssh_config" "$n" chmod 755 /usr/local/bin/k3s
done
say "   node-1: $(n1 /usr/local/bin/k3s --version | tr '\n' '|')"
diff -q <(snapshot) "$work/host.before" >/dev/null || fail "this host's /usr/local/bin/k3s or rancher dirs changed"
say "   this host: $(ls /usr/local/bin/k3s 2>&1 || true)"

ip1=$subnet.1.11 ip2=$subnet.1.12
n1 "mkdir -p /etc/rancher/k3s /var/lib/rancher/k3s && cat >/etc/rancher/k3s/config.yaml" <<EOF
node-name: edge-1
node-ip: $ip1
tls-san:
  - 127.0.0.1
  - k3s.lab.test
write-kubeconfig-mode: "0600"
EOF
t=$(ms); start_k3s n1 server
wait_until 180 "k3s.yaml and node-token on node-1" n1 'test -f /etc/rancher/k3s/k3s.yaml && test -f /var/lib/rancher/k3s/server/node-token'
say "2. server: k3s.yaml and node-token after $(since "$t")"
token=$(n1 cat /var/lib/rancher/k3s/server/node-token)
ca_sum=$(n1 sha256sum /var/lib/rancher/k3s/server/standin/pki/ca.crt | cut -d' ' -f1)
[[ $token == "K10${ca_sum}::server:"* ]] || fail "node-token '$token' is not K10<sha256 of the CA>::server:<secret>"

n2 "mkdir -p /etc/rancher/k3s && cat >/etc/rancher/k3s/config.yaml" <<EOF
server: https://$ip1:6443
token: $token
node-name: edge-2
node-ip: $ip2
EOF
t=$(ms); start_k3s n2 agent
wait_until 60 "agent registered" log_has n2 'Registered node edge-2'
say "3. agent: edge-2 registered after $(since "$t")"

# this host -> bastion -> node-1:6443, as ca4ctl reaches the API
port=16443; while ss -Hltn "sport = :$port" | grep -q .; do port=$((port + 1)); done
ssh -F "$D/ssh_config" -N -L "$port:$ip1:6443" bastion & tunnel=$!
n1 cat /etc/rancher/k3s/k3s.yaml | sed "s#server: https://127.0.0.1:6443#server: https://127.0.0.1:$port#" >"$work/kubeconfig"
chmod 600 "$work/kubeconfig"
kc() { sed -n "s/^ *$1: //p" "$work/kubeconfig" | base64 -d; }
kc certificate-authority-data >"$work/ca.crt"; kc client-certificate-data >"$work/admin.crt"; kc client-key-data >"$work/admin.key"
api() { curl -sS --fail --max-time 5 --cacert "$work/ca.crt" --cert "$work/admin.crt" --key "$work/admin.key" "https://127.0.0.1:$port$1"; }
ready() { api "/api/v1/nodes/$1" | tr -d ' \n' | grep -q "\"type\":\"Ready\",\"status\":\"True\""; }
version_is() { api "/api/v1/nodes/$1" | tr -d ' \n' | grep -q "\"kubeletVersion\":\"$2\""; }
t=$(ms)
wait_until 60 "edge-1 Ready through the tunnel" ready edge-1
wait_until 60 "edge-2 Ready through the tunnel" ready edge-2
say "4. through ssh -L via the bastion: edge-1 and edge-2 Ready ($(since "$t") after the tunnel)"
kubectl=$(command -v kubectl || true); [[ -x ${CA4_CACHE:-$HOME/.cache/ca4}/k8s-v1.34.4/bin/kubectl ]] && kubectl=${CA4_CACHE:-$HOME/.cache/ca4}/k8s-v1.34.4/bin/kubectl
[[ -z $kubectl ]] || "$kubectl" --kubeconfig "$work/kubeconfig" get nodes -o wide | sed 's/^/    /'

bad="${token%:*}:not-the-secret"
out=$(n1 "printf 'server: https://$ip1:6443\ntoken: $bad\nnode-name: edge-x\n' >/tmp/$prefix-bad.yaml; /usr/local/bin/k3s agent --config /tmp/$prefix-bad.yaml 2>&1; echo rc=\$?; rm -f /tmp/$prefix-bad.yaml" || true)
[[ $out == *"token rejected"*rc=1* ]] || fail "a wrong token was not refused: $out"
say "   wrong token: $(grep -o 'level=fatal msg="[^"]*"' <<<"$out")"

t=$(ms); stop_k3s n1
left=$(n1 'ss -Hltn "sport = :6443 or sport = :2379"; for p in /var/lib/rancher/k3s/server/standin/run/*.pid; do [ -e "$p" ] && ps -o pid= -p "$(cat "$p")"; done; true')
[[ -z $left ]] || fail "the control plane outlived the server: $left"
say "5. server SIGTERM -> exited, control plane gone: $(since "$t")"
t=$(ms); start_k3s n1 server
wait_until 120 "server up again" log_has n1 'k3s is up and running'
say "   server started again: up after $(since "$t")"
[[ $(n1 cat /var/lib/rancher/k3s/server/node-token) == "$token" ]] || fail "the token changed across a restart"
[[ $(n1 sha256sum /var/lib/rancher/k3s/server/standin/pki/ca.crt | cut -d' ' -f1) == "$ca_sum" ]] || fail "the CA changed across a restart"
say "   same CA and token"

t=$(ms)
for n in node-1 node-2; do   # upload beside and rename, as an upgrade should
  scp -q -F "$D/ssh_config" "$work/k3s-v1.34.2" "$n:/usr/local/bin/k3s.new"; ssh -F "$D/ssh_config" "$n" 'chmod 755 /usr/local/bin/k3s.new && mv /usr/local/bin/k3s.new /usr/local/bin/k3s'
done
stop_k3s n2; stop_k3s n1; start_k3s n1 server; start_k3s n2 agent
wait_until 120 "edge-1 at v1.34.2+k3s1" version_is edge-1 'v1.34.2+k3s1'
wait_until 60 "edge-2 at v1.34.2+k3s1" version_is edge-2 'v1.34.2+k3s1'
say "   upgrade to v1.34.2+k3s1 (both restarted): nodes report it after $(since "$t")"

kill "$tunnel" 2>/dev/null || true; tunnel=""
if ((keep)); then say "VPC kept: $here/vpc.sh down --data-dir $D"; trap - EXIT; exit 0; fi
t=$(ms); "$here/vpc.sh" down --data-dir "$D" | tail -n 1
sleep 1.5   # the init here reaps the killed processes a moment later
left=$(ps -eo pid=,args= | grep -E "$D|/var/lib/rancher/k3s|/usr/local/bin/k3s" | grep -v grep || true)
[[ -z $left ]] || fail "left running after down: $left"
diff -q <(snapshot) "$work/host.before" >/dev/null || fail "this host's /usr/local/bin/k3s or rancher dirs changed"
say "6. vpc down: $(since "$t"); nothing left running, this host's paths untouched"
trap - EXIT
say "ok"
