#!/usr/bin/env python3
"""Benchmark worker: times zennit (float32) on a full torchvision model, on the CPU (zennit 0.5.1 with Debian's
torch 1.13) or with --device cuda on a GPU (a CUDA build of torch >= 2.1 with zennit 1.0.0, e.g.
`pip install torch torchvision zennit==1.0.0 onnx`; TF32 is switched off, as relprop's CUDA backend never uses it,
and cuDNN's autotuner is on, zennit's best case).

A C++ benchmark driver starts it as a subprocess and talks to it over stdin/stdout, one line per message:

    /work/venv-fixtures/bin/python tools/bench_zennit.py --model resnet18 --dir tests/fixtures/full \\
        --batch 8 --method epsilon-plus [--threads 2] [--device cpu|cuda|cuda:N]

  METHOD: forward, gradient, epsilon-plus, epsilon-plus-flat, epsilon-gamma-box, epsilon-alpha2-beta1,
          epsilon-alpha2-beta1-flat
  start-up  builds the model with the weights of DIR/MODEL.onnx (tools/make_onnx_fixtures.build_full: the same
            seeded procedure as its --full export), checks it against DIR/MODEL.output.npy on DIR/MODEL.input.npy,
            sets up the method (for LRP: composite + canonizers registered ONCE, one attributor context kept open
            for all runs), does 2 warm-up runs, then prints   ready
  driver -> `run`          worker -> `time <seconds>`      (time.perf_counter around the whole run; on a GPU
                                                             it ends with torch.cuda.synchronize())
  driver -> `quit` or EOF  worker -> `peak_rss_kb <ru_maxrss of this process>`, exit 0
  on any failure           worker -> `error <one-line message>`, exit 1

The input is DIR/MODEL.input.npy ([1,3,224,224]) repeated BATCH times along the batch axis. One run is:
  forward   with torch.no_grad(): model(x)
  gradient  x.requires_grad_(); out = model(x); out.backward(one_hot(argmax out))
  LRP       out, rel = attributor(x, one_hot)   (zennit Gradient attributor; one_hot = 1 at each sample's argmax
            logit, computed from this run's output)
Parameters are frozen (requires_grad False): only the input gradient/relevance is computed, as in relprop.
Composites as in tools/make_zennit_fixtures.py: zennit defaults, BatchNorm -> Pass, epsilon-gamma-box with
low/high = ImageNet-normalized pixel values 0 and 1 per channel. Canonizers: VGG VGGCanonizer, ResNet
ResNetCanonizer, DenseNet NamedMergeBatchNorm of the true conv->BN pairs only (features.conv0->features.norm0
and every dense layer's conv1->norm2; the other BNs get Pass), MobileNetV2 and EfficientNet-B0
SequentialMergeBatchNorm (zennit has no canonizer for them: their residual adds keep the gradient there, where
relprop's composites give them Norm). Merged BNs get eps=1e-12 (zennit 0.5.1 leaves the
eps in place; an ONNX export folds BN exactly; zennit 1.0 sets it to 0, which torch 2.11 refuses: "batch_norm eps
must be positive"): with running_var 1, 1 + 1e-12 rounds to 1 in float32, so the merged BN is exactly the identity. Note: torchvision's DenseNet applies its final ReLU and pooling
functionally, where zennit keeps the plain gradient.
"""

import argparse
import os
import resource
import sys
import time
import traceback

import numpy as np
import torch
from torchvision.models.densenet import _DenseLayer
from zennit.attribution import Gradient
from zennit.canonizers import MergeBatchNorm, NamedMergeBatchNorm, SequentialMergeBatchNorm
from zennit.composites import (EpsilonAlpha2Beta1, EpsilonAlpha2Beta1Flat, EpsilonGammaBox, EpsilonPlus,
                               EpsilonPlusFlat)
from zennit.rules import Pass
from zennit.torchvision import ResNetCanonizer, VGGCanonizer
from zennit.types import BatchNorm

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_onnx_fixtures as mof  # noqa: E402  (build_full)

MEAN = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
STD = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)

COMPOSITES = {
    "epsilon-plus": lambda c: EpsilonPlus(layer_map=bn_pass(), canonizers=c),
    "epsilon-plus-flat": lambda c: EpsilonPlusFlat(layer_map=bn_pass(), canonizers=c),
    "epsilon-gamma-box": lambda c: EpsilonGammaBox(low=(0 - MEAN) / STD, high=(1 - MEAN) / STD,
                                                   layer_map=bn_pass(), canonizers=c),
    "epsilon-alpha2-beta1": lambda c: EpsilonAlpha2Beta1(layer_map=bn_pass(), canonizers=c),
    "epsilon-alpha2-beta1-flat": lambda c: EpsilonAlpha2Beta1Flat(layer_map=bn_pass(), canonizers=c),
}
METHODS = ["forward", "gradient"] + list(COMPOSITES)


def bn_pass():
    return [(BatchNorm, Pass())]


def canonizers(name, model):
    if name.startswith("vgg"):
        return [VGGCanonizer()]
    if name.startswith("resnet"):
        return [ResNetCanonizer()]
    if name.startswith("densenet"):
        pairs = [(("features.conv0",), "features.norm0")]
        pairs += [((n + ".conv1",), n + ".norm2") for n, m in model.named_modules() if isinstance(m, _DenseLayer)]
        return [NamedMergeBatchNorm(pairs)]
    if name in ("mobilenet_v2", "efficientnet_b0"):
        return [SequentialMergeBatchNorm()]  # as tools/full_references.py: zennit has no canonizer for these
    raise ValueError(f"no canonizer for model {name}")


def one_hot(out):
    """One-hot at each sample's argmax logit (zennit's convention: relevance starts as one-hot)."""
    out = out.detach()
    return torch.zeros_like(out).scatter_(1, out.argmax(1, keepdim=True), 1.0)


def check(what, y, ref):
    d = float(np.max(np.abs(y.astype(np.float64) - ref)))
    if not d <= 1e-3 * np.abs(ref).max():
        raise RuntimeError(f"{what}: max abs diff {d:.3g} to the reference output (max |ref| {np.abs(ref).max():.3g})")


class ArgParser(argparse.ArgumentParser):
    def error(self, message):  # reported as one `error ...` line, like every other failure
        raise ValueError(f"bad arguments: {message}")


def main():
    ap = ArgParser(description="zennit benchmark worker (see the header of this file)")
    ap.add_argument("--model", required=True)
    ap.add_argument("--dir", required=True)
    ap.add_argument("--batch", type=int, required=True)
    ap.add_argument("--method", required=True, choices=METHODS)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    gpu = device.type == "cuda"
    if gpu:
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
        torch.backends.cudnn.benchmark = True
        global MEAN, STD  # the ZBox bounds must live where the input does
        MEAN, STD = MEAN.to(device), STD.to(device)

    def sync():
        if gpu:
            torch.cuda.synchronize(device)

    model, _ = mof.build_full(args.model)
    model.requires_grad_(False)
    model.to(device)
    x1 = np.load(os.path.join(args.dir, args.model + ".input.npy"))
    ref = np.load(os.path.join(args.dir, args.model + ".output.npy")).astype(np.float64)
    with torch.no_grad():
        check(f"{args.model} rebuilt from the seed", model(torch.from_numpy(x1).to(device)).cpu().numpy(), ref)
    x = torch.from_numpy(np.repeat(x1, args.batch, axis=0)).to(device)

    if args.method == "forward":
        def run():
            with torch.no_grad():
                return model(x)
    elif args.method == "gradient":
        def run():
            xg = x.detach().requires_grad_()
            out = model(xg)
            out.backward(one_hot(out))
            return out
    else:
        composite = COMPOSITES[args.method](canonizers(args.model, model))
        attributor = Gradient(model, composite)
        attributor.__enter__()  # one context for all runs: canonizers and hooks registered once
        for h in composite.handles:
            if isinstance(h, MergeBatchNorm):
                h.batch_norm.eps = 1e-12  # the identity in float32; 0 is refused by torch 2.11

        def run():
            out, rel = attributor(x, one_hot)
            return out

    for _ in range(2):
        out = run()
    sync()
    check(f"{args.method} warm-up output", out.detach().cpu().numpy(), np.repeat(ref, args.batch, axis=0))
    print("ready", flush=True)

    while True:
        line = sys.stdin.readline()
        cmd = line.strip()
        if cmd == "run":
            t0 = time.perf_counter()
            run()
            sync()
            print(f"time {time.perf_counter() - t0:.9f}", flush=True)
        elif cmd == "quit" or not line:
            print(f"peak_rss_kb {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}", flush=True)
            return
        elif cmd:
            raise ValueError(f"unknown command {cmd!r}")


if __name__ == "__main__":
    try:
        main()
    except BaseException as e:  # noqa: B036  (the driver reads one line: report everything, incl. KeyboardInterrupt)
        if isinstance(e, SystemExit) and e.code in (0, None):
            raise
        traceback.print_exc(file=sys.stderr)  # the driver shows stderr as it comes: the whole story there
        msg = " ".join(f"{type(e).__name__}: {e}".split())
        print(f"error {msg}", flush=True)
        sys.exit(1)
