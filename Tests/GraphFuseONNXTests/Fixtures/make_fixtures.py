#!/usr/bin/env python3
"""Generates the small ONNX fixtures of GraphFuseONNXTests and their golden outputs.

Run from anywhere with a venv outside the repository:
    python3 -m venv /work/venv && /work/venv/bin/pip install onnx onnxruntime numpy
    /work/venv/bin/python Tests/GraphFuseONNXTests/Fixtures/make_fixtures.py

For each model NAME it writes NAME.onnx, NAME.input.bin and NAME.output.bin (raw
little-endian float32) next to this script. Goldens come from onnxruntime, except the
training-mode batch norm, which onnxruntime's inference build does not run (numpy).
Models named error_*.onnx are deliberately broken and have no golden files.
"""
import os

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
rng = np.random.default_rng(20261121)
I64_MAX = np.iinfo(np.int64).max


def rand(*shape, lo=-1.0, hi=1.0):
    return rng.uniform(lo, hi, size=shape).astype(np.float32)


def init(name, array):
    return numpy_helper.from_array(np.asarray(array), name)


def ints(name, values):
    return numpy_helper.from_array(np.asarray(values, dtype=np.int64), name)


def const(out, array):
    return helper.make_node("Constant", [], [out], value=numpy_helper.from_array(np.asarray(array)))


def save(name, nodes, inputs, outputs, inits, opset, x, golden=None):
    graph = helper.make_graph(nodes, name, inputs, outputs, inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    path = os.path.join(HERE, name + ".onnx")
    onnx.save(model, path)
    if golden is None:
        opts = ort.SessionOptions()
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
        sess = ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])
        golden = sess.run(None, {inputs[0].name: x})[0]
    x.astype("<f4").tofile(os.path.join(HERE, name + ".input.bin"))
    np.asarray(golden, dtype="<f4").tofile(os.path.join(HERE, name + ".output.bin"))
    print(f"{name}: input {list(x.shape)} output {list(np.shape(golden))}")


def vi(name, shape, elem=TensorProto.FLOAT):
    return helper.make_tensor_value_info(name, elem, shape)


def bn_params(prefix, c):
    return [init(f"{prefix}.scale", rand(c, lo=0.5, hi=1.5)), init(f"{prefix}.bias", rand(c)),
            init(f"{prefix}.mean", rand(c)), init(f"{prefix}.var", rand(c, lo=0.5, hi=2.0))]


def bn_inputs(prefix):
    return [f"{prefix}.{k}" for k in ("scale", "bias", "mean", "var")]


def conv_bn_relu():
    """Conv (stride 2, pads) + inference BatchNormalization + Relu, opset 17, symbolic batch."""
    nodes = [
        helper.make_node("Conv", ["x", "w", "b"], ["c"], name="conv", kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1]),
        helper.make_node("BatchNormalization", ["c"] + bn_inputs("bn"), ["n"], name="bn", epsilon=1e-5),
        helper.make_node("Relu", ["n"], ["y"], name="relu"),
    ]
    inits = [init("w", rand(6, 3, 3, 3)), init("b", rand(6))] + bn_params("bn", 6)
    save("conv_bn_relu", nodes, [vi("x", ["N", 3, 9, 9])], [vi("y", None)], inits, 17, rand(1, 3, 9, 9))


def shuffle_reshape():
    """ShuffleNet channel shuffle: Shape → Gather → Div → Unsqueeze → Concat → Reshape, opset 13."""
    nodes = [
        helper.make_node("Conv", ["x", "w"], ["c"], name="conv", kernel_shape=[1, 1]),
        helper.make_node("Shape", ["c"], ["s"], name="shape"),
        helper.make_node("Gather", ["s", "i0"], ["n"], name="gather_n", axis=0),
        helper.make_node("Gather", ["s", "i1"], ["ch"], name="gather_c", axis=0),
        helper.make_node("Gather", ["s", "i2"], ["h"], name="gather_h", axis=0),
        helper.make_node("Gather", ["s", "i3"], ["w_"], name="gather_w", axis=0),
        helper.make_node("Div", ["ch", "groups"], ["cpg"], name="div"),
        helper.make_node("Unsqueeze", ["n", "axes0"], ["n1"], name="unsq_n"),
        helper.make_node("Unsqueeze", ["cpg", "axes0"], ["cpg1"], name="unsq_cpg"),
        helper.make_node("Unsqueeze", ["h", "axes0"], ["h1"], name="unsq_h"),
        helper.make_node("Unsqueeze", ["w_", "axes0"], ["w1"], name="unsq_w"),
        helper.make_node("Concat", ["n1", "g1", "cpg1", "h1", "w1"], ["shape5"], name="concat5", axis=0),
        helper.make_node("Reshape", ["c", "shape5"], ["r5"], name="reshape5"),
        helper.make_node("Transpose", ["r5"], ["t5"], name="transpose", perm=[0, 2, 1, 3, 4]),
        helper.make_node("Concat", ["n1", "minus1", "h1", "w1"], ["shape4"], name="concat4", axis=0),
        helper.make_node("Reshape", ["t5", "shape4"], ["y"], name="reshape4"),
    ]
    inits = [init("w", rand(8, 4, 1, 1)), ints("i0", 0), ints("i1", 1), ints("i2", 2), ints("i3", 3),
             ints("groups", 2), ints("axes0", [0]), ints("g1", [2]), ints("minus1", [-1])]
    save("shuffle_reshape", nodes, [vi("x", [1, 4, 5, 5])], [vi("y", None)], inits, 13, rand(1, 4, 5, 5))


def activations():
    """Clip with Cast(Constant) bounds, LeakyRelu, HardSigmoid, HardSwish, Sigmoid, Tanh, Exp, opset 14."""
    nodes = [
        const("lo_i", np.array(0, dtype=np.int64)), const("hi_d", np.array(6.0, dtype=np.float64)),
        helper.make_node("Cast", ["lo_i"], ["lo"], name="cast_lo", to=TensorProto.FLOAT),
        helper.make_node("Cast", ["hi_d"], ["hi"], name="cast_hi", to=TensorProto.FLOAT),
        helper.make_node("Mul", ["x", "k"], ["xs"], name="scale"),
        helper.make_node("Clip", ["xs", "lo", "hi"], ["a"], name="relu6"),
        helper.make_node("LeakyRelu", ["xs"], ["b"], name="leaky", alpha=0.1),
        helper.make_node("HardSigmoid", ["xs"], ["c"], name="hsig", alpha=0.25, beta=0.4),
        helper.make_node("HardSwish", ["xs"], ["d"], name="hswish"),
        helper.make_node("Sigmoid", ["a"], ["e"], name="sig"),
        helper.make_node("Tanh", ["b"], ["f"], name="tanh"),
        helper.make_node("Exp", ["c"], ["g"], name="exp"),
        helper.make_node("Clip", ["xs", "", "hi"], ["h"], name="clip_max_only"),
        helper.make_node("Concat", ["a", "b", "c", "d", "e", "f", "g", "h"], ["y"], name="concat", axis=1),
    ]
    save("activations", nodes, [vi("x", [2, 3, 4])], [vi("y", None)], [init("k", np.float32(8.0))], 14, rand(2, 3, 4))


def gemm_bn1d():
    """Gemm (transB) + BatchNormalization over [N, C] + Softmax, opset 15."""
    nodes = [
        helper.make_node("Gemm", ["x", "w", "b"], ["g"], name="fc", transB=1, alpha=1.0, beta=1.0),
        helper.make_node("BatchNormalization", ["g"] + bn_inputs("bn"), ["n"], name="bn"),
        helper.make_node("Softmax", ["n"], ["y"], name="softmax", axis=-1),
    ]
    inits = [init("w", rand(7, 10)), init("b", rand(7))] + bn_params("bn", 7)
    save("gemm_bn1d", nodes, [vi("x", [3, 10])], [vi("y", None)], inits, 15, rand(3, 10))


def pooling():
    """MaxPool / AveragePool with ceil_mode, count_include_pad, SAME_UPPER conv, global pool, opset 17."""
    nodes = [
        helper.make_node("MaxPool", ["x"], ["m"], name="maxpool", kernel_shape=[3, 3], strides=[2, 2], ceil_mode=1),
        helper.make_node("AveragePool", ["x"], ["a"], name="avgpool", kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1], ceil_mode=1),
        helper.make_node("AveragePool", ["x"], ["ai"], name="avgpool_incl", kernel_shape=[2, 3], strides=[2, 1], pads=[1, 0, 1, 1], count_include_pad=1),
        helper.make_node("Conv", ["x", "w"], ["c"], name="conv_same", kernel_shape=[3, 3], strides=[2, 2], auto_pad="SAME_UPPER"),
        helper.make_node("GlobalAveragePool", ["x"], ["gp"], name="gap"),
        helper.make_node("Flatten", ["m"], ["fm"], name="flat_m"),
        helper.make_node("Flatten", ["a"], ["fa"], name="flat_a"),
        helper.make_node("Flatten", ["ai"], ["fai"], name="flat_ai"),
        helper.make_node("Flatten", ["c"], ["fc"], name="flat_c"),
        helper.make_node("Flatten", ["gp"], ["fg"], name="flat_g"),
        helper.make_node("Concat", ["fm", "fa", "fai", "fc", "fg"], ["y"], name="concat", axis=1),
    ]
    save("pooling", nodes, [vi("x", [1, 4, 9, 8])], [vi("y", None)], [init("w", rand(2, 4, 3, 3))], 17, rand(1, 4, 9, 8))


def slice_pad_concat():
    """Slice (inputs, negative steps, INT64_MAX ends), Pad with axes, ReduceMean with axes input,
    MatMul, arithmetic, Transpose, runtime Gather and Squeeze, opset 18."""
    nodes = [
        helper.make_node("Slice", ["x", "s_starts", "s_ends", "s_axes", "s_steps"], ["sl"], name="slice"),
        helper.make_node("Slice", ["x", "r_starts", "r_ends", "r_axes", "r_steps"], ["rev"], name="slice_rev"),
        helper.make_node("Pad", ["sl", "pads", "pad_value", "pad_axes"], ["pd"], name="pad", mode="constant"),
        helper.make_node("Concat", ["pd", "rev"], ["cat"], name="concat", axis=1),
        helper.make_node("Transpose", ["cat"], ["tr"], name="transpose", perm=[0, 2, 3, 1]),
        helper.make_node("MatMul", ["tr", "mm"], ["mmo"], name="matmul"),
        helper.make_node("ReduceMean", ["mmo", "rm_axes"], ["mean"], name="mean", keepdims=1),
        helper.make_node("Sub", ["mmo", "mean"], ["d"], name="sub"),
        helper.make_node("Mul", ["d", "d"], ["sq"], name="square"),
        helper.make_node("Add", ["sq", "eps"], ["sqe"], name="add_eps"),
        helper.make_node("Sqrt", ["sqe"], ["sd"], name="sqrt"),
        helper.make_node("Pow", ["sd", "two"], ["p"], name="pow"),
        helper.make_node("Div", ["d", "p"], ["q"], name="div"),
        helper.make_node("Neg", ["q"], ["nq"], name="neg"),
        helper.make_node("Gather", ["nq", "gidx"], ["ga"], name="gather", axis=3),
        helper.make_node("Gather", ["ga", "gone"], ["g1"], name="gather_scalar", axis=0),
        helper.make_node("Unsqueeze", ["g1", "uaxes"], ["u"], name="unsqueeze"),
        helper.make_node("Squeeze", ["u", "uaxes"], ["y"], name="squeeze"),
    ]
    inits = [
        ints("s_starts", [1, 1]), ints("s_ends", [I64_MAX, -1]), ints("s_axes", [2, 3]), ints("s_steps", [2, 1]),
        ints("r_starts", [-1]), ints("r_ends", [-I64_MAX]), ints("r_axes", [1]), ints("r_steps", [-1]),
        ints("pads", [1, 0, 2, 2]), init("pad_value", np.float32(0.5)), ints("pad_axes", [2, 3]),
        init("mm", rand(6, 3)), ints("rm_axes", [-1]), init("eps", np.float32(1e-3)), init("two", np.float32(2.0)),
        ints("gidx", [[2, 0], [1, 1]]), ints("gone", 0), ints("uaxes", [0]),
    ]
    save("slice_pad_concat", nodes, [vi("x", [1, 3, 6, 7])], [vi("y", None)], inits, 18, rand(1, 3, 6, 7))


def bn_training():
    """Conv + BatchNormalization training_mode=1 (batch statistics; 3 outputs, 1 used) + Relu, opset 15."""
    x = rand(3, 2, 5, 5)
    w = rand(4, 2, 3, 3)
    scale, bias = rand(4, lo=0.5, hi=1.5), rand(4)
    nodes = [
        helper.make_node("Conv", ["x", "w"], ["c"], name="conv", kernel_shape=[3, 3]),
        helper.make_node("BatchNormalization", ["c"] + bn_inputs("bn"), ["n", "rm", "rv"], name="bn", training_mode=1, epsilon=1e-5),
        helper.make_node("Relu", ["n"], ["y"], name="relu"),
    ]
    inits = [init("w", w), init("bn.scale", scale), init("bn.bias", bias), init("bn.mean", rand(4)), init("bn.var", rand(4, lo=0.5, hi=2))]
    c = np.zeros((3, 4, 3, 3), dtype=np.float64)
    for i in range(3):
        for j in range(3):
            c[:, :, i, j] = np.einsum("nchw,ochw->no", x[:, :, i:i + 3, j:j + 3].astype(np.float64), w.astype(np.float64))
    mean, var = c.mean(axis=(0, 2, 3)), c.var(axis=(0, 2, 3))
    n = (c - mean[None, :, None, None]) / np.sqrt(var[None, :, None, None] + 1e-5) * scale[None, :, None, None] + bias[None, :, None, None]
    save("bn_training", nodes, [vi("x", [3, 2, 5, 5])], [vi("y", None)], inits, 15, x, golden=np.maximum(n, 0))


def conv_transpose_old_opset():
    """ConvTranspose (group 2, stride 2, output_padding) then opset-9 style attribute ops:
    Clip min/max attributes, Slice/Unsqueeze/ReduceMean axes attributes, Pad pads attribute,
    Softmax over flattened trailing axes, Dropout."""
    nodes = [
        helper.make_node("ConvTranspose", ["x", "w", "b"], ["ct"], name="deconv", kernel_shape=[3, 3], strides=[2, 2],
                         pads=[1, 1, 1, 1], output_padding=[1, 0], group=2),
        helper.make_node("Clip", ["ct"], ["cl"], name="clip", min=-0.5, max=0.75),
        helper.make_node("Slice", ["cl"], ["sl"], name="slice", starts=[1, 0], ends=[1000, -1], axes=[2, 3]),
        helper.make_node("Pad", ["sl"], ["pd"], name="pad", pads=[0, 0, 1, 0, 0, 0, 0, 2], value=0.25),
        helper.make_node("ReduceMean", ["pd"], ["rm"], name="mean", axes=[3], keepdims=0),
        helper.make_node("Unsqueeze", ["rm"], ["u"], name="unsqueeze", axes=[0]),
        helper.make_node("Dropout", ["u"], ["dr"], name="dropout"),
        helper.make_node("Softmax", ["dr"], ["y"], name="softmax", axis=2),
    ]
    inits = [init("w", rand(4, 3, 3, 3)), init("b", rand(6))]
    save("conv_transpose_old_opset", nodes, [vi("x", [1, 4, 3, 4])], [vi("y", None)], inits, 9, rand(1, 4, 3, 4))


def misc_ops():
    """SAME_LOWER conv, ConvTranspose output_shape, GlobalMaxPool, ReduceSum axes input,
    variadic Max/Min/Sum, ConstantOfShape, Size, Shape start/end, INT64_MAX through Concat,
    single-axis Softmax, opset 15."""
    nodes = [
        helper.make_node("Conv", ["x", "w"], ["c"], name="conv_same_lower", kernel_shape=[3, 3], strides=[2, 2], auto_pad="SAME_LOWER"),
        helper.make_node("ConvTranspose", ["c", "wt"], ["ct"], name="deconv_shape", kernel_shape=[3, 3], strides=[2, 2],
                         output_shape=[7, 6]),
        helper.make_node("GlobalMaxPool", ["x"], ["gm"], name="gmp"),
        helper.make_node("ReduceSum", ["x", "rs_axes"], ["rs"], name="rsum", keepdims=0),
        helper.make_node("Min", ["x", "hi"], ["mn"], name="min2"),
        helper.make_node("Sum", ["x", "ct", "mn"], ["ct_sum"], name="sum3"),
        helper.make_node("Max", ["x", "lo", "ct_sum"], ["mx"], name="max3"),
        helper.make_node("Shape", ["x"], ["shp"], name="shape_all"),
        helper.make_node("ConstantOfShape", ["shp"], ["half"], name="cos", value=numpy_helper.from_array(np.array([0.5], dtype=np.float32))),
        helper.make_node("Size", ["x"], ["sz"], name="size"),
        helper.make_node("Cast", ["sz"], ["szf"], name="cast_size", to=TensorProto.FLOAT),
        helper.make_node("Div", ["half", "szf"], ["tiny"], name="div_size"),
        helper.make_node("Add", ["mx", "tiny"], ["a"], name="add_tiny"),
        helper.make_node("Shape", ["x"], ["hw"], name="shape_hw", start=2),
        helper.make_node("Unsqueeze", ["big", "axes0"], ["big1"], name="unsq_big"),
        helper.make_node("Concat", ["big1", "six"], ["ends"], name="concat_ends", axis=0),
        helper.make_node("Slice", ["a", "starts", "ends", "sl_axes"], ["sl"], name="slice_big"),
        helper.make_node("Reshape", ["sl", "hw_shape"], ["r"], name="reshape_hw"),
        helper.make_node("Softmax", ["r", ], ["sm"], name="softmax_axis1", axis=1),
        helper.make_node("Flatten", ["sm"], ["f1"], name="f1"),
        helper.make_node("Flatten", ["gm"], ["f2"], name="f2"),
        helper.make_node("Flatten", ["rs"], ["f3"], name="f3"),
        helper.make_node("Concat", ["f1", "f2", "f3"], ["y"], name="concat", axis=1),
    ]
    inits = [
        init("w", rand(2, 3, 3, 3)), init("wt", rand(2, 3, 3, 3)), ints("rs_axes", [2]),
        init("lo", np.float32(-0.3)), init("hi", np.float32(0.4)), ints("big", I64_MAX), ints("axes0", [0]),
        ints("six", [6]), ints("starts", [1, 0]), ints("sl_axes", [1, 2]), ints("hw_shape", [1, 0, -1]),
    ]
    save("misc_ops", nodes, [vi("x", [1, 3, 7, 6])], [vi("y", None)], inits, 15, rand(1, 3, 7, 6))


def split_shuffle():
    """ShuffleNetV2 unit: Split(num_outputs) → branch conv → Concat → channel shuffle by shape
    arithmetic, then Split with sizes as an input, opset 18."""
    nodes = [
        helper.make_node("Split", ["x"], ["a", "b"], name="chunk", axis=1, num_outputs=2),
        helper.make_node("Conv", ["b", "w"], ["bc"], name="branch_conv", kernel_shape=[1, 1]),
        helper.make_node("Relu", ["bc"], ["br"], name="branch_relu"),
        helper.make_node("Concat", ["a", "br"], ["cat"], name="concat", axis=1),
        helper.make_node("Shape", ["cat"], ["s"], name="shape"),
        helper.make_node("Slice", ["s", "zero", "one", "zero"], ["n"], name="slice_n"),
        helper.make_node("Slice", ["s", "two", "four", "zero"], ["hw"], name="slice_hw"),
        helper.make_node("Concat", ["n", "g", "minus1", "hw"], ["s5"], name="concat_s5", axis=0),
        helper.make_node("Reshape", ["cat", "s5"], ["r5"], name="reshape5"),
        helper.make_node("Transpose", ["r5"], ["t5"], name="shuffle", perm=[0, 2, 1, 3, 4]),
        helper.make_node("Concat", ["n", "minus1", "hw"], ["s4"], name="concat_s4", axis=0),
        helper.make_node("Reshape", ["t5", "s4"], ["sh"], name="reshape4"),
        helper.make_node("Split", ["sh", "sizes"], ["p", "q"], name="split_sizes", axis=1),
        helper.make_node("Mul", ["q", "k"], ["q2"], name="scale_q"),
        helper.make_node("Concat", ["q2", "p"], ["y"], name="concat_out", axis=1),
    ]
    inits = [init("w", rand(4, 4, 1, 1)), ints("zero", [0]), ints("one", [1]), ints("two", [2]), ints("four", [4]),
             ints("g", [2]), ints("minus1", [-1]), ints("sizes", [3, 5]), init("k", np.float32(2.0))]
    save("split_shuffle", nodes, [vi("x", [1, 8, 4, 4])], [vi("y", None)], inits, 18, rand(1, 8, 4, 4))


def error_models():
    """Broken models for the error tests (no golden files)."""
    x = vi("x", [1, 2, 4, 4])

    def raw_save(name, nodes, inits, inputs=None, opset=17, outputs=None):
        graph = helper.make_graph(nodes, name, inputs or [x], outputs or [vi("y", None)], inits)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
        model.ir_version = 8
        onnx.save(model, os.path.join(HERE, name + ".onnx"))
        print(name)

    raw_save("error_unsupported", [
        helper.make_node("Relu", ["x"], ["a"], name="ok"),
        helper.make_node("Erf", ["a"], ["b"], name="erf1"),
        helper.make_node("Erf", ["b"], ["c"], name="erf2"),
        helper.make_node("Resize", ["c", "", "scales"], ["d"], name="resize"),
        helper.make_node("FusedConv", ["d"], ["y"], name="fused", domain="com.microsoft"),
    ], [init("scales", np.array([1, 1, 2, 2], dtype=np.float32))])
    ext = numpy_helper.from_array(rand(2, 2, 1, 1), "w")
    ext.ClearField("raw_data")
    ext.data_location = TensorProto.EXTERNAL
    entry = ext.external_data.add()
    entry.key, entry.value = "location", "weights.bin"
    raw_save("error_external", [helper.make_node("Conv", ["x", "w"], ["y"], name="conv")], [ext])
    raw_save("error_missing_init", [helper.make_node("Conv", ["x", "w_missing"], ["y"], name="conv")], [])
    raw_save("error_float16", [helper.make_node("Conv", ["x", "w"], ["y"], name="conv")],
             [numpy_helper.from_array(rand(2, 2, 1, 1).astype(np.float16), "w")])
    raw_save("error_double_input", [helper.make_node("Relu", ["x"], ["y"], name="relu")], [],
             inputs=[vi("x", [1, 2], TensorProto.DOUBLE)])
    raw_save("error_bn_params", [helper.make_node("BatchNormalization", ["x"] + bn_inputs("bn"), ["y"], name="bn")],
             bn_params("bn", 3))
    raw_save("error_symbolic", [helper.make_node("Relu", ["x"], ["y"], name="relu")], [],
             inputs=[vi("x", ["batch", 3, 4, 4])])


if __name__ == "__main__":
    conv_bn_relu()
    shuffle_reshape()
    activations()
    gemm_bn1d()
    pooling()
    slice_pad_concat()
    bn_training()
    conv_transpose_old_opset()
    misc_ops()
    split_shuffle()
    error_models()
