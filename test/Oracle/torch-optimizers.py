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
# CHECK: sgd matches torch.optim.SGD over 5 steps
# CHECK: sgd+wd matches torch.optim.SGD over 5 steps
# CHECK: momentum matches torch.optim.SGD over 5 steps
# CHECK: nesterov matches torch.optim.SGD over 5 steps
# CHECK: nesterov+wd matches torch.optim.SGD over 5 steps
# CHECK: adam matches torch.optim.Adam over 5 steps
# CHECK: adam+wd matches torch.optim.Adam over 5 steps
# CHECK: gradient norms match torch.linalg.vector_norm

import argparse
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
    assert in_names[-1] == ("step" if optimizer == "adam" else "lr"), in_names
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
                                      if optimizer == "adam" else [])
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
    ]
    worst_norm = 0.0
    for name, optimizer, make, flags, states in cases:
        worst_norm = max(worst_norm,
                         run(args, name, optimizer, make, flags, states))
    print("gradient norms match torch.linalg.vector_norm (worst rel err "
          "%.2e)" % worst_norm)


if __name__ == "__main__":
    main()
