#!/usr/bin/env bash
# The controller end to end on this machine, no cluster needed: the API emulator with its kubelet (pods get
# loopback IPs), tools/fake_vllm.py serving vLLM-format metrics on those IPs, `heteroscale controller`, and
# the real kubectl applying samples/autoscaling/kpa.yaml and reading the result back.
#   tools/demo_controller.sh [path/to/heteroscale]
set -euo pipefail
bin=${1:-.build/release/heteroscale}
work=$(mktemp -d /tmp/heteroscale-demo.XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; sleep 0.3; rm -rf "$work"; }
trap cleanup EXIT
export KUBECONFIG=$work/kubeconfig

"$bin" emulator --port 0 --with-kubelet --pod-ready-delay 1 --pod-ip-prefix 127.0.10. --kubeconfig-out "$KUBECONFIG" > "$work/emulator.log" 2>&1 &
pids+=($!); disown
for _ in $(seq 100); do [ -s "$KUBECONFIG" ] && break; sleep 0.1; done
server=$(kubectl config view -o jsonpath='{.clusters[0].cluster.server}')
kubectl apply -f crds/ > /dev/null
kubectl apply -f samples/autoscaling/model-server.yaml > /dev/null
echo 12 > "$work/load"
python3 tools/fake_vllm.py "$server" llama-vllm --load-file "$work/load" > "$work/engines.log" 2>&1 &
pids+=($!); disown
"$bin" controller --metrics-bind-address 127.0.0.1:0 --health-probe-bind-address 127.0.0.1:0 > "$work/controller.log" 2>&1 &
pids+=($!); disown
kubectl apply -f samples/autoscaling/kpa.yaml

wait_for() {  # wait_for DESCRIPTION SECONDS COMMAND...
  local what=$1 seconds=$2; shift 2
  for _ in $(seq $((seconds * 5))); do "$@" && return 0; sleep 0.2; done
  echo "timed out waiting for $what"; tail -20 "$work/controller.log"; return 1
}
desired() { [ "$(kubectl get pa llama-kpa -o jsonpath='{.status.desiredScale}')" = "$1" ]; }

echo "load: 12 running requests over a target of 10 per pod"
wait_for "2 replicas" 30 desired 2
kubectl get pa llama-kpa
echo "load: 45 running requests"
echo 45 > "$work/load"
wait_for "5 replicas" 60 desired 5
kubectl get pa llama-kpa
kubectl get deploy llama-vllm
echo
kubectl describe pa llama-kpa | sed -n '/^Events:/,$p'
echo
metrics=$(sed -n 's/.*serving metrics address=\([0-9.:]*\).*/\1/p' "$work/controller.log")
curl -s "http://$metrics/metrics" | grep -E '^heteroscale_(desired|actual)_replicas|^controller_runtime_reconcile_total'
grep ' rescaled ' "$work/controller.log" | sed 's/^/controller log: /'
