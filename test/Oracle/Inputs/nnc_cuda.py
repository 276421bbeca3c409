"""Runs nnc's compiled GPU entry points from Python: device buffers through
the CUDA runtime the host library carries (include/nnc/Runtime/CUDA/
CUDARuntime.h), inputs and outputs as numpy arrays."""

import ctypes
import json

import numpy as np

TYPES = {"float": np.float32, "int32_t": np.int32, "int64_t": np.int64}


class GPULibrary:
    def __init__(self, path):
        self.lib = ctypes.CDLL(path)
        L = self.lib
        L.nnc_cuda_error.restype = ctypes.c_char_p
        L.nnc_cuda_device_name.restype = ctypes.c_char_p
        L.nnc_cuda_malloc.restype = ctypes.c_void_p
        L.nnc_cuda_malloc.argtypes = [ctypes.c_size_t]
        L.nnc_cuda_free.argtypes = [ctypes.c_void_p]
        for f in ("nnc_cuda_memcpy_to_device", "nnc_cuda_memcpy_to_host"):
            getattr(L, f).argtypes = [ctypes.c_void_p, ctypes.c_void_p,
                                      ctypes.c_size_t]
        L.nnc_cuda_mem_info.argtypes = [ctypes.POINTER(ctypes.c_size_t)] * 2
        L.nnc_cuda_launch_count.restype = ctypes.c_uint64
        L.nnc_cuda_graph_launch_count.restype = ctypes.c_uint64

    def available(self):
        if self.lib.nnc_cuda_available():
            return True, self.lib.nnc_cuda_device_name().decode()
        err = self.lib.nnc_cuda_error()
        return False, err.decode() if err else "unknown"

    def check(self, rc, what):
        if rc != 0:
            err = self.lib.nnc_cuda_error()
            raise RuntimeError("%s: %s" % (what, err.decode() if err else "?"))

    def malloc(self, nbytes):
        p = self.lib.nnc_cuda_malloc(max(nbytes, 1))
        if not p:
            self.check(-1, "nnc_cuda_malloc(%d)" % nbytes)
        return p

    def to_device(self, array):
        array = np.ascontiguousarray(array)
        p = self.malloc(array.nbytes)
        self.check(self.lib.nnc_cuda_memcpy_to_device(
            p, array.ctypes.data, array.nbytes), "copy to device")
        return p

    def to_host(self, p, shape, dtype):
        out = np.empty(shape, dtype)
        self.check(self.lib.nnc_cuda_memcpy_to_host(
            out.ctypes.data, p, out.nbytes), "copy to host")
        return out

    def mem_free(self):
        free, total = ctypes.c_size_t(), ctypes.c_size_t()
        self.check(self.lib.nnc_cuda_mem_info(ctypes.byref(free),
                                              ctypes.byref(total)), "mem info")
        return free.value

    def synchronize(self):
        self.check(self.lib.nnc_cuda_synchronize(), "synchronize")


class GPUEntry:
    """One entry point with device buffers for every input, output and the
    workspace (exactly the planned arena)."""

    def __init__(self, gpu, report, role, inputs):
        self.gpu = gpu
        self.entry = [e for e in report["entry_points"] if e["role"] == role][0]
        self.fn = getattr(gpu.lib, self.entry["name"])
        self.fn.restype = None
        self.ins = [gpu.to_device(np.asarray(a, TYPES[b["type"]]))
                    for a, b in zip(inputs, self.entry["inputs"])]
        self.outs = [gpu.malloc(b["bytes"]) for b in self.entry["outputs"]]
        self.arena_bytes = self.entry["arena_bytes"]
        self.ws = gpu.malloc(self.arena_bytes)
        self.ptrs = [ctypes.c_void_p(p) for p in self.ins + self.outs + [self.ws]]

    def __call__(self):
        self.fn(*self.ptrs)

    def outputs(self):
        self.gpu.synchronize()
        return [self.gpu.to_host(p, b["shape"], TYPES[b["type"]])
                for p, b in zip(self.outs, self.entry["outputs"])]


def report(path):
    return json.load(open(path))
