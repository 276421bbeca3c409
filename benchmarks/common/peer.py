"""The PyTorch peer at its best, or no comparison at all.

Every nnc benchmark imports this before it times PyTorch. It prints which
BLAS library and kernel PyTorch runs (threadpoolctl) and refuses Debian's
reference BLAS (what libblas.so.3 points to without libopenblas0-pthread).

OpenBLAS's kernel is chosen by measurement, not trusted: its own detection
can fall back to an old kernel ("Prescott" on some new Xeons with OpenBLAS
0.3.21), and an inherited OPENBLAS_CORETYPE can pin a weaker one (a
machine here exported OPENBLAS_CORETYPE=Haswell on an AVX-512 CPU, where
the AVX2 kernels ran at 100 GFLOP/s against 170 for Cooperlake's). Each
candidate (the inherited setting, OpenBLAS's own detection, the kernels
the CPU's features allow) times one-thread sgemms in a fresh process, and
the fastest is exported for this process and every child it starts. A win
against a crippled peer is a measurement bug, not a result.
"""

import json
import os
import subprocess
import sys

# OpenBLAS kernels that predate AVX2: a fallback on any machine that has it.
OLD_KERNELS = {"prescott", "core2", "penryn", "dunnington", "nehalem",
               "atom", "katmai", "coppermine", "northwood", "banias",
               "generic"}

# The chosen kernel's name (as threadpoolctl reports it), or "none" when the
# BLAS is not OpenBLAS: set once, so children and the re-run after the
# choice do not probe again (noise could otherwise flip the choice and
# re-run forever).
CHOSEN = "NNC_PEER_OPENBLAS_CHOSEN"


def cpu_flags():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def coretypes_for(flags):
    """The OpenBLAS kernels this CPU's features can run, best first."""
    kinds = []
    if {"avx512f", "avx512bw", "avx512vl", "avx512dq"} <= flags:
        if "avx512_bf16" in flags:
            kinds.append("Cooperlake")
        kinds.append("SkylakeX")
    if "avx2" in flags and "fma" in flags:
        kinds.append("Haswell")
    return kinds


def blas_info():
    import torch  # noqa: F401  (loads libblas.so.3 into the process)
    import threadpoolctl
    return [i for i in threadpoolctl.threadpool_info()
            if i.get("user_api") == "blas"]


# Run in a fresh process per candidate: OpenBLAS reads OPENBLAS_CORETYPE once,
# when it is loaded. The shapes are the benchmarks' own (x·Wᵀ of the deep
# MLP and of 784-100-10), one BLAS thread, the best of several calls.
PROBE = r"""
import json, time, threadpoolctl, torch
torch.set_num_threads(1)
threadpoolctl.threadpool_limits(limits=1, user_api="blas")
info = [i for i in threadpoolctl.threadpool_info() if i.get("user_api") == "blas"]
rate = 0.0
for m, n, k in ((256, 1024, 1024), (128, 100, 784)):
    a, b = torch.randn(m, k), torch.randn(n, k)
    for _ in range(3):
        a @ b.t()
    best = float("inf")
    for _ in range(max(5, int(2e9 / (2 * m * n * k)))):
        t = time.perf_counter()
        a @ b.t()
        best = min(best, time.perf_counter() - t)
    rate += 2 * m * n * k / best / 1e9
print(json.dumps({"kernel": info[0].get("architecture") if info else None,
                  "api": info[0].get("internal_api") if info else None,
                  "gflops": rate / 2}))
"""


def probe(coretype):
    env = dict(os.environ)
    env.pop("OPENBLAS_CORETYPE", None)
    if coretype:
        env["OPENBLAS_CORETYPE"] = coretype
    r = subprocess.run([sys.executable, "-c", PROBE], env=env,
                       capture_output=True, text=True)
    if r.returncode != 0:
        return None
    return json.loads(r.stdout.strip().splitlines()[-1])


def choose_openblas_kernel():
    """Exports the fastest OPENBLAS_CORETYPE (or none: OpenBLAS's own
    detection) after printing every candidate's rate; returns the kernel
    it runs, or "none" if the BLAS is not OpenBLAS."""
    inherited = os.environ.get("OPENBLAS_CORETYPE")
    candidates = [None] + coretypes_for(cpu_flags())
    if inherited and inherited not in candidates:
        candidates.insert(0, inherited)
    results = []
    for c in candidates:
        r = probe(c)
        if r is None or r["api"] != "openblas" or not r["kernel"]:
            return "none"  # not OpenBLAS: nothing to choose; checked below
        results.append((r["gflops"], c, r["kernel"]))
        print("peer: OpenBLAS with OPENBLAS_CORETYPE=%s runs its %s kernel "
              "at %.1f GFLOP/s (1 thread)%s" % (
                  c or "(unset)", r["kernel"], r["gflops"],
                  "  [inherited]" if c == inherited and inherited else ""),
              file=sys.stderr)
    rate, best, kernel = max(results, key=lambda r: r[0])
    print("peer: using OPENBLAS_CORETYPE=%s (%s kernel)" % (
        best or "(unset)", kernel), file=sys.stderr)
    if best:
        os.environ["OPENBLAS_CORETYPE"] = best
    else:
        os.environ.pop("OPENBLAS_CORETYPE", None)
    return kernel


def ensure_best_peer():
    """Returns a one-line description of the peer's BLAS, or exits."""
    if not os.environ.get(CHOSEN):
        before = os.environ.get("OPENBLAS_CORETYPE")
        os.environ[CHOSEN] = choose_openblas_kernel()
        # OpenBLAS reads its kernel once, when loaded, and numpy loads it
        # too: start afresh so the choice holds in this process.
        if os.environ.get("OPENBLAS_CORETYPE") != before:
            os.execv(sys.executable, [sys.executable] + sys.argv)
    infos = blas_info()
    if not infos:
        sys.exit("peer: PyTorch runs no optimized BLAS (threadpoolctl sees "
                 "none: Debian's reference libblas.so.3). Install "
                 "libopenblas0-pthread (scripts/setup.sh does); refusing to "
                 "compare against the reference BLAS.")
    info = infos[0]
    arch = str(info.get("architecture", "")).lower()
    if (info.get("internal_api") == "openblas" and arch in OLD_KERNELS and
            coretypes_for(cpu_flags())):
        sys.exit("peer: OpenBLAS runs its %r kernel on a CPU with AVX2 or "
                 "better (OPENBLAS_CORETYPE=%s); refusing to compare" %
                 (info.get("architecture"),
                  os.environ.get("OPENBLAS_CORETYPE", "(unset)")))
    chosen = os.environ.get(CHOSEN)
    if (info.get("internal_api") == "openblas" and chosen != "none" and
            arch != chosen.lower()):
        sys.exit("peer: OpenBLAS runs its %r kernel where %s was chosen; "
                 "refusing to compare" % (info.get("architecture"), chosen))
    return "%s %s (%s kernel, %s threading) at %s" % (
        info.get("internal_api"), info.get("version"),
        info.get("architecture"), info.get("threading_layer"),
        info.get("filepath"))


def set_peer_threads(torch_threads, blas_threads):
    """PyTorch's intra-op threads and, separately, its BLAS threads:
    torch.set_num_threads does not cap OpenBLAS's own pool."""
    import threadpoolctl
    import torch
    torch.set_num_threads(torch_threads)
    threadpoolctl.threadpool_limits(limits=blas_threads, user_api="blas")


def convolution_check():
    """PyTorch's CPU convolutions at their best: oneDNN (mkldnn) available
    and enabled, or no comparison. Returns a line saying what runs."""
    import torch
    if not torch.backends.mkldnn.is_available():
        sys.exit("peer: this PyTorch has no oneDNN (mkldnn): its CPU "
                 "convolutions are the slow reference ones; refusing to "
                 "compare")
    if not torch.backends.mkldnn.enabled:
        sys.exit("peer: torch.backends.mkldnn is disabled; refusing to "
                 "compare")
    config = torch.__config__.show()
    line = next((l.strip(" -") for l in config.splitlines()
                 if "MKL-DNN" in l or "oneDNN" in l), "oneDNN")
    return "convolutions: torch.backends.mkldnn enabled, %s, %d threads" % (
        line, torch.get_num_threads())
