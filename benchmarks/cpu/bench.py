#!/usr/bin/env python3
"""nnc against PyTorch on the CPU, side by side in one run: one table.

    /usr/bin/python3 benchmarks/cpu/bench.py --build build [--quick]

Rows (each at 1 and 2 threads where it says so):
  * the 784-100-10 training step (batch 128, cross-entropy, SGD);
  * the deep MLP, 32 layers of 1024, batch 256, MSE, SGD (store-all);
  * the deep MLP under a dp plan at the memory of PyTorch's best
    checkpoint_sequential point, against it (1 thread, fresh processes:
    "extra MiB" is the resident growth over a step);
  * matmul alone at the deep MLP's shapes (x·Wᵀ, δ·W, δᵀ·x) and the small
    MLP's, nnc's engine against every BLAS on the machine;
  * the planner's predicted step time against the measured one for several
    plans, widths and batches.

nnc and PyTorch alternate inside one process in blocks of steps so machine
noise hits both; times are medians. PyTorch runs at its best: its BLAS is
printed and checked (benchmarks/common/peer.py), its intra-op threads and
its BLAS threads are set separately, and for 2 threads both (1 + 2) and
(2 + 2) are tried and the faster is quoted.
"""

import argparse
import ctypes
import json
import os
import statistics
import subprocess
import sys
import shutil
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "common"))
import peer  # noqa: E402

import numpy as np  # noqa: E402


class NNCStep:
    """A compiled training step loaded with ctypes, buffers ready."""

    def __init__(self, build, flags, tmp, name):
        lib = os.path.join(tmp, name + ".so")
        out = subprocess.run([os.path.join(build, "bin", "nnc-compile"), "-o",
                              lib, "--report=json"] + flags, check=True,
                             capture_output=True, text=True)
        self.lib_path, self.report_path = lib, lib + ".json"
        open(self.report_path, "w").write(out.stdout)
        self.load(lib, self.report_path)

    def load(self, lib, report_path):
        self.report = json.load(open(report_path))
        entry = [e for e in self.report["entry_points"]
                 if e["role"] == "train_step"][0]
        self.entry = entry
        self.lib = ctypes.CDLL(lib)
        self.fn = getattr(self.lib, entry["name"])
        self.fn.restype = None
        rng = np.random.default_rng(0)
        types = {"float": np.float32, "int32_t": np.int32}
        ins = []
        for b in entry["inputs"]:
            if b["type"] == "float":
                a = (rng.standard_normal(b["shape"]) * 0.05).astype(np.float32)
            else:
                a = rng.integers(0, 10, b["shape"]).astype(np.int32)
            ins.append(a)
        outs = [np.zeros(b["shape"], types[b["type"]]) for b in entry["outputs"]]
        # In-place training: updated parameters overwrite the inputs.
        params = [i for i, b in enumerate(entry["inputs"]) if b["name"][0] in "Wb"]
        for k, i in enumerate(params):
            outs[k + 1] = ins[i]
        self.ws = np.zeros(max(entry["workspace_bytes"]
                               if "workspace_bytes" in entry
                               else entry["arena_bytes"], 64) + 64, np.uint8)
        off = (-self.ws.ctypes.data) % 64
        self.keep = ins + outs
        self.ptrs = [a.ctypes.data_as(ctypes.c_void_p) for a in ins + outs]
        self.ptrs.append(ctypes.c_void_p(self.ws.ctypes.data + off))

    def threads(self, n):
        # gemm=generated code has no runtime and runs on one thread.
        if hasattr(self.lib, "nncrt_set_num_threads"):
            self.lib.nncrt_set_num_threads(n)

    def __call__(self):
        self.fn(*self.ptrs)


def torch_mlp(widths, batch, loss, lr, autocast=False):
    """The PyTorch step; with `autocast`, the forward under
    torch.autocast("cpu", dtype=torch.bfloat16) and the loss in f32."""
    import torch
    torch.manual_seed(0)
    layers = []
    for i in range(len(widths) - 1):
        layers.append(torch.nn.Linear(widths[i], widths[i + 1]))
        if i + 2 < len(widths):
            layers.append(torch.nn.ReLU())
    model = torch.nn.Sequential(*layers)
    x = torch.randn(batch, widths[0])
    if loss == "mse":
        t = torch.randn(batch, widths[-1])
        lossf = torch.nn.functional.mse_loss
    else:
        t = torch.randint(0, widths[-1], (batch,))
        lossf = torch.nn.functional.cross_entropy
    opt = torch.optim.SGD(model.parameters(), lr=lr)

    def step():
        opt.zero_grad(set_to_none=False)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
            out = model(x)
        lossf(out.float(), t).backward()
        opt.step()
    return step


def alternate(a, b, block, rounds, set_a, set_b):
    """Median seconds per call of a and b, timed in alternating blocks."""
    ta, tb = [], []
    set_a()
    a()
    set_b()
    b()
    for _ in range(rounds):
        for f, s, out in ((a, set_a, ta), (b, set_b, tb)):
            s()
            for _ in range(block):
                t = time.perf_counter()
                f()
                out.append(time.perf_counter() - t)
    return statistics.median(ta), statistics.median(tb)


def best_torch_threads(threads):
    # (torch intra-op threads, BLAS threads) PyTorch is tried at.
    return [(1, 1)] if threads == 1 else [(1, threads), (threads, threads)]


CASES = [
    ("784-100-10, b128, CE", [784, 100, 10], 128, "cross-entropy", 0.1),
    ("32x1024, b256, MSE", [1024] * 33, 256, "mse", 1e-3),
]


def child_step(args):
    """One system alone in a fresh process: --child nnc|torch prints the
    median seconds of --block steps after a warm-up step."""
    name, widths, batch, loss, lr = CASES[args.case]
    if args.child == "nnc":
        step = NNCStep.__new__(NNCStep)
        step.load(args.lib, args.report_path)
        step.threads(args.threads)
    else:
        peer.set_peer_threads(args.torch_threads, args.threads)
        step = torch_mlp(widths, batch, loss, lr)
    step()
    times = []
    for _ in range(args.block):
        t = time.perf_counter()
        step()
        times.append(time.perf_counter() - t)
    print(json.dumps({"time": statistics.median(times)}))


def run_child(argv):
    r = subprocess.run([sys.executable, os.path.abspath(__file__)] + argv,
                       check=True, capture_output=True, text=True)
    return json.loads(r.stdout.strip().splitlines()[-1])["time"]


def step_rows(args, tmp, out):
    cases = [CASES[0] + (50 if args.quick else 200, 10),
             CASES[1] + (2 if args.quick else 3, 3)]
    for name, widths, batch, loss, lr, block, rounds in cases:
        flags = ["--mlp", ",".join(map(str, widths)), "--batch", str(batch),
                 "--loss", loss, "--learning-rate", str(lr)]
        nnc = NNCStep(args.build, flags, tmp, "step%d" % len(out))
        gen = None
        if not args.quick:
            gen = NNCStep(args.build, flags + ["--gemm=generated"], tmp,
                          "gen%d" % len(out))
        torch_step = torch_mlp(widths, batch, loss, lr)
        for threads in (1, 2):
            best = None
            for tt, bt in best_torch_threads(threads):
                if threads == 1:
                    tn, tp = alternate(
                        nnc, torch_step, block, rounds,
                        lambda: nnc.threads(threads),
                        lambda tt=tt, bt=bt: peer.set_peer_threads(tt, bt))
                    spread = ""
                else:
                    # Two threads each: the systems alternate in fresh
                    # processes, since one's idle thread pools (OpenBLAS
                    # spins after a call) steal the other's second core.
                    # Across processes a 2-thread step varies by up to
                    # 1.7x here (both systems): five alternating runs,
                    # medians, and the range is printed.
                    case = ["--case", str(len(out) // 2), "--threads",
                            str(threads), "--block", str(max(block, 5))]
                    tns, tps = [], []
                    for _ in range(3 if args.quick else 5):
                        tns.append(run_child(["--child", "nnc", "--lib",
                                              nnc.lib_path, "--report-path",
                                              nnc.report_path] + case))
                        tps.append(run_child(["--child", "torch",
                                              "--torch-threads", str(tt)] +
                                             case))
                    tn, tp = statistics.median(tns), statistics.median(tps)
                    spread = "; runs nnc %.3f-%.3f, pytorch %.3f-%.3f ms" % (
                        1e3 * min(tns), 1e3 * max(tns), 1e3 * min(tps),
                        1e3 * max(tps))
                if best is None or tp < best[1]:
                    best = (tn, tp, "%d+%d" % (tt, bt), spread)
            row = {"work": name, "threads": threads, "nnc": best[0],
                   "peer": best[1], "peer_threads": best[2],
                   "spread": best[3]}
            if gen is not None:
                gen.threads(threads)
                tg, _ = alternate(gen, gen, 1, 2, lambda: None, lambda: None)
                row["generated"] = tg
            out.append(row)
            print("  %-24s %d thr: nnc %.3f ms, pytorch %.3f ms (%s)" %
                  (name, threads, 1e3 * best[0], 1e3 * best[1], best[2]),
                  file=sys.stderr)


def matmul_rows(args, out):
    import torch
    rt = ctypes.CDLL(os.path.join(args.build, "lib", "libnnc_runtime_cpu.so"))
    rt.nncrt_sgemm.restype = None
    rt.nncrt_sgemm.argtypes = [ctypes.c_int32, ctypes.c_int32, ctypes.c_int64,
                               ctypes.c_int64, ctypes.c_int64, ctypes.c_float,
                               ctypes.c_void_p, ctypes.c_int64, ctypes.c_void_p,
                               ctypes.c_int64, ctypes.c_float, ctypes.c_void_p,
                               ctypes.c_int64]
    dnnl = ctypes.CDLL("libdnnl.so.2")
    dnnl.dnnl_sgemm.restype = ctypes.c_int
    dnnl.dnnl_sgemm.argtypes = [ctypes.c_char, ctypes.c_char, ctypes.c_int64,
                                ctypes.c_int64, ctypes.c_int64, ctypes.c_float,
                                ctypes.c_void_p, ctypes.c_int64,
                                ctypes.c_void_p, ctypes.c_int64,
                                ctypes.c_float, ctypes.c_void_p,
                                ctypes.c_int64]
    blis = None
    for path in ("libblis.so.4", "libblis.so"):
        try:
            blis = ctypes.CDLL(path)
            break
        except OSError:
            pass
    shapes = [("x·Wᵀ 256x1024x1024", 256, 1024, 1024, 0, 1),
              ("δ·W 256x1024x1024", 256, 1024, 1024, 0, 0),
              ("δᵀ·x 1024x1024x256", 1024, 1024, 256, 1, 0),
              ("x·Wᵀ 128x100x784", 128, 100, 784, 0, 1),
              ("δᵀ·x 100x784x128", 100, 784, 128, 1, 0)]
    rng = np.random.default_rng(1)
    for name, M, N, K, ta, tb in shapes:
        A = rng.standard_normal((K, M) if ta else (M, K)).astype(np.float32)
        B = rng.standard_normal((N, K) if tb else (K, N)).astype(np.float32)
        C = np.zeros((M, N), np.float32)
        lda, ldb = A.shape[1], B.shape[1]
        tA, tB = torch.from_numpy(A), torch.from_numpy(B)
        tC = torch.from_numpy(C.copy())
        opA = tA.t() if ta else tA
        opB = tB.t() if tb else tB
        reps = max(5, int(2e9 / (2 * M * N * K)))

        def nnc_mm():
            rt.nncrt_sgemm(ta, tb, M, N, K, 1.0, A.ctypes.data, lda,
                           B.ctypes.data, ldb, 0.0, C.ctypes.data, N)

        def torch_mm():
            torch.mm(opA, opB, out=tC)

        def dnnl_mm():
            dnnl.dnnl_sgemm(b"T" if ta else b"N", b"T" if tb else b"N", M, N,
                            K, 1.0, A.ctypes.data, lda, B.ctypes.data, ldb,
                            0.0, C.ctypes.data, N)

        # nnc's runtime picks oneDNN's matmul primitive or its sgemm per
        # call; the sgemm entry point alone is the other engine nnc has.
        engines = [("nnc", nnc_mm), ("oneDNN sgemm", dnnl_mm),
                   ("OpenBLAS (torch)", torch_mm)]
        if blis is not None:
            def blis_mm():
                # cblas_sgemm(RowMajor=101, NoTrans=111 / Trans=112, ...)
                blis.cblas_sgemm(101, 112 if ta else 111, 112 if tb else 111,
                                 M, N, K, ctypes.c_float(1.0),
                                 ctypes.c_void_p(A.ctypes.data), lda,
                                 ctypes.c_void_p(B.ctypes.data), ldb,
                                 ctypes.c_float(0.0),
                                 ctypes.c_void_p(C.ctypes.data), N)
            engines.append(("BLIS", blis_mm))
        for threads in (1, 2):
            peer.set_peer_threads(1, threads)
            if blis is not None and hasattr(blis, "bli_thread_set_num_threads"):
                blis.bli_thread_set_num_threads(ctypes.c_int64(threads))
            gflops = {}
            for label, f in engines:
                # oneDNN's threads are OpenMP's, which PyTorch's
                # set_num_threads also sets: set them last, per engine.
                if label == "nnc" or label.startswith("oneDNN"):
                    rt.nncrt_set_num_threads(threads)
                else:
                    peer.set_peer_threads(1, threads)
                f()
                ts = []
                for _ in range(3):
                    t = time.perf_counter()
                    for _ in range(reps):
                        f()
                    ts.append((time.perf_counter() - t) / reps)
                gflops[label] = 2 * M * N * K / min(ts) / 1e9
            best_other = max(v for k, v in gflops.items() if k != "nnc")
            out.append({"work": "matmul " + name, "threads": threads,
                        "gflops": gflops, "nnc_over_best":
                        gflops["nnc"] / max(best_other,
                                                     gflops["nnc"]),
                        "nnc_over_peer": gflops["nnc"] / best_other})
            print("  %-24s %d thr: %s" % (name, threads, ", ".join(
                "%s %.1f" % kv for kv in gflops.items())), file=sys.stderr)


def deep_mlp_child(argv):
    script = os.path.join(HERE, "..", "deep-mlp", "bench.py")
    r = subprocess.run([sys.executable, script] + argv, check=True,
                       capture_output=True, text=True)
    return json.loads(r.stdout.strip().splitlines()[-1])


def median_child(argv, quick):
    """deep_mlp_child's time and memory, medians over three fresh processes
    (one when quick): see measured_step."""
    runs = [deep_mlp_child(argv) for _ in range(1 if quick else 3)]
    return {k: statistics.median(r[k] for r in runs) for k in runs[0]}


def measured_steps(plans, quick):
    """The step times predictions are held to: for each (name, lib, report,
    predicted) plan, the median over three fresh processes of each one's
    median step, with steps enough for about half a second. The processes
    go round-robin over the plans: on these VMs a burst of machine noise
    lasts seconds and shifts a process's median by 10-40 %, as much as the
    error being measured, so one plan's three runs are spread out."""
    times = {p[1]: [] for p in plans}
    for _ in range(1 if quick else 3):
        for _, lib, report, predicted in plans:
            steps = 3 if quick else max(5, min(50, int(0.5 / predicted)))
            times[lib].append(deep_mlp_child(
                ["--mode", "nnc", "--lib", lib, "--report", report,
                 "--steps", str(steps)])["time"])
    return [statistics.median(times[p[1]]) for p in plans]


def median_calibration(cals):
    """Each number of several calibration reports (lists element by
    element) as the median over them."""
    out = dict(cals[0])
    for k, v in cals[0].items():
        if isinstance(v, list):
            out[k] = [statistics.median(c[k][i] for c in cals)
                      for i in range(len(v))]
        elif isinstance(v, (int, float)):
            out[k] = statistics.median(c[k] for c in cals)
    return out


def calibrated(cal):
    """The flags that plan with a --cost-model=measured report's
    calibration: each stage's first forward and recomputation, each
    stage's backward cold and hot, the rate of the backward's rest (and
    the forward's mean rate, which they replace)."""
    def seconds(xs):
        return ",".join("%r" % x for x in xs)
    flags = ["--forward-flop-seconds=%r" % cal["forward_flop_seconds"],
             "--backward-flop-seconds=%r" % cal["backward_flop_seconds"],
             "--stage-forward-seconds=" +
             seconds(cal["stage_forward_seconds"]),
             "--stage-recompute-seconds=" +
             seconds(cal["stage_recompute_seconds"])]
    if cal.get("stage_cold_backward_seconds"):
        flags += ["--stage-cold-backward-seconds=" +
                  seconds(cal["stage_cold_backward_seconds"]),
                  "--stage-hot-backward-seconds=" +
                  seconds(cal["stage_hot_backward_seconds"])]
    return flags


def prediction_rows(args, tmp, name, model, extra_plans, predictions):
    """Calibrates `model` (nnc-compile flags) once, plans it store-all,
    sqrt, dp at two budgets and `extra_plans`, and adds each plan's
    predicted and measured step to `predictions`."""
    comp = os.path.join(args.build, "bin", "nnc-compile")
    lib = os.path.join(tmp, "cal%d.so" % len(predictions))
    # Three calibrations in three processes, each number their median: one
    # process's calibration moved a whole network's predictions by up to
    # 10 % from the next one's on these VMs.
    cals = []
    for _ in range(1 if args.quick else 3):
        r = subprocess.run([comp, "-o", lib, "--report=json",
                            "--cost-model=measured", "--num-threads=1"] +
                           model, check=True, capture_output=True, text=True)
        rep = json.loads(r.stdout)
        cals.append(rep["calibration"])
    rt = calibrated(median_calibration(cals))
    lo = rep["checkpoint"]["min_budget_bytes"]
    hi = rep["checkpoint"]["store_all_peak_bytes"]
    plans = []
    for plan in [["--strategy=store-all"], ["--strategy=sqrt"],
                 ["--strategy=dp", "--budget=%d" % ((lo + hi) // 2)],
                 ["--strategy=dp", "--budget=%d" % int(lo * 1.2)]] + \
            extra_plans:
        lib2 = lib + "%d.so" % len(plans)
        r2 = subprocess.run([comp, "-o", lib2, "--report=json"] + model + rt +
                            plan, capture_output=True, text=True)
        if r2.returncode:
            # A budget the plan meets but the arena does not (the error
            # says by how much): a finding to print, not a crash.
            print("  %s %s: not compiled: %s" % (
                name, " ".join(plan), r2.stderr.strip().splitlines()[-1]),
                file=sys.stderr)
            continue
        rep2 = json.loads(r2.stdout)
        rpath = lib2 + ".json"
        json.dump(rep2, open(rpath, "w"))
        plans.append((" ".join(plan), lib2, rpath,
                      rep2["checkpoint"]["predicted_step_seconds"]))
    for plan, t in zip(plans, measured_steps(plans, args.quick)):
        predictions.append(("%s %s" % (name, plan[0]), plan[3], t, name,
                            plan[0] == "--strategy=store-all"))
        print("  %s %s: predicted %.4f s, measured %.4f s" % (
            name, plan[0], plan[3], t), file=sys.stderr)


def cnn_prediction_rows(args, tmp, predictions):
    """The cost model on convolutional networks: the Fashion-MNIST CNN of
    examples/fashion-cnn and a ResNet-8 of examples/resnet-landscape (three
    stages of one basic block, batch norms, skips), exported here."""
    root = os.path.join(HERE, "..", "..")
    resnet = os.path.join(tmp, "resnet8.onnx")
    subprocess.run([sys.executable, os.path.join(
        root, "examples", "resnet-landscape", "export.py"), resnet,
        "--blocks", "1", "--batch", "64"], check=True, capture_output=True)
    for name, onnx in (("fashion CNN b128", os.path.join(
                           root, "examples", "fashion-cnn", "cnn.onnx")),
                       ("ResNet-8 b64", resnet)):
        prediction_rows(args, tmp, name, [onnx],
                        [["--strategy=recompute-all"]], predictions)


def checkpoint_rows(args, tmp, out):
    L, W, B = (16, 512, 128) if args.quick else (32, 1024, 256)
    steps = "3" if args.quick else "5"
    shape = ["--layers", str(L), "--width", str(W), "--batch", str(B),
             "--steps", steps]
    spec = ["--mlp", ",".join([str(W)] * (L + 1)), "--activation", "relu",
            "--loss", "mse", "--batch", str(B), "--learning-rate", "0.001"]
    torch_rows = {}
    for seg in (0, 2, 4, 8):
        torch_rows[seg] = median_child(["--mode", "torch", "--segments",
                                        str(seg)] + shape, args.quick)
    ckpts = {s: r for s, r in torch_rows.items() if s}
    seg = min(ckpts, key=lambda s: ckpts[s]["extra"])
    t_best = ckpts[seg]
    comp = os.path.join(args.build, "bin", "nnc-compile")

    def nnc(name, flags):
        lib = os.path.join(tmp, "ck%s.so" % name)
        r = subprocess.run([comp, "-o", lib, "--report=json"] + spec + flags,
                           check=True, capture_output=True, text=True)
        report = json.loads(r.stdout)
        rpath = lib + ".json"
        json.dump(report, open(rpath, "w"))
        m = median_child(["--mode", "nnc", "--lib", lib, "--report",
                          rpath] + shape, args.quick)
        m["report"] = report
        return m
    base = nnc("storeall", ["--strategy=store-all", "--cost-model=measured",
                            "--num-threads=1"])
    cal = base["report"]["calibration"]
    rates = calibrated(cal)
    lo = base["report"]["checkpoint"]["min_budget_bytes"]
    # Two budgets: PyTorch's memory itself (absolute), and the same share of
    # nnc's own store-all memory as checkpoint_sequential keeps of PyTorch's
    # vanilla (nnc's store-all may already fit the first).
    share = t_best["extra"] / max(torch_rows[0]["extra"], 1)
    budgets = [("at pytorch's memory", max(t_best["extra"], lo)),
               ("at the same share (%.0f%%)" % (100 * share),
                max(int(base["extra"] * share), lo))]
    for label, budget in budgets:
        dp = nnc("dp%d" % budget, ["--strategy=dp", "--budget=%d" % budget] +
                 rates)
        out.append({"work": "%dx%d b%d dp %s vs ckpt_seq(%d)" % (
                        L, W, B, label, seg),
                    "threads": 1,
                    "nnc_overhead": dp["time"] / base["time"] - 1,
                    "peer_overhead": t_best["time"] / torch_rows[0]["time"] - 1,
                    "nnc_extra": dp["extra"], "peer_extra": t_best["extra"],
                    "nnc_vanilla_extra": base["extra"],
                    "peer_vanilla_extra": torch_rows[0]["extra"],
                    "nnc_recomputed": dp["report"]["checkpoint"].get(
                        "recomputed_forward_flops", 0),
                    "nnc": dp["time"], "peer": t_best["time"],
                    "min_budget": lo})
        print("  dp %s (%.1f MiB): nnc %+.1f%% vs ckpt_seq(%d) %+.1f%%" % (
            label, budget / 2**20, 100 * out[-1]["nnc_overhead"], seg,
            100 * out[-1]["peer_overhead"]), file=sys.stderr)


def mlp_prediction_rows(args, tmp, predictions):
    """The cost model on deep MLPs: three widths and batches."""
    configs = [(16, 512, 128)] if args.quick else [(32, 1024, 256), (32, 512, 128),
                                              (16, 1024, 64)]
    for (l, w, b) in configs:
        prediction_rows(args, tmp, "%dx%d b%d" % (l, w, b), [
            "--mlp", ",".join([str(w)] * (l + 1)), "--activation", "relu",
            "--loss", "mse", "--batch", str(b), "--learning-rate", "0.001"],
            [], predictions)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--quick", action="store_true",
                    help="smaller workloads and fewer steps (a smoke run)")
    ap.add_argument("--json", help="also write the rows here")
    ap.add_argument("--only", choices=["steps", "checkpoints", "cost-model"],
                    help="one part of the table: the training steps, "
                         "checkpointing against PyTorch, or the cost "
                         "model's predicted and measured steps")
    ap.add_argument("--networks", choices=["all", "mlp", "cnn"],
                    default="all",
                    help="which networks the cost-model part runs (each "
                         "part takes a few minutes)")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--case", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--lib", help=argparse.SUPPRESS)
    ap.add_argument("--report-path", help=argparse.SUPPRESS)
    ap.add_argument("--threads", type=int, default=1, help=argparse.SUPPRESS)
    ap.add_argument("--torch-threads", type=int, default=1,
                    help=argparse.SUPPRESS)
    ap.add_argument("--block", type=int, default=10, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        return child_step(args)
    blas = peer.ensure_best_peer()
    import torch
    print("machine: %s" % open("/proc/cpuinfo").read().split(
        "model name")[1].split("\n")[0].strip(": \t"))
    print("peer: PyTorch %s, BLAS %s" % (torch.__version__, blas))
    tmp = tempfile.mkdtemp(prefix="nnc-cpu-bench-")
    rows, predictions = [], []
    if args.only in (None, "steps"):
        step_rows(args, tmp, rows)
    if args.only in (None, "checkpoints"):
        checkpoint_rows(args, tmp, rows)
    if args.only in (None, "cost-model"):
        if args.networks in ("all", "mlp"):
            mlp_prediction_rows(args, tmp, predictions)
        if args.networks in ("all", "cnn"):
            cnn_prediction_rows(args, tmp, predictions)
    if args.only is None:
        matmul_rows(args, rows)

    print()
    print("%-42s %3s %11s %11s %8s  %s" % ("work", "thr", "nnc", "pytorch",
                                           "speedup", "notes"))
    for r in rows:
        if "gflops" in r:
            g = r["gflops"]
            others = {k: v for k, v in g.items() if k != "nnc"}
            best = max(others, key=others.get)
            print("%-42s %3d %7.1f GF/s %7.1f GF/s %7.2fx  best other: %s; "
                  "nnc at %.0f%% of the best" % (
                      r["work"], r["threads"], g["nnc"],
                      g.get("OpenBLAS (torch)", 0),
                      g["nnc"] / g.get("OpenBLAS (torch)", 1), best,
                      100 * r["nnc_over_best"]))
        elif "nnc_overhead" in r:
            print("%-42s %3d %9.1f %% %9.1f %% %8s  time over own vanilla; "
                  "memory nnc %.1f of %.1f MiB, pytorch %.1f of %.1f MiB; "
                  "nnc min budget %.1f MiB" % (
                      r["work"], r["threads"], 100 * r["nnc_overhead"],
                      100 * r["peer_overhead"], "", r["nnc_extra"] / 2**20,
                      r["nnc_vanilla_extra"] / 2**20, r["peer_extra"] / 2**20,
                      r["peer_vanilla_extra"] / 2**20, r["min_budget"] / 2**20))
        else:
            note = "pytorch threads %s%s" % (r["peer_threads"],
                                             r.get("spread", ""))
            if "generated" in r:
                note += "; nnc gemm=generated %.3f ms" % (1e3 * r["generated"])
            print("%-42s %3d %8.3f ms %8.3f ms %7.2fx  %s" % (
                r["work"], r["threads"], 1e3 * r["nnc"], 1e3 * r["peer"],
                r["peer"] / r["nnc"], note))
    print()
    # rel. error: the plan's predicted cost relative to its network's
    # store-all plan against the same measured ratio. The network's
    # calibration runs minutes before its timed processes, and on these
    # VMs a whole network's rows drift together between runs by up to
    # 12 %: this column is the plans' relative costs with the drift out.
    print("%-52s %12s %12s %8s %10s" % ("plan (cost model: measured)",
                                        "predicted s", "measured s", "error",
                                        "rel. error"))
    base = {}
    for name, pred, meas, network, store_all in predictions:
        if store_all:
            base[network] = (pred, meas)
        rel = ""
        if network in base:
            bp, bm = base[network]
            rel = "%9.1f%%" % (100 * ((pred / bp) / (meas / bm) - 1))
        print("%-52s %12.4f %12.4f %7.1f%% %s" % (name, pred, meas,
                                                 100 * (pred / meas - 1), rel))
    if args.json:
        json.dump({"rows": rows, "predictions": predictions},
                  open(args.json, "w"), indent=1)
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
