#!/usr/bin/env bash
# fuzz.sh [SECONDS] — fuzz relprop's readers with libFuzzer (clang-14): the ONNX importer (plus a
# forward and reverse pass of every small model that imports), the .npy reader and the image
# decoder (stb_image, instrumented). Sets up build-fuzz (clang-14 with
# -fsanitize=fuzzer-no-link,address,undefined on everything, -Dfuzz=true), builds the fuzz-* targets,
# makes seed corpora in $RELPROP_FUZZ_WORK (default build-fuzz/corpus) from the committed fixtures,
# tests/fuzz/seeds and tests/fuzz/regressions, then runs each target for SECONDS (default 60), one
# process at a time. A target passes when libFuzzer finds nothing; a finding is saved as
# build-fuzz/findings/<target>/crash-* (commit it under tests/fuzz/regressions/<target>/ once fixed).
# Ends with one line "N passed, N failed, 0 skipped" (one per target).
# Env: RELPROP_FUZZ_BUILD_DIR (default build-fuzz), RELPROP_FUZZ_WORK, RELPROP_FUZZ_TARGETS
# (default "onnx npy image"), RELPROP_FUZZ_ARGS (extra libFuzzer flags), RELPROP_FUZZ_SEED and
# RELPROP_FUZZ_RUNS (a number, or per target "onnx=30000,npy=1000000"; CI sets both: with a fixed seed, a capped number of inputs, one OpenMP thread
# and the fresh seed corpus, a run tries the same inputs on every machine, so CI cannot turn red on
# a finding no one has seen; unset = a random seed and no cap, for exploring).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
SECONDS_PER_TARGET=${1:-60}
BUILD=${RELPROP_FUZZ_BUILD_DIR:-build-fuzz}
WORK=${RELPROP_FUZZ_WORK:-$BUILD/corpus}
read -r -a TARGETS <<< "${RELPROP_FUZZ_TARGETS:-onnx npy image}"
read -r -a EXTRA <<< "${RELPROP_FUZZ_ARGS:-}"
[[ -n "${RELPROP_FUZZ_SEED:-}" ]] && EXTRA+=("-seed=$RELPROP_FUZZ_SEED")
export OMP_NUM_THREADS=1  # the ONNX target runs models: one thread keeps coverage feedback repeatable
fail_all() { echo "fuzz.sh: $1"; echo "0 passed, ${#TARGETS[@]} failed, 0 skipped"; exit 1; }

# Packages: relprop's own (setup.sh) and clang-14 with libFuzzer/sanitizer runtimes, libomp for
# OpenMP under clang, llvm-14 for llvm-symbolizer (readable stack traces). Installed only if missing.
bash tools/setup.sh || fail_all "setup.sh failed"
FUZZ_PACKAGES=(clang-14 libclang-rt-14-dev libomp-14-dev llvm-14)
missing=()
for p in "${FUZZ_PACKAGES[@]}"; do
  [[ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)" == "install ok installed" ]] || missing+=("$p")
done
if (( ${#missing[@]} > 0 )); then
  echo "fuzz.sh: installing missing packages: ${missing[*]}"
  SUDO=(); (( EUID == 0 )) || SUDO=(sudo)
  "${SUDO[@]}" apt-get -o DPkg::Lock::Timeout=300 update &&
    "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 \
      install -y --no-install-recommends "${FUZZ_PACKAGES[@]}" || fail_all "apt-get failed: ${FUZZ_PACKAGES[*]}"
fi

# meson 1.0.1: the compiler comes from CXX at setup time; -fsanitize=fuzzer-no-link instruments the
# library for coverage without linking libFuzzer's main (only the fuzz-* executables add
# -fsanitize=fuzzer, in tests/fuzz/meson.build).
if [[ ! -f "$BUILD/build.ninja" ]]; then
  [[ -d "$BUILD/meson-private" ]] && rm -rf "$BUILD"
  CXX=clang++-14 CC=clang-14 meson setup "$BUILD" -Dfuzz=true -Dcuda=disabled --buildtype=debugoptimized \
    -Db_sanitize=address,undefined -Db_lundef=false \
    "-Dcpp_args=['-fsanitize=fuzzer-no-link', '-fno-sanitize-recover=all', '-Wno-pass-failed']" || fail_all "meson setup failed"
fi
meson compile -C "$BUILD" -j 2 "${TARGETS[@]/#/fuzz-}" || fail_all "build failed"

# Seed corpora: the committed fixtures, hand-made seeds and every past finding.
mkdir -p "$WORK"
for t in "${TARGETS[@]}"; do mkdir -p "$WORK/$t"; done
copy() { local dst=$1; shift; for f in "$@"; do [[ -f "$f" ]] && cp -n "$f" "$WORK/$dst/"; done; return 0; }
[[ -d "$WORK/onnx" ]] && copy onnx tests/fixtures/onnx/*.onnx tools/demo/*.onnx
[[ -d "$WORK/npy" ]] && copy npy tests/fixtures/onnx/op_*.input.npy tests/fixtures/onnx/tiny_*.input.npy \
  tests/fixtures/zennit/*.npy tools/demo/*.npy
[[ -d "$WORK/image" ]] && copy image tools/demo/*.png
for t in "${TARGETS[@]}"; do copy "$t" tests/fuzz/seeds/"$t"/* tests/fuzz/regressions/"$t"/*; done

export ASAN_OPTIONS="halt_on_error=1:abort_on_error=1:detect_leaks=1:allocator_may_return_null=0"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
command -v llvm-symbolizer-14 >/dev/null && export ASAN_SYMBOLIZER_PATH=$(command -v llvm-symbolizer-14)
passed=0; failed=0
for t in "${TARGETS[@]}"; do
  findings="$BUILD/findings/$t"
  mkdir -p "$findings"
  log="$BUILD/fuzz-$t.log"
  echo "=== fuzz.sh: fuzz-$t for ${SECONDS_PER_TARGET}s (corpus $WORK/$t, log $log)"
  rc=0
  runs=()  # this target's cap on inputs: RELPROP_FUZZ_RUNS as one number or "target=N,..."
  case "${RELPROP_FUZZ_RUNS:-}" in
    "") ;;
    *=*) n=$(tr ',' '\n' <<< "$RELPROP_FUZZ_RUNS" | sed -n "s/^$t=//p"); [[ -n "$n" ]] && runs=("-runs=$n") ;;
    *) runs=("-runs=$RELPROP_FUZZ_RUNS") ;;
  esac
  # -rss_limit_mb / -malloc_limit_mb: an input that makes the reader allocate > 2 GB is a finding
  # (limits must refuse it first); -timeout: 10 s on one input is a hang.
  "$BUILD/tests/fuzz/fuzz-$t" "$WORK/$t" -max_total_time="$SECONDS_PER_TARGET" \
    -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=2048 -max_len=1048576 -print_final_stats=1 \
    -artifact_prefix="$findings/" "${runs[@]}" "${EXTRA[@]}" > "$log" 2>&1 || rc=$?
  execs=$(grep -E '^stat::number_of_executed_units' "$log" | awk '{print $2}' | tail -n 1)
  rate=$(grep -E '^stat::average_exec_per_sec' "$log" | awk '{print $2}' | tail -n 1)
  if (( rc == 0 )); then
    passed=$((passed + 1)); echo "fuzz.sh: fuzz-$t: no findings (${execs:-?} executions, ${rate:-?}/s)"
  else
    failed=$((failed + 1)); echo "fuzz.sh: fuzz-$t: FINDING (exit $rc), input saved in $findings/; last lines:"
    tail -n 40 "$log"
  fi
done
echo "$passed passed, $failed failed, 0 skipped"
(( failed == 0 ))
