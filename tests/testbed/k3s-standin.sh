#!/usr/bin/env bash
STANDIN_VERSION=v0.0.0+k3s0
STANDIN_REPO=
# ^ the two baked variables (one line each, replaced whole by `render` or by a test). An empty
#   STANDIN_REPO means the repository this file is in.
#
# A stand-in for the K3s binary in the remote-hosts tests: uploaded as /usr/local/bin/k3s to a
# vpc.sh node and run exactly like K3s, it starts the testbed's real control plane
# (tests/testbed/control-plane.sh: etcd, kube-apiserver, controller-manager, scheduler, KWOK) in
# the node's network namespace and writes the files K3s writes. See tests/testbed/README.md,
# section "K3s stand-in", for the contract.
#
#   k3s --version | -v | version   two lines: `k3s version <STANDIN_VERSION> (ca4standin)`, `go version go1.24 (stand-in)`
#   k3s server [--config FILE]     FILE default /etc/rancher/k3s/config.yaml; keys node-name, node-ip,
#                                  tls-san, https-listen-port, write-kubeconfig-mode, write-kubeconfig,
#                                  token, token-file (others ignored); stays in the foreground
#   k3s agent [--config FILE]      keys server, token | token-file, node-name, node-ip; registers the
#                                  node with the server's API; stays in the foreground
#   k3s kubectl ARGS...            kubectl with KUBECONFIG=/etc/rancher/k3s/k3s.yaml (if a kubectl exists)
#   k3s-standin.sh render --version V --out FILE [--repo R]
#                                  writes a copy with the two variables set, mode 0755
#
# Flags may also be given on the command line (--node-name X or --node-name=X, --tls-san repeatable);
# they are added to / override the config file. Exit codes: 0 ok (also after SIGTERM/SIGINT),
# 1 failure (reason on stderr), 2 usage (unknown subcommand or flag).
set -euo pipefail

ca4_k8s_bin=${CA4_K8S_BIN:-${CA4_CACHE:-$HOME/.cache/ca4}/k8s-v1.34.4/bin}
server_dir=/var/lib/rancher/k3s/server
standin_dir=$server_dir/standin       # control-plane.sh's data dir: PKI, etcd, logs (kept across restarts)
agent_dir=/var/lib/rancher/k3s/agent
default_config=/etc/rancher/k3s/config.yaml

# K3s logs in logrus' text format; so does the stand-in (to stderr, which the product sends to a file).
log() { printf 'time="%s" level=%s msg="%s"\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$1" "${*:2}" >&2; }
die() { log fatal "$*"; exit 1; }
usage_error() { printf 'k3s: %s\n' "$*" >&2; printf 'usage: k3s --version | server [--config FILE] | agent [--config FILE] | kubectl ARGS...\n' >&2; exit 2; }

repo() {
  local r=$STANDIN_REPO
  [[ -n $r ]] || r=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
  [[ -f $r/tests/testbed/control-plane.sh ]] || die "stand-in: no tests/testbed/control-plane.sh under STANDIN_REPO='$r' (render the script with --repo)"
  printf '%s' "$r"
}

# ---- config: flat YAML (key: value, key: [a, b], key: + "- a" lines), then command-line flags ------
declare -A cfg=()
unquote() {
  local v=$1
  if [[ $v =~ ^\"(.*)\"$ ]]; then v=${BASH_REMATCH[1]}; v=${v//\\\"/\"}; v=${v//\\\\/\\}
  elif [[ $v =~ ^\'(.*)\'$ ]]; then v=${BASH_REMATCH[1]}; v=${v//\'\'/\'}; fi
  printf '%s' "$v"
}
trim() { local v=$1; v=${v#"${v%%[![:space:]]*}"}; v=${v%"${v##*[![:space:]]}"}; printf '%s' "$v"; }
strip_comment() {  # drops " # ..." outside quotes
  local s=$1 out="" c q="" i prev=" "
  for ((i = 0; i < ${#s}; i++)); do
    c=${s:i:1}
    if [[ -n $q ]]; then [[ $c == "$q" ]] && q=""
    elif [[ $c == '"' || $c == "'" ]]; then q=$c
    elif [[ $c == '#' && $prev == [[:space:]] ]]; then break; fi
    out+=$c; prev=$c
  done
  printf '%s' "$out"
}
cfg_add() {  # cfg_add KEY VALUE: appends to a list value (newline-separated)
  if [[ -n ${cfg[$1]:-} ]]; then cfg[$1]+=$'\n'"$2"; else cfg[$1]=$2; fi
}
parse_config() {  # parse_config FILE
  local f=$1 line n=0 key val list_key="" item
  while IFS= read -r line || [[ -n $line ]]; do
    n=$((n + 1)); line=${line%$'\r'}
    line=$(strip_comment "$line")
    [[ $line =~ ^[[:space:]]*$ || $line == ---* ]] && continue
    if [[ $line =~ ^[[:space:]]*-[[:space:]]*(.*)$ ]]; then
      [[ -n $list_key ]] || die "$f:$n: a list item without a key: $line"
      cfg_add "$list_key" "$(unquote "$(trim "${BASH_REMATCH[1]}")")"
      continue
    fi
    [[ $line =~ ^([A-Za-z0-9_.-]+)\+?[[:space:]]*:([[:space:]]+(.*))?$ ]] || die "$f:$n: not a 'key: value' line: $line"
    key=${BASH_REMATCH[1]}; val=$(trim "${BASH_REMATCH[3]}"); list_key=""
    unset "cfg[$key]"
    if [[ -z $val ]]; then list_key=$key
    elif [[ $val =~ ^\[(.*)\]$ ]]; then
      local items; IFS=, read -ra items <<<"${BASH_REMATCH[1]}"
      for item in "${items[@]}"; do item=$(trim "$item"); [[ -z $item ]] || cfg_add "$key" "$(unquote "$item")"; done
    else cfg[$key]=$(unquote "$val"); fi
  done <"$f"
}
# parse_args KNOWN_KEYS -- ARGS...: --config, then the config file, then flags on top
parse_args() {
  local known=" $1 " config=$default_config explicit=0 a k v; shift 2
  local flags=()
  while [[ $# -gt 0 ]]; do
    a=$1; shift
    case $a in
      -c|--config) config=${1:?--config needs a file}; explicit=1; shift ;;
      --config=*) config=${a#--config=}; explicit=1 ;;
      --*=*) flags+=("${a%%=*}" "${a#*=}") ;;
      --*) [[ $# -gt 0 ]] || usage_error "flag $a needs a value"; flags+=("$a" "$1"); shift ;;
      *) usage_error "unexpected argument '$a'" ;;
    esac
  done
  if [[ -f $config ]]; then parse_config "$config"
  elif ((explicit)); then die "config file $config does not exist"; fi
  set -- "${flags[@]}"
  while [[ $# -gt 0 ]]; do
    k=${1#--}; v=$2; shift 2
    [[ $known == *" $k "* ]] || usage_error "flag --$k is not supported by the stand-in (supported: $(trim "$known"))"
    if [[ $k == tls-san ]]; then cfg_add "$k" "$v"; else cfg[$k]=$v; fi
  done
}

is_ipv4() { [[ $1 =~ ^([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})$ ]] && ((BASH_REMATCH[1] < 256 && BASH_REMATCH[2] < 256 && BASH_REMATCH[3] < 256 && BASH_REMATCH[4] < 256)); }
default_ip() { ip -4 -o addr show scope global 2>/dev/null | awk '{sub(/\/.*/, "", $4); print $4; exit}'; }
node_name_default() { local h; h=$(hostname 2>/dev/null || cat /proc/sys/kernel/hostname); printf '%s' "${h,,}"; }
check_node_name() { [[ $1 =~ ^[a-z0-9]([-a-z0-9.]{0,61}[a-z0-9])?$ ]] || die "node-name '$1' is not a valid node name (lower case, digits, '-', '.')"; }

# token: K10<sha256 of the CA PEM>::<user>:<secret>, or a bare secret
token_hash="" token_secret=""
parse_token() {
  if [[ $1 =~ ^K10([0-9a-f]{64})::([^:]+):(.+)$ ]]; then token_hash=${BASH_REMATCH[1]}; token_secret=${BASH_REMATCH[3]}
  elif [[ $1 == K10* ]]; then die "token '${1:0:12}...' is malformed: want K10<sha256 hex>::<user>:<secret>"
  else token_hash=""; token_secret=$1; fi
  [[ $token_secret =~ ^[A-Za-z0-9._~+/=-]+$ ]] || die "the token's secret may only use [A-Za-z0-9._~+/=-]"
}
config_token() {  # the token from token: or token-file:, or empty
  if [[ -n ${cfg[token]:-} ]]; then printf '%s' "${cfg[token]}"
  elif [[ -n ${cfg[token-file]:-} ]]; then
    [[ -r ${cfg[token-file]} ]] || die "token-file ${cfg[token-file]} cannot be read"
    trim "$(cat "${cfg[token-file]}")"
  fi
}
write_file() {  # write_file PATH MODE < content: atomically (a reader never sees half a file)
  local tmp; tmp=$(mktemp "$1.XXXXXX")
  cat >"$tmp"; chmod "$2" "$tmp"; mv -f "$tmp" "$1"
}
# a short pause that a trapped signal interrupts at once
pause() { sleep "$1" 9>&- & sleep_pid=$!; wait "$sleep_pid" 2>/dev/null || true; sleep_pid=""; }
sleep_pid=""

# ---- server ----------------------------------------------------------------------------------------
cp_script="" up_pid=""
server_stop() {  # on SIGTERM/SIGINT: stop the control plane, exit 0
  trap : TERM INT   # a second signal must not re-enter (bash mishandles that) nor cut the stop short;
  #                   not '' either: children (control-plane.sh down) would inherit an ignored TERM
  log info "Received signal, shutting down"
  [[ -z $sleep_pid ]] || kill "$sleep_pid" 2>/dev/null || true
  if [[ -n $up_pid ]]; then kill -TERM "$up_pid" 2>/dev/null || true; wait "$up_pid" 2>/dev/null || true; fi
  "$cp_script" down --data-dir "$standin_dir" 9>&- >&2 || log error "control-plane.sh down failed"
  rm -f "$standin_dir/server.pid"
  log info "k3s server stopped"
  exit 0
}
cp_alive() {  # cp_alive [NAME...]: true if any (default: all five) control-plane component is alive
  local c pid names=("$@")
  [[ ${#names[@]} -gt 0 ]] || names=(etcd kube-apiserver kube-controller-manager kube-scheduler kwok)
  for c in "${names[@]}"; do
    pid=$(cat "$standin_dir/run/$c.pid" 2>/dev/null) || continue
    pid_alive "$pid" "$standin_dir" && return 0
  done
  return 1
}

server() {
  parse_args "node-name node-ip tls-san https-listen-port write-kubeconfig-mode write-kubeconfig token token-file" -- "$@"
  local r; r=$(repo); cp_script=$r/tests/testbed/control-plane.sh
  # shellcheck source=tests/testbed/proc.sh
  . "$r/tests/testbed/proc.sh"
  local node_name=${cfg[node-name]:-$(node_name_default)} node_ip=${cfg[node-ip]:-$(default_ip)}
  local port=${cfg[https-listen-port]:-6443} mode=${cfg[write-kubeconfig-mode]:-0600}
  local kubeconfig=${cfg[write-kubeconfig]:-/etc/rancher/k3s/k3s.yaml}
  check_node_name "$node_name"
  is_ipv4 "$node_ip" || die "node-ip '$node_ip' is not an IPv4 address"
  [[ $port =~ ^[0-9]+$ ]] && ((port >= 1 && port <= 65535)) || die "https-listen-port '$port' is not a port"
  [[ $mode =~ ^0?[0-7]{3}$ ]] || die "write-kubeconfig-mode '$mode' is not an octal mode like 0600"
  local sans=(127.0.0.1 localhost kubernetes kubernetes.default "$node_ip") s
  while IFS= read -r s; do [[ -z $s ]] || sans+=("$s"); done <<<"${cfg[tls-san]:-}"
  for s in "${sans[@]}"; do [[ $s =~ ^[A-Za-z0-9.*-]+$ ]] || die "tls-san '$s' is not an IP address or DNS name"; done

  mkdir -p "$standin_dir" "$(dirname "$kubeconfig")"
  # One server per node: a lock held for the server's life (fd 9, closed for what it starts; a
  # short-lived child of a killed server may hold it a moment longer, hence -w).
  exec 9>"$standin_dir/server.lock"
  if ! flock -w 3 9; then
    local other; other=$(cat "$standin_dir/server.pid" 2>/dev/null || true)
    [[ -n $other && -d /proc/$other ]] || other="?"
    die "another k3s server is already running on this node (pid $other; lock $standin_dir/server.lock); stop it first"
  fi
  echo $$ >"$standin_dir/server.pid"
  trap server_stop TERM INT

  log info "Starting k3s $STANDIN_VERSION (ca4standin)"
  # The secret: the config's token, else the one this server was first started with, else new.
  local want stored="" secret
  want=$(config_token)
  if [[ -f $server_dir/token ]]; then parse_token "$(trim "$(cat "$server_dir/token")")"; stored=$token_secret; fi
  if [[ -n $want ]]; then
    parse_token "$want"; secret=$token_secret
    [[ -z $stored || $stored == "$secret" ]] || die "the token in the config differs from the one this server was started with ($server_dir/token); K3s refuses a changed token as well"
  elif [[ -n $stored ]]; then secret=$stored
  else secret=$(openssl rand -hex 16); fi

  # A control plane left by a server that was killed (no SIGTERM) is stopped first.
  if cp_alive; then
    log warning "a control plane of an earlier k3s server is still running (killed without SIGTERM?): stopping it"
    "$cp_script" down --data-dir "$standin_dir" 9>&- >&2 || true
  fi
  local busy; busy=$(ss -Hltnp "sport = :$port" 2>/dev/null || true)
  [[ -z $busy ]] || die "https-listen-port $port is already in use on this node: $(trim "$busy")"

  local args=(up --data-dir "$standin_dir" --port "$port" --etcd-port 2379 --timeout 180
              --bind-address 0.0.0.0 --advertise-address "$node_ip" --node-names "$node_name"
              --node-role control-plane --static-token "$secret" --serve-ca-chain)
  for s in "${sans[@]}"; do args+=(--san "$s"); done
  log info "Starting control plane (https://$node_ip:$port, data $standin_dir)"
  "$cp_script" "${args[@]}" 9>&- >&2 2>"$standin_dir/up.err" &
  up_pid=$!
  local rc=0; wait "$up_pid" || rc=$?
  up_pid=""
  cat "$standin_dir/up.err" >&2
  ((rc == 0)) || die "control plane failed to start: $(grep -v '^\[control-plane\] up failed' "$standin_dir/up.err" | tail -n 1) (logs: $standin_dir/logs)"

  # node-token and token (K3s: K10<sha256 of the CA PEM>::server:<secret>), then the kubeconfig
  local pki=$standin_dir/pki hash
  hash=$(sha256sum "$pki/ca.crt" | cut -d' ' -f1)
  [[ -z $want || $want != K10* ]] || { parse_token "$want"; [[ $token_hash == "$hash" ]] || log warning "the config's token names another CA (K10${token_hash:0:12}...): its secret is used"; }
  printf 'K10%s::server:%s\n' "$hash" "$secret" | write_file "$server_dir/token" 0600
  printf 'K10%s::server:%s\n' "$hash" "$secret" | write_file "$server_dir/node-token" 0600
  write_file "$kubeconfig" "$mode" <<EOF
apiVersion: v1
clusters:
- cluster:
    certificate-authority-data: $(base64 -w0 <"$pki/ca.crt")
    server: https://127.0.0.1:$port
  name: default
contexts:
- context:
    cluster: default
    user: default
  name: default
current-context: default
kind: Config
preferences: {}
users:
- name: default
  user:
    client-certificate-data: $(base64 -w0 <"$pki/admin.crt")
    client-key-data: $(base64 -w0 <"$pki/admin.key")
EOF
  log info "Wrote kubeconfig $kubeconfig"
  # the node's VERSION column says this binary's version, as after a K3s upgrade
  curl -sS --fail --max-time 10 --cacert "$pki/ca.crt" --cert "$pki/admin.crt" --key "$pki/admin.key" \
    -X PATCH -H 'Content-Type: application/merge-patch+json' \
    --data-binary "{\"status\":{\"nodeInfo\":{\"kubeletVersion\":\"$STANDIN_VERSION\"}}}" \
    "https://127.0.0.1:$port/api/v1/nodes/$node_name/status" >/dev/null || log warning "could not set the node's kubeletVersion"
  log info "k3s is up and running"

  # In the foreground like K3s; if a component dies, so does the server (as K3s would).
  local c
  while :; do
    pause 5
    for c in etcd kube-apiserver kube-controller-manager kube-scheduler kwok; do
      if ! cp_alive "$c"; then
        trap : TERM INT
        log fatal "$c exited (log: $standin_dir/logs/$c.log): stopping the control plane"
        "$cp_script" down --data-dir "$standin_dir" 9>&- >&2 || true
        rm -f "$standin_dir/server.pid"
        exit 1
      fi
    done
  done
}

# ---- agent -----------------------------------------------------------------------------------------
agent_stop() { trap : TERM INT; log info "Received signal, shutting down (node stays registered)"; [[ -z $sleep_pid ]] || kill "$sleep_pid" 2>/dev/null || true; exit 0; }
fetch_ca() {  # fetch_ca HOST PORT: the last certificate the server sends in its TLS handshake (its CA)
  local out
  out=$(timeout 10 openssl s_client -connect "$1:$2" -showcerts </dev/null 2>/dev/null) || return 1
  awk '/-----BEGIN CERTIFICATE-----/ {b = ""; in_ = 1} in_ {b = b $0 "\n"} /-----END CERTIFICATE-----/ {in_ = 0; n++; last = b}
       END {if (n >= 2) printf "%s", last; else exit 3}' <<<"$out"
}
agent_node_json() {  # NAME IP
  cat <<EOF
{"apiVersion":"v1","kind":"Node",
 "metadata":{"name":"$1","annotations":{"kwok.x-k8s.io/node":"fake","node.alpha.kubernetes.io/ttl":"0","k3s.io/internal-ip":"$2","k3s.io/hostname":"$1"},
   "labels":{"type":"kwok","kubernetes.io/hostname":"$1","kubernetes.io/os":"linux","kubernetes.io/arch":"amd64","node.kubernetes.io/instance-type":"k3s"}},
 "spec":{},
 "status":{"addresses":[{"type":"InternalIP","address":"$2"},{"type":"Hostname","address":"$1"}],
   "allocatable":{"cpu":"32","memory":"256Gi","pods":"110"},
   "capacity":{"cpu":"32","memory":"256Gi","pods":"110"},
   "nodeInfo":{"architecture":"amd64","operatingSystem":"linux","kubeletVersion":"$STANDIN_VERSION","kubeProxyVersion":"$STANDIN_VERSION"}}}
EOF
}

# agent_req METHOD PATH [BODY] -> the HTTP code (000: no answer); the body in D/standin-last-response
agent_api="" agent_token="" agent_node="" agent_ip=""
agent_req() {
  local type=application/json; [[ $1 == PATCH ]] && type=application/merge-patch+json
  curl -sS --max-time 10 --cacert "$agent_dir/server-ca.crt" -H "Authorization: Bearer $agent_token" \
    -H "Content-Type: $type" -o "$agent_dir/standin-last-response" -w '%{http_code}' \
    -X "$1" ${3:+--data-binary "$3"} "$agent_api$2" 2>/dev/null || true
}
agent_register() {  # creates the Node, or keeps it (updating its version); exits on a refused token
  local code body
  while :; do
    code=$(agent_req POST /api/v1/nodes "$(agent_node_json "$agent_node" "$agent_ip")")
    body=$(head -c 300 "$agent_dir/standin-last-response" 2>/dev/null || true)
    case $code in
      201) log info "Registered node $agent_node with $agent_api"; return ;;
      409) log info "Node $agent_node is registered already: kept"
           agent_req PATCH "/api/v1/nodes/$agent_node/status" "{\"status\":{\"nodeInfo\":{\"kubeletVersion\":\"$STANDIN_VERSION\",\"kubeProxyVersion\":\"$STANDIN_VERSION\"}}}" >/dev/null
           return ;;
      401) die "token rejected by the server $agent_api (401 Unauthorized): wrong token secret" ;;
      403) die "token not allowed to register nodes at $agent_api (403 Forbidden): $body" ;;
      000|5*) log info "Waiting to register node $agent_node: server $agent_api not ready (HTTP $code)"; pause 2 ;;
      *) die "registering node $agent_node at $agent_api failed: HTTP $code $body" ;;
    esac
  done
}

agent() {
  parse_args "server token token-file node-name node-ip" -- "$@"
  local url=${cfg[server]:-} node_name=${cfg[node-name]:-$(node_name_default)} node_ip=${cfg[node-ip]:-$(default_ip)}
  [[ -n $url ]] || die "server is required (server: https://IP:6443 in the config, or --server)"
  [[ $url =~ ^https://([A-Za-z0-9.-]+)(:([0-9]+))?/?$ ]] || die "server '$url' is not https://HOST[:PORT]"
  local host=${BASH_REMATCH[1]} port=${BASH_REMATCH[3]:-6443} api=${url%/}
  [[ -n ${BASH_REMATCH[3]} ]] || api+=":6443"
  local token; token=$(config_token)
  [[ -n $token ]] || die "token is required (token: or token-file: in the config)"
  parse_token "$token"
  check_node_name "$node_name"
  is_ipv4 "$node_ip" || die "node-ip '$node_ip' is not an IPv4 address"
  mkdir -p "$agent_dir"
  exec 9>"$agent_dir/standin-agent.lock"
  flock -w 3 9 || die "another k3s agent is already running on this node (lock $agent_dir/standin-agent.lock)"
  trap agent_stop TERM INT
  log info "Starting k3s agent $STANDIN_VERSION (ca4standin), server $api, node $node_name ($node_ip)"

  # The server's CA, checked against the token's hash as K3s does; retried while the server is away.
  local ca="" tries=0 have
  until ca=$(fetch_ca "$host" "$port"); do
    ((tries++ % 15 == 0)) && log info "Waiting to retrieve the server CA from $host:$port (server not ready)"
    pause 2
  done
  ca+=$'\n'   # $(...) dropped the PEM's last newline; the hash is over the exact PEM bytes
  have=$(printf '%s' "$ca" | sha256sum | cut -d' ' -f1)
  if [[ -n $token_hash ]]; then
    [[ $token_hash == "$have" ]] || die "token CA hash does not match the server's CA certificate hash: $token_hash != $have (wrong token or wrong server)"
  else
    log warning "the token has no CA hash (not K10...): the server's CA is trusted without a check"
  fi
  printf '%s' "$ca" | write_file "$agent_dir/server-ca.crt" 0644
  agent_api=$api agent_token=$token_secret agent_node=$node_name agent_ip=$node_ip
  agent_register

  # In the foreground like K3s: re-registers the node if it is deleted, says once when it is Ready.
  local code ready=0 away=0
  while :; do
    pause 10
    code=$(agent_req GET "/api/v1/nodes/$node_name")
    case $code in
      200) ((away == 0)) || log info "server $agent_api reachable again"; away=0
           if ((!ready)) && tr -d ' \n' <"$agent_dir/standin-last-response" | grep -q '"type":"Ready","status":"True"'; then
             ready=1; log info "Node $node_name is Ready"
           fi ;;
      404) log warning "Node $node_name was deleted: registering it again"; ready=0; agent_register ;;
      *) ((away++ == 0)) && log warning "server $api not reachable or refusing (HTTP $code): retrying" ;;
    esac
  done
}

# ---- render ----------------------------------------------------------------------------------------
render() {
  local version="" out="" r=""
  while [[ $# -gt 0 ]]; do
    case $1 in
      --version) version=${2:?}; shift 2 ;;
      --out) out=${2:?}; shift 2 ;;
      --repo) r=${2:?}; shift 2 ;;
      *) usage_error "render: unknown argument '$1'" ;;
    esac
  done
  [[ -n $version && -n $out ]] || usage_error "render needs --version V --out FILE"
  [[ $version =~ ^v[0-9]+\.[0-9]+\.[0-9]+\+k3s[0-9]+$ ]] || die "render: --version '$version' is not like v1.34.1+k3s1"
  if [[ -n $r ]]; then r=$(cd "$r" && pwd); [[ -f $r/tests/testbed/control-plane.sh ]] || die "render: $r is not the repository"
  else r=$(repo); fi
  local tmp; tmp=$(mktemp "$out.XXXXXX")
  V="STANDIN_VERSION=$version" R="STANDIN_REPO=$(printf '%q' "$r")" awk '
    /^STANDIN_VERSION=/ && !v {print ENVIRON["V"]; v = 1; next}
    /^STANDIN_REPO=/ && !r {print ENVIRON["R"]; r = 1; next}
    {print}' "${BASH_SOURCE[0]}" >"$tmp"
  chmod 0755 "$tmp"; mv -f "$tmp" "$out"
}

# Bash reads a script as it runs it: with everything in main and `main; exit` on one line, a
# running server or agent never reads this file again, so replacing /usr/local/bin/k3s in place
# (an upgrade) cannot change what a running one executes.
main() {
  local cmd=${1:-} k; [[ $# -gt 0 ]] && shift
  case $cmd in
    --version|-v|version)
      printf 'k3s version %s (ca4standin)\ngo version go1.24 (stand-in)\n' "$STANDIN_VERSION" ;;
    server) server "$@" ;;
    agent) agent "$@" ;;
    kubectl)
      k=$ca4_k8s_bin/kubectl
      [[ -x $k ]] || k=$(command -v kubectl || true)
      [[ -n $k && $k != "$(readlink -f "${BASH_SOURCE[0]}")" ]] || die "kubectl: no kubectl in $ca4_k8s_bin or on PATH"
      KUBECONFIG=${KUBECONFIG:-/etc/rancher/k3s/k3s.yaml} exec "$k" "$@" ;;
    render) render "$@" ;;
    ""|-h|--help|help) sed -n '7,25p' "${BASH_SOURCE[0]}" | cut -c3- ;;
    *) usage_error "unknown command '$cmd' (the stand-in has: --version, server, agent, kubectl, render)" ;;
  esac
}
main "$@"; exit $?
