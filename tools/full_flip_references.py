#!/usr/bin/env python3
"""Float64 references for counting ReLU/max-pool decision flips in relprop's forward on the full torchvision models
of `make_onnx_fixtures.py --full` (not committed; the model is rebuilt by its build_full, the same seeds: the same
weights as the exports). For each input (input 0 is the exports' own input; then seeded standard-normal inputs,
seeds 201, 202, …) this writes to DIR/flips/NAME/:
    MANIFEST           one `INDEX<TAB>KIND` line per decision in execution order (KIND: relu, maxpool): the ReLU
                       modules' and GoogLeNet/Inception `BasicConv2d` (conv, BN, F.relu) outputs and the MaxPool2d
                       modules, in the order ONNX's exporter writes their nodes
    input_K.npy        input K (float32 [1,3,S,S])
    target_K.npy       the float32 model's argmax logit (int64 [1]; for input 0 the references' target)
    grad64_K.npy       torch float64 input gradient of that logit (stored as float32)
    epf64_K.npy        zennit 0.5.1 float64 EpsilonPlusFlat relevance (full_references.epsilon_plus_flat)
    codes_K_INDEX.npy  the float64 model's decision at every element of decision INDEX's output, float32: relu: 1
                       where the output is > 0, else 0; maxpool: the flat index (y·W + x) in the input plane of the
                       window's maximum, or -1 where that maximum is <= 0 (its choice does not matter)
    floor.txt          per input `K<TAB>flips<TAB>gradient<TAB>zennit`: torch float32's own flips against the same
                       codes, its gradient's and zennit float32's relative L2 error against float64 (the float32 floors)
tests/integration/test_torchvision.cpp ("flips") counts relprop's flips against these codes and compares.

    /work/venv-fixtures/bin/python tools/full_flip_references.py /work/full-exports --models googlenet,resnext50_32x4d
"""

import argparse
import copy
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_onnx_fixtures import build_full  # noqa: E402
import full_references  # noqa: E402


def decisions(model, x, dtype):
    """[(kind, codes)] in execution order for input x, and the logits."""
    m = copy.deepcopy(model).to(dtype)
    out = []

    def relu_hook(mod, inp, o):
        out.append(("relu", (o > 0).numpy().astype(np.float32)))

    def pool_hook(mod, inp, o):
        v, idx = F.max_pool2d(inp[0], mod.kernel_size, mod.stride, mod.padding, mod.dilation, mod.ceil_mode,
                              return_indices=True)
        out.append(("maxpool", np.where(v.numpy() > 0, idx.numpy(), -1).astype(np.float32)))

    for mm in m.modules():
        if isinstance(mm, nn.ReLU) or type(mm).__name__ == "BasicConv2d":
            mm.register_forward_hook(relu_hook)
        elif isinstance(mm, nn.MaxPool2d):
            mm.register_forward_hook(pool_hook)
    with torch.no_grad():
        y = m(torch.from_numpy(x).to(dtype))
    return out, y.numpy()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dir")
    ap.add_argument("--models", default="googlenet,resnext50_32x4d")
    ap.add_argument("--inputs", type=int, default=3)
    args = ap.parse_args()
    for name in args.models.split(","):
        model, x0 = build_full(name)
        model.requires_grad_(False)
        folder = os.path.join(args.dir, "flips", name)
        os.makedirs(folder, exist_ok=True)
        floors = []
        for k in range(args.inputs):
            x = x0 if k == 0 else torch.randn(x0.shape, generator=torch.Generator().manual_seed(200 + k)).numpy()
            c64, _ = decisions(model, x, torch.float64)
            c32, y32 = decisions(model, x, torch.float32)
            if k == 0:
                with open(os.path.join(folder, "MANIFEST"), "w") as f:
                    f.writelines(f"{i}\t{kind}\n" for i, (kind, _) in enumerate(c64))
            flips = 0
            for i, ((kind, a), (_, b)) in enumerate(zip(c64, c32)):
                flips += int((a != b).sum())
                np.save(os.path.join(folder, f"codes_{k}_{i}.npy"), np.ascontiguousarray(a))
            target = int(np.argmax(y32[0]))
            g32 = full_references.gradient(model, x, target, torch.float32)
            g64 = full_references.gradient(model, x, target, torch.float64)
            r32 = full_references.epsilon_plus_flat(model, x, target, y32.astype(np.float64), torch.float32)[0]
            r64 = full_references.epsilon_plus_flat(model, x, target, y32.astype(np.float64), torch.float64)[0]
            np.save(os.path.join(folder, f"input_{k}.npy"), np.ascontiguousarray(x.astype(np.float32)))
            np.save(os.path.join(folder, f"target_{k}.npy"), np.array([target], dtype=np.int64))
            np.save(os.path.join(folder, f"grad64_{k}.npy"), np.ascontiguousarray(g64.astype(np.float32)))
            np.save(os.path.join(folder, f"epf64_{k}.npy"), np.ascontiguousarray(r64.astype(np.float32)))
            floors.append(f"{k}\t{flips}\t{full_references._rel_l2(g32, g64):.3e}\t{full_references._rel_l2(r32, r64):.3e}")
            print(f"[flips] {name} input {k}: target {target}, " + floors[-1].replace("\t", " "), flush=True)
        with open(os.path.join(folder, "floor.txt"), "w") as f:
            f.write("\n".join(floors) + "\n")


if __name__ == "__main__":
    main()
