#!/usr/bin/env python3
"""Reference input relevances from zennit for the tiny ONNX fixture models -> tests/fixtures/zennit/.

How to run (python is used ONLY in tools/, never at run time; same venv as make_onnx_fixtures.py):

    /usr/bin/python3 -m venv --system-site-packages /work/venv-fixtures      # Debian torch 1.13.1
    /work/venv-fixtures/bin/pip install -r tools/requirements-fixtures.txt    # onnxruntime, zennit==0.5.1
    cd /work/main && /work/venv-fixtures/bin/python tools/make_zennit_fixtures.py

zennit 1.0 needs torch >= 2.1; 0.5.1 has the same rules and works with Debian's torch 1.13.
Deterministic (fixed seeds, CPU, float32, 2 threads): rerunning rewrites identical files.

What it computes
----------------
The models, weights and inputs are exactly those of tests/fixtures/onnx/{tiny_vgg,tiny_resnet,
tiny_densenet} (built by make_onnx_fixtures.build_tiny; the script asserts that the input equals the
committed NAME.input.npy and the torch output the committed NAME.output.npy). For each model and each
composite the input relevance is

    with zennit.attribution.Gradient(model, composite) as attributor:
        out, rel = attributor(x, one_hot)

with x the fixture input (batch 2, float32, CPU) and one_hot = 1 at each sample's argmax logit of the
original model (zennit's convention: relevance starts as one-hot, not one-hot x logit).
Saved as tests/fixtures/zennit/MODEL.COMPOSITE.npy (float32, [2,3,32,32]); MANIFEST lists them as
`MODEL<TAB>COMPOSITE<TAB>targets<TAB>onnx fixtures<TAB>notes`; README.md records the configuration and
the sanity-check numbers.

Composites (zennit 0.5.1 defaults: epsilon=1e-6 for Epsilon, stabilizer=1e-6 for every other rule,
gamma=0.25), each built with layer_map=[(zennit.types.BatchNorm, zennit.rules.Pass())] prepended (0.5.1's
own layer_map_base already maps BatchNorm to Pass; prepending makes it explicit and version-proof):
    epsilon-plus               EpsilonPlus                  conv ZPlus, Linear Epsilon
    epsilon-plus-flat          EpsilonPlusFlat              first conv-or-linear Flat, conv ZPlus, Linear Epsilon
    epsilon-gamma-box          EpsilonGammaBox(low=-3., high=3.)   first conv ZBox(-3,3), conv Gamma(0.25), Linear Epsilon
    epsilon-alpha2-beta1       EpsilonAlpha2Beta1           conv AlphaBeta(2,1), Linear Epsilon
    epsilon-alpha2-beta1-flat  EpsilonAlpha2Beta1Flat       first conv-or-linear Flat, conv AlphaBeta(2,1), Linear Epsilon
    gradient                   Gradient(model) with no composite and no canonizer (plain autograd gradient)
All: ReLU Pass, AvgPool/AdaptiveAvgPool Norm, zennit Sum (ResNet canonizer) Norm, BatchNorm Pass;
MaxPool, Flatten, Dropout, torch.cat: plain gradient. "First layer" is zennit's: the first matching
module in named_modules() order.

Canonizers per model:
    tiny_vgg       zennit.torchvision.VGGCanonizer (= SequentialMergeBatchNorm): merges the 3 conv->BN
                   pairs; the input BN (features.0) stays, gets Pass.
    tiny_resnet    zennit.torchvision.ResNetCanonizer: SequentialMergeBatchNorm (all 6 BNs merged: stem,
                   2x2 in the blocks, the shortcut's) + BasicBlock forward replaced by one using a Sum
                   module for the residual add (-> Norm).
    tiny_densenet  zennit.canonizers.NamedMergeBatchNorm with only the true conv->BN pairs
                   (block.0.conv1->block.0.norm2, block.1.conv1->block.1.norm2); zennit has no DenseNet
                   canonizer and SequentialMergeBatchNorm is wrong for DenseNets. The other 4 BNs
                   (block.*.norm1 after a concat / shared value, transition.0, norm5) stay, get Pass.
zennit 0.5.1 leaves the merged BN's eps in place (the BN becomes x/sqrt(1+eps) instead of the identity);
inside the attributor context this script sets eps=0 on every merged BN, so the canonized forward equals
the original (checked: max|out - logits| <= 1e-6 max|logits|). The original eps is used in the merge
itself, exactly as an ONNX export folds BN.

Conditioning: the script also reruns every attribution in float64 and records how far float32 rounding
alone moves each reference (README.md, MANIFEST notes). tiny_vgg/tiny_resnet: ~1e-7 relative. tiny_densenet
under every LRP composite: ~1e-5 relative L2 / ~2-3e-5 max (its gradient: ~2e-7): the transition's
AvgPool gets Norm with conv outputs of both signs (no ReLU between conv and pool, as in torchvision's
DenseNet), so windows whose values nearly cancel amplify rounding. A correct float32 implementation can
miss these references by about that much; test tolerances for tiny_densenet must allow for it.
"""

import os
import sys

import numpy as np
import torch

import zennit
from zennit.attribution import Gradient
from zennit.canonizers import MergeBatchNorm, NamedMergeBatchNorm
from zennit.composites import (EpsilonAlpha2Beta1, EpsilonAlpha2Beta1Flat, EpsilonGammaBox, EpsilonPlus,
                               EpsilonPlusFlat)
from zennit.layer import Sum
from zennit.rules import Pass
from zennit.torchvision import ResNetCanonizer, VGGCanonizer
from zennit.types import BatchNorm

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_onnx_fixtures as mof  # noqa: E402  (model builders; sets torch threads to 2)

torch.set_num_threads(2)

REPO = mof.REPO
ONNX_DIR = os.path.join(REPO, "tests", "fixtures", "onnx")
OUT_DIR = os.path.join(REPO, "tests", "fixtures", "zennit")

ZBOX_LOW, ZBOX_HIGH = -3.0, 3.0

DENSENET_PAIRS = [(("block.0.conv1",), "block.0.norm2"), (("block.1.conv1",), "block.1.norm2")]

MODELS = {
    # name: (onnx fixtures it applies to, canonizer factory, canonizer description)
    "tiny_vgg": ("tiny_vgg,tiny_vgg_keepbn", lambda: [VGGCanonizer()],
                 "canonizer VGGCanonizer (SequentialMergeBatchNorm; 3 conv->BN merged; input BN features.0 kept, Pass)"),
    "tiny_resnet": ("tiny_resnet,tiny_resnet_keepbn", lambda: [ResNetCanonizer()],
                    "canonizer ResNetCanonizer (all 6 BN merged; residual add -> zennit Sum -> Norm)"),
    "tiny_densenet": ("tiny_densenet", lambda: [NamedMergeBatchNorm(DENSENET_PAIRS)],
                      "canonizer NamedMergeBatchNorm[block.0.conv1->block.0.norm2, block.1.conv1->block.1.norm2] "
                      "(norm1s, transition.0, norm5 kept, Pass)"),
}

COMPOSITES = {
    # name: (factory(canonizers) -> composite, description)
    "epsilon-plus": (lambda c: EpsilonPlus(layer_map=bn_pass(), canonizers=c),
                     "EpsilonPlus(epsilon=1e-6, stabilizer=1e-6): conv ZPlus, Linear Epsilon"),
    "epsilon-plus-flat": (lambda c: EpsilonPlusFlat(layer_map=bn_pass(), canonizers=c),
                          "EpsilonPlusFlat(epsilon=1e-6, stabilizer=1e-6): first conv/linear Flat, conv ZPlus, Linear Epsilon"),
    "epsilon-gamma-box": (lambda c: EpsilonGammaBox(low=ZBOX_LOW, high=ZBOX_HIGH, layer_map=bn_pass(), canonizers=c),
                          "EpsilonGammaBox(low=-3, high=3, epsilon=1e-6, gamma=0.25, stabilizer=1e-6): first conv ZBox, conv Gamma, Linear Epsilon"),
    "epsilon-alpha2-beta1": (lambda c: EpsilonAlpha2Beta1(layer_map=bn_pass(), canonizers=c),
                             "EpsilonAlpha2Beta1(epsilon=1e-6, stabilizer=1e-6): conv AlphaBeta(2,1), Linear Epsilon"),
    "epsilon-alpha2-beta1-flat": (lambda c: EpsilonAlpha2Beta1Flat(layer_map=bn_pass(), canonizers=c),
                                  "EpsilonAlpha2Beta1Flat(epsilon=1e-6, stabilizer=1e-6): first conv/linear Flat, conv AlphaBeta(2,1), Linear Epsilon"),
}


def bn_pass():
    return [(BatchNorm, Pass())]


def spec(name):
    for s in mof.TORCH_SPECS:
        if s[0] == name:
            return s
    raise KeyError(name)


def load_model(name):
    """Fresh model + input; asserts they are those of the committed ONNX fixture."""
    _, cls, seed, _, _, _ = spec(name)
    model, x = mof.build_tiny(cls, seed)
    x_ref = np.load(os.path.join(ONNX_DIR, name + ".input.npy"))
    y_ref = np.load(os.path.join(ONNX_DIR, name + ".output.npy"))
    assert x.dtype == np.float32 and np.array_equal(x, x_ref), f"{name}: input differs from the ONNX fixture"
    with torch.no_grad():
        y = model(torch.from_numpy(x)).numpy()
    assert np.max(np.abs(y - y_ref)) <= 1e-6 * np.abs(y_ref).max(), f"{name}: output differs from the ONNX fixture"
    return model, torch.from_numpy(x), y


def one_hot_of(logits):
    targets = np.argmax(logits, axis=1)
    oh = np.zeros_like(logits, dtype=np.float32)
    oh[np.arange(len(targets)), targets] = 1.0
    return targets, torch.from_numpy(oh)


def bn_is_identity(bn):
    return (bool(torch.all(bn.weight == 1)) and bool(torch.all(bn.bias == 0))
            and bool(torch.all(bn.running_mean == 0)) and bool(torch.all(bn.running_var == 1)))


def rule_map(model):
    """module name -> name of the zennit hook registered on it (inside a composite context)."""
    out = {}
    for name, m in model.named_modules():
        for hook in m._forward_pre_hooks.values():
            owner = getattr(hook, "__self__", None)
            if owner is not None and isinstance(owner, zennit.core.Hook):
                out[name] = type(owner).__name__
    return out


def attribute(model_name, comp_name, results, info, dtype=torch.float32):
    model, x, logits = load_model(model_name)
    targets, oh = one_hot_of(logits)
    if dtype != torch.float32:  # conditioning check only: same model/targets in float64, nothing saved
        model, x, oh = model.to(dtype), x.to(dtype), oh.to(dtype)
    canonizers = MODELS[model_name][1]()
    composite = COMPOSITES[comp_name][0](canonizers)
    with Gradient(model, composite) as attributor:
        merged = [h.batch_norm for h in composite.handles if isinstance(h, MergeBatchNorm)]
        names = {m: n for n, m in model.named_modules()}
        # without the eps fix (zennit 0.5.1 behaviour), for the record
        with torch.no_grad():
            d_eps = float(np.max(np.abs(model(x).numpy() - logits)))
        for bn in merged:
            bn.eps = 0.0
        out, rel = attributor(x.clone(), oh)
        out = out.detach().numpy()
        rel = rel.detach().numpy()
        if dtype != torch.float32:
            return rel
        d = float(np.max(np.abs(out - logits)))
        assert d <= 1e-6 * np.abs(logits).max(), f"{model_name}/{comp_name}: canonized forward differs by {d}"
        unmerged = [n for n, m in model.named_modules() if isinstance(m, BatchNorm) and not bn_is_identity(m)]
        n_sum = sum(isinstance(m, Sum) for m in model.modules())
        rules = rule_map(model)
    info[(model_name, comp_name)] = dict(
        merged=sorted(names[b] for b in merged), unmerged=unmerged, n_sum=n_sum, d=d, d_eps=d_eps, rules=rules)
    results[(model_name, comp_name)] = (targets, logits, rel)
    return rel


def plain_gradient(model_name, results, info, dtype=torch.float32):
    model, x, logits = load_model(model_name)
    targets, oh = one_hot_of(logits)
    if dtype != torch.float32:
        model, x, oh = model.to(dtype), x.to(dtype), oh.to(dtype)
    with Gradient(model) as attributor:
        out, rel = attributor(x.clone(), oh)
    rel = rel.detach().numpy()
    if dtype != torch.float32:
        return rel
    # torch.autograd reference: gradient of the sum of each sample's target logit
    xr = x.clone().requires_grad_(True)
    y = model(xr)
    g, = torch.autograd.grad(y[torch.arange(len(targets)), torch.from_numpy(targets)].sum(), xr)
    dg = float(np.max(np.abs(rel - g.numpy())))
    assert dg <= 1e-7 * np.abs(g.numpy()).max(), f"{model_name}: zennit gradient != autograd ({dg})"
    d = float(np.max(np.abs(out.detach().numpy() - logits)))
    info[(model_name, "gradient")] = dict(merged=[], unmerged=None, n_sum=0, d=d, d_eps=d, rules={}, dgrad=dg)
    results[(model_name, "gradient")] = (targets, logits, rel)


def main():
    print(f"torch {torch.__version__}, zennit {getattr(zennit, '__version__', '0.5.1')}, numpy {np.__version__}, "
          f"threads {torch.get_num_threads()}")
    os.makedirs(OUT_DIR, exist_ok=True)
    results, info = {}, {}
    order = []
    for model_name in MODELS:
        for comp_name in COMPOSITES:
            attribute(model_name, comp_name, results, info)
            order.append((model_name, comp_name))
        plain_gradient(model_name, results, info)
        order.append((model_name, "gradient"))

    # ---- conditioning: the same attribution in float64; how far float32 rounding alone moves the reference
    for model_name, comp_name in order:
        if comp_name == "gradient":
            r64 = plain_gradient(model_name, None, None, torch.float64)
        else:
            r64 = attribute(model_name, comp_name, None, None, torch.float64)
        r32 = results[(model_name, comp_name)][2].astype(np.float64)
        info[(model_name, comp_name)]["f64_rel_l2"] = float(np.linalg.norm(r32 - r64) / np.linalg.norm(r64))
        info[(model_name, comp_name)]["f64_max"] = float(np.abs(r32 - r64).max() / np.abs(r64).max())

    # ---- rule assignment (one composite per model, for the record)
    for model_name in MODELS:
        for comp_name in ("epsilon-gamma-box", "epsilon-plus-flat"):
            i = info[(model_name, comp_name)]
            print(f"\n[{model_name} / {comp_name}] merged BN: {i['merged']}; non-identity BN in context: "
                  f"{i['unmerged']}; Sum modules: {i['n_sum']}")
            print("   rules: " + ", ".join(f"{k}={v}" for k, v in i["rules"].items()))

    # ---- VGG check: under epsilon-plus only the input BN stays unmerged
    i = info[("tiny_vgg", "epsilon-plus")]
    assert i["unmerged"] == ["features.0"], i["unmerged"]
    assert i["merged"] == ["features.2", "features.5", "features.9"], i["merged"]
    r = info[("tiny_resnet", "epsilon-plus")]
    assert len(r["merged"]) == 6 and r["unmerged"] == [] and r["n_sum"] == 2, r
    dn = info[("tiny_densenet", "epsilon-plus")]
    assert dn["merged"] == ["block.0.norm2", "block.1.norm2"], dn["merged"]
    print(f"\nVGG under epsilon-plus + VGGCanonizer: merged {i['merged']}, unmerged (non-identity) BN: "
          f"{i['unmerged']} (the input BN, must stay)")

    # ---- write files + sanity table
    lines, table = [], []
    print("\n== per (model, composite): max|canonized out - logits| (eps fixed / eps left as zennit 0.5.1 leaves "
          "it), target, logit, relevance sum per sample ==")
    for model_name, comp_name in order:
        targets, logits, rel = results[(model_name, comp_name)]
        assert rel.shape == (2, 3, 32, 32) and rel.dtype == np.float32 and np.all(np.isfinite(rel))
        np.save(os.path.join(OUT_DIR, f"{model_name}.{comp_name}.npy"), np.ascontiguousarray(rel))
        i = info[(model_name, comp_name)]
        tl = [float(logits[n, t]) for n, t in enumerate(targets)]
        sums = [float(rel[n].astype(np.float64).sum()) for n in range(2)]
        extra = f"  f32-vs-f64 relL2 {i['f64_rel_l2']:.1e} max {i['f64_max']:.1e}"
        extra += f"  |zennit-autograd| {i['dgrad']:.3g}" if "dgrad" in i else ""
        row = (f"{model_name:14s} {comp_name:26s} d {i['d']:.2e} (eps left {i['d_eps']:.2e})  targets {list(targets)}  "
               f"logits [{tl[0]:+.5f}, {tl[1]:+.5f}]  relsum [{sums[0]:+.5f}, {sums[1]:+.5f}]  "
               f"max|R| {np.abs(rel).max():.4g}{extra}")
        print(row)
        table.append((model_name, comp_name, list(targets), tl, sums, float(np.abs(rel).max()), i))
        if comp_name == "gradient":
            notes = "zennit Gradient attributor without composite or canonizer (= torch.autograd gradient of the target logit)"
        else:
            notes = (f"zennit 0.5.1 {COMPOSITES[comp_name][1]}; BatchNorm Pass; {MODELS[model_name][2]}; "
                     "merged BN eps set to 0")
        notes += "; relevance starts as one-hot(argmax logit)"
        notes += (f"; float32 rounding alone (vs the same zennit run in float64): relL2 {i['f64_rel_l2']:.1e}, "
                  f"max abs {i['f64_max']:.1e} x max|ref|")
        assert "\t" not in notes
        lines.append(f"{model_name}\t{comp_name}\t{','.join(str(int(t)) for t in targets)}\t"
                     f"{MODELS[model_name][0]}\t{notes}\n")
    with open(os.path.join(OUT_DIR, "MANIFEST"), "w") as f:
        f.writelines(lines)
    write_readme(table)
    total = sum(os.path.getsize(os.path.join(OUT_DIR, f)) for f in os.listdir(OUT_DIR))
    print(f"\n{len(lines)} relevance files + MANIFEST + README.md in {OUT_DIR}: {total} bytes ({total / 1024:.1f} KiB)")


def write_readme(table):
    doc = __doc__
    body = doc[doc.index("What it computes"):].rstrip()
    out = ["# zennit reference relevances\n\n",
           "Generated by `tools/make_zennit_fixtures.py` (zennit 0.5.1, Debian torch "
           f"{torch.__version__}, float32 CPU). Do not edit by hand; rerun the script.\n\n```\n", body, "\n```\n\n",
           "## Sanity checks (printed by the script)\n\n",
           "`d` = max |output of the canonized, hooked model - original logits| (merged BN eps set to 0); "
           "`d(eps left)` = the same with zennit 0.5.1's eps left in the merged BNs. Relevance sums are per sample "
           "(bias terms and the stabilizers absorb relevance, so they need not equal the logit).\n\n",
           "`f32 vs f64` = the same zennit attribution run in float64: relative L2 and max abs difference / max|R| "
           "of the saved float32 reference (how far float32 rounding alone moves it; a float32 implementation can "
           "not be expected to match closer than about this).\n\n",
           "| model | composite | targets | target logits | relevance sums | max abs R | d | d(eps left) | f32 vs f64 relL2, max |\n",
           "|---|---|---|---|---|---|---|---|---|\n"]
    for model_name, comp_name, targets, tl, sums, mx, i in table:
        out.append(f"| {model_name} | {comp_name} | {targets[0]},{targets[1]} | {tl[0]:+.6f}, {tl[1]:+.6f} | "
                   f"{sums[0]:+.6f}, {sums[1]:+.6f} | {mx:.6g} | {i['d']:.2e} | {i['d_eps']:.2e} | "
                   f"{i['f64_rel_l2']:.1e}, {i['f64_max']:.1e} |\n")
    out.append("\nThe `gradient` files equal torch.autograd's gradient of the target logit (max abs difference: " +
               ", ".join(f"{m} {i['dgrad']:.3g}" for m, c, _, _, _, _, i in table if c == "gradient") + ").\n")
    with open(os.path.join(OUT_DIR, "README.md"), "w") as f:
        f.writelines(out)


if __name__ == "__main__":
    main()
