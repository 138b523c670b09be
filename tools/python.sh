#!/usr/bin/env bash
# python.sh — CI stage: the Python module relprop. Installs its Debian packages (tools/setup.sh), makes a fresh
# venv (/usr/bin/python3 -m venv --system-site-packages: Debian's numpy and pytest), builds and installs the module
# with `pip install --no-build-isolation --no-index .` (meson-python + pybind11 from Debian; no network), runs
# tests/python with pytest, runs README's Python example (taken from README.md, so the two cannot drift) and
# builds a wheel with `pip wheel`. Ends with "N passed, N failed, N skipped" (pytest's cases + the example +
# the wheel) and exits non-zero on any failure.
# The round-trip tests run the command line: run tools/test.sh (or tools/build.sh) first; $RELPROP_CLI
# (default $RELPROP_BUILD_DIR/tools/relprop) must exist, or those tests fail.
# The module is built as pyproject.toml builds it for users (-Dcuda=disabled): no nvcc in this stage, and on a CI
# machine without a compiler cache the library is compiled once more without CUDA (~6 CPU minutes).
# Env: RELPROP_BUILD_DIR (default build), RELPROP_PY_BUILD_DIR (meson-python's build folder, made afresh each
# run; default build-python), RELPROP_PY_SETUP_ARGS (meson options for the pip build; default -Dcuda=disabled),
# RELPROP_PY_VENV (default: a fresh one in a temporary folder).
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
BUILD=${RELPROP_BUILD_DIR:-build}
PY_BUILD=${RELPROP_PY_BUILD_DIR:-build-python}
SETUP_ARGS=${RELPROP_PY_SETUP_ARGS:--Dcuda=disabled}
export RELPROP_CLI=${RELPROP_CLI:-$ROOT/$BUILD/tools/relprop}
# As the command line does (README: Python, "Threads, the GIL, OpenMP"): OpenMP threads sleep at once instead of
# spinning, which keeps the tests fast on shared cores; a variable set by the caller wins.
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
VENV=${RELPROP_PY_VENV:-$TMP/venv}

if ! bash tools/setup.sh python3-venv python3-pip python3-pytest python3-numpy python3-onnx pybind11-dev \
       python3-pybind11 python3-mesonpy; then
  echo "0 passed, 1 failed"; exit 1
fi

passed=0; failed=0; skipped=0
step() {  # step NAME COMMAND...: one counted check
  if "${@:2}"; then passed=$((passed + 1)); echo "python.sh: $1: ok"
  else failed=$((failed + 1)); echo "python.sh: $1: FAILED"; fi
}

start=$SECONDS
/usr/bin/python3 -m venv --system-site-packages "$VENV"
PIP=("$VENV/bin/python" -m pip --disable-pip-version-check)
CONFIG=(--config-settings builddir="$PY_BUILD")
for arg in $SETUP_ARGS; do CONFIG+=(--config-settings setup-args="$arg"); done
# meson-python 0.12 reconfigures a builddir it has seen (its .mesonpy-native-file.ini names the same Python) and
# fails when that folder is gone: start both afresh.
rm -rf "$PY_BUILD" .mesonpy-native-file.ini
if ! "${PIP[@]}" install --no-build-isolation --no-index "${CONFIG[@]}" .; then
  echo "python.sh: pip install failed"; echo "0 passed, 1 failed"; exit 1
fi
echo "python.sh: pip install: $((SECONDS - start)) s"

# pytest's cases, counted from its JUnit report; run outside the source tree's api/python, on the installed module.
"$VENV/bin/python" -m pytest tests/python -q -rs -p no:cacheprovider --junitxml="$TMP/junit.xml"
if [[ -f "$TMP/junit.xml" ]]; then
  read -r p f s < <("$VENV/bin/python" - "$TMP/junit.xml" <<'PY'
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
n = {k: sum(int(s.get(k, 0)) for s in suites) for k in ("tests", "failures", "errors", "skipped")}
print(n["tests"] - n["failures"] - n["errors"] - n["skipped"], n["failures"] + n["errors"], n["skipped"])
PY
  )
  passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + s))
else
  echo "python.sh: pytest wrote no report"; failed=$((failed + 1))
fi

# README's Python example: the first ```python block after the heading "## Python".
awk '/^## Python/{in_section=1} in_section && /^```python/{code=1; next} code && /^```/{exit} code' README.md \
  > "$TMP/readme_example.py"
readme_example() {
  [[ -s "$TMP/readme_example.py" ]] || { echo "python.sh: README.md has no python block under '## Python'"; return 1; }
  "$VENV/bin/python" "$TMP/readme_example.py"
}
step "README example" readme_example

wheel() {
  "${PIP[@]}" wheel --no-build-isolation --no-index --no-deps "${CONFIG[@]}" -w "$TMP/wheels" . >/dev/null || return 1
  local whl
  whl=$(ls "$TMP"/wheels/relprop-*.whl 2>/dev/null | head -n 1)
  [[ -n "$whl" ]] || { echo "python.sh: pip wheel made no relprop-*.whl"; return 1; }
  "$VENV/bin/python" - "$whl" <<'PY'
import sys, zipfile
names = zipfile.ZipFile(sys.argv[1]).namelist()
need = ["relprop/__init__.py", "relprop/_core.pyi", "relprop/py.typed"]
missing = [n for n in need if n not in names] + ([] if any(n.startswith("relprop/_core.") and n.endswith(".so") for n in names) else ["relprop/_core*.so"])
print(f"python.sh: {sys.argv[1].rsplit('/', 1)[-1]}: {len(names)} files" + (f", missing {missing}" if missing else ""))
sys.exit(1 if missing else 0)
PY
}
step "pip wheel" wheel

echo "python.sh: $((SECONDS - start)) s"
echo "$passed passed, $failed failed, $skipped skipped"
(( failed == 0 ))
