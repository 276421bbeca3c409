# RUN: %python_torch %s --nnc-compile nnc-compile --workdir %t | FileCheck %s
# REQUIRES: cuda-gpu, bf16
#
# Mixed precision on the GPU's tensor cores (mma.sync) against the CPU's
# bf16 step (oneDNN), on a GPU: the same model, weights and data; a
# gradient function's loss within 1e-2 relative and every gradient's cosine
# similarity at least 0.999 (the two accumulate in different orders, so
# bits differ); the GPU's gradients bitwise identical across its
# checkpoint plans (store-all, recompute-all, dp). fp16 (GPU only) against
# the CPU's f32 gradients: cosine at least 0.99. A loss-scaled fp16 Adam
# step started at scale 2^127 overflows: it returns every parameter and
# moment bit for bit and halves the scale; at scale 2^10 it steps and
# counts one finite step. Without a GPU (or a bf16 CPU) lit reports this
# test unsupported; nothing here has run on a GPU yet.
#
# CHECK: bf16: {{[0-9]+}} GPU configurations match the CPU's bf16 step
# CHECK: fp16: gradients match the CPU's f32
# CHECK: fp16 loss scaling: overflow skipped, finite step taken
# CHECK-NOT: MISMATCH

import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "Inputs"))
from nnc_ctypes import Compiled, random_batch, random_params  # noqa: E402
from nnc_cuda import GPUEntry, GPULibrary  # noqa: E402

CONFIGS = [
    # widths, activation, loss, batch: off the 64x64x32 tile, and on it
    ([784, 100, 10], "relu", "cross-entropy", 128),
    ([256, 256, 256, 64], "tanh", "mse", 128),
]


def cosine(a, b):
    a, b = a.astype(np.float64).ravel(), b.astype(np.float64).ravel()
    return float(a @ b / max(np.linalg.norm(a) * np.linalg.norm(b), 1e-300))


def gpu_run(args, tag, spec, role, inputs):
    lib = Compiled(args.nnc_compile, args.workdir, tag,
                   spec + ["--target=nvptx"])
    gpu = GPULibrary(lib.lib_path)
    ok, why = gpu.available()
    if not ok:
        print("MISMATCH: no GPU after all: " + why)
        sys.exit(1)
    step = GPUEntry(gpu, lib.report, role, inputs)
    step()
    gpu.synchronize()
    return step.outputs(), lib.report


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--nnc-compile", required=True)
    ap.add_argument("--workdir", required=True)
    args = ap.parse_args()
    sys.stdout.reconfigure(line_buffering=True)
    count = 0
    for n, (widths, act, loss, batch) in enumerate(CONFIGS):
        spec = ["--mlp", ",".join(map(str, widths)), "--activation", act,
                "--loss", loss, "--batch", str(batch), "--learning-rate=0"]
        rng = np.random.default_rng(n)
        params = random_params(rng, widths)
        x, target = random_batch(rng, widths, batch, loss)
        cpu = Compiled(args.nnc_compile, args.workdir, "cpu_bf16_%d" % n,
                       spec + ["--precision=bf16"])
        expect = cpu.call("grad", [x, target] + params)
        ck = cpu.report["checkpoint"]
        budget = (ck["min_budget_bytes"] + ck["store_all_peak_bytes"]) // 2
        plans = [["--strategy=store-all"], ["--strategy=recompute-all"],
                 ["--strategy=dp", "--budget=%d" % budget]]
        first = None
        for plan in plans:
            got, _ = gpu_run(args, "gpu_bf16_%d_%s" % (n, plan[0][11:]),
                             spec + ["--precision=bf16"] + plan, "grad",
                             [x, target] + params)
            lerr = abs(float(got[0]) - float(expect[0])) / abs(float(expect[0]))
            cos = min(cosine(g, e) for g, e in zip(got[1:], expect[1:]))
            print("%-16s %-24s loss rel err %.2e, min cosine %.6f" %
                  (",".join(map(str, widths))[:16], " ".join(plan), lerr, cos))
            if lerr > 1e-2 or cos < 0.999:
                print("MISMATCH")
                return 1
            if first is None:
                first = got
            elif any(a.tobytes() != b.tobytes() for a, b in zip(first, got)):
                print("MISMATCH: gradients differ between GPU plans")
                return 1
            count += 1
    print("bf16: %d GPU configurations match the CPU's bf16 step" % count)

    # fp16 against f32 (the CPU has no fp16).
    widths, act, loss, batch = CONFIGS[0]
    spec = ["--mlp", ",".join(map(str, widths)), "--activation", act,
            "--loss", loss, "--batch", str(batch)]
    rng = np.random.default_rng(7)
    params = random_params(rng, widths)
    x, target = random_batch(rng, widths, batch, loss)
    cpu = Compiled(args.nnc_compile, args.workdir, "cpu_f32",
                   spec + ["--learning-rate=0"])
    expect = cpu.call("grad", [x, target] + params)
    got, _ = gpu_run(args, "gpu_fp16", spec + ["--learning-rate=0",
                                               "--precision=fp16"],
                     "grad", [x, target] + params)
    cos = min(cosine(g, e) for g, e in zip(got[1:], expect[1:]))
    if cos < 0.99:
        print("MISMATCH: fp16 gradient cosine %.5f" % cos)
        return 1
    print("fp16: gradients match the CPU's f32 (min cosine %.6f)" % cos)

    # A loss-scaled fp16 Adam step: overflow, then a finite step.
    step_spec = spec + ["--precision=fp16", "--optimizer=adam",
                        "--loss-scaling=dynamic"]
    moments = [np.zeros_like(p) for p in params for _ in range(2)]
    for scale, skip in ((2.0 ** 127, True), (2.0 ** 10, False)):
        inputs = [x, target] + params + moments + [
            np.float32(1e-3), np.float32(1), np.float32(scale),
            np.float32(5)]
        out, report = gpu_run(args, "gpu_fp16_ls", step_spec, "train_step",
                              inputs)
        names = [o["name"] for o in [e for e in report["entry_points"]
                                     if e["role"] == "train_step"][0]
                 ["outputs"]]
        new_scale, new_good = float(out[-2]), float(out[-1])
        state = out[1:1 + len(params) + len(moments)]
        unchanged = all(a.tobytes() == np.asarray(b, np.float32).tobytes()
                        for a, b in zip(state, params + moments))
        if skip and not (unchanged and new_scale == scale / 2 and
                         new_good == 0):
            print("MISMATCH: the overflow step was not skipped (%s)" % names)
            return 1
        if not skip and (unchanged or new_scale != scale or new_good != 6):
            print("MISMATCH: the finite step did not update")
            return 1
    print("fp16 loss scaling: overflow skipped, finite step taken")
    return 0


if __name__ == "__main__":
    sys.exit(main())
