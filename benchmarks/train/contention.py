#!/usr/bin/python3
"""Training throughput beside a busy process: nnc-train against PyTorch.

The Fashion-MNIST MLP of bench.py (784-100-10 ReLU, cross-entropy, batch
128, SGD with Nesterov momentum) at 1 and 2 threads, each run alone and
then beside one CPU-bound process (`python3 -c 'while True: pass'`) on the
same cores, as on a machine shared with a build. Each figure is the median
over rounds of the median epoch rate (the first epoch of a run is skipped:
it warms caches and page tables).

nnc-train runs with its defaults except --num-threads (it waits passively
in OpenMP unless OMP_WAIT_POLICY or GOMP_SPINCOUNT is set, tools/
WaitPolicy.cpp), and again with libgomp's own default wait (spinning
300,000 times, GOMP_SPINCOUNT=300000) to show what the passive default
costs and buys. The PyTorch peer goes through benchmarks/common/peer.py (the
best OpenBLAS kernel, never the reference BLAS; its configuration is
printed) and, at each thread count, runs every (PyTorch, BLAS) thread split
of that count; its figure is the best split, beside the busy process too.

  /usr/bin/python3 benchmarks/train/contention.py --nnc-train build/bin/nnc-train
"""

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "common"))
import peer  # noqa: E402

BUSY = [sys.executable, "-c", "while True: pass"]


def nnc_epochs(args, threads, spin=False):
    """nnc-train's epoch rates; `spin`: with libgomp's own default wait
    (GOMP_SPINCOUNT=300000) instead of nnc's passive one."""
    env = dict(os.environ)
    for var in ("OMP_NUM_THREADS", "OMP_WAIT_POLICY", "GOMP_SPINCOUNT"):
        env.pop(var, None)
    if spin:
        env["GOMP_SPINCOUNT"] = "300000"
    out = subprocess.run(
        [args.nnc_train, "--epochs", str(args.epochs), "--batch",
         str(args.batch), "--learning-rate", str(args.lr), "--progress",
         "never", "--num-threads", str(threads), "--data", args.data],
        check=True, capture_output=True, text=True, env=env).stdout
    rates = [float(m.group(1).replace(",", "")) for m in
             re.finditer(r"\| +[0-9.]+ s, ([0-9,]+) samples/s", out)]
    if len(rates) != args.epochs:
        sys.exit("contention: cannot read nnc-train's epochs:\n" + out)
    return rates


def torch_worker(args):
    """One PyTorch run in this (fresh) process: prints its epoch rates."""
    torch_threads, blas_threads = args.worker
    import gzip
    import struct
    import numpy as np
    import torch

    def idx(path):
        data = gzip.open(path).read()
        dims = struct.unpack(">%dI" % data[3], data[4:4 + 4 * data[3]])
        return np.frombuffer(data[4 + 4 * data[3]:], np.uint8).reshape(dims)

    peer.set_peer_threads(torch_threads, blas_threads)
    x = idx(os.path.join(args.data, "train-images-idx3-ubyte.gz"))
    y = idx(os.path.join(args.data, "train-labels-idx1-ubyte.gz"))
    x = x.reshape(len(x), -1).astype(np.float32) / 255
    x = torch.tensor((x - x.mean()) / x.std())
    y = torch.tensor(y).long()
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(784, 100), torch.nn.ReLU(),
                                torch.nn.Linear(100, 10))
    opt = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=0.9,
                          nesterov=True, foreach=False)
    gen = torch.Generator().manual_seed(1)
    n, b = len(x), args.batch
    rates = []
    for _ in range(args.epochs):
        t0 = time.perf_counter()
        perm = torch.randperm(n, generator=gen)
        correct = 0
        for s in range(n // b):
            i = perm[s * b:(s + 1) * b]
            xb, yb = x[i], y[i]
            z = model(xb)
            loss = torch.nn.functional.cross_entropy(z, yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            correct += (z.argmax(1) == yb).sum().item()
        rates.append((n // b) * b / (time.perf_counter() - t0))
    print(json.dumps(rates))


def torch_epochs(args, split):
    env = dict(os.environ)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        env.pop(var, None)
    out = subprocess.run(
        [sys.executable, __file__, "--worker", str(split[0]), str(split[1]),
         "--data", args.data, "--epochs", str(args.epochs), "--batch",
         str(args.batch), "--lr", str(args.lr)],
        check=True, capture_output=True, text=True, env=env).stdout
    return json.loads(out.strip().splitlines()[-1])


def measure(run, busy):
    """The median epoch rate (first epoch skipped) of one run, beside a
    busy process when `busy`."""
    hog = subprocess.Popen(BUSY) if busy else None
    try:
        if hog:
            time.sleep(0.5)  # let the scheduler see it as CPU-bound
        rates = run()
    finally:
        if hog:
            hog.kill()
            hog.wait()
    return statistics.median(rates[1:] if len(rates) > 1 else rates)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nnc-train")
    ap.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    ap.add_argument("--epochs", type=int, default=4)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--lr", type=float, default=0.05)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--worker", type=int, nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args()
    desc = peer.ensure_best_peer()
    if args.worker:
        return torch_worker(args)
    if not args.nnc_train:
        ap.error("--nnc-train is required")
    print("peer: " + desc)
    print("cores: %d online, %d usable by this process" %
          (os.cpu_count(), len(os.sched_getaffinity(0))))

    rows = []
    for threads in [int(t) for t in args.threads.split(",")]:
        splits = sorted({(threads, threads), (threads, 1), (1, threads)})
        figures = {}
        for busy in (False, True):
            nnc, spin, pt = [], [], {s: [] for s in splits}
            # Interleaved rounds: a drift in the machine hits both sides.
            for _ in range(args.rounds):
                nnc.append(measure(lambda: nnc_epochs(args, threads), busy))
                spin.append(measure(lambda: nnc_epochs(args, threads, True),
                                    busy))
                for s in splits:
                    pt[s].append(measure(lambda: torch_epochs(args, s), busy))
            best = max(splits, key=lambda s: statistics.median(pt[s]))
            figures[busy] = (statistics.median(nnc),
                             statistics.median(pt[best]), best,
                             statistics.median(spin))
            print("threads %d, %s: nnc %s; nnc spinning %s; pytorch %s" % (
                threads, "busy neighbour" if busy else "idle",
                ", ".join("%.0f" % r for r in nnc),
                ", ".join("%.0f" % r for r in spin),
                "; ".join("%s: %s" % ("torch %d/blas %d" % s,
                                      ", ".join("%.0f" % r for r in pt[s]))
                          for s in splits)), flush=True)
        rows.append((threads, figures))

    print("\nFashion-MNIST 784-100-10, batch %d; samples/s, median of %d "
          "rounds (each the median of epochs 2-%d)" %
          (args.batch, args.rounds, args.epochs))
    print("| threads | nnc idle | nnc busy | nnc kept | nnc spinning idle | "
          "nnc spinning busy | PyTorch idle | PyTorch busy | PyTorch kept "
          "(best split busy) | nnc / PyTorch busy |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for threads, f in rows:
        (ni, pi, _, si), (nb, pb, split, sb) = f[False], f[True]
        print("| %d | %.0f | %.0f | %.0f %% | %.0f | %.0f | %.0f | %.0f | "
              "%.0f %% (torch %d/blas %d) | %.2fx |" % (
                  threads, ni, nb, 100 * nb / ni, si, sb, pi, pb,
                  100 * pb / pi, split[0], split[1], nb / pb))


if __name__ == "__main__":
    main()
