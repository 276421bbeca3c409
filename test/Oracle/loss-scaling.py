# RUN: %python_torch %s --nnc-compile nnc-compile --workdir %t | FileCheck %s
# REQUIRES: torch
#
# Dynamic loss scaling (--loss-scaling=dynamic) against PyTorch's GradScaler
# semantics, written out here from its documentation (torch 1.13's
# GradScaler runs on CUDA only): the backward of scale·loss, gradients
# unscaled by 1/scale (f32), a step with any inf or NaN gradient skipped
# (optimizer.step() not called: parameters and optimizer state unchanged,
# Adam's step count not advanced) with the scale times backoff_factor and
# the count of finite steps reset; growth_interval finite steps in a row
# multiply the scale by growth_factor (only to a finite value).
#
# The caller owns the scale and the count, feeds them back each step and
# starts the scale at 2^127: the first steps overflow and are skipped until
# the scale has backed off, then steps run and the scale grows every
# growth_interval (2 here) until it overflows again. Each step the skip
# decision, the new scale and count must equal the reference's exactly; a
# skipped step must return every parameter and state bit for bit; a taken
# step's parameters and state must match torch.optim within 1e-5 relative.
# Store-all, recompute-all and sqrt plans return the same bits for a
# skipped and a taken step.
#
# CHECK: adam: {{[0-9]+}} steps, {{[1-9][0-9]*}} skipped, {{[1-9][0-9]*}} growths: matches GradScaler
# CHECK: sgd: {{[0-9]+}} steps, {{[1-9][0-9]*}} skipped, {{[1-9][0-9]*}} growths: matches GradScaler
# CHECK: momentum: {{[0-9]+}} steps, {{[1-9][0-9]*}} skipped, {{[1-9][0-9]*}} growths: matches GradScaler
# CHECK: plans: store-all, recompute-all and sqrt bitwise identical

import argparse
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "Inputs"))
from nnc_ctypes import Compiled, random_batch, random_params  # noqa: E402

TOL = 1e-5
WIDTHS, BATCH = [20, 16, 12, 5], 8
STEPS = 40
INTERVAL, GROWTH, BACKOFF = 2, 2.0, 0.5
f32 = torch.float32


def rel(a, b):
    b = np.asarray(b, np.float64)
    return np.linalg.norm(np.asarray(a, np.float64) - b) / \
        max(np.linalg.norm(b), 1e-30)


def forward(params, x, labels):
    """nnc-compile --mlp: tanh between linear layers, cross-entropy."""
    h = torch.tensor(x)
    n = len(params) // 2
    for l in range(n):
        h = h @ params[2 * l].T + params[2 * l + 1]
        if l + 1 < n:
            h = torch.tanh(h)
    return torch.nn.functional.cross_entropy(h, torch.tensor(labels).long())


class GradScalerReference:
    """GradScaler's update rule on a CPU f32 scale and an int tracker."""

    def __init__(self, scale):
        self.scale = torch.tensor(scale, dtype=f32)
        self.tracker = 0

    def unscale_and_check(self, params):
        inv = self.scale.double().reciprocal().float()
        found_inf = False
        for p in params:
            found_inf |= not bool(torch.isfinite(p.grad).all())
            p.grad.mul_(inv)
        return found_inf

    def update(self, found_inf):
        if found_inf:
            self.scale = self.scale * torch.tensor(BACKOFF, dtype=f32)
            self.tracker = 0
            return False
        self.tracker += 1
        if self.tracker == INTERVAL:
            grown = self.scale * torch.tensor(GROWTH, dtype=f32)
            self.tracker = 0
            if torch.isfinite(grown):
                self.scale = grown
                return True
        return False


def run(args, name, flags, make_opt, state_names, runtime_lr, counts_steps):
    spec = ["--mlp", ",".join(map(str, WIDTHS)), "--activation", "tanh",
            "--loss", "cross-entropy", "--batch", str(BATCH),
            "--loss-scaling=dynamic", "--loss-scale-interval=%d" % INTERVAL]
    step_fn = Compiled(args.nnc_compile, args.workdir, "ls_" + name,
                       spec + flags)
    entry = step_fn.entries["train_step"]
    in_names = [b["name"] for b in entry["inputs"]]
    out_names = [b["name"] for b in entry["outputs"]]
    assert in_names[-2:] == ["loss_scale", "good_steps"], in_names
    assert out_names[-2:] == ["new_loss_scale", "new_good_steps"], out_names

    rng = np.random.default_rng(7)
    # Inputs 100 times larger and a first layer 100 times smaller: the same
    # activations, a first-layer weight gradient 100 times larger, which
    # overflows f32 at scales near 2^127 (the rest never would).
    params = random_params(rng, WIDTHS)
    params[0] *= np.float32(0.01)
    states = [np.zeros_like(p) for p in params for _ in state_names]
    ref = [torch.tensor(p.copy(), requires_grad=True) for p in params]
    opt = make_opt(ref)
    scaler = GradScalerReference(2.0 ** 127)
    scale = np.array(2.0 ** 127, np.float32)
    good = np.zeros((), np.float32)
    applied = 0
    skipped = growths = 0
    pattern = ""
    worst = 0.0
    for k in range(STEPS):
        x, labels = random_batch(rng, WIDTHS, BATCH, "cross-entropy")
        x *= np.float32(100)
        lr = np.float32(0.01 * (1 + k % 3))
        before = [p.copy() for p in params + states]
        scalars = ([lr] if runtime_lr else []) + \
            ([np.float32(applied + 1)] if counts_steps else [])
        loss = np.zeros((), np.float32)
        new_scale = np.zeros((), np.float32)
        new_good = np.zeros((), np.float32)
        step_fn.call("train_step",
                     [x, labels] + params + states + scalars + [scale, good],
                     [loss] + params + states + [new_scale, new_good])

        # The reference step.
        opt.zero_grad(set_to_none=True)
        ref_loss = forward(ref, x, labels)
        (ref_loss * scaler.scale).backward()
        found_inf = scaler.unscale_and_check(ref)
        if not found_inf:
            for group in opt.param_groups:
                group["lr"] = float(lr) if runtime_lr else group["lr"]
            opt.step()
        grew = scaler.update(found_inf)

        nnc_skipped = bool(new_scale < scale)
        if nnc_skipped != found_inf:
            print("MISMATCH %s step %d: nnc %s, GradScaler %s (scale %g)" %
                  (name, k, "skipped" if nnc_skipped else "stepped",
                   "skipped" if found_inf else "stepped", scale))
            sys.exit(1)
        if new_scale.tobytes() != scaler.scale.numpy().tobytes() or \
                int(new_good) != scaler.tracker:
            print("MISMATCH %s step %d: scale %r count %r, reference %r %r" %
                  (name, k, float(new_scale), float(new_good),
                   scaler.scale.item(), scaler.tracker))
            sys.exit(1)
        if abs(float(loss) - ref_loss.item()) > 1e-5 * abs(ref_loss.item()):
            print("MISMATCH %s step %d: loss %r, reference %r" %
                  (name, k, float(loss), ref_loss.item()))
            sys.exit(1)
        if found_inf:
            skipped += 1
            for a, b in zip(params + states, before):
                if a.tobytes() != b.tobytes():
                    print("MISMATCH %s step %d: a skipped step changed a "
                          "parameter or state" % (name, k))
                    sys.exit(1)
        else:
            applied += 1
            for p, r in zip(params, ref):
                worst = max(worst, rel(p, r.detach().numpy()))
            torch_states = {"velocity": "momentum_buffer", "m": "exp_avg",
                            "v": "exp_avg_sq"}
            for i, r in enumerate(ref):
                for j, s in enumerate(state_names):
                    got = states[i * len(state_names) + j]
                    want = opt.state[r][torch_states[s]]
                    worst = max(worst, rel(got, want.numpy()))
                    # Both continue from nnc's state.
                    want.copy_(torch.tensor(got))
        growths += grew
        pattern += "s" if found_inf else ("g" if grew else ".")
        with torch.no_grad():
            for p, r in zip(params, ref):
                r.copy_(torch.tensor(p))
        scale, good = new_scale, new_good
    if worst > TOL:
        print("MISMATCH %s: parameters/state rel err %.3g" % (name, worst))
        sys.exit(1)
    if skipped == 0 or growths == 0 or applied == 0:
        print("MISMATCH %s: the run must skip, step and grow (%d skipped, "
              "%d growths, %d applied)" % (name, skipped, growths, applied))
        sys.exit(1)
    # A skip after a growth: the scale went up, then overflowed again.
    if "gs" not in pattern.replace(".", ""):
        print("MISMATCH %s: no overflow after a growth (%s)" % (name, pattern))
        sys.exit(1)
    print("%s: %d steps, %d skipped, %d growths: matches GradScaler (worst "
          "rel err %.2e, final scale %g; s skipped, g grew: %s)" %
          (name, STEPS, skipped, growths, worst, float(scale), pattern))


def plans_bitwise(args):
    """A loss-scaled Adam step (one overflowing, one taken) returns the same
    bits under every checkpoint plan: the scaling sits after the
    rematerialized backward, which is bitwise the same in every plan."""
    spec = ["--mlp", "20,16,16,16,5", "--activation", "tanh", "--loss",
            "cross-entropy", "--batch", str(BATCH), "--optimizer=adam",
            "--loss-scaling=dynamic"]
    plans = [["--strategy=store-all"], ["--strategy=recompute-all"],
             ["--strategy=sqrt"]]
    rng = np.random.default_rng(11)
    params = random_params(rng, [20, 16, 16, 16, 5])
    params[0] *= np.float32(0.01)
    x, labels = random_batch(rng, [20, 16, 16, 16, 5], BATCH, "cross-entropy")
    x *= np.float32(100)
    moments = [np.zeros_like(p) for p in params for _ in range(2)]
    results = []
    for plan in plans:
        fn = Compiled(args.nnc_compile, args.workdir,
                      "ls_plan_" + plan[0][11:], spec + plan)
        outs = []
        for scale in (2.0 ** 127, 2.0 ** 10):
            outs += fn.call("train_step",
                            [x, labels] + params + moments +
                            [np.float32(1e-3), np.float32(1),
                             np.float32(scale), np.float32(0)])
        results.append(outs)
    skipped = float(results[0][len(results[0]) // 2 - 2]) < 2.0 ** 127
    for plan, outs in zip(plans[1:], results[1:]):
        if any(a.tobytes() != b.tobytes() for a, b in zip(results[0], outs)):
            print("MISMATCH: %s differs from store-all" % plan[0])
            sys.exit(1)
    if not skipped:
        print("MISMATCH: the first step did not overflow")
        sys.exit(1)
    print("plans: store-all, recompute-all and sqrt bitwise identical "
          "(a skipped step and a taken one)")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--nnc-compile", required=True)
    ap.add_argument("--workdir", required=True)
    args = ap.parse_args()
    run(args, "adam", ["--optimizer=adam"],
        lambda p: torch.optim.Adam(p, lr=1, foreach=False), ["m", "v"],
        runtime_lr=True, counts_steps=True)
    run(args, "sgd", ["--learning-rate=0.05"],
        lambda p: torch.optim.SGD(p, lr=0.05), [], runtime_lr=False,
        counts_steps=False)
    run(args, "momentum", ["--optimizer=momentum", "--momentum=0.9"],
        lambda p: torch.optim.SGD(p, lr=1, momentum=0.9), ["velocity"],
        runtime_lr=True, counts_steps=False)
    plans_bitwise(args)


if __name__ == "__main__":
    main()
