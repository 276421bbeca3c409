"""Writes the small ONNX models the importer's tests read, valid and broken,
into the directory given: built with onnx.helper (no PyTorch needed), each a
minimal variation of one MLP so every test names exactly what is wrong."""

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


def init(name, *shape):
    return numpy_helper.from_array(
        rng.standard_normal(shape).astype(np.float32), name)


def mlp(opset=13, batch=4):
    """x[4, 8] -> Gemm -> Relu -> Gemm -> y[4, 3], PyTorch's layout."""
    nodes = [
        h.make_node("Gemm", ["x", "0.weight", "0.bias"], ["h"], "/0/Gemm",
                    alpha=1.0, beta=1.0, transB=1),
        h.make_node("Relu", ["h"], ["a"], "/1/Relu"),
        h.make_node("Gemm", ["a", "2.weight", "2.bias"], ["y"], "/2/Gemm",
                    alpha=1.0, beta=1.0, transB=1),
    ]
    graph = h.make_graph(
        nodes, "torch_jit",
        [h.make_tensor_value_info("x", TP.FLOAT, [batch, 8])],
        [h.make_tensor_value_info("y", TP.FLOAT, [batch, 3])],
        [init("0.weight", 16, 8), init("0.bias", 16), init("2.weight", 3, 16),
         init("2.bias", 3)])
    return h.make_model(graph, opset_imports=[h.make_opsetid("", opset)],
                        producer_name="nnc-test")


def save(name, model):
    onnx.save(model, os.path.join(out, name + ".onnx"))


def variant(name, change, base=None):
    m = copy.deepcopy(base or mlp())
    change(m)
    save(name, m)


save("mlp", mlp())
save("mlp-op17", mlp(opset=17))


def with_mse(m):
    # ((y - t) * (y - t)).mean(), as PyTorch exports it.
    g = m.graph
    g.input.append(h.make_tensor_value_info("t", TP.FLOAT, [4, 3]))
    g.node.extend([h.make_node("Sub", ["y", "t"], ["d"], "/Sub"),
                   h.make_node("Mul", ["d", "d"], ["s"], "/Mul"),
                   h.make_node("ReduceMean", ["s"], ["loss"], "/ReduceMean",
                               keepdims=0)])
    del g.output[:]
    g.output.append(h.make_tensor_value_info("loss", TP.FLOAT, []))


variant("mse-inside", with_mse)


def with_sce(reduction):
    def change(m):
        g = m.graph
        g.input.append(h.make_tensor_value_info("labels", TP.INT64, [4]))
        g.node.append(h.make_node("SoftmaxCrossEntropyLoss", ["y", "labels"],
                                  ["loss"], "/SoftmaxCrossEntropyLoss",
                                  reduction=reduction, ignore_index=-100))
        del g.output[:]
        g.output.append(h.make_tensor_value_info("loss", TP.FLOAT, []))
    return change


variant("ce-inside", with_sce("mean"))
variant("ce-sum", with_sce("sum"))

# Symbolic batch: needs --batch.
variant("dynamic", lambda m: m.graph.input[0].type.tensor_type.shape.dim[0]
        .__setattr__("dim_param", "batch"))


# An ONNX op nnc does not map, and one libonnx does not know.
def exp(m):
    m.graph.node[1].op_type = "Exp"
    m.graph.node[1].name = "/1/Exp"


variant("unsupported-op", exp)
variant("unknown-op", lambda m: setattr(m.graph.node[1], "op_type",
                                        "FancyRelu"))


def alpha(m):
    m.graph.node[0].attribute[0].f = 2.0


variant("gemm-alpha", alpha)


def transB0(m):
    for a in m.graph.node[2].attribute:
        if a.name == "transB":
            a.i = 0


variant("gemm-transB0", transB0)
variant("cycle", lambda m: m.graph.node[0].input.__setitem__(0, "y"))
variant("missing-input", lambda m: m.graph.node[1].input.__setitem__(0,
                                                                     "nope"))
variant("opset-18", lambda m: setattr(m.opset_import[0], "version", 18))
variant("opset-12", lambda m: setattr(m.opset_import[0], "version", 12))


def short(m):
    t = m.graph.initializer[0]
    t.raw_data = t.raw_data[:100]


variant("raw-data-short", short)


def external(m):
    t = m.graph.initializer[0]
    t.ClearField("raw_data")
    t.data_location = TP.EXTERNAL
    e = t.external_data.add()
    e.key, e.value = "location", "weights.bin"


variant("external-data", external)


def two_outputs(m):
    m.graph.output.append(h.make_tensor_value_info("a", TP.FLOAT, [4, 16]))


variant("two-outputs", two_outputs)


def flatten_hidden(m):
    # Flatten of a computed value to another shape.
    g = m.graph
    g.node.insert(2, h.make_node("Flatten", ["a"], ["f"], "/Flatten", axis=0))
    g.node[3].input[0] = "f"


variant("flatten-computed", flatten_hidden)


def nan_initializer(m):
    t = m.graph.initializer[1]
    values = numpy_helper.to_array(t).copy()
    values.flat[2] = np.nan
    t.CopyFrom(numpy_helper.from_array(values, t.name))


variant("nan-initializer", nan_initializer)

# Bytes that are not a model: cut in half, and text.
data = mlp().SerializeToString()
open(os.path.join(out, "truncated.onnx"), "wb").write(data[:len(data) // 2])
open(os.path.join(out, "malformed.onnx"), "wb").write(
    b"this is not a protobuf\n" * 8)
# A model with no graph.
open(os.path.join(out, "no-graph.onnx"), "wb").write(
    onnx.ModelProto(ir_version=8).SerializeToString())


def cnn(conv_attrs=None, pool_op="MaxPool", pool_attrs=None):
    """x[2, 1, 8, 8] -> Conv 3x3 pad 1 -> Relu -> pool 2 -> Flatten -> Gemm
    -> y[2, 3]: PyTorch's export of a small CNN."""
    conv = dict(kernel_shape=[3, 3], pads=[1, 1, 1, 1], strides=[1, 1])
    conv.update(conv_attrs or {})
    conv = {k: v for k, v in conv.items() if v is not None}
    pool = dict(kernel_shape=[2, 2], strides=[2, 2])
    pool.update(pool_attrs or {})
    nodes = [
        h.make_node("Conv", ["x", "c.weight", "c.bias"], ["c"], "/c/Conv",
                    **conv),
        h.make_node("Relu", ["c"], ["r"], "/Relu"),
        h.make_node(pool_op, ["r"], ["p"], "/Pool", **pool),
        h.make_node("Flatten", ["p"], ["f"], "/Flatten", axis=1),
        h.make_node("Gemm", ["f", "fc.weight", "fc.bias"], ["y"], "/fc/Gemm",
                    alpha=1.0, beta=1.0, transB=1),
    ]
    graph = h.make_graph(
        nodes, "torch_jit",
        [h.make_tensor_value_info("x", TP.FLOAT, [2, 1, 8, 8])],
        [h.make_tensor_value_info("y", TP.FLOAT, [2, 3])],
        [init("c.weight", 4, 1, 3, 3), init("c.bias", 4),
         init("fc.weight", 3, 64), init("fc.bias", 3)])
    return h.make_model(graph, opset_imports=[h.make_opsetid("", 13)],
                        producer_name="nnc-test")


save("cnn", cnn())
save("cnn-avg", cnn(pool_op="AveragePool",
                    pool_attrs=dict(pads=[1, 1, 0, 0], count_include_pad=1)))
# Malformed convolutions and pooling: each a located error.
save("conv-auto-pad", cnn(conv_attrs=dict(auto_pad="SAME_UPPER", pads=None)))
save("conv-kernel-shape", cnn(conv_attrs=dict(kernel_shape=[5, 5])))
save("conv-zero-stride", cnn(conv_attrs=dict(strides=[0, 1])))
save("conv-groups", cnn(conv_attrs=dict(group=3)))
save("conv-too-large", cnn(conv_attrs=dict(pads=[0, 0, 0, 0],
                                           dilations=[5, 5])))
save("pool-ceil", cnn(pool_attrs=dict(ceil_mode=1)))
save("pool-pads", cnn(pool_attrs=dict(pads=[2, 2, 2, 2])))


def reflect_pad(m):
    g = m.graph
    g.initializer.append(numpy_helper.from_array(
        np.array([0, 0, 1, 1, 0, 0, 1, 1], np.int64), "pads"))
    g.node.insert(0, h.make_node("Pad", ["x", "pads"], ["xp"], "/Pad",
                                 mode="reflect"))
    g.node[1].input[0] = "xp"


variant("pad-reflect", reflect_pad, cnn(conv_attrs=dict(pads=[0, 0, 0, 0])))


def log_softmax_output(m):
    g = m.graph
    g.node.append(h.make_node("LogSoftmax", ["y"], ["lp"], "/LogSoftmax",
                              axis=1))
    del g.output[:]
    g.output.append(h.make_tensor_value_info("lp", TP.FLOAT, [2, 3]))


variant("cnn-log-softmax", log_softmax_output, cnn())


def input_contradicts_initializer(m):
    # An initializer listed as a graph input (older exporters) with another
    # shape than its data.
    m.graph.input.append(h.make_tensor_value_info("0.bias", TP.FLOAT, [7]))


variant("input-vs-initializer", input_contradicts_initializer)


def many_unused_inputs(m):
    # 20,000 graph inputs no node reads: not arguments (compiling them was
    # quadratic in memory, 1 GB at 4,000).
    m.graph.input.extend(h.make_tensor_value_info("u%d" % i, TP.FLOAT, [4])
                         for i in range(20000))


variant("many-unused-inputs", many_unused_inputs)
