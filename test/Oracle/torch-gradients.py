# RUN: %python_torch %s --nnc-compile nnc-compile --workdir %t | FileCheck %s
# REQUIRES: torch
#
# PyTorch autograd is the oracle: for MLPs of 1 to 6 layers (one large
# enough for kernels split over two threads), with ReLU,
# sigmoid and tanh, MSE and cross-entropy, the loss and every gradient of
# the compiled gradient function match PyTorch on identical weights within
# 1e-5 (relative, per tensor, in the 2-norm). The reference runs in float64
# so the figure is nnc's own float32 error; the float32 PyTorch error is
# printed beside it.
#
# CHECK: all {{[0-9]+}} configurations match PyTorch
# CHECK-NOT: MISMATCH

import argparse
import sys

import numpy as np
import torch

sys.path.insert(0, __import__("os").path.join(__import__("os").path.dirname(__file__), "Inputs"))
from nnc_ctypes import Compiled, random_batch, random_params  # noqa: E402

TOL = 1e-5

CONFIGS = [
    # widths, activation, loss, batch
    ([784, 100, 10], "relu", "cross-entropy", 128),   # the seed's MLP
    ([5, 3], "relu", "mse", 4),                        # 1 layer
    ([12, 16, 6], "sigmoid", "mse", 8),
    ([12, 16, 6], "tanh", "cross-entropy", 8),
    ([20, 32, 32, 10], "tanh", "mse", 16),
    ([20, 32, 32, 32, 10], "sigmoid", "cross-entropy", 16),
    ([8, 16, 16, 16, 16, 16, 4], "relu", "mse", 32),  # 6 layers
    ([8, 16, 16, 16, 16, 16, 4], "tanh", "cross-entropy", 32),
    # 128 x 512 = 65536 points per elementwise op: nnc-parallelize-kernels
    # splits them over the runtime's threads (2 here).
    ([64, 512, 512, 16], "sigmoid", "mse", 128),
]


def torch_reference(widths, act, loss, x, target, params, dtype):
    ps = [torch.tensor(p, dtype=dtype, requires_grad=True) for p in params]
    h = torch.tensor(x, dtype=dtype)
    f = {"relu": torch.relu, "sigmoid": torch.sigmoid, "tanh": torch.tanh}[act]
    layers = len(widths) - 1
    for l in range(layers):
        h = torch.nn.functional.linear(h, ps[2 * l], ps[2 * l + 1])
        if l + 1 < layers:
            h = f(h)
    if loss == "mse":
        out = torch.nn.functional.mse_loss(h, torch.tensor(target, dtype=dtype))
    else:
        out = torch.nn.functional.cross_entropy(h, torch.tensor(target).long())
    out.backward()
    return out.item(), [p.grad.numpy() for p in ps]


def rel(a, b):
    a = np.asarray(a, np.float64)
    b = np.asarray(b, np.float64)
    return float(np.linalg.norm(a - b) / max(np.linalg.norm(b), 1e-30))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--nnc-compile", required=True)
    ap.add_argument("--workdir", required=True)
    args = ap.parse_args()
    rng = np.random.default_rng(1234)
    worst = 0.0
    for i, (widths, act, loss, batch) in enumerate(CONFIGS):
        spec = ["--mlp", ",".join(map(str, widths)), "--activation", act,
                "--loss", loss, "--batch", str(batch), "--learning-rate=0"]
        model = Compiled(args.nnc_compile, args.workdir, "m%d" % i, spec)
        model.lib.nncrt_set_num_threads(2)
        x, target = random_batch(rng, widths, batch, loss)
        params = random_params(rng, widths, gain=2.0)
        outs = model.call("grad", [x, target] + params)
        loss64, grads64 = torch_reference(widths, act, loss, x, target, params,
                                          torch.float64)
        loss32, grads32 = torch_reference(widths, act, loss, x, target, params,
                                          torch.float32)
        errs = [rel(outs[0], loss64)] + [rel(g, r) for g, r in
                                         zip(outs[1:], grads64)]
        errs32 = [rel(loss32, loss64)] + [rel(g, r) for g, r in
                                          zip(grads32, grads64)]
        err = max(errs)
        worst = max(worst, err)
        status = "ok" if err <= TOL else "MISMATCH"
        print("%-8s %-26s %-8s %-13s loss=%.6f nnc_err=%.2e torch32_err=%.2e"
              % (status, ",".join(map(str, widths)), act, loss, float(outs[0]),
                 err, max(errs32)))
        if err > TOL:
            for k, e in enumerate(errs):
                print("   tensor %d: rel err %.3e" % (k, e))
    if worst <= TOL:
        print("all %d configurations match PyTorch (worst rel err %.2e)"
              % (len(CONFIGS), worst))
    else:
        print("MISMATCH: worst rel err %.2e > %.0e" % (worst, TOL))
        sys.exit(1)


if __name__ == "__main__":
    main()
