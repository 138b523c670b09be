#!/usr/bin/env python3
"""Keras/TensorFlow fixtures for relprop (tests/fixtures/keras/): python is used ONLY here, never at run time.

How to run (the venv lives OUTSIDE the repository; the pyenv python3 on PATH reaches PyPI):

    python3 -m venv /work/venv-keras
    /work/venv-keras/bin/pip install -r tools/requirements-keras.txt
    cd /work/wt-keras && /work/venv-keras/bin/python tools/make_keras_fixtures.py

    # optional, NOT committed: the four keras.applications models (random weights), both layouts, opsets
    # 13 and 17, with inputs, onnxruntime outputs and TensorFlow gradients, and the ONNX node types listed
    /work/venv-keras/bin/python tools/make_keras_fixtures.py --full /work/keras-exports
    # VGG16: one export per process, weights frozen by hand (the default path needs more than 14 GB):
    /work/venv-keras/bin/python tools/make_keras_fixtures.py --full /work/keras-exports --full-models vgg16 \
        --freeze-by-hand --opsets 13 --layouts nhwc

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
            layer.set_weights([
                rng.uniform(0.5, 1.5, c).astype(np.float32),
                rng.uniform(-0.3, 0.3, c).astype(np.float32),
                rng.uniform(-0.3, 0.3, c).astype(np.float32),
                rng.uniform(0.5, 2.0, c).astype(np.float32),
            ])


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


def freeze_by_hand(fn, spec, model):
    """The GraphDef of fn's concrete function with every variable read (ReadVariableOp of a captured Keras weight)
    replaced by a Const of its value: what TensorFlow's convert_variables_to_constants_v2 gives for a Keras 3 model
    traced inline, without its copies (VGG16: 2.7 GB peak instead of more than 14 GB). Returns (graph_def, input
    names, output names)."""
    from tensorflow.core.framework import graph_pb2
    cf = fn.get_concrete_function(*spec)
    by_handle = {id(v.value.handle): v for v in model.weights}
    weight_of = {ph.op.name: by_handle[id(value)] for value, ph in cf.graph.captures if id(value) in by_handle}
    gd = cf.graph.as_graph_def()
    if len(gd.library.function) or len(weight_of) != len(cf.graph.captures):
        raise RuntimeError(f"freeze_by_hand: {len(gd.library.function)} nested functions, {len(weight_of)} of "
                           f"{len(cf.graph.captures)} captures are weights; export without --freeze-by-hand")
    frozen = graph_pb2.GraphDef()
    frozen.versions.CopyFrom(gd.versions)
    for node in gd.node:
        if node.op == "Placeholder" and node.name in weight_of:
            continue
        if node.op == "ReadVariableOp" and node.input[0] in weight_of:
            value = np.asarray(weight_of[node.input[0]].numpy())
            const = frozen.node.add()
            const.name, const.op = node.name, "Const"
            const.attr["dtype"].type = tf.as_dtype(value.dtype).as_datatype_enum
            const.attr["value"].tensor.CopyFrom(tf.make_tensor_proto(value))
            continue
        frozen.node.add().CopyFrom(node)
    names = lambda tensors: [t.name for t in tensors if t.dtype != tf.dtypes.resource]  # noqa: E731
    return frozen, names(cf.inputs), names(cf.outputs)


def inline_external(proto, storage):
    """Puts tf2onnx's external tensor storage (large_model) back into the tensors: one ordinary .onnx file."""
    def inline(t):
        if t.data_location == onnx.TensorProto.EXTERNAL:
            t.raw_data = storage.name_to_tensor_data[{e.key: e.value for e in t.external_data}["location"]]
            del t.external_data[:]
            t.data_location = onnx.TensorProto.DEFAULT
    for t in proto.graph.initializer:
        inline(t)
    for node in proto.graph.node:
        for attr in node.attribute:
            if attr.type == onnx.AttributeProto.TENSOR:
                inline(attr.t)


def export(model, shape_nhwc, opset, nchw, path, by_hand=False):
    """tf2onnx export of model(x, training=False) with a symbolic batch; returns the ONNX model.
    by_hand: freeze the weights with freeze_by_hand and convert the GraphDef (from_graph_def runs the same grappler
    pass as from_function) with tf2onnx's large_model storage, which keeps the weights out of the TensorFlow graph
    while converting; the tensors are put back, so the file is one ordinary .onnx. The default path needs more than
    14 GB for VGG16."""
    spec = [tf.TensorSpec((None,) + tuple(shape_nhwc), tf.float32, name="input")]
    fn = tf.function(lambda x: model(x, training=False))
    if by_hand:
        graph_def, inputs, outputs = freeze_by_hand(fn, spec, model)
        proto, storage = tf2onnx.convert.from_graph_def(graph_def, input_names=inputs, output_names=outputs,
                                                        opset=opset, inputs_as_nchw=inputs if nchw else None,
                                                        large_model=True)
        inline_external(proto, storage)
        onnx.save_model(proto, path)
        return proto
    proto, _ = tf2onnx.convert.from_function(fn, input_signature=spec, opset=opset,
                                             inputs_as_nchw=["input:0"] if nchw else None, output_path=path)
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


def export_all(model, x, g, y_tf, prefix, out, opsets=(13, 17), layouts=("nhwc", "nchw"), by_hand=False):
    """Both layouts at opsets 13 and 17: PREFIX_{nhwc,nchw}_op{13,17}.{onnx,input.npy,output.npy,grad.npy}.
    Returns (stem, opset, nchw) per export."""
    done = []
    for opset in opsets:
        for nchw in [layout == "nchw" for layout in layouts]:
            stem = f"{prefix}_{'nchw' if nchw else 'nhwc'}_op{opset}"
            path = os.path.join(out, stem + ".onnx")
            proto = export(model, x.shape[1:], opset, nchw, path, by_hand)
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


def write_full(out, names, opsets, layouts, by_hand):
    apps = keras.applications
    makers = {"vgg16": apps.VGG16, "resnet50": apps.ResNet50, "densenet121": apps.DenseNet121,
              "mobilenet_v2": apps.MobileNetV2}
    os.makedirs(out, exist_ok=True)
    for name in names:
        keras.utils.set_random_seed(0)
        model = makers[name](weights=None, classifier_activation=None)  # logits, as explained
        randomize_batchnorm(model, np.random.default_rng(1))
        x = np.random.default_rng(2).uniform(-1, 1, (1, 224, 224, 3)).astype(np.float32)
        y_tf = model(x, training=False).numpy()
        target = np.array([int(np.argmax(y_tf[0]))], dtype=np.int64)
        g = tf_gradient(model, x, target)
        np.save(os.path.join(out, f"{name}.target.npy"), target)
        export_all(model, x, g, y_tf, name, out, opsets, layouts, by_hand)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=OUT)
    ap.add_argument("--full", metavar="DIR", help="export the keras.applications models to DIR instead")
    ap.add_argument("--full-models", nargs="*", default=["mobilenet_v2", "resnet50", "densenet121", "vgg16"])
    ap.add_argument("--opsets", nargs="*", type=int, default=[13, 17])
    ap.add_argument("--layouts", nargs="*", choices=["nhwc", "nchw"], default=["nhwc", "nchw"])
    ap.add_argument("--freeze-by-hand", action="store_true",
                    help="freeze the weights by hand and convert the GraphDef (vgg16: ~8 GB instead of more than 14)")
    a = ap.parse_args()
    print(f"tensorflow {tf.__version__}, keras {keras.__version__}, tf2onnx {tf2onnx.__version__}, "
          f"onnxruntime {ort.__version__}, onnx {onnx.__version__}", file=sys.stderr)
    if a.full:
        write_full(a.full, a.full_models, a.opsets, a.layouts, a.freeze_by_hand)
    else:
        write_small(a.out)


if __name__ == "__main__":
    main()
