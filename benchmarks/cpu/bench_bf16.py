#!/usr/bin/env python3
"""Mixed precision on the CPU: nnc --precision=bf16 against nnc f32 and
against PyTorch's autocast, side by side in one run.

    /usr/bin/python3 benchmarks/cpu/bench_bf16.py --build build [--quick]

Rows, at 1 and 2 threads: the deep MLP step (32 layers of 1024, batch 256,
MSE, SGD) and the 784-100-10 step (batch 128, cross-entropy, SGD), each as
nnc f32, nnc bf16, nnc bf16 with --keep-cast-copies, PyTorch f32 and
PyTorch under torch.autocast("cpu", dtype=torch.bfloat16). Medians of
blocks of steps, the systems alternating in one process so machine noise
hits all five.

The peer runs at its best: its BLAS is printed and checked
(benchmarks/common/peer.py), it is tried at (threads, BLAS threads) =
(1, n) and (n, n) and each PyTorch system's faster is quoted, and its
bf16 products must run on oneDNN (torch.backends.mkldnn), or the run is
refused. nnc prints the oneDNN implementation its bf16 GEMM runs (the
ISA: AMX or AVX-512 BF16).
The planner's minimum feasible budget and store-all peak of the deep MLP
are printed for both precisions.
"""

import argparse
import importlib.util
import os
import statistics
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "common"))
import peer  # noqa: E402

spec = importlib.util.spec_from_file_location("cpu_bench",
                                              os.path.join(HERE, "bench.py"))
bench = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bench)

CASES = [
    ("32x1024, b256, MSE", [1024] * 33, 256, "mse", 1e-3, 3, 3),
    ("784-100-10, b128, CE", [784, 100, 10], 128, "cross-entropy", 0.1, 100,
     5),
]


def median_times(fns, setters, block, rounds):
    times = [[] for _ in fns]
    for f, s in zip(fns, setters):
        s()
        f()
    for _ in range(rounds):
        for k, (f, s) in enumerate(zip(fns, setters)):
            s()
            for _ in range(block):
                t = time.perf_counter()
                f()
                times[k].append(time.perf_counter() - t)
    return [statistics.median(t) for t in times]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    blas = peer.ensure_best_peer()
    import torch
    if not torch.backends.mkldnn.is_available():
        sys.exit("peer: PyTorch has no oneDNN (mkldnn): its bf16 products "
                 "would run unoptimized; refusing to compare")
    flags = set(open("/proc/cpuinfo").read().split())
    print("machine: %s; bf16 ISA flags: %s" % (
        open("/proc/cpuinfo").read().split("model name")[1].split("\n")[0]
        .strip(": \t"),
        ", ".join(sorted(f for f in flags if "bf16" in f)) or "none"))
    print("peer: PyTorch %s, BLAS %s, oneDNN (mkldnn) for bf16" %
          (torch.__version__, blas))
    tmp = tempfile.mkdtemp(prefix="nnc-bf16-bench-")
    rows = []
    arenas = []
    for name, widths, batch, loss, lr, block, rounds in CASES:
        if args.quick:
            block, rounds = max(1, block // 3), 2
        base = ["--mlp", ",".join(map(str, widths)), "--batch", str(batch),
                "--loss", loss, "--learning-rate", str(lr)]
        n32 = bench.NNCStep(args.build, base, tmp, "f32-%d" % len(rows))
        n16 = bench.NNCStep(args.build, base + ["--precision=bf16"], tmp,
                            "bf16-%d" % len(rows))
        # The user's option that trades memory for the backward's second
        # conversion of each weight (docs/MixedPrecision.md).
        n16k = bench.NNCStep(args.build, base + ["--precision=bf16",
                                                 "--keep-cast-copies"], tmp,
                             "bf16k-%d" % len(rows))
        n16()
        impl = n16.lib.nncrt_gemm_bf16_impl
        impl.restype = __import__("ctypes").c_char_p
        if widths[1] == 1024:
            for tag, s in (("f32", n32), ("bf16", n16)):
                c = s.report["checkpoint"]
                print("planner %s, %s: store-all peak %.1f MiB, minimum "
                      "feasible budget %.1f MiB" % (
                          name, tag, c["store_all_peak_bytes"] / 2**20,
                          c["min_budget_bytes"] / 2**20))
        short = name.split(",")[0]
        arenas += [(short, "bf16", n16), (short, "bf16 keep", n16k)]
        t32 = bench.torch_mlp(widths, batch, loss, lr)
        t16 = bench.torch_mlp(widths, batch, loss, lr, autocast=True)
        for threads in (1, 2):
            # Each PyTorch system at its own best split of threads: the
            # row's nnc columns from the alternation with the best
            # autocast, PyTorch f32 from the one where it ran fastest.
            best = best32 = None
            for tt, bt in bench.best_torch_threads(threads):
                setn = lambda: (n32.threads(threads), n16.threads(threads),
                                n16k.threads(threads))
                sett = lambda tt=tt, bt=bt: peer.set_peer_threads(tt, bt)
                r = median_times([n32, n16, t32, t16, n16k],
                                 [setn, setn, sett, sett, setn], block, rounds)
                if best is None or r[3] < best[0][3]:
                    best = (r, "%d+%d" % (tt, bt))
                if best32 is None or r[2] < best32[0]:
                    best32 = (r[2], "%d+%d" % (tt, bt))
            (a, b, _, d, k), split = best
            c = best32[0]
            split = "f32 %s, autocast %s" % (best32[1], split)
            rows.append((name, threads, a, b, c, d, k, split))
            print("  %-22s %d thr: nnc f32 %.2f, bf16 %.2f, torch f32 %.2f, "
                  "autocast %.2f, bf16 keep %.2f ms" % (
                      name, threads, 1e3 * a, 1e3 * b, 1e3 * c, 1e3 * d,
                      1e3 * k), file=sys.stderr)
        print("nnc bf16 GEMM implementation (%s): %s" %
              (name, impl().decode() or "?"))
    print()
    print("%-22s %3s %10s %10s %10s %10s %9s %9s %10s %9s  %s" % (
        "step", "thr", "nnc f32", "nnc bf16", "torch f32", "autocast",
        "bf16/f32", "vs autoc", "bf16 keep", "keep/f32", "pytorch threads"))
    for name, threads, a, b, c, d, k, split in rows:
        print("%-22s %3d %7.2f ms %7.2f ms %7.2f ms %7.2f ms %8.2fx %8.2fx "
              "%7.2f ms %8.2fx  %s"
              % (name, threads, 1e3 * a, 1e3 * b, 1e3 * c, 1e3 * d, a / b,
                 d / b, 1e3 * k, a / k, split))
    print("(bf16 keep: --keep-cast-copies, the backward reading the "
          "forward's bf16 weight copies; arenas: %s)" % ", ".join(
              "%s %s %.1f MB" % (n, tag, s.entry["arena_bytes"] / 1e6)
              for n, tag, s in arenas))


if __name__ == "__main__":
    main()
