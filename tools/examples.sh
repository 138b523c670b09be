#!/usr/bin/env bash
# examples.sh — the embedding check CI runs: install relprop into a temporary prefix; check that the
# installed headers are exactly the public ones (api/relprop/*.hpp and the generated version.hpp) and
# that each compiles with nothing but the installed include directory; build the example application
# (examples/) against the prefix with meson + pkg-config, with CMake + find_package (shared, and static
# through relprop::relprop_static), with CMake + pkg-config, and once more with relprop as a meson
# subproject; run each build on the demo model and check what it prints; check that find_package accepts
# version 0.1 and refuses 99; compile and run README's API example with pkg-config's flags.
# Ends with "N passed, N failed, 0 skipped" (one per check).
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
# ok NAME / fail NAME [WHY]: count a check and say when it ended (seconds since the script started).
ok() { echo "examples.sh: $1: OK (at ${SECONDS} s)"; passed=$((passed + 1)); }
fail() { echo "examples.sh: $1: FAILED${2:+ ($2)} (at ${SECONDS} s)"; failed=$((failed + 1)); }

# 0. The installed headers: exactly the public ones, each compiling on its own against the prefix alone
# (from an empty directory: nothing of the source tree can be found).
expected=$( (cd api/relprop && ls -- *.hpp; echo version.hpp) | sed 's|^|relprop/|' | sort)
installed=$(cd "$PREFIX/include" && find . -type f | sed 's|^\./||' | sort)
if [[ "$installed" == "$expected" ]]; then
  ok "installed-headers ($(wc -l <<<"$installed") files)"
else
  diff <(echo "$expected") <(echo "$installed") | sed 's/^/  /'
  fail installed-headers "< expected (api/relprop/*.hpp + version.hpp), > installed"
fi
mkdir -p "$WORK/headers" && header_log="$WORK/headers/log" && header_failed=()
for h in $expected; do
  printf '#include <%s>\n#include <%s>\n' "$h" "$h" >"$WORK/headers/tu.cpp"  # twice: include guards work
  (cd "$WORK/headers" && g++ -std=c++20 -Wall -Wextra -Werror -fsyntax-only -I"$PREFIX/include" tu.cpp) \
    >>"$header_log" 2>&1 || header_failed+=("$h")
done
if (( ${#header_failed[@]} == 0 )); then ok public-headers-compile
else cat "$header_log"; fail public-headers-compile "${header_failed[*]}"; fi

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
    ok "$name"
  else
    fail "$name"
  fi
}

# 1. meson + pkg-config
cp -r examples "$WORK/meson-pc"
if meson setup "$WORK/meson-pc/build" "$WORK/meson-pc" --wrap-mode=nofallback >"$WORK/m1.log" 2>&1 &&
   meson compile -C "$WORK/meson-pc/build" >>"$WORK/m1.log" 2>&1; then :; else cat "$WORK/m1.log"; fi
check meson-pkgconfig "$WORK/meson-pc/build/explain_digits"

# 2. CMake: find_package(relprop 0.1 CONFIG) with the shared and the static target, and pkg-config
# cmake_example NAME CMAKE_OPTION...: configure and build examples/ in $WORK/NAME against the prefix.
cmake_example() {
  local name=$1; shift
  cp -r examples "$WORK/$name"
  if cmake -S "$WORK/$name" -B "$WORK/$name/build" -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$PREFIX" "$@" \
       >"$WORK/$name.log" 2>&1 && cmake --build "$WORK/$name/build" -j 2 >>"$WORK/$name.log" 2>&1; then :
  else cat "$WORK/$name.log"; fi
}
cmake_example cmake-find-package
check cmake-find-package "$WORK/cmake-find-package/build/explain_digits"
cmake_example cmake-static -DRELPROP_STATIC=ON
if readelf -d "$WORK/cmake-static/build/explain_digits" 2>/dev/null | grep -q 'librelprop\.so'; then
  fail cmake-static "the executable needs librelprop.so"
else
  check cmake-static "$WORK/cmake-static/build/explain_digits"
fi
cmake_example cmake-pkgconfig -DRELPROP_PKGCONFIG=ON
check cmake-pkgconfig "$WORK/cmake-pkgconfig/build/explain_digits"

# 2a. The version file: 0.1 is accepted, 99 refused (SameMinorVersion).
mkdir -p "$WORK/version"
cat >"$WORK/version/CMakeLists.txt" <<'CMAKE'
cmake_minimum_required(VERSION 3.16)
project(relprop_version CXX)
find_package(relprop ${WANT} CONFIG REQUIRED)
message(STATUS "found relprop ${relprop_VERSION}")
CMAKE
version_check() {  # WANT EXPECT(found|refused)
  local log="$WORK/version/$1.log"
  if cmake -S "$WORK/version" -B "$WORK/version/build-$1" -DWANT="$1" -DCMAKE_PREFIX_PATH="$PREFIX" >"$log" 2>&1; then
    grep -q "found relprop $(pkg-config --modversion relprop)" "$log" && echo found || echo "found, wrong version"
  else
    grep -q "compatible with requested version \"$1\"" "$log" && echo refused || echo "failed otherwise"
  fi
}
v01=$(version_check 0.1) v99=$(version_check 99)
if [[ "$v01" == found && "$v99" == refused ]]; then ok "cmake-version (0.1 found, 99 refused)"
else cat "$WORK/version/"*.log; fail cmake-version "0.1: $v01, 99: $v99"; fi

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
  ok readme-example
else
  cat "$WORK/r.log"; fail readme-example
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
