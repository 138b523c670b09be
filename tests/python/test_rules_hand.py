"""DESIGN.md's hand calculation through Python: a dense layer W = (1, -1), b = -1 at x = (1, 1), relevance
starting as R = f(x) = -1 (init="logit"): AlphaBeta(1,0) and ZPlus give (-1, 0), AlphaBeta(2,1) gives (-2, 0.5)."""

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

import relprop


def dense_layer_onnx():
    """y = x W^T + b as an ONNX Gemm (the model's bytes)."""
    graph = helper.make_graph(
        [helper.make_node("Gemm", ["x", "W", "b"], ["y"], name="dense", transB=1)], "hand",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 1])],
        [helper.make_tensor("W", TensorProto.FLOAT, [1, 2], [1.0, -1.0]),
         helper.make_tensor("b", TensorProto.FLOAT, [1], [-1.0])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    onnx.checker.check_model(model)
    return model.SerializeToString()


@pytest.mark.parametrize("rule, want", [("alpha-beta:1,0", [-1.0, 0.0]), ("zplus", [-1.0, 0.0]),
                                        ("alpha-beta:2,1", [-2.0, 0.5])])
def test_alpha_beta_by_hand(rule, want):
    model = relprop.Model(dense_layer_onnx())  # from bytes
    attr = relprop.Attributor(model, composite="epsilon-plus", rules={"#0": rule}, init="logit")
    assert attr.rules[0][0] == "dense" and attr.rules[0][3] == "override '#0'"
    res = attr(np.array([[1.0, 1.0]], dtype=np.float32))
    assert res.logits.tolist() == [[-1.0]]
    assert res.targets.tolist() == [0]
    np.testing.assert_allclose(res.relevance, [want], rtol=1e-5, atol=0)  # as tests/test_rules_hand.cpp: the stabilizer moves 1e-6


def test_rules_given_as_a_list_and_later_ones_win():
    model = relprop.Model(dense_layer_onnx())
    attr = relprop.Attributor(model, composite="epsilon-plus", rules=["#0=alpha-beta:1,0", "dense=alpha-beta:2,1"],
                              init="logit")
    np.testing.assert_allclose(attr(np.ones((1, 2), np.float32)).relevance, [[-2.0, 0.5]], rtol=1e-5, atol=0)  # as tests/test_rules_hand.cpp: the stabilizer moves 1e-6
