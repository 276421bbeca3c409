# RUN: %python_torch %s --nnc-compile nnc-compile --workdir %t --mpirun "%mpirun" | FileCheck %s
# REQUIRES: cuda-gpu, mpi, nccl-runtime
#
# The NVPTX target's data parallelism on GPUs (docs/Distributed.md, "On
# GPUs"): N ranks (one GPU each: N = min(2, GPUs)) run a training step
# compiled with --all-reduce, each on its shard of a global batch, under
# mpirun; NCCL sums the gradient buckets inside the step's CUDA graph and
# the wait divides by N. Every rank ends with the same parameters, bit for
# bit, and they match one CPU process on the whole global batch within
# 1e-5 relative, after three steps; the second and third steps replay the
# captured graph. Without a GPU (or without NCCL's runtime) lit reports the
# test unsupported; test/Codegen/GPU/all-reduce.test checks the same path
# against fake drivers on every machine with the toolkit.
#
# CHECK: ranks agree bitwise and match the CPU
# CHECK-NOT: MISMATCH

import argparse
import ctypes
import os
import shlex
import subprocess
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "Inputs"))
from nnc_ctypes import Compiled, random_batch, random_params  # noqa: E402
from nnc_cuda import GPUEntry, GPULibrary  # noqa: E402

WIDTHS, BATCH, STEPS, TOL = [64, 128, 10], 32, 3, 1e-5
MODEL = ["--mlp", ",".join(map(str, WIDTHS)), "--loss", "mse",
         "--optimizer=sgd", "--learning-rate", "0.05"]


def data(ranks):
    rng = np.random.default_rng(7)
    params = random_params(rng, WIDTHS)
    batches = [random_batch(rng, WIDTHS, BATCH * ranks, "mse")
               for _ in range(STEPS)]
    return params, batches


def worker(args):
    """One rank: its shard of every global batch, STEPS steps on the GPU."""
    ctypes.CDLL(args.lib, mode=ctypes.RTLD_GLOBAL)  # libmpi's symbols
    gpu = GPULibrary(args.lib)
    L = gpu.lib
    if L.nncrt_nccl_init() != 0:
        print("MISMATCH: nncrt_nccl_init: %s" % L.nnc_cuda_error().decode())
        L.nncrt_mpi_finalize()
        return 1
    rank, ranks = L.nncrt_nccl_rank(), L.nncrt_nccl_size()
    import json
    report = json.load(open(args.lib + ".json"))
    params, batches = data(ranks)
    shard = slice(rank * BATCH, (rank + 1) * BATCH)
    x, t = batches[0]
    step = GPUEntry(gpu, report, "train_step", [x[shard], t[shard]] + params)
    graphs = L.nnc_cuda_graph_launch_count()
    for n, (x, t) in enumerate(batches):
        # The same buffers every step (the next batch and the updated
        # parameters copied in), so steps after the first replay the graph.
        if n > 0:
            for buf, a in zip(step.ins, [x[shard], t[shard]] + params):
                a = np.ascontiguousarray(a)
                gpu.check(L.nnc_cuda_memcpy_to_device(buf, a.ctypes.data,
                                                      a.nbytes), "copy")
        step()
        params = step.outputs()[1:]
    if L.nnc_cuda_graph_launch_count() - graphs != STEPS:
        print("MISMATCH: rank %d ran %d CUDA graph(s) for %d steps" %
              (rank, L.nnc_cuda_graph_launch_count() - graphs, STEPS))
    np.savez(os.path.join(args.workdir, "rank%d.npz" % rank), *params)
    L.nncrt_nccl_finalize()
    L.nncrt_mpi_finalize()
    return 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--nnc-compile")
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--mpirun")
    ap.add_argument("--worker-lib", dest="lib")
    args = ap.parse_args()
    if args.lib:
        return worker(args)
    sys.stdout.reconfigure(line_buffering=True)
    os.makedirs(args.workdir, exist_ok=True)
    gpu_lib = os.path.join(args.workdir, "dp.so")
    out = subprocess.run(
        [args.nnc_compile, *MODEL, "--batch", str(BATCH), "--target=nvptx",
         "--all-reduce", "--bucket-bytes=16384", "-o", gpu_lib,
         "--report=json"], check=True, capture_output=True, text=True)
    open(gpu_lib + ".json", "w").write(out.stdout)
    devices = GPULibrary(gpu_lib).lib.nnc_cuda_device_count()
    ranks = max(1, min(2, devices))
    subprocess.run(shlex.split(args.mpirun) +
                   ["-np", str(ranks), sys.executable, __file__,
                    "--workdir", args.workdir, "--worker-lib", gpu_lib],
                   check=True)
    got = [np.load(os.path.join(args.workdir, "rank%d.npz" % r))
           for r in range(ranks)]
    got = [[g["arr_%d" % i] for i in range(len(g.files))] for g in got]
    for r in range(1, ranks):
        if any(not np.array_equal(a, b) for a, b in zip(got[0], got[r])):
            print("MISMATCH: rank %d's parameters differ from rank 0's" % r)
            return 1
    # One CPU process on the global batches.
    cpu = Compiled(args.nnc_compile, args.workdir, "cpu",
                   MODEL + ["--batch", str(BATCH * ranks)])
    params, batches = data(ranks)
    for x, t in batches:
        params = cpu.call("train_step", [x, t] + params)[1:]
    worst = max(float(np.linalg.norm(g - e) / max(np.linalg.norm(e), 1e-30))
                for g, e in zip(got[0], params))
    print("%d rank(s), %d steps: worst rel err %.2e" % (ranks, STEPS, worst))
    if worst > TOL:
        print("MISMATCH")
        return 1
    print("ranks agree bitwise and match the CPU")
    return 0


if __name__ == "__main__":
    sys.exit(main())
