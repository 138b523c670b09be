#!/usr/bin/env bash
# shard_throughput.sh — wall time of explaining 40 demo images into one --out-dir with 1, 2 and 4
# shards running at once on this machine (plus an unsharded run), each repeated REPEATS times (median).
# The workload is tools/slurm_test.sh's (occlusion, 2x2 windows at stride 1, one input per batch:
# ~1,000 forwards of the demo CNN per input). Threads: OMP_NUM_THREADS=THREADS per process (default:
# cores / shards, at least 1), with OMP_WAIT_POLICY=PASSIVE (setting an OMP_* variable turns relprop's
# passive default off, and spinning threads are ruinous on a shared machine: see Benchmark). Prints one line per configuration. Env: RELPROP_BUILD_DIR, REPEATS (3).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
RELPROP=$ROOT/${RELPROP_BUILD_DIR:-build}/tools/relprop
REPEATS=${REPEATS:-3}
T=$(mktemp -d /tmp/relprop-throughput.XXXXXX)
trap 'rm -rf "$T"' EXIT
mkdir -p "$T/data"
digits=("$ROOT"/tools/demo/digit_*.png)
for i in $(seq 0 39); do cp "${digits[$((i % ${#digits[@]}))]}" "$T/data/img_$(printf %02d "$i").png"; done
cores=$(nproc)
run() {  # run SHARDS → seconds for all shards to finish (and merge)
  local n=$1 out=$T/out-$RANDOM$RANDOM threads start end
  threads=$(( n > 0 && cores / n > 0 ? cores / n : 1 ))
  start=$(date +%s.%N)
  if [[ $n == 0 ]]; then
    "$RELPROP" explain "$ROOT/tools/demo/digits.onnx" "$T/data" --out-dir "$out" --no-preprocess \
      --method occlusion --window 2 --stride 1 --batch-size 1 > /dev/null
  else
    for k in $(seq 0 $((n - 1))); do
      OMP_NUM_THREADS=${THREADS:-$threads} OMP_WAIT_POLICY=PASSIVE "$RELPROP" explain "$ROOT/tools/demo/digits.onnx" "$T/data" --out-dir "$out" \
        --no-preprocess --method occlusion --window 2 --stride 1 --batch-size 1 --shard "$k/$n" > /dev/null &
    done
    wait
  fi
  end=$(date +%s.%N)
  [[ -f "$out/index.csv" && $(wc -l < "$out/index.csv") -eq 41 ]] || { echo "run with $n shards left no full index" >&2; exit 1; }
  awk -v a="$start" -v b="$end" 'BEGIN { printf "%.3f\n", b - a }'
}
for n in 0 1 2 4; do
  times=$(for _ in $(seq 1 "$REPEATS"); do run "$n"; done | sort -n)
  median=$(sed -n "$(( (REPEATS + 1) / 2 ))p" <<< "$times")
  label=$([[ $n == 0 ]] && echo "unsharded" || echo "$n shard(s) at once")
  printf '%-20s median %.2f s of %s (%s)  load average %s\n' "$label" "$median" "$REPEATS" "$(tr '\n' ' ' <<< "$times")" \
    "$(cut -d' ' -f1-3 /proc/loadavg)"
done
