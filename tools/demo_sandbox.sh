#!/usr/bin/env bash
# The sandbox end to end, scripted (docs/sandbox.md): `heteroscale sandbox` (API emulator with 2 H100 + 3 H20
# nodes, simulated vLLM engines on loopback pod IPs, the controller, all in one process), then what a user does:
# kubectl apply the P/D DeploymentGroup and its HeteroScale PodAutoscaler (samples/sandbox/), and watch the
# scenario's load ramp (1 → 8 → 1 requests/s) scale the group out to 2:4 and back to 1:2 (soft scale-in: the
# victims leave service and drain before they are deleted). About two minutes.
#   tools/demo_sandbox.sh [path/to/heteroscale]
set -euo pipefail
bin=${1:-.build/release/heteroscale}
work=$(mktemp -d /tmp/heteroscale-sandbox-demo.XXXXXX)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null || true; sleep 0.3; rm -rf "$work"; }
trap cleanup EXIT
export KUBECONFIG=$work/kubeconfig
started=$(date +%s)
elapsed() { echo "[+$(( $(date +%s) - started ))s]"; }

"$bin" sandbox --kubeconfig-out "$KUBECONFIG" > "$work/sandbox.log" 2>&1 &
pid=$!
for _ in $(seq 100); do grep -q "Next, in another shell" "$work/sandbox.log" 2>/dev/null && break; sleep 0.1; done
sed -n '/^HeteroScale sandbox/,/traffic/p' "$work/sandbox.log"
echo

wait_for() {  # wait_for DESCRIPTION SECONDS COMMAND...
  local what=$1 seconds=$2; shift 2
  for _ in $(seq $((seconds * 5))); do "$@" && return 0; sleep 0.2; done
  echo "timed out waiting for $what"; tail -20 "$work/sandbox.log"; return 1
}
dg() { kubectl get dg llama-pd -o jsonpath="$1" 2>/dev/null; }
ready_total() { [ "$(dg '{.status.readyReplicas}')" = "$1" ] && [ "$(dg '{.spec.replicas}')" = "$1" ]; }
desired() { [ "$(dg '{.spec.replicas}')" = "$1" ]; }
pods_total() { [ "$(kubectl get pods -l heteroscale.io/group=llama-pd --no-headers 2>/dev/null | wc -l)" = "$1" ]; }
show() {
  kubectl get pa,dg,pods -o wide
  echo "gate (status.roles):"
  dg '{range .status.roles[*]}  {.name}: desired {.desired}, ready {.ready}, admitted {.admitted}{"\n"}{end}'
  echo "placements:"
  dg '{range .status.placements[*]}  S2 {.domain} ({.subgroupPriority} priority): {.roles}{"\n"}{end}'
  echo "pods per node:"
  kubectl get pods -o jsonpath='{range .items[*]}{.spec.nodeName}{"\n"}{end}' | sort | uniq -c | sed 's/^ */  /'
}

echo "$ kubectl apply -f samples/sandbox/"
kubectl apply -f samples/sandbox/
echo
echo "$(elapsed) the group is placed in one S2 (prefill on H100, decode on H20); pods are Pending for the 10 s cold start"
wait_for "1 prefill + 2 decode ready" 60 ready_total 3
echo "$(elapsed) ready and admitted by the P/D gate; traffic starts (1 req/s, then a ramp to 8 req/s):"
show
echo
ip=$(kubectl get pods -l heteroscale.io/role=decode -o jsonpath='{.items[0].status.podIP}')
sleep 3
echo "$ curl -s http://$ip:8000/metrics | grep -E '^vllm:(num_requests|generation_tokens_total|kv_cache)'"
curl -s "http://$ip:8000/metrics" | grep -E '^vllm:(num_requests|generation_tokens_total|kv_cache)'
echo
wait_for "a scale-out to 6" 120 desired 6
echo "$(elapsed) decode tokens/s passed the target: the PodAutoscaler scales the whole group to 6 (2:4)"
wait_for "2 prefill + 4 decode ready" 60 ready_total 6
echo "$(elapsed) the new pods are ready after their cold start:"
show
echo
wait_for "the scale-in to 3" 150 desired 3
echo "$(elapsed) the load fell back to 1 req/s: after the scale-in cooldown the group is asked for 1:2 again;"
echo "        soft scale-in: the gate takes the victims out of service discovery first (they drain), for 10 s:"
sleep 3
kubectl get pods -o wide -L heteroscale.io/role
wait_for "3 pods" 60 pods_total 3
echo "$(elapsed) observed 10 s without an SLO breach: the scale-in completes; the pods taken out of service are the ones removed"
show
echo
echo "$ kubectl describe pa llama-pd   (events)"
kubectl describe pa llama-pd | sed -n '/^Events:/,$p'
echo
echo "sandbox log (the data plane and the controller):"
grep -E "instance (starting|in service|out of service|removed)|rescaled" "$work/sandbox.log" | sed 's/^/  /' | cut -c1-220
kill "$pid" 2>/dev/null || true
wait "$pid" 2>/dev/null || true
pid=
tail -1 "$work/sandbox.log"
