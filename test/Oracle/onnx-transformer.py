# RUN: %python_torch %s --nnc-compile nnc-compile --nnc-translate nnc-translate --workdir %t | FileCheck %s
# REQUIRES: torch
#
# Transformers through ONNX against PyTorch autograd: the grokking
# benchmark's two models (benchmarks/train/bench_grokking.py) in miniature
# (width 32, 2 heads, 2 pre-norm layers, MLP 64, 4 positions, 11 tokens,
# 7 classes, batch 3) are exported by torch.onnx.export at opsets 13 (layer
# norm decomposed into ReduceMean, Sub, Pow, Sqrt, Div, Mul, Add) and 17
# (LayerNormalization), compiled by nnc-compile from the .onnx file with
# --loss=cross-entropy appended, and the loss and every gradient of the
# compiled gradient function match a float64 PyTorch reference on the same
# weights within 1e-4 (relative, per tensor, the norm of the reference
# floored at 0.01 for k's bias, whose gradient is 0 in exact arithmetic:
# attention's FlashAttention backward sums in another order than autograd's
# score matrix).
#
# `Layered` is nn.TransformerEncoderLayer (norm_first, batch_first, dropout
# 0) with a causal float mask: the exporter writes F.multi_head_attention's
# [T, B·H, D] layout, one fused QKV projection sliced by computed bounds
# (Shape, Gather, Div, Mul folded), q scaled before q·kᵀ. `Explicit` writes
# the attention out: view/transpose head splits, q @ kᵀ / sqrt(d) + mask.
# `Variant` adds what those do not: chunk() of a fused projection, a boolean
# mask applied by masked_fill (Where) before the scale, GELU, and the mean
# over positions. Each model's attention must become one nn.attention
# (causal, no score tensor), and its layer norms nn.layer_norm.
#
# Each is also exported with do_constant_folding=False at opset 13: shape
# arithmetic as Shape, Gather, Unsqueeze, Concat and Cast nodes (folded by
# the importer), the mask through Unsqueeze and Mul, MatMul(x,
# Transpose(W)) and Gather(pos.weight, arange).
#
# The weights come from the model file (--weights-out): with constant
# folding the exporter writes the positional embedding of arange(T) and
# every Linear's weight transposed as initializers of its own names, so each
# initializer is matched to the PyTorch parameter of its name, or else the
# one it equals (or whose transpose it equals), and every parameter must be
# matched once. `Variant` keeps PyTorch's initial LayerNorm weights and
# biases, equal across LayerNorms: the exporter merges them into one
# initializer that the others read through Identity, and nnc must still
# train one parameter per LayerNorm, as PyTorch does.
#
# CHECK: ok layered-op13
# CHECK: ok layered-op17
# CHECK: ok layered-op13-nofold
# CHECK: ok explicit-op13
# CHECK: ok explicit-op17
# CHECK: ok explicit-op13-nofold
# CHECK: ok variant-op13
# CHECK: ok variant-op17
# CHECK: ok variant-op13-nofold
# CHECK: all 9 exported transformers match PyTorch
# CHECK-NOT: MISMATCH

import argparse
import os
import re
import subprocess
import sys
import warnings

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "Inputs"))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..",
                                "examples", "pytorch-onnx"))
import nnc_weights  # noqa: E402
from nnc_ctypes import Compiled  # noqa: E402

TOL = 1e-4
SEQ, VOCAB, CLASSES, BATCH = 4, 11, 7, 3
WIDTH, HEADS, LAYERS, MLP = 32, 2, 2, 64


def causal_mask():
    return torch.triu(torch.full((SEQ, SEQ), float("-inf")), 1)


class Layered(nn.Module):
    """bench_grokking.Layered: nn.TransformerEncoderLayer."""

    def __init__(self):
        super().__init__()
        self.tok = nn.Embedding(VOCAB, WIDTH)
        self.pos = nn.Embedding(SEQ, WIDTH)
        self.layers = nn.ModuleList(
            nn.TransformerEncoderLayer(WIDTH, HEADS, MLP, dropout=0.0,
                                       batch_first=True, norm_first=True)
            for _ in range(LAYERS))
        self.norm = nn.LayerNorm(WIDTH)
        self.head = nn.Linear(WIDTH, CLASSES)
        self.register_buffer("mask", causal_mask())

    def forward(self, tokens):
        x = self.tok(tokens) + self.pos(torch.arange(SEQ))
        for layer in self.layers:
            x = layer(x, src_mask=self.mask)
        return self.head(self.norm(x)[:, -1])


class Block(nn.Module):
    """bench_grokking.Block: attention written out."""

    def __init__(self):
        super().__init__()
        self.ln1, self.ln2 = nn.LayerNorm(WIDTH), nn.LayerNorm(WIDTH)
        self.q, self.k, self.v, self.o = (nn.Linear(WIDTH, WIDTH)
                                          for _ in range(4))
        self.fc1, self.fc2 = nn.Linear(WIDTH, MLP), nn.Linear(MLP, WIDTH)

    def forward(self, x, mask):
        b, t, d = x.shape
        a = self.ln1(x)
        split = lambda y: y.view(b, t, HEADS, -1).transpose(1, 2)  # noqa
        q, k, v = split(self.q(a)), split(self.k(a)), split(self.v(a))
        s = q @ k.transpose(-1, -2) / (q.shape[-1] ** 0.5) + mask
        o = (s.softmax(-1) @ v).transpose(1, 2).reshape(b, t, d)
        x = x + self.o(o)
        return x + self.fc2(F.relu(self.fc1(self.ln2(x))))


class Explicit(Layered):
    def __init__(self):
        super().__init__()
        self.layers = nn.ModuleList(Block() for _ in range(LAYERS))

    def forward(self, tokens):
        x = self.tok(tokens) + self.pos(torch.arange(SEQ))
        for layer in self.layers:
            x = layer(x, self.mask)
        return self.head(self.norm(x)[:, -1])


class VariantBlock(nn.Module):
    """A fused QKV projection split by chunk(), masked_fill with a boolean
    mask before the scale (a Mul), GELU."""

    def __init__(self):
        super().__init__()
        self.ln1, self.ln2 = nn.LayerNorm(WIDTH), nn.LayerNorm(WIDTH)
        self.qkv = nn.Linear(WIDTH, 3 * WIDTH)
        self.o = nn.Linear(WIDTH, WIDTH)
        self.fc1, self.fc2 = nn.Linear(WIDTH, MLP), nn.Linear(MLP, WIDTH)

    def forward(self, x, hidden):
        b, t, d = x.shape
        q, k, v = self.qkv(self.ln1(x)).chunk(3, -1)
        q, k, v = (y.view(b, t, HEADS, -1).permute(0, 2, 1, 3)
                   for y in (q, k, v))
        s = (q @ k.transpose(-2, -1)).masked_fill(hidden, float("-inf"))
        s = s * (q.shape[-1] ** -0.5)
        o = (s.softmax(-1) @ v).permute(0, 2, 1, 3).reshape(b, t, d)
        x = x + self.o(o)
        return x + self.fc2(F.gelu(self.fc1(self.ln2(x))))


class Variant(Layered):
    def __init__(self):
        super().__init__()
        self.layers = nn.ModuleList(VariantBlock() for _ in range(LAYERS))
        self.register_buffer("hidden", torch.triu(
            torch.ones(SEQ, SEQ, dtype=torch.bool), 1))

    def forward(self, tokens):
        x = self.tok(tokens) + self.pos(torch.arange(SEQ))
        for layer in self.layers:
            x = layer(x, self.hidden)
        return self.head(self.norm(x).mean(1))


CONFIGS = [("layered", Layered), ("explicit", Explicit),
           ("variant", Variant)]


def rel(a, b):
    """‖a - b‖ / ‖b‖, with ‖b‖ at least 0.01: k's bias has the gradient 0
    in exact arithmetic (softmax ignores a constant added to a row of
    scores), which float32 rounding meets only to about 1e-8."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.linalg.norm(a - b) / max(np.linalg.norm(b), 1e-2))


def score_softmaxes(mlir):
    """nn.softmax ops over more than one element per row: a materialized
    score matrix (the importer's only other softmax is over [N, 1])."""
    return [m for m in re.findall(r"nn\.softmax %\S+ : tensor<([0-9x]+)xf32>",
                                  mlir) if not m.endswith("x1")]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--nnc-compile", required=True)
    ap.add_argument("--nnc-translate", required=True)
    ap.add_argument("--workdir", required=True)
    args = ap.parse_args()
    os.makedirs(args.workdir, exist_ok=True)
    torch.manual_seed(3)
    tokens = torch.randint(0, VOCAB, (BATCH, SEQ))
    labels = torch.randint(0, CLASSES, (BATCH,))
    worst, failed, count = 0.0, False, 0
    for name, factory in CONFIGS:
        net = factory().eval()
        with torch.no_grad():
            # Weights away from their initialization so that they matter;
            # `Variant` keeps its LayerNorms' fresh ones and zeros, which
            # the exporter merges into one initializer each (read through
            # Identity) and nnc trains as PyTorch does, one per LayerNorm.
            for k, p in net.named_parameters():
                if not (factory is Variant and (".ln" in k or "norm." in k)):
                    p.normal_(0, 0.3)
        # The float64 reference.
        ref = factory().double()
        ref.load_state_dict({k: v.double() for k, v in
                             net.state_dict().items()})
        loss64 = F.cross_entropy(ref(tokens), labels)
        loss64.backward()
        grads64 = {k: p.grad.numpy() for k, p in ref.named_parameters()}
        params = {k: p.detach().numpy() for k, p in net.named_parameters()}
        for opset, fold in ((13, True), (17, True), (13, False)):
            tag = "%s-op%d%s" % (name, opset, "" if fold else "-nofold")
            path = os.path.join(args.workdir, tag + ".onnx")
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                torch.onnx.export(net, tokens, path, opset_version=opset,
                                  input_names=["tokens"],
                                  output_names=["logits"],
                                  do_constant_folding=fold)
            mlir = subprocess.run(
                [args.nnc_translate, "--import-onnx", path,
                 "--onnx-loss=cross-entropy", "--onnx-no-predict"],
                check=True, capture_output=True, text=True).stdout
            if score_softmaxes(mlir) or \
                    mlir.count("nn.attention ") != LAYERS or \
                    mlir.count("nn.layer_norm") != 2 * LAYERS + 1:
                print("MISMATCH %s: expected %d nn.attention, %d "
                      "nn.layer_norm and no score softmax" %
                      (tag, LAYERS, 2 * LAYERS + 1))
                failed = True
            wpath = os.path.join(args.workdir, tag + ".nncw")
            model = Compiled(args.nnc_compile, args.workdir, tag,
                             [path, "--loss=cross-entropy",
                              "--learning-rate=0", "--weights-out", wpath])
            weights = nnc_weights.load(wpath)
            # Each initializer is a parameter by name, or else by value
            # (folded: itself or its transpose).
            match, unmatched = {}, []
            for w, value in weights.items():
                if w in params and np.array_equal(params[w], value):
                    match[w] = (w, False)
                    continue
                found = [(k, t) for k, p in params.items()
                         for t in ((False, True) if p.ndim == 2
                                   else (False,))
                         if (p.T if t else p).shape == value.shape and
                         np.array_equal(p.T if t else p, value)]
                if len(found) != 1:
                    unmatched.append(w)
                else:
                    match[w] = found[0]
            used = sorted(k for k, _ in match.values())
            if unmatched or used != sorted(params):
                print("MISMATCH %s: initializers %s match no parameter; "
                      "parameters %s match no initializer" %
                      (tag, unmatched, sorted(set(params) - set(used))))
                failed = True
                continue
            entry = model.entries["grad"]
            inputs = entry["inputs"][2:]
            names = [i.get("source_name", i["name"]) for i in inputs]
            outs = model.call("grad", [tokens.numpy(), labels.numpy()] +
                              [weights[n] for n in names])
            errs = {"loss": rel(outs[0], float(loss64))}
            for n, g in zip(names, outs[1:]):
                k, t = match[n]
                errs[k] = rel(g.T if t else g, grads64[k])
            err = max(errs.values())
            worst = max(worst, err)
            count += 1
            if err > TOL:
                failed = True
                print("   per tensor: " + ", ".join(
                    "%s %.2e" % kv for kv in errs.items()))
            print("%-8s %-13s loss=%.6f params=%d err=%.2e" % (
                "ok" if err <= TOL else "MISMATCH", tag, float(outs[0]),
                len(names), err))
    if failed:
        print("MISMATCH: worst rel err %.2e" % worst)
        sys.exit(1)
    print("all %d exported transformers match PyTorch (worst rel err %.2e)"
          % (count, worst))


if __name__ == "__main__":
    main()
