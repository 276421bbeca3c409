"""Compares an nnc-train run with micro-batches against the same run in
whole batches: their weights files and their step losses (--metrics-out with
--log-every 1). Usage: micro-batch-compare.py --tol T A.bin B.bin A.jsonl
B.jsonl. Weights: per tensor, the largest |a - b| over the tensor's largest
|a|, at most T. Losses: per step, |a - b| <= T * max(|a|, |b|) + 2^-23: a
cross-entropy near 0 is -log p with p within an ulp of 1, so its absolute
rounding (float32's ulp at 1.0, 1.2e-7) does not shrink with it. Prints the
largest differences and exits 1 if one is over."""

import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
from weights import read  # noqa: E402

ULP_AT_ONE = 2.0 ** -23


def losses(path):
    return [(o["step"], o["loss"]) for o in map(json.loads, open(path))
            if o.get("type") == "step"]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--tol", type=float, required=True)
    p.add_argument("files", nargs=4)
    args = p.parse_args()
    wa, wb = read(args.files[0]), read(args.files[1])
    assert [(n, s) for n, s, _ in wa] == [(n, s) for n, s, _ in wb], \
        "different tensors"
    worst = max(max(abs(x - y) for x, y in zip(va, vb)) /
                max(abs(x) for x in va)
                for (_, _, va), (_, _, vb) in zip(wa, wb))
    print("weights: %d tensors, largest relative difference %.1e"
          % (len(wa), worst))
    la, lb = losses(args.files[2]), losses(args.files[3])
    assert [s for s, _ in la] == [s for s, _ in lb] and la, "different steps"
    rel = max(abs(x - y) / max(abs(x), abs(y), 1e-30)
              for (_, x), (_, y) in zip(la, lb))
    over = [(s, x, y) for (s, x), (_, y) in zip(la, lb)
            if abs(x - y) > args.tol * max(abs(x), abs(y)) + ULP_AT_ONE]
    print("losses: %d steps, largest relative difference %.1e, %d over "
          "the bound" % (len(la), rel, len(over)))
    for s, x, y in over[:5]:
        print("  step %d: %r against %r" % (s, x, y))
    sys.exit(1 if worst > args.tol or over else 0)


main()
