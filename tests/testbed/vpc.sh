#!/usr/bin/env bash
# A VPC on one machine for the remote-hosts tests: a bastion on a public network joined to this
# host, and private nodes reachable only through the bastion, each a network namespace running
# Debian's OpenSSH sshd (root, key only). Needs root, iproute2 and openssh-server.
#
#   vpc.sh up --data-dir D [--nodes N] [--prefix P] [--subnet A.B]
#       namespace P-bastion: eth0 A.B.0.10/24, veth to this host's P-pub0 A.B.0.1/24;
#                            br0 A.B.1.1/24, the private network; ip_forward=0 (no routing between them)
#       namespaces P-node-1..N (default 2): eth0 A.B.1.(10+k)/24 on br0, default route via A.B.1.1
#       sshd on port 22 in each (own ed25519 host key, own UTS namespace: `hostname` says P-<name>),
#       user key D/id_ed25519 in D/authorized_keys, D/known_hosts (bastion as A.B.0.10, nodes as
#       A.B.1.1k), D/ssh_config (Host bastion, node-k with ProxyJump bastion), D/vpc.json.
#       Asserts that this host reaches the bastion but not a node. Refuses if the namespaces
#       exist; a failed up tears down what it made. Defaults: P=ca4, A.B=10.77.
#       Each node's sshd also runs in a mount namespace of its own in which D/P-node-k/root/
#       etc-rancher, var-lib-rancher and usr-local-bin are bind-mounted over /etc/rancher,
#       /var/lib/rancher and /usr/local/bin (K3s' fixed paths; emptied at each up), so all that a
#       node's SSH session starts sees the node's files. `up` creates the mount points
#       /etc/rancher and /var/lib/rancher on this host if missing (mkdir -p, nothing written in them).
#   vpc.sh down --data-dir D [--prefix P]
#       stops the sshds and everything else in the namespaces (also what SSH sessions left running
#       under setsid), deletes the namespaces and P-pub0; idempotent, also after a partial up.
#       Keys, logs and the nodes' root/ folders stay in D.
#   vpc.sh status --data-dir D [--prefix P]
#       what is up; exit 0 if all of it, 1 if partly or not at all
#   vpc.sh sshd-stop|sshd-start|sshd-restart --data-dir D [--prefix P] [--kill-sessions] NAME
#       NAME = bastion | node-k (or P-bastion, P-node-k): stops / starts (same host key, config,
#       namespaces and node view) that one sshd; start waits until it answers and prints how long
#       it was down. Stopping keeps open SSH sessions (as `systemctl restart ssh` does) unless
#       --kill-sessions, which also ends that host's per-connection sshd processes.
#
# Environment: CA4_VPC_SSHD (default /usr/sbin/sshd).
# Two VPCs can run side by side with different --prefix and --subnet (and data dirs).
# By hand: ssh -F D/ssh_config node-1 hostname
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/proc.sh"

SSHD=${CA4_VPC_SSHD:-/usr/sbin/sshd}   # override to try another build
SSH_PORT=22

say() { printf '[vpc] %s\n' "$*"; }
die() { printf '[vpc] error: %s\n' "$*" >&2; exit 1; }
ms() { date +%s%3N; }
secs() { local d=$(( $(ms) - $1 )); printf '%d.%03d' $((d / 1000)) $((d % 1000)); }
usage() { sed -n '2,36p' "$0"; }

cmd=${1:-}; [[ $# -gt 0 ]] && shift
[[ $cmd == -h || $cmd == --help ]] && { usage; exit 0; }
dir="" nodes=2 prefix="" subnet="" name="" kill_sessions=0
while [[ $# -gt 0 ]]; do
  case $1 in
    --data-dir) dir=${2:?}; shift 2 ;;
    --nodes) nodes=${2:?}; shift 2 ;;
    --prefix) prefix=${2:?}; shift 2 ;;
    --subnet) subnet=${2:?}; shift 2 ;;
    --kill-sessions) kill_sessions=1; shift ;;
    -h|--help) usage; exit 0 ;;
    -*) usage >&2; die "unknown argument '$1'" ;;
    *) [[ -z $name && $cmd == sshd-* ]] || { usage >&2; die "unexpected argument '$1'"; }; name=$1; shift ;;
  esac
done
[[ -n $cmd ]] || { usage >&2; exit 2; }
[[ $cmd != sshd-* || -n $name ]] || die "$cmd needs NAME (bastion or node-k)"
[[ -n $dir ]] || die "--data-dir is required"
[[ $(id -u) -eq 0 ]] || die "needs root (network namespaces)"
command -v ip >/dev/null 2>&1 || die "ip not found (apt-get install iproute2)"
mkdir -p "$dir"; dir=$(cd "$dir" && pwd)
run="$dir/run"

# D/vpc.env remembers prefix and subnet from `up`, so down/status need only --data-dir.
if [[ -f $dir/vpc.env ]]; then
  saved_prefix=$(sed -n 's/^prefix=//p' "$dir/vpc.env"); saved_subnet=$(sed -n 's/^subnet=//p' "$dir/vpc.env")
  if [[ $cmd != up && -n $prefix && $prefix != "$saved_prefix" ]]; then
    die "$dir belongs to VPC '$saved_prefix', not '$prefix'"
  fi
  prefix=${prefix:-$saved_prefix}
  [[ $cmd == up ]] || { subnet=${subnet:-$saved_subnet}; nodes=$(sed -n 's/^nodes=//p' "$dir/vpc.env"); }
fi
prefix=${prefix:-ca4} subnet=${subnet:-10.77}
[[ $prefix =~ ^[a-z0-9][a-z0-9-]{0,9}$ ]] || die "--prefix: 1-10 of [a-z0-9-], got '$prefix' (P-pub0 must fit in 15 characters)"
[[ $subnet =~ ^([0-9]{1,3})\.([0-9]{1,3})$ ]] && ((BASH_REMATCH[1] <= 255 && BASH_REMATCH[2] <= 255)) \
  || die "--subnet: two octets like 10.77, got '$subnet'"
[[ $nodes =~ ^[0-9]+$ ]] && ((nodes >= 1 && nodes <= 200)) || die "--nodes: 1..200, got '$nodes'"

bastion="$prefix-bastion" hostlink="$prefix-pub0"
host_ip="$subnet.0.1" bastion_pub="$subnet.0.10" bastion_priv="$subnet.1.1"
node_ns() { printf '%s-node-%d' "$prefix" "$1"; }
node_ip() { printf '%s.1.%d' "$subnet" $((10 + $1)); }
# A node's own copies of K3s' fixed paths: D/NS/root/<dir> is bind-mounted over <path>.
node_mounts=(etc-rancher:/etc/rancher var-lib-rancher:/var/lib/rancher usr-local-bin:/usr/local/bin)

# ---- bookkeeping ------------------------------------------------------------------------------
# Our namespaces: P-bastion and P-node-<k> that exist now (whatever `up` got to).
our_namespaces() {
  ip netns list 2>/dev/null | awk '{print $1}' | grep -E "^${prefix}-(bastion|node-[0-9]+)\$" || true
}
# A pid file is trusted only while that pid's command line still names this data directory.
alive() {  # alive NS -> true if D/run/NS.pid is a live sshd of ours
  local f="$run/$1.pid"
  [[ -f $f ]] || return 1
  pid_alive "$(cat "$f")" "$dir/"
}
# ssh_answers [NS] ADDR: an SSH server sends its banner from ADDR:22 within ~1 s (from namespace
# NS, or from this host with NS=""). A bare TCP connect is not enough: a sandbox's egress proxy
# may accept connections to any off-host address.
ssh_answers() {
  local pre=(); [[ -n $1 ]] && pre=(ip netns exec "$1")
  "${pre[@]}" timeout 2 bash -c 'exec 3<>"/dev/tcp/$0/'"$SSH_PORT"'" && IFS= read -r -t 1 l <&3 && [[ $l == SSH-2.0-* ]]' "$2" 2>/dev/null
}

# running PID: not exited. A zombie counts as exited: the sshds are re-parented to pid 1 once
# `up` returns, and an init (a container's, a VM agent's) may reap them a second or more later.
running() {
  local st
  st=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null) || return 1
  [[ -n $st && ${st%% *} != Z ]]
}

# stop_pids PID...: TERM them together, KILL what still runs after 5 s
stop_pids() {
  local pid i=0 left
  for pid in "$@"; do kill -TERM "$pid" 2>/dev/null || true; done
  while :; do
    left=(); for pid in "$@"; do running "$pid" && left+=("$pid"); done
    [[ ${#left[@]} -gt 0 ]] || return 0
    ((i++ < 250)) || break
    sleep 0.02
  done
  for pid in "${left[@]}"; do kill -KILL "$pid" 2>/dev/null || true; say "pid $pid killed"; done
}
cmdline() { tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null | cut -c1-80 | sed 's/ *$//'; }

down() {
  local nss ns pid pids=() seen=() round
  mapfile -t nss < <(our_namespaces)
  # 1. the sshds we started (pid files), 2. anything else still inside our namespaces (sessions
  # forked by sshd, what those sessions started under setsid, processes a test started with
  # `ip netns exec`): a namespace with a process in it outlives `ip netns del`, and so would its
  # veths and addresses. Repeated, since a process may start another on TERM (a trap that
  # cleans up); the last round KILLs at once.
  for f in "$run"/*.pid; do
    [[ -e $f ]] || continue
    ns=$(basename "$f" .pid)
    if alive "$ns"; then pids+=("$(cat "$f")"); fi
  done
  for ((round = 1; round <= 5; round++)); do
    for ns in "${nss[@]}"; do
      for pid in $(ip netns pids "$ns" 2>/dev/null); do
        [[ " ${pids[*]} " == *" $pid "* ]] && continue
        running "$pid" || continue
        [[ " ${seen[*]} " == *" $pid "* ]] || say "stopping pid $pid in $ns: $(cmdline "$pid")"
        pids+=("$pid")
      done
    done
    [[ ${#pids[@]} -gt 0 ]] || break
    for pid in "${pids[@]}"; do [[ " ${seen[*]} " == *" $pid "* ]] || seen+=("$pid"); done
    if ((round < 5)); then stop_pids "${pids[@]}"; else
      for pid in "${pids[@]}"; do kill -KILL "$pid" 2>/dev/null || true; say "pid $pid killed"; done
    fi
    pids=()
  done
  rm -f "$run"/*.pid
  for ns in "${nss[@]}"; do ip netns del "$ns" 2>/dev/null || say "could not delete namespace $ns"; done
  # The pair of P-pub0 dies with the bastion namespace; this covers a veth left in this host.
  if ip link show "$hostlink" >/dev/null 2>&1; then ip link del "$hostlink" 2>/dev/null || true; fi
  local left; left=$(our_namespaces)
  [[ -z $left ]] || die "namespaces left: $left"
  ! ip link show "$hostlink" >/dev/null 2>&1 || die "$hostlink is still there"
  say "down: $prefix (${#nss[@]} namespace(s) deleted, ${#seen[@]} process(es) stopped; keys and logs kept in $dir)"
}

# ---- up ---------------------------------------------------------------------------------------
json_str() { local s=${1//\\/\\\\}; s=${s//\"/\\\"}; printf '"%s"' "$s"; }

sshd_config() {  # sshd_config NS ADDR...: writes D/NS/sshd_config
  local ns=$1; shift
  {
    printf '# generated by tests/testbed/vpc.sh for %s\n' "$ns"
    printf 'Port %s\nAddressFamily inet\n' "$SSH_PORT"
    printf 'ListenAddress %s\n' "$@"
    cat <<EOF
HostKey $dir/$ns/ssh_host_ed25519_key
PidFile none
AuthorizedKeysFile $dir/authorized_keys
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
AllowTcpForwarding yes
AllowStreamLocalForwarding no
X11Forwarding no
PermitTunnel no
GatewayPorts no
UseDNS no
PrintMotd no
PrintLastLog no
MaxStartups 100:30:200
MaxSessions 64
LogLevel VERBOSE
Subsystem sftp internal-sftp
EOF
  } >"$dir/$ns/sshd_config"
}

start_sshd() {  # start_sshd NS: sshd -D in NS and in a UTS namespace of its own named NS
  local ns=$1 m unshare=(unshare --uts) script='echo "$1" >/proc/sys/kernel/hostname && '
  # A node's sshd also gets a mount namespace of its own (private propagation: nothing mounted
  # there reaches this host) with the node's K3s paths bind-mounted from D/NS/root ($4);
  # everything its sessions start, under setsid or not, inherits that view.
  if [[ $ns != "$bastion" ]]; then
    unshare+=(--mount --propagation private)
    for m in "${node_mounts[@]}"; do script+="mount --bind \"\$4/${m%%:*}\" ${m#*:} && "; done
  fi
  script+='exec "$2" -D -e -f "$3"'
  # ip netns exec, unshare (no --fork) and sh all exec in place: $! is the sshd's pid.
  setsid ip netns exec "$ns" "${unshare[@]}" -- /bin/sh -c "$script" sh "$ns" "$SSHD" "$dir/$ns/sshd_config" "$dir/$ns/root" \
    >>"$dir/logs/$ns.log" 2>&1 </dev/null &
  echo $! >"$run/$ns.pid"
}

wait_sshd() {  # wait_sshd NS FROM_NS ADDR: until ADDR:22 answers from FROM_NS ("" = this host)
  local i=0
  until ssh_answers "$2" "$3"; do
    alive "$1" || { tail -n 20 "$dir/logs/$1.log" >&2; die "sshd in $1 exited (log: $dir/logs/$1.log)"; }
    ((i++ < 50)) || die "sshd in $1 does not answer at $3:$SSH_PORT after 10 s (log: $dir/logs/$1.log)"
    sleep 0.2
  done
}

sysctl_ns() {  # sysctl_ns NS KEY VALUE (ignored if the key does not exist, e.g. no IPv6)
  ip netns exec "$1" sh -c '[ ! -e "$1" ] || echo "$2" >"$1"' sh "/proc/sys/${2//.//}" "$3"
}

up() {
  [[ -x $SSHD ]] || die "$SSHD not found (apt-get install openssh-server)"
  local t
  for t in ssh-keygen unshare setsid timeout; do command -v "$t" >/dev/null 2>&1 || die "$t not found"; done

  # Refuse to touch anything that exists: another run of this VPC, or another VPC on the subnet.
  local existing; existing=$(our_namespaces | tr '\n' ' ')
  [[ -z $existing ]] || die "namespaces exist: ${existing% }; run: $0 down --data-dir $dir --prefix $prefix"
  ! ip link show "$hostlink" >/dev/null 2>&1 || die "$hostlink exists; run: $0 down --data-dir $dir --prefix $prefix"
  local f; for f in "$run"/*.pid; do
    [[ -e $f ]] && alive "$(basename "$f" .pid)" && die "an sshd of $dir is running (pid $(cat "$f")); run 'down' first"
  done
  [[ -z $(ip -4 -o addr show to "$subnet.0.0/16") ]] || die "this host already has an address in $subnet.0.0/16 (another VPC?): pick another --subnet"

  local t0; t0=$(ms)
  mkdir -p "$run" "$dir/logs"; rm -f "$run"/*.pid "$run"/*.stopped
  printf 'prefix=%s\nsubnet=%s\nnodes=%s\n' "$prefix" "$subnet" "$nodes" >"$dir/vpc.env"
  trap 'rc=$?; if [[ $rc -ne 0 ]]; then say "up failed: tearing down what it made"; down || true; fi' EXIT

  # user key (kept across up/down: tests may hold on to it)
  [[ -f $dir/id_ed25519 ]] || ssh-keygen -q -t ed25519 -N '' -C "ca4-vpc-$prefix" -f "$dir/id_ed25519"
  chmod 600 "$dir/id_ed25519"
  cp "$dir/id_ed25519.pub" "$dir/authorized_keys"

  local k ns all=("$bastion")
  for ((k = 1; k <= nodes; k++)); do all+=("$(node_ns "$k")"); done
  for ns in "${all[@]}"; do
    ip netns add "$ns"
    ip -n "$ns" link set lo up
    sysctl_ns "$ns" net.ipv4.ip_forward 0
    sysctl_ns "$ns" net.ipv6.conf.all.disable_ipv6 1      # IPv4 only: no v6 path around the rules
    sysctl_ns "$ns" net.ipv6.conf.default.disable_ipv6 1
  done

  # public network: this host <-> bastion
  ip link add "$hostlink" type veth peer name eth0 netns "$bastion"
  [[ ! -e /proc/sys/net/ipv6/conf/$hostlink ]] || echo 1 >"/proc/sys/net/ipv6/conf/$hostlink/disable_ipv6"
  ip addr add "$host_ip/24" dev "$hostlink"
  ip link set "$hostlink" up
  ip -n "$bastion" addr add "$bastion_pub/24" dev eth0
  ip -n "$bastion" link set eth0 up

  # private network: a bridge in the bastion, one veth per node
  ip -n "$bastion" link add br0 type bridge
  ip -n "$bastion" addr add "$bastion_priv/24" dev br0
  ip -n "$bastion" link set br0 up
  for ((k = 1; k <= nodes; k++)); do
    ns=$(node_ns "$k")
    ip -n "$bastion" link add "vn$k" type veth peer name eth0 netns "$ns"
    ip -n "$bastion" link set "vn$k" master br0 up
    ip -n "$ns" addr add "$(node_ip "$k")/24" dev eth0
    ip -n "$ns" link set eth0 up
    ip -n "$ns" route add default via "$bastion_priv"
  done

  # sshd everywhere, each with its own host key
  mkdir -p -m 0755 /run/sshd      # sshd's privilege-separation directory (shared by all namespaces)
  for ns in "${all[@]}"; do
    mkdir -p "$dir/$ns"
    [[ -f $dir/$ns/ssh_host_ed25519_key ]] || ssh-keygen -q -t ed25519 -N '' -C "$ns" -f "$dir/$ns/ssh_host_ed25519_key"
    : >"$dir/logs/$ns.log"
  done
  # each node starts with empty K3s paths (a new machine); this host only provides mount points
  local m; for m in "${node_mounts[@]}"; do [[ -d ${m#*:} ]] || mkdir -p "${m#*:}"; done
  for ((k = 1; k <= nodes; k++)); do
    ns=$(node_ns "$k"); rm -rf "$dir/$ns/root"
    for m in "${node_mounts[@]}"; do mkdir -p "$dir/$ns/root/${m%%:*}"; done
  done
  sshd_config "$bastion" "$bastion_pub" "$bastion_priv"
  for ((k = 1; k <= nodes; k++)); do sshd_config "$(node_ns "$k")" "$(node_ip "$k")"; done
  for ns in "${all[@]}"; do "$SSHD" -t -f "$dir/$ns/sshd_config" || die "sshd -t rejects $dir/$ns/sshd_config"; done
  for ns in "${all[@]}"; do start_sshd "$ns"; done

  # the bastion answers from this host; each node answers from the bastion
  wait_sshd "$bastion" "" "$bastion_pub"
  for ((k = 1; k <= nodes; k++)); do wait_sshd "$(node_ns "$k")" "$bastion" "$(node_ip "$k")"; done
  # ... and a node does not answer from this host: no route into the private network, and the
  # bastion does not forward.
  local route; route=$(ip -4 route get "$(node_ip 1)" 2>/dev/null | head -n 1 || true)
  [[ $route != *" dev $hostlink "* ]] || die "this host routes $(node_ip 1) into the VPC: $route"
  [[ $(ip netns exec "$bastion" cat /proc/sys/net/ipv4/ip_forward) == 0 ]] || die "$bastion forwards (ip_forward=1)"
  ! ssh_answers "" "$(node_ip 1)" || die "this host reaches $(node_ip 1):$SSH_PORT directly: the private network is not private"

  # client side: known_hosts as ca4ctl sees the hosts, an ssh_config for people, vpc.json for tests
  {
    printf '%s %s\n' "$bastion_pub" "$(cut -d' ' -f1,2 "$dir/$bastion/ssh_host_ed25519_key.pub")"
    for ((k = 1; k <= nodes; k++)); do
      printf '%s %s\n' "$(node_ip "$k")" "$(cut -d' ' -f1,2 "$dir/$(node_ns "$k")/ssh_host_ed25519_key.pub")"
    done
  } >"$dir/known_hosts"
  {
    printf '# generated by tests/testbed/vpc.sh: ssh -F %s node-1 hostname\n' "$dir/ssh_config"
    printf 'Host bastion %s\n  HostName %s\n' "$bastion" "$bastion_pub"
    for ((k = 1; k <= nodes; k++)); do
      printf 'Host node-%d %s\n  HostName %s\n  ProxyJump bastion\n' "$k" "$(node_ns "$k")" "$(node_ip "$k")"
    done
    cat <<EOF
Host *
  User root
  Port $SSH_PORT
  IdentityFile "$dir/id_ed25519"
  IdentitiesOnly yes
  UserKnownHostsFile "$dir/known_hosts"
  GlobalKnownHostsFile /dev/null
  StrictHostKeyChecking yes
  UpdateHostKeys no
  BatchMode yes
  ConnectTimeout 5
  LogLevel ERROR
EOF
  } >"$dir/ssh_config"
  write_json
  trap - EXIT

  say "up in $(secs "$t0") s: VPC $prefix ($subnet), bastion + $nodes node(s), sshd on port $SSH_PORT"
  say "  this host $hostlink $host_ip -- bastion $bastion_pub (public)"
  say "  bastion br0 $bastion_priv -- nodes $(node_ip 1)$( ((nodes > 1)) && printf '..%s' "$(node_ip "$nodes")") (private, no forwarding, no route from here)"
  say "  user key $dir/id_ed25519, known_hosts $dir/known_hosts, description $dir/vpc.json"
  say "  try: ssh -F $dir/ssh_config bastion hostname; ssh -F $dir/ssh_config node-1 'ip -4 addr'"
  say "  stop: $0 down --data-dir $dir"
}

host_json() {  # host_json NS NAME [public ip or ""] PRIVATE_IP
  local ns=$1
  printf '{"name": %s, "namespace": %s, "hostname": %s, ' "$(json_str "$2")" "$(json_str "$ns")" "$(json_str "$ns")"
  [[ -n $3 ]] && printf '"public_ip": %s, ' "$(json_str "$3")"
  printf '"private_ip": %s, "ssh_port": %d, "host_key": %s, "host_key_pub": %s, ' \
    "$(json_str "$4")" "$SSH_PORT" "$(json_str "$dir/$ns/ssh_host_ed25519_key")" \
    "$(json_str "$(cut -d' ' -f1,2 "$dir/$ns/ssh_host_ed25519_key.pub")")"
  printf '"sshd_config": %s, "sshd_pid": %d, "log": %s' \
    "$(json_str "$dir/$ns/sshd_config")" "$(cat "$run/$ns.pid" 2>/dev/null || echo 0)" "$(json_str "$dir/logs/$ns.log")"
  if [[ $ns != "$bastion" ]]; then
    local m sep=""; printf ', "root": {'
    for m in "${node_mounts[@]}"; do printf '%s%s: %s' "$sep" "$(json_str "${m#*:}")" "$(json_str "$dir/$ns/root/${m%%:*}")"; sep=", "; done
    printf '}'
  fi
  printf '}'
}

write_json() {
  local k sep=""
  {
    printf '{\n  "prefix": %s,\n  "subnet": %s,\n  "data_dir": %s,\n' "$(json_str "$prefix")" "$(json_str "$subnet")" "$(json_str "$dir")"
    printf '  "public": {"cidr": "%s.0.0/24", "host_interface": %s, "host_ip": "%s"},\n' "$subnet" "$(json_str "$hostlink")" "$host_ip"
    printf '  "private": {"cidr": "%s.1.0/24", "gateway": "%s", "bridge": "br0", "bastion_forwards": false},\n' "$subnet" "$bastion_priv"
    printf '  "ssh": {"user": "root", "port": %d, "identity_file": %s, "public_key": %s, "authorized_keys": %s, "known_hosts": %s, "config": %s},\n' \
      "$SSH_PORT" "$(json_str "$dir/id_ed25519")" "$(json_str "$dir/id_ed25519.pub")" "$(json_str "$dir/authorized_keys")" \
      "$(json_str "$dir/known_hosts")" "$(json_str "$dir/ssh_config")"
    printf '  "bastion": %s,\n  "nodes": [' "$(host_json "$bastion" bastion "$bastion_pub" "$bastion_priv")"
    for ((k = 1; k <= nodes; k++)); do
      printf '%s\n    %s' "$sep" "$(host_json "$(node_ns "$k")" "node-$k" "" "$(node_ip "$k")")"; sep=","
    done
    printf '\n  ]\n}\n'
  } >"$dir/vpc.json.tmp"
  mv "$dir/vpc.json.tmp" "$dir/vpc.json"
}

# ---- status -----------------------------------------------------------------------------------
status() {
  local nss ns ok=1 n=0 addr from
  mapfile -t nss < <(our_namespaces)
  if [[ ${#nss[@]} -eq 0 ]] && ! ip link show "$hostlink" >/dev/null 2>&1; then
    say "$prefix: down (no namespaces, no $hostlink)"; return 1
  fi
  if ip link show "$hostlink" >/dev/null 2>&1; then say "$hostlink: $(ip -4 -o addr show dev "$hostlink" | awk '{print $4}')"
  else say "$hostlink: missing"; ok=0; fi
  local want=("$bastion"); [[ -f $dir/vpc.env ]] && n=$(sed -n 's/^nodes=//p' "$dir/vpc.env")
  local k; for ((k = 1; k <= n; k++)); do want+=("$(node_ns "$k")"); done
  for ns in "${nss[@]}"; do [[ " ${want[*]} " == *" $ns "* ]] || want+=("$ns"); done
  for ns in "${want[@]}"; do
    if ! ip netns list | awk '{print $1}' | grep -qx -- "$ns"; then say "$ns: no namespace"; ok=0; continue; fi
    if [[ $ns == "$bastion" ]]; then addr=$bastion_pub from=""; else addr=$subnet.1.$((10 + ${ns##*-})) from=$bastion; fi
    local st="sshd not running"
    if alive "$ns"; then
      st="sshd pid $(cat "$run/$ns.pid")"
      if ssh_answers "$from" "$addr"; then st+=", answers at $addr:$SSH_PORT"; else st+=", NOT answering at $addr:$SSH_PORT"; ok=0; fi
    else ok=0; fi
    say "$ns: $(ip -n "$ns" -4 -o addr show | awk '$2 != "lo" {printf "%s %s  ", $2, $4}')$st"
  done
  if ((ok)); then say "$prefix: up (ssh -F $dir/ssh_config node-1 hostname)"; return 0; fi
  say "$prefix: partly up (run: $0 down --data-dir $dir)"; return 1
}

# ---- one sshd: stop / start / restart ---------------------------------------------------------
# NAME -> its namespace (bastion, node-k, or the namespace's own name)
name_ns() {
  local n=${1#"$prefix"-}
  if [[ $n == bastion ]]; then printf '%s' "$bastion"
  elif [[ $n =~ ^node-([0-9]+)$ ]] && ((BASH_REMATCH[1] >= 1 && BASH_REMATCH[1] <= nodes)); then node_ns "${BASH_REMATCH[1]}"
  else die "no host '$1' in VPC $prefix (bastion, node-1..node-$nodes)"; fi
}
sshd_stop() {  # sshd_stop NS: the listening sshd (and with --kill-sessions its connections)
  local ns=$1 pid pids=()
  ip netns list | awk '{print $1}' | grep -qx -- "$ns" || die "namespace $ns does not exist (is the VPC up?)"
  if alive "$ns"; then pids+=("$(cat "$run/$ns.pid")"); ms >"$run/$ns.stopped"   # down from here
  else say "sshd in $ns was not running"; [[ -f $run/$ns.stopped ]] || ms >"$run/$ns.stopped"; fi
  if ((kill_sessions)); then
    for pid in $(ip netns pids "$ns" 2>/dev/null); do
      [[ " ${pids[*]} " == *" $pid "* ]] && continue
      [[ $(cat "/proc/$pid/comm" 2>/dev/null) == sshd ]] && running "$pid" && pids+=("$pid")
    done
  fi
  ((${#pids[@]} == 0)) || stop_pids "${pids[@]}"
  rm -f "$run/$ns.pid"
  say "sshd in $ns stopped (${#pids[@]} process(es)$( ((kill_sessions)) && printf ', sessions included'))"
}
sshd_start() {  # sshd_start NS: as at `up`, then waits until it answers
  local ns=$1 t0 down_for=""; t0=$(ms)
  ip netns list | awk '{print $1}' | grep -qx -- "$ns" || die "namespace $ns does not exist (is the VPC up?)"
  alive "$ns" && die "sshd in $ns is running (pid $(cat "$run/$ns.pid"))"
  "$SSHD" -t -f "$dir/$ns/sshd_config" || die "sshd -t rejects $dir/$ns/sshd_config"
  start_sshd "$ns"
  if [[ $ns == "$bastion" ]]; then wait_sshd "$ns" "" "$bastion_pub"; else wait_sshd "$ns" "$bastion" "$subnet.1.$((10 + ${ns##*-}))"; fi
  if [[ -f $run/$ns.stopped ]]; then down_for=", down for $(secs "$(cat "$run/$ns.stopped")") s"; rm -f "$run/$ns.stopped"; fi
  write_json
  say "sshd in $ns started (pid $(cat "$run/$ns.pid")), answering after $(secs "$t0") s$down_for"
}

case $cmd in
  up) up ;;
  down) t0=$(ms); down; say "down took $(secs "$t0") s" ;;
  status) status ;;
  sshd-stop) ns=$(name_ns "$name"); sshd_stop "$ns" ;;
  sshd-start) ns=$(name_ns "$name"); sshd_start "$ns" ;;
  sshd-restart) ns=$(name_ns "$name"); sshd_stop "$ns"; sshd_start "$ns" ;;
  *) usage >&2; die "unknown command '$cmd'" ;;
esac
