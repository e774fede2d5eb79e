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


def const(out, array):
    return helper.make_node("Constant", [], [out], value=numpy_helper.from_array(np.asarray(array)))


def transformer_block():
    """Opset 20 (the default exporter): a pre-norm attention block with every new op at runtime."""
    n = helper.make_node
    nodes = [
        n("LayerNormalization", ["x", "ln1_s", "ln1_b"], ["ln1"], name="ln1", axis=-1, epsilon=1e-5),
        n("MatMul", ["ln1", "w_qkv"], ["qkv0"], name="qkv"),
        n("Add", ["qkv0", "b_qkv"], ["qkv1"], name="qkv_bias"),
        n("Split", ["qkv1"], ["q", "k", "v"], name="split", axis=2, num_outputs=3),
    ]
    for t in "qkv":
        nodes += [n("Reshape", [t, "heads"], [t + "r"], name=t + "_reshape"),
                  n("Transpose", [t + "r"], [t + "h"], name=t + "_heads", perm=[0, 2, 1, 3])]
    nodes += [
        n("Einsum", ["qh", "kh"], ["scores"], name="scores", equation="b h i d, b h j d -> b h i j"),
        n("Mul", ["scores", "scale"], ["scaled"], name="scale"),
        n("Where", ["causal", "scaled", "neg_big"], ["masked"], name="mask"),
        n("Softmax", ["masked"], ["attn"], name="softmax", axis=-1),
        n("MatMul", ["attn", "vh"], ["ctx"], name="ctx"),
        n("Transpose", ["ctx"], ["ctx_t"], name="merge_t", perm=[0, 2, 1, 3]),
        n("Reshape", ["ctx_t", "merged_shape"], ["merged"], name="merge"),
        n("Add", ["x", "merged"], ["h"], name="residual1"),
        n("LayerNormalization", ["h", "ln2_s"], ["ln2"], name="ln2", axis=-1, epsilon=1e-6),
        n("MatMul", ["ln2", "w1"], ["m1"], name="fc1"),
        n("Gelu", ["m1"], ["g_exact"], name="gelu_exact"),
        n("Gelu", ["m1"], ["g_tanh"], name="gelu_tanh", approximate="tanh"),
        n("Add", ["g_exact", "g_tanh"], ["g"], name="gelu_sum"),
        n("MatMul", ["g", "w2"], ["m2"], name="fc2"),
        n("Add", ["h", "m2"], ["y0"], name="residual2"),
        # Comparisons, selects and the rest on runtime tensors.
        n("Relu", ["y0"], ["pos"], name="relu"),
        n("Equal", ["pos", "zero"], ["is_zero"], name="equal"),
        n("Not", ["is_zero"], ["positive"], name="not"),
        n("Erf", ["y0"], ["erf"], name="erf"),
        n("Where", ["positive", "y0", "erf"], ["sel"], name="select"),
        n("Mod", ["y0", "mod_b"], ["fm"], name="fmod", fmod=1),
        n("ReduceMean", ["y0", "axis2"], ["mean"], name="mean", keepdims=1),
        n("Expand", ["mean", "full_shape"], ["mean_x"], name="expand"),
        n("Add", ["sel", "fm"], ["s1"], name="sum1"),
        n("Add", ["s1", "mean_x"], ["y"], name="sum2"),
    ]
    d, hidden = 8, 16
    inits = [
        init("ln1_s", rand(d, lo=0.5, hi=1.5)), init("ln1_b", rand(d)), init("w_qkv", rand(d, 3 * d)),
        init("b_qkv", rand(3 * d)), ints("heads", [2, 5, 2, 4]), init("scale", np.float32(0.5)),
        init("causal", np.tril(np.ones((5, 5), dtype=bool))), init("neg_big", np.float32(-1e4)),
        ints("merged_shape", [2, 5, d]), init("ln2_s", rand(d, lo=0.5, hi=1.5)), init("w1", rand(d, hidden)),
        init("w2", rand(hidden, d)), init("zero", np.float32(0)), init("mod_b", np.float32(0.7)),
        ints("axis2", [2]), ints("full_shape", [2, 5, d]),
    ]
    save("transformer_block", nodes, [vi("x", [2, 5, d])], [vi("y", None)], inits, 20, rand(2, 5, d, lo=-2, hi=2))


def mask_ops():
    """Opset 17 (the TorchScript exporter): shape and mask arithmetic that folds at import."""
    n = helper.make_node
    nodes = [
        # Swin-style attention mask: regions written by ScatterND, compared, selected.
        n("ConstantOfShape", ["mask_shape"], ["zeros"], name="zeros",
          value=numpy_helper.from_array(np.array([0], dtype=np.int64))),
        n("ScatterND", ["zeros", "region_idx", "region_val"], ["regions"], name="scatter"),
        n("Range", ["r0", "r4", "r1"], ["ar"], name="range"),
        n("Mod", ["ar", "two"], ["parity"], name="mod"),
        n("Unsqueeze", ["parity", "ax0"], ["parity_row"], name="parity_row"),
        n("Add", ["regions", "parity_row"], ["labels"], name="labels"),
        n("Unsqueeze", ["labels", "ax1"], ["la"], name="la"),
        n("Unsqueeze", ["labels", "ax2"], ["lb"], name="lb"),
        n("Sub", ["la", "lb"], ["diff"], name="diff"),
        n("Equal", ["diff", "zero_i"], ["same"], name="same"),
        n("Not", ["same"], ["other"], name="other"),
        n("Cast", ["diff"], ["diff_f"], name="diff_f", to=TensorProto.FLOAT),
        n("Where", ["other", "minus100", "diff_f"], ["mask0"], name="mask0"),
        n("Where", ["same", "zero_f", "mask0"], ["mask"], name="mask"),
        # ViT-style class token: Expand to a shape computed by Shape/Equal/Where.
        n("Shape", ["x"], ["xs"], name="shape"),
        n("Gather", ["xs", "idx0"], ["batch"], name="batch"),
        n("Concat", ["batch", "minus1", "minus1"], ["tok_shape0"], name="tok_shape0", axis=0),
        n("Equal", ["tok_shape0", "minus1_3"], ["is_m1"], name="is_m1"),
        n("Where", ["is_m1", "ones3", "tok_shape0"], ["tok_shape"], name="tok_shape"),
        n("Expand", ["cls", "tok_shape"], ["tok"], name="tok"),
        n("Concat", ["tok", "x"], ["seq"], name="cat", axis=1),
        # Exact GELU as exported before opset 20: x * 0.5 * (1 + erf(x / sqrt 2)).
        n("Div", ["seq", "sqrt2"], ["xs2"], name="div"),
        n("Erf", ["xs2"], ["e"], name="erf"),
        n("Add", ["e", "one"], ["e1"], name="add1"),
        n("Mul", ["seq", "e1"], ["xe"], name="mul1"),
        n("Mul", ["xe", "half"], ["gelu"], name="mul2"),
        # Layer norm over the last two axes (not a row: the generic path).
        n("LayerNormalization", ["gelu", "ln_s", "ln_b"], ["ln"], name="ln", axis=-2, epsilon=1e-5),
        n("MatMul", ["mask", "ln"], ["y"], name="mix"),
    ]
    inits = [
        ints("mask_shape", [5]), ints("region_idx", [[1], [3]]), ints("region_val", [4, 9]),
        ints("r0", 0), ints("r4", 5), ints("r1", 1), ints("two", [2]), ints("ax0", [0]), ints("ax1", [2]),
        ints("ax2", [1]), ints("zero_i", 0), init("minus100", np.float32(-100)), init("zero_f", np.float32(0)),
        ints("idx0", [0]), ints("minus1", [-1]), ints("minus1_3", [-1, -1, -1]), ints("ones3", [1, 1, 1]),
        init("cls", rand(1, 1, 6)), init("sqrt2", np.float32(np.sqrt(2))), init("one", np.float32(1)),
        init("half", np.float32(0.5)), init("ln_s", rand(5, 6, lo=0.5, hi=1.5)), init("ln_b", rand(6)),
    ]
    save("mask_ops", nodes, [vi("x", [1, 4, 6])], [vi("y", None)], inits, 17, rand(1, 4, 6, lo=-2, hi=2))


def windows_1d():
    """Opset 18: 1-d Conv (pads, strides, dilations, groups, bias, SAME_UPPER) and 1-d pooling."""
    n = helper.make_node
    nodes = [
        n("Conv", ["x", "w1", "b1"], ["c1"], name="conv1", pads=[2, 1], strides=[2], dilations=[2], group=2),
        n("Relu", ["c1"], ["r1"], name="relu1"),
        n("Conv", ["r1", "w2"], ["c2"], name="conv2", auto_pad="SAME_UPPER", strides=[2]),
        n("MaxPool", ["c2"], ["p1"], name="maxpool", kernel_shape=[3], strides=[2], pads=[1, 1], ceil_mode=1),
        n("AveragePool", ["c2"], ["p2"], name="avgpool", kernel_shape=[3], strides=[2], pads=[1, 1], ceil_mode=1,
          count_include_pad=1),
        n("Add", ["p1", "p2"], ["y"], name="add"),
    ]
    inits = [init("w1", rand(6, 2, 3)), init("b1", rand(6)), init("w2", rand(5, 6, 4))]
    save("windows_1d", nodes, [vi("x", [2, 4, 19])], [vi("y", None)], inits, 18, rand(2, 4, 19))


def resize():
    """Opset 18 Resize: nearest and linear with each coordinate transformation, scales and sizes."""
    n = helper.make_node
    nodes = [
        n("Resize", ["x", "", "s2"], ["a"], name="nearest_asym", mode="nearest",
          coordinate_transformation_mode="asymmetric", nearest_mode="floor"),
        n("Resize", ["a", "", "", "size_a"], ["b"], name="nearest_half", mode="nearest"),
        n("Resize", ["x", "", "", "size_b"], ["c"], name="linear_half", mode="linear"),
        n("Resize", ["x", "", "", "size_b"], ["d"], name="linear_align", mode="linear",
          coordinate_transformation_mode="align_corners"),
        n("Resize", ["x", "", "", "size_b"], ["e"], name="linear_torch", mode="linear",
          coordinate_transformation_mode="pytorch_half_pixel"),
        n("Resize", ["x", "", "s_down"], ["f0"], name="nearest_down", mode="nearest", nearest_mode="round_prefer_ceil"),
        n("Resize", ["f0", "", "", "size_b"], ["f"], name="linear_up", mode="linear"),
        n("Add", ["b", "c"], ["s1"], name="add1"),
        n("Add", ["s1", "d"], ["s2_"], name="add2"),
        n("Add", ["s2_", "e"], ["s3"], name="add3"),
        n("Add", ["s3", "f"], ["y"], name="add4"),
    ]
    inits = [
        init("s2", np.array([1, 1, 2, 2], dtype=np.float32)), ints("size_a", [1, 3, 7, 9]),
        ints("size_b", [1, 3, 7, 9]), init("s_down", np.array([1, 1, 0.6, 0.5], dtype=np.float32)),
    ]
    save("resize", nodes, [vi("x", [1, 3, 5, 6])], [vi("y", None)], inits, 18, rand(1, 3, 5, 6))


if __name__ == "__main__":
    wanted = sys.argv[1:]
    for fn in [external_data, transformer_block, mask_ops, windows_1d, resize]:
        if not wanted or fn.__name__ in wanted:
            fn()
