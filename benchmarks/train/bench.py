#!/usr/bin/python3
"""Training throughput on Fashion-MNIST: nnc-train against PyTorch.

The same model (784-100-10 ReLU MLP, cross-entropy), batch (128), optimizer
(SGD with Nesterov momentum 0.9, the same learning-rate schedule), data
(the Debian data set, normalized alike, reshuffled each epoch) and one
thread on each side. Each side times its own epochs: gathering the
shuffled batch, forward, backward, update and counting correct
predictions; the test evaluation after each epoch is not timed.

PyTorch's matrix products go to whatever libblas.so.3 points to; Debian's
default is the reference BLAS, several times slower than OpenBLAS, which
would make any comparison meaningless. Like every nnc benchmark, this one
goes through benchmarks/common/peer.py first: it chooses OpenBLAS's
kernel by measurement (an inherited OPENBLAS_CORETYPE or OpenBLAS's own
detection can pick a weaker one), prints the BLAS that threadpoolctl sees
and refuses the reference one.

  /usr/bin/python3 benchmarks/train/bench.py --nnc-train build/bin/nnc-train
"""

import argparse
import os
import re
import subprocess
import sys
import time

# One thread for every BLAS and OpenMP pool, before torch loads them.
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
            "BLIS_NUM_THREADS"):
    os.environ[var] = "1"

import gzip  # noqa: E402
import struct  # noqa: E402

import numpy as np  # noqa: E402
import threadpoolctl  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "common"))
import peer  # noqa: E402

# Before torch loads OpenBLAS: the kernel is chosen in fresh processes.
PEER = peer.ensure_best_peer()
import torch  # noqa: E402


def idx(path):
    data = gzip.open(path).read()
    rank = data[3]
    dims = struct.unpack(">%dI" % rank, data[4:4 + 4 * rank])
    return np.frombuffer(data[4 + 4 * rank:], np.uint8).reshape(dims)


def blas_check():
    info = threadpoolctl.threadpool_info()
    for lib in info:
        print("  threadpoolctl: %s %s (%s), %s threads, %s" %
              (lib.get("internal_api"), lib.get("version"),
               lib.get("architecture"), lib.get("num_threads"),
               lib.get("filepath")))
    print("  peer: " + PEER)
    apis = {lib.get("internal_api") for lib in info
            if lib.get("user_api") == "blas"}
    if not apis & {"openblas", "mkl", "blis"}:
        sys.exit("refusing to benchmark: PyTorch's BLAS is the reference "
                 "implementation (or unknown: %s); install libopenblas0-pthread"
                 % sorted(apis))


def run_torch(args, data):
    torch.set_num_threads(1)
    x_tr, y_tr, x_te, y_te = data
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(784, 100), torch.nn.ReLU(),
                                torch.nn.Linear(100, 10))
    for m in model:
        if isinstance(m, torch.nn.Linear):  # He init, zero biases, as nnc
            torch.nn.init.kaiming_normal_(m.weight)
            torch.nn.init.zeros_(m.bias)
    opt = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=0.9,
                          nesterov=True, foreach=False)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=args.epochs)
    gen = torch.Generator().manual_seed(1)
    n, b = len(x_tr), args.batch
    rates = []
    for epoch in range(args.epochs):
        t0 = time.perf_counter()
        perm = torch.randperm(n, generator=gen)
        correct = 0
        for s in range(n // b):
            idx_ = perm[s * b:(s + 1) * b]
            xb, yb = x_tr[idx_], y_tr[idx_]
            z = model(xb)
            loss = torch.nn.functional.cross_entropy(z, yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            correct += (z.argmax(1) == yb).sum().item()
        seconds = time.perf_counter() - t0
        sched.step()
        with torch.no_grad():
            acc = (model(x_te).argmax(1) == y_te).float().mean().item()
        rates.append((n // b) * b / seconds)
        print("  pytorch epoch %2d: %6.2f s, %8.0f samples/s, train acc "
              "%.2f%%, test acc %.2f%%" % (epoch + 1, seconds, rates[-1],
                                           100 * correct / ((n // b) * b),
                                           100 * acc))
    return rates


def run_nnc(args):
    out = subprocess.run(
        [args.nnc_train, "--epochs", str(args.epochs), "--batch",
         str(args.batch), "--learning-rate", str(args.lr), "--progress",
         "never", "--data", args.data], check=True, capture_output=True,
        text=True).stdout
    rates = []
    for line in out.splitlines():
        m = re.search(r"epoch +(\d+)/\d+ .*\| +([0-9.]+) s, ([0-9,]+) "
                      r"samples/s", line)
        if m:
            rates.append(float(m.group(3).replace(",", "")))
            print("  nnc     " + line.strip())
    return rates


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nnc-train", required=True)
    ap.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--lr", type=float, default=0.05)
    args = ap.parse_args()

    print("PyTorch %s, one thread" % torch.__version__)
    blas_check()
    x_tr = idx(os.path.join(args.data, "train-images-idx3-ubyte.gz"))
    y_tr = idx(os.path.join(args.data, "train-labels-idx1-ubyte.gz"))
    x_te = idx(os.path.join(args.data, "t10k-images-idx3-ubyte.gz"))
    y_te = idx(os.path.join(args.data, "t10k-labels-idx1-ubyte.gz"))
    x_tr = x_tr.reshape(len(x_tr), -1).astype(np.float32) / 255
    x_te = x_te.reshape(len(x_te), -1).astype(np.float32) / 255
    mean, std = x_tr.astype(np.float64).mean(), x_tr.astype(np.float64).std()
    data = (torch.tensor((x_tr - mean) / std), torch.tensor(y_tr).long(),
            torch.tensor((x_te - mean) / std), torch.tensor(y_te).long())

    nnc = run_nnc(args)
    pt = run_torch(args, data)
    # The first epoch warms caches and page tables on both sides.
    skip = 1 if args.epochs > 1 else 0
    med = lambda v: float(np.median(v[skip:]))
    print("\nFashion-MNIST 784-100-10, batch %d, SGD Nesterov 0.9, one thread; "
          "median of epochs %d-%d" % (args.batch, skip + 1, args.epochs))
    print("%-8s %14s %12s" % ("system", "samples/s", "s/epoch"))
    for name, r in (("nnc", nnc), ("pytorch", pt)):
        print("%-8s %14.0f %12.3f" % (name, med(r), 60000 / med(r)))
    print("nnc / pytorch: %.2fx" % (med(nnc) / med(pt)))


if __name__ == "__main__":
    main()
