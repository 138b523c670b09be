#!/usr/bin/env python3
"""Float64 references for counting ReLU/ReLU6/max-pool decision flips in relprop's forward (not committed).

For each keras.applications model of `make_keras_fixtures.py --full` (same seeds: the same weights as the exports)
this builds a float64 twin (same weights cast to float64), takes seeded inputs (uniform in [-1, 1]; input 0 is the
exports' own input, seed 2; then seeds 100, 101, …) and writes to DIR/flips/NAME/:
    MANIFEST           one `LAYER<TAB>KIND` line per decision layer (KIND: relu, relu6, maxpool), Keras layer names
    input_K.npy        input K, NCHW float32 (the `_nchw_` export's layout)
    target_K.npy       the float64 model's argmax logit (int64 [1])
    grad64_K.npy       TensorFlow float64 input gradient of that logit (NCHW, stored as float32)
    grad32_K.npy       TensorFlow float32 input gradient of that logit (NCHW)
    codes_K_LAYER.npy  the float64 model's decision at every element of LAYER's output, NCHW float32:
                       relu: 1 where the output is > 0, else 0; relu6: 0 (x <= 0), 1 (0 < x < 6), 2 (x >= 6);
                       maxpool: the flat index (y·W + x) in the input plane of the window's first maximum, or -1
                       where that maximum is <= 0 (an all-zero window after a ReLU: its choice does not matter)
    tf32.txt           per input `K<TAB>flips<TAB>gradient error`: TensorFlow float32's own decision flips against
                       float64 (same codes) and its gradient's relative L2 error against float64 — the float32 floor
tests/integration/test_keras_flips.cpp counts relprop's flips against these codes and compares its gradient.

    /work/venv-keras/bin/python tools/keras_flip_references.py /work/keras-exports --inputs 4
"""

import argparse
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

import numpy as np
import tensorflow as tf

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_keras_fixtures import randomize_batchnorm  # noqa: E402

keras = tf.keras
MAKERS = {"vgg16": "VGG16", "resnet50": "ResNet50", "densenet121": "DenseNet121", "mobilenet_v2": "MobileNetV2"}


def build(name, dtype):
    keras.config.set_dtype_policy(dtype)
    keras.utils.set_random_seed(0)
    model = getattr(keras.applications, MAKERS[name])(weights=None, classifier_activation=None)
    keras.config.set_dtype_policy("float32")
    return model


def decision_layers(model):
    """(layer, kind) for every layer whose output is a ReLU/ReLU6 decision, and every max-pooling layer."""
    out = []
    for layer in model.layers:
        cls = type(layer).__name__
        act = getattr(layer, "activation", None)
        if cls == "ReLU":
            if layer.max_value is not None and float(layer.max_value) == 6.0 and float(layer.negative_slope) == 0:
                out.append((layer.name, "relu6"))
            elif layer.max_value is None and float(layer.negative_slope) == 0 and float(layer.threshold) == 0:
                out.append((layer.name, "relu"))
            else:
                raise ValueError(f"{layer.name}: ReLU with max_value {layer.max_value} is not counted")
        elif act is not None and getattr(act, "__name__", "") == "relu":
            out.append((layer.name, "relu"))
        elif cls == "MaxPooling2D":
            out.append((layer.name, "maxpool"))
    return out


def nchw(a):
    return a.transpose(0, 3, 1, 2) if a.ndim == 4 else a


def maxpool_codes(x, pool, stride):
    """x NHWC (valid padding): per output element the flat input-plane index of the first maximum, -1 where <= 0."""
    n, h, w, c = x.shape
    oh, ow = (h - pool) // stride + 1, (w - pool) // stride + 1
    best = np.full((n, oh, ow, c), -np.inf)
    arg = np.zeros((n, oh, ow, c), dtype=np.int64)
    for ky in range(pool):
        for kx in range(pool):
            v = x[:, ky:ky + stride * (oh - 1) + 1:stride, kx:kx + stride * (ow - 1) + 1:stride, :]
            iy = (np.arange(oh) * stride + ky)[None, :, None, None]
            ix = (np.arange(ow) * stride + kx)[None, None, :, None]
            better = v > best  # strict: the first maximum in window order wins
            best = np.where(better, v, best)
            arg = np.where(better, iy * w + ix, arg)
    return np.where(best > 0, arg, -1).astype(np.float32)


def codes(model, layers, x):
    """Decision codes (NCHW float32) per decision layer for input x (NHWC)."""
    tensors = []
    for name, kind in layers:
        layer = model.get_layer(name)
        tensors.append(layer.input if kind == "maxpool" else layer.output)
    probe = keras.Model(model.inputs, tensors)
    values = probe(x, training=False)
    out = {}
    for (name, kind), v in zip(layers, values):
        v = np.asarray(v)
        if kind == "relu":
            c = (v > 0).astype(np.float32)
        elif kind == "relu6":
            c = np.where(v <= 0, 0, np.where(v >= 6, 2, 1)).astype(np.float32)
        else:
            layer = model.get_layer(name)
            if layer.padding != "valid" or layer.pool_size[0] != layer.pool_size[1]:
                raise ValueError(f"{name}: only square valid max pooling is handled")
            c = maxpool_codes(v, layer.pool_size[0], layer.strides[0])
        out[name] = nchw(c)
    return out


def gradient(model, x, target):
    x = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(x)
        picked = model(x, training=False)[0, target]
    return tape.gradient(picked, x).numpy()


def rel_l2(a, b):
    return float(np.linalg.norm((a - b).ravel()) / np.linalg.norm(b.ravel()))


def write_model(name, out, inputs):
    m32 = build(name, "float32")
    randomize_batchnorm(m32, np.random.default_rng(1))
    m64 = build(name, "float64")
    m64.set_weights([w.astype(np.float64) for w in m32.get_weights()])
    if m64.weights[0].dtype != "float64":
        raise RuntimeError(f"{name}: the float64 twin has {m64.weights[0].dtype} weights")
    layers = decision_layers(m32)
    folder = os.path.join(out, "flips", name)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "MANIFEST"), "w") as f:
        f.write("".join(f"{n}\t{k}\n" for n, k in layers))
    stats = []
    for k in range(inputs):
        x32 = np.random.default_rng(2 if k == 0 else 99 + k).uniform(-1, 1, (1, 224, 224, 3)).astype(np.float32)
        x64 = x32.astype(np.float64)
        y64 = m64(x64, training=False).numpy()
        if y64.dtype != np.float64:
            raise RuntimeError(f"{name}: the float64 twin computes in {y64.dtype}")
        target = int(np.argmax(y64[0]))
        g64 = gradient(m64, x64, target)
        g32 = gradient(m32, x32, target)
        c64 = codes(m64, layers, x64)
        c32 = codes(m32, layers, x32)
        flips = sum(int(np.count_nonzero(c64[n] != c32[n])) for n, _ in layers)
        err = rel_l2(g32.astype(np.float64), g64)
        np.save(os.path.join(folder, f"input_{k}.npy"), nchw(x32).copy())
        np.save(os.path.join(folder, f"target_{k}.npy"), np.array([target], dtype=np.int64))
        np.save(os.path.join(folder, f"grad64_{k}.npy"), nchw(g64).astype(np.float32).copy())
        np.save(os.path.join(folder, f"grad32_{k}.npy"), nchw(g32).copy())
        for n, _ in layers:
            np.save(os.path.join(folder, f"codes_{k}_{n}.npy"), np.ascontiguousarray(c64[n]))
        stats.append(f"{k}\t{flips}\t{err:.3e}\n")
        print(f"{name} input {k}: target {target}, TF float32 vs float64: {flips} flips, gradient {err:.2e}",
              flush=True)
    with open(os.path.join(folder, "tf32.txt"), "w") as f:
        f.write("".join(stats))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dir", help="the --full export folder (writes DIR/flips/NAME/)")
    ap.add_argument("--models", nargs="*", default=list(MAKERS))
    ap.add_argument("--inputs", type=int, default=4)
    a = ap.parse_args()
    for name in a.models:
        write_model(name, a.dir, a.inputs)


if __name__ == "__main__":
    main()
