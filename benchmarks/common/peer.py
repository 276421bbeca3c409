"""The PyTorch peer at its best, or no comparison at all.

Every nnc benchmark imports this before it times PyTorch. It prints which
BLAS library and kernel PyTorch runs (threadpoolctl), refuses Debian's
reference BLAS (what libblas.so.3 points to without libopenblas0-pthread),
and when OpenBLAS does not know this CPU and falls back to an old kernel
("Prescott" on some new Xeons with OpenBLAS 0.3.21) it re-executes the
benchmark with OPENBLAS_CORETYPE chosen from the CPU's features. A win
against a crippled peer is a measurement bug, not a result.
"""

import os
import sys

# OpenBLAS kernels that predate AVX2: a fallback on any machine that has it.
OLD_KERNELS = {"prescott", "core2", "penryn", "dunnington", "nehalem",
               "atom", "katmai", "coppermine", "northwood", "banias",
               "generic"}


def cpu_flags():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def coretype_for(flags):
    if {"avx512f", "avx512bw", "avx512vl", "avx512dq"} <= flags:
        return "SkylakeX"
    if "avx2" in flags and "fma" in flags:
        return "Haswell"
    return None


def blas_info():
    import torch  # noqa: F401  (loads libblas.so.3 into the process)
    import threadpoolctl
    return [i for i in threadpoolctl.threadpool_info()
            if i.get("user_api") == "blas"]


def ensure_best_peer():
    """Returns a one-line description of the peer's BLAS, or exits."""
    infos = blas_info()
    if not infos:
        sys.exit("peer: PyTorch runs no optimized BLAS (threadpoolctl sees "
                 "none: Debian's reference libblas.so.3). Install "
                 "libopenblas0-pthread (scripts/setup.sh does); refusing to "
                 "compare against the reference BLAS.")
    info = infos[0]
    arch = str(info.get("architecture", "")).lower()
    want = coretype_for(cpu_flags())
    if info.get("internal_api") == "openblas" and arch in OLD_KERNELS and want:
        if os.environ.get("OPENBLAS_CORETYPE"):
            sys.exit("peer: OpenBLAS still runs its %r kernel with "
                     "OPENBLAS_CORETYPE=%s; refusing to compare" %
                     (info.get("architecture"), os.environ["OPENBLAS_CORETYPE"]))
        print("peer: OpenBLAS detected this CPU as %r; re-running with "
              "OPENBLAS_CORETYPE=%s (its features)" %
              (info.get("architecture"), want), file=sys.stderr)
        os.environ["OPENBLAS_CORETYPE"] = want
        os.execv(sys.executable, [sys.executable] + sys.argv)
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
