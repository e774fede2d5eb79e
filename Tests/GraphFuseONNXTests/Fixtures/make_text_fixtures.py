#!/usr/bin/env python3
"""Generates the fixtures for integer and boolean tensors (issue: text transformers).

Run with the same venv as make_fixtures.py:
    /work/venv/bin/python Tests/GraphFuseONNXTests/Fixtures/make_text_fixtures.py

Writes NAME.onnx, NAME.inputK.npy (in each input's own dtype) and NAME.outputK.npy next to this
script; goldens come from onnxruntime with optimizations off.
- text_encoder: a one-layer BERT-like encoder with int64 ids, token types and an attention mask
  with a padded tail, built the way the TorchScript exporter writes masks (Cast to bool, Where
  with the float minimum, softmax, IsNaN -> 0).
- index_ops: Trilu, CumSum (exclusive, reverse, int64), Tile, GatherElements, InstanceNormalization.
- group_norm18 / group_norm21: GroupNormalization with per-group (opset 18) and per-channel (21) affine.
- pow_ops: Pow by 2 and 3 (products, as PyTorch computes them) and by 0.5 (powf).
- typed_ops: every comparison, logic, predicate, rounding and cast op on float and int64
  inputs with NaN, infinities, halves and negatives; an int64, a bool and a float output.
"""
import os

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
rng = np.random.default_rng(20261203)


def init(name, array):
    return numpy_helper.from_array(np.asarray(array), name)


def ints(name, values):
    return numpy_helper.from_array(np.asarray(values, dtype=np.int64), name)


def vi(name, shape, elem=TensorProto.FLOAT):
    return helper.make_tensor_value_info(name, elem, shape)


def save(name, nodes, inputs, outputs, inits, feeds, opset=17):
    graph = helper.make_graph(nodes, name, inputs, outputs, inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    path = os.path.join(HERE, name + ".onnx")
    onnx.save(model, path)
    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    sess = ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])
    results = sess.run(None, dict(zip([i.name for i in inputs], feeds)))
    for k, x in enumerate(feeds):
        np.save(os.path.join(HERE, f"{name}.input{k}.npy"), x)
    for k, y in enumerate(results):
        np.save(os.path.join(HERE, f"{name}.output{k}.npy"), y)
    print(name, [(x.dtype, x.shape) for x in feeds], "->", [(y.dtype, y.shape) for y in results])


def text_encoder():
    vocab, seq, hidden, heads = 50, 16, 32, 2
    head = hidden // heads
    f = lambda *s: rng.normal(0, 0.5, size=s).astype(np.float32)
    inits = [
        init("word", f(vocab, hidden)), init("position", f(seq, hidden)), init("types", f(2, hidden)),
        init("ln_g", 1 + 0.1 * f(hidden)), init("ln_b", 0.1 * f(hidden)),
        init("wq", f(hidden, hidden) / 4), init("wk", f(hidden, hidden) / 4), init("wv", f(hidden, hidden) / 4),
        init("bq", f(hidden) / 10), init("wo", f(hidden, hidden) / 4),
        ints("positions", [list(range(seq))]), ints("heads_shape", [1, seq, heads, head]),
        ints("merge_shape", [1, seq, hidden]), init("scale", np.float32(head ** -0.5)),
        init("minimum", np.float32(np.finfo(np.float32).min)), init("zero", np.float32(0)),
        ints("one", 1),
    ]
    n = helper.make_node
    nodes = [
        n("Gather", ["word", "input_ids"], ["we"]),
        n("Gather", ["position", "positions"], ["pe"]),
        n("Gather", ["types", "token_type_ids"], ["te"]),
        n("Add", ["we", "pe"], ["e1"]), n("Add", ["e1", "te"], ["e2"]),
        n("LayerNormalization", ["e2", "ln_g", "ln_b"], ["h"], axis=-1, epsilon=1e-12),
        # Mask: keys where attention_mask == 1 (as bool), padded keys get the float minimum.
        n("Cast", ["attention_mask"], ["mask_bool"], to=TensorProto.BOOL),
        n("Equal", ["attention_mask", "one"], ["mask_eq"]),
        n("And", ["mask_bool", "mask_eq"], ["keep"]),
        n("Unsqueeze", ["keep", "axes_12"], ["keep4"]),
        n("MatMul", ["h", "wq"], ["q0"]), n("Add", ["q0", "bq"], ["q1"]),
        n("MatMul", ["h", "wk"], ["k0"]), n("MatMul", ["h", "wv"], ["v0"]),
        n("Reshape", ["q1", "heads_shape"], ["q2"]), n("Transpose", ["q2"], ["q"], perm=[0, 2, 1, 3]),
        n("Reshape", ["k0", "heads_shape"], ["k2"]), n("Transpose", ["k2"], ["kt"], perm=[0, 2, 3, 1]),
        n("Reshape", ["v0", "heads_shape"], ["v2"]), n("Transpose", ["v2"], ["v"], perm=[0, 2, 1, 3]),
        n("MatMul", ["q", "kt"], ["s0"]), n("Mul", ["s0", "scale"], ["s1"]),
        n("Where", ["keep4", "s1", "minimum"], ["s2"]),
        n("Softmax", ["s2"], ["p0"], axis=-1),
        n("IsNaN", ["p0"], ["nan"]), n("Where", ["nan", "zero", "p0"], ["p"]),
        n("MatMul", ["p", "v"], ["c0"]), n("Transpose", ["c0"], ["c1"], perm=[0, 2, 1, 3]),
        n("Reshape", ["c1", "merge_shape"], ["c2"]), n("MatMul", ["c2", "wo"], ["o"]),
        n("Add", ["o", "h"], ["out"]),
    ]
    inits.append(ints("axes_12", [1, 2]))
    ids = rng.integers(0, vocab, size=(1, seq), dtype=np.int64)
    mask = np.ones((1, seq), dtype=np.int64)
    mask[0, 11:] = 0
    types = np.zeros((1, seq), dtype=np.int64)
    types[0, 6:] = 1
    inputs = [vi("input_ids", [1, seq], TensorProto.INT64), vi("attention_mask", [1, seq], TensorProto.INT64),
              vi("token_type_ids", [1, seq], TensorProto.INT64)]
    save("text_encoder", nodes, inputs, [vi("out", None)], inits, [ids, mask, types])


def typed_ops():
    n = helper.make_node
    x = np.array([[-2.5, -1.5, -0.5, 0.0, 0.5, 1.5, 2.5, 3.7],
                  [np.nan, np.inf, -np.inf, -3.2, 1.0, -0.0, 7.5, -7.5]], dtype=np.float32)
    k = np.array([[-7, -3, 0, 3, 7, 1, -1, 4], [5, -5, 2, -2, 9, 0, 8, -8]], dtype=np.int64)
    inits = [ints("d", [2, -2, 3, -3, 2, 5, -4, 3]), init("half", np.float32(0.5)), ints("k0", 0)]
    float_of = lambda src, dst: n("Cast", [src], [dst], to=TensorProto.FLOAT)
    nodes = [
        n("Less", ["x", "half"], ["lt"]), n("LessOrEqual", ["x", "half"], ["le"]),
        n("Greater", ["x", "half"], ["gt"]), n("GreaterOrEqual", ["x", "half"], ["ge"]),
        n("Greater", ["k", "k0"], ["kpos"]), n("And", ["lt", "kpos"], ["and"]), n("Or", ["gt", "kpos"], ["or"]),
        n("Xor", ["ge", "kpos"], ["xor"]), n("Not", ["and"], ["not"]),
        n("IsNaN", ["x"], ["isnan"]), n("IsInf", ["x"], ["isinf"]),
        n("IsInf", ["x"], ["isposinf"], detect_negative=0),
        n("Cast", ["x"], ["xbool"], to=TensorProto.BOOL),
        n("Where", ["gt", "x", "half"], ["where"]),
        n("Sin", ["x"], ["sin"]), n("Cos", ["x"], ["cos"]), n("Ceil", ["x"], ["ceil"]), n("Floor", ["x"], ["floor"]),
        n("Round", ["x"], ["round"]), n("Abs", ["x"], ["abs"]),
        n("Div", ["k", "d"], ["kdiv"]), n("Mod", ["k", "d"], ["kmod"]),
        n("Cast", ["kdiv"], ["kdiv32"], to=TensorProto.INT32),
    ]
    parts = ["lt", "le", "gt", "ge", "and", "or", "xor", "not", "isnan", "isinf", "isposinf", "xbool", "kdiv32",
             "kmod"]
    for p in parts:
        nodes.append(float_of(p, p + "_f"))
    floats = [p + "_f" for p in parts] + ["where", "sin", "cos", "ceil", "floor", "round", "abs"]
    nodes.append(n("Concat", floats, ["floats"], axis=0))
    # Integer outputs: x truncated to int64 where finite (a cast of ±inf or NaN is undefined), and a bool.
    nodes += [
        n("Where", ["isnan", "half", "x"], ["x1"]), n("Where", ["isinf", "half", "x1"], ["x2"]),
        n("Cast", ["x2"], ["xint"], to=TensorProto.INT64), n("Add", ["xint", "k"], ["ints"]),
    ]
    inputs = [vi("x", [2, 8]), vi("k", [2, 8], TensorProto.INT64)]
    outputs = [vi("floats", None), vi("ints", None, TensorProto.INT64), vi("or", None, TensorProto.BOOL)]
    save("typed_ops", nodes, inputs, outputs, inits, [x, k])


def index_ops():
    n = helper.make_node
    x = rng.normal(0, 1, size=(2, 4, 5)).astype(np.float32)
    x[0, 3, 0] = np.inf  # below the diagonal: a lower-triangle mask must not turn it into NaN
    k = rng.integers(-5, 6, size=(2, 4, 5)).astype(np.int64)
    gidx = rng.integers(-4, 4, size=(2, 3, 5)).astype(np.int64)
    inits = [ints("one", 1), ints("minus1", -1), ints("axis1", 1), ints("axis2", 2), ints("reps", [1, 2, 3]),
             ints("gidx", gidx), init("in_scale", rng.uniform(0.5, 1.5, 4).astype(np.float32)),
             init("in_bias", rng.normal(0, 0.2, 4).astype(np.float32))]
    nodes = [
        n("Trilu", ["x", "one"], ["upper"]), n("Trilu", ["x", "minus1"], ["lower"], upper=0),
        n("CumSum", ["x", "axis2"], ["cs"]), n("CumSum", ["x", "axis1"], ["cs_ex_rev"], exclusive=1, reverse=1),
        n("CumSum", ["k", "axis2"], ["kcs"]), n("Cast", ["kcs"], ["kcs_f"], to=TensorProto.FLOAT),
        n("Tile", ["x", "reps"], ["tiled"]), n("GatherElements", ["x", "gidx"], ["ge"], axis=1),
        n("Reshape", ["x", "shape_inorm"], ["x4"]),
        n("InstanceNormalization", ["x4", "in_scale", "in_bias"], ["inorm4"], epsilon=1e-5),
        n("Reshape", ["inorm4", "shape_back"], ["inorm"]),
        n("Concat", ["upper", "lower", "cs", "cs_ex_rev", "kcs_f", "inorm"], ["y"], axis=0),
    ]
    inits += [ints("shape_inorm", [2, 4, 5, 1]), ints("shape_back", [2, 4, 5])]
    inputs = [vi("x", [2, 4, 5]), vi("k", [2, 4, 5], TensorProto.INT64)]
    outputs = [vi("y", None), vi("tiled", None), vi("ge", None)]
    save("index_ops", nodes, inputs, outputs, inits, [x, k])


def group_norm(opset):
    n = helper.make_node
    x = rng.normal(0, 1, size=(2, 6, 3, 4)).astype(np.float32)
    count = 3 if opset < 21 else 6
    inits = [init("scale", rng.uniform(0.5, 1.5, count).astype(np.float32)),
             init("bias", rng.normal(0, 0.2, count).astype(np.float32))]
    nodes = [n("GroupNormalization", ["x", "scale", "bias"], ["y"], num_groups=3, epsilon=1e-5)]
    save(f"group_norm{opset}", nodes, [vi("x", [2, 6, 3, 4])], [vi("y", None)], inits, [x], opset=opset)


def pow_ops():
    n = helper.make_node
    x = rng.normal(0, 2, size=(3, 7)).astype(np.float32)
    inits = [init("two", np.float32(2)), init("three", np.float32(3)), init("half", np.float32(0.5))]
    nodes = [n("Pow", ["x", "two"], ["p2"]), n("Pow", ["x", "three"], ["p3"]), n("Abs", ["x"], ["ax"]),
             n("Pow", ["ax", "half"], ["ph"]), n("Concat", ["p2", "p3", "ph"], ["y"], axis=0)]
    save("pow_ops", nodes, [vi("x", [3, 7])], [vi("y", None)], inits, [x])


if __name__ == "__main__":
    text_encoder()
    typed_ops()
    index_ops()
    group_norm(18)
    group_norm(21)
    pow_ops()
