#!/usr/bin/env python3
"""Train and export the bundled demo model -> tools/demo/ (digits.onnx, sample PNGs, batch .npy).

How to run (python is used ONLY in tools/, never at run time):

    apt-get install -y python3-sklearn python3-pil          # Debian 12; torch 1.13 from python3-torch
    /usr/bin/python3 -m venv --system-site-packages /work/venv-fixtures
    /work/venv-fixtures/bin/pip install -r tools/requirements-fixtures.txt   # onnxruntime, zennit==0.5.1
    cd /work/main && /work/venv-fixtures/bin/python tools/train_demo_model.py

Optional: `--check-attribution DIR` (default off) additionally writes DIR/attribution.png: four samples
(0, both 3s, 8) with zennit 0.5.1 EpsilonPlusFlat, EpsilonGammaBox(0,1), EpsilonAlpha2Beta1 heatmaps (BNs merged)
and gradient x input, and prints how much positive relevance lies on the strokes. Keep DIR outside the
repository (e.g. /tmp/demo-attr); it is a visual sanity check, not a fixture.

Deterministic: fixed seeds, CPU, float32, 2 threads; rerunning rewrites identical files (~20 s on 2 idle
cores; training is ~15 s of it).

Data: scikit-learn's bundled 8x8 handwritten digits (sklearn.datasets.load_digits(), offline, 1,797 images,
pixel values 0..16). Each image is scaled to [0,1] (v/16), upsampled to 32x32 with bilinear interpolation
(torch.nn.functional.interpolate, align_corners=False) and then quantized to 8 bit (round(255*x)/255), so a
32x32 8-bit grayscale PNG of it, read back and divided by 255, IS the model input (no resize, crop or
mean/std: explain the PNGs with `--no-preprocess`). Split: a fixed random permutation (seed 0), 1,497
train / 300 test. Training: Adam (lr 3e-3, weight decay 1e-4, one-cycle schedule), 30 epochs, batch 64,
augmentation = random shift by up to 2 pixels + Gaussian pixel noise (std 0.1); the noise keeps the first
convolutions smooth, which makes gradient x input heatmaps less speckled.
Samples: for digits 0,3,3,5,7,8 the first test image (in dataset order) classified correctly with a margin
of >= 3 logits -> digit_<dataset index>_<label>.png, digits_batch.npy, digits_batch.labels.txt.

Model (modules only, so that zennit sees every layer; under 50k parameters):
    stem    Conv3x3(1->16) BN ReLU MaxPool2                 32x32 -> 16x16
    res     Conv3x3(16->16) BN ReLU Conv3x3(16->16) BN, out = ReLU(out + identity)
    pool    MaxPool2                                         16x16 -> 8x8
    concat  [Conv1x1(16->16) BN ReLU ; Conv3x3(16->16) BN ReLU] -> torch.cat (32 channels)
    head    Conv3x3(32->32) BN ReLU, AdaptiveAvgPool2d(1), Flatten, Linear(32->10)
Exported in eval mode to ONNX opset 13 (input 'image' [N,1,32,32], output 'logits' [N,10], dynamic batch);
the exporter's constant folding folds every Conv->BN pair.
"""

import argparse
import hashlib
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT_DIR = os.path.join(ROOT, 'tools', 'demo')
SEED = 0
N_TEST = 300
EPOCHS = 30
BATCH = 64
SAMPLE_DIGITS = [0, 3, 3, 5, 7, 8]
NOISE = 0.1          # std of the Gaussian pixel noise added in training
WD = 1e-4
MIN_MARGIN = 3.0


def conv_bn_relu(cin, cout, k):
    return nn.Sequential(nn.Conv2d(cin, cout, k, padding=k // 2, bias=False), nn.BatchNorm2d(cout),
                         nn.ReLU())


class ResBlock(nn.Module):
    def __init__(self, ch):
        super().__init__()
        self.conv1 = nn.Conv2d(ch, ch, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(ch)
        self.relu1 = nn.ReLU()
        self.conv2 = nn.Conv2d(ch, ch, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(ch)
        self.relu2 = nn.ReLU()

    def forward(self, x):
        identity = x
        out = self.relu1(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu2(out + identity)


class Concat(nn.Module):
    def __init__(self, cin, cbranch):
        super().__init__()
        self.branch1x1 = conv_bn_relu(cin, cbranch, 1)
        self.branch3x3 = conv_bn_relu(cin, cbranch, 3)

    def forward(self, x):
        return torch.cat([self.branch1x1(x), self.branch3x3(x)], dim=1)


class DigitsNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = conv_bn_relu(1, 16, 3)
        self.pool1 = nn.MaxPool2d(2)
        self.res = ResBlock(16)
        self.pool2 = nn.MaxPool2d(2)
        self.concat = Concat(16, 16)
        self.head = conv_bn_relu(32, 32, 3)
        self.gap = nn.AdaptiveAvgPool2d(1)
        self.flatten = nn.Flatten()
        self.fc = nn.Linear(32, 10)

    def forward(self, x):
        x = self.pool1(self.stem(x))
        x = self.pool2(self.res(x))
        x = self.head(self.concat(x))
        return self.fc(self.flatten(self.gap(x)))


def load_data():
    from sklearn.datasets import load_digits
    d = load_digits()
    x8 = torch.from_numpy(d.images.astype(np.float32) / 16.0).unsqueeze(1)      # [1797,1,8,8] in [0,1]
    x32 = F.interpolate(x8, size=(32, 32), mode='bilinear', align_corners=False)
    q = np.clip(np.rint(x32.numpy() * 255.0), 0, 255).astype(np.uint8)          # 8-bit, as in the PNGs
    x = q.astype(np.float32) / np.float32(255.0)
    y = d.target.astype(np.int64)
    perm = np.random.RandomState(SEED).permutation(len(y))
    test_idx, train_idx = np.sort(perm[:N_TEST]), perm[N_TEST:]
    return x, q, y, train_idx, test_idx


def train(model, x, y, train_idx):
    g = torch.Generator().manual_seed(SEED)
    xt, yt = torch.from_numpy(x[train_idx]), torch.from_numpy(y[train_idx])
    opt = torch.optim.Adam(model.parameters(), lr=3e-3, weight_decay=WD)
    steps = EPOCHS * ((len(yt) + BATCH - 1) // BATCH)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-3, total_steps=steps)
    model.train()
    for epoch in range(EPOCHS):
        order = torch.randperm(len(yt), generator=g)
        total, correct, loss_sum = 0, 0, 0.0
        for i in range(0, len(yt), BATCH):
            b = order[i:i + BATCH]
            xb, yb = xt[b], yt[b]
            # light augmentation: random shift by up to 2 pixels (zero padded)
            dx, dy = torch.randint(-2, 3, (2,), generator=g).tolist()
            xb = torch.roll(F.pad(xb, (2, 2, 2, 2)), shifts=(dy, dx), dims=(2, 3))[:, :, 2:34, 2:34]
            if NOISE > 0:   # pixel noise: penalizes the high-frequency filter parts smooth inputs never see
                xb = xb + NOISE * torch.randn(xb.shape, generator=g)
            out = model(xb)
            loss = F.cross_entropy(out, yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            loss_sum += loss.item() * len(b)
            correct += (out.argmax(1) == yb).sum().item()
            total += len(b)
        if epoch % 5 == 4 or epoch == EPOCHS - 1:
            print(f'epoch {epoch + 1:2d}  loss {loss_sum / total:.4f}  train acc {correct / total:.4f}')
    model.eval()


def write_png(path, img_u8):
    from PIL import Image
    Image.fromarray(img_u8, mode='L').save(path, optimize=False)


def read_png(path):
    from PIL import Image
    with Image.open(path) as im:
        assert im.mode == 'L' and im.size == (32, 32), (im.mode, im.size)
        return np.asarray(im, dtype=np.uint8)


def check_attribution(model, batch, labels, names, out_dir):
    """zennit heatmaps (BNs merged) and gradient x input for four samples -> one PNG grid in out_dir."""
    import copy
    from PIL import Image
    from zennit.attribution import Gradient
    from zennit.canonizers import SequentialMergeBatchNorm
    from zennit.composites import EpsilonAlpha2Beta1, EpsilonGammaBox, EpsilonPlusFlat
    from zennit.types import BatchNorm

    os.makedirs(out_dir, exist_ok=True)
    picks = [0, 1, 2, 5]   # the 0, both 3s and the 8
    x = torch.from_numpy(batch[picks])
    y = torch.from_numpy(labels[picks])
    with torch.no_grad():
        ref = model(x)
    on_stroke = x[:, 0].numpy() > 0.25
    print(f'attribution check (strokes = pixels > 0.25: {on_stroke.mean():.0%} of the pixels):')
    heatmaps = {}
    composites = [('EpsilonPlusFlat', lambda c: EpsilonPlusFlat(canonizers=c)),
                  ('EpsilonGammaBox(0,1)', lambda c: EpsilonGammaBox(low=0.0, high=1.0, canonizers=c)),
                  ('EpsilonAlpha2Beta1', lambda c: EpsilonAlpha2Beta1(canonizers=c))]
    for cname, make in composites:
        m = copy.deepcopy(model)
        with Gradient(m, make([SequentialMergeBatchNorm()])) as attributor:
            for bn in m.modules():
                if isinstance(bn, BatchNorm):
                    bn.eps = 0.0   # zennit 0.5.1 leaves eps in the merged (now identity) BN
            out, rel = attributor(x, torch.eye(10)[y])
        heatmaps[cname] = rel[:, 0].numpy()
        print(f'  {cname}: canonized vs original max |logit diff| {(out - ref).abs().max().item():.2e}')
    xg = x.clone().requires_grad_(True)
    copy.deepcopy(model)(xg).gather(1, y[:, None]).sum().backward()
    heatmaps['gradient x input'] = (xg.grad * xg).detach()[:, 0].numpy()
    for cname, r in heatmaps.items():
        pos = np.clip(r, 0, None)
        frac = [pos[i][on_stroke[i]].sum() / pos[i].sum() for i in range(len(picks))]
        sums = ' '.join(f'{v:+.2f}' for v in r.reshape(len(picks), -1).sum(1))
        print(f'  {cname:22s} share of positive relevance on strokes: '
              + ' '.join(f'{f:.0%}' for f in frac) + f'   sums: {sums}')

    def to_rgb(r):
        r = r / (np.abs(r).max() + 1e-12)
        rgb = np.ones(r.shape + (3,), np.float32)
        pos, neg = np.clip(r, 0, 1), np.clip(-r, 0, 1)
        rgb[..., 1] -= pos + neg          # red positive, blue negative, white zero
        rgb[..., 2] -= pos
        rgb[..., 0] -= neg
        return (np.clip(rgb, 0, 1) * 255).astype(np.uint8)

    sep_v = np.full((32, 2, 3), 128, np.uint8)
    rows = []
    for i in range(len(picks)):
        img = (x[i, 0].numpy() * 255).astype(np.uint8)
        cells = [np.repeat(img[..., None], 3, axis=2)] + [to_rgb(h[i]) for h in heatmaps.values()]
        row = np.concatenate([c for cell in cells for c in (cell, sep_v)][:-1], axis=1)
        rows.append(np.concatenate([row, np.full((2, row.shape[1], 3), 128, np.uint8)]))
    grid = np.concatenate(rows)
    path = os.path.join(out_dir, 'attribution.png')
    Image.fromarray(grid).resize((grid.shape[1] * 6, grid.shape[0] * 6), Image.NEAREST).save(path)
    print('  wrote', path, '(rows:', ', '.join(names[i] for i in picks), '; columns: input |',
          ' | '.join(heatmaps), ')')


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--check-attribution', metavar='DIR', help='write zennit heatmaps of samples to DIR')
    args = ap.parse_args()

    torch.set_num_threads(2)
    torch.manual_seed(SEED)
    np.random.seed(SEED)
    torch.use_deterministic_algorithms(True)

    x, q, y, train_idx, test_idx = load_data()
    print(f'data: {len(y)} images, train {len(train_idx)}, test {len(test_idx)}, input {x.shape[1:]}')

    model = DigitsNet()
    n_params = sum(p.numel() for p in model.parameters())
    print(f'model: {n_params} parameters')
    t0 = time.time()
    train(model, x, y, train_idx)
    print(f'training: {EPOCHS} epochs in {time.time() - t0:.1f} s ({torch.get_num_threads()} threads)')

    with torch.no_grad():
        logits_test = model(torch.from_numpy(x[test_idx]))
    pred_test = logits_test.argmax(1).numpy()
    acc = (pred_test == y[test_idx]).mean()
    print(f'test accuracy: {acc:.4f} ({(pred_test == y[test_idx]).sum()}/{len(test_idx)})')
    assert acc > 0.95, acc

    os.makedirs(OUT_DIR, exist_ok=True)
    onnx_path = os.path.join(OUT_DIR, 'digits.onnx')
    torch.onnx.export(model, torch.from_numpy(x[test_idx[:2]]), onnx_path, opset_version=13,
                      input_names=['image'], output_names=['logits'], do_constant_folding=True,
                      dynamic_axes={'image': {0: 'batch'}, 'logits': {0: 'batch'}})

    # samples: the first test image of each wanted digit (twice for a repeated digit) that is classified
    # correctly with a clear margin (top logit - runner-up >= MIN_MARGIN), i.e. a typical example
    top2 = torch.topk(logits_test, 2, dim=1).values.numpy()
    margin = top2[:, 0] - top2[:, 1]
    chosen, used = [], set()
    for digit in SAMPLE_DIGITS:
        for j, idx in enumerate(test_idx):
            if y[idx] == digit and pred_test[j] == digit and margin[j] >= MIN_MARGIN and idx not in used:
                chosen.append(idx)
                used.add(idx)
                break
    assert len(chosen) == len(SAMPLE_DIGITS)
    batch = x[chosen].copy()
    labels = y[chosen].copy()
    names = []
    for idx in chosen:
        name = f'digit_{idx}_{y[idx]}.png'
        write_png(os.path.join(OUT_DIR, name), q[idx, 0])
        names.append(name)
    np.save(os.path.join(OUT_DIR, 'digits_batch.npy'), batch.astype(np.float32))
    with open(os.path.join(OUT_DIR, 'digits_batch.labels.txt'), 'w') as f:
        f.write(''.join(f'{l}\n' for l in labels))

    # PNG round trip: read back, /255 -> must equal the model input
    png_in = np.stack([read_png(os.path.join(OUT_DIR, n)) for n in names])[:, None].astype(np.float32)
    png_in /= np.float32(255.0)
    print(f'PNG/255 vs model input: max abs diff {np.abs(png_in - batch).max():.3g}')
    with torch.no_grad():
        pred_png = model(torch.from_numpy(png_in)).argmax(1).numpy()
        logits_batch = model(torch.from_numpy(batch)).numpy()
    print('samples:', ', '.join(names))
    print('labels:', labels.tolist(), ' predicted from PNG:', pred_png.tolist())
    assert (pred_png == labels).all()

    # ONNX check with onnxruntime
    import onnx
    import onnxruntime as ort
    m = onnx.load(onnx_path)
    onnx.checker.check_model(m)
    ops = {}
    for node in m.graph.node:
        ops[node.op_type] = ops.get(node.op_type, 0) + 1
    print('onnx ops:', ', '.join(f'{k} x{v}' for k, v in sorted(ops.items())))
    sess = ort.InferenceSession(onnx_path, providers=['CPUExecutionProvider'])
    for name_, xin, ref in [('samples', batch, logits_batch), ('test set', x[test_idx], logits_test.numpy())]:
        got = sess.run(['logits'], {'image': xin})[0]
        print(f'onnxruntime vs torch ({name_}, batch {len(xin)}): max abs diff {np.abs(got - ref).max():.3g}')
        assert np.abs(got - ref).max() < 1e-4
        if name_ == 'test set':
            print(f'onnxruntime test accuracy: {(got.argmax(1) == y[test_idx]).mean():.4f}')
    print('logits of the samples:')
    for n, row in zip(names, logits_batch):
        print(f'  {n:18s}', ' '.join(f'{v:+7.2f}' for v in row))

    for fn in sorted(os.listdir(OUT_DIR)):
        p = os.path.join(OUT_DIR, fn)
        with open(p, 'rb') as f:
            print(f'  {fn:26s} {os.path.getsize(p):7d} B  sha256 {hashlib.sha256(f.read()).hexdigest()[:16]}')

    if args.check_attribution:
        check_attribution(model, batch, labels, names, args.check_attribution)


if __name__ == '__main__':
    sys.exit(main())
