#!/usr/bin/env python3
"""Gradient and zennit references for the full torchvision exports (tools/make_onnx_fixtures.py --full DIR
--full-references; python is used ONLY in tools/, never at run time; zennit 0.5.1 with Debian's torch 1.13).

For the model NAME built by make_onnx_fixtures.build_full and its input x ([1,3,S,S], float32), with the
target t = argmax of torch's float32 logits, it writes to DIR:

  NAME.gradient.npy             torch.autograd gradient of logit t with respect to x (float32 model and input)
  NAME.gradient.f64.npy         the same with the model and input in float64 (saved as float64)
  NAME.epsilon-plus-flat.npy    zennit 0.5.1 EpsilonPlusFlat relevance (float32), relevance starting as one-hot(t)
  NAME.epsilon-plus-flat.f64.npy  the same zennit run in float64 (saved as float64)
  NAME.references.txt           `key value` lines: target, the float32-vs-float64 differences of both references
                                (relative L2 and max abs / max|ref|), relevance sums, the zennit set-up

zennit set-up: EpsilonPlusFlat(epsilon=1e-6, stabilizer=1e-6; first conv/linear Flat, conv ZPlus, Linear
Epsilon, Activation Pass, AvgPool/AdaptiveAvgPool Norm) with layer_map [(BatchNorm, Pass)] prepended and the
canonizer SequentialMergeBatchNorm (every conv->BN pair in module order; zennit has no canonizer for these
architectures). zennit 0.5.1 leaves the merged BN's eps in place; it is set to 0 here, as an ONNX export folds BN
exactly (the canonized forward is checked against the logits). Each zennit run works on a deep copy of the model:
zennit's canonizer restores weights, biases and running statistics when its context ends, but not the eps set to 0
here, so a second run on the same model (the float64 one) would merge with eps 0 instead of the model's own (a
relative error of ~eps/(2 var) per BatchNorm: 5e-4 with eps 1e-3 in MobileNetV3/GoogLeNet/Inception, which made the
canonized-forward check fail; ~5e-6 with eps 1e-5, which inflated the float32-vs-float64 differences). Everything zennit does not hook keeps autograd's
gradient: functional calls (`x + f(x)` residuals, F.relu in GoogLeNet/Inception, F.avg_pool2d in Inception,
F.adaptive_avg_pool2d in MobileNetV2, x.mean([2,3]) in MNASNet/ShuffleNet, torch.cat, the squeeze-excitation
product scale * x, ConvNeXt's layer scale), LayerNorm, MaxPool, Flatten, Dropout, Permute.
"""

import copy

import numpy as np
import torch

import zennit
from zennit.attribution import Gradient
from zennit.canonizers import MergeBatchNorm, SequentialMergeBatchNorm
from zennit.composites import EpsilonPlusFlat
from zennit.rules import Pass
from zennit.types import BatchNorm

torch.set_num_threads(2)


def _rel_l2(a, b):
    a, b = a.astype(np.float64), b.astype(np.float64)
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


def _rel_max(a, b):
    a, b = a.astype(np.float64), b.astype(np.float64)
    return float(np.abs(a - b).max() / np.abs(b).max())


def _hook_counts(model):
    """zennit rule name -> number of modules it is registered on (inside a composite context)."""
    counts = {}
    for m in model.modules():
        for hook in m._forward_pre_hooks.values():
            owner = getattr(hook, "__self__", None)
            if owner is not None and isinstance(owner, zennit.core.Hook):
                counts[type(owner).__name__] = counts.get(type(owner).__name__, 0) + 1
    return counts


def gradient(model, x, target, dtype):
    model = copy.deepcopy(model).to(dtype)
    xr = torch.from_numpy(x).to(dtype).requires_grad_(True)
    y = model(xr)
    g, = torch.autograd.grad(y[0, target], xr)
    return g.detach().numpy()


def epsilon_plus_flat(model, x, target, logits, dtype):
    model = copy.deepcopy(model).to(dtype)
    xt = torch.from_numpy(x).to(dtype)
    one_hot = torch.zeros(logits.shape, dtype=dtype)
    one_hot[0, target] = 1.0
    composite = EpsilonPlusFlat(layer_map=[(BatchNorm, Pass())], canonizers=[SequentialMergeBatchNorm()])
    with Gradient(model, composite) as attributor:
        merged = [h.batch_norm for h in composite.handles if isinstance(h, MergeBatchNorm)]
        for bn in merged:
            bn.eps = 0.0
        out, rel = attributor(xt, one_hot)
        hooks = _hook_counts(model)
    d = float(np.abs(out.detach().numpy().astype(np.float64) - logits).max())
    assert d <= 1e-5 * np.abs(logits).max(), f"canonized forward differs from the logits by {d}"
    return rel.detach().numpy(), len(merged), hooks, d


def write_references(out_dir, name, model, x, logits):
    import os
    target = int(np.argmax(logits[0]))
    model.requires_grad_(False)
    lines = [f"target {target}", f"logit {float(logits[0, target]):.9g}"]
    g32 = gradient(model, x, target, torch.float32)
    g64 = gradient(model, x, target, torch.float64)
    np.save(os.path.join(out_dir, name + ".gradient.npy"), np.ascontiguousarray(g32.astype(np.float32)))
    np.save(os.path.join(out_dir, name + ".gradient.f64.npy"), np.ascontiguousarray(g64))
    lines += [f"gradient_f32_f64_rel_l2 {_rel_l2(g32, g64):.3e}", f"gradient_f32_f64_rel_max {_rel_max(g32, g64):.3e}"]
    r32, merged, hooks, d32 = epsilon_plus_flat(model, x, target, logits, torch.float32)
    r64, _, _, d64 = epsilon_plus_flat(model, x, target, logits, torch.float64)
    np.save(os.path.join(out_dir, name + ".epsilon-plus-flat.npy"), np.ascontiguousarray(r32.astype(np.float32)))
    np.save(os.path.join(out_dir, name + ".epsilon-plus-flat.f64.npy"), np.ascontiguousarray(r64))
    lines += [f"zennit_f32_f64_rel_l2 {_rel_l2(r32, r64):.3e}", f"zennit_f32_f64_rel_max {_rel_max(r32, r64):.3e}",
              f"zennit_sum_f32 {float(r32.astype(np.float64).sum()):.9g}", f"zennit_sum_f64 {float(r64.sum()):.9g}",
              f"zennit_merged_bn {merged}",
              f"zennit_forward_max_abs_f32 {d32:.3e}", f"zennit_forward_max_abs_f64 {d64:.3e}",
              "zennit_hooks " + ",".join(f"{k}:{v}" for k, v in sorted(hooks.items()))]
    with open(os.path.join(out_dir, name + ".references.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print(f"[refs]  {name}: " + "; ".join(lines), flush=True)
