#!/usr/bin/env python3
"""zennit parity fixtures for the blocks of post-2017 CNNs -> tests/fixtures/zennit_blocks/.

How to run (python is used ONLY in tools/, never at run time; the venv of tools/make_onnx_fixtures.py):

    cd /work/main && /work/venv-fixtures/bin/python tools/make_zennit_block_fixtures.py
    # only some blocks again (the others' files and MANIFEST lines kept):
    /work/venv-fixtures/bin/python tools/make_zennit_block_fixtures.py --only layernorm_gelu,layernorm_gelu13

Deterministic (fixed seeds, CPU, float32, 2 threads): rerunning rewrites identical files.

What it computes
----------------
Tiny torch models, each made of one kind of block (seeded random weights, randomized BatchNorm statistics,
eval mode, batch 2, input [2,3,16,16]), exported to ONNX (NAME.onnx, NAME.input.npy, NAME.output.npy: torch's
float32 logits, checked against onnxruntime), and zennit 0.5.1's input relevance for each under the five
composites of tools/make_zennit_fixtures.py and the plain gradient (NAME.COMPOSITE.npy, float32 [2,3,16,16]):

    with zennit.attribution.Gradient(model, composite) as attributor:
        out, rel = attributor(x, one_hot(argmax logits))

Composites, their options and the BatchNorm -> Pass entry are exactly those of tools/make_zennit_fixtures.py.
Canonizer: zennit.canonizers.SequentialMergeBatchNorm (every conv->BN pair; merged BN eps set to 0, as an ONNX
export folds BN exactly; the canonized forward is checked against the logits). Every activation, pooling and
residual add is a module, so zennit's rule map sees it: activations (ReLU6, Sigmoid, Hardsigmoid, Hardswish,
SiLU) -> Pass, AdaptiveAvgPool2d -> Norm, residual adds -> zennit.layer.Sum -> Norm (the model's Residual module
is torch's `a + b` when exported, zennit's Sum on the stacked operands when zennit runs: the same function).
What zennit leaves under autograd's gradient, relprop does too: the squeeze-excitation product `scale * x`
(ONNX Mul), torch.cat, chunk (Split), the channel shuffle's view/transpose (Reshape/Transpose), Flatten.

Blocks (MANIFEST column 4 names the ONNX fixture; `needs` in the notes names a relprop pass the parity
depends on, where the export decomposes an activation that zennit sees whole):
    inverted_residual  MobileNetV2: Conv-BN-ReLU6 stem, inverted residual (1x1 expand-BN-ReLU6, 3x3 depthwise-
                       BN-ReLU6, 1x1 project-BN) with its residual add, a stride-2 one without; ReLU6 -> Clip
    se_sigmoid         RegNet/EfficientNet squeeze-excitation: conv-BN-ReLU, SE (AdaptiveAvgPool, 1x1 conv, ReLU,
                       1x1 conv, Sigmoid gate, scale * x), conv-BN-ReLU
    se_hardsigmoid     MobileNetV3: conv-BN-Hardswish, SE with ReLU and Hardsigmoid gate, conv-BN-Hardswish;
                       opset 17, where Hardswish exports as HardSwish
    hardswish13        the same model at opset 13, where Hardswish exports as x * HardSigmoid(x)
                       (needs fuse-activations)
    silu               EfficientNet MBConv: conv-BN-SiLU, depthwise conv-BN-SiLU, SE with SiLU and Sigmoid gate,
                       1x1 project-BN; SiLU exports as x * Sigmoid(x) (needs fuse-activations)
    channel_shuffle    ShuffleNetV2: conv-BN-ReLU stem, a stride-2 unit (two branches, concat, channel shuffle)
                       and a stride-1 unit (chunk -> Split, branch, concat, channel shuffle)
    layernorm_gelu     ConvNeXt: conv stem with LayerNorm2d (permute, LayerNorm, permute), a CNBlock (7x7 depthwise
                       conv, permute to channels-last, LayerNorm, Linear, GELU, Linear, permute back, layer scale,
                       residual add); opset 17 (LayerNormalization; GELU exports as x * 0.5 * (1 + erf(x / sqrt 2)):
                       needs fuse-activations). Layer scales in [0.2, 0.6] and LayerNorm affine parameters seeded
                       (make_onnx_fixtures.randomize_layer_scale_and_ln). zennit hooks neither LayerNorm nor the
                       permutes: autograd's gradient there, as relprop's defaults; the layer scale is a LayerScale
                       module mapped to Pass (relprop: a constant per-channel Mul becomes a BatchNorm, Pass)
    layernorm_gelu13   the same model at opset 13 (LayerNorm as ReduceMean/Sub/Pow/Sqrt/Div arithmetic)
Every model ends in AdaptiveAvgPool2d(1) -> Flatten -> Linear(., 10).

Conditioning: every attribution is rerun in float64; MANIFEST's notes carry how far float32 rounding alone
moves each reference (relL2, max abs), which tests/test_zennit_parity.cpp uses as its noise floor.
"""

import copy
import os
import sys

import numpy as np
import onnx
import torch
import torch.nn as nn

from zennit.attribution import Gradient
from zennit.canonizers import MergeBatchNorm, SequentialMergeBatchNorm
from zennit.layer import Sum
from zennit.rules import Pass

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_onnx_fixtures as mof  # noqa: E402
import make_zennit_fixtures as mzf  # noqa: E402  (COMPOSITES, one_hot_of, rule_map)

torch.set_num_threads(2)

OUT_DIR = os.path.join(mof.REPO, "tests", "fixtures", "zennit_blocks")


class Residual(nn.Module):
    """a + b: torch's add when exported, zennit's Sum module (-> Norm) when zennit runs."""

    def __init__(self):
        super().__init__()
        self.sum = Sum()
        self.zennit = False

    def forward(self, a, b):
        return self.sum(torch.stack([a, b], dim=-1)) if self.zennit else a + b


def conv_bn(cin, cout, k, stride=1, groups=1, act=None):
    layers = [nn.Conv2d(cin, cout, k, stride, k // 2, groups=groups, bias=False), nn.BatchNorm2d(cout)]
    return nn.Sequential(*layers, act()) if act else nn.Sequential(*layers)


class SqueezeExcitation(nn.Module):
    """torchvision.ops.SqueezeExcitation's structure: pool, fc1, activation, fc2, gate; returns gate * x."""

    def __init__(self, c, squeeze, act, gate):
        super().__init__()
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Conv2d(c, squeeze, 1)
        self.activation = act()
        self.fc2 = nn.Conv2d(squeeze, c, 1)
        self.scale_activation = gate()

    def forward(self, x):
        return self.scale_activation(self.fc2(self.activation(self.fc1(self.avgpool(x))))) * x


class Head(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.flatten = nn.Flatten()
        self.fc = nn.Linear(c, 10)

    def forward(self, x):
        return self.fc(self.flatten(self.pool(x)))


class InvertedResidual(nn.Module):
    def __init__(self, cin, cout, stride, expand):
        super().__init__()
        hidden = cin * expand
        self.conv = nn.Sequential(conv_bn(cin, hidden, 1, act=nn.ReLU6),
                                  conv_bn(hidden, hidden, 3, stride, groups=hidden, act=nn.ReLU6),
                                  conv_bn(hidden, cout, 1))
        self.residual = Residual() if stride == 1 and cin == cout else None

    def forward(self, x):
        return self.residual(x, self.conv(x)) if self.residual is not None else self.conv(x)


class InvertedResidualNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(conv_bn(3, 8, 3, act=nn.ReLU6), InvertedResidual(8, 8, 1, 4),
                                      InvertedResidual(8, 12, 2, 4))
        self.head = Head(12)

    def forward(self, x):
        return self.head(self.features(x))


class SENet(nn.Module):
    def __init__(self, act, gate):
        super().__init__()
        self.features = nn.Sequential(conv_bn(3, 12, 3, act=act), SqueezeExcitation(12, 4, nn.ReLU, gate),
                                      conv_bn(12, 16, 3, 2, act=act))
        self.head = Head(16)

    def forward(self, x):
        return self.head(self.features(x))


class MBConvSiLU(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(conv_bn(3, 8, 3, act=nn.SiLU), conv_bn(8, 8, 3, groups=8, act=nn.SiLU),
                                      SqueezeExcitation(8, 2, nn.SiLU, nn.Sigmoid), conv_bn(8, 12, 1))
        self.head = Head(12)

    def forward(self, x):
        return self.head(self.features(x))


def channel_shuffle(x, groups):
    n, c, h, w = x.size()
    return x.view(n, groups, c // groups, h, w).transpose(1, 2).contiguous().view(n, -1, h, w)


class ShuffleUnit(nn.Module):
    """torchvision's ShuffleNetV2 InvertedResidual."""

    def __init__(self, cin, cout, stride):
        super().__init__()
        self.stride = stride
        half = cout // 2
        if stride > 1:
            self.branch1 = nn.Sequential(conv_bn(cin, cin, 3, stride, groups=cin), conv_bn(cin, half, 1, act=nn.ReLU))
        b_in = cin if stride > 1 else half
        self.branch2 = nn.Sequential(conv_bn(b_in, half, 1, act=nn.ReLU), conv_bn(half, half, 3, stride, groups=half),
                                     conv_bn(half, half, 1, act=nn.ReLU))

    def forward(self, x):
        if self.stride == 1:
            x1, x2 = x.chunk(2, dim=1)
            out = torch.cat((x1, self.branch2(x2)), dim=1)
        else:
            out = torch.cat((self.branch1(x), self.branch2(x)), dim=1)
        return channel_shuffle(out, 2)


class ShuffleNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(conv_bn(3, 8, 3, act=nn.ReLU), ShuffleUnit(8, 16, 2), ShuffleUnit(16, 16, 1))
        self.head = Head(16)

    def forward(self, x):
        return self.head(self.features(x))


class LayerNorm2d(nn.LayerNorm):
    """torchvision's LayerNorm2d: a LayerNorm over the channels of an NCHW tensor (permute, LayerNorm, permute)."""

    def forward(self, x):
        return super().forward(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)


class Permute(nn.Module):
    def __init__(self, dims):
        super().__init__()
        self.dims = dims

    def forward(self, x):
        return x.permute(*self.dims)


class LayerScale(nn.Module):
    """ConvNeXt's layer scale `layer_scale * x` (C, 1, 1), as a module so that zennit's map can name it: it exports as
    a Mul by a constant, which relprop's affine-to-batchnorm pass turns into a BatchNorm (Pass); zennit gets
    (LayerScale, Pass) in its layer map, so relprop's defaults are compared as they are (torchvision's CNBlock
    multiplies functionally, which zennit leaves under the gradient: R x scale instead of R)."""

    def __init__(self, c):
        super().__init__()
        self.layer_scale = nn.Parameter(torch.ones(c, 1, 1))

    def forward(self, x):
        return self.layer_scale * x


class CNBlock(nn.Module):
    """torchvision's ConvNeXt CNBlock (eval mode, no stochastic depth): 7x7 depthwise conv, permute to channels-last,
    LayerNorm, Linear(C, 4C), GELU, Linear(4C, C), permute back, layer scale (C, 1, 1), residual add."""

    def __init__(self, c):
        super().__init__()
        self.block = nn.Sequential(nn.Conv2d(c, c, 7, padding=3, groups=c), Permute([0, 2, 3, 1]), nn.LayerNorm(c, eps=1e-6),
                                   nn.Linear(c, 4 * c), nn.GELU(), nn.Linear(4 * c, c), Permute([0, 3, 1, 2]))
        self.scale = LayerScale(c)
        self.residual = Residual()

    def forward(self, x):
        return self.residual(x, self.scale(self.block(x)))


class ConvNeXtNet(nn.Module):
    """ConvNeXt's stem (conv, LayerNorm2d) and a CNBlock; layer scale and LayerNorm affine parameters randomized by
    make_onnx_fixtures.randomize_layer_scale_and_ln (torchvision's layer scale 1e-6 would make the block the
    identity)."""

    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), LayerNorm2d(8, eps=1e-6), CNBlock(8))
        self.head = Head(8)

    def forward(self, x):
        return self.head(self.features(x))


# name: (model factory, seed, opset, description)
BLOCKS = {
    "inverted_residual": (InvertedResidualNet, 11, 13, "MobileNetV2 inverted residuals with ReLU6 (Clip) and a residual Add"),
    "se_sigmoid": (lambda: SENet(nn.ReLU, nn.Sigmoid), 12, 13, "squeeze-excitation with ReLU and a Sigmoid gate (Mul)"),
    "se_hardsigmoid": (lambda: SENet(nn.Hardswish, nn.Hardsigmoid), 13, 17,
                       "Hardswish (HardSwish) and squeeze-excitation with a HardSigmoid gate (Mul); opset 17"),
    "hardswish13": (lambda: SENet(nn.Hardswish, nn.Hardsigmoid), 13, 13,
                    "se_hardsigmoid's model at opset 13: Hardswish as x * HardSigmoid(x); needs fuse-activations"),
    "silu": (MBConvSiLU, 14, 13, "EfficientNet MBConv: SiLU as x * Sigmoid(x), SE with SiLU and Sigmoid gate; "
                                "needs fuse-activations"),
    "channel_shuffle": (ShuffleNet, 15, 13, "ShuffleNetV2 units: Split (chunk), Concat, channel shuffle "
                                           "(Reshape/Transpose/Reshape)"),
    "layernorm_gelu": (ConvNeXtNet, 16, 17, "ConvNeXt stem (conv, LayerNorm2d) and CNBlock: LayerNormalization, "
                                           "GELU as Erf arithmetic, layer scale, residual Add; opset 17; "
                                           "needs fuse-activations"),
    "layernorm_gelu13": (ConvNeXtNet, 16, 13, "layernorm_gelu's model at opset 13: LayerNorm as ReduceMean/Sub/Pow/"
                                             "Sqrt/Div arithmetic; needs fuse-activations"),
}


def build(name):
    factory, seed, _, _ = BLOCKS[name]
    torch.manual_seed(seed)
    model = factory()
    mof.randomize_bn(model, seed + 100)
    mof.randomize_layer_scale_and_ln(model, seed + 101)
    model.eval()
    x = torch.randn(2, 3, 16, 16, generator=torch.Generator().manual_seed(seed + 200)).numpy()
    return model, x


def set_zennit_sum(model, on):
    for m in model.modules():
        if isinstance(m, Residual):
            m.zennit = on


def attribute(model, x, logits, comp_name, dtype):
    model = copy.deepcopy(model).to(dtype)
    targets, oh = mzf.one_hot_of(logits)
    xt = torch.from_numpy(x).to(dtype)
    oh = oh.to(dtype)
    if comp_name == "gradient":
        with Gradient(model) as attributor:
            out, rel = attributor(xt, oh)
        xr = xt.clone().requires_grad_(True)
        y = model(xr)
        g, = torch.autograd.grad(y[torch.arange(len(targets)), torch.from_numpy(targets)].sum(), xr)
        assert np.abs(rel.numpy() - g.numpy()).max() <= 1e-7 * np.abs(g.numpy()).max()
        return targets, out.detach().numpy(), rel.detach().numpy(), {}
    set_zennit_sum(model, True)
    composite = mzf.COMPOSITES[comp_name][0]([SequentialMergeBatchNorm()])
    composite.layer_map.insert(0, (LayerScale, Pass()))
    with Gradient(model, composite) as attributor:
        for h in composite.handles:
            if isinstance(h, MergeBatchNorm):
                h.batch_norm.eps = 0.0
        out, rel = attributor(xt, oh)
        rules = mzf.rule_map(model)
    return targets, out.detach().numpy(), rel.detach().numpy(), rules


def main():
    import argparse
    ap = argparse.ArgumentParser(description="zennit parity fixtures for the blocks of post-2017 CNNs")
    ap.add_argument("--only", default="", help="comma-separated blocks to make again; the other blocks' files and "
                                               "MANIFEST lines are kept (default: all)")
    only = [b for b in ap.parse_args().only.split(",") if b]
    for b in only:
        if b not in BLOCKS:
            raise SystemExit(f"unknown block {b!r}; known: {', '.join(BLOCKS)}")
    os.makedirs(OUT_DIR, exist_ok=True)
    names = list(mzf.COMPOSITES) + ["gradient"]
    kept = {}  # block -> its MANIFEST lines, for the blocks not made again
    if only:
        with open(os.path.join(OUT_DIR, "MANIFEST")) as f:
            for line in f:
                kept.setdefault(line.split("\t")[0], []).append(line)
    lines, report = [], []
    for name, (_, _, opset, desc) in BLOCKS.items():
        if only and name not in only:
            lines += kept.get(name, [])
            report.append(f"{name:18s} opset {opset}: {mof.op_types(onnx.load(os.path.join(OUT_DIR, name + '.onnx')))}")
            continue
        model, x = build(name)
        with torch.no_grad():
            logits = model(torch.from_numpy(x)).numpy()
        m = mof.export_torch(model, x, opset)
        y_ort = mof.ort_run(m.SerializeToString(), x)
        assert mof.max_abs(logits, y_ort) <= 1e-5 * max(1.0, np.abs(logits).max()), f"{name}: torch vs onnxruntime"
        mof.save_fixture(OUT_DIR, name, m, x, logits.astype(np.float32))
        report.append(f"{name:18s} opset {opset}: {mof.op_types(m)}")
        for comp in names:
            targets, out, rel, rules = attribute(model, x, logits, comp, torch.float32)
            d = float(np.abs(out - logits).max())
            assert d <= 1e-6 * np.abs(logits).max(), f"{name}/{comp}: canonized forward differs by {d}"
            _, _, r64, _ = attribute(model, x, logits, comp, torch.float64)
            drift_l2 = float(np.linalg.norm(rel.astype(np.float64) - r64) / np.linalg.norm(r64))
            drift_max = float(np.abs(rel.astype(np.float64) - r64).max() / np.abs(r64).max())
            assert rel.shape == (2, 3, 16, 16) and np.all(np.isfinite(rel))
            np.save(os.path.join(OUT_DIR, f"{name}.{comp}.npy"), np.ascontiguousarray(rel.astype(np.float32)))
            hooks = ",".join(f"{k}={v}" for k, v in rules.items())
            notes = (f"{desc}; zennit 0.5.1 " + (mzf.COMPOSITES[comp][1] + "; SequentialMergeBatchNorm, merged BN eps 0"
                                                  if comp != "gradient" else "Gradient without composite (= autograd)"))
            notes += (f"; float32 rounding alone (vs the same zennit run in float64): relL2 {drift_l2:.1e}, "
                      f"max abs {drift_max:.1e} x max|ref|")
            lines.append(f"{name}\t{comp}\t{','.join(str(int(t)) for t in targets)}\t{name}\t{notes}\n")
            print(f"{name:18s} {comp:26s} targets {list(targets)} relsum "
                  f"{[round(float(r.sum()), 5) for r in rel.astype(np.float64)]} f32-vs-f64 relL2 {drift_l2:.1e} "
                  f"max {drift_max:.1e}" + (f"\n    rules: {hooks}" if comp == "epsilon-plus-flat" else ""), flush=True)
    with open(os.path.join(OUT_DIR, "MANIFEST"), "w") as f:
        f.writelines(lines)
    doc = __doc__
    with open(os.path.join(OUT_DIR, "README.md"), "w") as f:
        f.write("# zennit reference relevances for the blocks of post-2017 CNNs\n\nGenerated by "
                "`tools/make_zennit_block_fixtures.py` (zennit 0.5.1, Debian torch " + torch.__version__ +
                "). Do not edit by hand; rerun the script.\n\n```\n" + doc[doc.index("What it computes"):].rstrip() +
                "\n```\n\n## ONNX op types per model\n\n```\n" + "\n".join(report) + "\n```\n")
    total = sum(os.path.getsize(os.path.join(OUT_DIR, f)) for f in os.listdir(OUT_DIR))
    print("\n".join(report))
    print(f"{len(lines)} references in {OUT_DIR}: {total} bytes ({total / 1024:.1f} KiB)")


if __name__ == "__main__":
    main()
