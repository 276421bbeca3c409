# RUN: %python_torch %s --nnc-compile nnc-compile --workdir %t | FileCheck %s
# REQUIRES: torch, bf16
#
# Mixed precision against PyTorch's autocast: for MLPs compiled with
# --precision=bf16, the loss and every gradient of one step on the same
# weights and batch are compared with torch.autocast("cpu",
# dtype=torch.bfloat16) run in PyTorch 1.13: the loss within 1e-2
# relative and every gradient's cosine similarity at least 0.999. The
# step must really compute in bf16: its gradients differ from the f32
# build's by at least 1e-4 (relative, in the 2-norm), where bf16's 8-bit
# mantissa puts them (f32 against float64 is about 1e-7, short of a ReLU
# whose input rounds across zero).
#
# CHECK: all {{[0-9]+}} configurations match autocast
# CHECK-NOT: MISMATCH

import argparse
import sys
import os

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "Inputs"))
from nnc_ctypes import Compiled, random_batch, random_params  # noqa: E402

CONFIGS = [
    # widths, activation, loss, batch
    ([784, 100, 10], "relu", "cross-entropy", 128),
    ([64, 256, 256, 16], "relu", "mse", 64),
    ([32, 64, 64, 64, 10], "tanh", "cross-entropy", 32),
    ([48, 96, 8], "sigmoid", "mse", 16),
]


def reference(widths, act, loss, x, target, params, autocast, dtype):
    ps = [torch.tensor(p, dtype=dtype, requires_grad=True) for p in params]
    h = torch.tensor(x, dtype=dtype)
    f = {"relu": torch.relu, "sigmoid": torch.sigmoid, "tanh": torch.tanh}[act]
    layers = len(widths) - 1
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
        for l in range(layers):
            h = torch.nn.functional.linear(h, ps[2 * l], ps[2 * l + 1])
            if l + 1 < layers:
                h = f(h)
        if loss == "mse":
            out = torch.nn.functional.mse_loss(
                h.float() if autocast else h, torch.tensor(target, dtype=dtype))
        else:
            out = torch.nn.functional.cross_entropy(
                h.float() if autocast else h, torch.tensor(target).long())
    out.backward()
    return out.item(), [p.grad.double().numpy() for p in ps]


def rel(a, b):
    a = np.asarray(a, np.float64)
    b = np.asarray(b, np.float64)
    return float(np.linalg.norm(a - b) / max(np.linalg.norm(b), 1e-30))


def cosine(a, b):
    a = np.asarray(a, np.float64).ravel()
    b = np.asarray(b, np.float64).ravel()
    return float(a @ b / max(np.linalg.norm(a) * np.linalg.norm(b), 1e-30))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--nnc-compile", required=True)
    ap.add_argument("--workdir", required=True)
    args = ap.parse_args()
    rng = np.random.default_rng(4321)
    ok = True
    for i, (widths, act, loss, batch) in enumerate(CONFIGS):
        spec = ["--mlp", ",".join(map(str, widths)), "--activation", act,
                "--loss", loss, "--batch", str(batch), "--learning-rate=0"]
        bf16 = Compiled(args.nnc_compile, args.workdir, "b%d" % i,
                        spec + ["--precision=bf16"])
        f32 = Compiled(args.nnc_compile, args.workdir, "f%d" % i, spec)
        x, target = random_batch(rng, widths, batch, loss)
        params = random_params(rng, widths, gain=2.0)
        outs = bf16.call("grad", [x, target] + params)
        outs32 = f32.call("grad", [x, target] + params)
        ac_loss, ac_grads = reference(widths, act, loss, x, target, params,
                                      True, torch.float32)
        loss_err = abs(float(outs[0]) - ac_loss) / max(abs(ac_loss), 1e-30)
        cos = min(cosine(g, r) for g, r in zip(outs[1:], ac_grads))
        vs_f32 = max(rel(g, r) for g, r in zip(outs[1:], outs32[1:]))
        good = loss_err <= 1e-2 and cos >= 0.999 and vs_f32 >= 1e-4
        ok = ok and good
        print("%-8s %-18s %-8s %-13s loss=%.5f autocast=%.5f rel=%.1e "
              "min_cos=%.6f bf16_vs_f32=%.1e"
              % ("ok" if good else "MISMATCH", ",".join(map(str, widths)),
                 act, loss, float(outs[0]), ac_loss, loss_err, cos, vs_f32))
    if ok:
        print("all %d configurations match autocast" % len(CONFIGS))
    else:
        sys.exit(1)


if __name__ == "__main__":
    main()
