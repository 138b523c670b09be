#!/usr/bin/env bash
# build.sh — install dependencies (setup.sh), configure and compile relprop.
# Usage: bash tools/build.sh [TARGET...] — every target by default, or only the named ones (meson compile
# names, e.g. tools/relprop:executable, the command line tool: what tools/demo.sh needs).
# Env: RELPROP_BUILD_DIR (default: build), RELPROP_MESON_OPTIONS (extra
# `meson setup` options, e.g. "--buildtype=debug -Db_sanitize=address").
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
BUILD=${RELPROP_BUILD_DIR:-build}
read -r -a OPTS <<< "${RELPROP_MESON_OPTIONS:-}"

bash tools/setup.sh

if [[ ! -f "$BUILD/build.ninja" ]]; then
  # A half-configured dir (an earlier `meson setup` failed) can't be reused.
  [[ -d "$BUILD/meson-private" ]] && rm -rf "$BUILD"
  meson setup "$BUILD" "${OPTS[@]}"
elif (( ${#OPTS[@]} > 0 )); then
  meson configure "$BUILD" "${OPTS[@]}"   # apply options to an existing build dir
fi
meson compile -C "$BUILD" "$@"
