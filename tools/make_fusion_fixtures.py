#!/usr/bin/env python3
"""Generate the fuse_* ONNX fixtures in tests/fixtures/onnx/: tiny torch models whose exports contain the
patterns the fuse-activations and fuse-layernorm passes rewrite (python is used ONLY here, never at run time).

    /usr/bin/python3 -m venv --system-site-packages /work/venv-act
    /work/venv-act/bin/pip install onnxruntime
    cd REPO && /work/venv-act/bin/python tools/make_fusion_fixtures.py

Debian's torch 1.13 exports (TorchScript exporter):
  - nn.SiLU as Sigmoid + Mul(x, sigmoid); `torch.sigmoid(x) * x` as Mul(sigmoid, x);
  - nn.Hardswish at opset 13 as HardSigmoid(alpha=1/6, beta=0.5) + Mul; `F.hardsigmoid(x) * x` likewise;
  - nn.GELU at every opset below 20 as Div(x, 1.4142135) -> Erf -> Add 1 -> Mul x -> Mul 0.5; the hand-written
    0.5 * x * (1 + erf(x / sqrt(2))) as Mul(0.5, x) and Add(1, erf) (constants first);
  - nn.LayerNorm / F.layer_norm below opset 17 as ReduceMean, Sub, Pow 2, ReduceMean, Add eps, Sqrt, Div, Mul
    gamma, Add beta, and at opset 17 as one LayerNormalization node;
  - ConvNeXt's channels-first LayerNorm (x - mean over channels) / sqrt(var + eps) written out by hand reduces
    over axis 1 of NCHW only: not LayerNormalization's "from axis to the end", so it must stay unfused.
Squeeze-excitation gates (x * sigmoid(f(pool(x)))) multiply x by a gate of *another* value: never fused.

Each fixture NAME is NAME.onnx, NAME.input.npy, NAME.output.npy (onnxruntime's output, checked against
torch's) plus a MANIFEST line; this script replaces the fuse_* lines of MANIFEST and keeps the others (and
tools/make_onnx_fixtures.py calls fusion_fixtures() when it rewrites every fixture). Deterministic (seeds).
"""

import math
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_onnx_fixtures import DEFAULT_OUT, export_torch, max_abs, op_types, ort_run, save_fixture  # noqa: E402

torch.set_num_threads(2)


def randomize_layernorms(model, seed):
    """Non-trivial LayerNorm affine parameters (torch initializes them to 1 and 0)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.LayerNorm) and m.elementwise_affine:
                m.weight.copy_(torch.rand(m.weight.shape, generator=g) + 0.5)
                m.bias.copy_(torch.randn(m.bias.shape, generator=g) * 0.3)
            if isinstance(m, ChannelsFirstLayerNorm):
                m.weight.copy_(torch.rand(m.weight.shape, generator=g) + 0.5)
                m.bias.copy_(torch.randn(m.bias.shape, generator=g) * 0.3)


class SiluNet(nn.Module):
    """nn.SiLU, sigmoid(x) * x (the other operand order), and a squeeze-excitation Sigmoid gate (not fused)."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 6, 3, padding=1)
        self.act1 = nn.SiLU()
        self.conv2 = nn.Conv2d(6, 6, 3, padding=1)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.se = nn.Conv2d(6, 6, 1)
        self.flatten = nn.Flatten()
        self.fc = nn.Linear(6, 4)

    def forward(self, x):
        x = self.act1(self.conv1(x))
        y = self.conv2(x)
        x = torch.sigmoid(y) * y
        x = x * torch.sigmoid(self.se(self.pool(x)))
        return self.fc(self.flatten(self.pool(x)))


class HardswishNet(nn.Module):
    """x * hardsigmoid(x), nn.Hardswish (HardSigmoid + Mul at opset 13), hardsigmoid(x) * x, and a
    squeeze-excitation HardSigmoid gate (not fused)."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 6, 3, padding=1)
        self.conv2 = nn.Conv2d(6, 6, 3, padding=1)
        self.act2 = nn.Hardswish()
        self.conv3 = nn.Conv2d(6, 6, 1)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.se = nn.Conv2d(6, 6, 1)
        self.flatten = nn.Flatten()
        self.fc = nn.Linear(6, 4)

    def forward(self, x):
        y = self.conv1(x) * 2.0
        x = y * F.hardsigmoid(y)
        x = self.act2(self.conv2(x) * 2.0)
        y = self.conv3(x) * 2.0
        x = F.hardsigmoid(y) * y
        x = x * F.hardsigmoid(self.se(self.pool(x)))
        return self.fc(self.flatten(self.pool(x)))


class GeluNet(nn.Module):
    """nn.GELU (torch's erf form) and the hand-written 0.5 * x * (1 + erf(x / sqrt(2)))."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 6, 3, padding=1)
        self.act1 = nn.GELU()
        self.conv2 = nn.Conv2d(6, 6, 3, padding=1)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.flatten = nn.Flatten()
        self.fc = nn.Linear(6, 4)

    def forward(self, x):
        x = self.act1(self.conv1(x))
        y = self.conv2(x)
        x = 0.5 * y * (1.0 + torch.erf(y / math.sqrt(2.0)))
        return self.fc(self.flatten(self.pool(x)))


class LayerNormNet(nn.Module):
    """On a [N, 5, 8] sequence: nn.LayerNorm(8) over the last axis, GELU, nn.LayerNorm((5, 8)) over the last two,
    a third LayerNorm(8) (without affine parameters unless `affine3`: torch 1.13 writes an invalid opset-17
    LayerNormalization for one), then Flatten and Linear."""

    def __init__(self, affine3=False):
        super().__init__()
        self.ln1 = nn.LayerNorm(8)
        self.act = nn.GELU()
        self.ln2 = nn.LayerNorm((5, 8), eps=1e-6)
        self.ln3 = nn.LayerNorm(8, elementwise_affine=affine3)
        self.flatten = nn.Flatten()
        self.fc = nn.Linear(40, 3)

    def forward(self, x):
        x = self.ln3(self.ln2(self.act(self.ln1(x))))
        return self.fc(self.flatten(x))


class ChannelsFirstLayerNorm(nn.Module):
    """ConvNeXt's own LayerNorm for channels_first data (facebookresearch/ConvNeXt models/convnext.py): a
    normalization over axis 1 only, so not an ONNX LayerNormalization (which normalizes from an axis to the end)."""

    def __init__(self, c, eps=1e-6):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(c))
        self.bias = nn.Parameter(torch.zeros(c))
        self.eps = eps

    def forward(self, x):
        u = x.mean(1, keepdim=True)
        s = (x - u).pow(2).mean(1, keepdim=True)
        x = (x - u) / torch.sqrt(s + self.eps)
        return self.weight[:, None, None] * x + self.bias[:, None, None]


class ConvNextNet(nn.Module):
    """torchvision's LayerNorm2d (permute, LayerNorm over channels-last, permute back), GELU, and ConvNeXt's
    channels-first LayerNorm (must stay unfused)."""

    def __init__(self):
        super().__init__()
        from torchvision.models.convnext import LayerNorm2d
        self.stem = nn.Conv2d(3, 8, 3, padding=1)
        self.norm = LayerNorm2d(8, eps=1e-6)
        self.pw = nn.Conv2d(8, 8, 1)
        self.act = nn.GELU()
        self.norm_cf = ChannelsFirstLayerNorm(8)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.flatten = nn.Flatten()
        self.fc = nn.Linear(8, 3)

    def forward(self, x):
        x = self.act(self.pw(self.norm(self.stem(x))))
        return self.fc(self.flatten(self.pool(self.norm_cf(x))))


# name, class, seed, opset, input shape, expected ONNX op counts of the export, description
FUSION_SPECS = [
    ("fuse_silu", SiluNet, 11, 13, (2, 3, 8, 8), {"Sigmoid": 3, "Mul": 3},
     "torch nn.SiLU and sigmoid(x)*x (Sigmoid+Mul, both operand orders; fuse-activations -> Silu x2), a squeeze-excitation Sigmoid gate (stays), GAP, Linear; opset 13"),
    ("fuse_hardswish", HardswishNet, 12, 13, (2, 3, 8, 8), {"HardSigmoid": 4},
     "torch x*hardsigmoid(x), nn.Hardswish, hardsigmoid(x)*x (HardSigmoid+Mul at opset 13; fuse-activations -> HardSwish x3), a HardSigmoid squeeze-excitation gate (stays), GAP, Linear; opset 13"),
    ("fuse_gelu_o13", GeluNet, 13, 13, (2, 3, 8, 8), {"Erf": 2},
     "torch nn.GELU and hand-written 0.5*x*(1+erf(x/sqrt2)) (Div/Erf/Add/Mul/Mul in two orders; fuse-activations -> Gelu x2), GAP, Linear; opset 13"),
    ("fuse_gelu_o17", GeluNet, 13, 17, (2, 3, 8, 8), {"Erf": 2},
     "same model as fuse_gelu_o13 exported at opset 17 (GELU still in erf form); opset 17"),
    ("fuse_layernorm_o13", LayerNormNet, 14, 13, (2, 5, 8), {"ReduceMean": 6, "Sqrt": 3},
     "torch on [N,5,8]: LayerNorm(8), GELU, LayerNorm((5,8)), LayerNorm(8) without affine, exported as ReduceMean/Sub/Pow/ReduceMean/Add/Sqrt/Div(/Mul/Add) (fuse-layernorm -> LayerNormalization x3), Flatten, Linear; opset 13"),
    ("fuse_layernorm_o17", lambda: LayerNormNet(affine3=True), 14, 17, (2, 5, 8), {"LayerNormalization": 3},
     "the model of fuse_layernorm_o13 (its third LayerNorm with affine parameters: torch 1.13 exports an invalid LayerNormalization without them) at opset 17: three LayerNormalization nodes (axis -1 and -2), Erf-form GELU; opset 17"),
    ("fuse_convnext_o13", ConvNextNet, 15, 13, (2, 3, 6, 6), {"Transpose": 2, "ReduceMean": 4},
     "torch ConvNeXt-style: conv, torchvision LayerNorm2d (Transpose, decomposed LayerNorm over the last axis, Transpose; fuse-layernorm -> LayerNormalization), 1x1 conv, GELU, ConvNeXt's channels-first LayerNorm (over axis 1 of NCHW: stays unfused), GAP, Linear; opset 13"),
    ("fuse_convnext_o17", ConvNextNet, 15, 17, (2, 3, 6, 6), {"LayerNormalization": 1, "Transpose": 2},
     "same model as fuse_convnext_o13 exported at opset 17: LayerNorm2d as Transpose + LayerNormalization + Transpose; opset 17"),
]


def fusion_fixtures(out_dir, manifest, report):
    for name, cls, seed, opset, shape, expected, desc in FUSION_SPECS:
        torch.manual_seed(seed)
        model = cls()
        randomize_layernorms(model, seed + 100)
        model.eval()
        x = torch.randn(*shape, generator=torch.Generator().manual_seed(seed + 200)).numpy()
        with torch.no_grad():
            y_torch = model(torch.from_numpy(x)).numpy().astype(np.float32)
        m = export_torch(model, x, opset)
        y = ort_run(m.SerializeToString(), x).astype(np.float32)
        d = max_abs(y, y_torch)
        ops = op_types(m)
        print(f"[fuse]  {name:20s} opset {opset}  max|ort-torch| = {d:.3g}  (|y|max {np.abs(y).max():.3g})")
        print(f"        ops: {ops}")
        assert d < 1e-5 * max(1.0, float(np.abs(y).max())), f"{name}: torch and onnxruntime disagree"
        counts = {t: sum(n.op_type == t for n in m.graph.node) for t in expected}
        assert counts == expected, f"{name}: export has {counts}, expected {expected}"
        save_fixture(out_dir, name, m, x, y)
        manifest.append((name, desc))
        report.append((name, ops))


def main():
    out = DEFAULT_OUT
    path = os.path.join(out, "MANIFEST")
    with open(path) as f:
        kept = [l.rstrip("\n").split("\t", 1) for l in f if l.strip() and not l.startswith("fuse_")]
    manifest, report = [], []
    fusion_fixtures(out, manifest, report)
    with open(path, "w") as f:
        for name, desc in [tuple(k) for k in kept] + manifest:
            assert "\t" not in desc and "\n" not in desc
            f.write(f"{name}\t{desc}\n")
    size = sum(os.path.getsize(os.path.join(out, n + s)) for n, _ in manifest
               for s in (".onnx", ".input.npy", ".output.npy"))
    print(f"{len(manifest)} fuse_* fixtures, {size / 1024:.1f} KiB")


if __name__ == "__main__":
    main()
