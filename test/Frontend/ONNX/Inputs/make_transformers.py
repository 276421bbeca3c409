"""Writes the small transformer ONNX models the importer's tests read, valid
and broken, into the directory given: built with onnx.helper (no PyTorch
needed), node for node what torch 1.13's exporter writes for a pre-norm
attention block (test/Oracle/onnx-transformer.py checks the real exports
against autograd). Each broken model is a minimal variation of a valid one,
so every test names exactly what is wrong."""

import copy
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto as TP
from onnx import helper as h
from onnx import numpy_helper

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
rng = np.random.default_rng(0)

B, T, D, H, V, C = 2, 4, 8, 2, 11, 3
DH = D // H


def init(name, *shape):
    return numpy_helper.from_array(
        rng.standard_normal(shape).astype(np.float32), name)


def const(name, value, dtype=np.float32):
    return h.make_node("Constant", [], [name], name=name + "/Constant",
                       value=numpy_helper.from_array(np.array(value, dtype)))


def causal():
    return np.triu(np.full((T, T), -np.inf, np.float32), 1)


class Graph:
    def __init__(self):
        self.nodes, self.inits = [], []

    def node(self, op, inputs, name, outputs=None, **attrs):
        outputs = outputs or [name + "_out"]
        self.nodes.append(h.make_node(op, inputs, outputs, name, **attrs))
        return outputs[0] if len(outputs) == 1 else outputs

    def const(self, name, value, dtype=np.float32):
        self.nodes.append(const(name, value, dtype))
        return name

    def init(self, name, *shape):
        self.inits.append(init(name, *shape))
        return name

    def array(self, name, value):
        self.inits.append(numpy_helper.from_array(value, name))
        return name

    def layer_norm(self, x, prefix, opset):
        w = self.init(prefix + ".weight", D)
        b = self.init(prefix + ".bias", D)
        if opset >= 17:
            return self.node("LayerNormalization", [x, w, b],
                             prefix + "/LayerNormalization", axis=-1,
                             epsilon=1e-5)
        # What opsets 13 to 16 write for F.layer_norm.
        mean = self.node("ReduceMean", [x], prefix + "/ReduceMean",
                         axes=[-1])
        d = self.node("Sub", [x, mean], prefix + "/Sub")
        sq = self.node("Pow", [d, self.const(prefix + "/two", 2.0)],
                       prefix + "/Pow")
        var = self.node("ReduceMean", [sq], prefix + "/ReduceMean_1",
                        axes=[-1])
        ve = self.node("Add", [var, self.const(prefix + "/eps", 1e-5)],
                       prefix + "/Add")
        sd = self.node("Sqrt", [ve], prefix + "/Sqrt")
        n = self.node("Div", [d, sd], prefix + "/Div")
        n = self.node("Mul", [n, w], prefix + "/Mul")
        return self.node("Add", [n, b], prefix + "/Add_1")

    def linear(self, x, prefix, fan_in, fan_out):
        # Constant folding writes the weight transposed, [in, out], and the
        # bias first.
        w = self.init("onnx::MatMul_" + prefix, fan_in, fan_out)
        b = self.init(prefix + ".bias", fan_out)
        y = self.node("MatMul", [x, w], prefix + "/MatMul")
        return self.node("Add", [b, y], prefix + "/Add")


def model(g, output, shape, opset):
    graph = h.make_graph(
        g.nodes, "torch_jit",
        [h.make_tensor_value_info("tokens", TP.INT64, [B, T])],
        [h.make_tensor_value_info(output, TP.FLOAT, shape)], g.inits)
    return h.make_model(graph, opset_imports=[h.make_opsetid("", opset)],
                        producer_name="nnc-test")


def block(opset=13, mask="add", scale="div", split="matmuls", fold=True,
          readout="last", final_norm=False):
    """tokens -> embedding + positions -> layer norm -> q, k, v heads ->
    attention -> head: PyTorch's export of an explicit attention block."""
    g = Graph()
    tok = g.node("Gather", [g.init("tok.weight", V, D), "tokens"],
                 "/tok/Gather")
    x = g.node("Add", [tok, g.init("onnx::Add_pos", T, D)], "/Add")
    a = g.layer_norm(x, "/ln1", opset)
    heads = g.const("/heads", [B, T, H, DH], np.int64)
    if not fold:
        # do_constant_folding=False: the shape is computed.
        shape = g.node("Shape", [a], "/Shape")
        b = g.node("Gather", [shape, g.const("/zero", 0, np.int64)],
                   "/Gather_b", axis=0)
        parts = [g.node("Unsqueeze", [b, g.const("/axes", [0], np.int64)],
                        "/Unsqueeze"),
                 g.const("/rest", [T, H, DH], np.int64)]
        heads = g.node("Concat", parts, "/Concat", axis=0)
    if split == "matmuls":
        q, k, v = (g.linear(a, n, D, D) for n in ("q", "k", "v"))
    else:
        qkv = g.linear(a, "qkv", D, 3 * D)
        q, k, v = g.node("Split", [qkv, g.const("/split", [D] * 3, np.int64)],
                         "/Split", ["q", "k", "v"], axis=-1)
    q, k, v = (g.node("Reshape", [t, heads], "/Reshape_" + n)
               for t, n in ((q, "q"), (k, "k"), (v, "v")))
    q = g.node("Transpose", [q], "/Transpose_q", perm=[0, 2, 1, 3])
    kt = g.node("Transpose", [k], "/Transpose_k", perm=[0, 2, 3, 1])
    v = g.node("Transpose", [v], "/Transpose_v", perm=[0, 2, 1, 3])
    s = g.node("MatMul", [q, kt], "/MatMul")
    if scale == "div":
        # q.shape[-1] ** 0.5, folded by the importer.
        root = g.node("Pow", [g.const("/dh", float(DH)),
                              g.const("/half", 0.5)], "/Pow")
        s = g.node("Div", [s, root], "/Div")
    elif scale == "mul":
        s = g.node("Mul", [s, g.const("/scale", DH ** -0.5)], "/Mul")
    if mask == "add":
        s = g.node("Add", [s, g.array("mask", causal())], "/Add_mask")
    elif mask == "where":
        fill = g.const("/inf", -np.inf)
        s = g.node("Where", [g.array("hidden", np.triu(
            np.ones((T, T), bool), 1)), fill, s], "/Where")
    elif mask == "band":
        band = causal()
        band[3, 0] = -np.inf
        s = g.node("Add", [s, g.array("band", band)], "/Add_mask")
    elif mask == "finite":
        s = g.node("Where", [g.array("hidden", np.triu(
            np.ones((T, T), bool), 1)), g.const("/big", -1e9), s], "/Where")
    p = g.node("Softmax", [s], "/Softmax", axis=-1)
    o = g.node("MatMul", [p, v], "/MatMul_1")
    o = g.node("Transpose", [o], "/Transpose_o", perm=[0, 2, 1, 3])
    o = g.node("Reshape", [o, g.const("/merge", [B, T, D], np.int64)],
               "/Reshape_o")
    x = g.node("Add", [x, g.linear(o, "o", D, D)], "/Add_1")
    if final_norm:
        # A LayerNorm whose weight and bias equal /ln1's (a fresh model's):
        # the exporter keeps one initializer each and reads the others
        # through Identity.
        g.nodes.insert(0, h.make_node("Identity", ["/ln1.weight"],
                                      ["norm.weight"], "Identity_0"))
        g.nodes.insert(0, h.make_node("Identity", ["/ln1.bias"],
                                      ["norm.bias"], "Identity_1"))
        x = g.node("LayerNormalization", [x, "norm.weight", "norm.bias"],
                   "/norm/LayerNormalization", axis=-1, epsilon=1e-5)
    if readout == "last":
        last = g.node("Gather", [x, g.const("/last", -1, np.int64)],
                      "/Gather", axis=1)
    else:
        last = g.node("ReduceMean", [x], "/ReduceMean", axes=[1],
                      keepdims=0)
    g.node("Gemm", [last, g.init("head.weight", C, D),
                    g.init("head.bias", C)], "/head/Gemm", ["logits"],
           alpha=1.0, beta=1.0, transB=1)
    return model(g, "logits", [B, C], opset)


def mha(opset=13):
    """F.multi_head_attention_forward's layout (nn.TransformerEncoderLayer):
    [T, B·H, DH], q scaled before q·kᵀ, the scores times 1.0, a [1, T, T]
    mask, the fused projection sliced."""
    g = Graph()
    x = g.node("Gather", [g.init("tok.weight", V, D), "tokens"], "/Gather")
    x = g.node("Transpose", [x], "/Transpose", perm=[1, 0, 2])
    qkv = g.linear(x, "in_proj", D, 3 * D)
    starts = [g.const("/s%d" % i, [i * D], np.int64) for i in range(4)]
    axis = g.const("/axis", [-1], np.int64)
    parts = [g.node("Slice", [qkv, starts[i], starts[i + 1], axis],
                    "/Slice_%d" % i) for i in range(3)]
    split = g.const("/split_heads", [T, B * H, DH], np.int64)
    q, k, v = (g.node("Reshape", [t, split], "/Reshape_%d" % i)
               for i, t in enumerate(parts))
    q = g.node("Transpose", [q], "/Transpose_q", perm=[1, 0, 2])
    v = g.node("Transpose", [v], "/Transpose_v", perm=[1, 0, 2])
    q = g.node("Div", [q, g.const("/sqrt_dh", float(DH) ** 0.5)], "/Div")
    kt = g.node("Transpose", [k], "/Transpose_k", perm=[1, 2, 0])
    s = g.node("MatMul", [q, kt], "/MatMul")
    s = g.node("Mul", [s, g.const("/one", 1.0)], "/Mul")
    s = g.node("Add", [s, g.array("onnx::Add_mask", causal()[None])],
               "/Add_mask")
    p = g.node("Softmax", [s], "/Softmax", axis=-1)
    o = g.node("MatMul", [p, v], "/MatMul_1")
    o = g.node("Transpose", [o], "/Transpose_o", perm=[1, 0, 2])
    o = g.node("Reshape", [o, g.const("/flat", [T * B, D], np.int64)],
               "/Reshape_o")
    g.node("Gemm", [o, g.init("out_proj.weight", D, D),
                    g.init("out_proj.bias", D)], "/Gemm", ["y"],
           alpha=1.0, beta=1.0, transB=1)
    return model(g, "y", [T * B, D], opset)


def save(name, m):
    onnx.save(m, os.path.join(out, name + ".onnx"))


save("attention", block())
save("attention-op17", block(opset=17, final_norm=True))
save("attention-where", block(mask="where", scale="mul", split="split",
                              fold=False, readout="mean"))
save("attention-mha", mha())

# Attention that nnc does not map, and what else around it.
save("mask-band", block(mask="band"))
save("mask-finite", block(mask="finite"))


def variant(name, base, change):
    m = copy.deepcopy(base)
    change(m.graph)
    save(name, m)


def node(g, name):
    return next(n for n in g.node if n.name == name)


def scores_read(g):
    # The scores q·kᵀ read by a Relu: a batched MatMul that is not attention.
    n = node(g, "/Softmax")
    n.op_type, n.name = "Relu", "/Relu"
    del n.attribute[:]


variant("batched-matmul", block(mask="none", scale="none"), scores_read)


def batch_mismatch(g):
    # k with another batch layout: [B, DH, H, T] against q's [B, H, T, DH].
    node(g, "/Transpose_k").attribute[0].ints[:] = [0, 3, 2, 1]


variant("batched-matmul-shapes", block(), batch_mismatch)


def softmax_axis(g):
    node(g, "/Softmax").attribute[0].i = 2


variant("softmax-axis", block(), softmax_axis)


def ln_axis(g):
    node(g, "/ln1/LayerNormalization").attribute[0].i = 1


variant("layernorm-axis", block(opset=17), ln_axis)
variant("layernorm-no-bias", block(opset=17), lambda g: node(
    g, "/ln1/LayerNormalization").input.__delitem__(2))


def gather_uneven(g):
    last = node(g, "/last/Constant")
    last.attribute[0].t.CopyFrom(numpy_helper.from_array(
        np.array([0, 2, 3], np.int64)))


variant("gather-uneven", block(), gather_uneven)


def broadcast_mid(g):
    # positions [T, 1]: not a trailing block of [B, T, D].
    pos = next(t for t in g.initializer if t.name == "onnx::Add_pos")
    pos.CopyFrom(init("onnx::Add_pos", T, 1))


variant("broadcast-add", block(), broadcast_mid)


def weight_scaled(g):
    # A weight scaled by a constant before use folds to a constant, which
    # nnc does not read as a tensor (it would not be trained).
    g.node.insert(0, h.make_node("Mul", ["onnx::MatMul_q", "/half_c"],
                                 ["wq"], "/Mul_w"))
    g.node.insert(0, const("/half_c", 0.5))
    node(g, "q/MatMul").input[1] = "wq"


variant("weight-folded", block(), weight_scaled)
