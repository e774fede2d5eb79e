#!/usr/bin/env python3
"""Generates the fixtures for external data and the ops of modern models (issue: transformers).

Run with the same venv as make_fixtures.py:
    /work/venv/bin/python Tests/GraphFuseONNXTests/Fixtures/make_modern_fixtures.py

Writes NAME.onnx (+ NAME.onnx.data for external data), NAME.input.bin and NAME.output.bin
next to this script; goldens come from onnxruntime. error_* models have no goldens.
"""
import os
import sys

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
rng = np.random.default_rng(20261130)


def rand(*shape, lo=-1.0, hi=1.0):
    return rng.uniform(lo, hi, size=shape).astype(np.float32)


def init(name, array):
    return numpy_helper.from_array(np.asarray(array), name)


def ints(name, values):
    return numpy_helper.from_array(np.asarray(values, dtype=np.int64), name)


def vi(name, shape, elem=TensorProto.FLOAT):
    return helper.make_tensor_value_info(name, elem, shape)


def model_of(name, nodes, inputs, outputs, inits, opset):
    graph = helper.make_graph(nodes, name, inputs, outputs, inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    return model


def golden(name, path, x):
    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    sess = ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])
    y = sess.run(None, {sess.get_inputs()[0].name: x})[0]
    x.astype("<f4").tofile(os.path.join(HERE, name + ".input.bin"))
    np.asarray(y, dtype="<f4").tofile(os.path.join(HERE, name + ".output.bin"))
    print(f"{name}: input {list(x.shape)} output {list(np.shape(y))}")


def save(name, nodes, inputs, outputs, inits, opset, x):
    path = os.path.join(HERE, name + ".onnx")
    onnx.save(model_of(name, nodes, inputs, outputs, inits, opset), path)
    golden(name, path, x)


def external_data():
    """A conv + gemm model whose weights live in external_weights.onnx.data (offsets, lengths)."""
    name = "external_weights"
    nodes = [
        helper.make_node("Conv", ["x", "w", "b"], ["c"], name="conv", pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c"], ["r"], name="relu"),
        helper.make_node("Flatten", ["r"], ["f"], name="flatten"),
        helper.make_node("Gemm", ["f", "fc_w", "fc_b"], ["y"], name="fc", transB=1),
    ]
    inits = [init("w", rand(4, 3, 3, 3)), init("b", rand(4)), init("fc_w", rand(5, 4 * 5 * 5)), init("fc_b", rand(5))]
    model = model_of(name, nodes, [vi("x", [1, 3, 5, 5])], [vi("y", [1, 5])], inits, 18)
    path = os.path.join(HERE, name + ".onnx")
    onnx.save(model, path, save_as_external_data=True, all_tensors_to_one_file=True,
              location=name + ".onnx.data", size_threshold=0)
    golden(name, path, rand(1, 3, 5, 5))
    # Broken variants: the same weights, with a location or range that must be refused.
    for suffix, location, offset, length in [
        ("escape", "../" + name + ".onnx.data", None, None),
        ("absolute", "/tmp/" + name + ".onnx.data", None, None),
        ("short", name + ".onnx.data", 64, 1 << 20),
    ]:
        broken = onnx.load(path, load_external_data=False)
        t = broken.graph.initializer[0]
        del t.external_data[:]
        for key, value in [("location", location), ("offset", offset), ("length", length)]:
            if value is not None:
                entry = t.external_data.add()
                entry.key, entry.value = key, str(value)
        onnx.save(broken, os.path.join(HERE, "error_external_" + suffix + ".onnx"))
        print("error_external_" + suffix)


if __name__ == "__main__":
    wanted = sys.argv[1:]
    for fn in [external_data]:
        if not wanted or fn.__name__ in wanted:
            fn()
