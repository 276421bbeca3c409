"""Compares two nnc-train runs for the data-parallel tests: their weights
files and, optionally, their step losses (--metrics-out with --log-every 1).
Usage: dp-compare.py --tol T A.bin B.bin [A.jsonl B.jsonl]. Prints the
largest relative difference of each (weights: max |a - b| / max |a| per
tensor; losses: per step) and exits 1 if one exceeds T (T = 0: the files
must be bitwise identical).""" 

import argparse
import json
import os
import struct
import sys

sys.path.insert(0, os.path.dirname(__file__))
from weights import read  # noqa: E402


def rel(a, b):
    scale = max(abs(a), abs(b))
    return 0.0 if scale == 0 else abs(a - b) / scale


def losses(path):
    out = []
    for line in open(path):
        o = json.loads(line)
        if o.get("type") == "step":
            out.append((o["step"], o["loss"]))
    return out


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--tol", type=float, required=True)
    p.add_argument("files", nargs="+")
    args = p.parse_args()
    a, b = args.files[0], args.files[1]
    bad = False
    if args.tol == 0:
        same = open(a, "rb").read() == open(b, "rb").read()
        print("weights bitwise identical:", "yes" if same else "NO")
        bad |= not same
    else:
        wa, wb = read(a), read(b)
        assert [(n, s) for n, s, _ in wa] == [(n, s) for n, s, _ in wb], \
            "different tensors"
        # Per tensor, the largest difference relative to the tensor's
        # largest magnitude: an element near zero has no useful relative
        # error of its own (its per-element figure is printed too).
        worst = max(max(abs(x - y) for x, y in zip(va, vb)) /
                    max(abs(x) for x in va)
                    for (_, _, va), (_, _, vb) in zip(wa, wb))
        elementwise = max(rel(x, y) for (_, _, va), (_, _, vb) in zip(wa, wb)
                          for x, y in zip(va, vb))
        moved = max(rel(x, 0.0) for _, _, va in wa for x in va)
        print("weights: %d tensors, largest relative difference %.1e "
              "(per element: %.1e)" % (len(wa), worst, elementwise))
        bad |= worst > args.tol or moved == 0
    if len(args.files) == 4:
        la, lb = losses(args.files[2]), losses(args.files[3])
        assert [s for s, _ in la] == [s for s, _ in lb], "different steps"
        worst = max(rel(x, y) for (_, x), (_, y) in zip(la, lb))
        print("losses: %d steps, largest relative difference %.1e" %
              (len(la), worst))
        if args.tol == 0:
            bad |= worst != 0
        else:
            bad |= worst > args.tol
    sys.exit(1 if bad else 0)


main()
