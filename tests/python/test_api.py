"""The module's API: results as numpy arrays, zero-copy inputs, every method, per-node relevance, heatmaps, images,
and that importing relprop imports no torch."""

import subprocess
import sys

import numpy as np
import pytest

import relprop
from relprop import _core
from conftest import DEMO, FIXTURES, bits, demo_pngs


def test_model_properties(model):
    assert model.input_shape == (-1, 1, 32, 32)
    assert model.device.startswith("cpu")
    assert model.opset == 13
    assert len(model.nodes) > 5 and all(isinstance(name, str) and isinstance(op, str) for name, op in model.nodes)
    assert model.canonize_changes == []  # the export folded its BatchNorms already
    kept = relprop.Model(FIXTURES / "onnx" / "tiny_vgg_keepbn.onnx")
    assert any(change.startswith("merge-batchnorm") for change in kept.canonize_changes)
    assert "relprop.Model(input_shape=(-1, 1, 32, 32)" in repr(model)
    assert relprop.__version__.count(".") == 2


def test_model_from_bytes_explains_the_same(model, batch):
    again = relprop.Model((DEMO / "digits.onnx").read_bytes())
    a = relprop.Attributor(model)(batch)
    b = relprop.Attributor(again)(batch)
    assert np.array_equal(bits(a.relevance), bits(b.relevance))


def test_c_contiguous_float32_input_is_used_in_place(batch):
    assert _core._input_address(batch) == batch.ctypes.data
    as_double = batch.astype(np.float64)
    assert _core._input_address(as_double) != as_double.ctypes.data
    strided = np.asfortranarray(batch)
    assert _core._input_address(strided) != strided.ctypes.data


def test_result_arrays(model, batch):
    res = relprop.Attributor(model)(batch)
    assert res.relevance.dtype == np.float32 and res.relevance.shape == batch.shape
    assert res.logits.dtype == np.float32 and res.logits.shape == (6, 10)
    assert res.targets.dtype == np.int64 and res.targets.tolist() == [0, 3, 3, 5, 7, 8]
    assert res.node_relevance is None
    assert res.explained_output == "output"
    # other input types are converted once and give the same result
    again = relprop.Attributor(model)(batch.astype(np.float64).tolist())
    assert np.array_equal(bits(again.relevance), bits(res.relevance))
    assert relprop.Attributor(model)(batch, targets=[7] * 6).targets.tolist() == [7] * 6


def test_node_relevance_conserves_at_the_first_layer(model, batch):
    attr = relprop.Attributor(model, keep_node_relevance=True, zero_bias=True)
    res = attr(batch[:1])
    nodes = [name for name, _ in model.nodes]
    assert set(res.node_relevance) == set(nodes)
    out = res.node_relevance[nodes[-1]]
    assert out.tolist() == [[1.0 if k == res.targets[0] else 0.0 for k in range(10)]]
    stem = res.node_relevance[nodes[0]].sum(dtype=np.float64)
    assert abs(stem) > 0.1
    assert res.relevance.sum(dtype=np.float64) == pytest.approx(stem, rel=1e-5)
    assert attr.rules[0][2].startswith("Flat")
    assert len(attr.rules) == len(nodes)


def test_gradient_family(model, batch):
    x = batch[:2]
    grad = relprop.Attributor(model, method="gradient")(x)
    ixg = relprop.Attributor(model, method="input-x-gradient")(x)
    assert np.allclose(ixg.relevance, x * grad.relevance, rtol=1e-6, atol=1e-9)
    # SmoothGrad without noise is the gradient; one sample too
    for sg in (relprop.Attributor(model, method="smoothgrad", noise_level=0.0, samples=5),
               relprop.Attributor(model, method="smoothgrad", samples=1)):
        np.testing.assert_allclose(sg(x).relevance, grad.relevance, rtol=0, atol=1e-6 * np.abs(grad.relevance).max())
    noisy = relprop.Attributor(model, method="smoothgrad", noise_level=0.2, samples=8, seed=3)
    assert np.array_equal(bits(noisy(x).relevance), bits(noisy(x).relevance))  # seeded
    assert not np.allclose(noisy(x).relevance, grad.relevance)
    # Integrated Gradients: complete within 2 % at 64 steps (README: Attribution methods)
    ig = relprop.Attributor(model, method="integrated-gradients", steps=64)(x)
    zero = relprop.Attributor(model, method="gradient")(np.zeros_like(x), ig.targets.tolist()).logits
    for i in range(2):
        t = ig.targets[i]
        assert ig.relevance[i].sum(dtype=np.float64) == pytest.approx(ig.logits[i, t] - zero[i, t], rel=0.02)
    # a baseline array equal to the constant baseline gives the same attribution
    base = relprop.Attributor(model, method="integrated-gradients", steps=4, baseline=np.full(x.shape[1:], 0.5, np.float32))
    const = relprop.Attributor(model, method="integrated-gradients", steps=4, baseline=0.5)
    np.testing.assert_allclose(base(x).relevance, const(x).relevance, rtol=0, atol=1e-7)


def test_occlusion_remove_is_the_logit_drop(model, batch):
    x = batch[:1]
    occ = relprop.Attributor(model, method="occlusion", window=32, occlusion_mode="remove")(x)
    t = occ.targets[0]
    drop = occ.logits[0, t] - relprop.Attributor(model, method="gradient")(np.zeros_like(x), [t]).logits[0, t]
    # one window covers the image: every element carries the whole drop
    np.testing.assert_allclose(occ.relevance, np.full(x.shape, drop, np.float32), rtol=1e-6)


def test_heatmap_matches_the_cli_colors(model, batch, tmp_path):
    res = relprop.Attributor(model, composite="epsilon-plus")(batch)
    rgb = relprop.heatmap(res.relevance[0])
    assert rgb.dtype == np.uint8 and rgb.shape == (32, 32, 3)
    r = res.relevance[0].sum(axis=0)
    peak = np.unravel_index(np.abs(r).argmax(), r.shape)
    assert tuple(rgb[peak]) in {(255, 0, 0), (0, 0, 255)}  # the largest |R| gets bwr's end color
    assert tuple(relprop.heatmap(np.zeros((4, 4), np.float32))[0, 0]) == (253, 253, 255)  # zennit's zero
    assert relprop.heatmap(res.relevance).shape == (6, 32, 32, 3)
    assert relprop.heatmap(res.relevance[0], scale=8).shape == (256, 256, 3)
    gray = (batch[0, 0] * 255).round().astype(np.uint8)
    blended = relprop.heatmap(res.relevance[0], overlay=gray, alpha=0.5)
    assert blended.shape == (32, 32, 3)
    expect = np.round(0.5 * rgb.astype(np.float64) + 0.5 * gray[..., None]).astype(np.uint8)
    assert np.abs(blended.astype(int) - expect.astype(int)).max() <= 1
    out = tmp_path / "h.png"
    relprop.write_png(str(out), rgb)
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    again = relprop.load_image(str(out), channels=3, preprocess=None, scale=1.0)
    assert np.array_equal(again.transpose(1, 2, 0).astype(np.uint8), rgb)


def test_load_image_presets_and_to_image(model):
    png = str(demo_pngs()[0])
    pixels = relprop.load_image(png, model, preprocess=None, scale=1.0)
    assert pixels.shape == (1, 32, 32) and pixels.max() <= 255
    torch_style = relprop.load_image(png, channels=3, resize=64, crop=56)
    assert torch_style.shape == (3, 56, 56)
    assert relprop.to_image(torch_style).shape == (56, 56, 3)
    resized = relprop.load_image(png, channels=3, resize=64, crop=0, preprocess="none")
    assert resized.shape == (3, 64, 64)
    custom = relprop.load_image(png, model, preprocess=None, mean=0.5, std=0.5)
    np.testing.assert_allclose(custom, pixels / 255.0, atol=1e-7)  # no normalization without a preset
    back = relprop.to_image(relprop.load_image(png, model, resize=0, crop=0, mean=0.5, std=0.25), mean=0.5, std=0.25)
    assert np.array_equal(back[..., 0], pixels[0].astype(np.uint8))
    assert set(relprop.colormaps()) >= {"bwr", "seismic", "coldnhot", "hot", "gray"}
    assert "epsilon-plus-flat" in relprop.composites() and "occlusion" in relprop.methods()


def test_importing_relprop_imports_no_torch():
    code = ("import sys, numpy as np, relprop; "
            f"m = relprop.Model({str(DEMO / 'digits.onnx')!r}); "
            f"relprop.Attributor(m)(np.load({str(DEMO / 'digits_batch.npy')!r})); "
            "print(sorted(k for k in sys.modules if k == 'torch' or k.startswith('torch.')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_a_dynamo_export_with_external_data_loads_from_its_path_or_bytes_and_its_folder():
    """PyTorch's dynamo exporter keeps the weights in tiny_cnn.onnx.data next to the model."""
    path = FIXTURES / "dynamo" / "tiny_cnn.onnx"
    x = np.load(FIXTURES / "dynamo" / "input.npy")
    want = np.load(FIXTURES / "dynamo" / "output.npy")
    from_path = relprop.Attributor(relprop.Model(path), method="gradient")(x)
    assert np.abs(from_path.logits - want).max() <= 1e-5 * np.abs(want).max()
    with pytest.raises(relprop.Error, match=r"keeps its data in an external file, and a model read from memory has no "
                                            r"folder to find it in.*Python: Model\(\.\.\., external_data_dir=\.\.\.\)"):
        relprop.Model(path.read_bytes())
    from_bytes = relprop.Model(path.read_bytes(), external_data_dir=path.parent)
    assert [name for name, _ in from_bytes.nodes][:2] == ["features.0/Conv", "features.2/Relu"]
    again = relprop.Attributor(from_bytes, method="gradient")(x)
    assert np.array_equal(bits(again.relevance), bits(from_path.relevance))
    with pytest.raises(TypeError, match="external_data_dir must be a path"):
        relprop.Model(path, external_data_dir=3)
