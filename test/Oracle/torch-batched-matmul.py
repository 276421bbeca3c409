# RUN: %python_torch %s --nnc-compile nnc-compile --workdir %t | FileCheck %s
# REQUIRES: torch
#
# nn.matmul over leading batch dimensions, every transpose combination,
# against PyTorch autograd in float64: loss and both gradients within 1e-5
# relative (a chain of six products, ranks 3 and 4).
#
# CHECK: batched matmul matches PyTorch: rank 3
# CHECK: batched matmul matches PyTorch: rank 4
# CHECK-NOT: MISMATCH

import argparse
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "Inputs"))
from nnc_ctypes import Compiled  # noqa: E402


def ty(shape):
    return "tensor<%sxf32>" % "x".join(map(str, shape))


def model(batch):
    a, b, c = batch + [3, 4], batch + [5, 4], batch + [3, 5]
    e, k, h = batch + [4, 4], batch + [5, 3], batch + [4, 5]
    return """func.func @bm(%%a: %(a)s {nn.param, nn.name = "a"},
    %%b: %(b)s {nn.param, nn.name = "b"}, %%t: %(h)s {nn.name = "t"})
    -> tensor<f32> {
  %%c = nn.matmul %%a, %%b {transpose_rhs} : (%(a)s, %(b)s) -> %(c)s
  %%d = nn.matmul %%c, %%b : (%(c)s, %(b)s) -> %(a)s
  %%e = nn.matmul %%d, %%a {transpose_lhs} : (%(a)s, %(a)s) -> %(e)s
  %%f = nn.matmul %%a, %%e : (%(a)s, %(e)s) -> %(a)s
  %%k = nn.matmul %%b, %%f {transpose_rhs} : (%(b)s, %(a)s) -> %(k)s
  %%h = nn.matmul %%a, %%k {transpose_lhs, transpose_rhs} : (%(a)s, %(k)s) -> %(h)s
  %%l = nn.mse_loss %%h, %%t : (%(h)s, %(h)s) -> tensor<f32>
  return %%l : tensor<f32>
}
""" % dict(a=ty(a), b=ty(b), c=ty(c), e=ty(e), k=ty(k), h=ty(h))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--nnc-compile", required=True)
    ap.add_argument("--workdir", required=True)
    args = ap.parse_args()
    os.makedirs(args.workdir, exist_ok=True)
    rng = np.random.default_rng(0)
    for batch in ([2], [2, 3]):
        text = model(batch)
        e = batch + [4, 5]
        path = os.path.join(args.workdir, "bm%d.mlir" % len(batch))
        with open(path, "w") as f:
            f.write(text)
        c = Compiled(args.nnc_compile, args.workdir, "bm%d" % len(batch),
                     [path, "--learning-rate=0"])
        a = rng.standard_normal(batch + [3, 4]).astype(np.float32)
        b = rng.standard_normal(batch + [5, 4]).astype(np.float32)
        t = rng.standard_normal(e).astype(np.float32)
        loss, da, db = c.call("grad", [a, b, t])
        A = torch.tensor(a, dtype=torch.float64, requires_grad=True)
        B = torch.tensor(b, dtype=torch.float64, requires_grad=True)
        T = lambda x: x.transpose(-1, -2)  # noqa: E731
        C = A @ T(B)
        D = C @ B
        E = T(D) @ A
        F = A @ E
        K = B @ T(F)
        H = T(A) @ T(K)
        L = ((H - torch.tensor(t, dtype=torch.float64)) ** 2).mean()
        L.backward()
        worst = 0.0
        for got, want in ((loss, L.detach().numpy()), (da, A.grad.numpy()),
                          (db, B.grad.numpy())):
            err = np.abs(got - want).max() / np.abs(want).max()
            worst = max(worst, err)
        if worst > 1e-5:
            print("MISMATCH rank %d: relative error %.3g" % (len(batch) + 2,
                                                            worst))
        else:
            print("batched matmul matches PyTorch: rank %d (worst relative "
                  "error %.2g)" % (len(batch) + 2, worst))


if __name__ == "__main__":
    main()
