"""Failures become relprop.Error (a ValueError) with the library's message: the command line's, word for word."""

import numpy as np
import pytest

import relprop
from conftest import DEMO, run_cli

CLI_PREFIX = "relprop: error: "


def error_of(call):
    with pytest.raises(relprop.Error) as caught:
        call()
    assert isinstance(caught.value, ValueError)
    return str(caught.value)


def cli_error(cli, *args):
    status, _, err = run_cli(cli, *args)
    assert status != 0
    lines = [line for line in err.splitlines() if line.startswith(CLI_PREFIX)]
    assert len(lines) == 1, err
    return lines[0][len(CLI_PREFIX):]


def test_error_is_a_value_error():
    assert issubclass(relprop.Error, ValueError)
    assert relprop.Error.__module__ == "relprop"


def test_same_messages_as_the_cli(cli, tmp_path):
    missing = tmp_path / "missing.onnx"
    want = cli_error(cli, "explain", missing, DEMO / "digits_batch.npy")
    assert "missing.onnx" in want
    assert error_of(lambda: relprop.Model(missing)) == want

    want = cli_error(cli, "explain", DEMO / "digits.onnx", DEMO / "digits_batch.npy", "--rule", "NoSuchNode=flat")
    model = relprop.Model(DEMO / "digits.onnx")
    assert "NoSuchNode" in want
    assert error_of(lambda: relprop.Attributor(model, rules={"NoSuchNode": "flat"})) == want

    want = cli_error(cli, "explain", DEMO / "digits.onnx", DEMO / "digits_batch.npy", "--rule", "#0=nonsense")
    assert error_of(lambda: relprop.Attributor(model, rules=["#0=nonsense"])) == want


def test_input_errors_name_the_problem():
    model = relprop.Model(DEMO / "digits.onnx")
    attr = relprop.Attributor(model)
    assert "[1, 1, 16, 16]" in error_of(lambda: attr(np.zeros((1, 1, 16, 16), np.float32)))
    x = np.load(DEMO / "digits_batch.npy")[:1].copy()
    x[0, 0, 0, 5] = np.nan
    assert "1 of 1024 values are NaN/Inf (first at index 5)" in error_of(lambda: attr(x))
    assert np.isfinite(relprop.Attributor(model, allow_nonfinite=True)(x).logits).sum() >= 0
    assert error_of(lambda: attr("abc")) == "input: expected an array of numbers, got str"
    assert "10" in error_of(lambda: attr(np.zeros((1, 1, 32, 32), np.float32), targets=10))


def test_option_errors_list_the_choices():
    model = relprop.Model(DEMO / "digits.onnx")
    assert "smoothgrad" in error_of(lambda: relprop.Attributor(model, method="nope"))
    assert "epsilon-plus-flat" in error_of(lambda: relprop.Attributor(model, composite="nope"))
    assert error_of(lambda: relprop.Attributor(model, init="two")) == "init: 'two' is not one of onehot, logit"
    assert error_of(lambda: relprop.Attributor(model, method="occlusion", keep_node_relevance=True)) == \
        "keep_node_relevance needs the lrp, gradient or input-x-gradient method, not occlusion"
    assert "bwr" in error_of(lambda: relprop.heatmap(np.zeros((4, 4), np.float32), cmap="rainbow"))
    assert "no such file" in error_of(lambda: relprop.load_image(str(DEMO / "none.png")))
    assert "torch" in error_of(lambda: relprop.load_image(str(DEMO / "digit_18_8.png"), preprocess="pytorch"))
