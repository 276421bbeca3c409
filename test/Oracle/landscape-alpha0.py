# RUN: %python_torch %s --nnc-train nnc-train --nnc-landscape nnc-landscape --workdir %t | FileCheck %s
# REQUIRES: torch
#
# nnc-landscape's line projection at α = 0 is the model's loss at the
# given weights: PyTorch recomputes the loss of the saved weights on the
# same (normalized) data, batch by batch, and the CSV's α = 0 entry must
# equal it for the training and the test data. At the trained weights the
# loss rises both ways along the direction, and the plane's centre is the
# line's centre.
#
# CHECK: alpha=0 train loss matches PyTorch
# CHECK: alpha=0 test loss matches PyTorch
# CHECK: the line rises on both sides of the trained weights
# CHECK: the plane's centre equals the line's

import argparse
import csv
import gzip
import os
import struct
import subprocess
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "Tools", "nnc-train", "Inputs"))
import weights as nncw  # noqa: E402

TOL = 1e-5


def idx(path):
    data = gzip.open(path).read()
    rank = data[3]
    dims = struct.unpack(">%dI" % rank, data[4:4 + 4 * rank])
    return np.frombuffer(data[4 + 4 * rank:], np.uint8).reshape(dims)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--nnc-train", required=True)
    ap.add_argument("--nnc-landscape", required=True)
    ap.add_argument("--workdir", required=True)
    args = ap.parse_args()
    w = args.workdir
    subprocess.run([sys.executable,
                    os.path.join(HERE, "..", "Tools", "nnc-train", "Inputs",
                                 "make-idx.py"), w], check=True)
    data = os.path.join(w, "good")
    model = ["--mlp", "16,8,3", "--batch", "8"]
    subprocess.run([args.nnc_train, "--data", data, "--epochs", "3",
                    "--progress", "never", "--save",
                    os.path.join(w, "w.bin")] + model, check=True,
                   capture_output=True)
    prefix = os.path.join(w, "ls")
    subprocess.run([args.nnc_landscape, "--data", data, "--weights",
                    os.path.join(w, "w.bin"), "-o", prefix, "--points", "5",
                    "--range", "2", "--plane", "--grid", "3",
                    "--train-samples", "64", "--test-samples", "32"] + model,
                   check=True, capture_output=True)
    line = list(csv.DictReader(open(prefix + "-line.csv")))
    centre = [r for r in line if float(r["alpha"]) == 0.0]
    assert len(centre) == 1, line

    # The data as nnc normalizes it: x / 255 in f32, standardized with the
    # training pixels' mean and standard deviation (computed in double).
    train_x = idx(os.path.join(data, "train-images-idx3-ubyte.gz"))
    pixels = (train_x.astype(np.float32) / np.float32(255)).astype(np.float64)
    mean, std = pixels.mean(), pixels.std()
    params = [torch.tensor(np.array(v, np.float32).reshape(s),
                           dtype=torch.float64)
              for _, s, v in nncw.read(os.path.join(w, "w.bin"))]

    def loss_of(prefix_name):
        x = idx(os.path.join(data, prefix_name + "-images-idx3-ubyte.gz"))
        y = idx(os.path.join(data, prefix_name + "-labels-idx1-ubyte.gz"))
        x = x.reshape(len(x), -1).astype(np.float32) / np.float32(255)
        x = (x - np.float32(mean)) * np.float32(1 / std)
        losses = []
        for b in range(len(x) // 8):
            h = torch.tensor(x[8 * b:8 * b + 8], dtype=torch.float64)
            h = torch.relu(torch.nn.functional.linear(h, params[0], params[1]))
            z = torch.nn.functional.linear(h, params[2], params[3])
            losses.append(torch.nn.functional.cross_entropy(
                z, torch.tensor(y[8 * b:8 * b + 8]).long()).item())
        return float(np.mean(losses))

    for split, name in (("train", "train"), ("test", "t10k")):
        want = loss_of(name)
        got = float(centre[0][split + "_loss"])
        # Relative, but not below a loss of 0.01: near zero, f32's
        # log-sum-exp has an absolute error of about 1e-7.
        err = abs(got - want) / max(want, 0.01)
        if err > TOL:
            print("MISMATCH alpha=0 %s loss %.9g vs PyTorch %.9g" %
                  (split, got, want))
            sys.exit(1)
        print("alpha=0 %s loss matches PyTorch (%.6f, rel err %.1e)" %
              (split, got, err))
    losses = [float(r["train_loss"]) for r in line]
    mid = losses[len(losses) // 2]
    if not (losses[0] > mid and losses[-1] > mid):
        print("MISMATCH the line does not rise around the trained weights: %s"
              % losses)
        sys.exit(1)
    print("the line rises on both sides of the trained weights: %s" %
          " ".join("%.4f" % v for v in losses))
    plane = list(csv.DictReader(open(prefix + "-plane.csv")))
    pc = [r for r in plane if float(r["alpha"]) == 0 and float(r["beta"]) == 0]
    if len(plane) != 9 or len(pc) != 1 or \
            pc[0]["train_loss"] != centre[0]["train_loss"]:
        print("MISMATCH plane centre %s vs line centre %s" % (pc, centre))
        sys.exit(1)
    print("the plane's centre equals the line's")


if __name__ == "__main__":
    main()
