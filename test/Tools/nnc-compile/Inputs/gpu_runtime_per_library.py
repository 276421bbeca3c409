"""Each compiled GPU model library carries one runtime and binds its own
calls to it (include/nnc/Runtime/CUDA/CUDARuntime.h, "One runtime per
library"): run two models' steps against the fake driver (NNC_CUDA_DRIVER),
the first loaded RTLD_GLOBAL, the second RTLD_LOCAL (ctypes' default), and
check each step reached its own library's runtime, not the one loaded
first, nor libnnc_runtime_cuda.so's. Standard library only."""

import ctypes
import json
import re
import subprocess
import sys

header, runtime_lib = sys.argv[1], sys.argv[2]
models = sys.argv[3:]

# Every function of the runtime's API is exported, protected.
api = sorted(set(re.findall(r"\b(nncr?t?_cuda_\w+)\s*\(", open(header).read())))
for path in models:
    syms = subprocess.run(["readelf", "-W", "--dyn-syms", path], check=True,
                          capture_output=True, text=True).stdout
    for name in api:
        line = [l for l in syms.splitlines() if l.split()[-1:] == [name]]
        if not line or " UND " in line[0]:
            print("MISSING %s in %s" % (name, path))
        elif "PROTECTED" not in line[0]:
            print("NOT PROTECTED %s in %s: %s" % (name, path, line[0]))
print("api: %d functions" % len(api))


def load(path, mode):
    lib = ctypes.CDLL(path, mode=mode)
    lib.nnc_cuda_error.restype = ctypes.c_char_p
    lib.nnc_cuda_malloc.restype = ctypes.c_void_p
    lib.nnc_cuda_malloc.argtypes = [ctypes.c_size_t]
    lib.nnc_cuda_graph_launch_count.restype = ctypes.c_uint64
    return lib


def run_step(lib, report):
    entry = [e for e in report["entry_points"] if e["role"] == "train_step"][0]
    sizes = [b["bytes"] for b in entry["inputs"] + entry["outputs"]]
    ptrs = [lib.nnc_cuda_malloc(max(n, 1)) for n in sizes]
    ptrs.append(lib.nnc_cuda_malloc(max(entry["arena_bytes"], 1)))
    fn = getattr(lib, entry["name"])
    fn.restype = None
    for _ in range(2):  # captured, then replayed
        fn(*[ctypes.c_void_p(p) for p in ptrs])
    if lib.nnc_cuda_synchronize() != 0:
        print("ERROR: %s" % lib.nnc_cuda_error())


shared = load(runtime_lib, ctypes.RTLD_LOCAL)
first = load(models[0], ctypes.RTLD_GLOBAL)
second = load(models[1], ctypes.RTLD_LOCAL)
for lib in (shared, first, second):
    if not lib.nnc_cuda_available():
        print("ERROR: no (fake) driver: %s" % lib.nnc_cuda_error())
run_step(first, json.load(open(models[0] + ".json")))
run_step(second, json.load(open(models[1] + ".json")))
print("graph launches: first %d, second %d, libnnc_runtime_cuda %d" % (
    first.nnc_cuda_graph_launch_count(), second.nnc_cuda_graph_launch_count(),
    shared.nnc_cuda_graph_launch_count()))
