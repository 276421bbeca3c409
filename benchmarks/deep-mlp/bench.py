#!/usr/bin/env python3
"""Deep-MLP checkpointing benchmark: nnc's strategies and budgets side by side
with PyTorch's checkpoint_sequential, on one thread, in one run.

    /usr/bin/python3 benchmarks/deep-mlp/bench.py --nnc-compile build/bin/nnc-compile \
        [--layers 32 --width 1024 --batch 256] [--steps 5]

Every configuration runs in a fresh process: its "extra memory" is the growth
of the resident set over a training step (forward, backward, SGD) with the
inputs and parameters already in memory, i.e. the memory the step itself
needs, measured the same way for both systems. Times are medians over
--steps steps after one warm-up step. The table quotes ratios against each
system's own no-checkpointing run, which is what checkpointing costs.

nnc's store-all row is compiled with --cost-model=measured: it times the
compiled forward and step once and derives seconds per forward and per
backward FLOP; every other nnc plan is compiled with those rates, so its
"model +%" column is the planner's predicted step-time overhead (the number
its plan minimises) and "FLOPs +%" the same plan counted in FLOPs. "dp @seqN"
is nnc's dp with PyTorch's least checkpointed memory as its budget, "dp @seqN
P%" with the same share P of nnc's store-all peak as PyTorch's best point has
of its vanilla memory.
"""

import argparse
import ctypes
import json
import mmap
import os
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "common"))
import peer  # noqa: E402
from memory import peak_rss, reset_peak, rss  # noqa: E402






def run_nnc(args):
    import numpy as np
    report = json.load(open(args.report))
    entry = {e["role"]: e for e in report["entry_points"]}["train_step"]
    lib = ctypes.CDLL(args.lib)
    if hasattr(lib, "nncrt_set_num_threads"):
        lib.nncrt_set_num_threads(args.threads)
    fn = getattr(lib, entry["name"])
    fn.restype = None
    ctypes_of = {"float": np.float32, "int32_t": np.int32,
                 "int64_t": np.int64}
    rng = np.random.default_rng(0)
    bufs = []
    for b in entry["inputs"]:
        a = rng.standard_normal(b["shape"]).astype(ctypes_of[b["type"]]) * 0.05
        bufs.append(a)
    outs = [np.zeros(b["shape"], ctypes_of[b["type"]]) for b in entry["outputs"]]
    # In-place training: each updated `new_X` overwrites the input `X`, as
    # nnc-train and the cost calibration run the step.
    by_name = {b["name"]: i for i, b in enumerate(entry["inputs"])}
    for k, b in enumerate(entry["outputs"]):
        i = by_name.get(b["name"][4:]) if b["name"].startswith("new_") else None
        if i is not None and bufs[i].shape == outs[k].shape:
            outs[k] = bufs[i]
    ptrs = [a.ctypes.data_as(ctypes.c_void_p) for a in bufs + outs]

    def workspace():
        ws = mmap.mmap(-1, max(entry["arena_bytes"], 1))
        return ws, ctypes.c_void_p(
            ctypes.addressof(ctypes.c_char.from_buffer(ws)))

    # Warm up on a throwaway workspace: the first call faults in the code
    # pages, which are the program's, not the step's.
    warm, warm_ptr = workspace()
    fn(*(ptrs + [warm_ptr]))
    ws, ws_ptr = workspace()
    ptrs.append(ws_ptr)
    base = rss()
    reset_peak()
    times = []
    for s in range(args.steps):
        t = time.perf_counter()
        fn(*ptrs)
        times.append(time.perf_counter() - t)
    # The workspace is a fresh mapping: the step's memory is its growth.
    print(json.dumps({"time": statistics.median(times),
                      "extra": max(peak_rss() - base, 0)}))


def run_torch(args):
    import torch
    from torch.utils.checkpoint import checkpoint_sequential
    # One thread means one: torch.set_num_threads does not cap OpenBLAS.
    peer.set_peer_threads(1, args.threads)
    torch.manual_seed(0)
    layers = []
    for l in range(args.layers):
        layers.append(torch.nn.Linear(args.width, args.width))
        if l + 1 < args.layers:
            layers.append(torch.nn.ReLU())
    model = torch.nn.Sequential(*layers)
    x = torch.randn(args.batch, args.width)
    t = torch.randn(args.batch, args.width)
    opt = torch.optim.SGD(model.parameters(), lr=1e-3)

    def step():
        opt.zero_grad(set_to_none=False)
        if args.segments:
            x.requires_grad_(True)
            y = checkpoint_sequential(model, args.segments, x)
        else:
            y = model(x)
        loss = torch.nn.functional.mse_loss(y, t)
        loss.backward()
        opt.step()

    # Gradient buffers belong to the parameters, not to the step.
    for p in model.parameters():
        p.grad = torch.zeros_like(p)
    # Warm up (lazy initialisation inside PyTorch), hand the freed heap back
    # to the kernel, then the resident growth over one step is what the step
    # needs: activations, saved tensors, transient gradients.
    step()
    ctypes.CDLL("libc.so.6").malloc_trim(0)
    base = rss()
    reset_peak()
    step()
    extra = max(peak_rss() - base, 0)
    times = []
    for s in range(args.steps):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    print(json.dumps({"time": statistics.median(times), "extra": extra}))


def child(argv):
    return json.loads(subprocess.run([sys.executable, __file__] + argv,
                                     check=True, capture_output=True,
                                     text=True).stdout.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--nnc-compile")
    ap.add_argument("--layers", type=int, default=32)
    ap.add_argument("--width", type=int, default=1024)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--budgets", default="1.0,0.75,0.5,0.35,0.25,0.15,0.0",
                    help="dp budgets as fractions between the minimum (0) "
                         "and store-all's peak (1)")
    ap.add_argument("--no-torch", action="store_true")
    ap.add_argument("--mode")
    ap.add_argument("--lib")
    ap.add_argument("--report")
    ap.add_argument("--segments", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1,
                    help="nnc's GEMM threads; PyTorch's BLAS threads (with "
                         "one intra-op thread)")
    args = ap.parse_args()
    if args.mode == "nnc":
        return run_nnc(args)
    if args.mode == "torch":
        return run_torch(args)
    print("peer: " + peer.ensure_best_peer(), file=sys.stderr)

    shape = ["--layers", str(args.layers), "--width", str(args.width),
             "--batch", str(args.batch), "--steps", str(args.steps)]
    spec = ["--mlp", ",".join([str(args.width)] * (args.layers + 1)),
            "--activation", "relu", "--loss", "mse",
            "--batch", str(args.batch), "--learning-rate", "0.001"]
    tmp = tempfile.mkdtemp(prefix="nnc-bench-")
    rows = []

    # PyTorch first: its best checkpointed memory point is one of nnc's
    # budgets below.
    if not args.no_torch:
        for seg in (0, 2, 4, 8, 16):
            if seg > 2 * args.layers - 1:  # more segments than modules
                continue
            r = child(["--mode", "torch", "--segments", str(seg)] + shape)
            r.update(system="pytorch",
                     name="vanilla" if seg == 0 else "ckpt_seq %d" % seg)
            rows.append(r)
            print("  measured torch %-20s %.3f s" % (r["name"], r["time"]),
                  file=sys.stderr)

    rates = []

    def nnc(name, flags):
        lib = os.path.join(tmp, "m%d.so" % len(rows))
        out = subprocess.run([args.nnc_compile, "-o", lib, "--report=json"] +
                             spec + rates + flags, check=True,
                             capture_output=True, text=True)
        report = json.loads(out.stdout)
        rpath = lib + ".json"
        json.dump(report, open(rpath, "w"))
        r = child(["--mode", "nnc", "--lib", lib, "--report", rpath] + shape)
        ck = report["checkpoint"]
        r.update(system="nnc", name=name, arena=report["arena_bytes"],
                 predicted=ck["predicted_peak_bytes"],
                 model_overhead=ck["overhead"],
                 flop_overhead=ck["flop_overhead"])
        rows.append(r)
        print("  measured nnc %-22s %.3f s" % (name, r["time"]), file=sys.stderr)
        return report

    # Store-all, measuring the seconds per forward and backward FLOP of the
    # compiled code on this machine; every other plan reuses those rates, so
    # "model +%" is the planner's predicted step-time overhead.
    ref = nnc("store-all", ["--strategy=store-all", "--cost-model=measured"])
    cal = ref["calibration"]
    rates += ["--forward-flop-seconds=%r" % cal["forward_flop_seconds"],
              "--backward-flop-seconds=%r" % cal["backward_flop_seconds"]]
    print("  calibration: forward %.3g s/GFLOP, backward %.3g s/GFLOP" %
          (1e9 * cal["forward_flop_seconds"], 1e9 * cal["backward_flop_seconds"]),
          file=sys.stderr)
    lo = ref["checkpoint"]["min_budget_bytes"]
    hi = ref["checkpoint"]["store_all_peak_bytes"]

    def dp(name, budget):
        try:
            nnc(name, ["--strategy=dp", "--budget=%d" % budget])
        except subprocess.CalledProcessError as e:
            print("  dp at %d bytes: %s" % (budget, e.stderr.strip()),
                  file=sys.stderr)

    for f in [float(v) for v in args.budgets.split(",")]:
        dp("dp %.0f%%" % (100 * f), int(lo + f * (hi - lo)))
    # PyTorch's least checkpointed memory as nnc's budget, in bytes and as
    # the same fraction of its own no-checkpointing memory.
    ckpt = [r for r in rows if r["system"] == "pytorch" and r["name"] != "vanilla"]
    vanilla = [r for r in rows if r["system"] == "pytorch" and r["name"] == "vanilla"]
    if ckpt:
        best = min(ckpt, key=lambda r: r["extra"])
        tag = best["name"].replace("ckpt_seq ", "seq")
        if best["extra"] >= lo:
            dp("dp @%s" % tag, best["extra"])
        if vanilla and vanilla[0]["extra"] > 0:
            share = best["extra"] / vanilla[0]["extra"]
            dp("dp @%s %.0f%%" % (tag, 100 * share), max(lo, int(hi * share)))
    nnc("sqrt", ["--strategy=sqrt"])
    nnc("recompute-all", ["--strategy=recompute-all"])

    print("deep MLP: %d layers of width %d, batch %d, ReLU, MSE, SGD; one "
          "thread; median of %d steps" % (args.layers, args.width, args.batch,
                                          args.steps))
    print("%-8s %-14s %10s %8s %12s %12s %10s %10s" %
          ("system", "plan", "step (s)", "time x", "extra MiB", "predicted",
           "model +%", "FLOPs +%"))
    base = {}
    for r in rows:
        base.setdefault(r["system"], r)
    for r in rows:
        b = base[r["system"]]
        pred = "%.1f" % (r["predicted"] / 2**20) if "predicted" in r else "-"
        mo = "%.1f" % (100 * r["model_overhead"]) if "model_overhead" in r else "-"
        fo = "%.1f" % (100 * r["flop_overhead"]) if "flop_overhead" in r else "-"
        print("%-8s %-14s %10.3f %8.2f %12.1f %12s %10s %10s" %
              (r["system"], r["name"], r["time"], r["time"] / b["time"],
               r["extra"] / 2**20, pred, mo, fo))


if __name__ == "__main__":
    main()
