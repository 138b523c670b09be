#!/usr/bin/env python3
"""Time `relprop evaluate` against Quantus 0.6's PixelFlipping on resnet18 (8 images, 3 attributions, 96 steps).

torchvision's resnet18 (random weights, seed 0: the time does not depend on them) is exported to ONNX;
8 random inputs. relprop: `relprop evaluate resnet18.onnx x.npy --methods lrp:epsilon-plus-flat,gradient,random
--step 523` (96 steps of 523 pixels, MoRF and LeRF, the attributions computed inside, model loading
included). Quantus: PixelFlipping(features_in_step=1568) — 96 steps of 1568 input elements (about 523 pixels x 3
channels; Quantus wants a divisor of 224 x 224), MoRF only (it has no LeRF) — on the same three maps (relprop's, given as a_batch, so their
computation is not timed), the model in PyTorch.

    python tools/quantus_timing.py build/tools/relprop
Needs torch, torchvision, onnx and quantus==0.6.0.
"""
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch
import torchvision


def main():
    relprop = sys.argv[1]
    import quantus

    threads = int(os.environ.get("THREADS", "2"))
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = torchvision.models.resnet18(weights=None).eval()
    x = np.random.default_rng(0).standard_normal((8, 3, 224, 224), dtype=np.float32)
    with tempfile.TemporaryDirectory() as d:
        onnx_path, x_path = os.path.join(d, "resnet18.onnx"), os.path.join(d, "x.npy")
        torch.onnx.export(model, torch.from_numpy(x[:1]), onnx_path, opset_version=13, input_names=["x"],
                          output_names=["logits"], dynamic_axes={"x": {0: "n"}, "logits": {0: "n"}}, dynamo=False)
        np.save(x_path, x)
        t0 = time.perf_counter()
        subprocess.run([relprop, "evaluate", onnx_path, x_path, "--methods", "lrp:epsilon-plus-flat,gradient,random",
                        "--step", "523", "--batch-size", "32", "--curves", os.path.join(d, "c.csv")], check=True)
        relprop_s = time.perf_counter() - t0
        print(f"relprop evaluate: {relprop_s:.1f} s", flush=True)
        maps = {}
        for method, args in (("lrp", ["--method", "lrp"]), ("gradient", ["--method", "gradient"])):
            out = os.path.join(d, method + ".npy")
            subprocess.run([relprop, "explain", onnx_path, x_path, *args, "--out", out], check=True,
                           stdout=subprocess.DEVNULL)
            maps[method] = np.load(out).sum(1, keepdims=True)
        maps["random"] = np.random.default_rng(1).random((8, 1, 224, 224), dtype=np.float32)
    with torch.no_grad():
        y = model(torch.from_numpy(x)).argmax(1).numpy()
    t0 = time.perf_counter()
    for a in maps.values():
        m = quantus.PixelFlipping(features_in_step=1568, perturb_baseline=0.0, abs=False, normalise=False,
                                  disable_warnings=True)
        m(model=model, x_batch=x, y_batch=y, a_batch=a, device="cpu", softmax=False)
    quantus_s = time.perf_counter() - t0
    print(f"resnet18, 8 images, 3 attributions, 96 steps, {threads} threads: relprop evaluate {relprop_s:.1f} s "
          f"(MoRF + LeRF, 2 x 97 points, attributions and loading included); Quantus PixelFlipping {quantus_s:.1f} s "
          f"(MoRF only, 96 points, attributions given); per curve point: relprop {relprop_s / (3 * 8 * 2 * 97) * 1e3:.1f} "
          f"ms, Quantus {quantus_s / (3 * 8 * 96) * 1e3:.1f} ms")


if __name__ == "__main__":
    main()
