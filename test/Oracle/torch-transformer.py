# RUN: %python_torch %s --nnc-compile nnc-compile --workdir %t | FileCheck %s
# REQUIRES: torch
#
# The transformer ops (nn.embedding, nn.layer_norm, nn.attention,
# nn.transpose, nn.slice, nn.mul, nn.scale) against PyTorch autograd. No
# frontend produces them yet, so the script writes each network twice: as
# an idiomatic PyTorch function (F.embedding, F.layer_norm, view/transpose
# to split heads, softmax(q kᵀ · scale + mask) v written out) and as
# nn-dialect MLIR text that nnc-compile compiles into a gradient function.
# Both get the same float32 weights; the compiled loss and every gradient
# must match a float64 PyTorch reference within 1e-5 (max abs difference
# over max abs of the reference, per tensor), except gradients that flow
# back through an nn.attention: its FlashAttention backward sums over key
# blocks in another order than the score-matrix formula, so those get
# 1e-4. The float32 PyTorch error is printed beside nnc's for scale.
#
# The pre-norm blocks cover 1, 2 and 4 heads, causal and not, an additive
# mask with -inf entries (no query loses every key: PyTorch would give NaN
# where nnc gives zeros), causal and a mask together, sequence lengths 37
# and 70 beside 4 (not multiples of any 32 or 64 attention block: the
# ragged last block is where a tiling bug hides), two layers, i32 tokens,
# a fused QKV projection split by nn.slice along the features, a gated MLP
# (nn.mul) and embeddings scaled by sqrt(D) (nn.scale). The loss reads the
# last position (x[:, -1], the classifier's nn.slice), every position (a
# language model) or every step-th one (a strided nn.slice): with one
# layer and only the last position read, the causal mask and every mask
# row but the last could be wrong unseen. Single-op models then pin down
# what a block cannot show: attention with Tq != Tk and Dk != Dv, strided
# slices of a transposed tensor, and the embedding gradient's scatter-add
# over repeated indices.
#
# Beyond the gradients: the AdamW training step (--optimizer=adamw, the
# learning rate a run-time input) matches torch.optim.AdamW over 3 steps
# fed the same gradients; recompute-all, sqrt and dp plans give gradients
# bit for bit equal to store-all's (attention's recomputation must not
# depend on where it runs), and so do 1, 2 and 3 runtime threads; and a
# token or position outside [0, V) makes the loss NaN instead of reading
# out of bounds.
#
# CHECK: transformer h1-t4
# CHECK: transformer h4-t37-causal
# CHECK: transformer h2-t70-mask
# CHECK: transformer 2-layers-t37
# CHECK: adamw matches torch.optim.AdamW over 3 steps
# CHECK: recompute-all, sqrt and dp plans bitwise identical to store-all
# CHECK: 1, 2 and 3 threads bitwise identical
# CHECK: out-of-range tokens give a NaN loss
# CHECK: all {{[0-9]+}} transformer checks match PyTorch
# CHECK-NOT: MISMATCH

import argparse
import math
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "Inputs"))
from nnc_ctypes import Compiled  # noqa: E402

TOL = 1e-5
TOL_ATTENTION = 1e-4
EPS = 1e-5


def rel(a, b):
    """max |a - b| / max |b|: the error relative to the tensor's scale, so
    a near-zero element does not dominate as it would elementwise."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-30))


def f64(x):
    # A decimal point and an exponent: MLIR's float literal needs the point
    # (Python's repr writes 1e-05), and 17 digits round-trip the double.
    return "%.17e" % x


def dims(a):
    return "array<i64: %s>" % ", ".join(map(str, a))


class MLIR:
    """Writes one nn-dialect function: inputs declared up front, then the
    parameters in the order the body first uses them. `upstream` is the
    set used before the latest nn.attention: their gradients come back
    through an attention backward (the 1e-4 ones)."""

    def __init__(self):
        self.body, self.n = [], 0
        self.inputs, self.params = [], []  # (name, shape, dtype)
        self.upstream = set()  # params used before the latest attention
        self.seen = []

    @staticmethod
    def ty(shape, dtype="f32"):
        return "tensor<%s>" % "x".join([str(d) for d in shape] + [dtype])

    def input(self, name, shape, dtype="f32"):
        self.inputs.append((name, list(shape), dtype))
        return ("%" + name, list(shape), dtype)

    def param(self, name, shape):
        self.params.append((name, list(shape), "f32"))
        self.seen.append(name)
        return ("%" + name, list(shape), "f32")

    def emit(self, text, shape, dtype="f32"):
        self.n += 1
        v = "%%v%d" % self.n
        self.body.append("  %s = %s" % (v, text))
        return (v, list(shape), dtype)

    def fn_type(self, operands, shape):
        ins = ", ".join(self.ty(o[1], o[2]) for o in operands)
        return "(%s) -> %s" % (ins, self.ty(shape))

    # The ops, in the syntax of NNOps.td's assembly formats.
    def embedding(self, table, idx):
        shape = idx[1] + [table[1][1]]
        return self.emit("nn.embedding %s, %s : %s" % (
            table[0], idx[0], self.fn_type([table, idx], shape)), shape)

    def layer_norm(self, x, g, b, eps=EPS):
        return self.emit("nn.layer_norm %s, %s, %s {eps = %s} : %s" % (
            x[0], g[0], b[0], f64(eps), self.fn_type([x, g, b], x[1])), x[1])

    def linear(self, x, w, b=None):
        ops = [x, w] + ([b] if b else [])
        shape = [x[1][0], w[1][0]]
        return self.emit("nn.linear %s : %s" % (
            ", ".join(o[0] for o in ops), self.fn_type(ops, shape)), shape)

    def reshape(self, x, shape):
        return self.emit("nn.reshape %s : %s -> %s" % (
            x[0], self.ty(x[1]), self.ty(shape)), shape)

    def transpose(self, x, perm):
        shape = [x[1][p] for p in perm]
        return self.emit("nn.transpose %s {permutation = %s} : %s" % (
            x[0], dims(perm), self.fn_type([x], shape)), shape)

    def slice(self, x, offsets, sizes, strides=None):
        strides = strides or [1] * len(sizes)
        return self.emit(
            "nn.slice %s {offsets = %s, sizes = %s, strides = %s} : %s" % (
                x[0], dims(offsets), dims(sizes), dims(strides),
                self.fn_type([x], sizes)), sizes)

    def attention(self, q, k, v, scale, causal=False, mask=None):
        self.upstream = set(self.seen)
        ops = [q, k, v] + ([mask] if mask else [])
        attrs = "scale = %s : f64" % f64(scale)
        attrs += ", causal" if causal else ""
        shape = q[1][:3] + [v[1][3]]
        return self.emit("nn.attention %s {%s} : %s" % (
            ", ".join(o[0] for o in ops), attrs, self.fn_type(ops, shape)),
            shape)

    def binary(self, op, a, b):
        return self.emit("nn.%s %s, %s : %s" % (op, a[0], b[0], self.ty(a[1])),
                         a[1])

    def unary(self, op, x):
        return self.emit("nn.%s %s : %s" % (op, x[0], self.ty(x[1])), x[1])

    def scale(self, x, factor):
        return self.emit("nn.scale %s {factor = %s : f64} : %s" % (
            x[0], f64(factor), self.ty(x[1])), x[1])

    def loss(self, op, x, t):
        return self.emit("nn.%s %s, %s : %s" % (
            op, x[0], t[0], self.fn_type([x, t], [])), [])

    def text(self, result):
        args = ["%%%s: %s {nn.name = \"%s\"}" % (n, self.ty(s, d), n)
                for n, s, d in self.inputs]
        args += ["%%%s: %s {nn.param, nn.name = \"%s\"}" % (n, self.ty(s, d),
                                                            n)
                 for n, s, d in self.params]
        return "func.func @model(%s) -> tensor<f32> {\n%s\n  return %s : " \
            "tensor<f32>\n}\n" % (",\n    ".join(args), "\n".join(self.body),
                                  result[0])


# --------------------------------------------------------------------------
# The pre-norm transformer, in both languages.

CASES = [
    # name, batch, seq, width, heads, layers, vocab, options; the loss
    # reads the last position unless "readout" says all or (first, step).
    ("h1-t4", 8, 4, 16, 1, 1, 11, {}),
    ("h2-t4-causal", 8, 4, 32, 2, 1, 13,
     {"causal": True, "geglu": True, "readout": "all"}),
    ("h4-t37-causal", 4, 37, 32, 4, 1, 17,
     {"causal": True, "emb_scale": True, "readout": (2, 5)}),
    ("h2-t70-mask", 3, 70, 16, 2, 1, 19,
     {"mask": True, "fused": True, "readout": "all"}),
    ("h4-t70", 2, 70, 32, 4, 1, 7, {"geglu": True}),
    ("2-layers-t37", 2, 37, 16, 2, 2, 9,
     {"causal": True, "fused": True, "emb_scale": True}),
    ("i32-causal+mask", 4, 9, 16, 4, 1, 10,
     {"causal": True, "mask": True, "i32": True, "geglu": True,
      "readout": (1, 3)}),
]


def make_weights(rng, B, T, D, H, L, V, o):
    """float32 weights by name, in the function's parameter order."""
    def n(*shape, std=1.0):
        return (rng.standard_normal(shape) * std).astype(np.float32)
    W = {"tok_emb": n(V, D, std=1.0 if not o.get("emb_scale") else
                      1 / math.sqrt(D)),
         "pos_emb": n(T, D, std=0.5)}
    F_ = 2 * D
    for l in range(L):
        p = "l%d_" % l
        W[p + "ln1_g"], W[p + "ln1_b"] = 1 + n(D, std=0.1), n(D, std=0.1)
        if o.get("fused"):
            # Gain 2 on the query and key rows: attention that is not
            # nearly uniform, so the softmax's gradient matters.
            W[p + "wqkv"] = n(3 * D, D, std=1 / math.sqrt(D))
            W[p + "wqkv"][:2 * D] *= 2
            W[p + "bqkv"] = n(3 * D, std=0.1)
        else:
            for w in "qkv":
                W[p + "w" + w] = n(D, D, std=(1 if w == "v" else 2) /
                                   math.sqrt(D))
        W[p + "wo"], W[p + "bo"] = n(D, D, std=1 / math.sqrt(D)), \
            n(D, std=0.1)
        W[p + "ln2_g"], W[p + "ln2_b"] = 1 + n(D, std=0.1), n(D, std=0.1)
        W[p + "w1"], W[p + "b1"] = n(F_, D, std=1 / math.sqrt(D)), \
            n(F_, std=0.1)
        if o.get("geglu"):
            W[p + "w3"], W[p + "b3"] = n(F_, D, std=1 / math.sqrt(D)), \
                n(F_, std=0.1)
        W[p + "w2"], W[p + "b2"] = n(D, F_, std=1 / math.sqrt(F_)), \
            n(D, std=0.1)
    W["lnf_g"], W["lnf_b"] = 1 + n(D, std=0.1), n(D, std=0.1)
    W["unemb_w"], W["unemb_b"] = n(V, D, std=1 / math.sqrt(D)), n(V, std=0.1)
    return W


def make_mask(rng, T):
    """Additive [T, T] mask: finite biases and -inf holes, the diagonal
    always finite so every query keeps a key."""
    m = (rng.standard_normal((T, T)) * 0.5).astype(np.float32)
    m[rng.random((T, T)) < 0.3] = -np.inf
    np.fill_diagonal(m, 0.25)
    return m


def read_positions(T, o):
    """The positions the loss reads: the last (a classifier), all (a
    language model) or every step-th from first. With one layer and only
    the last position read, no mask row but the last one could matter."""
    readout = o.get("readout", "last")
    if readout == "last":
        return [T - 1]
    if readout == "all":
        return list(range(T))
    return list(range(readout[0], T, readout[1]))


def mlir_transformer(B, T, D, H, L, V, o):
    g = MLIR()
    idx = "i32" if o.get("i32") else "i64"
    tokens = g.input("tokens", [B, T], idx)
    positions = g.input("positions", [B, T], idx)
    mask = g.input("mask", [T, T]) if o.get("mask") else None
    labels = g.input("labels", [B * len(read_positions(T, o))], "i64")
    dh, F_ = D // H, 2 * D
    x = g.embedding(g.param("tok_emb", [V, D]), tokens)
    if o.get("emb_scale"):
        x = g.scale(x, math.sqrt(D))
    x = g.binary("add", x, g.embedding(g.param("pos_emb", [T, D]), positions))

    def heads(t):  # [B*T, D] -> [B, H, T, dh]
        return g.transpose(g.reshape(t, [B, T, H, dh]), [0, 2, 1, 3])

    for l in range(L):
        p = "l%d_" % l
        h = g.layer_norm(x, g.param(p + "ln1_g", [D]),
                         g.param(p + "ln1_b", [D]))
        h = g.reshape(h, [B * T, D])
        if o.get("fused"):
            qkv = g.linear(h, g.param(p + "wqkv", [3 * D, D]),
                           g.param(p + "bqkv", [3 * D]))
            q, k, v = (g.slice(qkv, [0, i * D], [B * T, D]) for i in range(3))
        else:
            q, k, v = (g.linear(h, g.param(p + "w" + w, [D, D]))
                       for w in "qkv")
        a = g.attention(heads(q), heads(k), heads(v), 1 / math.sqrt(dh),
                        o.get("causal", False), mask)
        a = g.reshape(g.transpose(a, [0, 2, 1, 3]), [B * T, D])
        a = g.linear(a, g.param(p + "wo", [D, D]), g.param(p + "bo", [D]))
        x = g.binary("add", x, g.reshape(a, [B, T, D]))
        h = g.layer_norm(x, g.param(p + "ln2_g", [D]),
                         g.param(p + "ln2_b", [D]))
        h = g.reshape(h, [B * T, D])
        m = g.unary("gelu", g.linear(h, g.param(p + "w1", [F_, D]),
                                     g.param(p + "b1", [F_])))
        if o.get("geglu"):
            m = g.binary("mul", m, g.linear(h, g.param(p + "w3", [F_, D]),
                                            g.param(p + "b3", [F_])))
        m = g.linear(m, g.param(p + "w2", [D, F_]), g.param(p + "b2", [D]))
        x = g.binary("add", x, g.reshape(m, [B, T, D]))
    x = g.layer_norm(x, g.param("lnf_g", [D]), g.param("lnf_b", [D]))
    pos = read_positions(T, o)
    if len(pos) < T:  # x[:, -1] or x[:, first::step]
        x = g.slice(x, [0, pos[0], 0], [B, len(pos), D],
                    [1, pos[1] - pos[0] if len(pos) > 1 else 1, 1])
    logits = g.linear(g.reshape(x, [B * len(pos), D]),
                      g.param("unemb_w", [V, D]),
                      g.param("unemb_b", [V]))
    return g, g.text(g.loss("cross_entropy", logits, labels))


def attention_ref(q, k, v, scale, causal, mask):
    s = (q @ k.transpose(-2, -1)) * scale
    if mask is not None:
        s = s + mask
    if causal:
        keep = torch.ones(s.shape[-2], s.shape[-1], dtype=torch.bool).tril()
        s = s.masked_fill(~keep, float("-inf"))
    return torch.softmax(s, -1) @ v


def torch_transformer(W, inputs, B, T, D, H, L, V, o, dtype):
    """The loss and gradients by name, PyTorch autograd in `dtype`."""
    P = {k: torch.tensor(w, dtype=dtype, requires_grad=True)
         for k, w in W.items()}
    tokens = torch.tensor(inputs["tokens"]).long()
    positions = torch.tensor(inputs["positions"]).long()
    mask = torch.tensor(inputs["mask"], dtype=dtype) if o.get("mask") \
        else None
    dh = D // H
    x = F.embedding(tokens, P["tok_emb"])
    if o.get("emb_scale"):
        x = x * math.sqrt(D)
    x = x + F.embedding(positions, P["pos_emb"])
    for l in range(L):
        p = "l%d_" % l
        h = F.layer_norm(x, (D,), P[p + "ln1_g"], P[p + "ln1_b"], EPS)
        if o.get("fused"):
            q, k, v = F.linear(h, P[p + "wqkv"], P[p + "bqkv"]).split(D, -1)
        else:
            q, k, v = (F.linear(h, P[p + "w" + w]) for w in "qkv")
        q, k, v = (t.reshape(B, T, H, dh).transpose(1, 2) for t in (q, k, v))
        a = attention_ref(q, k, v, 1 / math.sqrt(dh), o.get("causal"), mask)
        a = a.transpose(1, 2).reshape(B, T, D)
        x = x + F.linear(a, P[p + "wo"], P[p + "bo"])
        h = F.layer_norm(x, (D,), P[p + "ln2_g"], P[p + "ln2_b"], EPS)
        m = F.gelu(F.linear(h, P[p + "w1"], P[p + "b1"]))
        if o.get("geglu"):
            m = m * F.linear(h, P[p + "w3"], P[p + "b3"])
        x = x + F.linear(m, P[p + "w2"], P[p + "b2"])
    x = F.layer_norm(x, (D,), P["lnf_g"], P["lnf_b"], EPS)
    readout = o.get("readout", "last")
    if readout == "last":
        x = x[:, -1]
    elif readout != "all":
        x = x[:, readout[0]::readout[1]]
    logits = F.linear(x.reshape(-1, D), P["unemb_w"], P["unemb_b"])
    loss = F.cross_entropy(logits, torch.tensor(inputs["labels"]).long())
    loss.backward()
    return loss.item(), {k: t.grad.numpy() for k, t in P.items()}


# --------------------------------------------------------------------------
# Calling the compiled functions by name.

def grad_call(model, named):
    """Calls `grad` with inputs and parameters by name; returns the loss
    and the gradients by parameter name."""
    entry = model.entries["grad"]
    names = [i["name"] for i in entry["inputs"]]
    outs = model.call("grad", [named[n] for n in names])
    params = [i["name"] for i in entry["inputs"] if i.get("parameter")]
    assert len(outs) == 1 + len(params), [o["name"] for o in entry["outputs"]]
    return float(outs[0]), dict(zip(params, outs[1:]))


def compile_mlir(args, tag, text, flags):
    path = os.path.join(args.workdir, tag + ".mlir")
    with open(path, "w") as f:
        f.write(text)
    model = Compiled(args.nnc_compile, args.workdir, tag, [path] + flags)
    # Two threads where the library has a runtime to run them (a model
    # whose kernels are all generated code does not link it).
    if hasattr(model.lib, "nncrt_set_num_threads"):
        model.lib.nncrt_set_num_threads(2)
    return model


class Checks:
    def __init__(self):
        self.count, self.failed, self.worst = 0, False, 0.0

    def compare(self, kind, tag, loss, grads, loss64, grads64, tols,
                loss32=None, grads32=None):
        """Per tensor error against the float64 reference; `tols` maps a
        gradient's name to its tolerance (TOL if absent)."""
        errs = {"loss": rel(loss, loss64)}
        errs.update({k: rel(grads[k], grads64[k]) for k in grads64})
        bad = {k: e for k, e in errs.items() if e > tols.get(k, TOL)}
        worst_rest = max(e for k, e in errs.items() if k not in tols)
        self.worst = max(self.worst, worst_rest)
        line = "%-8s %s %-20s loss=%.6f err=%.2e" % (
            "MISMATCH" if bad else "ok", kind, tag, loss, worst_rest)
        if tols:
            line += " through-attention err=%.2e" % max(
                e for k, e in errs.items() if k in tols)
        if grads32 is not None:
            e32 = max([rel(loss32, loss64)] +
                      [rel(grads32[k], grads64[k]) for k in grads64])
            line += " (torch32 %.2e)" % e32
        print(line)
        for k, e in sorted(bad.items()):
            print("   %s: rel err %.3e > %.0e" % (k, e, tols.get(k, TOL)))
        self.count += 1
        self.failed |= bool(bad)


def random_inputs(rng, B, T, V, o):
    idx = np.int32 if o.get("i32") else np.int64
    inputs = {"tokens": rng.integers(0, V, (B, T)).astype(idx),
              "positions": np.broadcast_to(np.arange(T), (B, T)).astype(idx),
              "labels": rng.integers(0, V, B * len(read_positions(T, o)))
              .astype(np.int64)}
    if o.get("mask"):
        inputs["mask"] = make_mask(rng, T)
    return inputs


def check_transformers(args, checks, rng):
    compiled = {}
    for name, B, T, D, H, L, V, o in CASES:
        g, text = mlir_transformer(B, T, D, H, L, V, o)
        model = compile_mlir(args, name, text, ["--learning-rate=0"])
        W = make_weights(rng, B, T, D, H, L, V, o)
        inputs = random_inputs(rng, B, T, V, o)
        loss, grads = grad_call(model, {**inputs, **W})
        shape = (B, T, D, H, L, V, o)
        loss64, grads64 = torch_transformer(W, inputs, *shape, torch.float64)
        loss32, grads32 = torch_transformer(W, inputs, *shape, torch.float32)
        tols = {k: TOL_ATTENTION for k in g.upstream}
        checks.compare("transformer", name, loss, grads, loss64, grads64,
                       tols, loss32, grads32)
        compiled[name] = (model, text, W, inputs, shape)
    return compiled


# --------------------------------------------------------------------------
# Single ops, where a block would hide a case.

def check_single_ops(args, checks, rng):
    def n(*shape):
        return rng.standard_normal(shape).astype(np.float32)

    # Cross attention: Tq != Tk and Dk != Dv, causal over a rectangle
    # (query i sees keys 0..i, PyTorch's tril of ones(Tq, Tk)), then a mask
    # with -inf holes, then both.
    B, H, Tq, Tk, Dk, Dv = 2, 3, 5, 7, 8, 4
    for tag, causal, masked in (("attention-causal-5x7", True, False),
                                ("attention-mask-5x7", False, True),
                                ("attention-both-5x7", True, True)):
        g = MLIR()
        target = g.input("target", [B * H * Tq, Dv])
        mask = g.input("mask", [Tq, Tk]) if masked else None
        o = g.attention(g.param("q", [B, H, Tq, Dk]),
                        g.param("k", [B, H, Tk, Dk]),
                        g.param("v", [B, H, Tk, Dv]), 0.3, causal, mask)
        text = g.text(g.loss("mse_loss", g.reshape(o, [B * H * Tq, Dv]),
                             target))
        model = compile_mlir(args, tag, text, ["--learning-rate=0"])
        m = make_mask(rng, Tk)[:Tq] if masked else None
        W = {"q": 2 * n(B, H, Tq, Dk), "k": 2 * n(B, H, Tk, Dk),
             "v": n(B, H, Tk, Dv)}
        t = n(B * H * Tq, Dv)
        loss, grads = grad_call(model, {**W, "target": t, "mask": m})

        def ref(dtype):
            P = {k: torch.tensor(w, dtype=dtype, requires_grad=True)
                 for k, w in W.items()}
            out = attention_ref(P["q"], P["k"], P["v"], 0.3, causal,
                                None if m is None else
                                torch.tensor(m, dtype=dtype))
            l = F.mse_loss(out.reshape(-1, Dv), torch.tensor(t, dtype=dtype))
            l.backward()
            return l.item(), {k: p.grad.numpy() for k, p in P.items()}
        checks.compare("op", tag, loss, grads, *ref(torch.float64),
                       {"q": TOL_ATTENTION, "k": TOL_ATTENTION,
                        "v": TOL_ATTENTION}, *ref(torch.float32))

    # transpose (3-D, not the head split) - strided slice with offsets -
    # mul - scale: gradients that scatter back through a permutation and a
    # box with holes.
    g = MLIR()
    target = g.input("target", [12, 3])
    t = g.transpose(g.param("x", [4, 6, 8]), [2, 0, 1])         # 8x4x6
    s = g.slice(t, [1, 0, 1], [3, 4, 3], [2, 1, 2])              # 3x4x3
    y = g.scale(g.binary("mul", s, g.param("w", [3, 4, 3])), -1.5)
    text = g.text(g.loss("mse_loss", g.reshape(y, [12, 3]), target))
    model = compile_mlir(args, "transpose-slice-mul-scale", text,
                         ["--learning-rate=0"])
    W, tgt = {"x": n(4, 6, 8), "w": n(3, 4, 3)}, n(12, 3)
    loss, grads = grad_call(model, {**W, "target": tgt})

    def ref(dtype):
        P = {k: torch.tensor(w, dtype=dtype, requires_grad=True)
             for k, w in W.items()}
        y = P["x"].permute(2, 0, 1)[1:7:2, 0:4, 1:7:2] * P["w"] * -1.5
        l = F.mse_loss(y.reshape(12, 3), torch.tensor(tgt, dtype=dtype))
        l.backward()
        return l.item(), {k: p.grad.numpy() for k, p in P.items()}
    checks.compare("op", "transpose-slice", loss, grads,
                   *ref(torch.float64), {}, *ref(torch.float32))

    # Embedding with repeated i32 indices (the table's gradient adds the
    # rows that share an index; row 5 is never picked: zero gradient), then
    # layer_norm with a non-default eps on rows of 10.
    g = MLIR()
    idx = g.input("idx", [3, 4], "i32")
    labels = g.input("labels", [12], "i64")
    e = g.embedding(g.param("table", [6, 10]), idx)
    y = g.layer_norm(e, g.param("gamma", [10]), g.param("beta", [10]), 1e-3)
    text = g.text(g.loss("cross_entropy", g.reshape(y, [12, 10]), labels))
    model = compile_mlir(args, "embedding-layer-norm", text,
                         ["--learning-rate=0"])
    W = {"table": n(6, 10) * 0.1, "gamma": 1 + n(10) * 0.1,
         "beta": n(10) * 0.1}
    ids = np.array([[0, 1, 1, 2], [3, 0, 4, 4], [4, 1, 0, 4]], np.int32)
    lab = rng.integers(0, 10, 12).astype(np.int64)
    loss, grads = grad_call(model, {**W, "idx": ids, "labels": lab})

    def ref(dtype):
        P = {k: torch.tensor(w, dtype=dtype, requires_grad=True)
             for k, w in W.items()}
        y = F.layer_norm(F.embedding(torch.tensor(ids).long(), P["table"]),
                         (10,), P["gamma"], P["beta"], 1e-3)
        l = F.cross_entropy(y.reshape(12, 10), torch.tensor(lab))
        l.backward()
        return l.item(), {k: p.grad.numpy() for k, p in P.items()}
    checks.compare("op", "embedding-ln", loss, grads,
                   *ref(torch.float64), {}, *ref(torch.float32))
    if np.any(grads["table"][5] != 0):
        print("MISMATCH embedding: an unused row has a nonzero gradient")
        checks.failed = True


# --------------------------------------------------------------------------
# AdamW, checkpoint plans, out-of-range tokens.

ADAMW_LRS = [0.01, 0.03, 0.005]


def check_adamw(args, checks, case):
    _, text, W0, inputs, _ = case
    step_fn = compile_mlir(args, "adamw", text,
                           ["--optimizer=adamw", "--weight-decay=1",
                            "--beta2=0.98"])
    entry = step_fn.entries["train_step"]
    ins = [i["name"] for i in entry["inputs"]]
    outs = [o["name"] for o in entry["outputs"]]
    pnames = [i["name"] for i in entry["inputs"] if i.get("parameter")]
    assert ins[-2:] == ["lr", "step"], ins
    assert step_fn.report["runtime_learning_rate"]
    grad_fn = compile_mlir(args, "adamw-grad", text, ["--learning-rate=0"])
    # Caller-owned state: the moments named <param>_m, <param>_v (whatever
    # the driver calls them, they follow the parameters in the header's
    # order, two per parameter), zero before the first step.
    state_names = ins[len(ins) - 2 - 2 * len(pnames):-2]
    W = {k: v.copy() for k, v in W0.items()}
    S = {s: np.zeros_like(W[pnames[i // 2]]) for i, s in
         enumerate(state_names)}
    ref = {k: torch.tensor(W[k], dtype=torch.float64) for k in pnames}
    opt = torch.optim.AdamW([ref[k] for k in pnames], lr=1,
                            betas=(0.9, 0.98), weight_decay=1.0,
                            foreach=False)
    worst = 0.0
    for k, lr in enumerate(ADAMW_LRS):
        # The gradient at the current (shared) weights, from nnc: this
        # checks the update, the gradients being checked above.
        _, grads = grad_call(grad_fn, {**inputs, **W})
        named = {**inputs, **W, **S, "lr": np.float32(lr),
                 "step": np.float32(k + 1)}
        result = step_fn.call("train_step", [named[n] for n in ins])
        res = dict(zip(outs, result))
        for n in pnames:
            ref[n].grad = torch.tensor(grads[n], dtype=torch.float64)
        for group in opt.param_groups:
            group["lr"] = lr
        opt.step()
        for n in pnames:
            W[n] = res["new_" + n]
            worst = max(worst, rel(W[n], ref[n].numpy()))
            st = opt.state[ref[n]]
            for s, key in zip(state_names[2 * pnames.index(n):][:2],
                              ("exp_avg", "exp_avg_sq")):
                S[s] = res["new_" + s]
                worst = max(worst, rel(S[s], st[key].numpy()))
        # Both continue from the same weights.
        for n in pnames:
            ref[n].copy_(torch.tensor(W[n], dtype=torch.float64))
    moved = max(rel(W[n], W0[n]) for n in pnames)
    checks.count += 1
    if worst > TOL or moved < 1e-3:
        print("MISMATCH adamw: parameters/moments rel err %.3g (moved %.3g)"
              % (worst, moved))
        checks.failed = True
    else:
        print("adamw matches torch.optim.AdamW over %d steps (worst rel err "
              "%.2e)" % (len(ADAMW_LRS), worst))


def check_plans(args, checks, case, tag):
    model, text, W, inputs, _ = case
    named = {**inputs, **W}
    loss, grads = grad_call(model, named)
    cp = model.report["checkpoint"]
    lo, hi = cp["min_budget_bytes"], cp["store_all_peak_bytes"]
    plans = [["--strategy=recompute-all"], ["--strategy=sqrt"],
             ["--strategy=dp", "--budget=%d" % ((lo + hi) // 2)]]
    same, lines = True, []
    for i, flags in enumerate(plans):
        plan = compile_mlir(args, "%s-plan%d" % (tag, i), text,
                            ["--learning-rate=0"] + flags)
        l2, g2 = grad_call(plan, named)
        pc = plan.report["checkpoint"]
        lines.append("   %s: peak %d, recompute %d flops" % (
            " ".join(flags), pc["predicted_peak_bytes"],
            pc["recompute_flops"]))
        diff = [k for k in grads if not np.array_equal(grads[k], g2[k])]
        if diff or loss != l2:
            print("MISMATCH %s %s: loss %r vs %r, gradients differ: %s" % (
                tag, " ".join(flags), loss, l2, ", ".join(diff)))
            same = False
        # A plan that recomputes nothing would prove nothing.
        if pc["recompute_flops"] == 0:
            print("MISMATCH %s %s recomputes nothing" % (tag, flags[0]))
            same = False
    print("\n".join(lines))
    checks.count += 1
    if not same:
        checks.failed = True
    else:
        print("recompute-all, sqrt and dp plans bitwise identical to "
              "store-all (%s, store-all peak %d)" % (tag, hi))


def check_threads(checks, compiled, names):
    """The runtime splits attention over (batch, head, query block) and the
    embedding's backward over table columns: how many threads run them
    must not change a bit."""
    same = True
    for name in names:
        model, _, W, inputs, _ = compiled[name]
        named = {**inputs, **W}
        loss, grads = grad_call(model, named)
        for n in (1, 3):
            model.lib.nncrt_set_num_threads(n)
            l2, g2 = grad_call(model, named)
            diff = [k for k in grads if not np.array_equal(grads[k], g2[k])]
            if diff or loss != l2:
                print("MISMATCH %s: %d threads vs 2: loss %r vs %r, "
                      "gradients differ: %s" % (name, n, loss, l2,
                                                ", ".join(diff)))
                same = False
        model.lib.nncrt_set_num_threads(2)
    checks.count += 1
    checks.failed |= not same
    if same:
        print("1, 2 and 3 threads bitwise identical (%s)" % ", ".join(names))


def check_out_of_range(args, checks, compiled):
    bad = []
    for name in ("h1-t4", "i32-causal+mask"):
        model, _, W, inputs, (B, T, D, H, L, V, o) = compiled[name]
        # At positions the loss sees: a token only causally hidden keys
        # would see may stay out of the loss (nnc skips hidden keys where
        # PyTorch's 0 · NaN would spread it).
        last = read_positions(T, o)[-1]
        tries = [(0, 0, -1), (B - 1, last, V), (1, last, V + 1000)]
        if not o.get("i32"):
            tries.append((0, 1, 1 << 40))
        for b, t, v in tries:
            tok = inputs["tokens"].copy()
            tok[b, t] = v
            loss, _ = grad_call(model, {**inputs, **W, "tokens": tok})
            if not math.isnan(loss):
                bad.append("%s token[%d, %d] = %d: loss %r" % (name, b, t, v,
                                                               loss))
        # A wrong position index goes through the same op.
        pos = inputs["positions"].copy()
        pos[0, 0] = T
        loss, _ = grad_call(model, {**inputs, **W, "positions": pos})
        if not math.isnan(loss):
            bad.append("%s position %d: loss %r" % (name, T, loss))
    checks.count += 1
    if bad:
        print("MISMATCH out of range not NaN: " + "; ".join(bad))
        checks.failed = True
    else:
        print("out-of-range tokens give a NaN loss")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--nnc-compile", required=True)
    ap.add_argument("--workdir", required=True)
    args = ap.parse_args()
    os.makedirs(args.workdir, exist_ok=True)
    torch.manual_seed(0)
    rng = np.random.default_rng(2024)
    checks = Checks()
    compiled = check_transformers(args, checks, rng)
    check_single_ops(args, checks, rng)
    check_adamw(args, checks, compiled["h2-t4-causal"])
    check_plans(args, checks, compiled["2-layers-t37"], "2-layers-t37")
    check_threads(checks, compiled, ["h4-t70", "2-layers-t37"])
    check_out_of_range(args, checks, compiled)
    if checks.failed:
        print("MISMATCH: see above (worst non-attention rel err %.2e)"
              % checks.worst)
        sys.exit(1)
    print("all %d transformer checks match PyTorch (worst rel err %.2e, "
          "attention gradients within %.0e)" % (checks.count, checks.worst,
                                                TOL_ATTENTION))


if __name__ == "__main__":
    main()
