# RUN: %python_torch %s --nnc-compile nnc-compile --workdir %t | FileCheck %s
# REQUIRES: cuda-gpu
#
# The GPU target against the CPU path, on a GPU: the same model, weights and
# data compiled for both; the loss and every gradient (a gradient function)
# and every updated parameter (a training step) agree within 1e-5 relative
# (per tensor, 2-norm), for store-all and a dp plan, with and without
# dropout. Gradients are bitwise identical across the GPU's checkpoint
# plans. The step's device memory for intermediates is the planned arena:
# after a first call (which loads the module and instantiates the graph),
# free device memory does not move while further steps run, and a second
# call replays the step as a CUDA graph. Without a GPU lit reports this test
# unsupported, and lit.cfg.py prints why (no driver, no device).
#
# CHECK: all {{[0-9]+}} GPU configurations match the CPU
# CHECK-NOT: MISMATCH

import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "Inputs"))
from nnc_ctypes import Compiled, random_batch, random_params  # noqa: E402
from nnc_cuda import GPUEntry, GPULibrary  # noqa: E402

TOL = 1e-5

CONFIGS = [
    # widths, activation, loss, batch, dropout
    ([784, 100, 10], "relu", "cross-entropy", 128, 0.0),
    ([64, 128, 128, 128, 10], "tanh", "cross-entropy", 64, 0.25),
    ([256, 256, 256, 256, 256], "relu", "mse", 128, 0.0),
]


def rel(a, b):
    return float(np.linalg.norm((a - b).ravel()) /
                 max(np.linalg.norm(b.ravel()), 1e-30))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--nnc-compile", required=True)
    ap.add_argument("--workdir", required=True)
    args = ap.parse_args()
    # Unbuffered: a run cut short still shows the configurations it checked.
    sys.stdout.reconfigure(line_buffering=True)
    count, worst = 0, 0.0
    for n, (widths, act, loss, batch, dropout) in enumerate(CONFIGS):
        spec = ["--mlp", ",".join(map(str, widths)), "--activation", act,
                "--loss", loss, "--batch", str(batch), "--dropout",
                str(dropout)]
        rng = np.random.default_rng(n)
        params = random_params(rng, widths)
        x, target = random_batch(rng, widths, batch, loss)
        for lr in ("0", "0.05"):
            role = "grad" if lr == "0" else "train_step"
            base = spec + ["--learning-rate", lr]
            cpu = Compiled(args.nnc_compile, args.workdir,
                           "cpu%d_%s" % (n, lr), base)
            expect = cpu.call(role, [x, target] + params)
            ck = cpu.report["checkpoint"]
            budget = (ck["min_budget_bytes"] + ck["store_all_peak_bytes"]) // 2
            results = []
            for plan in (["--strategy=store-all"],
                         ["--strategy=dp", "--budget=%d" % budget]):
                tag = "gpu%d_%s_%s" % (n, lr, plan[0][11:])
                gpu_lib = Compiled(args.nnc_compile, args.workdir, tag,
                                   base + plan + ["--target=nvptx"])
                gpu = GPULibrary(gpu_lib.lib_path)
                ok, why = gpu.available()
                if not ok:
                    print("MISMATCH: no GPU after all: " + why)
                    return 1
                step = GPUEntry(gpu, gpu_lib.report, role,
                                [x, target] + params)
                # The first call loads the module and instantiates the
                # graph (memory the driver keeps): measure after it, and
                # require that further steps allocate nothing.
                step()
                got = step.outputs()
                free = gpu.mem_free()
                step()  # replays the captured graph
                again = step.outputs()
                step()
                gpu.synchronize()
                if gpu.mem_free() != free:
                    print("MISMATCH: the step allocated device memory")
                    return 1
                if gpu.lib.nnc_cuda_graph_launch_count() < 2:
                    print("MISMATCH: the step was not replayed as a graph")
                    return 1
                for a, b in zip(got, again):
                    if not np.array_equal(a, b):
                        print("MISMATCH: a replay differs")
                        return 1
                errs = [rel(g, e) for g, e in zip(got, expect)]
                worst = max(worst, max(errs))
                count += 1
                print("%-24s %-3s lr=%-4s %-22s worst rel err %.2e" % (
                    ",".join(map(str, widths))[:24], act, lr, " ".join(plan),
                    max(errs)))
                if max(errs) > TOL:
                    print("MISMATCH")
                    return 1
                results.append(got)
            if role == "grad" and any(not np.array_equal(a, b) for a, b in
                                      zip(results[0][1:], results[1][1:])):
                print("MISMATCH: gradients differ between GPU plans")
                return 1
    print("all %d GPU configurations match the CPU (worst %.2e)" %
          (count, worst))
    return 0


if __name__ == "__main__":
    sys.exit(main())
