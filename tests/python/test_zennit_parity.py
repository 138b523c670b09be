"""zennit parity through Python: the references of tests/fixtures/zennit, zennit_blocks and zennit_attr with the
tolerances of tests/test_zennit_parity.cpp and tests/test_attributors.cpp."""

import re

import numpy as np
import pytest

import relprop
from conftest import FIXTURES


def references(folder):
    """(model, composite, targets, onnx files, drift relL2, drift max, needed pass) per MANIFEST line."""
    refs = []
    for line in (FIXTURES / folder / "MANIFEST").read_text().splitlines():
        f = line.split("\t")
        if len(f) < 4:
            continue
        notes = f[4] if len(f) > 4 else ""
        l2 = re.search(r"relL2 ([0-9.eE+-]+)", notes)
        mx = re.search(r"max abs ([0-9.eE+-]+)", notes)
        needs = re.search(r"needs ([^;, ]+)", notes)
        refs.append((f[0], f[1], [int(t) for t in f[2].split(",")], f[3].split(","),
                     float(l2.group(1)) if l2 and mx else 0.0, float(mx.group(1)) if l2 and mx else 0.0,
                     needs.group(1) if needs else ""))
    return refs


def relative_errors(got, want):
    d = got.astype(np.float64) - want
    return np.sqrt((d * d).sum() / (want.astype(np.float64) ** 2).sum()), np.abs(d).max() / np.abs(want).max()


def cases(folder, onnx_folder, pipelines):
    out = []
    for model, composite, targets, onnx, l2, mx, needs in references(folder):
        for fixture in onnx:
            for pipeline in pipelines:
                if needs and composite != "gradient":
                    pipeline += "," + needs  # the pass that turns the export's activation back into zennit's op
                out.append(pytest.param(folder, onnx_folder, model, composite, targets, fixture, pipeline, l2, mx,
                                        id=f"{folder}/{fixture}/{composite}/{pipeline}"))
    return out


def test_the_manifests_hold_what_the_cpp_tests_expect():
    assert len(references("zennit")) == 18
    blocks = references("zennit_blocks")
    assert len(blocks) == 48
    assert sum(1 for r in blocks if r[6]) == 24


@pytest.mark.parametrize("folder, onnx_folder, model, composite, targets, fixture, pipeline, drift_l2, drift_max",
                         cases("zennit", "onnx", ["auto,-densenet", "auto"]) +
                         cases("zennit_blocks", "zennit_blocks", ["auto"]))
def test_zennit_parity(folder, onnx_folder, model, composite, targets, fixture, pipeline, drift_l2, drift_max):
    want = np.load(FIXTURES / folder / f"{model}.{composite}.npy")
    x = np.load(FIXTURES / onnx_folder / f"{fixture}.input.npy")
    m = relprop.Model(FIXTURES / onnx_folder / f"{fixture}.onnx", canonize=pipeline)
    if composite == "gradient":
        attr = relprop.Attributor(m, method="gradient")
    else:
        attr = relprop.Attributor(m, composite=composite, low=-3.0, high=3.0)
    res = attr(x, targets)
    assert res.relevance.shape == want.shape
    assert res.targets.tolist() == targets
    rel_l2, rel_max = relative_errors(res.relevance, want)
    # 1e-5, or three times zennit's own float32-vs-float64 difference where that is larger (tiny DenseNet)
    assert rel_l2 <= max(1e-5, 3 * drift_l2)
    assert rel_max <= max(1e-5, 3 * drift_max)


ATTRIBUTORS = {
    "integrated-gradients": dict(method="integrated-gradients", steps=20),
    "integrated-gradients-epsilon-plus-flat": dict(method="integrated-gradients", steps=8, use_rules=True,
                                                   composite="epsilon-plus-flat"),
    "occlusion-keep-w8-s4": dict(method="occlusion", window=8, stride=(4, 4), occlusion_mode="keep"),
}


def attributor_references():
    lines = (FIXTURES / "zennit_attr" / "MANIFEST").read_text().splitlines()
    return [pytest.param(*line.split("\t")[:3], id=line.split("\t")[0]) for line in lines if line.strip()]


def test_every_attributor_reference_is_checked():
    assert len(attributor_references()) == 5


@pytest.mark.parametrize("file, model, method", attributor_references())
def test_zennit_attributor_parity(file, model, method):
    attr = relprop.Attributor(relprop.Model(FIXTURES / "onnx" / f"{model}.onnx"), **ATTRIBUTORS[method])
    want = np.load(FIXTURES / "zennit_attr" / file)
    got = attr(np.load(FIXTURES / "onnx" / f"{model}.input.npy")).relevance
    assert got.shape == want.shape
    rel_l2, rel_max = relative_errors(got, want)
    assert rel_l2 < 1e-5
    assert rel_max < 1e-5
