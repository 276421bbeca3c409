"""Shared helpers for the PyTorch oracle tests: compile a model with
nnc-compile into a shared library, load it with ctypes and call its entry
points on numpy buffers, following the C header's contract."""

import ctypes
import json
import os
import subprocess

import numpy as np

CTYPES = {"float": np.float32, "int32_t": np.int32, "int64_t": np.int64}


class Compiled:
    def __init__(self, nnc_compile, workdir, tag, args):
        os.makedirs(workdir, exist_ok=True)
        self.lib_path = os.path.join(workdir, tag + ".so")
        out = subprocess.run(
            [nnc_compile, "-o", self.lib_path, "--report=json"] + args,
            check=True, capture_output=True, text=True)
        self.report = json.loads(out.stdout)
        self.lib = ctypes.CDLL(self.lib_path)
        self.entries = {e["role"]: e for e in self.report["entry_points"]}

    def call(self, role, inputs, outputs=None):
        """Calls the entry point; `outputs` may alias inputs (in place)."""
        entry = self.entries[role]
        ins = []
        for spec, arr in zip(entry["inputs"], inputs):
            arr = np.ascontiguousarray(arr, dtype=CTYPES[spec["type"]])
            # ascontiguousarray makes scalars 1-d; rank-0 inputs (lr, step)
            # are one element either way.
            if spec["shape"] == [] and arr.size == 1:
                arr = arr.reshape(())
            assert list(arr.shape) == spec["shape"], (spec, arr.shape)
            ins.append(arr)
        if outputs is None:
            outputs = [np.zeros(o["shape"], dtype=CTYPES[o["type"]])
                       for o in entry["outputs"]]
        # The caller-owned arena, 64-byte aligned as the header requires.
        raw = np.zeros(entry["arena_bytes"] + 64, np.uint8)
        start = (-raw.ctypes.data) % 64
        workspace = raw[start:start + entry["arena_bytes"]]
        ptrs = [a.ctypes.data_as(ctypes.c_void_p)
                for a in ins + outputs + [workspace]]
        fn = getattr(self.lib, entry["name"])
        fn.restype = None
        fn(*ptrs)
        return outputs


def make_inputs(rng, specs):
    """Random values for an entry point's inputs (the report's specs):
    integer inputs are class labels (< 10); 1-D float inputs (biases,
    batch-norm scales and shifts, running statistics) lie in [0.5, 1.5],
    so a running variance is positive; the rest (data and weights) are
    N(0, 1/fan-in), so the logits stay moderate."""
    out = []
    for s in specs:
        t = CTYPES[s["type"]]
        if np.issubdtype(t, np.integer):
            out.append(rng.integers(0, 10, s["shape"]).astype(t))
        elif len(s["shape"]) == 1:
            out.append(rng.uniform(0.5, 1.5, s["shape"]).astype(t))
        else:
            fan_in = int(np.prod(s["shape"][1:]))
            out.append((rng.standard_normal(s["shape"]) /
                        np.sqrt(fan_in)).astype(t))
    return out


def random_params(rng, widths, gain=1.0):
    """W [out, in] ~ N(0, gain/in) and b ~ N(0, 0.01) per layer, in order."""
    params = []
    for l in range(len(widths) - 1):
        params.append((rng.standard_normal((widths[l + 1], widths[l])) *
                       np.sqrt(gain / widths[l])).astype(np.float32))
        params.append((rng.standard_normal(widths[l + 1]) * 0.1)
                      .astype(np.float32))
    return params


def random_batch(rng, widths, batch, loss):
    """An input batch and its MSE targets or cross-entropy labels."""
    x = rng.standard_normal((batch, widths[0])).astype(np.float32)
    if loss == "mse":
        target = rng.standard_normal((batch, widths[-1])).astype(np.float32)
    else:
        target = rng.integers(0, widths[-1], batch).astype(np.int32)
    return x, target


def dropout_keep(shape, seed, rate):
    """nnc's counter-based dropout mask, recomputed in numpy: the oracle for
    nn.dropout's semantics (see NNToLinalg.cpp)."""
    m32 = 0xFFFFFFFF

    def fmix(h):
        h = (h ^ (h >> 16)) * 0x7FEB352D & m32
        h = (h ^ (h >> 15)) * 0x846CA68B & m32
        return h ^ (h >> 16)

    s = (seed & m32) ^ ((seed >> 32) & m32)
    s = fmix(s)
    idx = np.arange(int(np.prod(shape)), dtype=np.uint64)
    h = (idx & m32) ^ s
    h = (h ^ (h >> 16)) * 0x7FEB352D & m32
    h = (h ^ (h >> 15)) * 0x846CA68B & m32
    h = h ^ (h >> 16)
    u = (h >> 8).astype(np.float32) * np.float32(1.0 / 16777216.0)
    return (u >= np.float32(rate)).reshape(shape)
