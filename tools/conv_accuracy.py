#!/usr/bin/env python3
"""Rounding error of float32 convolutions in other engines, against float64 (issue 15 §6).

Measures, for the single conv layers of tests/test_conv_accuracy.cpp (VGG16 and ResNet50 sizes), the relative
L2 error ||y32 - y64|| / ||y64|| of the forward convolution and of the transposed convolution (the
backward-data pass the LRP rules run) in onnxruntime, and in torch / TensorFlow where they import. The
figures set the bound of the C++ test (a few times the best engine's error). Same data model as the test:
ReLU'd standard normal inputs (standard normal for the stem, which sees the normalized image), He-normal
weights (std sqrt(2 / fan_in)), standard normal output gradients; the random streams differ, the statistics
do not.

    /usr/bin/python3 -m venv --system-site-packages /work/venv-convacc
    /work/venv-convacc/bin/pip install onnxruntime
    /work/venv-convacc/bin/python tools/conv_accuracy.py               # onnxruntime and Debian's torch
    VENV_WITH_TF/bin/python tools/conv_accuracy.py --engines tf        # TensorFlow, where installed

Prints one table row per layer and direction; --json FILE writes the figures.

End to end (--gradient MODEL --full-dir DIR --relprop BIN): the input gradient of the seeded torchvision MODEL
(vgg16 or resnet50, DIR from tools/make_onnx_fixtures.py --full) for its float64 top class, from relprop
(`relprop explain --method gradient`, its default convolution layouts and RELPROP_CONV_LAYOUT=blocked, the
layouts before issue 15 §6) and from torch in float32, each against torch's float64 gradient; also the ReLU
and max-pool decisions torch's float32 forward takes differently from float64.
"""

import argparse
import json
import sys

import numpy as np

# name, in channels, input size, out channels, kernel, stride (pad = kernel // 2): tests/test_conv_accuracy.cpp
LAYERS = [
    ("vgg16 conv3_2", 256, 56, 256, 3, 1),
    ("vgg16 conv4_2", 512, 28, 512, 3, 1),
    ("vgg16 conv5_2", 512, 14, 512, 3, 1),
    ("resnet50 stem 7x7/2", 3, 224, 64, 7, 2),
    ("resnet50 layer1 3x3", 64, 56, 64, 3, 1),
    ("resnet50 layer1 1x1 256->64", 256, 56, 64, 1, 1),
    ("resnet50 layer2 3x3/2", 128, 56, 128, 3, 2),
    ("resnet50 layer3 3x3", 256, 14, 256, 3, 1),
    ("resnet50 layer3 downsample 1x1/2", 512, 28, 1024, 1, 2),
    ("resnet50 layer4 1x1 2048->512", 2048, 7, 512, 1, 1),
    ("resnet50 layer4 3x3", 512, 7, 512, 3, 1),
]


def layer_data(c, h, o, k, s, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((1, c, h, h)).astype(np.float32)
    if c > 3:
        x = np.maximum(x, 0)
    w = (rng.standard_normal((o, c, k, k)) * np.sqrt(2.0 / (c * k * k))).astype(np.float32)
    oh = (h + 2 * (k // 2) - k) // s + 1
    gy = rng.standard_normal((1, o, oh, oh)).astype(np.float32)
    return x, w, gy


def conv64(x, w, s):
    """Forward convolution in float64 (pad k // 2), one matrix product per kernel tap."""
    o, c, k, _ = w.shape
    p, h = k // 2, x.shape[2]
    oh = (h + 2 * p - k) // s + 1
    xp = np.pad(x[0].astype(np.float64), ((0, 0), (p, p), (p, p)))
    y = np.zeros((o, oh * oh))
    for a in range(k):
        for b in range(k):
            patch = xp[:, a:a + s * (oh - 1) + 1:s, b:b + s * (oh - 1) + 1:s].reshape(c, -1)
            y += w[:, :, a, b].astype(np.float64) @ patch
    return y.reshape(1, o, oh, oh)


def conv_transpose64(gy, w, s, h):
    """Backward data of conv64 in float64: the input gradient of size h."""
    o, c, k, _ = w.shape
    p, oh = k // 2, gy.shape[2]
    gxp = np.zeros((c, h + 2 * p + s, h + 2 * p + s))
    g = gy[0].astype(np.float64).reshape(o, -1)
    for a in range(k):
        for b in range(k):
            contrib = (w[:, :, a, b].astype(np.float64).T @ g).reshape(c, oh, oh)
            gxp[:, a:a + s * (oh - 1) + 1:s, b:b + s * (oh - 1) + 1:s] += contrib
    return gxp[None, :, p:p + h, p:p + h]


def rel_l2(y, ref):
    return float(np.linalg.norm(y.astype(np.float64) - ref) / np.linalg.norm(ref))


def ort_engine():
    import onnxruntime as ort
    from onnx import TensorProto, helper

    def model(op, w, s, h, out_shape, **attrs):
        k = w.shape[2]
        node = helper.make_node(op, ["x", "w"], ["y"], kernel_shape=[k, k], strides=[s, s],
                                pads=[k // 2] * 4, **attrs)
        graph = helper.make_graph([node], "conv", [helper.make_tensor_value_info("x", TensorProto.FLOAT, None)],
                                  [helper.make_tensor_value_info("y", TensorProto.FLOAT, out_shape)],
                                  [helper.make_tensor("w", TensorProto.FLOAT, w.shape, w.ravel())])
        m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
        m.ir_version = 7
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 2
        return ort.InferenceSession(m.SerializeToString(), opts, providers=["CPUExecutionProvider"])

    def forward(x, w, s):
        return model("Conv", w, s, x.shape[2], None).run(None, {"x": x})[0]

    def backward(gy, w, s, h):
        k = w.shape[2]
        extra = h - ((gy.shape[2] - 1) * s - 2 * (k // 2) + k)
        return model("ConvTranspose", w, s, h, None, output_padding=[extra, extra]).run(None, {"x": gy})[0]

    return "onnxruntime " + ort.__version__, forward, backward


def torch_engine():
    import torch
    import torch.nn.functional as F
    torch.set_num_threads(2)

    def forward(x, w, s):
        with torch.no_grad():
            return F.conv2d(torch.from_numpy(x), torch.from_numpy(w), stride=s, padding=w.shape[2] // 2).numpy()

    def backward(gy, w, s, h):
        k = w.shape[2]
        extra = h - ((gy.shape[2] - 1) * s - 2 * (k // 2) + k)
        with torch.no_grad():
            return F.conv_transpose2d(torch.from_numpy(gy), torch.from_numpy(w), stride=s, padding=k // 2,
                                      output_padding=extra).numpy()

    return "torch " + torch.__version__, forward, backward


def tf_engine():
    import tensorflow as tf

    def pad_explicit(k):
        return [[0, 0], [k // 2, k // 2], [k // 2, k // 2], [0, 0]]

    def forward(x, w, s):
        y = tf.nn.conv2d(x.transpose(0, 2, 3, 1), w.transpose(2, 3, 1, 0), strides=s, padding=pad_explicit(w.shape[2]))
        return y.numpy().transpose(0, 3, 1, 2)

    def backward(gy, w, s, h):
        c = w.shape[1]
        gx = tf.nn.conv2d_transpose(gy.transpose(0, 2, 3, 1), w.transpose(2, 3, 1, 0), (1, h, h, c), strides=s,
                                    padding=pad_explicit(w.shape[2]))
        return gx.numpy().transpose(0, 3, 1, 2)

    return "tensorflow " + tf.__version__, forward, backward


ENGINES = {"ort": ort_engine, "torch": torch_engine, "tf": tf_engine}


def gradient_end_to_end(name, full_dir, relprop):
    import os
    import subprocess
    import tempfile

    import torch
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from make_onnx_fixtures import build_full

    torch.set_num_threads(2)
    model, _ = build_full(name)
    x = np.load(os.path.join(full_dir, name + ".input.npy"))

    def grad(m, dtype):
        xt = torch.from_numpy(x).to(dtype).requires_grad_(True)
        m = m.to(dtype)
        flips = []
        hooks = [mod.register_forward_hook(lambda mod, i, o: flips.append(o.detach().clone()))
                 for mod in m.modules() if isinstance(mod, (torch.nn.Conv2d, torch.nn.MaxPool2d))]
        out = m(xt)
        for h in hooks:
            h.remove()
        return out, flips, xt

    out64, acts64, x64 = grad(model, torch.float64)
    target = int(out64.argmax())
    out64[0, target].backward()
    g64 = x64.grad.numpy()
    out32, acts32, x32 = grad(model, torch.float32)
    out32[0, target].backward()
    relu_flips = sum(int(((a > 0) != (b > 0)).sum()) for a, b in zip(acts32, acts64))
    print(f"{name}: top class {target}; torch float32 forward: {relu_flips} conv/pool outputs with another sign "
          f"than in float64")
    rows = [("torch " + torch.__version__ + " float32", x32.grad.numpy())]
    with tempfile.TemporaryDirectory() as tmp:
        for label, layout in (("relprop (default layouts)", None), ("relprop RELPROP_CONV_LAYOUT=blocked", "blocked")):
            env = dict(os.environ)
            env.pop("RELPROP_CONV_LAYOUT", None)
            if layout:
                env["RELPROP_CONV_LAYOUT"] = layout
            out = os.path.join(tmp, "g.npy")
            subprocess.run([relprop, "explain", os.path.join(full_dir, name + ".onnx"),
                            os.path.join(full_dir, name + ".input.npy"), "--method", "gradient",
                            "--target", str(target), "--out", out], check=True, env=env, stdout=subprocess.DEVNULL)
            rows.append((label, np.load(out)))
    for label, g in rows:
        print(f"| {name} input gradient | {label} | {rel_l2(g, g64):.2e} |")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--engines", default="ort,torch", help="comma list of ort, torch, tf (default ort,torch)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--json", help="write the figures here")
    ap.add_argument("--gradient", metavar="MODEL", help="instead, the end-to-end input gradient of vgg16 or resnet50")
    ap.add_argument("--full-dir", default="tests/fixtures/full", help="with --gradient: the --full exports")
    ap.add_argument("--relprop", default="build/tools/relprop", help="with --gradient: the relprop command")
    args = ap.parse_args()
    if args.gradient:
        gradient_end_to_end(args.gradient, args.full_dir, args.relprop)
        return
    engines = []
    for e in args.engines.split(","):
        try:
            engines.append(ENGINES[e]())
        except ImportError as err:
            print(f"{e}: not importable ({err}); skipped", file=sys.stderr)
    results = []
    print("| layer | direction | " + " | ".join(name for name, _, _ in engines) + " |")
    print("|---|---|" + "---|" * len(engines))
    for i, (name, c, h, o, k, s) in enumerate(LAYERS):
        x, w, gy = layer_data(c, h, o, k, s, args.seed + i)
        y64, gx64 = conv64(x, w, s), conv_transpose64(gy, w, s, h)
        for direction, ref, run in (("forward", y64, lambda f, b: f(x, w, s)),
                                    ("backward-data", gx64, lambda f, b: b(gy, w, s, h))):
            errs = {label: rel_l2(run(f, b), ref) for label, f, b in engines}
            results.append({"layer": name, "direction": direction, "rel_l2": errs})
            print(f"| {name} | {direction} | " + " | ".join(f"{errs[label]:.2e}" for label, _, _ in engines) + " |",
                  flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
