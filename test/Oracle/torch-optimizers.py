# RUN: %python_torch %s --nnc-compile nnc-compile --workdir %t | FileCheck %s
# REQUIRES: torch
#
# The compiled training step's optimizers against torch.optim on the same
# weights and gradients. Each step, the gradient comes from nnc's own
# gradient function (the same backward code as the step's) and is handed to
# torch.optim as p.grad; the step's updated parameters and optimizer state
# (velocity, Adam's moments), updated in place, must then equal PyTorch's to
# 1e-6 relative, with a learning rate that changes every step (it is a
# run-time input of the compiled step) and Adam's bias correction over the
# step count. The step's gradient norms (--grad-norms, computed inside the
# step) must equal ||g|| of those gradients.
#
# PyTorch has no LARS or LAMB: the references below are written from the
# papers (You et al. 2017, Algorithm 1, with PyTorch's momentum form; You et
# al. 2019, Algorithm 2 with bias correction), in torch's f32 arithmetic, as
# torch.optim.Optimizer subclasses so that the same harness checks them.
#
# CHECK: sgd matches torch.optim.SGD over 5 steps
# CHECK: sgd+wd matches torch.optim.SGD over 5 steps
# CHECK: momentum matches torch.optim.SGD over 5 steps
# CHECK: nesterov matches torch.optim.SGD over 5 steps
# CHECK: nesterov+wd matches torch.optim.SGD over 5 steps
# CHECK: adam matches torch.optim.Adam over 5 steps
# CHECK: adam+wd matches torch.optim.Adam over 5 steps
# CHECK: lars matches torch.optim.LARS over 5 steps
# CHECK: lars+wd matches torch.optim.LARS over 5 steps
# CHECK: lamb matches torch.optim.LAMB over 5 steps
# CHECK: lamb+wd matches torch.optim.LAMB over 5 steps
# CHECK: gradient norms match torch.linalg.vector_norm

import argparse
import math
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "Inputs"))
from nnc_ctypes import Compiled, random_batch, random_params  # noqa: E402

TOL = 1e-6
WIDTHS, BATCH = [20, 16, 12, 5], 8
LRS = [0.1, 0.05, 0.2, 0.01, 0.07]


def rel(a, b):
    b = np.asarray(b, np.float64)
    return np.linalg.norm(np.asarray(a, np.float64) - b) / \
        max(np.linalg.norm(b), 1e-30)


def norm64(x):
    return torch.linalg.vector_norm(x.double()).item()


def trust_rate(lr, w_norm, u_norm, scale, wd):
    """The layer's rate lr x trust, trust rounded to f32 once and the
    product taken in f32; trust is 1 when either norm is zero."""
    trust = scale * w_norm / (u_norm + wd * w_norm) \
        if w_norm > 0 and u_norm > 0 else 1.0
    return torch.tensor(lr, dtype=torch.float32) * \
        torch.tensor(trust, dtype=torch.float32)


class LARS(torch.optim.Optimizer):
    """trust = eta |w| / (|g| + wd |w|); d = trust (g + wd w);
    v = mu v + d; w -= lr v (the paper's lr moved out of the velocity, as
    PyTorch's SGD keeps it; nnc scales the rate by trust instead of d,
    the same step up to rounding)."""

    def __init__(self, params, lr, momentum, eta, weight_decay=0.0):
        super().__init__(params, dict(lr=lr, momentum=momentum, eta=eta,
                                      weight_decay=weight_decay))

    @torch.no_grad()
    def step(self):
        for group in self.param_groups:
            wd = group["weight_decay"]
            for p in group["params"]:
                g = p.grad
                rate = trust_rate(group["lr"], norm64(p), norm64(g),
                                  group["eta"], wd)
                d = g + torch.tensor(wd, dtype=torch.float32) * p if wd else g
                st = self.state[p]
                buf = st.setdefault("momentum_buffer", torch.zeros_like(p))
                buf.mul_(group["momentum"]).add_(d)
                p.sub_(rate * buf)


class LAMB(torch.optim.Optimizer):
    """m, v as Adam (no decay in them); r = m^ / (sqrt(v^) + eps) + wd w;
    trust = |w| / |r|; w -= lr trust r."""

    def __init__(self, params, lr, betas=(0.9, 0.999), eps=1e-8,
                 weight_decay=0.0):
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps,
                                      weight_decay=weight_decay))

    @torch.no_grad()
    def step(self):
        f32 = torch.float32
        for group in self.param_groups:
            b1, b2 = group["betas"]
            wd = group["weight_decay"]
            for p in group["params"]:
                g = p.grad
                st = self.state[p]
                m = st.setdefault("exp_avg", torch.zeros_like(p))
                v = st.setdefault("exp_avg_sq", torch.zeros_like(p))
                st["step"] = st.get("step", 0) + 1
                t = st["step"]
                m.mul_(b1).add_(torch.tensor(1 - b1, dtype=f32) * g)
                v.mul_(b2).add_(torch.tensor(1 - b2, dtype=f32) * g * g)
                bc1 = torch.tensor(1 - b1 ** t, dtype=f32)
                bc2_sqrt = torch.tensor(math.sqrt(1 - b2 ** t), dtype=f32)
                r = (m / bc1) / (v.sqrt() / bc2_sqrt + group["eps"])
                if wd:
                    r = r + torch.tensor(wd, dtype=f32) * p
                p.sub_(trust_rate(group["lr"], norm64(p), norm64(r), 1.0, 0.0)
                       * r)


def run(args, name, optimizer, torch_opt, flags, state_names):
    spec = ["--mlp", ",".join(map(str, WIDTHS)), "--activation", "tanh",
            "--loss", "cross-entropy", "--batch", str(BATCH)]
    step_fn = Compiled(args.nnc_compile, args.workdir, "opt_" + name,
                       spec + ["--optimizer=" + optimizer, "--grad-norms"] +
                       flags)
    grad_fn = Compiled(args.nnc_compile, args.workdir, "grad_" + name,
                       spec + ["--learning-rate=0"])
    entry = step_fn.entries["train_step"]
    in_names = [b["name"] for b in entry["inputs"]]
    counts_steps = optimizer in ("adam", "lamb")
    assert in_names[-1] == ("step" if counts_steps else "lr"), in_names
    assert not step_fn.report["learning_rate"]
    assert step_fn.report["runtime_learning_rate"]

    rng = np.random.default_rng(3)
    params = random_params(rng, WIDTHS)
    n = len(params)
    # Caller-owned state, zero before the first step, updated in place.
    states = [np.zeros_like(p) for p in params for _ in state_names]
    expect_state_bytes = sum(s.nbytes for s in states)
    if step_fn.report["optimizer_state_bytes"] != expect_state_bytes:
        print("MISMATCH state bytes %d != %d" %
              (step_fn.report["optimizer_state_bytes"], expect_state_bytes))
        sys.exit(1)
    ref = [torch.tensor(p.copy()) for p in params]
    opt = torch_opt(ref)
    worst, worst_norm = 0.0, 0.0
    loss = np.zeros((), np.float32)
    norms = [np.zeros((), np.float32) for _ in params]
    for k, lr in enumerate(LRS):
        x, labels = random_batch(rng, WIDTHS, BATCH, "cross-entropy")
        # The gradient at the current (shared) weights, from nnc.
        out = grad_fn.call("grad", [x, labels] + params)
        grads = out[1:]
        scalars = [np.float32(lr)] + ([np.float32(k + 1)]
                                      if counts_steps else [])
        step_fn.call("train_step", [x, labels] + params + states + scalars,
                     [loss] + params + states + norms)
        for p, g in zip(ref, grads):
            p.grad = torch.tensor(g)
        for group in opt.param_groups:
            group["lr"] = lr
        opt.step()
        for p, r in zip(params, ref):
            worst = max(worst, rel(p, r.numpy()))
        # Optimizer state, in the header's order: per parameter its states.
        for i, r in enumerate(ref):
            st = opt.state[r]
            torch_states = {"velocity": "momentum_buffer", "m": "exp_avg",
                            "v": "exp_avg_sq"}
            for j, s in enumerate(state_names):
                worst = max(worst, rel(states[i * len(state_names) + j],
                                       st[torch_states[s]].numpy()))
        for nrm, g in zip(norms, grads):
            want = torch.linalg.vector_norm(torch.tensor(g, dtype=torch.float64))
            worst_norm = max(worst_norm, abs(float(nrm) - want.item()) /
                             want.item())
        # Both sides continue from exactly the same weights.
        for p, r in zip(params, ref):
            r.copy_(torch.tensor(p))
    if worst > TOL or worst_norm > TOL:
        print("MISMATCH %s: parameters/state rel err %.3g, norms %.3g" %
              (name, worst, worst_norm))
        sys.exit(1)
    print("%s matches torch.optim.%s over %d steps (worst rel err %.2e)" %
          (name, type(opt).__name__, len(LRS), worst))
    return worst_norm


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--nnc-compile", required=True)
    ap.add_argument("--workdir", required=True)
    args = ap.parse_args()
    SGD, Adam = torch.optim.SGD, torch.optim.Adam
    cases = [
        ("sgd", "sgd", lambda p: SGD(p, lr=1), [], []),
        ("sgd+wd", "sgd", lambda p: SGD(p, lr=1, weight_decay=0.01),
         ["--weight-decay=0.01"], []),
        ("momentum", "momentum", lambda p: SGD(p, lr=1, momentum=0.9),
         ["--momentum=0.9"], ["velocity"]),
        ("nesterov", "nesterov",
         lambda p: SGD(p, lr=1, momentum=0.8, nesterov=True),
         ["--momentum=0.8"], ["velocity"]),
        ("nesterov+wd", "nesterov",
         lambda p: SGD(p, lr=1, momentum=0.9, nesterov=True,
                       weight_decay=5e-3),
         ["--weight-decay=5e-3"], ["velocity"]),
        ("adam", "adam", lambda p: Adam(p, lr=1, foreach=False), [],
         ["m", "v"]),
        ("adam+wd", "adam",
         lambda p: Adam(p, lr=1, betas=(0.8, 0.99), eps=1e-6,
                        weight_decay=0.02, foreach=False),
         ["--beta1=0.8", "--beta2=0.99", "--eps=1e-6", "--weight-decay=0.02"],
         ["m", "v"]),
        ("lars", "lars", lambda p: LARS(p, lr=1, momentum=0.9, eta=0.02),
         ["--momentum=0.9", "--trust-coefficient=0.02"], ["velocity"]),
        ("lars+wd", "lars",
         lambda p: LARS(p, lr=1, momentum=0.8, eta=0.01, weight_decay=1e-3),
         ["--momentum=0.8", "--trust-coefficient=0.01", "--weight-decay=1e-3"],
         ["velocity"]),
        ("lamb", "lamb", lambda p: LAMB(p, lr=1), [], ["m", "v"]),
        ("lamb+wd", "lamb",
         lambda p: LAMB(p, lr=1, betas=(0.8, 0.99), eps=1e-6,
                        weight_decay=0.02),
         ["--beta1=0.8", "--beta2=0.99", "--eps=1e-6", "--weight-decay=0.02"],
         ["m", "v"]),
    ]
    worst_norm = 0.0
    for name, optimizer, make, flags, states in cases:
        worst_norm = max(worst_norm,
                         run(args, name, optimizer, make, flags, states))
    print("gradient norms match torch.linalg.vector_norm (worst rel err "
          "%.2e)" % worst_norm)


if __name__ == "__main__":
    main()
