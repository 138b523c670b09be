#!/usr/bin/env python3
"""Make tests/fixtures/gating/: a tiny torch classifier with the ops of issue 15 §2 that this fixture checks —
nn.PReLU(8) (PRelu with a [8, 1, 1] slope), a squeeze-excitation gate (Sigmoid, Mul of two model values),
nn.Linear over the last axis of a channels-last tensor (Transpose, N-D MatMul + Add), x[:, [0, 3]] (Gather with a
constant 1-D index) and a final torch.softmax (Softmax) — exported at opsets 11 and 13, with torch autograd's
gradients of the target logit and of the target probability as references (tests/test_gating_softmax.cpp).

Run with Debian's torch 1.13 (no venv needed):  /usr/bin/python3 tools/make_gating_fixture.py
Deterministic (fixed seeds): rerunning rewrites identical arrays.
"""
import os

import numpy as np
import torch
import torch.nn as nn

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "gating")


class SqueezeExcitation(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.fc1 = nn.Conv2d(c, 2, 1)
        self.fc2 = nn.Conv2d(2, c, 1)

    def forward(self, x):
        return x * torch.sigmoid(self.fc2(torch.relu(self.fc1(x.mean((2, 3), keepdim=True)))))


class Gated(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.act = nn.PReLU(8)
        self.se = SqueezeExcitation(8)
        self.pw = nn.Linear(8, 6)
        self.fc = nn.Linear(12, 5)

    def logits(self, x):
        x = self.pw(self.se(self.act(self.conv(x))).permute(0, 2, 3, 1))  # [N, H, W, 6]
        return self.fc(torch.flatten(x.mean(1)[:, [0, 3]], 1))

    def forward(self, x):
        return torch.softmax(self.logits(x), dim=1)


def main():
    torch.manual_seed(0)
    model = Gated().eval()
    with torch.no_grad():  # PReLU slopes of both signs, so the negative side matters
        model.act.weight.copy_(torch.linspace(-0.5, 1.5, 8))
    x = torch.randn(2, 3, 4, 4)
    os.makedirs(OUT, exist_ok=True)
    for opset in (11, 13):
        torch.onnx.export(model, x, os.path.join(OUT, f"gated_softmax_opset{opset}.onnx"), opset_version=opset,
                          input_names=["x"], output_names=["p"], dynamic_axes={"x": {0: "N"}, "p": {0: "N"}})
    np.save(os.path.join(OUT, "input.npy"), x.numpy())
    with torch.no_grad():
        logits = model.logits(x)
    np.save(os.path.join(OUT, "logits.npy"), logits.numpy())
    np.save(os.path.join(OUT, "probabilities.npy"), torch.softmax(logits, 1).numpy())
    target = logits.argmax(1)
    for name, head in (("logits", model.logits), ("probabilities", model)):
        xx = x.clone().requires_grad_(True)
        head(xx).gather(1, target[:, None]).sum().backward()
        np.save(os.path.join(OUT, f"gradient_{name}.npy"), xx.grad.numpy())


if __name__ == "__main__":
    main()
