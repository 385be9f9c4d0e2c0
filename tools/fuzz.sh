#!/usr/bin/env bash
# HeteroScale's libFuzzer targets (Fuzz/, compiled only with HETEROSCALE_FUZZ=1): builds them with
# `-sanitize=fuzzer,address` into .build-fuzz/ (the ordinary .build/ is untouched), seeds each corpus from the
# repository's fixtures and Fuzz/corpus/, and runs each target. See docs/fuzzing.md.
#   tools/fuzz.sh                          # every target for 60 s
#   tools/fuzz.sh 5                        # every target for 5 s (CI: make fuzz-ci)
#   tools/fuzz.sh 600 FuzzYAML FuzzJSON    # those targets for 10 minutes each
#   RUNS=10000000 tools/fuzz.sh 0 FuzzJSON # a number of executions instead of a time (the long run)
#   BUILD_ONLY=1 tools/fuzz.sh             # build and seed only
#   SKIP_BUILD=1 tools/fuzz.sh 60 FuzzJSON # run what .build-fuzz holds (e.g. a second run beside a first)
# Environment: JOBS (targets run at once, default 1), NICE (nice level, default 0), FUZZ_FLAGS (more libFuzzer
# flags), FUZZ_BUILD_LOCK (a lock file serialising builds on a shared machine: default /tmp/hs-build.lock).
# A crash, leak or timeout leaves its input in .build-fuzz/crashes/TARGET/ and makes the script fail; every one
# becomes a unit test (docs/fuzzing.md). The summary is also written to .build-fuzz/logs/summary.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}; shift || true
all=(FuzzYAML FuzzJSON FuzzPrometheus FuzzKubeconfig FuzzScenario FuzzWatch)
targets=("$@"); [ ${#targets[@]} -eq 0 ] && targets=("${all[@]}")
scratch=.build-fuzz
export HETEROSCALE_FUZZ=1 SWIFT_BACKTRACE=enable=no

# Build (serialised with other builds on the machine when flock is there).
lock=()
if command -v flock > /dev/null; then lock=(flock "${FUZZ_BUILD_LOCK:-/tmp/hs-build.lock}"); fi
flags=(-c release --scratch-path "$scratch" -Xswiftc -sanitize=fuzzer,address -Xswiftc -use-ld=lld)
mkdir -p "$scratch/logs"
for t in "${targets[@]}"; do
  [ -n "${SKIP_BUILD:-}" ] && break
  if ! "${lock[@]}" swift build "${flags[@]}" --product "$t" > "$scratch/logs/build.log" 2>&1; then
    grep -E "error:" "$scratch/logs/build.log" | head -20; tail -5 "$scratch/logs/build.log"; exit 1
  fi
done
bin=$(swift build "${flags[@]}" --show-bin-path)

# Seeds: fixtures of the repository (small files only; libFuzzer would cut longer ones to -max_len) and the
# hand-written seeds in Fuzz/corpus/TARGET. The working corpus .build-fuzz/corpus/TARGET grows between runs.
max_len=${MAX_LEN:-8192}
seed() {  # seed TARGET FILES...
  local dir="$scratch/seeds/$1"; shift
  for f in "$@"; do
    [ -f "$f" ] && [ "$(wc -c < "$f")" -le "$max_len" ] && cp "$f" "$dir/$(echo "$f" | tr / _)"
  done
  return 0
}
rm -rf "$scratch/seeds"
for t in "${all[@]}"; do mkdir -p "$scratch/seeds/$t"; done
seed FuzzYAML samples/*/*.yaml Tests/AutoscalingTests/Fixtures/*/*.yaml Tests/PlacementTests/Fixtures/*.yaml \
  charts/heteroscale/values.yaml charts/heteroscale/Chart.yaml
seed FuzzScenario samples/simulation/*.yaml
seed FuzzJSON charts/heteroscale/values.schema.json
# Kubeconfigs, Prometheus payloads and watch streams are inline in the tests: their seeds are Fuzz/corpus/.
dicts() {  # the dictionary files of a target, concatenated by the caller
  case $1 in
    FuzzYAML) echo yaml ;; FuzzJSON) echo json ;; FuzzPrometheus) echo prometheus ;;
    FuzzKubeconfig) echo yaml kubeconfig ;; FuzzScenario) echo yaml scenario ;; FuzzWatch) echo json watch ;;
  esac
}
[ -n "${BUILD_ONLY:-}" ] && { echo "built into $bin; seeds in $scratch/seeds"; exit 0; }

run() {  # run TARGET: one libFuzzer process, its log in .build-fuzz/logs/TARGET.log
  local t=$1 log="$scratch/logs/$1.log" dict="$scratch/logs/$1.dict" limit
  mkdir -p "$scratch/crashes/$t" "$scratch/corpus/$t"
  : > "$dict"; for d in $(dicts "$t"); do cat "Fuzz/dict/$d.dict" >> "$dict"; done
  if [ -n "${RUNS:-}" ]; then limit=(-runs="$RUNS"); else limit=(-max_total_time="$seconds"); fi
  local start=$SECONDS
  # shellcheck disable=SC2086
  nice -n "${NICE:-0}" "$bin/$t" "${limit[@]}" -timeout=10 -rss_limit_mb=2048 -max_len="$max_len" -print_final_stats=1 \
    -dict="$dict" -artifact_prefix="$scratch/crashes/$t/" ${FUZZ_FLAGS:-} \
    "$scratch/corpus/$t" "Fuzz/corpus/$t" "$scratch/seeds/$t" > "$log" 2>&1
  echo "$? $((SECONDS - start))" > "$log.status"
}
running=0
for t in "${targets[@]}"; do
  run "$t" &
  running=$((running + 1))
  if [ "$running" -ge "${JOBS:-1}" ]; then wait -n || true; running=$((running - 1)); fi
done
wait

status=0
summary="$scratch/logs/summary.txt"
printf '%-16s %12s %8s %8s %8s %8s  %s\n' target executions exec/s seconds rss_mb corpus result | tee "$summary"
for t in "${targets[@]}"; do
  log="$scratch/logs/$t.log"
  read -r rc secs < "$log.status"
  field() { grep -o "stat::$1: *[0-9]*" "$log" | grep -o '[0-9]*$' || echo "?"; }
  result=ok
  if [ "$rc" != 0 ]; then
    status=1
    result="FAILED (exit $rc): $(grep -m1 -oE 'ERROR: [A-Za-z]+: [^ ]+|ERROR: libFuzzer: [a-z-]+|Fatal error: .*' "$log" || echo "see $log") → $(ls -t "$scratch/crashes/$t" | head -1)"
  fi
  printf '%-16s %12s %8s %8s %8s %8s  %s\n' "$t" "$(field number_of_executed_units)" "$(field average_exec_per_sec)" \
    "$secs" "$(field peak_rss_mb)" "$(find "$scratch/corpus/$t" -type f | wc -l)" "$result" | tee -a "$summary"
done
exit $status
