#!/usr/bin/env bash
# setup.sh — install relprop's Debian build dependencies (idempotent); arguments name more packages
# (e.g. tools/python.sh's).
# Does nothing if every package is already installed; otherwise runs
# apt-get update + install (through sudo when not root and sudo exists).
set -euo pipefail

PACKAGES=(meson ninja-build pkg-config g++ libdnnl-dev doctest-dev
          libprotobuf-dev protobuf-compiler libonnx-dev libstb-dev libcli11-dev "$@")

missing=()
for p in "${PACKAGES[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$p")
done
if (( ${#missing[@]} == 0 )); then
  exit 0
fi
echo "setup.sh: installing missing packages: ${missing[*]}"

SUDO=()
if (( EUID != 0 )); then
  if command -v sudo >/dev/null 2>&1; then
    SUDO=(sudo)
  else
    echo "setup.sh: error: not root and sudo is not available; install as root: ${missing[*]}" >&2
    exit 1
  fi
fi

if ! "${SUDO[@]}" apt-get -o DPkg::Lock::Timeout=300 update \
  || ! "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 \
         install -y --no-install-recommends "${PACKAGES[@]}"; then
  echo "setup.sh: error: apt-get failed to install: ${PACKAGES[*]}" >&2
  exit 1
fi
