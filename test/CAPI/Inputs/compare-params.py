"""Compares parameter dumps of nnc-capi-data-parallel (name value lines):
every later file against the first, per tensor, relative 2-norm error
within --tol (0: bitwise). Prints the worst error; exits 1 beyond it."""

import argparse
import collections
import math
import sys


def load(path):
    t = collections.OrderedDict()
    for line in open(path):
        name, value = line.split()
        t.setdefault(name, []).append(float(value))
    return t


ap = argparse.ArgumentParser()
ap.add_argument("--tol", type=float, required=True)
ap.add_argument("files", nargs="+")
args = ap.parse_args()
ref = load(args.files[0])
worst = 0.0
for path in args.files[1:]:
    got = load(path)
    if list(got) != list(ref):
        sys.exit("MISMATCH: %s has other tensors" % path)
    for name in ref:
        a, b = got[name], ref[name]
        if len(a) != len(b):
            sys.exit("MISMATCH: %s: %s has another size" % (path, name))
        num = math.sqrt(sum((x - y) ** 2 for x, y in zip(a, b)))
        den = max(math.sqrt(sum(y * y for y in b)), 1e-30)
        err = num / den
        if args.tol == 0 and a != b:
            sys.exit("MISMATCH: %s: %s differs bitwise" % (path, name))
        worst = max(worst, err)
if worst > args.tol:
    sys.exit("MISMATCH: worst relative error %.3g > %g" % (worst, args.tol))
print("match: %d files, worst relative error %.3g (bound %g)" %
      (len(args.files), worst, args.tol))
