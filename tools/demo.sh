#!/usr/bin/env bash
# demo.sh — README's first command: install dependencies, build, and explain the bundled model (a small
# CNN trained on scikit-learn's handwritten digits, tools/demo/) with `relprop explain`: prints each
# digit's prediction and writes one heatmap PNG per digit plus the relevance tensor to demo-output/.
# Extra arguments go to `relprop explain` (e.g. --composite epsilon-gamma-box, --overlay).
# Env: RELPROP_BUILD_DIR (default build), RELPROP_DEMO_OUT (default demo-output).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
BUILD=${RELPROP_BUILD_DIR:-build}
OUT=${RELPROP_DEMO_OUT:-demo-output}

# Only the command line tool (and the library it links): the tests build in tools/test.sh.
bash tools/build.sh tools/relprop:executable >&2
mkdir -p "$OUT"
"$BUILD/tools/relprop" explain tools/demo/digits.onnx tools/demo --no-preprocess --composite epsilon-plus \
  --heatmap "$OUT" --heatmap-scale 8 --out "$OUT/relevance.npy" "$@"
