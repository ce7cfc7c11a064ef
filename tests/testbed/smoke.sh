#!/usr/bin/env bash
# Hand-run smoke check of a control plane started by control-plane.sh:
#   tests/testbed/smoke.sh --data-dir D --port P
# Creates Deployment default/smoke (image nginx: KWOK pulls nothing), waits until KWOK reports its
# pod Running with Ready=True and the Deployment reports readyReplicas=1, prints both, and deletes
# the Deployment. Uses curl with the admin client certificate only (no kubectl).
set -euo pipefail
dir="" port="" timeout=60
while [[ $# -gt 0 ]]; do
  case $1 in
    --data-dir) dir=${2:?}; shift 2 ;;
    --port) port=${2:?}; shift 2 ;;
    --timeout) timeout=${2:?}; shift 2 ;;
    *) echo "smoke.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
[[ -n $dir && -n $port ]] || { echo "usage: smoke.sh --data-dir D --port P" >&2; exit 2; }
pki="$dir/pki"
say() { printf '[smoke] %s\n' "$*"; }
die() { printf '[smoke] error: %s\n' "$*" >&2; exit 1; }
api() {
  curl -sS --fail-with-body --max-time 10 --cacert "$pki/ca.crt" --cert "$pki/admin.crt" \
    --key "$pki/admin.key" -X "$1" -H 'Content-Type: application/json' \
    ${3:+--data-binary "$3"} "https://127.0.0.1:$port$2"
}
py() { python3 -c "$1"; }
ns=default dep=smoke
api DELETE "/apis/apps/v1/namespaces/$ns/deployments/$dep" >/dev/null 2>&1 || true
sleep 0.5
t0=$(date +%s%3N)
api POST "/apis/apps/v1/namespaces/$ns/deployments" '{
  "apiVersion": "apps/v1", "kind": "Deployment",
  "metadata": {"name": "smoke", "labels": {"app": "smoke"}},
  "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "smoke"}},
    "template": {"metadata": {"labels": {"app": "smoke"}},
      "spec": {"containers": [{"name": "nginx", "image": "nginx:1.27",
        "ports": [{"containerPort": 80}],
        "readinessProbe": {"httpGet": {"path": "/", "port": 80}}}]}}}}' >/dev/null
say "Deployment $ns/$dep created"
deadline=$((SECONDS + timeout))
while :; do
  pods=$(api GET "/api/v1/namespaces/$ns/pods?labelSelector=app%3Dsmoke")
  summary=$(printf '%s' "$pods" | py '
import json,sys
items=json.load(sys.stdin)["items"]
for p in items:
    st=p.get("status",{})
    ready=[c["status"] for c in st.get("conditions",[]) if c["type"]=="Ready"]
    print(p["metadata"]["name"], p["spec"].get("nodeName","-"), st.get("phase"), "Ready="+(ready[0] if ready else "-"), "podIP="+str(st.get("podIP")))
')
  rr=$(api GET "/apis/apps/v1/namespaces/$ns/deployments/$dep" | py 'import json,sys; print(json.load(sys.stdin)["status"].get("readyReplicas",0))')
  if [[ $summary == *" Running Ready=True "* && $rr == 1 ]]; then break; fi
  ((SECONDS < deadline)) || die "timed out: pods: ${summary:-none}; readyReplicas=$rr"
  sleep 0.2
done
t1=$(date +%s%3N)
say "pod: $summary"
say "deployment $ns/$dep: readyReplicas=$rr ($((t1 - t0)) ms after create)"
api DELETE "/apis/apps/v1/namespaces/$ns/deployments/$dep" >/dev/null
say "ok"
