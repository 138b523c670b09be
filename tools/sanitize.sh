#!/usr/bin/env bash
# sanitize.sh — build the whole suite with AddressSanitizer + UndefinedBehaviorSanitizer (g++, debug
# build, in build-asan) and run every test; any sanitizer report fails the run. Ends with test.sh's
# closing line "N passed, N failed, N skipped".
#   ASan: halt_on_error, leak detection on (LeakSanitizer), suppressions in tools/sanitize.supp
#         (third-party leaks only, each with its reason);
#   UBSan: -fno-sanitize-recover=all, so the first report aborts the test.
# Env: RELPROP_ASAN_BUILD_DIR (default build-asan); RELPROP_TEST_OPTIONS as for test.sh.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

export RELPROP_BUILD_DIR=${RELPROP_ASAN_BUILD_DIR:-build-asan}
export RELPROP_MESON_OPTIONS="--buildtype=debug -Db_sanitize=address,undefined -Db_lundef=false -Dcuda=disabled
  -Dcpp_args=-fno-sanitize-recover=all"
export RELPROP_MESON_OPTIONS=${RELPROP_MESON_OPTIONS//$'\n'/ }
# meson test keeps these when set (its own defaults would not fail on leaks the same way).
export ASAN_OPTIONS="halt_on_error=1:abort_on_error=1:detect_leaks=1:strict_string_checks=1:check_initialization_order=1:detect_odr_violation=2:print_summary=1"
export UBSAN_OPTIONS="halt_on_error=1:abort_on_error=1:print_stacktrace=1:print_summary=1"
export LSAN_OPTIONS="suppressions=$ROOT/tools/sanitize.supp:print_suppressions=0"
# -O0 with instrumentation runs the slowest tests several times slower than the release build.
export RELPROP_TEST_OPTIONS="--timeout-multiplier 4 ${RELPROP_TEST_OPTIONS:-}"

exec bash tools/test.sh
