#!/usr/bin/env bash
# bench.sh — build relprop, then run relprop-bench on the full torchvision exports (made by
# `tools/make_onnx_fixtures.py --full tests/fixtures/full`; not committed). Arguments go to
# relprop-bench, e.g. `--vs-zennit --python VENV/bin/python` (zennit 0.5.1 + torch; README, "Benchmark"),
# `--models resnet18 --batches 1 --methods forward,epsilon-plus-flat --runs 9`.
# Writes bench.md and bench.json (or --markdown/--json FILE). Run it on an otherwise idle machine.
# A loaded machine: `--load 2 --omp-wait-policy libgomp` (or passive, relprop's default) runs two
# busy-loop processes during the measurement; tools/bench_load.sh does the same for the command line.
# On a GPU machine (relprop built with CUDA, the default when the toolkit is found):
#   bash tools/bench.sh --device cuda --vs-zennit --python VENV/bin/python
# runs resnet50, vgg16 and densenet121 at batch 1, 16 and 64 on the GPU, zennit on torch's CUDA device
# (VENV: a CUDA build of torch >= 2.1, torchvision, zennit 1.0.0, onnx; see tools/bench_zennit.py).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
bash tools/build.sh >&2
if [[ ! -f tests/fixtures/full/resnet18.onnx ]]; then
  echo "bench.sh: no full exports in tests/fixtures/full; make them with" >&2
  echo "  VENV/bin/python tools/make_onnx_fixtures.py --full tests/fixtures/full" >&2
  echo "(VENV: README, \"Benchmark\", says how to make the Python environment)" >&2
  exit 1
fi
exec "${RELPROP_BUILD_DIR:-build}/tools/relprop-bench" --dir tests/fixtures/full "$@"
