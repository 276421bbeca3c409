# RUN: %python_torch %s --nnc-compile nnc-compile --workdir %t | FileCheck %s
# REQUIRES: torch, bf16
#
# predicted-peak.py in mixed precision with --keep-cast-copies: the
# backward reads the forward's bf16 copies of the weights and of the batch
# (no nnc-recast-for-backward), and the checkpoint planner prices each
# copy as a saved value of the stage that makes it (a conversion of an
# argument joins the stage that reads it). On the same networks, for every
# strategy, the predicted peak and the arena agree within 2 %, as in f32.
# (Without the option the plan prices a backward's conversions for its
# whole length, an upper bound: no such check holds there.)
#
# Then the case that once broke the promise: a bf16 Adam MLP under a dp
# budget of 5,174 B must compile, its arena within the budget.
#
# CHECK: {{[0-9]+}} plans: predicted peak and arena agree within 2%
# CHECK: adam 16-24x5-8 bf16 dp 5174: arena {{[0-9]+}} <= budget
# CHECK-NOT: MISMATCH

import importlib.util
import os
import subprocess
import sys

spec = importlib.util.spec_from_file_location(
    "predicted_peak",
    os.path.join(os.path.dirname(__file__), "predicted-peak.py"))
peak = importlib.util.module_from_spec(spec)
spec.loader.exec_module(peak)

KEEP = ["--precision=bf16", "--keep-cast-copies"]

NETWORKS = peak.NETWORKS + [
    # The bitwise oracle's small MLP (checkpoint-bitwise-bf16.py).
    ([16] + [24] * 5 + [8], "relu", "mse", 8, 0.0),
]


# The arena's packing, not the chain: on the loss-scaled 64-128x4-10 step
# one dp plan's arena is 5.7 % over its max-live lower bound (a weight
# gradient's 64 KiB placed above the rest), which the prediction matches
# within 48 B. Those plans' predictions are held to max-live (as
# predicted-peak.py does wherever the packing is known to be loose).
LOOSE_PACKING = 1.06


def cases(args):
    for label, flags, slack, fractions, packing in peak.cases(args, NETWORKS):
        if "loss-scaled" in label and not label.startswith("resnet"):
            packing = LOOSE_PACKING
        yield label, flags, slack, fractions, packing


def main():
    args = peak.parse_args()
    peak.check(args, cases(args), KEEP)
    flags = peak.mlp_flags([16] + [24] * 5 + [8], "relu", "cross-entropy",
                           8) + ["--optimizer=adam", "--grad-norms",
                                 "--strategy=dp", "--budget=5174"] + KEEP
    out = subprocess.run([args.nnc_compile, "--report=json"] + flags,
                         capture_output=True, text=True)
    if out.returncode != 0:
        print(out.stderr)
        print("MISMATCH")
        sys.exit(1)
    r = peak.json.loads(out.stdout)
    predicted = r["checkpoint"]["predicted_peak_bytes"]
    # nnc-plan-memory refuses an arena over the budget; checked here too,
    # and that the prediction bounds the arena as the plan promised.
    if r["arena_bytes"] > 5174 or predicted > 5174:
        print("MISMATCH: arena %d, predicted %d, budget 5174"
              % (r["arena_bytes"], predicted))
        sys.exit(1)
    print("adam 16-24x5-8 bf16 dp 5174: arena %d <= budget (predicted %d)"
          % (r["arena_bytes"], predicted))


if __name__ == "__main__":
    main()
