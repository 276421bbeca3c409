# RUN: %python_torch %s --nnc-compile nnc-compile --workdir %t | FileCheck %s
# REQUIRES: torch
#
# The compiled training step (forward, backward, SGD) updated in place, with
# dropout, against PyTorch running the same steps. nnc's dropout mask is a
# hash of (seed, element index); the oracle recomputes it in numpy and
# applies it in PyTorch, so this also pins down nn.dropout's semantics.
#
# CHECK: in-place SGD with dropout matches PyTorch after 3 steps
# CHECK: in-place SGD without dropout matches PyTorch after 3 steps

import argparse
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "Inputs"))
from nnc_ctypes import Compiled, dropout_keep, random_params  # noqa: E402

TOL = 1e-5


def run(args, dropout):
    widths, batch, lr = [24, 32, 16, 5], 12, 0.05
    spec = ["--mlp", ",".join(map(str, widths)), "--activation", "tanh",
            "--loss", "cross-entropy", "--batch", str(batch),
            "--learning-rate", str(lr), "--dropout", str(dropout)]
    model = Compiled(args.nnc_compile, args.workdir,
                     "step_d%g" % dropout, spec)
    rng = np.random.default_rng(7)
    params = random_params(rng, widths)
    ref = [torch.tensor(p.astype(np.float64), requires_grad=True)
           for p in params]
    loss_out = np.zeros((), np.float32)
    for step in range(3):
        x = rng.standard_normal((batch, widths[0])).astype(np.float32)
        labels = rng.integers(0, widths[-1], batch).astype(np.int32)
        # In place: each updated parameter is written over its input.
        model.call("train_step", [x, labels] + params, [loss_out] + params)
        h = torch.tensor(x, dtype=torch.float64)
        layers = len(widths) - 1
        for l in range(layers):
            h = torch.nn.functional.linear(h, ref[2 * l], ref[2 * l + 1])
            if l + 1 < layers:
                h = torch.tanh(h)
                if dropout > 0:
                    keep = dropout_keep(tuple(h.shape), l + 1, dropout)
                    h = h * torch.tensor(keep, dtype=torch.float64) / \
                        (1.0 - dropout)
        loss = torch.nn.functional.cross_entropy(h, torch.tensor(labels).long())
        for p in ref:
            p.grad = None
        loss.backward()
        with torch.no_grad():
            for p in ref:
                p -= lr * p.grad
        lerr = abs(float(loss_out) - loss.item()) / abs(loss.item())
        if lerr > TOL:
            print("MISMATCH loss at step %d: %g vs %g" % (step, loss_out,
                                                         loss.item()))
            sys.exit(1)
    errs = [np.linalg.norm(p - r.detach().numpy()) /
            np.linalg.norm(r.detach().numpy()) for p, r in zip(params, ref)]
    if max(errs) > TOL:
        print("MISMATCH parameters: %s" % errs)
        sys.exit(1)
    print("in-place SGD %s dropout matches PyTorch after 3 steps "
          "(worst rel err %.2e)" % ("with" if dropout else "without",
                                    max(errs)))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--nnc-compile", required=True)
    ap.add_argument("--workdir", required=True)
    args = ap.parse_args()
    run(args, 0.25)
    run(args, 0.0)


if __name__ == "__main__":
    main()
