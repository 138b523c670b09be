#!/usr/bin/env python3
"""zennit references for the gradient-family attributors -> tests/fixtures/zennit_attr/.

Same set-up, models and inputs as tools/make_zennit_fixtures.py (read its docstring for the venv):

    cd /work/main && /work/venv-fixtures/bin/python tools/make_zennit_attributor_fixtures.py

For the tiny_vgg and tiny_resnet fixtures (batch 2, 3x32x32), with one_hot = 1 at each sample's
argmax logit:
    NAME.integrated-gradients.npy
        zennit.attribution.IntegratedGradients(model, n_iter=20) (baseline zeros), attr_output one_hot
    tiny_resnet.integrated-gradients-epsilon-plus-flat.npy
        IntegratedGradients(model, EpsilonPlusFlat + ResNetCanonizer, n_iter=8): the LRP-modified
        gradient integrated (relprop: use_rules / --with-rules), merged BN eps set to 0 as in
        make_zennit_fixtures.py
    NAME.occlusion-keep-w8-s4.npy
        zennit.attribution.Occlusion(model, window=(8, 8), stride=(4, 4)) with its default
        occlusion_fn (keep the window, zeros elsewhere) and attr_output = output * one_hot (the target
        logit); windows at 28 wrap around (torch.roll)
MANIFEST: FILE<TAB>MODEL<TAB>METHOD<TAB>targets<TAB>notes; float32 drift vs the same run in float64 in notes.
"""

import os
import sys

import numpy as np
import torch
from zennit.attribution import IntegratedGradients, Occlusion
from zennit.canonizers import MergeBatchNorm

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_zennit_fixtures as mzf  # noqa: E402

OUT_DIR = os.path.join(mzf.REPO, "tests", "fixtures", "zennit_attr")


def run(model_name, method, dtype):
    model, x, logits = mzf.load_model(model_name)
    targets, oh = mzf.one_hot_of(logits)
    model, x, oh = model.to(dtype), x.to(dtype), oh.to(dtype)
    if method == "integrated-gradients":
        with IntegratedGradients(model, n_iter=20) as attributor:
            out, rel = attributor(x.clone(), oh)
    elif method == "integrated-gradients-epsilon-plus-flat":
        composite = mzf.COMPOSITES["epsilon-plus-flat"][0](mzf.MODELS[model_name][1]())
        with IntegratedGradients(model, composite, n_iter=8) as attributor:
            for h in composite.handles:
                if isinstance(h, MergeBatchNorm):
                    h.batch_norm.eps = 0.0
            out, rel = attributor(x.clone(), oh)
    elif method == "occlusion-keep-w8-s4":
        with Occlusion(model, window=(8, 8), stride=(4, 4)) as attributor:
            out, rel = attributor(x.clone(), lambda output: output * oh)
    else:
        raise KeyError(method)
    return targets, rel.detach().cpu().numpy()


def main():
    os.makedirs(OUT_DIR, exist_ok=True)
    jobs = [("tiny_vgg", "integrated-gradients"), ("tiny_resnet", "integrated-gradients"),
            ("tiny_resnet", "integrated-gradients-epsilon-plus-flat"),
            ("tiny_vgg", "occlusion-keep-w8-s4"), ("tiny_resnet", "occlusion-keep-w8-s4")]
    lines = []
    for model_name, method in jobs:
        targets, r32 = run(model_name, method, torch.float32)
        _, r64 = run(model_name, method, torch.float64)
        rel_l2 = float(np.linalg.norm(r32 - r64) / np.linalg.norm(r64))
        max_rel = float(np.abs(r32 - r64).max() / np.abs(r64).max())
        name = f"{model_name}.{method}.npy"
        np.save(os.path.join(OUT_DIR, name), r32.astype(np.float32))
        note = f"zennit 0.5.1; float32 vs float64: relL2 {rel_l2:.1e}, max abs {max_rel:.1e} x max|ref|"
        lines.append(f"{name}\t{model_name}\t{method}\t{','.join(map(str, targets))}\t{note}")
        print(lines[-1])
    with open(os.path.join(OUT_DIR, "MANIFEST"), "w") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
