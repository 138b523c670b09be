#!/usr/bin/env bash
# test.sh — build relprop, run `meson test`, and print one closing line
#   N passed, N failed, N skipped
# summing every doctest "[doctest] test cases: ..." summary over all test
# executables (read from build/meson-logs/testlog.json). A meson test with no
# doctest summary counts as 1 passed/failed/skipped by its meson result; a
# failed/timed-out test whose doctest summary shows no failure adds 1 failed.
# Exits non-zero if anything failed, meson test failed, or nothing passed.
# Env: RELPROP_BUILD_DIR (default build), RELPROP_TEST_OPTIONS (extra
# `meson test` options, e.g. "--timeout-multiplier 3 --suite fast").
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
BUILD=${RELPROP_BUILD_DIR:-build}
read -r -a TEST_OPTS <<< "${RELPROP_TEST_OPTIONS:-}"

if ! bash tools/build.sh; then
  echo "test.sh: build failed"
  echo "0 passed, 1 failed, 0 skipped"
  exit 1
fi

LOG="$BUILD/meson-logs/testlog.json"
rm -f "$LOG"
meson_rc=0
meson test -C "$BUILD" --print-errorlogs --num-processes 2 "${TEST_OPTS[@]}" || meson_rc=$?

# One JSON object per line (one per test); stdout is a JSON string, so the
# whole output of a test sits on its line. Colour codes are stripped first.
read -r passed failed skipped < <(
  [[ -f "$LOG" ]] || { echo 0 0 0; exit 0; }
  awk '
    { line = $0; gsub(/\\u001b\[[0-9;]*m/, "", line)
      res = ""; if (match(line, /"result": "[A-Z]+"/)) res = substr(line, RSTART + 11, RLENGTH - 12)
      n = 0; p = 0; f = 0; s = 0
      re = "\\[doctest\\] test cases: *[0-9]+ \\| *[0-9]+ passed \\| *[0-9]+ failed \\|( *[0-9]+ skipped)?"
      while (match(line, re)) {      # fields: total | passed | failed | skipped
        split(substr(line, RSTART, RLENGTH), c, "|"); line = substr(line, RSTART + RLENGTH)
        n++; p += c[2]; f += c[3]; s += c[4]
      }
      ok = (res == "OK" || res == "EXPECTEDFAIL")
      if (n == 0 || res == "EXPECTEDFAIL") {
        if (ok) P++; else if (res == "SKIP") S++; else F++
      } else {
        P += p; F += f; S += s
        if (!ok && res != "SKIP" && f == 0) F++
      }
    }
    END { printf "%d %d %d\n", P, F, S }' "$LOG"
)

[[ $meson_rc -eq 0 ]] || echo "test.sh: meson test exited with status $meson_rc"
(( passed > 0 )) || echo "test.sh: no test passed (were any run?)"
echo "$passed passed, $failed failed, $skipped skipped"
(( failed == 0 && meson_rc == 0 && passed > 0 ))
