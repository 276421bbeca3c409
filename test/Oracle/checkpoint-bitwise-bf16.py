# RUN: %python_torch %s --nnc-compile nnc-compile --workdir %t | FileCheck %s
# REQUIRES: torch, bf16
#
# checkpoint-bitwise.py in mixed precision: nnc-mixed-precision types the
# forward before the checkpoint planner runs, so a recomputed stage
# rounds to bf16 exactly where its first forward did, and every plan's
# loss and gradients (and a whole Adam step's parameters, moments and
# norms) are bit for bit store-all's, on plans priced in bf16 bytes.
#
# CHECK: relu-mse-bf16: {{[0-9]+}} plans bitwise identical to store-all
# CHECK: adam-step-bf16: {{[0-9]+}} plans bitwise identical to store-all
# CHECK: relu-mse-parallel-bf16: 1, 2 and 3 threads bitwise identical
# CHECK: relu-mse-parallel-bf16: {{[0-9]+}} plans bitwise identical to store-all
#
# With --keep-cast-copies the backward reads the forward's bf16 copies of
# the weights and the batch instead of converting them again, and the plan
# keeps them as saved values (a recomputed stage makes them again). The
# same conversions of the same f32 values: every plan is bitwise identical
# to store-all's, and store-all's to the step without the option.
#
# CHECK: relu-mse-bf16-keep: {{[0-9]+}} plans bitwise identical to store-all
# CHECK: relu-mse-bf16-keep: bitwise identical to relu-mse-bf16
# CHECK: adam-step-bf16-keep: {{[0-9]+}} plans bitwise identical to store-all
# CHECK: adam-step-bf16-keep: bitwise identical to adam-step-bf16
# CHECK: relu-mse-parallel-bf16-keep: 1, 2 and 3 threads bitwise identical
# CHECK: relu-mse-parallel-bf16-keep: {{[0-9]+}} plans bitwise identical to store-all
# CHECK: relu-mse-parallel-bf16-keep: bitwise identical to relu-mse-parallel-bf16

import argparse
import importlib.util
import os
import sys

spec = importlib.util.spec_from_file_location(
    "checkpoint_bitwise",
    os.path.join(os.path.dirname(__file__), "checkpoint-bitwise.py"))
bitwise = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bitwise)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--nnc-compile", required=True)
    ap.add_argument("--workdir", required=True)
    args = ap.parse_args()
    bf16 = ["--precision=bf16"]
    models = [
        ("relu-mse-bf16", ([16] + [24] * 5 + [8], "relu", "mse", 8, 0.0), {}),
        ("adam-step-bf16", ([16] + [24] * 5 + [8], "relu", "cross-entropy",
                            8, 0.0), {"adam": True}),
        ("relu-mse-parallel-bf16", ([64, 512, 512, 512, 16], "relu", "mse",
                                    128, 0.1), {"threads": True}),
    ]
    recast = {}
    for tag, model, kw in models:
        recast[tag] = bitwise.check(args, tag, *model, flags=bf16, **kw)
    for tag, model, kw in models:
        keep = bitwise.check(args, tag + "-keep", *model,
                             flags=bf16 + ["--keep-cast-copies"], **kw)
        if len(keep) != len(recast[tag]):
            print("MISMATCH %s-keep: %d outputs, %s has %d" %
                  (tag, len(keep), tag, len(recast[tag])))
            sys.exit(1)
        for k, (g, e) in enumerate(zip(keep, recast[tag])):
            if g.tobytes() != e.tobytes():
                print("MISMATCH %s-keep: output %d differs from %s" %
                      (tag, k, tag))
                sys.exit(1)
        print("%s-keep: bitwise identical to %s" % (tag, tag))


if __name__ == "__main__":
    main()
