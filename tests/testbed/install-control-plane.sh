#!/usr/bin/env bash
# Builds a real Kubernetes control plane for the tests (tests/testbed) from the Go module proxy:
#   kube-apiserver, kube-controller-manager, kube-scheduler  (k8s.io/kubernetes $K8S_VERSION)
#   etcd                                                    (go.etcd.io/etcd/server/v3 $ETCD_VERSION)
#   kwok (fake nodes/pods controller)                       (sigs.k8s.io/kwok $KWOK_VERSION)
#
#   tests/testbed/install-control-plane.sh           build what is missing
#   tests/testbed/install-control-plane.sh --force   rebuild everything
#
# Cache: ${CA4_CACHE:-$HOME/.cache/ca4}/k8s-$K8S_VERSION/bin. Idempotent: the marker file
# <cache>/k8s.installed holds the versions and is written only after a complete install, so a
# warm run only reads it. Nothing downloaded is written into the work tree.
#
# k8s.io/kubernetes cannot be built with `go install …@version`: its go.mod requires its staging
# modules (k8s.io/api, k8s.io/apiserver, …) at v0.0.0 and replaces them with ./staging/src/…,
# and replace lines of a dependency are ignored. So a temporary main module requires
# k8s.io/kubernetes and replaces each k8s.io/<x> v0.0.0 with the published k8s.io/<x> v0.<minor>.<patch>.
set -euo pipefail

K8S_VERSION=v1.34.4       # k8s.io/kubernetes; staging modules at v0.34.4
ETCD_VERSION=v3.6.16      # go.etcd.io/etcd/server/v3 (the etcd binary is its root package)
KWOK_VERSION=v0.7.0       # sigs.k8s.io/kwok (client-go v0.33, go 1.24); v0.8.0 is on client-go v0.36, go 1.26

cache=${CA4_CACHE:-$HOME/.cache/ca4}
force=0
for arg in "$@"; do
  case $arg in
    --force) force=1 ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    *) echo "install-control-plane.sh: unknown argument '$arg' (try --help)" >&2; exit 2 ;;
  esac
done

say() { printf '[install-control-plane] %s\n' "$*"; }
die() { printf '[install-control-plane] error: %s\n' "$*" >&2; exit 1; }

want="kubernetes=$K8S_VERSION etcd=$ETCD_VERSION kwok=$KWOK_VERSION"
bin="$cache/k8s-$K8S_VERSION/bin"
tools=(kube-apiserver kube-controller-manager kube-scheduler etcd kwok)

all_present() { local t; for t in "${tools[@]}"; do [[ -x "$bin/$t" ]] || return 1; done; }
if [[ $force -eq 0 && -f "$cache/k8s.installed" && "$(cat "$cache/k8s.installed")" == "$want" ]] && all_present; then
  say "control plane ($want): already installed in $bin"; exit 0
fi

go=go
command -v go >/dev/null 2>&1 || go=/usr/local/go/bin/go
command -v "$go" >/dev/null 2>&1 || die "Go toolchain not found (expected on PATH or /usr/local/go/bin)"
export GOTOOLCHAIN=local GOFLAGS=-buildvcs=false
# Builds run beside other work (a test suite): low priority, but as many packages at once as
# there are cores (-p 1 halved the speed of a cold build on an idle 2-core machine).
jobs=${CA4_GO_JOBS:-$(nproc)}
nice=(nice -n 19)
gobuild=("${nice[@]}" "$go" build -p "$jobs" -trimpath)

mkdir -p "$bin" "$cache/src"
rm -f "$cache/k8s.installed"
work="$cache/src/k8s-build"   # the temporary main modules (kept on failure for inspection)
rm -rf "$work" && mkdir -p "$work/k8s" "$work/etcd"
log="$cache/k8s-install.log"; : >"$log"
t_all=$SECONDS

# --- Kubernetes: kube-apiserver, kube-controller-manager, kube-scheduler -----------------------
staging_version="v0.${K8S_VERSION#v1.}"   # v1.34.4 -> v0.34.4
say "kubernetes $K8S_VERSION: fetching k8s.io/kubernetes' go.mod"
json=$(cd "$work" && "$go" mod download -json "k8s.io/kubernetes@$K8S_VERSION" 2>>"$log") \
  || { tail -n 20 "$log" >&2; die "'go mod download k8s.io/kubernetes@$K8S_VERSION' failed"; }
kmod=$(printf '%s\n' "$json" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",\{0,1\}$/\1/p')
[[ -f "$kmod" ]] || die "k8s.io/kubernetes go.mod not found in: $json"
# Every staging module is required as `k8s.io/<x> v0.0.0` (and replaced by ./staging/src/k8s.io/<x>).
mapfile -t staging < <(sed -n 's/^[[:space:]]*\(k8s\.io\/[A-Za-z0-9._-]*\) v0\.0\.0[[:space:]]*\(\/\/.*\)\{0,1\}$/\1/p' "$kmod" | sort -u)
[[ ${#staging[@]} -gt 10 ]] || die "found only ${#staging[@]} staging modules in $kmod"
{
  printf 'module ca4.local/k8s-build\n\ngo 1.24.0\n\ngodebug default=go1.24\n\n'
  printf 'require k8s.io/kubernetes %s\n\n' "$K8S_VERSION"
  for m in "${staging[@]}"; do printf 'replace %s => %s %s\n' "$m" "$m" "$staging_version"; done
} >"$work/k8s/go.mod"
say "kubernetes $K8S_VERSION: ${#staging[@]} staging modules replaced by $staging_version (go.mod in $work/k8s)"

# Version stamps as hack/lib/version.sh sets them (the binaries report them on /version).
vpkgs=(k8s.io/component-base/version k8s.io/client-go/pkg/version)
ldflags="-s -w"
minor=${K8S_VERSION#v1.}; minor=${minor%%.*}
for p in "${vpkgs[@]}"; do
  ldflags+=" -X $p.gitVersion=$K8S_VERSION -X $p.gitMajor=1 -X $p.gitMinor=$minor"
  ldflags+=" -X $p.gitTreeState=clean -X $p.buildDate=1970-01-01T00:00:00Z"
done

t0=$SECONDS
say "kubernetes $K8S_VERSION: resolving modules (go mod download)"
# `go get pkg@version` (each with the version: a bare package path means @upgrade, the newest
# k8s.io/kubernetes) writes the requires and go.sum; timed apart from the compile.
(cd "$work/k8s" && "${nice[@]}" "$go" get "k8s.io/kubernetes/cmd/kube-apiserver@$K8S_VERSION" \
   "k8s.io/kubernetes/cmd/kube-controller-manager@$K8S_VERSION" \
   "k8s.io/kubernetes/cmd/kube-scheduler@$K8S_VERSION") >>"$log" 2>&1 \
  || { tail -n 30 "$log" >&2; die "kubernetes: 'go get' in $work/k8s failed (full log: $log)"; }
say "kubernetes $K8S_VERSION: modules resolved in $((SECONDS - t0)) s"
t0=$SECONDS
say "kubernetes $K8S_VERSION: go build kube-apiserver kube-controller-manager kube-scheduler (cold: tens of minutes on 2 cores, niced)"
(cd "$work/k8s" && "${gobuild[@]}" -ldflags "$ldflags" -o "$bin/" \
   k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager \
   k8s.io/kubernetes/cmd/kube-scheduler) >>"$log" 2>&1 \
  || { tail -n 30 "$log" >&2; die "kubernetes: go build failed (full log: $log)"; }
say "kubernetes $K8S_VERSION: built in $((SECONDS - t0)) s"

# --- etcd ----------------------------------------------------------------------------------------
# server/v3's own go.mod replaces its etcd siblings with ../api etc.; as a dependency those
# replaces are ignored and its requires of the same tagged versions are used instead.
t0=$SECONDS
printf 'module ca4.local/etcd-build\n\ngo 1.24.0\n\nrequire go.etcd.io/etcd/server/v3 %s\n' "$ETCD_VERSION" >"$work/etcd/go.mod"
say "etcd $ETCD_VERSION: go build go.etcd.io/etcd/server/v3"
(cd "$work/etcd" && "${nice[@]}" "$go" get "go.etcd.io/etcd/server/v3@$ETCD_VERSION" \
   && "${gobuild[@]}" -ldflags "-s -w" -o "$bin/etcd" go.etcd.io/etcd/server/v3) >>"$log" 2>&1 \
  || { tail -n 30 "$log" >&2; die "etcd: build failed (full log: $log)"; }
say "etcd $ETCD_VERSION: built in $((SECONDS - t0)) s"

# --- kwok ----------------------------------------------------------------------------------------
# sigs.k8s.io/kwok has no replace directives: `go install pkg@version` works.
t0=$SECONDS
say "kwok $KWOK_VERSION: go install sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION"
(cd "$work" && GOBIN="$bin" "${nice[@]}" "$go" install -p "$jobs" -trimpath -ldflags "-s -w" \
   "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION") >>"$log" 2>&1 \
  || { tail -n 30 "$log" >&2; die "kwok: go install failed (full log: $log)"; }
say "kwok $KWOK_VERSION: built in $((SECONDS - t0)) s"

# --- check and mark ------------------------------------------------------------------------------
"$bin/kube-apiserver" --version >>"$log" 2>&1 || die "$bin/kube-apiserver --version fails"
"$bin/etcd" --version >>"$log" 2>&1 || die "$bin/etcd --version fails"
"$bin/kwok" --help >/dev/null 2>&1 || die "$bin/kwok --help fails"
for t in "${tools[@]}"; do
  say "  $t: $(du -h "$bin/$t" | cut -f1) ($(stat -c %s "$bin/$t") bytes)"
done
rm -rf "$work"
printf '%s' "$want" >"$cache/k8s.installed"
say "control plane ($want): installed in $((SECONDS - t_all)) s into $bin"
