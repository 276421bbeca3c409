# RUN: %python_torch %s --nnc-compile nnc-compile --workdir %t | FileCheck %s
# REQUIRES: cuda-gpu
#
# Convolutional networks on the GPU target against the CPU path, on a GPU:
# the convolutions' implicit-GEMM kernels, the pooling gathers and the batch
# norms' reductions against oneDNN and the CPU runtime's loops. The same
# model, weights and data compiled for both; the loss and every gradient (a
# gradient function), every updated parameter and the running statistics
# (a training step) agree within 1e-5 relative (per tensor, 2-norm), for
# store-all and a dp plan. On the GPU the results are bitwise identical
# across the two plans (every kernel sums in a fixed order: no atomics) and
# across replays of the step's CUDA graph, and a step allocates no device
# memory. The networks: the Fashion-MNIST CNN (examples/fashion-cnn), one
# with strides, asymmetric padding, dilation, groups, a depthwise
# convolution, leaky ReLU, overlapping max pooling, average pooling with
# and without padding and a batch norm (test/Codegen/GPU/Inputs/convnet.mlir),
# and a ResNet's basic blocks with batch norms and a strided projection
# (Inputs/resnet-block.mlir). Without a GPU lit reports this test
# unsupported; it has not run yet (no GPU so far): see docs/GPU.md.
#
# CHECK: all {{[0-9]+}} GPU convolutional configurations match the CPU
# CHECK-NOT: MISMATCH

import argparse
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "Inputs"))
from nnc_ctypes import Compiled, make_inputs  # noqa: E402
from nnc_cuda import GPUEntry, GPULibrary  # noqa: E402

TOL = 1e-5
ROOT = os.path.join(HERE, "..", "..")
MODELS = [
    ("fashion-cnn", os.path.join(ROOT, "examples", "fashion-cnn", "cnn.onnx")),
    ("convnet", os.path.join(ROOT, "test", "Codegen", "GPU", "Inputs",
                             "convnet.mlir")),
    ("resnet-block", os.path.join(ROOT, "test", "Codegen", "GPU", "Inputs",
                                  "resnet-block.mlir")),
]


def rel(a, b):
    return float(np.linalg.norm((a - b).ravel().astype(np.float64)) /
                 max(np.linalg.norm(b.ravel().astype(np.float64)), 1e-30))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--nnc-compile", required=True)
    ap.add_argument("--workdir", required=True)
    args = ap.parse_args()
    sys.stdout.reconfigure(line_buffering=True)
    count, worst = 0, 0.0
    for n, (name, path) in enumerate(MODELS):
        for lr in ("0", "0.05"):
            role = "grad" if lr == "0" else "train_step"
            base = [path, "--learning-rate", lr]
            cpu = Compiled(args.nnc_compile, args.workdir,
                           "cpu_%s_%s" % (name, lr), base)
            rng = np.random.default_rng(n)
            inputs = make_inputs(rng, cpu.entries[role]["inputs"])
            expect = cpu.call(role, inputs)
            ck = cpu.report["checkpoint"]
            budget = (ck["min_budget_bytes"] + ck["store_all_peak_bytes"]) // 2
            results = []
            for plan in (["--strategy=store-all"],
                         ["--strategy=dp", "--budget=%d" % budget]):
                tag = "gpu_%s_%s_%s" % (name, lr, plan[0][11:])
                lib = Compiled(args.nnc_compile, args.workdir, tag,
                               base + plan + ["--target=nvptx"])
                gpu = GPULibrary(lib.lib_path)
                ok, why = gpu.available()
                if not ok:
                    print("MISMATCH: no GPU after all: " + why)
                    return 1
                step = GPUEntry(gpu, lib.report, role, inputs)
                step()
                got = step.outputs()
                free = gpu.mem_free()
                step()  # a replay of the captured graph
                again = step.outputs()
                if gpu.mem_free() != free:
                    print("MISMATCH: the step allocated device memory")
                    return 1
                for a, b in zip(got, again):
                    if not np.array_equal(a, b):
                        print("MISMATCH: a replay differs")
                        return 1
                names = [o["name"] for o in lib.entries[role]["outputs"]]
                errs = [rel(g, e) for g, e in zip(got, expect)]
                worst = max(worst, max(errs))
                count += 1
                bad = [nm for nm, e in zip(names, errs) if e > TOL]
                print("%-13s lr=%-4s %-24s worst rel err %.2e %s" % (
                    name, lr, " ".join(plan), max(errs),
                    ("MISMATCH in " + ", ".join(bad)) if bad else ""))
                if bad:
                    return 1
                results.append(got)
            for nm, a, b in zip(names, results[0], results[1]):
                if not np.array_equal(a, b):
                    print("MISMATCH: %s differs between the GPU's plans" % nm)
                    return 1
    print("all %d GPU convolutional configurations match the CPU (worst "
          "%.2e)" % (count, worst))
    return 0


if __name__ == "__main__":
    sys.exit(main())
