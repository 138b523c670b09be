#!/usr/bin/env bash
# gpu_check.sh — the whole GPU check in one command, for a machine with an NVIDIA GPU and a time limit
# (README "CUDA"): versions, relprop-cuda-tests, the CLI on the GPU against the CPU (demo and every ONNX
# fixture), then relprop-bench --device cuda --vs-zennit on resnet50, vgg16 and densenet121.
#
#   bash tools/gpu_check.sh [BIN_DIR [OUT_DIR]]
#
# BIN_DIR (default .gpu) holds bin/relprop, bin/relprop-bench, bin/relprop-cuda-tests and lib/ with the
# non-CUDA shared libraries they need (oneDNN, protobuf, onnx_proto, gomp), built elsewhere with
# `-Dcuda=enabled` (tools/gpu_pack.sh makes it). The CUDA libraries (cudart, cuBLAS, cuDNN 9) are looked
# up on this machine: /usr/local/cuda and the nvidia-* wheels of its Python. python3 needs torch (CUDA),
# torchvision, onnx, onnxruntime and zennit 1.0 (PYTHONPATH may point at an unpacked wheel).
# Env: RELPROP_GPU_RUNS (timed runs per bench configuration, default 5), RELPROP_GPU_BATCHES (default
# 1,16,64), RELPROP_GPU_MODELS (default resnet50,vgg16,densenet121), RELPROP_GPU_SKIP (steps to skip:
# tests,cli,bench,algos). Every step has a time limit and the later steps run when an earlier one fails.
# Writes OUT_DIR/gpu_check.log (everything), bench.md, bench.json; prints a summary last.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
G=$(realpath "${1:-.gpu}")
O=$(realpath -m "${2:-gpu-out}")
mkdir -p "$O"
W=$(mktemp -d)
LOG=$O/gpu_check.log
SKIP=${RELPROP_GPU_SKIP:-}
exec > >(tee -a "$LOG") 2>&1
SUMMARY=()
step() {  # step NAME SECONDS COMMAND...: run with a limit, record rc and time
    local name=$1 limit=$2 t0 rc
    shift 2
    echo "=== $name (limit ${limit}s)"
    t0=$(date +%s%N)
    timeout --kill-after=5 "$limit" "$@"
    rc=$?
    SUMMARY+=("$(printf '%-14s rc=%-3s %6.1f s' "$name" "$rc" "$(( ($(date +%s%N) - t0) / 1000000 ))e-3")")
    echo "=== $name: rc=$rc"
}

# The CUDA libraries: /usr/local/cuda first, then the Python wheels' copies. Only relprop's binaries get
# this LD_LIBRARY_PATH; Python (zennit's worker) runs with its own.
libdirs=("$G/lib")
for d in /usr/local/cuda/lib64 /usr/local/cuda/targets/x86_64-linux/lib; do [[ -d $d ]] && libdirs+=("$d"); done
site=$(python3 -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])' 2>/dev/null || true)
for lib in libcudart.so.13 libcublas.so.13 libcublasLt.so.13 libcudnn.so.9; do
    found=$(find "${libdirs[@]:1}" ${site:+"$site"/nvidia} -name "$lib" 2>/dev/null | head -n 1)
    [[ -n $found ]] && libdirs+=("$(dirname "$found")")
done
RELPROP_LD=$(printf '%s\n' "${libdirs[@]}" | awk '!seen[$0]++' | paste -sd:)
rp() { LD_LIBRARY_PATH=$RELPROP_LD "$@"; }
cat > "$W/python" <<EOF
#!/bin/sh
exec env -u LD_LIBRARY_PATH python3 "\$@"
EOF
chmod +x "$W/python"

step versions 60 bash -c '
    nvidia-smi; nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv
    (command -v nvcc && nvcc --version | tail -n 2) || echo "nvcc: not on PATH"
    python3 -c "import torch, torchvision, onnx, onnxruntime, zennit; print(\"torch\", torch.__version__, \"cuda\", torch.version.cuda, \"cudnn\", torch.backends.cudnn.version(), \"torchvision\", torchvision.__version__, \"onnx\", onnx.__version__, \"onnxruntime\", onnxruntime.__version__, \"zennit\", getattr(zennit, \"__version__\", \"?\"), \"gpu\", torch.cuda.get_device_name(0))"
    nproc; free -g | head -n 2' 
echo "relprop LD_LIBRARY_PATH=$RELPROP_LD"
rp ldd "$G/bin/relprop-cuda-tests" | grep -E "cud|cublas|dnnl|protobuf|onnx|gomp|not found"

# The full torchvision exports, made here (same seeds as tools/make_onnx_fixtures.py --full), in the
# background while the tests run.
models=${RELPROP_GPU_MODELS:-resnet50,vgg16,densenet121}
(env -u LD_LIBRARY_PATH python3 tools/make_onnx_fixtures.py --full "$W/full" --full-models "$models" \
    > "$W/export.log" 2>&1; echo "export rc=$?" >> "$W/export.log") &
export_pid=$!

if [[ $SKIP != *tests* ]]; then
    # The tests find the fixtures through the path compiled in; point it here.
    step cuda-tests 240 env RELPROP_FIXTURES_DIR="$PWD/tests/fixtures" LD_LIBRARY_PATH="$RELPROP_LD" \
        "$G/bin/relprop-cuda-tests" --duration=true
    # The same with the algorithms chosen by timing (RELPROP_CUDNN_SEARCH=timed).
    step cuda-tests-timed 120 env RELPROP_CUDNN_SEARCH=timed RELPROP_FIXTURES_DIR="$PWD/tests/fixtures" \
        LD_LIBRARY_PATH="$RELPROP_LD" "$G/bin/relprop-cuda-tests"
    # And with Winograd and FFT allowed (RELPROP_CUDNN_ALGOS=all): their accuracy against the CPU decides
    # whether they may become the default (README "CUDA", the vgg16 speed gap).
    step cuda-tests-all-algos 120 env RELPROP_CUDNN_ALGOS=all RELPROP_FIXTURES_DIR="$PWD/tests/fixtures" \
        LD_LIBRARY_PATH="$RELPROP_LD" "$G/bin/relprop-cuda-tests"
fi

# The command line on the GPU against the CPU: the demo (--json names the GPU) and every ONNX fixture
# (LRP with the default composite, and the gradient); relative L2 of the relevance files <= 1e-4.
cli_check() {
    mkdir -p "$W/cli"
    local dev f n m
    for dev in cpu cuda; do
        rp "$G/bin/relprop" explain tools/demo/digits.onnx tools/demo --no-preprocess --composite epsilon-plus \
            --device $dev --out "$W/cli/demo.$dev.npy" --json > "$W/cli/demo.$dev.json" || echo "demo $dev failed"
        for f in tests/fixtures/onnx/*.onnx; do
            n=$(basename "$f" .onnx)
            for m in lrp gradient; do
                rp "$G/bin/relprop" explain "$f" "tests/fixtures/onnx/$n.input.npy" --method $m --device $dev \
                    --out "$W/cli/$n.$m.$dev.npy" > /dev/null 2> "$W/cli/err" \
                    || echo "$n $m $dev failed: $(head -c 300 "$W/cli/err")"
            done
        done
    done
    grep -E '"(backend|device)"' "$W/cli/demo.cuda.json"
    env -u LD_LIBRARY_PATH python3 tools/compare_npy.py --tolerance 1e-4 "$W/cli"
}
if [[ $SKIP != *cli* ]]; then
    export -f cli_check rp
    export G W RELPROP_LD
    step cli 150 bash -c cli_check
fi

wait "$export_pid"
cat "$W/export.log"

if [[ $SKIP != *bench* ]]; then
    step bench 300 env LD_LIBRARY_PATH="$RELPROP_LD" "$G/bin/relprop-bench" --device cuda --vs-zennit \
        --python "$W/python" --dir "$W/full" --models "$models" --batches "${RELPROP_GPU_BATCHES:-1,16,64}" \
        --methods forward,epsilon-plus-flat --runs "${RELPROP_GPU_RUNS:-5}" \
        --markdown "$O/bench.md" --json "$O/bench.json"
fi
# What cuDNN's algorithm choice costs: relprop alone with the algorithms ranked by measured time
# (RELPROP_CUDNN_SEARCH=timed), and with every algorithm allowed (RELPROP_CUDNN_ALGOS=all: FFT and
# Winograd too), at the largest batch (README "CUDA").
variant() {  # variant NAME ENV=VALUE
    step "bench-$1" 100 env "$2" LD_LIBRARY_PATH="$RELPROP_LD" "$G/bin/relprop-bench" \
        --device cuda --dir "$W/full" --models "$models" --batches "${RELPROP_GPU_ALGO_BATCHES:-64}" \
        --methods forward,epsilon-plus-flat --runs "${RELPROP_GPU_RUNS:-5}" \
        --markdown "$O/bench-$1.md" --json "$O/bench-$1.json"
}
if [[ $SKIP != *algos* ]]; then
    variant timed RELPROP_CUDNN_SEARCH=timed
    variant all-algos RELPROP_CUDNN_ALGOS=all
fi
nvidia-smi --query-gpu=name,memory.used,memory.total,temperature.gpu,clocks.sm --format=csv
echo "=== summary"
printf '%s\n' "${SUMMARY[@]}"
rm -rf "$W"
