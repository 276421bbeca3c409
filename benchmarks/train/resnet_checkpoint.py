#!/usr/bin/python3
"""The CIFAR-style ResNet under a checkpoint budget: nnc's dp plan at half
of its store-all activation peak against PyTorch's checkpoint_sequential,
step time and measured memory, in one run.

    /usr/bin/python3 benchmarks/train/resnet_checkpoint.py \
        --nnc-compile build/bin/nnc-compile [--blocks 3] [--batch 128] \
        [--threads 1] [--steps 7] [--segments 2,3,5,9]

The model is examples/resnet-landscape/export.py's (--blocks 3: ResNet-20,
--blocks 1: ResNet-8), on 28x28 one-channel images (Fashion-MNIST's
shape), with its cross-entropy loss, batch norm in training mode, and plain
SGD (lr 0.01). Both systems start from the same weights (the ONNX
initializers are PyTorch's seed-0 initialization, which the PyTorch side
rebuilds) and the same random batch.

Rows:
  nnc      store-all           nnc-compile --strategy=store-all
  nnc      dp @ half           nnc-compile --strategy=dp --budget=B, B half
                               the store-all activation peak that the
                               store-all report's checkpoint section gives
  pytorch  plain               model(x), loss, backward, SGD step
  pytorch  ckpt_seq S          the stem run plainly, then
                               torch.utils.checkpoint.checkpoint_sequential
                               over the basic blocks in S segments (its
                               last segment is not checkpointed, as always)
PyTorch runs in NCHW (its default) and in channels_last (oneDNN's blocked
kernels without reorders); each format's checkpointed rows are compared
with that format's plain row.

Every configuration runs in a fresh process. Columns:
  step s     median over --steps training steps (forward, backward, SGD
             update) after --warmup untimed ones
  time x     against the same system's (and format's) run without
             checkpointing; "mem x" likewise for "step MiB"
  step MiB   the growth of the resident set over a warm training step, with
             inputs, parameters and gradient buffers already resident: the
             benchmark's measure of memory, the same for both systems. For
             nnc it is the arena (its pages are dropped after the warm-up
             and faulted in afresh); for PyTorch activations, saved tensors
             and transient gradients as glibc's heap holds them (trimmed
             after the warm-up)
  held MiB   anonymous memory the warm-up left resident (RssAnon growth,
             code pages not counted): what each system keeps between steps
             outside the "step" figure. For nnc the runtime's cached oneDNN
             primitives with their scratchpads and blocked-layout operand
             buffers (lib/Runtime/CPU/Convolution.cpp), outside the arena
  step+held  the two added
  live MiB   PyTorch's step growth again, in another fresh process where
             glibc's mmap threshold is fixed at 128 KiB (mallopt), so every
             tensor is its own mapping returned at free and the resident set
             follows the live tensors instead of the heap's high-water mark
             (not a timing configuration); for nnc the arena
  predicted  nnc's predicted activation peak; "FLOPs +%" its recomputation
The comparison at the end lists, for each memory measure, the
checkpoint_sequential runs that take at least as much as nnc's dp plan,
with their step time over nnc's. The peer runs at its best
(benchmarks/common/peer.py): its BLAS kernel chosen by measurement and
printed, oneDNN convolutions required and printed, the same thread count
as nnc (--threads, for both its intra-op and BLAS threads).
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

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..", "..")
sys.path.insert(0, os.path.join(HERE, "..", "common"))
sys.path.insert(0, os.path.join(ROOT, "examples", "pytorch-onnx"))
import peer  # noqa: E402
from memory import peak_rss, reset_peak, rss, rss_anon  # noqa: E402

LR = 0.01
CLASSES = 10






def batch(args):
    import numpy as np
    rng = np.random.default_rng(0)
    x = rng.standard_normal((args.batch, 1, 28, 28)).astype(np.float32)
    labels = rng.integers(0, CLASSES, args.batch).astype(np.int64)
    return x, labels


def run_nnc(args):
    import numpy as np
    import nnc_weights
    report = json.load(open(args.report))
    entry = {e["role"]: e for e in report["entry_points"]}["train_step"]
    lib = ctypes.CDLL(args.lib)
    lib.nncrt_set_num_threads(args.threads)
    fn = getattr(lib, entry["name"])
    fn.restype = None
    weights = nnc_weights.load(args.weights)
    x, labels = batch(args)
    dtypes = {"float": np.float32, "int32_t": np.int32, "int64_t": np.int64}
    ins = []
    for spec in entry["inputs"]:
        if spec["name"] == "x":
            a = x
        elif spec["name"] == "labels":
            a = labels
        else:
            a = weights[spec.get("source_name", spec["name"])]
        a = np.ascontiguousarray(a, dtype=dtypes[spec["type"]])
        assert list(a.shape) == spec["shape"], (spec, a.shape)
        ins.append(a)
    outs = [np.zeros(o["shape"], dtypes[o["type"]]) for o in entry["outputs"]]
    # Parameters are updated in place (the header allows it); the running
    # statistics go to their own buffers.
    by_name = {s["name"]: i for i, s in enumerate(entry["inputs"])}
    for k, o in enumerate(entry["outputs"]):
        src = by_name.get(o["name"][len("new_"):]) if o["name"].startswith(
            "new_") else None
        if src is not None and entry["inputs"][src].get("parameter"):
            outs[k] = ins[src]
    ws = mmap.mmap(-1, max(entry["arena_bytes"], 1))
    ws_ptr = ctypes.c_void_p(ctypes.addressof(ctypes.c_char.from_buffer(ws)))
    ptrs = [a.ctypes.data_as(ctypes.c_void_p) for a in ins + outs] + [ws_ptr]
    # The arena is a shared anonymous mapping (RssShmem), so RssAnon's
    # growth over the warm-up is what the runtime keeps (oneDNN primitives,
    # their scratchpads and layout buffers), code pages not included.
    before = rss_anon()
    for _ in range(args.warmup):
        fn(*ptrs)
    # Drop the arena's pages: the timed steps fault them in again, so the
    # step's growth is its arena.
    ws.madvise(mmap.MADV_DONTNEED)
    held = rss_anon() - before
    base = rss()
    reset_peak()
    times = []
    for _ in range(args.steps):
        t = time.perf_counter()
        fn(*ptrs)
        times.append(time.perf_counter() - t)
    loss = float(outs[0])
    print(json.dumps({"time": statistics.median(times), "times": times,
                      "extra": max(peak_rss() - base, 0), "held": held,
                      "loss": loss}))


def run_torch(args):
    libc = ctypes.CDLL("libc.so.6")
    if args.live:
        # A fixed mmap threshold (M_MMAP_THRESHOLD = -3) turns glibc's
        # dynamic one off: every tensor of 128 KiB or more is its own
        # mapping, returned at free, so the resident set follows the live
        # tensors instead of the heap's high-water mark.
        libc.mallopt(-3, 128 * 1024)
    import torch
    import torch.nn.functional as F
    from torch.utils.checkpoint import checkpoint_sequential
    sys.path.insert(0, os.path.join(ROOT, "examples", "resnet-landscape"))
    from export import ResNet
    peer.set_peer_threads(args.threads, args.threads)
    torch.manual_seed(0)  # export.py's initialization: the ONNX initializers
    model = ResNet(args.blocks, True)
    model.train()
    fmt = torch.channels_last if args.channels_last else torch.contiguous_format
    model = model.to(memory_format=fmt)
    xn, ln = batch(args)
    x = torch.from_numpy(xn).contiguous(memory_format=fmt)
    labels = torch.from_numpy(ln)
    opt = torch.optim.SGD(model.parameters(), lr=LR)

    def forward():
        if not args.segments:
            return model(x)
        h = model.stem(x)
        h = checkpoint_sequential(model.blocks, args.segments, h,
                                  preserve_rng_state=False)  # no dropout
        return model.fc(h.mean((2, 3)))

    def step():
        opt.zero_grad(set_to_none=False)
        loss = F.cross_entropy(forward(), labels)
        loss.backward()
        opt.step()
        return loss

    # Gradient buffers belong to the parameters, not to the step.
    for p in model.parameters():
        p.grad = torch.zeros_like(p)
    libc.malloc_trim(0)
    before = rss_anon()
    for _ in range(args.warmup):
        step()
    # Hand the freed heap back to the kernel; then the resident growth over
    # one step is what the step needs.
    libc.malloc_trim(0)
    held = rss_anon() - before
    base = rss()
    reset_peak()
    step()
    extra = max(peak_rss() - base, 0)
    if args.live:
        print(json.dumps({"extra": extra}))
        return
    times = []
    for _ in range(args.steps):
        t0 = time.perf_counter()
        loss = step()
        times.append(time.perf_counter() - t0)
    print(json.dumps({"time": statistics.median(times), "times": times,
                      "extra": extra, "held": held, "loss": float(loss)}))


def child(argv):
    out = subprocess.run([sys.executable, __file__] + argv, check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nnc-compile",
                    default=os.path.join(ROOT, "build", "bin", "nnc-compile"))
    ap.add_argument("--blocks", type=int, default=3,
                    help="basic blocks per stage (3: ResNet-20, 1: ResNet-8)")
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--steps", type=int, default=7)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--segments", default="2,3,5,9",
                    help="checkpoint_sequential segment counts (at most "
                         "3 x --blocks)")
    ap.add_argument("--fraction", type=float, default=0.5,
                    help="nnc's dp budget as a share of its store-all "
                         "activation peak")
    ap.add_argument("--formats", default="nchw,channels_last")
    ap.add_argument("--mode", choices=["nnc", "torch"])
    ap.add_argument("--lib")
    ap.add_argument("--report")
    ap.add_argument("--weights")
    ap.add_argument("--channels-last", action="store_true")
    ap.add_argument("--live", action="store_true")
    args = ap.parse_args()
    if args.mode == "nnc":
        return run_nnc(args)
    if args.mode == "torch":
        args.segments = int(args.segments)
        return run_torch(args)

    peer_line = peer.ensure_best_peer()
    import torch
    peer.set_peer_threads(args.threads, args.threads)
    conv_line = peer.convolution_check()
    common = ["--blocks", str(args.blocks), "--batch", str(args.batch),
              "--threads", str(args.threads), "--steps", str(args.steps),
              "--warmup", str(args.warmup)]
    tmp = tempfile.mkdtemp(prefix="nnc-resnet-ckpt-")
    model = os.path.join(tmp, "resnet.onnx")
    subprocess.run([sys.executable,
                    os.path.join(ROOT, "examples", "resnet-landscape",
                                 "export.py"), model,
                    "--blocks", str(args.blocks), "--batch", str(args.batch)],
                   check=True)
    rows = []

    def nnc(name, flags):
        lib = os.path.join(tmp, "m%d.so" % len(rows))
        wpath = lib + ".nncw"
        out = subprocess.run(
            [args.nnc_compile, model, "-o", lib, "--report=json",
             "--learning-rate=%g" % LR, "--num-threads=%d" % args.threads,
             "--weights-out", wpath] + flags,
            check=True, capture_output=True, text=True)
        report = json.loads(out.stdout)
        rpath = lib + ".json"
        json.dump(report, open(rpath, "w"))
        r = child(["--mode", "nnc", "--lib", lib, "--report", rpath,
                   "--weights", wpath] + common)
        ck = report["checkpoint"]
        r.update(system="nnc", name=name, fmt="nchw",
                 arena=report["arena_bytes"],
                 predicted=ck["predicted_peak_bytes"],
                 flop_overhead=ck["flop_overhead"],
                 forward_steps=ck["forward_steps"], stages=ck["stages"])
        rows.append(r)
        print("  measured nnc %-14s %.3f s, %.1f MiB" %
              (name, r["time"], r["extra"] / 2**20), file=sys.stderr)
        return report

    ref = nnc("store-all", ["--strategy=store-all"])
    ck = ref["checkpoint"]
    hi, lo = ck["store_all_peak_bytes"], ck["min_budget_bytes"]
    budget = int(hi * args.fraction)
    if budget < lo:
        sys.exit("a dp budget of %d bytes (--fraction %g of the store-all "
                 "peak, %d) is below the least feasible, %d (%.2f of it)" %
                 (budget, args.fraction, hi, lo, lo / hi))
    half = "dp @ %s" % ("half" if args.fraction == 0.5 else
                        "%.0f%%" % (100 * args.fraction))
    nnc(half, ["--strategy=dp", "--budget=%d" % budget])

    segs = [int(s) for s in args.segments.split(",") if s]
    segs = [s for s in segs if 1 < s <= 3 * args.blocks]
    for fmt in args.formats.split(","):
        for seg in [0] + segs:
            argv = (["--mode", "torch", "--segments", str(seg)] + common +
                    (["--channels-last"] if fmt == "channels_last" else []))
            r = child(argv)
            r["live"] = child(argv + ["--live"])["extra"]
            r.update(system="pytorch", fmt=fmt,
                     name="plain" if seg == 0 else "ckpt_seq %d" % seg)
            rows.append(r)
            print("  measured pytorch %-10s %-13s %.3f s, %.1f MiB" %
                  (r["name"], fmt, r["time"], r["extra"] / 2**20),
                  file=sys.stderr)

    cmd = ("/usr/bin/python3 benchmarks/train/resnet_checkpoint.py "
           "--nnc-compile %s --blocks %d --batch %d --threads %d --steps %d"
           % (args.nnc_compile, args.blocks, args.batch, args.threads,
              args.steps))
    print("ResNet-%d (%d basic blocks per stage), batch %d, 1x28x28, "
          "cross-entropy, plain SGD lr %g; %d thread(s); median of %d steps "
          "after %d warm-up steps; each row a fresh process"
          % (6 * args.blocks + 2, args.blocks, args.batch, LR, args.threads,
             args.steps, args.warmup))
    print("  command: " + cmd)
    print("  peer: PyTorch %s, %s" % (torch.__version__, peer_line))
    print("  peer " + conv_line)
    print("  nnc store-all activation peak %.1f MiB (report), least feasible "
          "budget %.1f MiB; dp budget %d B = %.0f%% of it"
          % (hi / 2**20, lo / 2**20, budget, 100 * args.fraction))
    print()
    print("%-8s %-12s %-13s %8s %6s | %8s %6s %8s %9s %8s | %9s %8s" %
          ("system", "config", "format", "step s", "time x", "step MiB",
           "mem x", "held MiB", "step+held", "live MiB", "predicted",
           "FLOPs +%"))
    base = {}
    for r in rows:
        base.setdefault((r["system"], r["fmt"]), r)
    for r in rows:
        b = base[(r["system"], r["fmt"])]
        r["total"] = r["extra"] + r["held"]
        pred = "%.1f" % (r["predicted"] / 2**20) if "predicted" in r else "-"
        fo = ("%.1f" % (100 * r["flop_overhead"])
              if "flop_overhead" in r else "-")
        live = r.setdefault("live", r["extra"])  # nnc: the arena is live
        print("%-8s %-12s %-13s %8.3f %6.2f | %8.1f %6.2f %8.1f %9.1f %8.1f "
              "| %9s %8s" %
              (r["system"], r["name"], r["fmt"], r["time"],
               r["time"] / b["time"], r["extra"] / 2**20,
               r["extra"] / max(b["extra"], 1), r["held"] / 2**20,
               r["total"] / 2**20, live / 2**20, pred, fo))

    # nnc's dp at half against every checkpoint_sequential configuration
    # that takes the same memory or more: by the step's growth (the
    # benchmark's measure), then counting what each system holds between
    # steps too.
    dp = [r for r in rows if r["name"] == half][0]
    sa = rows[0]
    ckpt = [r for r in rows if r["system"] == "pytorch" and
            r["name"] != "plain"]
    print()
    print("nnc %s: %.3f s per step (%.2fx its store-all); step %.1f MiB "
          "(%.2fx its store-all), step+held %.1f MiB" %
          (half, dp["time"], dp["time"] / sa["time"], dp["extra"] / 2**20,
           dp["extra"] / max(sa["extra"], 1), dp["total"] / 2**20))
    for key, what in (("extra", "step MiB"), ("live", "live MiB"),
                      ("total", "step+held MiB")):
        geq = [r for r in ckpt if r[key] >= dp[key]]
        print("checkpoint_sequential with the same or more %s as nnc %s "
              "(%.1f):" % (what, half, dp[key] / 2**20))
        if not geq:
            print("  none; the one with the most:")
            geq = [max(ckpt, key=lambda r: r[key])]
        for r in sorted(geq, key=lambda r: r[key]):
            print("  pytorch %-11s %-13s %.3f s at %6.1f MiB: its time / "
                  "nnc's %.2f, nnc's memory / its %.2f" %
                  (r["name"], r["fmt"], r["time"], r[key] / 2**20,
                   r["time"] / dp["time"], dp[key] / max(r[key], 1)))
        fastest = min(geq, key=lambda r: r["time"])
        closest = min(geq, key=lambda r: r[key])
        print("  closest in memory: %s %s (time / nnc's %.2f); fastest: %s %s "
              "(time / nnc's %.2f)" %
              (closest["name"], closest["fmt"], closest["time"] / dp["time"],
               fastest["name"], fastest["fmt"], fastest["time"] / dp["time"]))

if __name__ == "__main__":
    main()
