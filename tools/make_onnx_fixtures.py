#!/usr/bin/env python3
"""Generate the ONNX test fixtures in tests/fixtures/onnx/ (python is used ONLY here, never at run time).

How to run (Debian 12, as root; the venv lives OUTSIDE the repository):

    apt-get update
    DEBIAN_FRONTEND=noninteractive apt-get install -y python3-torch python3-torchvision \
        python3-onnx python3-numpy python3-venv
    /usr/bin/python3 -m venv --system-site-packages /work/venv-fixtures
    /work/venv-fixtures/bin/pip install -r tools/requirements-fixtures.txt
    cd /work/main && /work/venv-fixtures/bin/python tools/make_onnx_fixtures.py

    # optional, NOT committed: full-size torchvision models (224x224, inception_v3 299x299, batch 1)
    /work/venv-fixtures/bin/python tools/make_onnx_fixtures.py --full /tmp/full_fixtures
    /work/venv-fixtures/bin/python tools/make_onnx_fixtures.py --full /tmp/full_fixtures --full-models resnet18
    # the models of tests/integration (issue 15), both opsets, with the gradient and zennit references
    # (tools/full_references.py; about 30 min on 2 busy cores, 2.5 GB):
    /work/venv-fixtures/bin/python tools/make_onnx_fixtures.py --full /tmp/full_fixtures --full-models new \
        --full-opsets 13,17 --full-references
    # only the references (and NAME.input.npy / NAME.output.npy) again, the exports in the folder kept:
    /work/venv-fixtures/bin/python tools/make_onnx_fixtures.py --full /tmp/full_fixtures --full-models googlenet \
        --full-references-only

Use /usr/bin/python3's packages (Debian torch 1.13.1, torchvision 0.14.1, onnx 1.12, numpy 1.24) — the
pyenv `python3` first on PATH sees none of them; the venv above adds onnxruntime from PyPI.

Each fixture NAME is three files: NAME.onnx, NAME.input.npy (float32), NAME.output.npy (float32
reference computed by the exporting framework: torch for tiny_* models, onnxruntime for the
hand-built op_* models, each also cross-checked against the other / against a numpy reference).
tests/fixtures/onnx/MANIFEST lists them, one `NAME<TAB>description` line each.
Everything is deterministic (fixed seeds); rerunning rewrites identical files.
"""

import argparse
import inspect
import io
import math
import os
import sys
import time

import numpy as np
import onnx
import torch
import torch.nn as nn
from onnx import TensorProto, helper, numpy_helper
from onnx_summary import op_types  # noqa: E402  (tools/onnx_summary.py, beside this script)

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_OUT = os.path.join(REPO, "tests", "fixtures", "onnx")
IR_FOR_OPSET = {11: 6, 13: 7, 17: 8}  # the IR version released with each opset

torch.set_num_threads(2)


# --------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------

def ort_run(model_bytes_or_path, x):
    import onnxruntime as ort  # imported here only: importers of this module (bench_zennit.py) do not need it
    so = ort.SessionOptions()
    so.intra_op_num_threads = 2
    so.inter_op_num_threads = 1
    sess = ort.InferenceSession(model_bytes_or_path, so, providers=["CPUExecutionProvider"])
    name = sess.get_inputs()[0].name
    return sess.run(None, {name: x})[0]


def save_fixture(out_dir, name, model, x, y):
    assert x.dtype == np.float32 and y.dtype == np.float32
    onnx.save(model, os.path.join(out_dir, name + ".onnx"))
    np.save(os.path.join(out_dir, name + ".input.npy"), np.ascontiguousarray(x))
    np.save(os.path.join(out_dir, name + ".output.npy"), np.ascontiguousarray(y))


def max_abs(a, b):
    return float(np.max(np.abs(a.astype(np.float64) - b.astype(np.float64))))


def randomize_bn(model, seed):
    """Seeded non-trivial BN statistics/affine params so BN handling is really exercised."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                c = m.num_features
                m.running_mean.copy_(torch.randn(c, generator=g) * 0.5)
                m.running_var.copy_(torch.rand(c, generator=g) * 1.5 + 0.5)
                w = torch.rand(c, generator=g) + 0.5
                neg = torch.rand(c, generator=g) < 0.2
                neg[torch.randint(0, c, (1,), generator=g)] = True  # at least one negative
                w[neg] = -w[neg]
                m.weight.copy_(w)
                m.bias.copy_(torch.randn(c, generator=g) * 0.3)


# --------------------------------------------------------------------------------------------
# small torch models (built from modules so that zennit-style rule mapping sees every layer)
# --------------------------------------------------------------------------------------------

class TinyVGG(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.BatchNorm2d(3),                                               # BN on the input: survives export
            nn.Conv2d(3, 8, 3, padding=0), nn.BatchNorm2d(8), nn.ReLU(),      # 32 -> 30
            nn.Conv2d(8, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(),      # 30
            nn.MaxPool2d(2),                                                  # 30 -> 15
            nn.Conv2d(8, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(),    # 15
            nn.MaxPool2d(2, ceil_mode=True),                                  # 15 -> 8 (ceil on odd size)
        )
        self.flatten = nn.Flatten()
        self.classifier = nn.Sequential(
            nn.Linear(16 * 8 * 8, 32), nn.ReLU(), nn.Dropout(0.5), nn.Linear(32, 10))

    def forward(self, x):
        return self.classifier(self.flatten(self.features(x)))


def basic_block(cin, cout, stride):
    """torchvision's own BasicBlock (zennit's ResNetCanonizer recognizes only that class and replaces its
    functional `out += identity` with a Sum module). The downsample (1x1 conv + BN) is attached AFTER the
    block is built so that the RNG draws (conv1, conv2, then the shortcut conv) and the module order (conv1,
    bn1, relu, conv2, bn2, downsample) are those of the hand-written block these fixtures first used:
    same weights, same outputs. Note the block's single nn.ReLU(inplace=True) is applied twice."""
    from torchvision.models.resnet import BasicBlock
    block = BasicBlock(cin, cout, stride=stride, downsample=None)
    if stride != 1 or cin != cout:
        block.downsample = nn.Sequential(
            nn.Conv2d(cin, cout, 1, stride=stride, bias=False), nn.BatchNorm2d(cout))
    return block


class TinyResNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(8)
        self.relu = nn.ReLU()
        self.layer1 = basic_block(8, 16, stride=2)   # 1x1 conv + BN downsample shortcut
        self.layer2 = basic_block(16, 16, stride=1)  # identity shortcut
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.flatten = nn.Flatten()
        self.fc = nn.Linear(16, 10)

    def forward(self, x):
        x = self.relu(self.bn1(self.conv1(x)))
        x = self.layer2(self.layer1(x))
        return self.fc(self.flatten(self.avgpool(x)))


class DenseLayer(nn.Module):
    def __init__(self, cin, growth, bottleneck):
        super().__init__()
        self.norm1 = nn.BatchNorm2d(cin)
        self.relu1 = nn.ReLU()
        self.conv1 = nn.Conv2d(cin, bottleneck, 1, bias=False)
        self.norm2 = nn.BatchNorm2d(bottleneck)
        self.relu2 = nn.ReLU()
        self.conv2 = nn.Conv2d(bottleneck, growth, 3, padding=1, bias=False)

    def forward(self, x):
        new = self.conv2(self.relu2(self.norm2(self.conv1(self.relu1(self.norm1(x))))))
        return torch.cat([x, new], 1)


class TinyDenseNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv0 = nn.Conv2d(3, 8, 3, padding=1, bias=False)
        self.block = nn.Sequential(DenseLayer(8, 4, 8), DenseLayer(12, 4, 8))    # 8 -> 16 channels
        self.transition = nn.Sequential(
            nn.BatchNorm2d(16), nn.ReLU(), nn.Conv2d(16, 8, 1, bias=False), nn.AvgPool2d(2))
        self.norm5 = nn.BatchNorm2d(8)
        self.relu5 = nn.ReLU()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.flatten = nn.Flatten()
        self.classifier = nn.Linear(8, 10)

    def forward(self, x):
        x = self.transition(self.block(self.conv0(x)))
        return self.classifier(self.flatten(self.pool(self.relu5(self.norm5(x)))))


class TinyPad(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(
            nn.ZeroPad2d((1, 2, 0, 1)),                                       # 32x32 -> H 33, W 35
            nn.Conv2d(3, 8, 3),                                               # -> 31 x 33
            nn.AvgPool2d(3, stride=2, padding=1, count_include_pad=True),    # -> 16 x 17
            nn.AvgPool2d(2, ceil_mode=True, count_include_pad=False),        # -> 8 x 9
            nn.MaxPool2d(3, stride=2, padding=1, ceil_mode=True),            # -> 5 x 5
            nn.ReLU(),
            nn.Flatten(),
            nn.Linear(8 * 5 * 5, 10))

    def forward(self, x):
        return self.net(x)


class TinyView(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, stride=2, padding=1)
        self.relu = nn.ReLU()
        self.fc = nn.Linear(4 * 16 * 16, 10)

    def forward(self, x):
        x = self.relu(self.conv(x))
        x = x.view(x.size(0), -1)
        return self.fc(x)


def export_torch(model, x, opset, keep_bn=False):
    kwargs = {}
    if keep_bn:
        # PRESERVE (with the model in eval mode) skips the eval-mode peephole that fuses Conv->BN,
        # so every BatchNormalization node is kept (inference-mode BN, training_mode=0). torch 1.13
        # then warns about constant folding in training-amenable mode: harmless, the model is in
        # eval mode and the output is checked against torch below.
        kwargs["training"] = torch.onnx.TrainingMode.PRESERVE
    if "dynamo" in inspect.signature(torch.onnx.export).parameters:
        # torch >= 2.9 exports with torch.export (opset 18+, other graph shapes) by default; keep the
        # TorchScript exporter that users of torch 1.13-2.8 get, so every torch writes the same graph.
        kwargs["dynamo"] = False
    f = io.BytesIO()
    with torch.no_grad():
        torch.onnx.export(model.eval(), torch.from_numpy(x), f, input_names=["input"],
                          output_names=["logits"],
                          dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}},
                          opset_version=opset, **kwargs)
    m = onnx.load_from_string(f.getvalue())
    onnx.checker.check_model(m)
    return m


# name, class, seed, opset, keep_bn, description (also imported by tools/make_zennit_fixtures.py)
TORCH_SPECS = [
    ("tiny_vgg", TinyVGG, 1, 13, False,
     "torch VGG-like: input BN, conv-BN-ReLU x3, MaxPool2d (one ceil_mode on odd 15x15), Linear-ReLU-Dropout-Linear; Conv->BN folded except the input BN; opset 13"),
    ("tiny_vgg_keepbn", TinyVGG, 1, 13, True,
     "same model/weights as tiny_vgg exported with TrainingMode.PRESERVE: every BatchNormalization node kept; opset 13"),
    ("tiny_resnet", TinyResNet, 2, 13, False,
     "torch ResNet-like: stem conv-BN-ReLU, torchvision BasicBlock stride 2 with 1x1 conv+BN shortcut, identity torchvision BasicBlock, AdaptiveAvgPool-Flatten-Linear; all BN folded; opset 13"),
    ("tiny_resnet_keepbn", TinyResNet, 2, 13, True,
     "same model/weights as tiny_resnet exported with TrainingMode.PRESERVE: every BatchNormalization node kept; opset 13"),
    ("tiny_densenet", TinyDenseNet, 3, 13, False,
     "torch DenseNet-like: stem conv, dense block of 2 BN-ReLU-conv1x1-BN-ReLU-conv3x3 layers with Concat, transition BN-ReLU-conv1x1-AvgPool, BN-ReLU-GAP-Linear; BNs after concat survive; opset 13"),
    ("tiny_pad", TinyPad, 4, 11, False,
     "torch ZeroPad2d(1,2,0,1)->Pad, conv, AvgPool(3,s2,p1,count_include_pad)->Pad+AveragePool, AvgPool(2,ceil,exclude pad), MaxPool(3,s2,p1,ceil), ReLU, Flatten, Linear; opset 11"),
    ("tiny_view", TinyView, 5, 17, False,
     "torch conv-ReLU then x.view(x.size(0),-1) (Shape/Gather/Unsqueeze/Concat/Reshape) then Linear; opset 17"),
]


def build_tiny(cls, seed):
    """The seeded eval-mode torch model and its float32 [2,3,32,32] input (as numpy) of a tiny_* fixture."""
    torch.manual_seed(seed)
    model = cls()
    randomize_bn(model, seed + 100)
    model.eval()
    x = torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(seed + 200)).numpy()
    return model, x


def torch_fixtures(out_dir, manifest, report):
    specs = TORCH_SPECS
    for name, cls, seed, opset, keep_bn, desc in specs:
        model, x = build_tiny(cls, seed)
        with torch.no_grad():
            y = model(torch.from_numpy(x)).numpy().astype(np.float32)
        m = export_torch(model, x, opset, keep_bn)
        y_ort = ort_run(m.SerializeToString(), x)
        d = max_abs(y, y_ort)
        ops = op_types(m)
        print(f"[torch] {name:20s} opset {opset} ir {m.ir_version}  max|torch-ort| = {d:.3g}  "
              f"(|y|max {np.abs(y).max():.3g})")
        print(f"        ops: {ops}")
        assert d < 1e-4 * max(1.0, float(np.abs(y).max())), f"{name}: torch and onnxruntime disagree"
        n_bn = sum(n.op_type == "BatchNormalization" for n in m.graph.node)
        n_bn_torch = sum(isinstance(mm, nn.BatchNorm2d) for mm in model.modules())
        if name == "tiny_vgg":
            assert n_bn >= 1, "tiny_vgg: expected a surviving BatchNormalization"
        if keep_bn:
            assert n_bn == n_bn_torch, f"{name}: {n_bn} BN nodes, model has {n_bn_torch}"
        save_fixture(out_dir, name, m, x, y)
        manifest.append((name, desc))
        report.append((name, ops))


# --------------------------------------------------------------------------------------------
# hand-built op-level models (reference output: onnxruntime; cross-checked against numpy)
# --------------------------------------------------------------------------------------------

def np_conv2d(x, w, b, pads, strides=(1, 1), dilations=(1, 1), group=1):
    """ONNX Conv, pads = [top, left, bottom, right]."""
    x = np.pad(x.astype(np.float64), ((0, 0), (0, 0), (pads[0], pads[2]), (pads[1], pads[3])))
    w = w.astype(np.float64)
    n, c, h, wd = x.shape
    m, cg, kh, kw = w.shape
    eh, ew = (kh - 1) * dilations[0] + 1, (kw - 1) * dilations[1] + 1
    oh, ow = (h - eh) // strides[0] + 1, (wd - ew) // strides[1] + 1
    y = np.zeros((n, m, oh, ow))
    mg = m // group
    for g in range(group):
        xs = x[:, g * cg:(g + 1) * cg]
        for i in range(oh):
            for j in range(ow):
                patch = xs[:, :, i * strides[0]:i * strides[0] + eh:dilations[0],
                           j * strides[1]:j * strides[1] + ew:dilations[1]]
                y[:, g * mg:(g + 1) * mg, i, j] = np.einsum("nckl,mckl->nm", patch, w[g * mg:(g + 1) * mg])
    if b is not None:
        y += b.astype(np.float64)[None, :, None, None]
    return y


def same_pads(in_hw, k, s, d, upper):
    pads_begin, pads_end = [], []
    for i in range(2):
        out = -(-in_hw[i] // s[i])
        total = max((out - 1) * s[i] + (k[i] - 1) * d[i] + 1 - in_hw[i], 0)
        small, big = total // 2, total - total // 2
        pads_begin.append(small if upper else big)
        pads_end.append(big if upper else small)
    return pads_begin + pads_end


def np_pool2d(x, kind, k, s, pads, d=(1, 1), ceil=False, count_include_pad=False):
    """ONNX MaxPool/AveragePool, pads = [top, left, bottom, right]."""
    n, c, h, w = x.shape
    outs = []
    for a, size in enumerate((h, w)):
        ext = (k[a] - 1) * d[a] + 1
        num = size + pads[a] + pads[a + 2] - ext
        o = (-(-num // s[a]) if ceil else num // s[a]) + 1
        if ceil and (o - 1) * s[a] >= size + pads[a]:
            o -= 1  # last window must start inside the input or the leading padding
        outs.append(o)
    y = np.zeros((n, c, outs[0], outs[1]))
    x = x.astype(np.float64)
    for i in range(outs[0]):
        for j in range(outs[1]):
            rows = [i * s[0] - pads[0] + t * d[0] for t in range(k[0])]
            cols = [j * s[1] - pads[1] + t * d[1] for t in range(k[1])]
            rin = [r for r in rows if 0 <= r < h]
            cin = [q for q in cols if 0 <= q < w]
            win = x[:, :, rin][:, :, :, cin]
            if kind == "max":
                y[:, :, i, j] = win.max(axis=(2, 3))
            else:
                if count_include_pad:  # padded area counts, ceil overhang does not
                    rp = [r for r in rows if -pads[0] <= r < h + pads[2]]
                    cp = [q for q in cols if -pads[1] <= q < w + pads[3]]
                    div = len(rp) * len(cp)
                else:
                    div = len(rin) * len(cin)
                y[:, :, i, j] = win.sum(axis=(2, 3)) / div
    return y


class OpCase:
    def __init__(self, name, opset, sym, in_shape, desc):
        self.name, self.opset, self.sym, self.in_shape, self.desc = name, opset, sym, in_shape, desc
        self.nodes, self.inits = [], []

    def init(self, name, arr):
        self.inits.append(numpy_helper.from_array(arr, name))
        return name

    def node(self, op, ins, outs, **attrs):
        self.nodes.append(helper.make_node(op, ins, outs, name=f"{op.lower()}_{len(self.nodes)}", **attrs))


def op_cases():
    """Yield (OpCase, numpy input, numpy reference or None)."""
    F32 = np.float32

    def rs(seed):
        return np.random.RandomState(seed)

    # ---- Conv ----
    r = rs(10)
    c = OpCase("op_conv_asym_pads", 11, True, (2, 3, 7, 9),
               "Conv 3->4 k3 pads [1,0,2,1] strides [2,1] dilations [1,2] group 1 with bias; opset 11, batch N")
    x = r.randn(*c.in_shape).astype(F32); w = r.randn(4, 3, 3, 3).astype(F32); b = r.randn(4).astype(F32)
    c.node("Conv", ["x", c.init("W", w), c.init("B", b)], ["y"], kernel_shape=[3, 3],
           pads=[1, 0, 2, 1], strides=[2, 1], dilations=[1, 2], group=1)
    yield c, x, np_conv2d(x, w, b, [1, 0, 2, 1], (2, 1), (1, 2))

    r = rs(11)
    c = OpCase("op_conv_group", 13, False, (2, 6, 7, 9),
               "Conv 6->6 k3 pads 1 group 3, no bias; opset 13, batch 2")
    x = r.randn(*c.in_shape).astype(F32); w = r.randn(6, 2, 3, 3).astype(F32)
    c.node("Conv", ["x", c.init("W", w)], ["y"], kernel_shape=[3, 3], pads=[1, 1, 1, 1], group=3)
    yield c, x, np_conv2d(x, w, None, [1, 1, 1, 1], group=3)

    for name, opset, sym, upper in (("op_conv_same_upper", 17, True, True),
                                    ("op_conv_same_lower", 11, False, False)):
        r = rs(12 if upper else 13)
        mode = "SAME_UPPER" if upper else "SAME_LOWER"
        c = OpCase(name, opset, sym, (2, 3, 8, 9),
                   f"Conv 3->4 k3 auto_pad {mode} stride 2 on 8x9 (H pad total 1: asymmetric) with bias; "
                   f"opset {opset}, batch {'N' if sym else 2}")
        x = r.randn(*c.in_shape).astype(F32); w = r.randn(4, 3, 3, 3).astype(F32); b = r.randn(4).astype(F32)
        c.node("Conv", ["x", c.init("W", w), c.init("B", b)], ["y"], kernel_shape=[3, 3],
               auto_pad=mode, strides=[2, 2])
        yield c, x, np_conv2d(x, w, b, same_pads((8, 9), (3, 3), (2, 2), (1, 1), upper), (2, 2))

    r = rs(14)
    c = OpCase("op_conv_valid", 13, True, (2, 3, 7, 9),
               "Conv 3->5 k[3,2] auto_pad VALID stride 1 with bias; opset 13, batch N")
    x = r.randn(*c.in_shape).astype(F32); w = r.randn(5, 3, 3, 2).astype(F32); b = r.randn(5).astype(F32)
    c.node("Conv", ["x", c.init("W", w), c.init("B", b)], ["y"], kernel_shape=[3, 2], auto_pad="VALID")
    yield c, x, np_conv2d(x, w, b, [0, 0, 0, 0])

    # ---- pooling ----
    r = rs(20)
    c = OpCase("op_maxpool_ceil", 13, False, (2, 3, 8, 9),
               "MaxPool k3 s2 pads [1,1,1,1] ceil_mode 1 on 8x9 -> 5x5; opset 13, batch 2")
    x = r.randn(*c.in_shape).astype(F32)
    c.node("MaxPool", ["x"], ["y"], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1], ceil_mode=1)
    yield c, x, np_pool2d(x, "max", (3, 3), (2, 2), [1, 1, 1, 1], ceil=True)

    r = rs(21)
    c = OpCase("op_maxpool_dilated", 17, True, (2, 3, 9, 9),
               "MaxPool k3 dilations [2,2] pads [1,1,1,1] stride 1; opset 17, batch N")
    x = r.randn(*c.in_shape).astype(F32)
    c.node("MaxPool", ["x"], ["y"], kernel_shape=[3, 3], dilations=[2, 2], pads=[1, 1, 1, 1])
    yield c, x, np_pool2d(x, "max", (3, 3), (1, 1), [1, 1, 1, 1], d=(2, 2))

    r = rs(22)
    c = OpCase("op_avgpool_include_pad", 11, True, (2, 3, 7, 9),
               "AveragePool k3 s2 pads [1,1,1,1] count_include_pad 1; opset 11, batch N")
    x = r.randn(*c.in_shape).astype(F32)
    c.node("AveragePool", ["x"], ["y"], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1],
           count_include_pad=1)
    yield c, x, np_pool2d(x, "avg", (3, 3), (2, 2), [1, 1, 1, 1], count_include_pad=True)

    r = rs(23)
    c = OpCase("op_avgpool_exclude_pad", 13, False, (2, 3, 7, 9),
               "AveragePool k3 s2 pads [1,0,1,2] (asymmetric) count_include_pad 0; opset 13, batch 2")
    x = r.randn(*c.in_shape).astype(F32)
    c.node("AveragePool", ["x"], ["y"], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 0, 1, 2],
           count_include_pad=0)
    yield c, x, np_pool2d(x, "avg", (3, 3), (2, 2), [1, 0, 1, 2])

    r = rs(24)
    c = OpCase("op_avgpool_ceil", 17, False, (2, 3, 7, 9),
               "AveragePool k2 s2 ceil_mode 1 count_include_pad 0 on 7x9 -> 4x5 (partial last windows); opset 17, batch 2")
    x = r.randn(*c.in_shape).astype(F32)
    c.node("AveragePool", ["x"], ["y"], kernel_shape=[2, 2], strides=[2, 2], ceil_mode=1,
           count_include_pad=0)
    yield c, x, np_pool2d(x, "avg", (2, 2), (2, 2), [0, 0, 0, 0], ceil=True)

    r = rs(25)
    c = OpCase("op_global_avgpool", 11, False, (2, 3, 5, 7),
               "GlobalAveragePool; opset 11, batch 2")
    x = r.randn(*c.in_shape).astype(F32)
    c.node("GlobalAveragePool", ["x"], ["y"])
    yield c, x, x.astype(np.float64).mean(axis=(2, 3), keepdims=True)

    # ---- dense ----
    r = rs(30)
    c = OpCase("op_gemm_transb", 11, True, (2, 12),
               "Gemm transB 1 alpha 0.5 beta 2, B [5,12], C [5]; opset 11, batch N")
    x = r.randn(*c.in_shape).astype(F32); w = r.randn(5, 12).astype(F32); b = r.randn(5).astype(F32)
    c.node("Gemm", ["x", c.init("B", w), c.init("C", b)], ["y"], transB=1, alpha=0.5, beta=2.0)
    yield c, x, 0.5 * x.astype(np.float64) @ w.T.astype(np.float64) + 2.0 * b

    r = rs(31)
    c = OpCase("op_gemm_notrans", 13, False, (2, 12),
               "Gemm transB 0, B [12,5], C [1,5]; opset 13, batch 2")
    x = r.randn(*c.in_shape).astype(F32); w = r.randn(12, 5).astype(F32); b = r.randn(1, 5).astype(F32)
    c.node("Gemm", ["x", c.init("B", w), c.init("C", b)], ["y"])
    yield c, x, x.astype(np.float64) @ w.astype(np.float64) + b

    r = rs(32)
    c = OpCase("op_matmul_add", 17, True, (2, 12),
               "MatMul with constant [12,5] then Add of constant bias [5]; opset 17, batch N")
    x = r.randn(*c.in_shape).astype(F32); w = r.randn(12, 5).astype(F32); b = r.randn(5).astype(F32)
    c.node("MatMul", ["x", c.init("W", w)], ["xw"])
    c.node("Add", ["xw", c.init("bias", b)], ["y"])
    yield c, x, x.astype(np.float64) @ w.astype(np.float64) + b

    # ---- shape ops ----
    r = rs(40)
    c = OpCase("op_reshape", 13, True, (2, 3, 4, 5),
               "Reshape to [0,-1] with the shape from a Constant node; opset 13, batch N")
    x = r.randn(*c.in_shape).astype(F32)
    c.node("Constant", [], ["shape"], value=numpy_helper.from_array(np.array([0, -1], np.int64), "shape"))
    c.node("Reshape", ["x", "shape"], ["y"])
    yield c, x, x.reshape(2, -1)

    r = rs(41)
    c = OpCase("op_reshape_initializer", 17, False, (2, 3, 4, 5),
               "Reshape to [2,-1,3] with the shape as an int64 initializer (output 2x20x3); opset 17, batch 2")
    x = r.randn(*c.in_shape).astype(F32)
    c.node("Reshape", ["x", c.init("shape", np.array([2, -1, 3], np.int64))], ["y"])
    yield c, x, x.reshape(2, -1, 3)

    r = rs(42)
    c = OpCase("op_flatten_axis2", 11, True, (2, 3, 4, 5),
               "Flatten axis 2: [N,3,4,5] -> [N*3,20]; opset 11, batch N")
    x = r.randn(*c.in_shape).astype(F32)
    c.node("Flatten", ["x"], ["y"], axis=2)
    yield c, x, x.reshape(6, 20)

    r = rs(43)
    c = OpCase("op_concat_axis1", 13, False, (2, 3, 5, 5),
               "Concat axis 1 of Relu(x), Identity(x), Relu(Identity(x)) -> 9 channels; opset 13, batch 2")
    x = r.randn(*c.in_shape).astype(F32)
    c.node("Relu", ["x"], ["a"])
    c.node("Identity", ["x"], ["b"])
    c.node("Relu", ["b"], ["c"])
    c.node("Concat", ["a", "b", "c"], ["y"], axis=1)
    yield c, x, np.concatenate([np.maximum(x, 0), x, np.maximum(x, 0)], axis=1)

    # ---- misc ----
    r = rs(50)
    c = OpCase("op_dropout_identity", 13, True, (2, 3, 5, 5),
               "Dropout (ratio 0.3 as an initializer input, inference) then Identity; opset 13, batch N")
    x = r.randn(*c.in_shape).astype(F32)
    c.node("Dropout", ["x", c.init("ratio", np.array(0.3, F32))], ["d"])
    c.node("Identity", ["d"], ["y"])
    yield c, x, x

    r = rs(51)
    c = OpCase("op_bn", 17, False, (2, 4, 5, 6),
               "BatchNormalization on the input, epsilon 1e-3, random stats, one negative scale; opset 17, batch 2")
    x = r.randn(*c.in_shape).astype(F32)
    scale = (r.rand(4) + 0.5).astype(F32); scale[1] = -scale[1]
    bias = (r.randn(4) * 0.3).astype(F32)
    mean = (r.randn(4) * 0.5).astype(F32)
    var = (r.rand(4) * 1.5 + 0.5).astype(F32)
    c.node("BatchNormalization", ["x", c.init("scale", scale), c.init("bias", bias), c.init("mean", mean),
                                  c.init("var", var)], ["y"], epsilon=1e-3)
    sh = (1, 4, 1, 1)
    yield c, x, (scale.reshape(sh).astype(np.float64) * (x - mean.reshape(sh)) /
                 np.sqrt(var.reshape(sh).astype(np.float64) + 1e-3) + bias.reshape(sh))

    r = rs(52)
    c = OpCase("op_add", 11, True, (2, 3, 5, 5),
               "Add of two branches Relu(x) + Identity(x); opset 11, batch N")
    x = r.randn(*c.in_shape).astype(F32)
    c.node("Relu", ["x"], ["a"])
    c.node("Identity", ["x"], ["b"])
    c.node("Add", ["a", "b"], ["y"])
    yield c, x, np.maximum(x, 0) + x

    r = rs(53)
    c = OpCase("op_fp16_weights", 13, False, (2, 3, 7, 9),
               "Conv 3->4 k3 pads 1 whose weight initializer is float16, Cast to float before the Conv (fp32 bias); opset 13, batch 2")
    x = r.randn(*c.in_shape).astype(F32); w = r.randn(4, 3, 3, 3).astype(np.float16); b = r.randn(4).astype(F32)
    c.node("Cast", [c.init("W_fp16", w)], ["W"], to=TensorProto.FLOAT)
    c.node("Conv", ["x", "W", c.init("B", b)], ["y"], kernel_shape=[3, 3], pads=[1, 1, 1, 1])
    yield c, x, np_conv2d(x, w.astype(F32), b, [1, 1, 1, 1])

    r = rs(54)
    c = OpCase("op_fp64_weights", 17, True, (2, 3, 7, 9),
               "Conv 3->4 k3 pads 1 whose weight and bias initializers are float64, each Cast to float before the Conv; opset 17, batch N")
    x = r.randn(*c.in_shape).astype(F32); w = r.randn(4, 3, 3, 3).astype(np.float64); b = r.randn(4)
    c.node("Cast", [c.init("W_fp64", w)], ["W"], to=TensorProto.FLOAT)
    c.node("Cast", [c.init("B_fp64", b)], ["B"], to=TensorProto.FLOAT)
    c.node("Conv", ["x", "W", "B"], ["y"], kernel_shape=[3, 3], pads=[1, 1, 1, 1])
    yield c, x, np_conv2d(x, w.astype(F32), b.astype(F32), [1, 1, 1, 1])


def build_op_model(c, out_shape):
    in_shape = list(c.in_shape)
    if c.sym:
        in_shape[0] = "N"
    out = list(out_shape)
    if c.sym:
        # symbolic batch in, batch-dependent first output dim (N, or unnamed for Flatten axis 2)
        out[0] = "N" if out_shape[0] == c.in_shape[0] else None
    graph = helper.make_graph(
        c.nodes, c.name,
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, in_shape)],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, out)],
        initializer=c.inits)
    m = helper.make_model(graph, producer_name="relprop-make_onnx_fixtures",
                          opset_imports=[helper.make_opsetid("", c.opset)])
    m.ir_version = IR_FOR_OPSET[c.opset]
    onnx.checker.check_model(m, full_check=True)
    return m


def op_fixtures(out_dir, manifest, report):
    for c, x, ref in op_cases():
        m = build_op_model(c, ref.shape)
        y = ort_run(m.SerializeToString(), x).astype(np.float32)
        assert y.shape == ref.shape, (c.name, y.shape, ref.shape)
        d = max_abs(y, ref)
        print(f"[op]    {c.name:24s} opset {c.opset} ir {m.ir_version} batch {'N' if c.sym else 2}  "
              f"out {tuple(y.shape)}  max|ort-numpy| = {d:.3g}")
        assert d < 1e-4 * max(1.0, float(np.abs(ref).max())), f"{c.name}: onnxruntime and numpy disagree"
        save_fixture(out_dir, c.name, m, x, y)
        manifest.append((c.name, c.desc))
        report.append((c.name, op_types(m)))


# --------------------------------------------------------------------------------------------
# verification of what is on disk
# --------------------------------------------------------------------------------------------

def verify(out_dir):
    print("\n== verify: reload every fixture in MANIFEST, run onnxruntime, compare with NAME.output.npy ==")
    total = 0
    worst = 0.0
    with open(os.path.join(out_dir, "MANIFEST")) as f:
        lines = [l.rstrip("\n") for l in f if l.strip()]
    for line in lines:
        name, desc = line.split("\t")
        path = os.path.join(out_dir, name + ".onnx")
        m = onnx.load(path)
        onnx.checker.check_model(m)
        x = np.load(os.path.join(out_dir, name + ".input.npy"))
        y = np.load(os.path.join(out_dir, name + ".output.npy"))
        assert x.dtype == np.float32 and y.dtype == np.float32
        y_ort = ort_run(path, x)
        d = max_abs(y, y_ort)
        # models with a dynamic batch must also run on a single sample
        dim0 = m.graph.input[0].type.tensor_type.shape.dim[0]
        d1 = None
        if dim0.dim_param and y.shape[0] == x.shape[0]:
            d1 = max_abs(y[:1], ort_run(path, x[:1]))
        size = sum(os.path.getsize(os.path.join(out_dir, name + s)) for s in (".onnx", ".input.npy", ".output.npy"))
        total += size
        worst = max(worst, d)
        print(f"  {name:24s} in {str(tuple(x.shape)):16s} out {str(tuple(y.shape)):12s} "
              f"max|ref-ort| = {d:.3g}" + (f"  batch-1 {d1:.3g}" if d1 is not None else "") +
              f"  {size / 1024:.1f} KiB")
        assert d < 1e-4 * max(1.0, float(np.abs(y).max())), name
        assert d1 is None or d1 < 1e-4 * max(1.0, float(np.abs(y).max())), name
    total += os.path.getsize(os.path.join(out_dir, "MANIFEST"))
    print(f"  {len(lines)} fixtures, total {total} bytes ({total / 1024:.1f} KiB), worst diff {worst:.3g}")
    assert total < 2 * 1024 * 1024, "fixtures exceed 2 MB"


# --------------------------------------------------------------------------------------------
# optional: full-size torchvision models (not committed)
# --------------------------------------------------------------------------------------------

# name: (torchvision constructor name, extra constructor arguments, input side). Random weights (seed 0),
# randomized BatchNorm statistics (seed 100), ConvNeXt's layer scales and LayerNorm affine parameters randomized
# too (seed 101: torchvision initializes the layer scale to 1e-6, which would make every block the identity).
FULL_MODELS = {
    "vgg16": ("vgg16", {}, 224),
    "resnet18": ("resnet18", {}, 224),
    "resnet50": ("resnet50", {}, 224),
    "densenet121": ("densenet121", {}, 224),
    "mobilenet_v2": ("mobilenet_v2", {}, 224),
    "mobilenet_v3_small": ("mobilenet_v3_small", {}, 224),
    "efficientnet_b0": ("efficientnet_b0", {}, 224),
    "regnet_y_400mf": ("regnet_y_400mf", {}, 224),
    "mnasnet1_0": ("mnasnet1_0", {}, 224),
    "shufflenet_v2_x1_0": ("shufflenet_v2_x1_0", {}, 224),
    "convnext_tiny": ("convnext_tiny", {}, 224),
    "googlenet": ("googlenet", {"aux_logits": False, "init_weights": True}, 224),
    "inception_v3": ("inception_v3", {"aux_logits": False, "init_weights": True}, 299),
    "squeezenet1_1": ("squeezenet1_1", {}, 224),
    "alexnet": ("alexnet", {}, 224),
    "resnext50_32x4d": ("resnext50_32x4d", {}, 224),
}
# Models whose conv/linear weights are drawn again after construction (rescale_weights, seed 300): torchvision
# initializes every conv with a truncated normal of fixed std whatever its fan-in. Inception3's std 0.1 with random
# BatchNorm statistics multiplies the activations by ~4 per layer (logits ~2e12); GoogLeNet's std 0.01 shrinks the
# input's part so far that the logits hardly depend on the input (input gradient ~1e-15, torch's own float32 and
# float64 gradients 73 % apart): no meaningful reference for either.
FULL_RESCALED = {"inception_v3", "googlenet"}
FULL_DEFAULT = "vgg16,resnet18,resnet50,densenet121"
FULL_NEW = ("mobilenet_v2,mobilenet_v3_small,efficientnet_b0,regnet_y_400mf,mnasnet1_0,shufflenet_v2_x1_0,"
            "convnext_tiny,googlenet,inception_v3,squeezenet1_1,alexnet")


def randomize_layer_scale_and_ln(model, seed):
    """ConvNeXt: seeded layer scales in [0.2, 0.6] and LayerNorm affine parameters like randomize_bn's."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if hasattr(m, "layer_scale") and isinstance(m.layer_scale, torch.nn.Parameter):
                m.layer_scale.copy_(torch.rand(m.layer_scale.shape, generator=g) * 0.4 + 0.2)
            if isinstance(m, nn.LayerNorm) and m.elementwise_affine:
                c = m.weight.numel()
                m.weight.copy_((torch.rand(c, generator=g) + 0.5).view_as(m.weight))
                m.bias.copy_((torch.randn(c, generator=g) * 0.3).view_as(m.bias))


def rescale_weights(model, seed):
    """He-normal conv weights (std sqrt(2 / fan_in), fan_in = in-channels/groups x kernel area) and LeCun-normal
    linear weights (std sqrt(1 / fan_in)), seeded; biases and BatchNorm parameters are left as they are. With
    randomize_bn's statistics, inception_v3's BatchNorm outputs then have standard deviations 1.5-3 and its logits
    stay below 10 (checked on the fixture's input)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                gain = 2.0 if isinstance(m, nn.Conv2d) else 1.0
                m.weight.copy_(torch.randn(m.weight.shape, generator=g) * math.sqrt(gain / m.weight[0].numel()))


def build_full(name):
    """The seeded eval-mode torchvision model NAME (random weights, randomized BN statistics) and its float32
    [1,3,S,S] input (as numpy; S = 299 for inception_v3, else 224) of a --full fixture; also imported by
    tools/bench_zennit.py and tools/full_references.py."""
    import torchvision
    if name not in FULL_MODELS:
        raise ValueError(f"unknown full model {name!r}; known: {', '.join(FULL_MODELS)}")
    ctor, kwargs, side = FULL_MODELS[name]
    torch.manual_seed(0)
    model = getattr(torchvision.models, ctor)(weights=None, **kwargs)
    randomize_bn(model, 100)
    randomize_layer_scale_and_ln(model, 101)
    if name in FULL_RESCALED:
        rescale_weights(model, 300)
    for m in model.modules():  # zennit's hooks and in-place activations do not mix; the function is the same
        if hasattr(m, "inplace"):
            m.inplace = False
    model.eval()
    x = torch.randn(1, 3, side, side, generator=torch.Generator().manual_seed(200)).numpy()
    return model, x


def full_models(out_dir, names, opsets, references):
    """NAME.onnx (opset 13) and NAME.opsetN.onnx (other opsets), NAME.input.npy, NAME.output.npy (torch float32
    logits), NAME[.opsetN].ort.npy (onnxruntime's output of that export); with `references`, the gradient and
    zennit files of tools/full_references.py."""
    os.makedirs(out_dir, exist_ok=True)
    for name in names:
        t0 = time.time()
        model, x = build_full(name)
        with torch.no_grad():
            y = model(torch.from_numpy(x)).numpy().astype(np.float32)
        np.save(os.path.join(out_dir, name + ".input.npy"), np.ascontiguousarray(x))
        np.save(os.path.join(out_dir, name + ".output.npy"), np.ascontiguousarray(y))
        for opset in opsets:  # none with --full-references-only: the exports in out_dir are kept
            stem = name if opset == 13 else f"{name}.opset{opset}"
            m = export_torch(model, x, opset)
            onnx.save(m, os.path.join(out_dir, stem + ".onnx"))
            y_ort = ort_run(m.SerializeToString(), x).astype(np.float32)
            np.save(os.path.join(out_dir, stem + ".ort.npy"), np.ascontiguousarray(y_ort))
            d = max_abs(y, y_ort)
            print(f"[full]  {stem}: max|torch-ort| = {d:.3g} (|y|max {np.abs(y).max():.3g}), "
                  f"{time.time() - t0:.1f} s, {os.path.getsize(os.path.join(out_dir, stem + '.onnx'))} B", flush=True)
            print(f"        ops: {op_types(m)}", flush=True)
            assert d < 1e-3 * max(1.0, float(np.abs(y).max())), f"{stem}: torch and onnxruntime disagree"
        if references:
            import full_references  # zennit: only needed here
            full_references.write_references(out_dir, name, model, x, y)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=DEFAULT_OUT, help="fixture directory (default tests/fixtures/onnx)")
    ap.add_argument("--full", metavar="DIR", help="instead, export full torchvision models to DIR")
    ap.add_argument("--full-models", default=FULL_DEFAULT,
                    help=f"comma-separated models for --full (default {FULL_DEFAULT}; 'new' = {FULL_NEW}; 'all')")
    ap.add_argument("--full-opsets", default="13", help="comma-separated opsets for --full (e.g. 13,17)")
    ap.add_argument("--full-references-only", action="store_true",
                    help="with --full, write only the input, output and reference files (keep the exports in DIR)")
    ap.add_argument("--full-references", action="store_true",
                    help="with --full, also the autograd gradient and zennit epsilon-plus-flat references "
                         "(tools/full_references.py; needs zennit 0.5.1)")
    args = ap.parse_args()
    import onnxruntime as ort
    print(f"torch {torch.__version__}, onnx {onnx.__version__}, onnxruntime {ort.__version__}, "
          f"numpy {np.__version__}")
    if args.full:
        names = {"new": FULL_NEW, "all": ",".join(FULL_MODELS)}.get(args.full_models, args.full_models)
        full_models(args.full, [s for s in names.split(",") if s],
                    [] if args.full_references_only else [int(s) for s in args.full_opsets.split(",") if s],
                    args.full_references or args.full_references_only)
        return
    os.makedirs(args.out, exist_ok=True)
    manifest, report = [], []
    torch_fixtures(args.out, manifest, report)
    op_fixtures(args.out, manifest, report)
    from make_fusion_fixtures import fusion_fixtures  # the fuse_* fixtures (tools/make_fusion_fixtures.py)
    fusion_fixtures(args.out, manifest, report)
    with open(os.path.join(args.out, "MANIFEST"), "w") as f:
        for name, desc in manifest:
            assert "\t" not in desc and "\n" not in desc
            f.write(f"{name}\t{desc}\n")
    verify(args.out)
    print("\n== op types per fixture ==")
    for name, ops in report:
        print(f"  {name:24s} {ops}")


if __name__ == "__main__":
    main()
