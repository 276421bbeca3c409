#!/usr/bin/python3
"""Transformer activation memory: nnc's planner and attention against PyTorch.

Part 1, the planner. A deep configuration of the grokking example's
architecture (12 pre-norm layers, width 512, 8 heads, MLP 2048, sequence
256, batch 16, causal; the loss reads the last position) trained with AdamW:

  - nnc store-all, and nnc's budget-optimal dp plan under a budget of half
    store-all's predicted activation peak;
  - PyTorch keeping everything, and PyTorch with torch.utils.checkpoint
    around each block (the usual manual remedy).

Part 2, attention alone at T = 256, 1024, 4096 (batch 1, 8 heads, 64
features, causal): one forward and backward of nn.attention (FlashAttention:
no T x T scores) against PyTorch's attention, which materializes the scores
(1.13 has no fused CPU attention).

Each configuration runs in its own process, which reports the median step
time and the growth of its peak resident memory over all its steps above
what it held before the first (ru_maxrss; nnc's arena, allocated before,
counted in): the same measure for both sides. For nnc the arena's exact
size is printed too. The peer runs at its best (benchmarks/common/peer.py):
its own and its BLAS's threads are separate pools that oversubscribe the
cores when both run several, so each PyTorch configuration is timed with
(PyTorch, BLAS) threads (n, n), (n, 1) and (1, n) and the fastest counts.

  /usr/bin/python3 benchmarks/train/bench_transformer_memory.py \\
      --build build
"""

import argparse
import ctypes
import json
import os
import resource
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..", "..")
sys.path.insert(0, os.path.join(HERE, "..", "common"))
sys.path.insert(0, os.path.join(ROOT, "test", "Oracle", "Inputs"))


def rss_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def deep_config(args):
    return ["--layers=12", "--width=512", "--heads=8", "--mlp=2048",
            "--seq=%d" % args.seq, "--vocab=1000", "--classes=1000",
            "--batch=%d" % args.batch]


# ---------------------------------------------------------------- children


def child_nnc(args):
    """Compiles the model with nnc-compile and times its training step."""
    import numpy as np
    from nnc_ctypes import CTYPES
    lib = ctypes.CDLL(args.lib)
    report = json.load(open(args.lib + ".json"))
    entry = [e for e in report["entry_points"] if e["role"] == args.role][0]
    rng = np.random.default_rng(0)
    ins = []
    for spec in entry["inputs"]:
        t = CTYPES[spec["type"]]
        if t in (np.int32, np.int64):
            hi = args.seq if spec["name"] == "positions" else 1000
            a = rng.integers(0, hi, size=spec["shape"]).astype(t)
        elif spec["name"] == "lr":
            a = np.array(1e-4, np.float32)
        elif spec["name"] == "step":
            a = np.array(1.0, np.float32)
        else:
            a = (rng.standard_normal(spec["shape"]) * 0.02).astype(t)
        ins.append(np.ascontiguousarray(a))
    outs = [np.zeros(o["shape"], CTYPES[o["type"]]) for o in entry["outputs"]]
    raw = np.zeros(entry["arena_bytes"] + 64, np.uint8)
    start = (-raw.ctypes.data) % 64
    ws = raw[start:start + entry["arena_bytes"]]
    ws[:] = 1  # touch the arena: it is the step's memory
    bufs = ins + outs + [ws]
    # ctypes passes at most 1024 arguments and the deep step takes more: a
    # generated C trampoline spreads an array of pointers over the call.
    src = os.path.join(os.path.dirname(args.lib), entry["name"] + "_call.c")
    with open(src, "w") as f:
        n = len(bufs)
        f.write("void %s(%s);\nvoid call_entry(void **p) { %s(%s); }\n" % (
            entry["name"], ", ".join(["void *"] * n), entry["name"],
            ", ".join("p[%d]" % i for i in range(n))))
    tramp = src[:-2] + ".so"
    subprocess.run(["cc", "-O1", "-shared", "-fPIC", "-o", tramp, src,
                    args.lib, "-Wl,-rpath," + os.path.dirname(args.lib)],
                   check=True)
    call = ctypes.CDLL(tramp).call_entry
    call.restype = None
    array = (ctypes.c_void_p * len(bufs))(*[a.ctypes.data for a in bufs])

    def fn():
        call(array)
    lib.nncrt_set_num_threads(args.threads)
    # The peak over every step, warm-up included, above what the process
    # held before the first (the arena, allocated and touched before, is
    # added: it is the step's memory).
    before = rss_mib()
    times = []
    for s in range(args.warmup + args.steps):
        t0 = time.perf_counter()
        fn()
        if s >= args.warmup:
            times.append(time.perf_counter() - t0)
    # The arena was allocated before the warm-up: count it in.
    grown = rss_mib() - before + entry["arena_bytes"] / 2**20
    print(json.dumps({"ms": 1e3 * statistics.median(times),
                      "mib": grown, "arena_mib": entry["arena_bytes"] / 2**20}))


def child_torch(args):
    import peer
    peer.ensure_best_peer()
    import torch
    import torch.nn.functional as F
    from torch.utils.checkpoint import checkpoint
    peer.set_peer_threads(args.torch_threads or args.threads,
                          args.blas_threads or args.threads)
    torch.manual_seed(0)
    if args.what == "attention":
        q, k, v = (torch.randn(1, 8, args.seq, 64, requires_grad=True)
                   for _ in range(3))
        mask = torch.triu(torch.full((args.seq, args.seq), float("-inf")), 1)

        def step():
            s = q @ k.transpose(-1, -2) / 8.0 + mask
            o = s.softmax(-1) @ v
            (o * o).mean().backward()
    else:
        sys.path.insert(0, HERE)
        from bench_grokking import Block
        d, layers, seq = 512, 12, args.seq
        tok = torch.nn.Embedding(1000, d)
        pos = torch.nn.Embedding(seq, d)
        blocks = torch.nn.ModuleList(Block(d, 8, 2048) for _ in range(layers))
        norm, head = torch.nn.LayerNorm(d), torch.nn.Linear(d, 1000)
        params = [p for m in (tok, pos, blocks, norm, head)
                  for p in m.parameters()]
        opt = torch.optim.AdamW(params, lr=1e-4, betas=(0.9, 0.98),
                                weight_decay=1.0)
        mask = torch.triu(torch.full((seq, seq), float("-inf")), 1)
        tokens = torch.randint(0, 1000, (args.batch, seq))
        labels = torch.randint(0, 1000, (args.batch,))

        def step():
            opt.zero_grad(set_to_none=True)
            x = tok(tokens) + pos(torch.arange(seq))
            for blk in blocks:
                if args.what == "checkpoint":
                    x = checkpoint(blk, x, mask, use_reentrant=False)
                else:
                    x = blk(x, mask)
            loss = F.cross_entropy(head(norm(x)[:, -1]), labels)
            loss.backward()
            opt.step()
    times = []
    before = rss_mib()
    for s in range(args.warmup + args.steps):
        t0 = time.perf_counter()
        step()
        if s >= args.warmup:
            times.append(time.perf_counter() - t0)
    print(json.dumps({"ms": 1e3 * statistics.median(times),
                      "mib": rss_mib() - before}))


# ------------------------------------------------------------------ parent


def run_child(argv):
    out = subprocess.run([sys.executable, __file__] + argv, check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def run_torch_best(argv, threads):
    """The fastest thread split of a PyTorch configuration."""
    runs = []
    for t, b in sorted({(threads, threads), (threads, 1), (1, threads)}):
        r = run_child(argv + ["--torch-threads=%d" % t,
                              "--blas-threads=%d" % b])
        r["split"] = (t, b)
        runs.append(r)
    return min(runs, key=lambda r: r["ms"])


def compile_nnc(args, mlir, tag, flags):
    lib = os.path.join(args.workdir, tag + ".so")
    out = subprocess.run(
        [os.path.join(args.build, "bin", "nnc-compile"), mlir, "-o", lib,
         "--report=json"] + flags, check=True, capture_output=True,
        text=True).stdout
    with open(lib + ".json", "w") as f:
        f.write(out)
    return lib, json.loads(out)


def attention_mlir(path, t):
    ty = "tensor<1x8x%dx64xf32>" % t
    with open(path, "w") as f:
        f.write("""func.func @attn(%%q: %(ty)s {nn.param, nn.name = "q"},
    %%k: %(ty)s {nn.param, nn.name = "k"}, %%v: %(ty)s {nn.param, nn.name = "v"},
    %%t: %(ty)s {nn.name = "target"}) -> tensor<f32> {
  %%o = nn.attention %%q, %%k, %%v {scale = 0.125 : f64, causal}
      : (%(ty)s, %(ty)s, %(ty)s) -> %(ty)s
  %%l = nn.mse_loss %%o, %%t : (%(ty)s, %(ty)s) -> tensor<f32>
  return %%l : tensor<f32>
}
""" % {"ty": ty})


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", default="build")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--seq", type=int, default=256)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--lengths", default="256,1024,4096")
    ap.add_argument("--workdir", default="/tmp/nnc-bench-transformer")
    ap.add_argument("--parts", default="model,attention")
    ap.add_argument("--child", choices=["nnc", "torch"])
    ap.add_argument("--what", default="model")
    ap.add_argument("--lib")
    ap.add_argument("--torch-threads", type=int, default=0)
    ap.add_argument("--blas-threads", type=int, default=0)
    ap.add_argument("--role", default="train_step")
    args = ap.parse_args()
    if args.child == "nnc":
        return child_nnc(args)
    if args.child == "torch":
        return child_torch(args)

    os.makedirs(args.workdir, exist_ok=True)
    common = ["--threads=%d" % args.threads, "--steps=%d" % args.steps,
              "--warmup=%d" % args.warmup, "--seq=%d" % args.seq,
              "--batch=%d" % args.batch]
    import peer
    print("peer:", peer.ensure_best_peer())

    if "model" in args.parts:
        deep_model(args, common)
    if "attention" in args.parts:
        attention_alone(args)


def deep_model(args, common):
    mlir = os.path.join(args.workdir, "deep.mlir")
    subprocess.run([os.path.join(args.build, "bin", "grokking"),
                    "--emit-mlir=" + mlir] + deep_config(args), check=True)
    adamw = ["--optimizer=adamw", "--weight-decay=1", "--beta2=0.98"]
    lib, rep = compile_nnc(args, mlir, "deep-store-all", adamw)
    peak = rep["checkpoint"]["store_all_peak_bytes"]
    rows = [("nnc store-all", run_child(common + ["--child=nnc", "--lib=" + lib]))]
    if peak:
        budget = peak // 2
        lib, rep = compile_nnc(args, mlir, "deep-dp", adamw + [
            "--strategy=dp", "--budget=%d" % budget])
        rows.append(("nnc dp, budget %.0f MiB" % (budget / 2**20),
                     run_child(common + ["--child=nnc", "--lib=" + lib])))
    rows.append(("PyTorch store-all", run_torch_best(
        common + ["--child=torch", "--what=model"], args.threads)))
    rows.append(("PyTorch checkpoint per block", run_torch_best(
        common + ["--child=torch", "--what=checkpoint"], args.threads)))
    print("\n12 layers, width 512, 8 heads, sequence %d, batch %d, AdamW, "
          "%d threads" % (args.seq, args.batch, args.threads))
    print("%-34s %10s %16s" % ("", "ms/step", "peak growth MiB"))
    for name, r in rows:
        extra = (" (arena %.0f MiB)" % r["arena_mib"]) if "arena_mib" in r \
            else " (threads %d, BLAS %d)" % r["split"]
        print("%-34s %10.1f %16.0f%s" % (name, r["ms"], r["mib"], extra))



def attention_alone(args):
    print("\nattention, batch 1, 8 heads, 64 features, causal: forward + "
          "backward")
    print("%6s %14s %14s %16s %16s" % ("T", "nnc ms", "PyTorch ms",
                                       "nnc MiB", "PyTorch MiB"))
    for t in [int(x) for x in args.lengths.split(",")]:
        path = os.path.join(args.workdir, "attn%d.mlir" % t)
        attention_mlir(path, t)
        lib, _ = compile_nnc(args, path, "attn%d" % t, ["--learning-rate=0"])
        opts = ["--threads=%d" % args.threads, "--steps=%d" % args.steps,
                "--warmup=%d" % args.warmup, "--seq=%d" % t]
        n = run_child(opts + ["--child=nnc", "--lib=" + lib, "--role=grad"])
        p = run_torch_best(opts + ["--child=torch", "--what=attention"],
                           args.threads)
        print("%6d %14.1f %14.1f %16.1f %16.1f" % (t, n["ms"], p["ms"],
                                                   n["mib"], p["mib"]))


if __name__ == "__main__":
    main()
