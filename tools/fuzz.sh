#!/usr/bin/env bash
# Builds HeteroScale's libFuzzer targets (Fuzz/, only with HETEROSCALE_FUZZ=1) with -sanitize=fuzzer,address and
# runs each one, seeded from the repository's own fixtures.
#   tools/fuzz.sh                 # every target for 60 s
#   tools/fuzz.sh 10              # every target for 10 s (what CI runs)
#   tools/fuzz.sh 600 FuzzYAML    # one target for 10 minutes
#   RUNS=10000000 tools/fuzz.sh 0 FuzzJSON   # a fixed number of executions instead of a time
# Crashes are written to .build-fuzz/crashes/TARGET/ and end the script with a non-zero status; each one found
# becomes a unit test (docs/fuzzing.md).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}; shift || true
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(FuzzYAML FuzzJSON FuzzPrometheus FuzzKubeconfig FuzzScenario FuzzWatch)
scratch=.build-fuzz
export HETEROSCALE_FUZZ=1 SWIFT_BACKTRACE=enable=no
flags=(-c release --scratch-path "$scratch" -Xswiftc -sanitize=fuzzer,address -Xswiftc -use-ld=lld)
for t in "${targets[@]}"; do swift build "${flags[@]}" --product "$t" 2>&1 | grep -E "error|warning: unre|Compiling|Build complete" | grep -v "^\[" || true; done
bin=$(swift build "${flags[@]}" --show-bin-path)

seed() {  # seed TARGET FILES...
  local dir="$scratch/corpus/$1"; shift
  mkdir -p "$dir"
  for f in "$@"; do [ -f "$f" ] && cp -n "$f" "$dir/$(basename "$(dirname "$f")")-$(basename "$f")" 2>/dev/null || true; done
}
seed FuzzYAML crds/*.yaml samples/*/*.yaml Tests/AutoscalingTests/Fixtures/*/*.yaml charts/heteroscale/values.yaml
seed FuzzScenario samples/simulation/*.yaml
seed FuzzKubeconfig $(grep -rl "current-context" Tests --include=*.yaml 2>/dev/null | head -20)
seed FuzzJSON charts/heteroscale/values.schema.json
mkdir -p "$scratch/corpus/FuzzJSON" "$scratch/corpus/FuzzPrometheus" "$scratch/corpus/FuzzWatch" "$scratch/corpus/FuzzKubeconfig"
printf '{"a":[1,2.5e3,-0,true,null,"\\u00e9\\n"],"b":{"c":{}}}' > "$scratch/corpus/FuzzJSON/seed-object.json"
cat > "$scratch/corpus/FuzzPrometheus/seed-vllm.txt" <<'TXT'
# HELP vllm:num_requests_running Number of requests currently running on GPU.
# TYPE vllm:num_requests_running gauge
vllm:num_requests_running{engine="0",model_name="llama"} 3.0
# TYPE vllm:generation_tokens_total counter
vllm:generation_tokens_total{engine="0",model_name="llama"} 12345 1700000000000
# TYPE vllm:inter_token_latency_seconds histogram
vllm:inter_token_latency_seconds_bucket{le="0.01"} 1
vllm:inter_token_latency_seconds_bucket{le="+Inf"} 4
vllm:inter_token_latency_seconds_sum 0.5
vllm:inter_token_latency_seconds_count 4
DCGM_FI_DEV_GPU_UTIL{gpu="0",UUID="GPU-1"} NaN
TXT
printf '{"type":"ADDED","object":{"kind":"Pod","apiVersion":"v1","metadata":{"name":"p","resourceVersion":"7"}}}\n{"type":"BOOKMARK","object":{"kind":"Pod","apiVersion":"v1","metadata":{"resourceVersion":"9","annotations":{"k8s.io/initial-events-end":"true"}}}}\n{"type":"ERROR","object":{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"Expired","code":410}}\n' > "$scratch/corpus/FuzzWatch/seed-events.jsonl"
printf 'apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: "https://127.0.0.1:6443", certificate-authority-data: "bm90IGEgY2VydA=="}}]\nusers: [{name: u, user: {token: t}}]\ncontexts: [{name: x, context: {cluster: c, user: u, namespace: n}}]\ncurrent-context: x\n' > "$scratch/corpus/FuzzKubeconfig/seed-token.yaml"

status=0
printf '%-16s %14s %10s %s\n' target executions exec/s result
for t in "${targets[@]}"; do
  mkdir -p "$scratch/crashes/$t" "$scratch/logs"
  limit=(-max_total_time="$seconds"); [ -n "${RUNS:-}" ] && limit=(-runs="$RUNS")
  log="$scratch/logs/$t.log"
  if "$bin/$t" "${limit[@]}" -rss_limit_mb=2048 -timeout=10 -max_len=65536 -print_final_stats=1 \
       -artifact_prefix="$scratch/crashes/$t/" "$scratch/corpus/$t" > "$log" 2>&1; then result=ok; else result="CRASH (see $log)"; status=1; fi
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo "?")
  rate=$(grep -o 'exec/s: [0-9]*' "$log" | tail -1 | grep -o '[0-9]*$' || echo "?")
  printf '%-16s %14s %10s %s\n' "$t" "$runs" "$rate" "$result"
done
exit $status
