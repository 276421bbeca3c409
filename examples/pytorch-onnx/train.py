"""Step 3 of docs/ONNX.md: train with the library nnc-compile wrote, then
hand the weights back to PyTorch.

  train.py mlp.so init.nncw [--steps N] [--save trained.nncw]

mlp.so holds the training step (forward, backward under the checkpoint
plan, SGD); --report=json describes its buffers. Data: Debian's
dataset-fashion-mnist when installed, else random images with random
labels (the loss still falls: the network memorizes them)."""

import argparse
import ctypes
import gzip
import json
import os
import struct
import subprocess
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import nnc_weights  # noqa: E402  (nnc's weights file in numpy)

ap = argparse.ArgumentParser()
ap.add_argument("lib")
ap.add_argument("weights")
ap.add_argument("--report", required=True,
                help="what nnc-compile --report=json printed")
ap.add_argument("--steps", type=int, default=200)
ap.add_argument("--save", default="trained.nncw")
args = ap.parse_args()

report = json.load(open(args.report))
step = next(e for e in report["entry_points"] if e["role"] == "train_step")
params = [b for b in step["inputs"] if b.get("parameter")]
names = [b.get("source_name", b["name"]) for b in params]
batch = step["inputs"][0]["shape"][0]

# The initial weights, by name: the ONNX initializers (PyTorch's values).
weights = nnc_weights.load(args.weights)
values = [np.ascontiguousarray(weights[n]) for n in names]

FMNIST = "/usr/share/datasets/fashion-mnist"
if os.path.exists(os.path.join(FMNIST, "train-images-idx3-ubyte.gz")):
    raw = gzip.open(os.path.join(FMNIST, "train-images-idx3-ubyte.gz")).read()
    n = struct.unpack(">I", raw[4:8])[0]
    images = np.frombuffer(raw, np.uint8, n * 784, 16).reshape(n, 784)
    images = images.astype(np.float32) / 255.0
    raw = gzip.open(os.path.join(FMNIST, "train-labels-idx1-ubyte.gz")).read()
    labels = np.frombuffer(raw, np.uint8, n, 8).astype(np.int64)
    print("data: Fashion-MNIST, %d images" % n)
else:
    rng = np.random.default_rng(0)
    images = rng.random((batch * 4, 784), np.float32)
    labels = rng.integers(0, 10, batch * 4)
    print("data: random")

lib = ctypes.CDLL(os.path.abspath(args.lib))
fn = getattr(lib, step["name"])
fn.restype = None
ws = np.zeros(step["arena_bytes"] + 64, np.uint8)
workspace = ws[(-ws.ctypes.data) % 64:]          # 64-byte aligned
loss = np.zeros((), np.float32)
ptr = lambda a: a.ctypes.data_as(ctypes.c_void_p)  # noqa: E731
for s in range(args.steps):
    i = (s * batch) % (len(images) - batch + 1)
    x = np.ascontiguousarray(images[i:i + batch])
    y = np.ascontiguousarray(labels[i:i + batch])
    # Inputs x, labels, parameters; outputs the loss, then the parameters
    # updated in place (the header allows it).
    fn(ptr(x), ptr(y), *[ptr(v) for v in values], ptr(loss),
       *[ptr(v) for v in values], ptr(workspace))
    if s == 0:
        first = float(loss)
    if s % 50 == 0 or s + 1 == args.steps:
        print("step %4d  loss %.4f" % (s, loss))
print("loss %.4f -> %.4f" % (first, loss))

nnc_weights.save(args.save, dict(zip(names, values)))
print("saved", args.save)

# Back in PyTorch: the same architecture, the trained weights by name.
import torch  # noqa: E402
model = torch.nn.Sequential(
    torch.nn.Flatten(),
    torch.nn.Linear(784, 256), torch.nn.ReLU(), torch.nn.Linear(256, 256),
    torch.nn.ReLU(), torch.nn.Linear(256, 256), torch.nn.ReLU(),
    torch.nn.Linear(256, 256), torch.nn.ReLU(), torch.nn.Linear(256, 10))
trained = nnc_weights.load(args.save)
model.load_state_dict({k: torch.from_numpy(v) for k, v in trained.items()})
x = torch.from_numpy(images[:batch].reshape(batch, 1, 28, 28))
with torch.no_grad():
    lossPT = torch.nn.functional.cross_entropy(
        model(x), torch.from_numpy(labels[:batch])).item()
    acc = (model(x).argmax(1).numpy() == labels[:batch]).mean()
print("PyTorch with nnc's weights: loss %.4f, accuracy %.1f%% on the first "
      "batch" % (lossPT, 100 * acc))
sys.exit(0 if loss < first else 1)
