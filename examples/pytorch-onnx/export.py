"""Step 1 of docs/ONNX.md: a PyTorch model, exported with torch.onnx.

A Fashion-MNIST classifier: 784 inputs (28x28 images, flattened by the
model), four hidden ReLU layers of 256, 10 classes. nnc compiles static
shapes, so the example input fixes the batch (512)."""

import argparse

import torch
import torch.nn as nn

ap = argparse.ArgumentParser()
ap.add_argument("--batch", type=int, default=512)
ap.add_argument("-o", default="mlp.onnx")
args = ap.parse_args()

torch.manual_seed(0)
model = nn.Sequential(
    nn.Flatten(),
    nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(),
    nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(),
    nn.Linear(256, 10))
x = torch.randn(args.batch, 1, 28, 28)
torch.onnx.export(model, x, args.o, opset_version=17,
                  input_names=["x"], output_names=["logits"])
print("exported %s: %d parameters, batch %d"
      % (args.o, sum(p.numel() for p in model.parameters()), args.batch))
