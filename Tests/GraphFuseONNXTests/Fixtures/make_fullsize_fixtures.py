#!/usr/bin/env python3
"""Generates the fixtures for ops that full-size torchvision exports use beyond the minis
(Swin V2's cosine attention: ReduceL2 for F.normalize, GatherND for the relative-position table).

Run with a venv that has onnx, onnxruntime and numpy:
    python Tests/GraphFuseONNXTests/Fixtures/make_fullsize_fixtures.py

Writes NAME.onnx, NAME.input.bin and NAME.output.bin next to this script; goldens come from
onnxruntime. Not run by the build or the tests.
"""
import os

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
rng = np.random.default_rng(20261130)


def ints(name, values):
    return numpy_helper.from_array(np.asarray(values, dtype=np.int64), name)


def save(name, nodes, x, inits, opset):
    graph = helper.make_graph(nodes, name, [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(x.shape))],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    path = os.path.join(HERE, name + ".onnx")
    onnx.save(model, path)
    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    sess = ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])
    y = sess.run(None, {"x": x})[0]
    x.astype("<f4").tofile(os.path.join(HERE, name + ".input.bin"))
    np.asarray(y, dtype="<f4").tofile(os.path.join(HERE, name + ".output.bin"))
    print(f"{name}: input {list(x.shape)} output {list(np.shape(y))}")


def flat_concat(parts):
    """Each part reshaped to [1, -1], then concatenated: one output for the golden check."""
    nodes = [helper.make_node("Reshape", [p, "row"], [p + "_row"], name=p + "_row") for p in parts]
    nodes.append(helper.make_node("Concat", [p + "_row" for p in parts], ["y"], name="out", axis=1))
    return nodes


def gather_nd_norms():
    """Opset 18: F.normalize (ReduceL2 with an axes input, Clip, Expand, Div), ReduceSumSquare,
    GatherND on runtime data with 1- and 2-component indices (negative ones too) and batch_dims=1."""
    x = rng.uniform(-2, 2, size=(2, 6, 8)).astype(np.float32)
    nodes = [
        helper.make_node("ReduceL2", ["x", "last"], ["norm"], name="norm", keepdims=1),
        helper.make_node("Clip", ["norm", "eps"], ["norm_c"], name="clamp"),
        helper.make_node("Expand", ["norm_c", "xshape"], ["norm_e"], name="expand"),
        helper.make_node("Div", ["x", "norm_e"], ["xn"], name="normalize"),
        helper.make_node("ReduceSumSquare", ["x", "mid"], ["ss"], name="sumsq", keepdims=0),
        helper.make_node("Reshape", ["xn", "table_shape"], ["table"], name="table"),
        helper.make_node("GatherND", ["table", "rows"], ["g1"], name="rows_nd"),
        helper.make_node("GatherND", ["xn", "pairs"], ["g2"], name="pairs_nd"),
        helper.make_node("GatherND", ["xn", "per_batch"], ["g3"], name="batch_nd", batch_dims=1),
    ] + flat_concat(["xn", "ss", "g1", "g2", "g3"])
    inits = [
        ints("last", [-1]), ints("mid", [1]), ints("xshape", [2, 6, 8]), ints("table_shape", [12, 8]),
        numpy_helper.from_array(np.array(1e-12, dtype=np.float32), "eps"),
        ints("rows", [[11], [0], [-1], [5], [5], [-12], [7]]),
        ints("pairs", [[1, 5], [0, -6], [-1, 2]]),
        ints("per_batch", [[[5], [0], [3], [-2]], [[1], [1], [4], [0]]]),
        ints("row", [1, -1]),
    ]
    save("gather_nd_norms", nodes, x, inits, 18)


def square_reductions_13():
    """Opset 13: ReduceL2 / ReduceSumSquare with axes attributes, keepdims 0 and 1, all axes."""
    x = rng.uniform(-2, 2, size=(2, 3, 4, 5)).astype(np.float32)
    nodes = [
        helper.make_node("ReduceL2", ["x"], ["l2_hw"], name="l2_hw", axes=[2, 3], keepdims=0),
        helper.make_node("ReduceL2", ["x"], ["l2_all"], name="l2_all", keepdims=1),
        helper.make_node("ReduceSumSquare", ["x"], ["ss_c"], name="ss_c", axes=[-3], keepdims=1),
    ] + flat_concat(["l2_hw", "l2_all", "ss_c"])
    save("square_reductions_13", nodes, x, [ints("row", [1, -1])], 13)


if __name__ == "__main__":
    gather_nd_norms()
    square_reductions_13()
