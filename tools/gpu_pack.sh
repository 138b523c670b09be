#!/usr/bin/env bash
# gpu_pack.sh — put what tools/gpu_check.sh needs on a GPU machine into one folder: the command line,
# relprop-bench and relprop-cuda-tests from a CUDA build, and the non-CUDA shared libraries they load
# (oneDNN, protobuf, onnx_proto, gomp; the GPU machine brings cudart, cuBLAS and cuDNN itself).
#
#   bash tools/gpu_pack.sh [BUILD_DIR [DEST]]     (defaults: build-gpu, .gpu)
#
# BUILD_DIR must be configured with -Dcuda=enabled (e.g. RELPROP_BUILD_DIR=build-gpu
# RELPROP_MESON_OPTIONS="-Dcuda=enabled -Dgpu_archs=90" bash tools/build.sh); only the three
# programs are compiled here. Binaries are stripped (the libraries too) to keep the folder small.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
BUILD=${1:-build-gpu}
DEST=${2:-.gpu}
PROGRAMS=(tools/relprop tools/relprop-bench tests/cuda/relprop-cuda-tests)

grep -q "RELPROP_WITH_CUDA" "$BUILD/build.ninja" || {
    echo "gpu_pack.sh: $BUILD is not a CUDA build (configure it with -Dcuda=enabled)" >&2
    exit 1
}
ninja -C "$BUILD" "${PROGRAMS[@]}"
rm -rf "$DEST"
mkdir -p "$DEST/bin" "$DEST/lib"
for p in "${PROGRAMS[@]}"; do
    cp "$BUILD/$p" "$DEST/bin/"
    strip "$DEST/bin/$(basename "$p")"
done
# Every library a program loads that is neither CUDA's nor part of the C runtime every Linux has.
ldd "$DEST"/bin/* | awk '/=> \// {print $3}' | sort -u | while read -r lib; do
    case $(basename "$lib") in
        libcuda*|libcublas*|libcudnn*|libc.so*|libm.so*|libdl.so*|librt.so*|libpthread.so*|ld-linux*) ;;
        *) cp -L "$lib" "$DEST/lib/" && strip --strip-unneeded "$DEST/lib/$(basename "$lib")" ;;
    esac
done
du -sh "$DEST" "$DEST"/bin/* "$DEST"/lib/*
