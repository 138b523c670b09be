#!/usr/bin/env python3
"""Keras/TensorFlow fixtures for relprop (tests/fixtures/keras/): python is used ONLY here, never at run time.

How to run (the venv lives OUTSIDE the repository; the pyenv python3 on PATH reaches PyPI):

    python3 -m venv /work/venv-keras
    /work/venv-keras/bin/pip install -r tools/requirements-keras.txt
    cd /work/wt-keras && /work/venv-keras/bin/python tools/make_keras_fixtures.py

    # optional, NOT committed: the four keras.applications models (random weights), both layouts, opsets
    # 13 and 17, with inputs, onnxruntime outputs and TensorFlow gradients, and the ONNX node types listed
    /work/venv-keras/bin/python tools/make_keras_fixtures.py --full /work/keras-exports

The small CNN (tests/fixtures/keras/): Conv2D → BatchNormalization → ReLU6 → MaxPooling2D → Conv2D →
BatchNormalization → ReLU → MaxPooling2D → Flatten → Dense → BatchNormalization → ReLU → Dense (logits), random
weights from a fixed seed, every BatchNormalization with non-trivial moving statistics. It is converted with
tf2onnx (`from_function`: `from_keras` fails on Keras 3 models) at opsets 13 and 17, once as it comes (NHWC input
[N,16,16,3]) and once with `inputs_as_nchw` (input [N,3,16,16]). Files, for NAME = cnn_nhwc_op13, cnn_nchw_op13,
cnn_nhwc_op17, cnn_nchw_op17:
    NAME.onnx            the export
    NAME.input.npy       the input in the export's layout (float32, batch 2)
    NAME.output.npy      onnxruntime's output (logits [2, 10])
    NAME.grad.npy        TensorFlow's input gradient (GradientTape) of the target logit summed over the batch,
                         in the export's layout
    target.npy           the target logit per batch row (int64 [2])
tests/fixtures/keras/MANIFEST lists the models, one `NAME<TAB>description` line each.
Everything is deterministic (fixed seeds); rerunning rewrites the same numbers.
"""

import argparse
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

import numpy as np
import onnx
import onnxruntime as ort
import tensorflow as tf
import tf2onnx
from onnx_summary import op_types  # noqa: E402  (tools/onnx_summary.py, beside this script)

keras = tf.keras

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(REPO, "tests", "fixtures", "keras")
TARGET = np.array([3, 7], dtype=np.int64)


def randomize_batchnorm(model, rng):
    """Non-trivial gamma, beta, moving mean and moving variance for every BatchNormalization."""
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            c = layer.get_weights()[0].shape[0]
            gamma, beta, mean, var = (rng.uniform(lo, hi, c).astype(np.float32)
                                      for lo, hi in ((0.5, 1.5), (-0.3, 0.3), (-0.3, 0.3), (0.5, 2.0)))
            # scale=False (InceptionV3) or center=False layers have no gamma or beta
            layer.set_weights(([gamma] if layer.scale else []) + ([beta] if layer.center else []) + [mean, var])


def freeze_normalization(model, rng):
    """Keras' Normalization layer (EfficientNet, EfficientNetV2, ConvNeXt preprocessing) keeps its mean and variance
    as eager tensors, which tf.function captures as extra graph inputs (onnxruntime then asks for them): make them
    variables, which tf2onnx freezes into constants. A layer that was never adapted (EfficientNet with weights=None:
    mean 0, variance 1) gets per-channel statistics like ImageNet's, so the export has non-trivial constants."""
    for layer in model.layers:
        if isinstance(layer, keras.layers.Normalization):
            if layer.input_mean is None:
                c = layer.adapt_mean.shape[-1]
                layer.adapt_mean.assign(rng.uniform(0.4, 0.5, c).astype(np.float32))
                layer.adapt_variance.assign((rng.uniform(0.22, 0.23, c) ** 2).astype(np.float32))
                layer.finalize_state()
            layer.mean = tf.Variable(layer.mean, trainable=False)
            layer.variance = tf.Variable(layer.variance, trainable=False)


def small_cnn():
    keras.utils.set_random_seed(0)
    L = keras.layers
    model = keras.Sequential([
        keras.Input((16, 16, 3), name="input"),
        L.Conv2D(8, 3, padding="same", name="conv1"),
        L.BatchNormalization(name="bn1"),
        L.ReLU(max_value=6.0, name="relu6"),
        L.MaxPooling2D(2, name="pool1"),
        L.Conv2D(12, 3, padding="same", name="conv2"),
        L.BatchNormalization(name="bn2"),
        L.ReLU(name="relu2"),
        L.MaxPooling2D(2, name="pool2"),
        L.Flatten(name="flatten"),
        L.Dense(16, name="dense1"),
        L.BatchNormalization(name="bn3"),
        L.ReLU(name="relu3"),
        L.Dense(10, name="logits"),
    ], name="cnn")
    randomize_batchnorm(model, np.random.default_rng(1))
    return model


def traced_conv(inputs, kernel, strides=1, padding="valid", data_format=None, dilation_rate=1):
    """Keras 3's TensorFlow conv without its XLA detour: Keras runs grouped (ConvNeXt's depthwise) Conv2D through
    a tf.function(jit_compile=True), which tf2onnx leaves as an unconvertible StatefulPartitionedCall. Only traced
    for the export (TensorFlow's own numbers are computed eagerly, with XLA, as Keras does)."""
    from keras.src.backend.tensorflow.nn import _convert_data_format
    tf_format = _convert_data_format(data_format, len(inputs.shape))
    return tf.nn.convolution(inputs, kernel, strides, padding.upper(), data_format=tf_format, dilations=dilation_rate)


def traced_gelu(x, approximate=True):
    """tf.nn.gelu's exact form is x·erfc(−x/√2)/2, and tf2onnx writes TensorFlow's Erfc as an ONNX "Erfc", which
    does not exist: traced for the export as x·(1 + erf(x/√2))/2 (the same function; ConvNeXt's GELU)."""
    x = tf.convert_to_tensor(x)
    if approximate:
        return tf.nn.gelu(x, approximate=True)
    return 0.5 * x * (1.0 + tf.math.erf(x / np.sqrt(2.0).astype(np.float32)))


def export(model, shape_nhwc, opset, nchw, path):
    """tf2onnx export of model(x, training=False) with a symbolic batch; returns the ONNX model."""
    import keras.src.backend.tensorflow.nn as tf_nn
    spec = [tf.TensorSpec((None,) + tuple(shape_nhwc), tf.float32, name="input")]
    fn = tf.function(lambda x: model(x, training=False))
    keras_conv, keras_gelu = tf_nn.conv, tf_nn.gelu
    tf_nn.conv, tf_nn.gelu = traced_conv, traced_gelu
    try:
        proto, _ = tf2onnx.convert.from_function(fn, input_signature=spec, opset=opset,
                                                 inputs_as_nchw=["input:0"] if nchw else None, output_path=path)
    finally:
        tf_nn.conv, tf_nn.gelu = keras_conv, keras_gelu
    return proto


def tf_gradient(model, x_nhwc, target):
    """d(sum_n logits[n, target[n]])/dx (GradientTape), NHWC."""
    x = tf.constant(x_nhwc)
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = model(x, training=False)
        picked = tf.reduce_sum(tf.gather(y, target, axis=1, batch_dims=1))
    return tape.gradient(picked, x).numpy()


def ort_run(path, x):
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    return sess.run(None, {sess.get_inputs()[0].name: x})[0]


def rel(a, b):
    return float(np.abs(a - b).max() / max(np.abs(b).max(), 1e-30))


OPSETS = (13, 17)
LAYOUTS = ("nhwc", "nchw")
BATCH = 1


def export_all(model, x, g, y_tf, prefix, out):
    """Both layouts at opsets 13 and 17 (or OPSETS/LAYOUTS as --opsets/--layouts set them):
    PREFIX_{nhwc,nchw}_op{13,17}.{onnx,input.npy,output.npy,grad.npy}. Returns (stem, opset, nchw) per export."""
    done = []
    for opset in OPSETS:
        for nchw in (layout == "nchw" for layout in LAYOUTS):
            stem = f"{prefix}_{'nchw' if nchw else 'nhwc'}_op{opset}"
            path = os.path.join(out, stem + ".onnx")
            proto = export(model, x.shape[1:], opset, nchw, path)
            xin = x.transpose(0, 3, 1, 2).copy() if nchw else x
            gin = g.transpose(0, 3, 1, 2).copy() if nchw else g
            y = ort_run(path, xin)
            np.save(os.path.join(out, stem + ".input.npy"), xin)
            np.save(os.path.join(out, stem + ".output.npy"), y)
            np.save(os.path.join(out, stem + ".grad.npy"), gin.astype(np.float32))
            print(f"{stem}: onnxruntime vs TensorFlow {rel(y, y_tf):.1e}; ops: {op_types(proto)}", flush=True)
            done.append((stem, opset, nchw))
    return done


def write_small(out):
    os.makedirs(out, exist_ok=True)
    model = small_cnn()
    x = np.random.default_rng(2).uniform(-1, 1, (2, 16, 16, 3)).astype(np.float32)
    y_tf = model(x, training=False).numpy()
    g = tf_gradient(model, x, TARGET)
    np.save(os.path.join(out, "target.npy"), TARGET)
    manifest = [f"{stem}\tsmall Keras CNN (conv-BN-ReLU6-pool, conv-BN-ReLU-pool, flatten, dense-BN-ReLU, dense), "
                f"tf2onnx opset {opset}, input {'NCHW (inputs_as_nchw)' if nchw else 'NHWC'}"
                for stem, opset, nchw in export_all(model, x, g, y_tf, "cnn", out)]
    with open(os.path.join(out, "MANIFEST"), "w") as f:
        f.write("\n".join(manifest) + "\n")


def write_full(out, names):
    apps = keras.applications
    makers = {"vgg16": apps.VGG16, "resnet50": apps.ResNet50, "densenet121": apps.DenseNet121,
              "mobilenet_v2": apps.MobileNetV2,
              # the sweep of the other keras.applications models (README: "Models from Keras")
              "efficientnet_b0": apps.EfficientNetB0, "resnet50_v2": apps.ResNet50V2, "xception": apps.Xception,
              "inception_v3": apps.InceptionV3, "mobilenet_v3_small": apps.MobileNetV3Small,
              "nasnet_mobile": apps.NASNetMobile, "convnext_tiny": apps.ConvNeXtTiny,
              "efficientnet_v2_b0": apps.EfficientNetV2B0}
    os.makedirs(out, exist_ok=True)
    for name in names:
        keras.utils.set_random_seed(0)
        model = makers[name](weights=None, classifier_activation=None)  # logits, as explained
        randomize_batchnorm(model, np.random.default_rng(1))
        freeze_normalization(model, np.random.default_rng(3))
        # 224x224x3; Xception and InceptionV3 299x299x3; MobileNetV3 declares [None, None, 3]: 224x224
        size = tuple(d or 224 for d in model.input_shape[1:])
        x = np.random.default_rng(2).uniform(-1, 1, (BATCH,) + size).astype(np.float32)
        y_tf = model(x, training=False).numpy()
        target = np.argmax(y_tf, axis=1).astype(np.int64)
        g = tf_gradient(model, x, target)
        np.save(os.path.join(out, f"{name}.target.npy"), target)
        export_all(model, x, g, y_tf, name, out)


def main():
    global OPSETS, LAYOUTS, BATCH
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=OUT)
    ap.add_argument("--full", metavar="DIR", help="export the keras.applications models to DIR instead")
    ap.add_argument("--full-models", nargs="*", default=["mobilenet_v2", "resnet50", "densenet121", "vgg16"])
    ap.add_argument("--opsets", nargs="*", type=int, default=list(OPSETS),
                    help="with --full: only these opsets (VGG16's conversion needs ~15+ GB: one export per process)")
    ap.add_argument("--layouts", nargs="*", choices=LAYOUTS, default=list(LAYOUTS), help="with --full: only these")
    ap.add_argument("--batch", type=int, default=BATCH, help="with --full: the input's batch size (default 1)")
    a = ap.parse_args()
    OPSETS, LAYOUTS, BATCH = tuple(a.opsets), tuple(a.layouts), a.batch
    print(f"tensorflow {tf.__version__}, keras {keras.__version__}, tf2onnx {tf2onnx.__version__}, "
          f"onnxruntime {ort.__version__}, onnx {onnx.__version__}", file=sys.stderr)
    if a.full:
        write_full(a.full, a.full_models)
    else:
        write_small(a.out)


if __name__ == "__main__":
    main()
