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

import argparse
import importlib.util
import os

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
    bitwise.check(args, "relu-mse-bf16", [16] + [24] * 5 + [8], "relu", "mse",
                  8, 0.0, flags=bf16)
    bitwise.check(args, "adam-step-bf16", [16] + [24] * 5 + [8], "relu",
                  "cross-entropy", 8, 0.0, adam=True, flags=bf16)
    bitwise.check(args, "relu-mse-parallel-bf16", [64, 512, 512, 512, 16],
                  "relu", "mse", 128, 0.1, threads=True, flags=bf16)


if __name__ == "__main__":
    main()
