"""Writes ONNX models whose names are hostile to a C header: initializers
and inputs named after C keywords and after the names nnc derives from
parameters (new_W, W_m, grad_norm_W, lr, step), and a file named int.onnx.
Every generated header must still compile (c-header-names.test)."""

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


def mlp(path, x, w1, b1, w2, b2):
    nodes = [
        h.make_node("Gemm", [x, w1, b1], ["h"], "/0/Gemm", transB=1),
        h.make_node("Relu", ["h"], ["a"], "/1/Relu"),
        h.make_node("Gemm", ["a", w2, b2], ["y"], "/2/Gemm", transB=1),
    ]
    graph = h.make_graph(
        nodes, "g", [h.make_tensor_value_info(x, TP.FLOAT, [4, 8])],
        [h.make_tensor_value_info("y", TP.FLOAT, [4, 3])],
        [init(w1, 16, 8), init(b1, 16), init(w2, 3, 16), init(b2, 3)])
    onnx.save(h.make_model(graph, opset_imports=[h.make_opsetid("", 13)]),
              os.path.join(out, path))


mlp("int.onnx", "float", "int", "return", "if", "while")
mlp("derived.onnx", "step", "W", "lr", "new_W", "W_m")
mlp("grad.onnx", "int64_t", "grad_norm_W", "W_velocity", "W", "class")
