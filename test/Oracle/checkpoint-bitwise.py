# RUN: %python_torch %s --nnc-compile nnc-compile --workdir %t | FileCheck %s
# REQUIRES: torch
#
# Gradients are bitwise identical across checkpoint strategies: every
# strategy and budget compiles the same model to a different schedule of
# forward recomputations, and the loss and every gradient must come out
# bit for bit the same as store-all's (recomputation runs the same code as
# the first forward; a recomputed dropout draws the same mask). The
# schedules really differ: the predicted peaks and recompute work are
# printed and checked to span a range. Each plan's arena is also held to
# within 5% of the max-live lower bound.
#
# CHECK: tanh-xent-dropout: {{[0-9]+}} plans bitwise identical to store-all
# CHECK: relu-mse: {{[0-9]+}} plans bitwise identical to store-all
# CHECK: adam-step: {{[0-9]+}} plans bitwise identical to store-all
# CHECK: lars-step: 1, 2 and 3 threads bitwise identical
# CHECK: lars-step: {{[0-9]+}} plans bitwise identical to store-all
# CHECK: lamb-step: 1, 2 and 3 threads bitwise identical
# CHECK: lamb-step: {{[0-9]+}} plans bitwise identical to store-all
# CHECK: relu-mse-parallel: 1, 2 and 3 threads bitwise identical
# CHECK: relu-mse-parallel: {{[0-9]+}} plans bitwise identical to store-all
# CHECK: relu-mse-parallel: {{[1-9][0-9]*}} parallel kernel calls
# CHECK: fashion-cnn grad: 4 plans bitwise identical to store-all
# CHECK: fashion-cnn train_step: 4 plans bitwise identical to store-all
# CHECK: resnet-8 grad: 4 plans bitwise identical to store-all
# CHECK: resnet-8 train_step: 4 plans bitwise identical to store-all
#
# The CNNs have stages whose backward reads only its gradient (a flatten,
# a global average pooling: backward_reads_gradient_only), which no plan
# recomputes or sweeps to for its backward: their recompute-all plans run
# fewer than L(L+1)/2 forwards, and nnc-rematerialize builds those
# backwards without an F_all of their stage.
#
# The last one is a whole Adam training step with gradient norms: the
# rematerializer moves each update and norm to the backward that completes
# its gradient, and the updated parameters, moments and norms must not
# depend on the plan either.

import argparse
import os
import subprocess
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "Inputs"))
from nnc_ctypes import (Compiled, make_inputs, random_batch,  # noqa: E402
                        random_params)


def check(args, tag, widths, act, loss, batch, dropout, adam=False,
          threads=False, flags=(), arena_slack=1.05, optimizer=None):
    optimizer = optimizer or ("adam" if adam else None)
    step = ["--optimizer=" + optimizer, "--grad-norms"] if optimizer else \
        ["--learning-rate=0"]
    role = "train_step" if optimizer else "grad"
    base = ["--mlp", ",".join(map(str, widths)), "--activation", act,
            "--loss", loss, "--batch", str(batch), "--dropout",
            str(dropout)] + step + list(flags)
    ref = Compiled(args.nnc_compile, args.workdir, tag + "-store-all",
                   base + ["--strategy=store-all"])
    cp = ref.report["checkpoint"]
    lo, hi = cp["min_budget_bytes"], cp["store_all_peak_bytes"]
    plans = [["--strategy=recompute-all"], ["--strategy=sqrt"]]
    # The dp discretises memory into slots, so its lowest budgets sit a
    # little above the exact minimum (the error message names both).
    # A training step's arena holds a few dozen bytes of loss scratch the
    # chain does not model, over a budget of exactly the store-all peak.
    for f in (0.0, 0.25, 0.5, 0.75) + (() if optimizer else (1.0,)):
        budget = int(lo + f * (hi - lo))
        plans.append(["--strategy=dp", "--budget=%d" % max(budget, lo * 1.1)])
        if f >= 0.75:  # Chen's greedy segmentation reaches no lower
            plans.append(["--strategy=chen", "--budget=%d" % budget])

    rng = np.random.default_rng(3)
    x, target = random_batch(rng, widths, batch, loss)
    params = random_params(rng, widths)
    extra = []
    if optimizer in ("adam", "lamb"):  # m, v per parameter, lr, step 3
        extra = [rng.standard_normal(p.shape).astype(np.float32) ** 2 * 1e-3
                 for p in params for _ in range(2)] + \
            [np.float32(1e-3), np.float32(3)]
    elif optimizer == "lars":  # a velocity per parameter, lr
        extra = [rng.standard_normal(p.shape).astype(np.float32) * 1e-2
                 for p in params] + [np.float32(0.5)]
    expected = ref.call(role, [x, target] + params + extra)

    peaks, recompute = set(), set()
    for i, plan in enumerate(plans):
        model = Compiled(args.nnc_compile, args.workdir, "%s-%d" % (tag, i),
                         base + plan)
        c = model.report["checkpoint"]
        peaks.add(c["predicted_peak_bytes"])
        recompute.add(c["recompute_flops"])
        # The arena planner lands within 5% of the max-live lower bound.
        arena, live = model.report["arena_bytes"], model.report["max_live_bytes"]
        if not live <= arena <= arena_slack * live:
            print("MISMATCH %s %s: arena %d B vs max-live %d B" %
                  (tag, " ".join(plan), arena, live))
            sys.exit(1)
        got = model.call(role, [x, target] + params + extra)
        for k, (g, e) in enumerate(zip(got, expected)):
            if g.tobytes() != e.tobytes():
                print("MISMATCH %s %s: output %d differs (max abs diff %g)" %
                      (tag, " ".join(plan), k, np.max(np.abs(g - e))))
                sys.exit(1)
        print("  %-32s peak %8d B  recompute %10.0f FLOP  arena %8d B  "
              "max-live %8d B" %
              (" ".join(plan), c["predicted_peak_bytes"], c["recompute_flops"],
               arena, live))
    # The plans must actually differ, or the test proves nothing.
    if len(peaks) < 3 or len(recompute) < 3:
        print("MISMATCH %s: plans too similar (peaks %s)" % (tag, peaks))
        sys.exit(1)
    # The thread count must not matter either: the GEMMs and the kernels
    # nnc-parallelize-kernels splits compute every element in one order.
    if threads:
        for n in (1, 2, 3):
            ref.lib.nncrt_set_num_threads(n)
            got = ref.call(role, [x, target] + params + extra)
            for k, (g, e) in enumerate(zip(got, expected)):
                if g.tobytes() != e.tobytes():
                    print("MISMATCH %s: %d threads: output %d differs" %
                          (tag, n, k))
                    sys.exit(1)
        ref.lib.nncrt_set_num_threads(0)
        print("%s: 1, 2 and 3 threads bitwise identical" % tag)
    print("%s: %d plans bitwise identical to store-all" % (tag, len(plans)))
    return expected


def check_onnx(args, tag, path):
    for lr in ("0", "0.05"):
        role = "grad" if lr == "0" else "train_step"
        base = [path, "--learning-rate", lr]
        ref = Compiled(args.nnc_compile, args.workdir,
                       "%s-%s-store-all" % (tag, role),
                       base + ["--strategy=store-all"])
        inputs = make_inputs(np.random.default_rng(5),
                             ref.entries[role]["inputs"])
        expected = ref.call(role, [a.copy() for a in inputs])
        cp = ref.report["checkpoint"]
        lo, hi = cp["min_budget_bytes"], cp["store_all_peak_bytes"]
        # A little above the minimum: the loss's scratch is not modelled.
        plans = [["--strategy=recompute-all"], ["--strategy=sqrt"],
                 ["--strategy=dp", "--budget=%d" % (lo + 4096)],
                 ["--strategy=dp", "--budget=%d" % ((lo + hi) // 2)]]
        for i, plan in enumerate(plans):
            model = Compiled(args.nnc_compile, args.workdir,
                             "%s-%s-%d" % (tag, role, i), base + plan)
            got = model.call(role, [a.copy() for a in inputs])
            for k, (g, e) in enumerate(zip(got, expected)):
                if g.tobytes() != e.tobytes():
                    print("MISMATCH %s %s %s: output %d differs" %
                          (tag, role, " ".join(plan), k))
                    sys.exit(1)
            c = model.report["checkpoint"]
            L = c["stages"]
            if i == 0 and not c["forward_steps"] < L * (L + 1) // 2:
                print("MISMATCH %s: recompute-all runs %d forwards, every "
                      "sweep of %d stages" % (tag, c["forward_steps"], L))
                sys.exit(1)
            print("  %-32s forwards %3d  recompute %12.0f FLOP  peak %9d B"
                  % (" ".join(plan), c["forward_steps"], c["recompute_flops"],
                     c["predicted_peak_bytes"]))
        print("%s %s: %d plans bitwise identical to store-all" %
              (tag, role, len(plans)))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--nnc-compile", required=True)
    ap.add_argument("--workdir", required=True)
    args = ap.parse_args()
    check(args, "tanh-xent-dropout", [24] + [32] * 7 + [5], "tanh",
          "cross-entropy", 16, 0.2)
    check(args, "relu-mse", [16] + [24] * 5 + [8], "relu", "mse", 8, 0.0)
    check(args, "adam-step", [16] + [24] * 5 + [8], "relu", "cross-entropy",
          8, 0.0, adam=True)
    # The trust ratios' norms are whole-tensor f64 sums in one order at
    # every thread count and in every plan.
    check(args, "lars-step", [16] + [24] * 5 + [8], "relu", "cross-entropy",
          8, 0.0, optimizer="lars", threads=True)
    check(args, "lamb-step", [16] + [24] * 5 + [8], "relu", "cross-entropy",
          8, 0.0, optimizer="lamb", threads=True)
    # 128 x 512 points per elementwise op: large enough to be split over
    # threads (its LLVM IR calls nncrt_parallel_for, checked below).
    check(args, "relu-mse-parallel", [64, 512, 512, 512, 16], "relu", "mse",
          128, 0.1, threads=True)
    ll = os.path.join(args.workdir, "relu-mse-parallel.ll")
    subprocess.run([args.nnc_compile, "-o", ll, "--mlp", "64,512,512,512,16",
                    "--activation", "relu", "--loss", "mse", "--batch", "128",
                    "--dropout", "0.1", "--learning-rate=0"], check=True)
    calls = open(ll).read().count("call void @nncrt_parallel_for(")
    print("relu-mse-parallel: %d parallel kernel calls" % calls)
    examples = os.path.join(os.path.dirname(__file__), "..", "..", "examples")
    check_onnx(args, "fashion-cnn",
               os.path.join(examples, "fashion-cnn", "cnn.onnx"))
    resnet = os.path.join(args.workdir, "resnet8.onnx")
    subprocess.run([sys.executable,
                    os.path.join(examples, "resnet-landscape", "export.py"),
                    resnet, "--blocks", "1", "--batch", "8"], check=True,
                   capture_output=True)
    check_onnx(args, "resnet-8", resnet)


if __name__ == "__main__":
    main()
