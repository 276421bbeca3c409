#!/usr/bin/python3
"""CNN training throughput on Fashion-MNIST: nnc-train against PyTorch.

The lecture's CNN (examples/fashion-cnn: conv 1->32 3x3 pad 1, ReLU, max
pool 2, conv 32->64, ReLU, max pool 2, linear 3136->128, ReLU, linear
128->10), batch 128, SGD with Nesterov momentum 0.9 and lr 0.05, on the
Debian data set normalized alike, at one and at two threads. Each side
times its own training steps (gathering the shuffled batch, forward,
backward, update, counting correct predictions) over --steps steps after
--warmup untimed ones; rounds alternate nnc and PyTorch and the table
gives medians over rounds.

The peer runs at its best (benchmarks/common/peer.py): its BLAS kernel
chosen by measurement and printed, oneDNN (mkldnn) convolutions required
and printed, and both memory formats tried (NCHW, PyTorch's default, and
channels_last, where oneDNN's blocked kernels need no reorders): the faster
is the peer's figure.

--conv-layout=plain|blocked|both (both by default) times nnc-train with its
activations NCHW between the convolutions (each call reorders to oneDNN's
nChw16c and back) and with them kept in nChw16c (nnc-block-conv-layouts),
in each round, from one build: the before/after of that pass.

--precision=bf16 times nnc-train --precision=bf16 against the same PyTorch
steps under torch.autocast("cpu", dtype=torch.bfloat16) (its forward and
loss in the autocast region, as PyTorch's recipe has it); --precision=both
(the default) times both precisions in each round.

  /usr/bin/python3 benchmarks/train/bench_cnn.py --nnc-train build/bin/nnc-train
"""

import argparse
import gzip
import json
import os
import struct
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..", "..")
sys.path.insert(0, os.path.join(HERE, "..", "common"))
import peer  # noqa: E402

PEER = peer.ensure_best_peer()
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

sys.path.insert(0, os.path.join(ROOT, "examples", "fashion-cnn"))
from export import CNN  # noqa: E402


def idx(path):
    data = gzip.open(path).read()
    rank = data[3]
    dims = struct.unpack(">%dI" % rank, data[4:4 + 4 * rank])
    return np.frombuffer(data[4 + 4 * rank:], np.uint8).reshape(dims)


def run_torch(args, threads, x_tr, y_tr, channels_last, bf16):
    peer.set_peer_threads(threads, threads)
    torch.manual_seed(0)
    model = CNN()
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    model = model.to(memory_format=fmt)
    opt = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=0.9,
                          nesterov=True, foreach=False)
    gen = torch.Generator().manual_seed(1)
    perm = torch.randperm(len(x_tr), generator=gen)
    b = args.batch
    t0 = None
    for s in range(args.warmup + args.steps):
        if s == args.warmup:
            t0 = time.perf_counter()
        i = perm[s * b:(s + 1) * b]
        xb = x_tr[i].contiguous(memory_format=fmt)
        yb = y_tr[i]
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            z = model(xb)
            loss = F.cross_entropy(z, yb)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        (z.argmax(1) == yb).sum().item()
    return args.steps * b / (time.perf_counter() - t0)


def run_nnc(args, threads, bf16, layout):
    # The first --warmup steps are timed by nnc-train too: time two runs
    # and take the difference, so both sides exclude the same warm-up.
    # The epoch's seconds from --metrics-out, unrounded (the printed line
    # has 0.1 s, 4 % of a 100-step difference).
    def rate(steps):
        with tempfile.TemporaryDirectory() as tmp:
            metrics = os.path.join(tmp, "metrics.jsonl")
            subprocess.run(
                [args.nnc_train, args.model, "--epochs", "1", "--steps",
                 str(steps), "--batch", str(args.batch), "--learning-rate",
                 str(args.lr), "--progress", "never", "--data", args.data,
                 "--test-limit", str(args.batch), "--num-threads",
                 str(threads), "--precision", "bf16" if bf16 else "f32",
                 "--conv-layout", layout, "--metrics-out", metrics],
                check=True, capture_output=True, text=True)
            with open(metrics) as f:
                epochs = [r for r in map(json.loads, f)
                          if r.get("type") == "epoch"]
        if not epochs:
            sys.exit("nnc-train wrote no epoch record to --metrics-out")
        seconds = epochs[-1]["seconds"]
        return seconds, steps * args.batch / seconds
    t_short, _ = rate(args.warmup)
    t_long, _ = rate(args.warmup + args.steps)
    return args.steps * args.batch / max(t_long - t_short, 1e-9)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nnc-train", required=True)
    ap.add_argument("--model",
                    default=os.path.join(ROOT, "examples", "fashion-cnn",
                                         "cnn.onnx"))
    ap.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--warmup", type=int, default=10)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--lr", type=float, default=0.05)
    ap.add_argument("--precision", choices=["f32", "bf16", "both"],
                    default="both")
    ap.add_argument("--conv-layout", choices=["plain", "blocked", "both"],
                    default="both")
    args = ap.parse_args()
    layouts = (["plain", "blocked"] if args.conv_layout == "both"
               else [args.conv_layout])
    precisions = {"f32": [False], "bf16": [True],
                  "both": [False, True]}[args.precision]

    print("PyTorch %s" % torch.__version__)
    print("  peer: " + PEER)
    print("  " + peer.convolution_check())
    x_tr = idx(os.path.join(args.data, "train-images-idx3-ubyte.gz"))
    y_tr = idx(os.path.join(args.data, "train-labels-idx1-ubyte.gz"))
    x_tr = x_tr.astype(np.float32) / 255
    mean, std = x_tr.astype(np.float64).mean(), x_tr.astype(np.float64).std()
    x_tr = torch.tensor((x_tr - mean) / std).reshape(-1, 1, 28, 28)
    y_tr = torch.tensor(y_tr).long()

    rows = []
    med = lambda v: float(np.median(v))
    for threads in [int(t) for t in args.threads.split(",")]:
        for bf16 in precisions:
            nnc, nchw, cl = {l: [] for l in layouts}, [], []
            rows.append((threads, bf16, nnc, nchw, cl))
        for r in range(args.rounds):
            for t, bf16, nnc, nchw, cl in rows:
                if t != threads:
                    continue
                # Alternate the layouts' order between rounds: the machine
                # is shared, and a slow spell should not favour one.
                for l in layouts if r % 2 == 0 else layouts[::-1]:
                    nnc[l].append(run_nnc(args, threads, bf16, l))
                nchw.append(run_torch(args, threads, x_tr, y_tr, False, bf16))
                cl.append(run_torch(args, threads, x_tr, y_tr, True, bf16))
                print("  %d thread(s), %s, round %d: %s, pytorch NCHW "
                      "%.0f, channels_last %.0f samples/s"
                      % (threads, "bf16" if bf16 else "f32", r + 1,
                         ", ".join("nnc %s %.0f" % (l, nnc[l][-1])
                                   for l in layouts),
                         nchw[-1], cl[-1]), flush=True)
    print("\nFashion-MNIST CNN (examples/fashion-cnn), batch %d, SGD Nesterov "
          "0.9; samples/s, median of %d rounds of %d steps; bf16: nnc "
          "--precision=bf16, PyTorch autocast bf16"
          % (args.batch, args.rounds, args.steps))
    print("%-8s %-9s %s%14s %20s %s" % (
        "threads", "precision",
        "".join("%13s" % ("nnc " + l) for l in layouts), "pytorch NCHW",
        "pytorch chan-last",
        "".join("%16s" % ("%s / best" % l) for l in layouts)
        + (" %15s" % "blocked / plain" if len(layouts) == 2 else "")))
    f32rate = {}
    # nnc's figure: the last layout asked for (blocked, with both).
    final = layouts[-1]
    for t, bf16, nnc, nchw, cl in rows:
        best = max(med(nchw), med(cl))
        print("%-8d %-9s %s%14.0f %20.0f %s" % (
            t, "bf16" if bf16 else "f32",
            "".join("%13.0f" % med(nnc[l]) for l in layouts), med(nchw),
            med(cl),
            "".join("%15.2fx" % (med(nnc[l]) / best) for l in layouts)
            + (" %14.2fx" % (med(nnc["blocked"]) / med(nnc["plain"]))
               if len(layouts) == 2 else "")))
        if not bf16:
            f32rate[t] = (med(nnc[final]), best)
    for t, bf16, nnc, nchw, cl in rows:
        if bf16 and t in f32rate:
            print("%d thread(s): bf16 / f32 step rate (nnc %s): nnc %.2fx, "
                  "PyTorch %.2fx" % (t, final, med(nnc[final]) / f32rate[t][0],
                                    max(med(nchw), med(cl)) / f32rate[t][1]))


if __name__ == "__main__":
    main()
