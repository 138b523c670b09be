#!/usr/bin/env bash
# examples.sh — the embedding check CI runs: install relprop into a temporary prefix, build the
# example application (examples/) against it with meson + pkg-config and with CMake + pkg-config,
# build it once more with relprop as a meson subproject, run each build on the demo model, and check
# what they print; README's API example is compiled and run the same way. Ends with "N passed, N failed, 0 skipped" (one per build).
# Env: RELPROP_BUILD_DIR (default build) — the configured build tree to install from (built by
# tools/build.sh if needed); RELPROP_EXAMPLES_SUBPROJECT=0 skips the subproject build (a full
# rebuild of the library).
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
BUILD=${RELPROP_BUILD_DIR:-build}
WORK=$(mktemp -d /tmp/relprop-examples.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
PREFIX="$WORK/prefix"
passed=0; failed=0

need() { command -v "$1" >/dev/null 2>&1; }
if ! need cmake || ! need pkg-config; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends cmake pkg-config >/dev/null
fi

bash tools/build.sh || { echo "examples.sh: the library did not build"; echo "0 passed, 1 failed, 0 skipped"; exit 1; }
# Install into the temporary prefix: DESTDIR, then the configured prefix's tree moved there.
rm -rf "$PREFIX"
DESTDIR="$WORK/dest" meson install -C "$BUILD" --no-rebuild --quiet >"$WORK/install.log" 2>&1 || {
  cat "$WORK/install.log"; echo "examples.sh: meson install failed"; echo "0 passed, 1 failed, 0 skipped"; exit 1; }
CONF_PREFIX=$(meson introspect "$BUILD" --buildoptions | python3 -c 'import json,sys; print([o["value"] for o in json.load(sys.stdin) if o["name"]=="prefix"][0])')
mv "$WORK/dest$CONF_PREFIX" "$PREFIX"
PCDIR=$(dirname "$(find "$PREFIX" -name relprop.pc | head -n 1)")
[[ -f "$PCDIR/relprop.pc" ]] || { echo "examples.sh: no relprop.pc installed"; echo "0 passed, 1 failed, 0 skipped"; exit 1; }
# The .pc file names the configured prefix; point it at the temporary one.
sed -i "s|^prefix=.*|prefix=$PREFIX|" "$PCDIR/relprop.pc"
export PKG_CONFIG_PATH="$PCDIR"
LIBDIR=$(pkg-config --variable=libdir relprop)
echo "examples.sh: installed into $PREFIX: $(pkg-config --modversion relprop), $(pkg-config --cflags relprop)"

# check NAME BINARY: run the example on the demo model and two demo images; it must name the right digits.
check() {
  local name=$1 bin=$2 out="$WORK/out-$1"
  mkdir -p "$out"
  if [[ ! -x "$bin" ]]; then echo "examples.sh: $name: not built"; failed=$((failed + 1)); return; fi
  local log
  log=$(LD_LIBRARY_PATH="$LIBDIR" "$bin" tools/demo/digits.onnx tools/demo/digit_229_0.png tools/demo/digit_18_8.png --out "$out" 2>&1)
  echo "$log"
  if grep -q "digit_229_0.png: class 0 " <<<"$log" && grep -q "digit_18_8.png: class 8 " <<<"$log" \
     && [[ -s "$out/heatmap_0.png" && -s "$out/heatmap_1.png" ]]; then
    echo "examples.sh: $name: OK"; passed=$((passed + 1))
  else
    echo "examples.sh: $name: FAILED"; failed=$((failed + 1))
  fi
}

# 1. meson + pkg-config
cp -r examples "$WORK/meson-pc"
if meson setup "$WORK/meson-pc/build" "$WORK/meson-pc" --wrap-mode=nofallback >"$WORK/m1.log" 2>&1 &&
   meson compile -C "$WORK/meson-pc/build" >>"$WORK/m1.log" 2>&1; then :; else cat "$WORK/m1.log"; fi
check meson-pkgconfig "$WORK/meson-pc/build/explain_digits"

# 2. CMake + pkg-config
cp -r examples "$WORK/cmake"
if cmake -S "$WORK/cmake" -B "$WORK/cmake/build" -DCMAKE_BUILD_TYPE=Release >"$WORK/c.log" 2>&1 &&
   cmake --build "$WORK/cmake/build" -j 2 >>"$WORK/c.log" 2>&1; then :; else cat "$WORK/c.log"; fi
check cmake-pkgconfig "$WORK/cmake/build/explain_digits"

# 2b. README's API example (the first C++ block of "Embedding relprop"), compiled with pkg-config's flags
python3 - "$WORK/readme_example.cpp" <<'PY'
import sys
s = open("README.md").read()
a = s.index("## Embedding relprop")
b = s.index("```cpp\n", a) + 7
open(sys.argv[1], "w").write(s[b:s.index("```\n", b)])
PY
# shellcheck disable=SC2046
if g++ -std=c++20 -O1 "$WORK/readme_example.cpp" $(pkg-config --cflags --libs relprop) -o "$WORK/readme_example" \
     >"$WORK/r.log" 2>&1 &&
   (cd "$WORK" && LD_LIBRARY_PATH="$LIBDIR" ./readme_example "$ROOT/tools/demo/digits.onnx" "$ROOT/tools/demo/digits_batch.npy") \
     | tee -a "$WORK/r.log" | grep -q "^class 0, logit 8.8" && [[ -s "$WORK/relevance.npy" ]]; then
  echo "examples.sh: readme-example: OK"; passed=$((passed + 1))
else
  cat "$WORK/r.log"; echo "examples.sh: readme-example: FAILED"; failed=$((failed + 1))
fi

# 3. meson subproject (no installed relprop visible): a copy of this source tree in subprojects/
if [[ "${RELPROP_EXAMPLES_SUBPROJECT:-1}" != 0 ]]; then
  cp -r examples "$WORK/sub"
  mkdir -p "$WORK/sub/subprojects/relprop"
  git ls-files -z --cached --others --exclude-standard | grep -zv '^examples/' |
    xargs -0 cp --parents -t "$WORK/sub/subprojects/relprop"
  if env -u PKG_CONFIG_PATH meson setup "$WORK/sub/build" "$WORK/sub" -Drelprop:cuda=disabled >"$WORK/s.log" 2>&1 &&
     meson compile -C "$WORK/sub/build" >>"$WORK/s.log" 2>&1; then :; else tail -n 40 "$WORK/s.log"; fi
  grep -q "Executing subproject relprop" "$WORK/s.log" || echo "examples.sh: the subproject was not used"
  check meson-subproject "$WORK/sub/build/explain_digits"
fi

echo "$passed passed, $failed failed, 0 skipped"
(( failed == 0 ))
