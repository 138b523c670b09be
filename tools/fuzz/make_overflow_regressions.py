"""Writes tests/fuzz/regressions/onnx/*_overflow.onnx: tiny models whose constant inputs (not attributes,
which the importer bounds to ±2^31) carry values near 2^63. fuzz-onnx found the first (Pad) in CI; the
others were found by reading every op that takes integers from a constant input.
Run with /usr/bin/python3 (Debian's python3-onnx): python3 tools/fuzz/make_overflow_regressions.py"""
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OUT = os.path.join(os.path.dirname(__file__), "..", "..", "tests", "fuzz", "regressions", "onnx")
BIG = 2**62


def save(name, nodes, inits, out_shape):
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2, 4, 4])
    ys = [helper.make_tensor_value_info(o, TensorProto.FLOAT, None) for o in out_shape]
    graph = helper.make_graph(nodes, name, [x], ys, [numpy_helper.from_array(np.array(v, dtype=np.int64), k)
                                                      for k, v in inits.items()])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="relprop-regression")
    onnx.save(model, os.path.join(OUT, name + ".onnx"))


# Pad: pads near 2^62 from the 'pads' input overflowed H + begin + end.
save("pad_constant_pads_overflow", [helper.make_node("Pad", ["x", "pads"], ["y"], name="pad_0")],
     {"pads": [0, 0, BIG, BIG, 0, 0, BIG, BIG]}, ["y"])
# Slice: a step near 2^63 overflowed the count arithmetic and the strides.
save("slice_constant_step_overflow",
     [helper.make_node("Slice", ["x", "starts", "ends", "axes", "steps"], ["y"], name="slice_0")],
     {"starts": [0], "ends": [4], "axes": [2], "steps": [2**63 - 1]}, ["y"])
# Split: sizes from the 'split' input were summed unchecked.
save("split_constant_sizes_overflow", [helper.make_node("Split", ["x", "split"], ["a", "b"], axis=2, name="split_0")],
     {"split": [BIG, BIG]}, ["a", "b"])
