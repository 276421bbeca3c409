# RUN: %python_torch %s --nnc-compile nnc-compile --workdir %t | FileCheck %s
#
# Bytes are bytes: on several networks, for every strategy, in gradient and
# training-step mode, the checkpoint planner's predicted peak (the
# simulator's figure) and the memory planner's arena agree within 2 %, and
# the arena is within 5 % of the max-live lower bound. In a training step
# with fused weight updates a stage's backward still creates its bias
# gradient, which the chain model counts for the whole backward while the
# compiled code creates it after the stage's input has died: there the
# prediction may exceed the arena by one bias vector, never the other way.
#
# The networks: MLPs; the Fashion CNN (convolutions, pooling); a ResNet-8
# (a stage's input feeds both the skip and the residual branch, batch norm
# recomputes its statistics from the saved convolution output, and the
# skip's gradient waits beside the branch's backward); and loss-scaled
# steps, whose gradients and updates stay alive until the one all-finite
# check at the end. Budgets for dp run from just above the least feasible
# one to below store-all's peak, 1.2x the minimum among them.
#
# CHECK: {{[0-9]+}} plans: predicted peak and arena agree within 2%
# CHECK-NOT: MISMATCH

import argparse
import json
import os
import re
import subprocess
import sys

# The arena's largest ratio to max-live.
ARENA_OVER_LIVE = 1.05

HERE = os.path.dirname(os.path.abspath(__file__))
EXAMPLES = os.path.join(HERE, "..", "..", "examples")

NETWORKS = [
    # widths, activation, loss, batch, dropout
    ([784, 256, 256, 256, 256, 10], "relu", "cross-entropy", 64, 0.0),
    ([64] + [32] * 6 + [10], "tanh", "cross-entropy", 16, 0.2),
    ([128] * 9, "sigmoid", "mse", 32, 0.0),
]


OVER_BUDGET = re.compile(
    r"the arena needs (\d+) bytes, over the checkpoint budget of \d+ bytes "
    r"\(predicted peak (\d+) bytes, max-live lower bound (\d+) bytes\)")


def compile_report(args, flags):
    # The report alone: the pipeline runs to the LLVM dialect, no codegen.
    out = subprocess.run([args.nnc_compile, "--report=json"] + flags,
                         check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


def figures(args, flags, must_fit):
    """Predicted peak, arena and max-live of a plan. A dp budget just above
    a plan's peak may leave less room than the arena's packing takes (the
    prediction is max-live, the arena's lower bound): nnc-plan-memory then
    refuses the plan, with the same figures, unless it must fit."""
    out = subprocess.run([args.nnc_compile, "--report=json"] + flags,
                         capture_output=True, text=True)
    if out.returncode == 0:
        r = json.loads(out.stdout)
        return (r["checkpoint"]["predicted_peak_bytes"], r["arena_bytes"],
                r["max_live_bytes"], "")
    m = OVER_BUDGET.search(out.stderr)
    if must_fit or not m:
        print(out.stderr)
        print("MISMATCH")
        sys.exit(1)
    arena, predicted, live = map(int, m.groups())
    return predicted, arena, live, " (arena over budget)"


def mlp_flags(widths, act, loss, batch, dropout=0.0):
    return ["--mlp", ",".join(map(str, widths)), "--activation", act,
            "--loss", loss, "--batch", str(batch), "--dropout", str(dropout)]


def cases(args, networks=NETWORKS):
    """(label, flags, slack, dp budgets as fractions of [min, store-all],
    the arena's largest ratio to max-live)."""
    for widths, act, loss, batch, dropout in networks:
        for lr in ("0", "0.1"):
            # The bias-gradient slack of a fused training step (see above).
            slack = 4 * max(widths[1:]) if lr != "0" else 0
            yield ("%s lr=%s" % (",".join(map(str, widths))[:24], lr),
                   mlp_flags(widths, act, loss, batch, dropout) +
                   ["--learning-rate", lr], slack, [0.5], ARENA_OVER_LIVE)
    # Dynamic loss scaling: no fused updates, so no slack. One step whose
    # activations matter beside the held gradients, one with Adam's state.
    for widths, batch, opt in (([64, 128, 128, 128, 128, 10], 1024, []),
                               ([784, 256, 256, 10], 64,
                                ["--optimizer", "adam"])):
        yield ("%s loss-scaled%s" % (",".join(map(str, widths)),
                                     " adam" if opt else ""),
               mlp_flags(widths, "relu", "cross-entropy", batch) +
               ["--learning-rate", "0.01", "--loss-scaling=dynamic"] + opt,
               0, [0.2, 0.5], ARENA_OVER_LIVE)
    cnn = os.path.join(EXAMPLES, "fashion-cnn", "cnn.onnx")
    yield ("fashion-cnn", [cnn], 0, [0.2, 0.5], ARENA_OVER_LIVE)
    resnet = os.path.join(args.workdir, "resnet8.onnx")
    subprocess.run([sys.executable,
                    os.path.join(EXAMPLES, "resnet-landscape", "export.py"),
                    resnet, "--blocks", "1", "--batch", "8"],
                   check=True, capture_output=True)
    yield ("resnet-8", [resnet], 0, [0.05, 0.2, 0.5, 0.8], ARENA_OVER_LIVE)
    yield ("resnet-8 gradient", [resnet, "--learning-rate", "0"], 0, [0.2],
           ARENA_OVER_LIVE)
    yield ("resnet-8 loss-scaled", [resnet, "--loss-scaling=dynamic"], 0,
           [0.2], ARENA_OVER_LIVE)


def parse_args():
    ap = argparse.ArgumentParser()
    ap.add_argument("--nnc-compile", required=True)
    ap.add_argument("--workdir", required=True)
    args = ap.parse_args()
    os.makedirs(args.workdir, exist_ok=True)
    return args


def check(args, all_cases, flags=()):
    """Every strategy of every case, compiled with `flags` too."""
    count, worst = 0, 0.0
    for label, base, slack, fractions, packing in all_cases:
        base = base + list(flags)
        ref = compile_report(args, base)
        lo = ref["checkpoint"]["min_budget_bytes"]
        hi = ref["checkpoint"]["store_all_peak_bytes"]
        plans = [["--strategy=store-all"], ["--strategy=recompute-all"],
                 ["--strategy=sqrt"]]
        # dp between the least feasible budget and store-all's peak, and at
        # 1.2x the minimum (which must compile: the arena fits the budget).
        budgets = sorted({int(lo + f * (hi - lo)) for f in fractions} |
                         {int(1.2 * lo)})
        plans += [["--strategy=dp", "--budget=%d" % b] for b in budgets
                  if lo < b < hi or b == int(1.2 * lo)]
        for plan in plans:
            if plan == plans[0]:
                predicted = ref["checkpoint"]["predicted_peak_bytes"]
                arena, live = ref["arena_bytes"], ref["max_live_bytes"]
                note = ""
            else:
                must_fit = plan[-1] == "--budget=%d" % int(1.2 * lo)
                predicted, arena, live, note = figures(args, base + plan,
                                                       must_fit)
            # Where the arena's packing is known to be loose, the prediction
            # is held to max-live, what the step holds at its fullest.
            held = live if packing > ARENA_OVER_LIVE else arena
            ratio = held / predicted
            if held <= predicted <= held + slack:
                ratio = 1.0
            worst = max(worst, abs(ratio - 1))
            count += 1
            print("%-30s %-32s predicted %9d arena %9d max-live %9d  "
                  "arena/predicted %.4f%s" % (label, " ".join(plan), predicted,
                                              arena, live, ratio, note))
            if abs(ratio - 1) > 0.02 or arena > packing * live:
                print("MISMATCH")
                sys.exit(1)
    print("%d plans: predicted peak and arena agree within 2%% (worst %.2f%%)"
          % (count, 100 * worst))


def main():
    args = parse_args()
    check(args, cases(args))


if __name__ == "__main__":
    main()
