# RUN: %python_torch %s --nnc-train nnc-train | FileCheck %s
# REQUIRES: torch
#
# nnc-train's learning-rate schedules against torch.optim.lr_scheduler:
# the rate nnc-train hands the compiled step in period t (an epoch, or a
# step with --lr-per-step) must be what get_last_lr() reports after t
# calls of scheduler.step(), to 1e-9 relative (PyTorch's chainable forms
# round differently from the closed forms in the last bits).
#
# CHECK: StepLR matches over 20 periods
# CHECK: ExponentialLR matches over 20 periods
# CHECK: CosineAnnealingLR matches over 20 periods
# CHECK: LinearLR matches over 20 periods
# CHECK: LinearLR+ExponentialLR matches over 20 periods

import argparse
import subprocess
import sys

import torch

N = 20


def nnc(args, flags):
    out = subprocess.run([args.nnc_train, "--print-lr-schedule=%d" % N] +
                         flags, check=True, capture_output=True, text=True)
    return [float(line.split()[1]) for line in out.stdout.splitlines()]


def torch_rates(base, make):
    p = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([p], lr=base)
    sched = make(opt)
    rates = []
    for _ in range(N):
        rates.append(sched.get_last_lr()[0])
        opt.step()
        sched.step()
    return rates


def check(args, name, base, flags, make):
    got = nnc(args, ["--learning-rate=%r" % base] + flags)
    want = torch_rates(base, make)
    worst = max(abs(g - w) / abs(w) for g, w in zip(got, want))
    if len(got) != N or worst > 1e-9:
        print("MISMATCH %s: worst rel err %g\n  nnc   %s\n  torch %s" %
              (name, worst, got, want))
        sys.exit(1)
    print("%s matches over %d periods (worst rel err %.1e)" %
          (name, N, worst))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--nnc-train", required=True)
    args = ap.parse_args()
    S = torch.optim.lr_scheduler
    check(args, "StepLR", 0.1,
          ["--lr-schedule=step", "--lr-step-size=3", "--lr-gamma=0.5"],
          lambda o: S.StepLR(o, step_size=3, gamma=0.5))
    check(args, "ExponentialLR", 0.05,
          ["--lr-schedule=exponential", "--lr-gamma=0.9"],
          lambda o: S.ExponentialLR(o, gamma=0.9))
    check(args, "CosineAnnealingLR", 0.1,
          ["--lr-schedule=cosine", "--lr-t-max=12", "--lr-eta-min=0.001"],
          lambda o: S.CosineAnnealingLR(o, T_max=12, eta_min=0.001))
    check(args, "LinearLR", 0.2,
          ["--lr-schedule=constant", "--lr-warmup=5",
           "--lr-warmup-start=0.25"],
          lambda o: S.LinearLR(o, start_factor=0.25, total_iters=5))
    # Warm-up combined with a decay: both factors apply, as PyTorch's
    # ChainedScheduler applies both schedulers each period.
    check(args, "LinearLR+ExponentialLR", 0.1,
          ["--lr-schedule=exponential", "--lr-gamma=0.8", "--lr-warmup=4",
           "--lr-warmup-start=0.5"],
          lambda o: S.ChainedScheduler([
              S.LinearLR(o, start_factor=0.5, total_iters=4),
              S.ExponentialLR(o, gamma=0.8)]))


if __name__ == "__main__":
    main()
