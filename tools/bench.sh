#!/usr/bin/env bash
# bench.sh — build relprop, then run relprop-bench on the full torchvision exports (made by
# `tools/make_onnx_fixtures.py --full tests/fixtures/full`; not committed). Arguments go to
# relprop-bench, e.g. `--vs-zennit --python /work/venv-fixtures/bin/python` (zennit 0.5.1 + torch),
# `--models resnet18 --batches 1 --methods forward,epsilon-plus-flat --runs 9`.
# Writes bench.md and bench.json (or --markdown/--json FILE). Run it on an otherwise idle machine.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
bash tools/build.sh >&2
if [[ ! -f tests/fixtures/full/resnet18.onnx ]]; then
  echo "bench.sh: no full exports in tests/fixtures/full; make them with" >&2
  echo "  /work/venv-fixtures/bin/python tools/make_onnx_fixtures.py --full tests/fixtures/full" >&2
  echo "(see the top of tools/make_onnx_fixtures.py for the Python set-up)" >&2
  exit 1
fi
exec "${RELPROP_BUILD_DIR:-build}/tools/relprop-bench" --dir tests/fixtures/full "$@"
