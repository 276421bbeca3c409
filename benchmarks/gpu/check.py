#!/usr/bin/env python3
"""The GPU target on a machine with a GPU but without LLVM: correctness
against the CPU path, then nnc against PyTorch (CUDA) side by side.

    # here (LLVM, nnc built): compile everything, compute the CPU's answers
    /usr/bin/python3 benchmarks/gpu/check.py --prepare gpu-artifacts
    # on the GPU machine (scripts/gpu-check.sh does this)
    python3 -u benchmarks/gpu/check.py --run gpu-artifacts
    # the runtime's paths in under a minute, for sanitizers
    python3 -u benchmarks/gpu/check.py --smoke gpu-artifacts

--prepare writes, per model, the GPU host library (.so with the PTX inside,
plus .ptx/.cubin beside it), its report, and for the small correctness
models the inputs and the CPU path's outputs (.npz). --run checks every GPU
entry point against those outputs (1e-5 relative per tensor), that a step
allocates no device memory beyond the planned arena (cuMemGetInfo, measured
after a warm-up call has loaded the module and instantiated the graph, then
unchanged by further steps), that replays are CUDA graphs and
bit-identical, and prints that verdict before any benchmark (a timeout
during the benchmarks still leaves it); then one table, with the
torch.compile rows last (compiling may be slow, or fail):

  * deep MLP, 32 layers of 1024, MSE, SGD, at batch 256 and 4096: nnc's
    step against PyTorch eager and torch.compile (when it works there),
    with achieved TFLOP/s;
  * the layer's matmul alone (x·Wᵀ + b) at those shapes: nnc's kernel
    against cuBLAS through PyTorch;
  * the deep MLP under a dp plan at half of store-all's activation memory:
    step time and device memory against PyTorch's checkpoint_sequential;
  * the Fashion-MNIST CNN's training step (examples/fashion-cnn, batch
    128): nnc's implicit-GEMM convolutions and pooling kernels against
    PyTorch eager (cuDNN, TF32 off).

Mixed precision (MIXED): bf16 gradient functions on tensor cores against
the CPU's bf16 step (loss within 1e-2, each gradient's cosine at least
0.999), fp16 against f32 (0.99), each under two plans that must agree bit
for bit, and an fp16 Adam step with dynamic loss scaling that must skip at
scale 2^127 (everything returned unchanged, the scale halved) and step at
2^10.

The correctness models include convolutional networks (CNNS): the
Fashion-MNIST CNN (store-all and dp), and test/Codegen/GPU/Inputs'
convnet (strides, dilation, groups, depthwise, pooling kinds, batch norm)
and ResNet blocks, each's gradient function against the CPU path.

PyTorch runs in FP32 (TF32 off: torch.backends.cuda.matmul.allow_tf32 =
False); warm-up steps are excluded; times are medians of CUDA-event-timed
steps.

--smoke runs the runtime's paths once each on the first small model, in
under a minute, printing nnc_cuda_error() after each: graphs off, then on;
two buffer sets alternating (a graph each); a call from a second thread.
"""

import argparse
import ctypes
import json
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "test", "Oracle", "Inputs"))

import numpy as np  # noqa: E402

SMALL = [
    # name, widths, activation, loss, batch, dropout, plan
    ("mlp784", [784, 100, 10], "relu", "cross-entropy", 128, 0.0, "store-all"),
    ("mlp784dp", [784, 100, 10], "relu", "cross-entropy", 128, 0.0, "dp"),
    ("tanh-drop", [64, 128, 128, 128, 10], "tanh", "cross-entropy", 64, 0.25,
     "store-all"),
    ("tanh-dropdp", [64, 128, 128, 128, 10], "tanh", "cross-entropy", 64,
     0.25, "dp"),
    ("mse256", [256] * 5, "relu", "mse", 128, 0.0, "dp"),
]
ROOT = os.path.join(HERE, "..", "..")
CNNS = [
    # name, model, plan
    ("cnn-fashion", os.path.join(ROOT, "examples", "fashion-cnn", "cnn.onnx"),
     "store-all"),
    ("cnn-fashiondp", os.path.join(ROOT, "examples", "fashion-cnn",
                                   "cnn.onnx"), "dp"),
    ("convnet", os.path.join(ROOT, "test", "Codegen", "GPU", "Inputs",
                             "convnet.mlir"), "store-all"),
    ("resnet-block", os.path.join(ROOT, "test", "Codegen", "GPU", "Inputs",
                                  "resnet-block.mlir"), "dp"),
]
CNN_TRAIN = "cnn-fashion-train.so"
DEEP_LAYERS, DEEP_WIDTH = 32, 1024
BATCHES = (256, 4096)


def compile_model(nnc_compile, out, flags):
    r = subprocess.run([nnc_compile, "-o", out, "--report=json"] + flags,
                       check=True, capture_output=True, text=True)
    report = json.loads(r.stdout)
    json.dump(report, open(out + ".json", "w"), indent=1)
    return report


def prepare(args):
    from nnc_ctypes import Compiled, random_batch, random_params
    os.makedirs(args.dir, exist_ok=True)
    comp = os.path.join(args.build, "bin", "nnc-compile")
    manifest = {"small": [], "deep": []}
    for n, (name, widths, act, loss, batch, dropout, plan) in enumerate(SMALL):
        spec = ["--mlp", ",".join(map(str, widths)), "--activation", act,
                "--loss", loss, "--batch", str(batch), "--dropout",
                str(dropout), "--learning-rate", "0"]
        cpu = Compiled(comp, os.path.join(args.dir, "cpu"), name, spec)
        flags = spec
        if plan == "dp":
            ck = cpu.report["checkpoint"]
            flags = spec + ["--strategy=dp", "--budget=%d" % (
                (ck["min_budget_bytes"] + ck["store_all_peak_bytes"]) // 2)]
            # Its own file: dlopen of the same path would return the
            # store-all library, called with the dp plan's smaller arena.
            cpu = Compiled(comp, os.path.join(args.dir, "cpu"), name + "-plan",
                           flags)
        rng = np.random.default_rng(n)
        params = random_params(rng, widths)
        x, target = random_batch(rng, widths, batch, loss)
        inputs = [x, target] + params
        expect = cpu.call("grad", inputs)
        compile_model(comp, os.path.join(args.dir, name + ".so"),
                      flags + ["--target=nvptx", "--chip=" + args.chip])
        np.savez(os.path.join(args.dir, name + ".npz"),
                 **{"in%d" % i: a for i, a in enumerate(inputs)},
                 **{"out%d" % i: a for i, a in enumerate(expect)})
        manifest["small"].append(name)
    for n, (name, model, plan) in enumerate(CNNS):
        spec = [model, "--learning-rate", "0"]
        cpu = Compiled(comp, os.path.join(args.dir, "cpu"), name, spec)
        flags = spec
        if plan == "dp":
            ck = cpu.report["checkpoint"]
            flags = spec + ["--strategy=dp", "--budget=%d" % (
                (ck["min_budget_bytes"] + ck["store_all_peak_bytes"]) // 2)]
        rng = np.random.default_rng(100 + n)
        inputs = cnn_inputs(rng, cpu.entries["grad"]["inputs"])
        expect = cpu.call("grad", inputs)
        compile_model(comp, os.path.join(args.dir, name + ".so"),
                      flags + ["--target=nvptx", "--chip=" + args.chip])
        np.savez(os.path.join(args.dir, name + ".npz"),
                 **{"in%d" % i: a for i, a in enumerate(inputs)},
                 **{"out%d" % i: a for i, a in enumerate(expect)})
        manifest["small"].append(name)
    # The CNN's training step, for the throughput row.
    compile_model(comp, os.path.join(args.dir, CNN_TRAIN),
                  [CNNS[0][1], "--learning-rate", "0.01", "--target=nvptx",
                   "--chip=" + args.chip])
    manifest["cnn_train"] = CNN_TRAIN
    for batch in BATCHES:
        spec = ["--mlp", ",".join([str(DEEP_WIDTH)] * (DEEP_LAYERS + 1)),
                "--activation", "relu", "--loss", "mse", "--batch", str(batch),
                "--learning-rate", "0.001", "--target=nvptx",
                "--chip=" + args.chip]
        base = compile_model(comp, os.path.join(args.dir, "deep%d.so" % batch),
                             spec)
        ck = base["checkpoint"]
        # Half of store-all's activation memory (the chain's values).
        half = ck["store_all_peak_bytes"] // 2
        entry = {"batch": batch, "store_all": "deep%d.so" % batch}
        if half >= ck["min_budget_bytes"]:
            compile_model(comp, os.path.join(args.dir, "deep%d_dp.so" % batch),
                          spec + ["--strategy=dp", "--budget=%d" % half])
            entry["dp"] = "deep%d_dp.so" % batch
        # The layer's matmul alone: the predict function of one layer.
        compile_model(comp, os.path.join(args.dir, "linear%d.so" % batch),
                      ["--mlp", "%d,%d" % (DEEP_WIDTH, DEEP_WIDTH), "--loss",
                       "mse", "--batch", str(batch), "--learning-rate", "0",
                       "--target=nvptx", "--chip=" + args.chip])
        entry["linear"] = "linear%d.so" % batch
        manifest["deep"].append(entry)
    manifest["mixed"] = prepare_mixed(args, comp)
    json.dump(manifest, open(os.path.join(args.dir, "manifest.json"), "w"),
              indent=1)
    total = sum(os.path.getsize(os.path.join(args.dir, f))
                for f in os.listdir(args.dir)
                if os.path.isfile(os.path.join(args.dir, f)))
    print("prepared %s: %.1f MiB" % (args.dir, total / 2**20))


def cnn_inputs(rng, specs):
    """Labels (< 10) for integer inputs; biases, batch-norm parameters and
    running statistics in [0.5, 1.5]; data and weights N(0, 1/fan-in): the
    oracles' draw (test/Oracle/Inputs/nnc_ctypes.py)."""
    from nnc_ctypes import make_inputs
    return make_inputs(rng, specs)


def rel(a, b):
    return float(np.linalg.norm((a - b).ravel()) /
                 max(np.linalg.norm(b.ravel()), 1e-30))


def median_ms(fn, gpu, steps, warmup=3):
    for _ in range(warmup):
        fn()
    gpu.synchronize()
    times = []
    for _ in range(steps):
        t = time.perf_counter()
        fn()
        gpu.synchronize()
        times.append(1e3 * (time.perf_counter() - t))
    return statistics.median(times)


def check_small(d, name):
    """One small model against the CPU's answers; True if it matches."""
    from nnc_cuda import GPUEntry, GPULibrary
    rep = json.load(open(os.path.join(d, name + ".so.json")))
    gpu = GPULibrary(os.path.join(d, name + ".so"))
    inputs, expect = load_npz(d, name)
    step = GPUEntry(gpu, rep, "grad", inputs)
    # The first call loads the module and instantiates the graph (device
    # memory the driver keeps); only later steps must allocate nothing.
    step()
    got = step.outputs()
    free = gpu.mem_free()
    step()
    again = step.outputs()
    step()
    gpu.synchronize()
    allocated = free - gpu.mem_free()
    errs = [rel(g, e) for g, e in zip(got, expect)]
    ok = (max(errs) <= 1e-5 and allocated == 0 and
          all(np.array_equal(a, b) for a, b in zip(got, again)))
    print("%-12s arena %9d B  worst rel err %.2e  allocated %d B  graphs %d"
          "  %s" % (name, step.arena_bytes, max(errs), allocated,
                    gpu.lib.nnc_cuda_graph_launch_count(),
                    "ok" if ok else "MISMATCH"))
    return ok


def load_npz(d, name):
    data = np.load(os.path.join(d, name + ".npz"))
    count = lambda p: len([k for k in data.files if k.startswith(p)])
    return ([data["in%d" % i] for i in range(count("in"))],
            [data["out%d" % i] for i in range(count("out"))])


def smoke(args):
    """Each of the runtime's paths once, printing the error after each."""
    import threading
    from nnc_cuda import GPUEntry, GPULibrary
    d = args.dir
    name = json.load(open(os.path.join(d, "manifest.json")))["small"][0]
    rep = json.load(open(os.path.join(d, name + ".so.json")))
    gpu = GPULibrary(os.path.join(d, name + ".so"))
    ok, why = gpu.available()
    print("device: %s" % why)
    if not ok:
        return 0
    inputs, expect = load_npz(d, name)
    failures = 0

    def report(what, entry):
        nonlocal failures
        got = entry.outputs()
        err = gpu.lib.nnc_cuda_error()
        worst = max(rel(g, e) for g, e in zip(got, expect))
        bad = err is not None or worst > 1e-5
        failures += bad
        print("%-32s error %-8s worst rel err %.2e  launches %d graphs %d  %s"
              % (what, err.decode() if err else "none", worst,
                 gpu.lib.nnc_cuda_launch_count(),
                 gpu.lib.nnc_cuda_graph_launch_count(),
                 "MISMATCH" if bad else "ok"))

    one = GPUEntry(gpu, rep, "grad", inputs)
    two = GPUEntry(gpu, rep, "grad", inputs)
    gpu.lib.nnc_cuda_use_graphs(0)
    one()
    report("graphs off", one)
    gpu.lib.nnc_cuda_use_graphs(1)
    one()
    report("graphs on: captured", one)
    one()
    report("graphs on: replayed", one)
    for i in range(4):
        entry = (one, two)[i % 2]
        entry()
        report("buffer set %d (alternating)" % (i % 2 + 1), entry)
    thread = threading.Thread(target=two)
    thread.start()
    thread.join()
    report("from a second thread", two)
    print("smoke: %s" % ("ok" if failures == 0 else "%d FAILED" % failures))
    return 1 if failures else 0


def run(args):
    from nnc_cuda import GPUEntry, GPULibrary
    d = args.dir
    manifest = json.load(open(os.path.join(d, "manifest.json")))
    failures = 0
    gpu = GPULibrary(os.path.join(d, manifest["small"][0] + ".so"))
    ok, why = gpu.available()
    if not ok:
        print("SKIP: no GPU: " + why)
        return 0
    print("== GPU execution against the CPU path (1e-5 relative)")
    for name in manifest["small"]:
        failures += not check_small(d, name)
    failures += check_mixed(d, manifest.get("mixed", []))
    print("correctness: %s" % ("all %d ok" % len(manifest["small"])
                               if failures == 0 else "%d MISMATCH" % failures))

    import torch
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    dev = torch.device("cuda")
    print("\n== nnc vs PyTorch on %s (FP32, TF32 off)" %
          torch.cuda.get_device_name(0))
    print("%-34s %10s %10s %10s %8s %8s" % ("work", "nnc ms", "eager ms",
                                             "compile ms", "nnc TF/s",
                                             "vs eager"))
    W, L = DEEP_WIDTH, DEEP_LAYERS
    later = []  # torch.compile, last: it may be slow or fail
    for entry in manifest["deep"]:
        B = entry["batch"]
        flops = 3 * 2 * B * W * W * L  # forward + two backward matmuls
        rep = json.load(open(os.path.join(d, entry["store_all"] + ".json")))
        lib = GPULibrary(os.path.join(d, entry["store_all"]))
        rng = np.random.default_rng(0)
        tr = [e for e in rep["entry_points"] if e["role"] == "train_step"][0]
        inputs = [(rng.standard_normal(b["shape"]) * 0.02).astype(np.float32)
                  for b in tr["inputs"]]
        step = GPUEntry(lib, rep, "train_step", inputs)
        nnc_ms = median_ms(step, lib, args.steps)

        layers = []
        for i in range(L):
            layers.append(torch.nn.Linear(W, W))
            if i + 1 < L:
                layers.append(torch.nn.ReLU())
        model = torch.nn.Sequential(*layers).to(dev)
        x = torch.randn(B, W, device=dev)
        t = torch.randn(B, W, device=dev)
        opt = torch.optim.SGD(model.parameters(), lr=1e-3)

        # Bound now: torch.compile's rows run after the loop.
        def torch_step(m=model, opt=opt, x=x, t=t):
            opt.zero_grad(set_to_none=False)
            torch.nn.functional.mse_loss(m(x), t).backward()
            opt.step()

        class Sync:
            def synchronize(self):
                torch.cuda.synchronize()
        eager_ms = median_ms(torch_step, Sync(), args.steps)
        print("%-34s %10.3f %10.3f %10s %8.1f %7.2fx" % (
            "deep 32x1024 b%d store-all" % B, nnc_ms, eager_ms, "(below)",
            flops / nnc_ms / 1e9, eager_ms / nnc_ms))
        later.append((B, nnc_ms, flops, model, torch_step))

        # The matmul alone: x·Wᵀ + b (the one-layer predict function).
        lrep = json.load(open(os.path.join(d, entry["linear"] + ".json")))
        llib = GPULibrary(os.path.join(d, entry["linear"]))
        pe = [e for e in lrep["entry_points"] if e["role"] == "predict"][0]
        pin = [(rng.standard_normal(b["shape"]) * 0.02).astype(np.float32)
               for b in pe["inputs"]]
        pred = GPUEntry(llib, lrep, "predict", pin)
        lin_ms = median_ms(pred, llib, args.steps * 5)
        xw, ww, bw = [torch.from_numpy(a).to(dev) for a in pin]
        blas_ms = median_ms(lambda: torch.addmm(bw, xw, ww.t()), Sync(),
                            args.steps * 5)
        print("%-34s %10.3f %10.3f %10s %8.1f %7.0f%%  of cuBLAS" % (
            "matmul %dx%dx%d (x·Wt+b)" % (B, W, W), lin_ms, blas_ms, "-",
            2 * B * W * W / lin_ms / 1e9, 100 * blas_ms / lin_ms))

        if "dp" in entry:
            drep = json.load(open(os.path.join(d, entry["dp"] + ".json")))
            dlib = GPULibrary(os.path.join(d, entry["dp"]))
            dtr = [e for e in drep["entry_points"]
                   if e["role"] == "train_step"][0]
            dstep = GPUEntry(dlib, drep, "train_step", inputs)
            dp_ms = median_ms(dstep, dlib, args.steps)
            from torch.utils.checkpoint import checkpoint_sequential
            best = None
            for seg in (2, 4, 8):
                def ck_step(seg=seg):
                    opt.zero_grad(set_to_none=False)
                    xx = x.detach().requires_grad_(True)
                    y = checkpoint_sequential(model, seg, xx)
                    torch.nn.functional.mse_loss(y, t).backward()
                    opt.step()
                ck_step()
                torch.cuda.synchronize()
                torch.cuda.reset_peak_memory_stats()
                base_mem = torch.cuda.memory_allocated()
                ck_step()
                torch.cuda.synchronize()
                extra = torch.cuda.max_memory_allocated() - base_mem
                ms = median_ms(ck_step, Sync(), args.steps)
                if best is None or extra < best[1]:
                    best = (seg, extra, ms)
            print("%-34s %10.3f %10.3f %10s %8.1f %7.2fx  arena %.1f MiB vs "
                  "ckpt_seq(%d) %.1f MiB" % (
                      "deep b%d dp at half memory" % B, dp_ms, best[2], "-",
                      flops / dp_ms / 1e9, best[2] / dp_ms,
                      dtr["arena_bytes"] / 2**20, best[0], best[1] / 2**20))
    if "cnn_train" in manifest:
        cnn_row(d, manifest["cnn_train"], args.steps, dev, Sync)
    for B, nnc_ms, flops, model, torch_step in later:
        comp_ms = float("nan")
        try:
            compiled = torch.compile(model)
            comp_ms = median_ms(lambda: torch_step(compiled), Sync(),
                                args.steps, warmup=5)
        except Exception as e:  # torch.compile needs a toolchain it may lack
            print("  (torch.compile unavailable: %s)" % str(e).split("\n")[0])
        print("%-34s %10.3f %10s %10.3f %8.1f %7.2fx" % (
            "deep 32x1024 b%d vs torch.compile" % B, nnc_ms, "-", comp_ms,
            flops / nnc_ms / 1e9, comp_ms / nnc_ms))
    return 1 if failures else 0


def cnn_row(d, lib_name, steps, dev, Sync):
    """The Fashion-MNIST CNN's SGD step: nnc against PyTorch eager."""
    import torch
    from nnc_cuda import GPUEntry, GPULibrary
    nn = torch.nn
    rep = json.load(open(os.path.join(d, lib_name + ".json")))
    lib = GPULibrary(os.path.join(d, lib_name))
    tr = [e for e in rep["entry_points"] if e["role"] == "train_step"][0]
    inputs = cnn_inputs(np.random.default_rng(0), tr["inputs"])
    step = GPUEntry(lib, rep, "train_step", inputs)
    nnc_ms = median_ms(step, lib, steps)
    batch = tr["inputs"][0]["shape"][0]
    model = nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(64 * 7 * 7, 128), nn.ReLU(),
        nn.Linear(128, 10)).to(dev)
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    x = torch.randn(batch, 1, 28, 28, device=dev)
    labels = torch.randint(0, 10, (batch,), device=dev)

    def torch_step():
        opt.zero_grad(set_to_none=False)
        nn.functional.cross_entropy(model(x), labels).backward()
        opt.step()
    eager_ms = median_ms(torch_step, Sync(), steps)
    print("%-34s %10.3f %10.3f %10s %8s %7.2fx" % (
        "fashion CNN b%d train step" % batch, nnc_ms, eager_ms, "-", "-",
        eager_ms / nnc_ms))


# Mixed precision on tensor cores (mma.sync): name, precision, reference
# (the CPU's bf16 step, or f32 for fp16, which the CPU refuses), plans whose
# gradients must be bitwise identical on the GPU.
MIXED = [
    ("bf16-mlp784", [784, 100, 10], "bf16", "bf16"),
    ("bf16-mlp256", [256, 256, 256, 64], "bf16", "bf16"),
    ("fp16-mlp784", [784, 100, 10], "fp16", "f32"),
]
MIXED_PLANS = ["store-all", "recompute-all"]


def prepare_mixed(args, comp):
    """Gradient functions in bf16/fp16 for the GPU (one per plan), the CPU's
    answers, and an fp16 Adam step with dynamic loss scaling."""
    from nnc_ctypes import Compiled, random_batch, random_params
    names = []
    for n, (name, widths, precision, ref) in enumerate(MIXED):
        spec = ["--mlp", ",".join(map(str, widths)), "--loss",
                "cross-entropy", "--batch", "128", "--learning-rate", "0"]
        cpu = Compiled(comp, os.path.join(args.dir, "cpu"), name,
                       spec + ["--precision=" + ref])
        rng = np.random.default_rng(200 + n)
        params = random_params(rng, widths)
        x, target = random_batch(rng, widths, 128, "cross-entropy")
        inputs = [x, target] + params
        expect = cpu.call("grad", inputs)
        for plan in MIXED_PLANS:
            compile_model(comp, os.path.join(args.dir, "%s-%s.so" % (name,
                                                                     plan)),
                          spec + ["--precision=" + precision,
                                  "--strategy=" + plan, "--target=nvptx",
                                  "--chip=" + args.chip])
        np.savez(os.path.join(args.dir, name + ".npz"),
                 **{"in%d" % i: a for i, a in enumerate(inputs)},
                 **{"out%d" % i: a for i, a in enumerate(expect)})
        names.append(name)
    compile_model(comp, os.path.join(args.dir, "fp16-adam-ls.so"),
                  ["--mlp", "784,100,10", "--batch", "128",
                   "--precision=fp16", "--optimizer=adam",
                   "--loss-scaling=dynamic", "--target=nvptx",
                   "--chip=" + args.chip])
    return names


def cosine(a, b):
    a, b = a.astype(np.float64).ravel(), b.astype(np.float64).ravel()
    return float(a @ b / max(np.linalg.norm(a) * np.linalg.norm(b), 1e-300))


def check_mixed(d, names):
    """The number of failures: each model's plans against the CPU (loss
    within 1e-2, every gradient's cosine at least 0.999 for bf16, 0.99 for
    fp16 against f32), the plans bitwise equal, then a loss-scaled fp16
    step skipped at scale 2^127 and taken at 2^10."""
    from nnc_cuda import GPUEntry, GPULibrary
    if not names:
        return 0
    print("== mixed precision on tensor cores against the CPU")
    failures = 0
    for name in names:
        inputs, expect = load_npz(d, name)
        first = None
        for plan in MIXED_PLANS:
            lib = "%s-%s.so" % (name, plan)
            rep = json.load(open(os.path.join(d, lib + ".json")))
            step = GPUEntry(GPULibrary(os.path.join(d, lib)), rep, "grad",
                            inputs)
            step()
            got = step.outputs()
            lerr = abs(float(got[0]) - float(expect[0])) / abs(float(expect[0]))
            cos = min(cosine(g, e) for g, e in zip(got[1:], expect[1:]))
            same = first is None or all(a.tobytes() == b.tobytes()
                                        for a, b in zip(first, got))
            first = first or got
            ok = lerr <= 1e-2 and same and \
                cos >= (0.99 if name.startswith("fp16") else 0.999)
            failures += not ok
            print("%-14s %-14s loss rel err %.2e  min cosine %.6f  %s%s" % (
                name, plan, lerr, cos, "bitwise = store-all  " if
                plan != MIXED_PLANS[0] and same else "",
                "ok" if ok else "MISMATCH"))
    lib = os.path.join(d, "fp16-adam-ls.so")
    rep = json.load(open(lib + ".json"))
    entry = [e for e in rep["entry_points"] if e["role"] == "train_step"][0]
    rng = np.random.default_rng(9)
    params = [np.asarray(rng.standard_normal(b["shape"]) * 0.05, np.float32)
              for b in entry["inputs"] if b["name"][0] in "Wb" and
              "_" not in b["name"]]
    moments = [np.zeros_like(p) for p in params for _ in range(2)]
    x = rng.standard_normal((128, 784)).astype(np.float32)
    labels = rng.integers(0, 10, 128).astype(np.int32)
    gpu = GPULibrary(lib)
    for scale, skip in ((2.0 ** 127, True), (2.0 ** 10, False)):
        step = GPUEntry(gpu, rep, "train_step",
                        [x, labels] + params + moments +
                        [np.float32(1e-3), np.float32(1), np.float32(scale),
                         np.float32(5)])
        step()
        out = step.outputs()
        state = out[1:1 + len(params) + len(moments)]
        unchanged = all(a.tobytes() == b.tobytes()
                        for a, b in zip(state, params + moments))
        ok = (unchanged and float(out[-2]) == scale / 2 and out[-1] == 0) \
            if skip else (not unchanged and float(out[-2]) == scale and
                          out[-1] == 6)
        failures += not ok
        print("fp16 Adam, loss scale %-8g %-9s new scale %g, good steps %g"
              "  %s" % (scale, "skipped" if unchanged else "stepped",
                        float(out[-2]), float(out[-1]),
                        "ok" if ok else "MISMATCH"))
    return failures


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--prepare", dest="prep", action="store_true")
    ap.add_argument("--run", dest="runit", action="store_true")
    ap.add_argument("--smoke", action="store_true")
    ap.add_argument("dir")
    ap.add_argument("--build", default="build")
    ap.add_argument("--chip", default="sm_90")
    ap.add_argument("--steps", type=int, default=10)
    args = ap.parse_args()
    # Unbuffered: a run cut short by a timeout still shows its verdicts.
    sys.stdout.reconfigure(line_buffering=True)
    if args.prep:
        return prepare(args)
    if args.smoke:
        return smoke(args)
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
