#!/usr/bin/env python3
"""relprop evaluate against Quantus 0.6 (PixelFlipping, RegionPerturbation) on the bundled digits CNN.

Both get the same model (tools/demo/digits.onnx; here run by a small ONNX-in-PyTorch interpreter), the same
inputs (tools/demo/digits_batch.npy), the same attributions (relprop's gradient, and seeded random maps; no
ties, so both rank the pixels alike), fill 0, and the same step. The model has one input channel, so
Quantus's ranking of input elements is relprop's ranking of pixels. Quantus's curves start after the first
step and RegionPerturbation reports f(x) - f(x perturbed); both are compared with relprop's curves.csv.

    python tools/quantus_compare.py build/tools/relprop            # compare, print the worst differences
    python tools/quantus_compare.py build/tools/relprop --write tools/quantus_reference.json

Needs numpy, torch, onnx and quantus==0.6.0 (e.g. a venv: pip install quantus==0.6.0 onnx torch).
"""
import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import onnx
import onnx.numpy_helper
import torch
import torch.nn.functional as F

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEMO = os.path.join(ROOT, "tools", "demo")


class OnnxModule(torch.nn.Module):
    """Runs an ONNX graph of Conv, Relu, MaxPool, AveragePool, GlobalAveragePool, Add, Concat, Flatten and
    Gemm with torch.nn.functional (enough for the demo model)."""

    def __init__(self, path):
        super().__init__()
        self.model = onnx.load(path)
        self.params = {t.name: torch.from_numpy(onnx.numpy_helper.to_array(t).copy()) for t in self.model.graph.initializer}

    def forward(self, x):
        g = self.model.graph
        values = dict(self.params)
        values[g.input[0].name] = x
        for n in g.node:
            a = {at.name: onnx.helper.get_attribute_value(at) for at in n.attribute}
            i = [values[name] for name in n.input if name]
            if n.op_type == "Conv":
                p = a.get("pads", [0, 0, 0, 0])
                xi = F.pad(i[0], (p[1], p[3], p[0], p[2]))
                y = F.conv2d(xi, i[1], i[2] if len(i) > 2 else None, a.get("strides", 1), 0, a.get("dilations", 1),
                             a.get("group", 1))
            elif n.op_type == "Relu":
                y = F.relu(i[0])
            elif n.op_type == "MaxPool":
                y = F.max_pool2d(i[0], a["kernel_shape"], a.get("strides"), 0, ceil_mode=bool(a.get("ceil_mode", 0)))
            elif n.op_type == "AveragePool":
                y = F.avg_pool2d(i[0], a["kernel_shape"], a.get("strides"), 0)
            elif n.op_type == "GlobalAveragePool":
                y = i[0].mean(dim=(2, 3), keepdim=True)
            elif n.op_type == "Add":
                y = i[0] + i[1]
            elif n.op_type == "Concat":
                y = torch.cat(i, dim=a["axis"])
            elif n.op_type == "Flatten":
                y = torch.flatten(i[0], a.get("axis", 1))
            elif n.op_type == "Gemm":
                w = i[1].t() if a.get("transB", 0) else i[1]
                y = a.get("alpha", 1.0) * (i[0] @ w) + a.get("beta", 1.0) * i[2]
            else:
                raise SystemExit(f"quantus_compare: op {n.op_type} is not supported by this script's interpreter")
            values[n.output[0]] = y
        return values[g.output[0].name]


def relprop_curves(relprop, x_path, names, maps, step, patch, out):
    """Runs relprop evaluate on file: folders (pixel flipping with `step` pixels per step, region perturbation
    with one region per step); returns {(method, metric, order, sample): logits} and the seconds taken."""
    specs = []
    for label, m in maps.items():
        d = os.path.join(out, label)
        os.makedirs(d, exist_ok=True)
        for i, name in enumerate(names):
            np.save(os.path.join(d, name + ".npy"), m[i:i + 1].astype(np.float32))
        specs.append("file:" + d)
    curves = {}
    seconds = 0.0
    for metric, metric_step in (("pixel-flipping", step), ("region-perturbation", 1)):
        csv_path = os.path.join(out, metric + ".csv")
        t0 = time.perf_counter()
        subprocess.run([relprop, "evaluate", os.path.join(DEMO, "digits.onnx"), x_path, "--methods", ",".join(specs),
                        "--metric", metric, "--step", str(metric_step), "--patch", str(patch), "--fill", "0",
                        "--curves", csv_path], check=True, stdout=subprocess.DEVNULL)
        seconds += time.perf_counter() - t0
        read_curves(csv_path, curves)
    return curves, seconds


def read_curves(csv_path, curves):
    with open(csv_path) as f:
        for row in csv.DictReader(f):
            label = os.path.basename(row["method"][len("file:"):])
            key = (label, row["metric"], row["order"], int(row["sample"]))
            curves.setdefault(key, []).append(float(row["logit"]))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("relprop", help="the relprop program (build/tools/relprop)")
    ap.add_argument("--step", type=int, default=16, help="pixels per pixel-flipping step (default 16)")
    ap.add_argument("--patch", type=int, default=4, help="region side (default 4)")
    ap.add_argument("--write", help="write the differences and a few reference numbers to this JSON file")
    ap.add_argument("--bound", type=float, default=1e-5, help="largest relative difference allowed (default 1e-5)")
    args = ap.parse_args()

    import quantus  # noqa: E402 (after argparse: --help works without it)

    torch.set_num_threads(2)
    x = np.load(os.path.join(DEMO, "digits_batch.npy")).astype(np.float32)
    n = x.shape[0]
    names = [f"digits_batch_{i}" for i in range(n)]
    model = OnnxModule(os.path.join(DEMO, "digits.onnx")).eval()
    with torch.no_grad():
        logits = model(torch.from_numpy(x)).numpy()
    y = logits.argmax(1)

    with tempfile.TemporaryDirectory() as out:
        grad_path = os.path.join(out, "gradient.npy")
        subprocess.run([args.relprop, "explain", os.path.join(DEMO, "digits.onnx"), os.path.join(DEMO, "digits_batch.npy"),
                        "--method", "gradient", "--out", grad_path], check=True, stdout=subprocess.DEVNULL)
        maps = {"gradient": np.load(grad_path), "random": np.random.default_rng(0).random(x.shape, dtype=np.float32)}
        ours, relprop_s = relprop_curves(args.relprop, os.path.join(DEMO, "digits_batch.npy"), names, maps, args.step,
                                         args.patch, out)

    report = {"quantus": quantus.__version__, "torch": torch.__version__, "step": args.step, "patch": args.patch,
              "samples": n, "targets": y.tolist(), "comparisons": []}
    worst = 0.0
    quantus_s = 0.0
    for label, a in maps.items():
        for metric in ("pixel-flipping", "region-perturbation"):
            t0 = time.perf_counter()
            if metric == "pixel-flipping":
                m = quantus.PixelFlipping(features_in_step=args.step, perturb_baseline=0.0, abs=False, normalise=False,
                                          disable_warnings=True)
                theirs = {"morf": np.array(m(model=model, x_batch=x, y_batch=y, a_batch=a, device="cpu", softmax=False))}
            else:
                theirs = {}
                for order in ("morf", "lerf"):
                    m = quantus.RegionPerturbation(patch_size=args.patch, regions_evaluation=(32 // args.patch) ** 2,
                                                   order=order, perturb_baseline=0.0, abs=False, normalise=False,
                                                   disable_warnings=True)
                    theirs[order] = np.array(m(model=model, x_batch=x, y_batch=y, a_batch=a, device="cpu", softmax=False))
            quantus_s += time.perf_counter() - t0
            for order, q in theirs.items():
                r = np.array([ours[(label, metric, order, i)] for i in range(n)])
                # relprop's curve starts at the unperturbed logit; Quantus's after the first step, and
                # RegionPerturbation reports f(x) - f(x perturbed).
                mine = r[:, 1:] if metric == "pixel-flipping" else r[:, :1] - r[:, 1:]
                diff = float(np.abs(mine - q).max() / np.abs(q).max())
                worst = max(worst, diff)
                report["comparisons"].append({"attribution": label, "metric": metric, "order": order,
                                              "points": int(q.size), "max_relative_difference": diff,
                                              "quantus_first_sample_first_points": q[0, :4].tolist(),
                                              "relprop_first_sample_first_points": mine[0, :4].tolist()})
                print(f"{label:9s} {metric:20s} {order}: {q.size} points, max |relprop - quantus| / max |quantus| = {diff:.2e}")
    report["worst_relative_difference"] = worst
    report["seconds"] = {"relprop_evaluate_all": relprop_s, "quantus_all": quantus_s}
    print(f"worst {worst:.2e} (bound {args.bound:g}); relprop evaluate {relprop_s:.2f} s (two runs: both maps, "
          f"both metrics, both orders, model loading included), Quantus {quantus_s:.2f} s (no LeRF for PixelFlipping)")
    if args.write:
        with open(args.write, "w") as f:
            json.dump(report, f, indent=1)
            f.write("\n")
    return 0 if worst <= args.bound else 1


if __name__ == "__main__":
    sys.exit(main())
