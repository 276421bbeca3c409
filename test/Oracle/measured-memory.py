# RUN: %python_torch %s --nnc-compile nnc-compile --workdir %t | FileCheck %s
# REQUIRES: torch
#
# Measured, not just planned: a compiled training step's real extra memory
# is its arena. The step runs in a fresh process whose inputs and outputs
# are already touched; the workspace is a fresh anonymous mapping, so the
# growth of the resident set during the call is exactly the memory the step
# used — the arena pages it touched plus any heap allocation (there should
# be none). That growth must equal the arena (to the page) and fall as the
# checkpoint budget falls.
#
# CHECK: store-all: arena {{[0-9]+}} B, measured {{[0-9]+}} B
# CHECK: real memory falls with the budget and matches the arena

import argparse
import ctypes
import mmap
import os
import subprocess
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "Inputs"))
from nnc_ctypes import CTYPES, Compiled  # noqa: E402

PAGE = mmap.PAGESIZE
WIDTHS = [256] + [256] * 12 + [10]
BATCH = 64


def rss_bytes():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE


def child(lib_path, report_path):
    import json
    report = json.load(open(report_path))
    entry = {e["role"]: e for e in report["entry_points"]}["train_step"]
    lib = ctypes.CDLL(lib_path)
    fn = getattr(lib, entry["name"])
    fn.restype = None
    bufs = [np.zeros(b["shape"], dtype=CTYPES[b["type"]])
            for b in entry["inputs"] + entry["outputs"]]
    for b in bufs:
        b.fill(0)  # touch every page of inputs and outputs
    ptrs = [b.ctypes.data_as(ctypes.c_void_p) for b in bufs]

    def workspace():
        ws = mmap.mmap(-1, max(entry["arena_bytes"], 1))
        return ws, ctypes.c_void_p(
            ctypes.addressof(ctypes.c_char.from_buffer(ws)))

    # A first call faults in the library's code pages; measure the second,
    # on a fresh, untouched workspace.
    warm, warm_ptr = workspace()
    fn(*(ptrs + [warm_ptr]))
    ws, ws_ptr = workspace()
    ptrs.append(ws_ptr)
    before = rss_bytes()
    fn(*ptrs)
    after = rss_bytes()
    print(after - before)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--nnc-compile")
    ap.add_argument("--workdir")
    ap.add_argument("--child", nargs=2)
    args = ap.parse_args()
    if args.child:
        child(*args.child)
        return
    base = ["--mlp", ",".join(map(str, WIDTHS)), "--activation", "relu",
            "--loss", "cross-entropy", "--batch", str(BATCH)]
    ref = Compiled(args.nnc_compile, args.workdir, "mem-store-all",
                   base + ["--strategy=store-all"])
    cp = ref.report["checkpoint"]
    lo, hi = cp["min_budget_bytes"], cp["store_all_peak_bytes"]
    configs = [("store-all", ["--strategy=store-all"])]
    for f in (0.6, 0.3):
        configs.append(("dp %d%%" % (f * 100),
                        ["--strategy=dp", "--budget=%d" % (lo + f * (hi - lo))]))
    configs.append(("recompute-all", ["--strategy=recompute-all"]))
    measured = []
    for i, (name, flags) in enumerate(configs):
        model = Compiled(args.nnc_compile, args.workdir, "mem-%d" % i,
                         base + flags)
        report_path = os.path.join(args.workdir, "mem-%d.json" % i)
        with open(report_path, "w") as f:
            import json
            json.dump(model.report, f)
        out = subprocess.run([sys.executable, __file__, "--child",
                              model.lib_path, report_path],
                             check=True, capture_output=True, text=True)
        grew = int(out.stdout.strip())
        arena = model.report["arena_bytes"]
        pages = -(-arena // PAGE) * PAGE
        print("%s: arena %d B, measured %d B (predicted peak %d B)" %
              (name, arena, grew, model.report["predicted_peak_bytes"]))
        # The resident growth is the arena's pages, give or take one page
        # at each end of the mapping.
        if abs(grew - pages) > 2 * PAGE:
            print("MISMATCH: %s grew %d B, arena is %d B" % (name, grew, arena))
            sys.exit(1)
        measured.append(grew)
    if not all(a > b for a, b in zip(measured, measured[1:])):
        print("MISMATCH: memory does not fall with the budget: %s" % measured)
        sys.exit(1)
    print("real memory falls with the budget and matches the arena: %s" %
          " > ".join("%d" % m for m in measured))


if __name__ == "__main__":
    main()
