"""What a careless caller passes: each case gets the right result or a clear relprop.Error / TypeError, never a
crash, silent garbage or pybind11's "Unable to cast" RuntimeError."""

import os
import shutil

import numpy as np
import pytest

import relprop
from conftest import DEMO, bits


def message(error, call):
    with pytest.raises(error) as caught:
        call()
    return str(caught.value)


def test_heatmap_of_an_empty_batch_is_an_error_not_a_crash():
    assert message(relprop.Error, lambda: relprop.heatmap(np.zeros((0, 1, 4, 4), np.float32))) == \
        "heatmap: relevance [N, C, H, W] holds no sample (N = 0)"


def test_heatmap_overlays_must_match_the_batch():
    r = np.ones((3, 1, 4, 4), np.float32)
    assert message(relprop.Error, lambda: relprop.heatmap(r, overlay=np.zeros((1, 4, 4, 3), np.uint8))) == \
        "heatmap: overlay holds 1 images for 3 relevance maps"
    assert message(relprop.Error, lambda: relprop.heatmap(r[0], overlay=np.zeros((2, 4, 4, 3), np.uint8))) == \
        "heatmap: overlay holds 2 images for 1 relevance map"
    one = relprop.heatmap(r[0], overlay=np.full((4, 4, 3), 9, np.uint8))
    assert np.array_equal(relprop.heatmap(r[:1], overlay=np.full((1, 4, 4, 3), 9, np.uint8))[0], one)


@pytest.mark.parametrize("image, got", [
    (np.full((4, 4, 3), 0.7), "values of dtype float64"),
    (np.full((4, 4, 3), 0.7, np.float32), "values of dtype float32"),
    (np.full((4, 4), 300), "values from 300 to 300"),
    (np.arange(-1, 15, dtype=np.int16).reshape(4, 4), "values from -1 to 14"),
])
def test_images_that_are_not_uint8_are_refused_not_wrapped(tmp_path, image, got):
    png = tmp_path / "x.png"
    assert got in message(relprop.Error, lambda: relprop.write_png(png, image))
    assert not png.exists()
    r = np.ones((4, 4), np.float32)
    assert got in message(relprop.Error, lambda: relprop.heatmap(r, overlay=image))


def test_integer_images_within_0_to_255_are_written(tmp_path):
    relprop.write_png(tmp_path / "a.png", np.arange(16, dtype=np.int64).reshape(4, 4) * 17)
    relprop.write_png(tmp_path / "b.png", (np.arange(16, dtype=np.uint8).reshape(4, 4) * 17))
    assert (tmp_path / "a.png").read_bytes() == (tmp_path / "b.png").read_bytes()


def test_model_from_a_strided_buffer_reads_its_bytes_in_order(model, batch):
    data = (DEMO / "digits.onnx").read_bytes()
    doubled = np.zeros(2 * len(data), np.uint8)
    doubled[::2] = np.frombuffer(data, np.uint8)
    reversed_view = np.frombuffer(data[::-1], np.uint8)[::-1]
    want = bits(relprop.Attributor(model)(batch[:1]).relevance)
    for source in (doubled[::2], memoryview(doubled)[::2], reversed_view):
        again = relprop.Model(source)
        assert again.nodes == model.nodes
        assert np.array_equal(bits(relprop.Attributor(again)(batch[:1]).relevance), want)


@pytest.mark.parametrize("x, got", [
    (None, "got None"),
    (np.array([None] * 1024, dtype=object).reshape(1, 1, 32, 32), "got an array of dtype object"),
    (np.zeros((1, 1, 32, 32), np.complex64), "got an array of dtype complex64"),
    ([[[[None] * 32] * 32]], "got list (numpy makes it an array of dtype object)"),
])
def test_non_numbers_are_refused_not_turned_into_nan(model, x, got):
    assert message(relprop.Error, lambda: relprop.Attributor(model)(x)) == "input: expected an array of numbers, " + got
    assert message(relprop.Error, lambda: relprop.heatmap(x)) == \
        "heatmap: relevance: expected an array of numbers, " + got


@pytest.mark.parametrize("targets, got", [
    (1.5, "float"),
    (np.array([1.0]), "ndarray holding float64"),
    ("3", "str"),
    ({1: 2}, "dict"),
    (True, "bool"),
    (np.True_, "bool_"),
    (np.array([True, False]), "ndarray holding bool_"),
    (np.array([[1], [2]]), "ndarray holding ndarray"),
    ([1, None], "list holding None"),
])
def test_targets_that_are_not_integers_are_a_type_error(model, batch, targets, got):
    assert message(TypeError, lambda: relprop.Attributor(model)(batch[:2], targets)) == \
        "targets: expected an integer or a sequence of integers, got " + got


def test_targets_as_numpy_integers(model, batch):
    attr = relprop.Attributor(model)
    assert attr(batch[:2], np.int64(3)).targets.tolist() == [3, 3]
    assert attr(batch[:2], np.array(4)).targets.tolist() == [4, 4]
    assert attr(batch[:2], np.array([1, 2], np.uint8)).targets.tolist() == [1, 2]
    assert attr(batch[:2], (-1, 5)).targets.tolist() == [0, 5]  # -1: the highest output
    assert message(relprop.Error, lambda: attr(batch[:1], 2**64)) == "targets: 18446744073709551616 is out of range"


def test_sizes_and_names_of_the_wrong_type_are_a_type_error(model):
    data = (DEMO / "digits.onnx").read_bytes()
    assert message(TypeError, lambda: relprop.Model(data, input_shape=(1, 1, 32.0, 32))) == \
        "input_shape: expected a sequence of integers, got tuple holding float"
    assert message(TypeError, lambda: relprop.Model(data, input_shape="1,1,32,32")) == \
        "input_shape: expected a sequence of integers, got str"
    assert relprop.Model(data, input_shape=np.array([2, 1, 32, 32])).input_shape == (2, 1, 32, 32)
    occlusion = dict(method="occlusion")
    assert message(TypeError, lambda: relprop.Attributor(model, window=8.0, **occlusion)) == \
        "window: expected an integer or a sequence of integers, got float"
    assert message(TypeError, lambda: relprop.Attributor(model, stride="4", **occlusion)) == \
        "stride: expected an integer or a sequence of integers, got str"
    for rules, got in ((5, "int"), ({"first=flat"}, "set"), (["first=flat", 1], "list holding int")):
        assert message(TypeError, lambda: relprop.Attributor(model, rules=rules)) == \
            "rules: expected a dict {selector: rule} or a list of 'SELECTOR=RULE' texts, got " + got
    png = DEMO / "digit_18_8.png"
    assert message(TypeError, lambda: relprop.load_image(png, preprocess=3)) == \
        "preprocess: expected a preset name (str) or None, got int"
    assert message(TypeError, lambda: relprop.load_image(png, model, scale="x")) == \
        "scale: expected a number, got str"
    assert message(TypeError, lambda: relprop.load_image(png, channels=1.0)) == \
        "channels: expected an integer, got float"


def test_the_baseline_is_copied_when_the_attributor_is_made(model, batch):
    baseline = np.zeros((1, 32, 32), np.float32)
    attr = relprop.Attributor(model, method="integrated-gradients", steps=4, baseline=baseline)
    before = bits(attr(batch[:1]).relevance)
    baseline[:] = 0.5
    assert np.array_equal(bits(attr(batch[:1]).relevance), before)


def test_a_baseline_number_may_be_a_numpy_scalar(model, batch):
    ig = dict(method="integrated-gradients", steps=4)
    want = bits(relprop.Attributor(model, baseline=0.5, **ig)(batch[:1]).relevance)
    for number in (np.float32(0.5), np.float64(0.5), np.array(0.5)):
        assert np.array_equal(bits(relprop.Attributor(model, baseline=number, **ig)(batch[:1]).relevance), want)
    assert message(relprop.Error, lambda: relprop.Attributor(model, baseline=None, **ig)) == \
        "baseline: expected an array of numbers, got None"


def test_mean_and_std_of_the_wrong_length_name_the_channel_count(model):
    assert message(relprop.Error, lambda: relprop.load_image(DEMO / "digit_18_8.png", model)) == \
        "preprocess: mean has 3 values and std 3; each needs 1 value (the image has 1 channel)"


@pytest.mark.parametrize("option, value, got", [
    ("epsilon", float("inf"), "a finite number, got inf"),
    ("gamma", float("nan"), "a finite number, got nan"),
    ("fill", float("nan"), "a finite number, got nan"),
    ("baseline", -float("inf"), "a finite number, got -inf"),
    ("baseline", np.where(np.eye(32) > 0, np.nan, 0)[None], "finite numbers, got 32 NaN/Inf of 1024 values"),
    ("low", float("nan"), "a finite number, got nan"),
    ("high", [float("inf")], "a finite number, got inf"),
])
def test_nonfinite_numbers_are_refused_as_the_command_line_refuses_them(model, option, value, got):
    options = dict(method="integrated-gradients", composite="epsilon-gamma-box", low=0.0, high=1.0)
    options[option] = value
    assert message(relprop.Error, lambda: relprop.Attributor(model, **options)) == f"{option}: expected {got}"


def test_load_image_names_a_model_of_the_wrong_type():
    assert message(TypeError, lambda: relprop.load_image(DEMO / "digit_18_8.png", str(DEMO / "digits.onnx"))) == \
        "model: expected a relprop.Model or None, got str"


def test_model_paths_need_not_be_utf8(model, tmp_path):
    name = tmp_path / os.fsdecode(b"digits-\xff.onnx")  # a byte that is not UTF-8, as the file system allows
    shutil.copy(DEMO / "digits.onnx", name)
    assert relprop.Model(name).nodes == model.nodes
    assert relprop.Model(str(name)).nodes == model.nodes
    missing = str(tmp_path / os.fsdecode(b"none-\xfe.onnx"))
    assert message(relprop.Error, lambda: relprop.Model(missing)).endswith(": no such file")


def test_a_misspelt_model_keyword_is_named_without_repeating_the_file():
    data = (DEMO / "digits.onnx").read_bytes()
    assert message(TypeError, lambda: relprop.Model(data, canonise="none")) == \
        "Model() got an unexpected keyword argument 'canonise'; it takes source, canonize, device, input_shape, " \
        "allow_nonfinite_weights, external_data_dir"
    assert message(TypeError, lambda: relprop.Model(data, "none")) == \
        "Model() takes 1 positional argument (source), got 2; give canonize, device, input_shape, " \
        "allow_nonfinite_weights, external_data_dir by keyword"
    assert message(TypeError, lambda: relprop.Model(data, canonize=None)) == "canonize: expected a text, got None"
    assert message(TypeError, lambda: relprop.Model(data, device=0)) == "device: expected a text, got int"
    assert message(TypeError, lambda: relprop.Model(data, allow_nonfinite_weights="yes")) == \
        "allow_nonfinite_weights: expected a bool, got str"
    assert relprop.Model(source=data, canonize="none").nodes[0] == ("/stem/stem.0/Conv", "Conv")


def test_misspelt_keywords_and_extra_arguments_are_named(model, batch):
    attr = relprop.Attributor(model)
    assert message(TypeError, lambda: relprop.Attributor(model, compsite="epsilon-plus")).startswith(
        "Attributor() got an unexpected keyword argument 'compsite'; it takes model, method, composite, rules,")
    assert message(TypeError, lambda: relprop.Attributor(model, "gradient")).startswith(
        "Attributor() takes 1 positional argument (model), got 2; give method, composite,")
    assert message(TypeError, lambda: attr(batch, target=1)) == \
        "Attributor.__call__() got an unexpected keyword argument 'target'; it takes x, targets"
    assert message(TypeError, lambda: attr(batch, 1, 2)) == \
        "Attributor.__call__() takes 2 positional arguments (x, targets), got 3"
    assert message(TypeError, lambda: relprop.heatmap(batch[0], "bwr")) == \
        "heatmap() takes 1 positional argument (relevance), got 2; give cmap, symmetric, overlay, alpha, scale, " \
        "channels_last by keyword"


@pytest.mark.parametrize("method", ["smoothgrad", "integrated-gradients"])
def test_a_max_batch_beyond_int32_is_one_pass(model, batch, method):
    """engine/attribution.cpp stepped through the points with the group size cast to int: 2^31 gave a negative
    batch, 2^32 a step of 0 (a loop without end)."""
    options = dict(method=method, samples=3, steps=3)
    want = bits(relprop.Attributor(model, max_batch=64, **options)(batch[:2]).relevance)
    for max_batch in (2**31, 2**31 + 3):
        attr = relprop.Attributor(model, max_batch=max_batch, **options)
        assert np.array_equal(bits(attr(batch[:2]).relevance), want)


def test_an_image_side_beyond_int32_is_refused_before_it_is_copied(tmp_path):
    tall = np.broadcast_to(np.uint8(7), (2**31, 1))  # 2 GiB as a C-contiguous copy; a view of one byte here
    assert message(relprop.Error, lambda: relprop.write_png(tmp_path / "tall.png", tall)) == \
        "write_png: expected a uint8 image [H, W] or [H, W, C] with C = 1 to 4, got 2147483648x1 pixels " \
        "(a side may be at most 2^31 - 1)"
