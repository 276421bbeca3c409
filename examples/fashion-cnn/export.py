"""The lecture's CNN for Fashion-MNIST, defined in PyTorch and exported to
ONNX for nnc-train:

    conv(1->32, 3x3, pad 1) - ReLU - maxpool 2
    conv(32->64, 3x3, pad 1) - ReLU - maxpool 2
    linear 3136->128 - ReLU - linear 128->10

    /usr/bin/python3 examples/fashion-cnn/export.py examples/fashion-cnn/cnn.onnx
    build/bin/nnc-train examples/fashion-cnn/cnn.onnx

The graph computes the training loss (F.cross_entropy of the logits against
the labels, batch 128), so nnc-train needs no --loss; nnc's predict
function evaluates the logits. Its weights are PyTorch's default initialization
with seed 0, so both frameworks start from the same point."""

import sys
import warnings

import torch
import torch.nn as nn


class CNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2))
        self.classifier = nn.Sequential(
            nn.Flatten(), nn.Linear(64 * 7 * 7, 128), nn.ReLU(),
            nn.Linear(128, 10))

    def forward(self, x):
        return self.classifier(self.features(x))


class WithLoss(nn.Module):
    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, x, labels):
        return nn.functional.cross_entropy(self.net(x), labels)


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "cnn.onnx"
    batch = int(sys.argv[2]) if len(sys.argv) > 2 else 128
    torch.manual_seed(0)
    net = WithLoss(CNN())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(net, (torch.zeros(batch, 1, 28, 28),
                                torch.zeros(batch, dtype=torch.int64)),
                          out, opset_version=13,
                          input_names=["x", "labels"], output_names=["loss"])


if __name__ == "__main__":
    main()
