"""The bundled demo through Python and through the command line: the same relevance, to the bit."""

import numpy as np

import relprop
from conftest import DEMO, bits, demo_pngs, run_cli


def test_demo_relevance_and_heatmaps_equal_the_cli_to_the_bit(cli, tmp_path):
    pngs = demo_pngs()
    assert len(pngs) == 6
    out = tmp_path / "relevance.npy"
    status, _, err = run_cli(cli, "explain", DEMO / "digits.onnx", *pngs, "--no-preprocess", "--composite",
                             "epsilon-plus", "--out", out, "--heatmap", tmp_path / "heatmaps", "--heatmap-scale", 8)
    assert status == 0, err
    want = np.load(out)

    model = relprop.Model(DEMO / "digits.onnx")
    x = np.stack([relprop.load_image(str(p), model, preprocess=None) for p in pngs])
    res = relprop.Attributor(model, composite="epsilon-plus")(x)
    assert res.relevance.shape == want.shape == (6, 1, 32, 32)
    assert res.relevance.dtype == np.float32
    assert np.array_equal(bits(res.relevance), bits(want))
    # the digits the files are named after (digit_<index>_<label>.png), as the README's demo prints
    assert res.targets.tolist() == [int(p.stem.rsplit("_", 1)[1]) for p in pngs]
    assert res.logits.shape == (6, 10)
    assert np.array_equal(res.targets, res.logits.argmax(axis=1))
    for png, relevance in zip(pngs, res.relevance):  # the CLI's heatmaps, pixel for pixel
        cli_png = relprop.load_image(tmp_path / "heatmaps" / png.name, channels=3, preprocess=None, scale=1.0)
        assert np.array_equal(relprop.heatmap(relevance, scale=8), cli_png.transpose(1, 2, 0).astype(np.uint8))


def test_load_image_matches_the_cli_preprocessing_of_the_bundled_batch():
    # tools/demo/digits_batch.npy holds the six digits as the demo's training script preprocessed them
    model = relprop.Model(DEMO / "digits.onnx")
    batch = np.load(DEMO / "digits_batch.npy")
    names = ["digit_229_0", "digit_175_3", "digit_190_3", "digit_135_5", "digit_52_7", "digit_18_8"]  # its order
    assert (DEMO / "digits_batch.labels.txt").read_text().split() == [n[-1] for n in names]
    x = np.stack([relprop.load_image(str(DEMO / f"{name}.png"), model, preprocess=None) for name in names])
    assert x.shape == batch.shape == (6, 1, 32, 32)
    assert np.abs(x - batch).max() <= 1e-7  # pixel / 255 in float32
