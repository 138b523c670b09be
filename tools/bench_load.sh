#!/usr/bin/env bash
# bench_load.sh — the command line on a shared machine: `relprop explain` of a folder of 196 inputs (the
# bundled demo model and its six digits, copied) on an idle machine and with one busy-loop process per
# core, under each OpenMP wait policy: passive (relprop's default), libgomp's own default (spin 300,000
# iterations, GOMP_SPINCOUNT=300000) and active (OMP_WAIT_POLICY=ACTIVE). Prints a Markdown table of
# median (min–max) seconds over RUNS runs (default 3). Needs no Python and no full exports.
#   bash tools/bench_load.sh [RUNS]
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
RUNS=${1:-3}
bash tools/build.sh >&2
CLI="${RELPROP_BUILD_DIR:-build}/tools/relprop"
WORK=$(mktemp -d)
BUSY=()
cleanup() {
  for pid in "${BUSY[@]}"; do kill "$pid" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT

mkdir -p "$WORK/inputs"
digits=(tools/demo/digit_*.png)
for i in $(seq 0 195); do cp "${digits[$((i % ${#digits[@]}))]}" "$WORK/inputs/d$(printf %03d "$i").png"; done
CORES=$(nproc)

# Median and range of RUNS timings of the explain, with the given environment (env -u clears relprop's
# inherited OMP_* so that only the one under test is set).
measure() {
  local times=()
  for _ in $(seq "$RUNS"); do
    local t0 t1
    t0=$(date +%s.%N)
    env -u OMP_WAIT_POLICY -u GOMP_SPINCOUNT "$@" "$CLI" explain tools/demo/digits.onnx "$WORK/inputs" \
      --no-preprocess >/dev/null
    t1=$(date +%s.%N)
    times+=("$(echo "$t1 - $t0" | bc)")
  done
  printf '%s\n' "${times[@]}" | sort -g | awk '{t[NR] = $1} END {
    m = NR % 2 ? t[(NR + 1) / 2] : (t[NR / 2] + t[NR / 2 + 1]) / 2
    printf "%.2f (%.2f–%.2f)", m, t[1], t[NR]}'
}

echo "| machine | passive (relprop's default) s | libgomp default s | active s |"
echo "|---|---|---|---|"
for load in 0 "$CORES"; do
  for _ in $(seq "$load"); do
    ( while :; do :; done ) &
    BUSY+=($!)
  done
  passive=$(measure env)
  libgomp=$(measure env GOMP_SPINCOUNT=300000)
  active=$(measure env OMP_WAIT_POLICY=ACTIVE)
  if [[ $load == 0 ]]; then what="idle"; else what="$load busy-loop processes ($CORES cores)"; fi
  echo "| $what | $passive | $libgomp | $active |"
  for pid in "${BUSY[@]}"; do kill "$pid" 2>/dev/null || true; done
  BUSY=()
done
