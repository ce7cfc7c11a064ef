#!/usr/bin/env bash
# Installs K3s on the nodes of a `hosts` spec and fetches the kubeconfig — the seeds'
# bootstrap_k3s_ca4.sh, done by ca4ctl's cluster stage (libssh through the bastion; no ssh binary):
#
#   scripts/bootstrap_k3s_ca4.sh [SPEC]        SPEC defaults to $CA4_SPEC, then ./ca4.yaml
#
# What it does (idempotent; a second run changes nothing):
#   - first node: K3s server (TLS SANs include 127.0.0.1 for the tunnel and spec.cluster.tlsSans);
#     other nodes: agents joining over the private network with the server's token
#   - spec.cluster.installMode online (official installer, pinned k3sVersion) or airgap (the
#     binary from spec.cluster.airgapBinary uploaded over SFTP, checksum-checked)
#   - waits until every node is Ready, then writes spec.cluster.kubeconfig (default
#     kubeconfigs/ca4-kubeconfig, mode 0600) with server https://127.0.0.1:16443, context ca4
# Use the cluster: `ca4ctl tunnel k3s -b`, then KUBECONFIG=kubeconfigs/ca4-kubeconfig kubectl get nodes.
# Environment: CA4CTL (default: build/bin/ca4ctl, then ca4ctl on PATH).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
spec=${1:-${CA4_SPEC:-ca4.yaml}}
case $spec in -h|--help) sed -n '2,17p' "$0"; exit 0 ;; esac
ca4ctl=${CA4CTL:-}
if [[ -z $ca4ctl ]]; then
  if [[ -x $here/build/bin/ca4ctl ]]; then ca4ctl=$here/build/bin/ca4ctl
  elif command -v ca4ctl >/dev/null 2>&1; then ca4ctl=$(command -v ca4ctl)
  else echo "bootstrap_k3s_ca4.sh: ca4ctl not found: run \`make build\` first (or set CA4CTL)" >&2; exit 1
  fi
fi
[[ -f $spec ]] || { echo "bootstrap_k3s_ca4.sh: no spec at $spec (pass one, e.g. docs/ca4.hosts.yaml)" >&2; exit 1; }
exec "$ca4ctl" -f "$spec" up --stage cluster
