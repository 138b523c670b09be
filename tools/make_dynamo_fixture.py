"""Writes tests/fixtures/dynamo/: a small CNN exported by PyTorch's dynamo ONNX exporter (torch.onnx.export(...,
dynamo=True), the default since PyTorch 2.9), which keeps the weights in an external data file next to the model
(tiny_cnn.onnx + tiny_cnn.onnx.data), with an input batch, torch's logits and the gradient of each sample's
target logit with respect to the input (the references tests/test_onnx_external_data.cpp compares against).

Needs torch >= 2.9 and onnxscript (PyPI), e.g. a venv: python3 -m venv v && v/bin/pip install torch torchvision
onnxscript --index-url ... ; made with torch 2.11.0, onnxscript 0.7.2:
    /work/venv-torch211/bin/python tools/make_dynamo_fixture.py"""
import os

import numpy as np
import torch
from torch import nn

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "dynamo")


class TinyCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(8, 16, 3, padding=1, groups=2), nn.BatchNorm2d(16), nn.ReLU6(),
            nn.Conv2d(16, 16, 1), nn.SiLU())
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(16, 5)

    def forward(self, x):
        return self.classifier(torch.flatten(self.pool(self.features(x)), 1))


def main():
    torch.manual_seed(0)
    model = TinyCNN().eval()
    with torch.no_grad():  # BatchNorm statistics that are not the identity
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 1.5)
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.3, 0.3)
    x = torch.randn(3, 3, 16, 16)
    os.makedirs(OUT, exist_ok=True)
    path = os.path.join(OUT, "tiny_cnn.onnx")
    for f in (path, path + ".data"):
        if os.path.exists(f):
            os.remove(f)
    torch.onnx.export(model, (x,), path, dynamo=True, external_data=True,
                      dynamic_shapes=({0: torch.export.Dim("batch")},))
    assert os.path.exists(path + ".data"), "the exporter wrote no external data file"
    xg = x.clone().requires_grad_(True)
    logits = model(xg)
    target = logits.argmax(1)
    logits.gather(1, target[:, None]).sum().backward()
    np.save(os.path.join(OUT, "input.npy"), x.numpy())
    np.save(os.path.join(OUT, "output.npy"), logits.detach().numpy())
    np.save(os.path.join(OUT, "target.npy"), target.numpy().astype(np.int64))
    np.save(os.path.join(OUT, "gradient.npy"), xg.grad.numpy())
    print("torch", torch.__version__, "wrote", sorted(os.listdir(OUT)))


if __name__ == "__main__":
    main()
