#!/usr/bin/env bash
# A real Kubernetes control plane on loopback for the tests: etcd, kube-apiserver,
# kube-controller-manager, kube-scheduler and KWOK (fake nodes that run pods as Running/Ready).
# Binaries come from tests/testbed/install-control-plane.sh.
#
#   control-plane.sh up --data-dir D --port P [--etcd-port E] [--nodes N] [--pvs N] [--timeout S]
#                       [--pod-cidr C] [--bind-address A] [--advertise-address A] [--san X]...
#                       [--node-names a,b] [--node-role R] [--static-token T] [--serve-ca-chain]
#       generates certificates (openssl) and kubeconfigs in D, starts everything, creates N fake
#       nodes (default 1) and N PersistentVolumes (default 8: hostPath under D/pv, 20Gi, RWO, no
#       StorageClass, so StatefulSets' claims bind) and waits until /readyz is ok, the nodes are
#       Ready and the default ServiceAccount exists. The apiserver serves https://127.0.0.1:P; etcd listens on
#       127.0.0.1:E (default P+1) with its peer port on E+1. Prints the time to ready.
#       For a K3s-like server (tests/testbed/k3s-standin.sh): --bind-address (default 127.0.0.1),
#       --advertise-address (default 127.0.0.1); --san X (repeatable) adds X to the serving
#       certificate (an IP as IP SAN, else DNS; a changed list re-issues only that certificate);
#       --node-names names the fake nodes (instead of kwok-node-0..N-1); --node-role R labels them
#       node-role.kubernetes.io/R (default agent); --static-token T lets bearer token T in as a
#       member of system:masters (--token-auth-file); --serve-ca-chain serves the CA after the
#       serving certificate in the TLS handshake (so a client can read the CA from the server).
#   control-plane.sh down --data-dir D        stops what `up` started (pids in D/run); idempotent
#   control-plane.sh kubeconfig --data-dir D  prints the path of the admin kubeconfig (context ca4)
#
# Authorization is Node,RBAC; the admin client certificate is in group system:masters.
# Fake nodes get InternalIP 127.0.0.1 (the --advertise-address) and pods get IPs from
# 10.244.0.1/16 (--pod-cidr): nothing listens there (no route leaves this machine), and unlike
# loopback addresses they are valid endpoints, so Services get EndpointSlices as on a real cluster.
# Environment: CA4_CACHE (default ~/.cache/ca4), CA4_K8S_BIN (overrides the binaries' folder).
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/proc.sh"

K8S_VERSION=v1.34.4   # keep in step with install-control-plane.sh
cache=${CA4_CACHE:-$HOME/.cache/ca4}
bin=${CA4_K8S_BIN:-$cache/k8s-$K8S_VERSION/bin}

say() { printf '[control-plane] %s\n' "$*"; }
die() { printf '[control-plane] error: %s\n' "$*" >&2; exit 1; }
ms() { date +%s%3N; }
secs() { local d=$(( $(ms) - $1 )); printf '%d.%03d' $((d / 1000)) $((d % 1000)); }
usage() { sed -n '2,28p' "$0"; }

cmd=${1:-}; [[ $# -gt 0 ]] && shift
dir="" port="" etcd_port="" nodes=1 pvs=8 timeout=120 pod_cidr=10.244.0.1/16
bind_address=127.0.0.1 advertise_address=127.0.0.1 sans=() node_names="" node_role=agent
static_token="" serve_ca_chain=0
while [[ $# -gt 0 ]]; do
  case $1 in
    --data-dir) dir=${2:?}; shift 2 ;;
    --port) port=${2:?}; shift 2 ;;
    --etcd-port) etcd_port=${2:?}; shift 2 ;;
    --nodes) nodes=${2:?}; shift 2 ;;
    --pvs) pvs=${2:?}; shift 2 ;;
    --timeout) timeout=${2:?}; shift 2 ;;
    --pod-cidr) pod_cidr=${2:?}; shift 2 ;;
    --bind-address) bind_address=${2:?}; shift 2 ;;
    --advertise-address) advertise_address=${2:?}; shift 2 ;;
    --san) sans+=("${2:?}"); shift 2 ;;
    --node-names) node_names=${2:?}; shift 2 ;;
    --node-role) node_role=${2:?}; shift 2 ;;
    --static-token) static_token=${2:?}; shift 2 ;;
    --serve-ca-chain) serve_ca_chain=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument '$1'" ;;
  esac
done
[[ -n $cmd ]] || { usage >&2; exit 2; }
[[ -n $dir ]] || die "--data-dir is required"
mkdir -p "$dir"; dir=$(cd "$dir" && pwd)
run="$dir/run" pki="$dir/pki"

# ---- process bookkeeping ------------------------------------------------------------------------
# A pid file is trusted only while that pid's command line still names this data directory.
alive() {  # alive NAME -> true if D/run/NAME.pid is a live process of ours
  local f="$run/$1.pid"
  [[ -f $f ]] || return 1
  pid_alive "$(cat "$f")" "$dir"
}
started=()
start() {  # start NAME CMD... (logs to D/logs/NAME.log)
  local name=$1; shift
  mkdir -p "$run" "$dir/logs"
  setsid "$@" >"$dir/logs/$name.log" 2>&1 </dev/null &
  echo $! >"$run/$name.pid"
  started+=("$name")
}
stop() {  # stop NAME...: TERM them together, then KILL what is left after 10 s
  local name pid i pids=() names=()
  for name in "$@"; do
    if alive "$name"; then
      pid=$(cat "$run/$name.pid"); kill -TERM "$pid" 2>/dev/null || true
      pids+=("$pid"); names+=("$name")
    fi
  done
  for ((i = 0; i < ${#pids[@]}; i++)); do
    local n=0
    while [[ -d /proc/${pids[i]} ]] && ((n++ < 100)); do sleep 0.1; done
    if [[ -d /proc/${pids[i]} ]]; then kill -KILL "${pids[i]}" 2>/dev/null || true; say "${names[i]} (pid ${pids[i]}) killed"; fi
  done
  for name in "$@"; do rm -f "$run/$name.pid"; done
}
components=(etcd kube-apiserver kube-controller-manager kube-scheduler kwok)

down() {
  stop kwok
  # KWOK holds each fake node's Lease (kube-node-lease) for --node-lease-duration-seconds; a
  # Lease left behind makes the next `up` on this data dir wait for it to expire. Drop them.
  if alive kube-apiserver && [[ -f $pki/admin.crt ]]; then
    port=$(cat "$run/port" 2>/dev/null || true)
    [[ -n $port ]] && api DELETE /apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases >/dev/null 2>&1 || true
  fi
  stop kube-scheduler kube-controller-manager
  stop kube-apiserver
  stop etcd
  say "stopped (data in $dir)"
}

# ---- certificates and kubeconfigs ---------------------------------------------------------------
gen_key() { openssl ecparam -name prime256v1 -genkey -noout -out "$1" 2>/dev/null; chmod 600 "$1"; }
# gen_cert NAME SUBJECT EXTENSIONS: key + certificate signed by the CA
gen_cert() {
  gen_key "$pki/$1.key"
  openssl req -new -key "$pki/$1.key" -subj "$2" -out "$pki/$1.csr" 2>/dev/null
  openssl x509 -req -in "$pki/$1.csr" -CA "$pki/ca.crt" -CAkey "$pki/ca.key" -CAcreateserial \
    -days 3650 -sha256 -extfile <(printf '%s\n' "$3") -out "$pki/$1.crt" 2>/dev/null
  rm -f "$pki/$1.csr"
}
# The serving certificate's SANs: the fixed ones plus each --san (deduplicated, in order).
san_fixed="IP:127.0.0.1,DNS:localhost,IP:10.96.0.1,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local"
apiserver_sans() {
  local s=$san_fixed x e
  for x in "${sans[@]}"; do
    if [[ $x =~ ^[0-9]{1,3}(\.[0-9]{1,3}){3}$ ]]; then e="IP:$x"; else e="DNS:$x"; fi
    [[ ,$s, == *",$e,"* ]] || s+=",$e"
  done
  printf '%s' "$s"
}
gen_apiserver_cert() {
  gen_cert apiserver "/CN=kube-apiserver" "basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=$1"
  printf '%s\n' "$1" >"$pki/apiserver.san"
}
gen_pki() {
  if [[ -f $pki/done ]]; then
    # Same CA and client certificates on every up; the serving certificate follows --san
    # (a data dir from before apiserver.san existed has the fixed list).
    local want have; want=$(apiserver_sans)
    have=$(cat "$pki/apiserver.san" 2>/dev/null || printf '%s' "$san_fixed")
    if [[ $want != "$have" ]]; then say "serving certificate SANs changed: re-issuing it"; gen_apiserver_cert "$want"; fi
    return
  fi
  command -v openssl >/dev/null 2>&1 || die "openssl not found (apt-get install openssl)"
  rm -rf "$pki" && mkdir -p "$pki"
  gen_key "$pki/ca.key"
  openssl req -x509 -new -key "$pki/ca.key" -subj "/CN=ca4-testbed-ca" -days 3650 -sha256 \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -out "$pki/ca.crt" 2>/dev/null
  local client="basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=clientAuth"
  gen_apiserver_cert "$(apiserver_sans)"
  gen_cert admin "/O=system:masters/CN=ca4-admin" "$client"
  gen_cert controller-manager "/CN=system:kube-controller-manager" "$client"
  gen_cert scheduler "/CN=system:kube-scheduler" "$client"
  gen_cert apiserver-kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client" "$client"
  gen_key "$pki/sa.key"
  openssl ec -in "$pki/sa.key" -pubout -out "$pki/sa.pub" 2>/dev/null
  touch "$pki/done"
}
b64() { base64 -w0 <"$1"; }
# kubeconfig FILE CERTNAME
write_kubeconfig() {
  cat >"$1" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: ca4
  cluster:
    server: https://127.0.0.1:$port
    certificate-authority-data: $(b64 "$pki/ca.crt")
users:
- name: $2
  user:
    client-certificate-data: $(b64 "$pki/$2.crt")
    client-key-data: $(b64 "$pki/$2.key")
contexts:
- name: ca4
  context: {cluster: ca4, user: $2}
current-context: ca4
EOF
  chmod 600 "$1"
}

# ---- talking to the apiserver (curl with the admin certificate) ---------------------------------
api() {  # api METHOD PATH [JSON] -> body on stdout; fails on HTTP >= 400
  local m=$1 p=$2
  curl -sS --fail-with-body --max-time 10 --cacert "$pki/ca.crt" --cert "$pki/admin.crt" \
    --key "$pki/admin.key" -X "$m" -H 'Content-Type: application/json' \
    ${3:+--data-binary "$3"} "https://127.0.0.1:$port$p"
}
wait_for() {  # wait_for WHAT CMD...: retries CMD every 0.2 s until it succeeds or the deadline
  local what=$1; shift
  until "$@" >/dev/null 2>&1; do
    local c; for c in "${components[@]}"; do
      [[ -f $run/$c.pid ]] && ! alive "$c" && { tail -n 20 "$dir/logs/$c.log" >&2; [[ -s $dir/logs/$c.log ]] || say "($c wrote no log)"; die "$c exited (log: $dir/logs/$c.log)"; }
    done
    ((SECONDS < deadline)) || die "timed out after ${timeout}s waiting for $what"
    sleep 0.2
  done
}
node_ready() {  # node_ready NAME SINCE: Ready=True and its Lease renewed by this run's kwok
  api GET "/api/v1/nodes/$1" | tr -d ' \n' | grep -q '"type":"Ready","status":"True"' || return 1
  local renew
  renew=$(api GET "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/$1" \
            | tr -d ' \n' | sed -n 's/.*"renewTime":"\([^"]*\)".*/\1/p')
  [[ -n $renew && ! $renew < $2 ]]   # RFC 3339 UTC strings compare as text
}
node_json() {  # node_json NAME [ROLE]
  local role=${2:-agent}
  cat <<EOF
{"apiVersion":"v1","kind":"Node",
 "metadata":{"name":"$1","annotations":{"kwok.x-k8s.io/node":"fake","node.alpha.kubernetes.io/ttl":"0"},
   "labels":{"type":"kwok","kubernetes.io/hostname":"$1","kubernetes.io/os":"linux","kubernetes.io/arch":"amd64","kubernetes.io/role":"$role","node-role.kubernetes.io/$role":""}},
 "spec":{},
 "status":{"allocatable":{"cpu":"32","memory":"256Gi","pods":"110"},
   "capacity":{"cpu":"32","memory":"256Gi","pods":"110"},
   "nodeInfo":{"architecture":"amd64","operatingSystem":"linux","kubeletVersion":"fake","kubeProxyVersion":"fake"}}}
EOF
}

up() {
  [[ -n $port ]] || die "--port is required"
  etcd_port=${etcd_port:-$((port + 1))}
  local peer_port=$((etcd_port + 1)) t
  for t in "${components[@]}"; do [[ -x $bin/$t ]] || die "$bin/$t missing: run tests/testbed/install-control-plane.sh"; done
  command -v curl >/dev/null 2>&1 || die "curl not found"
  local c; for c in "${components[@]}"; do
    alive "$c" && die "$c already running in $dir (pid $(cat "$run/$c.pid")); run 'down' first"
  done
  local names=() n
  if [[ -n $node_names ]]; then IFS=, read -ra names <<<"$node_names"; else
    for ((n = 0; n < nodes; n++)); do names+=("kwok-node-$n"); done
  fi
  for n in "${names[@]}"; do
    [[ $n =~ ^[a-z0-9]([-a-z0-9.]{0,61}[a-z0-9])?$ ]] || die "--node-names: '$n' is not a valid node name"
  done
  [[ $node_role =~ ^[a-z0-9]([-a-z0-9]*[a-z0-9])?$ ]] || die "--node-role: '$node_role' is not a valid label name"
  [[ -z $static_token || $static_token =~ ^[A-Za-z0-9._~+/=:-]+$ ]] || die "--static-token: only [A-Za-z0-9._~+/=:-]"
  rm -f "$run"/*.pid
  local t0 since; t0=$(ms); since=$(date -u +%Y-%m-%dT%H:%M:%S); deadline=$((SECONDS + timeout))
  gen_pki
  write_kubeconfig "$dir/kubeconfig" admin
  write_kubeconfig "$dir/controller-manager.kubeconfig" controller-manager
  write_kubeconfig "$dir/scheduler.kubeconfig" scheduler
  cat >"$dir/kwok.yaml" <<EOF
apiVersion: config.kwok.x-k8s.io/v1alpha1
kind: KwokConfiguration
options: {}
EOF
  local extra=() cert=$pki/apiserver.crt
  if ((serve_ca_chain)); then cat "$pki/apiserver.crt" "$pki/ca.crt" >"$pki/apiserver-chain.crt"; cert=$pki/apiserver-chain.crt; fi
  if [[ -n $static_token ]]; then
    (umask 077; printf '%s,ca4-static-token,ca4-static-token,"system:masters"\n' "$static_token" >"$dir/token-auth.csv")
    extra+=(--token-auth-file="$dir/token-auth.csv")
  fi
  # A failed `up` leaves nothing running (logs stay in D/logs).
  mkdir -p "$run"; printf '%s' "$port" >"$run/port"
  trap 'rc=$?; [[ $rc -eq 0 ]] || { say "up failed: stopping what it started"; for c in kwok kube-scheduler kube-controller-manager kube-apiserver etcd; do [[ " ${started[*]} " == *" $c "* ]] && stop "$c"; done; }' EXIT

  start etcd "$bin/etcd" --name ca4 --data-dir "$dir/etcd" \
    --listen-client-urls "http://127.0.0.1:$etcd_port" --advertise-client-urls "http://127.0.0.1:$etcd_port" \
    --listen-peer-urls "http://127.0.0.1:$peer_port" --initial-advertise-peer-urls "http://127.0.0.1:$peer_port" \
    --initial-cluster "ca4=http://127.0.0.1:$peer_port" --initial-cluster-state new \
    --unsafe-no-fsync --quota-backend-bytes=1073741824 --log-level=warn
  wait_for "etcd" curl -sf --max-time 2 "http://127.0.0.1:$etcd_port/health"

  start kube-apiserver "$bin/kube-apiserver" \
    --etcd-servers="http://127.0.0.1:$etcd_port" --etcd-prefix=/registry \
    --bind-address="$bind_address" --advertise-address="$advertise_address" --secure-port="$port" \
    --endpoint-reconciler-type=none \
    --cert-dir="$dir/apiserver-certs" \
    --tls-cert-file="$cert" --tls-private-key-file="$pki/apiserver.key" \
    --client-ca-file="$pki/ca.crt" \
    --kubelet-client-certificate="$pki/apiserver-kubelet-client.crt" --kubelet-client-key="$pki/apiserver-kubelet-client.key" \
    --service-account-issuer=https://kubernetes.default.svc.cluster.local \
    --service-account-key-file="$pki/sa.pub" --service-account-signing-key-file="$pki/sa.key" \
    --service-cluster-ip-range=10.96.0.0/16 \
    --authorization-mode=Node,RBAC --allow-privileged=true \
    --profiling=false --v=1 "${extra[@]}"
  wait_for "kube-apiserver /readyz" api GET /readyz
  say "kube-apiserver ready on https://127.0.0.1:$port after $(secs "$t0") s"

  start kube-controller-manager "$bin/kube-controller-manager" \
    --kubeconfig="$dir/controller-manager.kubeconfig" \
    --authentication-kubeconfig="$dir/controller-manager.kubeconfig" \
    --authorization-kubeconfig="$dir/controller-manager.kubeconfig" \
    --secure-port=0 --leader-elect=false \
    --service-account-private-key-file="$pki/sa.key" --root-ca-file="$pki/ca.crt" \
    --use-service-account-credentials=true \
    --cluster-signing-cert-file="$pki/ca.crt" --cluster-signing-key-file="$pki/ca.key" \
    --profiling=false --v=1
  start kube-scheduler "$bin/kube-scheduler" \
    --kubeconfig="$dir/scheduler.kubeconfig" \
    --authentication-kubeconfig="$dir/scheduler.kubeconfig" \
    --authorization-kubeconfig="$dir/scheduler.kubeconfig" \
    --secure-port=0 --leader-elect=false --profiling=false --v=1
  start kwok "$bin/kwok" --config="$dir/kwok.yaml" --kubeconfig="$dir/kubeconfig" \
    --manage-all-nodes=false --manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake \
    --node-ip="$advertise_address" --cidr="$pod_cidr" --node-lease-duration-seconds=40

  local i name
  for name in "${names[@]}"; do
    api GET "/api/v1/nodes/$name" >/dev/null 2>&1 || api POST /api/v1/nodes "$(node_json "$name" "$node_role")" >/dev/null \
      || die "creating node $name failed"
  done
  for name in "${names[@]}"; do wait_for "node $name Ready" node_ready "$name" "$since"; done
  for ((i = 0; i < pvs; i++)); do
    name="ca4-testbed-pv-$i"
    api GET "/api/v1/persistentvolumes/$name" >/dev/null 2>&1 || api POST /api/v1/persistentvolumes \
      "{\"apiVersion\":\"v1\",\"kind\":\"PersistentVolume\",\"metadata\":{\"name\":\"$name\"},\"spec\":{\"capacity\":{\"storage\":\"20Gi\"},\"accessModes\":[\"ReadWriteOnce\"],\"hostPath\":{\"path\":\"$dir/pv/$i\"}}}" >/dev/null \
      || die "creating PersistentVolume $name failed"
  done
  wait_for "ServiceAccount default/default" api GET /api/v1/namespaces/default/serviceaccounts/default
  trap - EXIT
  say "ready in $(secs "$t0") s: https://$bind_address:$port, etcd 127.0.0.1:$etcd_port, ${#names[@]} fake node(s), $pvs PV(s), kubeconfig $dir/kubeconfig (context ca4)"
}

case $cmd in
  up) up ;;
  down) down ;;
  kubeconfig) [[ -f $dir/kubeconfig ]] || die "no kubeconfig in $dir (run 'up' first)"; printf '%s\n' "$dir/kubeconfig" ;;
  *) usage >&2; die "unknown command '$cmd'" ;;
esac
