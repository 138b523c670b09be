#!/usr/bin/env bash
# demo.sh — build relprop, then run the demo (forward + gradient on a built-in
# model). Arguments are passed to relprop-demo; build output goes to stderr.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
bash tools/build.sh >&2
exec "${RELPROP_BUILD_DIR:-build}/tools/relprop-demo" "$@"
