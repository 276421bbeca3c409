"""A CIFAR-style ResNet (He et al. 2016, section 4.2) for Fashion-MNIST,
with and without its skip connections, exported to ONNX for nnc-train and
nnc-landscape (Li et al. 2018, "Visualizing the Loss Landscape of Neural
Nets", figures 5 and 6):

    conv 3x3 (1 -> 16) - BN - ReLU
    3 stages of n basic blocks, 16 / 32 / 64 channels (the first block of
      stages 2 and 3 halves the resolution with stride 2):
        conv 3x3 - BN - ReLU - conv 3x3 - BN (+ shortcut) - ReLU
      the shortcut is the identity, or a 1x1 stride-2 conv + BN where the
      shape changes ("option B"); --no-skip drops every shortcut
    global average pool - linear 64 -> 10

Depth 6n + 2: n = 3 is ResNet-20, n = 9 ResNet-56.

    /usr/bin/python3 examples/resnet-landscape/export.py OUT.onnx [--blocks N] [--no-skip] [--batch B]

The graph computes the training loss (cross-entropy of the logits against
the labels), batch norm in training mode, so nnc-train needs no --loss and
returns the updated running statistics; nnc's predict function uses them.
Weights are PyTorch's default initialization with seed 0."""

import argparse
import warnings

import torch
import torch.nn as nn
import torch.nn.functional as F


class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride, skip):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.skip = skip
        self.project = None
        if skip and (stride != 1 or cin != cout):
            self.project = nn.Sequential(
                nn.Conv2d(cin, cout, 1, stride, bias=False),
                nn.BatchNorm2d(cout))

    def forward(self, x):
        y = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
        if self.skip:
            y = y + (self.project(x) if self.project is not None else x)
        return F.relu(y)


class ResNet(nn.Module):
    def __init__(self, blocks, skip):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(1, 16, 3, 1, 1, bias=False),
                                  nn.BatchNorm2d(16), nn.ReLU())
        layers, cin = [], 16
        for stage, cout in enumerate((16, 32, 64)):
            for b in range(blocks):
                stride = 2 if stage > 0 and b == 0 else 1
                layers.append(BasicBlock(cin, cout, stride, skip))
                cin = cout
        self.blocks = nn.Sequential(*layers)
        self.fc = nn.Linear(64, 10)

    def forward(self, x):
        x = self.blocks(self.stem(x))
        return self.fc(x.mean((2, 3)))


class WithLoss(nn.Module):
    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, x, labels):
        return F.cross_entropy(self.net(x), labels)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out")
    ap.add_argument("--blocks", type=int, default=3,
                    help="basic blocks per stage (3: ResNet-20)")
    ap.add_argument("--no-skip", action="store_true")
    ap.add_argument("--batch", type=int, default=128)
    args = ap.parse_args()
    torch.manual_seed(0)
    net = WithLoss(ResNet(args.blocks, not args.no_skip))
    net.train()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(net, (torch.zeros(args.batch, 1, 28, 28),
                                torch.zeros(args.batch, dtype=torch.int64)),
                          args.out, opset_version=13,
                          training=torch.onnx.TrainingMode.TRAINING,
                          do_constant_folding=False,
                          input_names=["x", "labels"], output_names=["loss"])


if __name__ == "__main__":
    main()
