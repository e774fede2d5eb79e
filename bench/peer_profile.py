#!/usr/bin/env python3
"""Per-node time and % of the FMA peak of ONNX Runtime and OpenVINO on the heavy ops of a model:
the peers' side of `graphfuse bench`'s per-group profile.

    python bench/peer_profile.py vit_b_16.onnx resnet50.onnx --threads 2 --peak 350
    python bench/peer_profile.py model.onnx --peak 350 --json peers.json --min-mflop 50

Each engine runs in this process with its own profiler on (ONNX Runtime `enable_profiling`, all
graph optimizations, sequential, `--threads` intra-op threads; OpenVINO `PERF_COUNT` on the CPU
device with the f32 precision hint, the latency hint and `--threads` inference threads), `--warmup`
untimed runs and then `--runs` runs whose per-node times are kept. A node's time is its median
over the runs. The engines run one after the other, not interleaved: compare them with `bench`'s
group profile taken right before or after, and redo all three in a quiet spell.

FLOPs count multiply-adds as two, from the shapes each engine reports for the node it ran:
- a convolution, `2 · N · (output pixels) · (weight elements)` (ONNX Runtime's NCHWc convs count
  their padded channels);
- a matrix product (MatMul, Gemm, FusedMatMul, FullyConnected), `2 · (output elements) · K`, K
  read from the first operand as its elements per output row, so an operand read transposed
  counts the same;
- a fused attention (OpenVINO's MHA subgraph or ScaledDotProductAttention: Q `[…, m, d]`, K, V
  `[…, n, dv]`, output `[…, m, dv]`), `2 · batch · m · n · (d + dv)`, the two products, as
  `graphfuse bench` counts an attention group.
Nodes under `--min-mflop` (default 50) are left out. The table gives, per engine and per kind of
node with the same FLOPs, how many there are, the range of their % of `--peak` (GFLOP/s; measure
it on the same threads, e.g. with `graphfuse bench`'s peak), and the summed time; then the % of
peak weighted by FLOPs over all the heavy nodes.

Optional: not part of the Swift build or tests; needs onnxruntime, openvino and numpy.
"""

import argparse
import json
import math
import os
import statistics
import sys
import tempfile
from collections import defaultdict

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from compare_peers import load_input  # noqa: E402


def product(dims):
    return math.prod(int(d) for d in dims)


def conv_flops(output, weight):
    """Multiply-adds × 2 of a convolution: every output pixel of every image meets every weight."""
    if len(output) < 3 or not weight:
        return 0
    return 2 * int(output[0]) * product(output[2:]) * product(weight)


def matmul_flops(a, output):
    """Multiply-adds × 2 of a matrix product: K from the first operand's elements per output row
    (ONNX Runtime's FusedMatMul may read A as `[m, batch…, k]`), or from its last two axes when A
    has no batch axes (one A for every batch entry of B)."""
    if not a or len(output) < 2:
        return 0
    if len(a) <= 2 or product(a[:-2]) == 1:
        depth = product(a[-2:]) // max(1, int(output[-2]))
    else:
        depth = product(a) * int(output[-1]) // max(1, product(output))
    return 2 * product(output) * depth


def attention_flops(inputs, output):
    """Multiply-adds × 2 of softmax(Q·Kᵀ)·V when the shapes read as an attention, else 0."""
    if len(inputs) < 3 or len(output) < 3 or any(len(s) < 3 for s in inputs[:3]):
        return 0
    q, k, v = inputs[:3]
    m, d, n, dv = int(q[-2]), int(q[-1]), int(v[-2]), int(v[-1])
    if int(output[-2]) != m or int(output[-1]) != dv or sorted(int(x) for x in k[-2:]) != sorted([d, n]):
        return 0
    return 2 * product(output[:-2]) * m * n * (d + dv)


def ort_nodes(model, xs, threads, warmup, runs):
    """{node: (op, flops, [ms per run])} from ONNX Runtime's profiler."""
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.enable_profiling = True
    so.profile_file_prefix = os.path.join(tempfile.mkdtemp(), "ort")
    session = ort.InferenceSession(model, so, providers=["CPUExecutionProvider"])
    feeds = {i.name: v for i, v in zip(session.get_inputs(), xs)}
    for _ in range(warmup + runs):
        session.run(None, feeds)
    with open(session.end_profiling()) as f:
        events = json.load(f)
    nodes = {}
    for event in events:
        if event.get("cat") != "Node" or not event["name"].endswith("_kernel_time"):
            continue
        args = event.get("args", {})
        op = args.get("op_name", "?")
        shapes = [next(iter(s.values())) for s in args.get("input_type_shape", [])]
        outs = [next(iter(s.values())) for s in args.get("output_type_shape", [])]
        name = event["name"][: -len("_kernel_time")]
        if name not in nodes:
            flops = 0
            if "Conv" in op and len(shapes) >= 2 and outs:
                flops = conv_flops(outs[0], shapes[1])
            elif op in ("MatMul", "Gemm", "FusedMatMul", "FusedGemm") and shapes and outs:
                flops = matmul_flops(shapes[0], outs[0])
            nodes[name] = (op, flops, [])
        nodes[name][2].append(event["dur"] / 1000)
    return {k: (op, f, times[warmup:]) for k, (op, f, times) in nodes.items()}


def openvino_nodes(model, xs, threads, warmup, runs):
    """{node: (type, flops, [ms per run])} from OpenVINO's performance counters."""
    import openvino as ov

    compiled = ov.Core().compile_model(model, "CPU", {
        "INFERENCE_PRECISION_HINT": "f32", "PERFORMANCE_HINT": "LATENCY", "INFERENCE_NUM_THREADS": threads,
        "PERF_COUNT": True})
    request = compiled.create_infer_request()
    shapes = {}
    for op in compiled.get_runtime_model().get_ordered_ops():
        ins = [list(op.input(i).get_partial_shape().to_shape()) for i in range(op.get_input_size())]
        outs = [list(op.output(0).get_partial_shape().to_shape())] if op.get_output_size() else [[]]
        shapes[op.get_friendly_name()] = (ins, outs[0])
    nodes = {}
    for run in range(warmup + runs):
        request.infer(dict(enumerate(xs)))
        if run < warmup:
            continue
        for info in request.get_profiling_info():
            if info.status != info.Status.EXECUTED:
                continue
            kind = info.node_type
            if info.node_name not in nodes:
                ins, out = shapes.get(info.node_name, ([], []))
                flops = 0
                if kind in ("Convolution", "GroupConvolution", "Deconvolution") and len(ins) >= 2:
                    flops = conv_flops(out, ins[1])
                elif kind in ("FullyConnected",) and len(ins) >= 2 and out:
                    flops = 2 * product(out) * (product(ins[1]) // max(1, int(out[-1])))
                elif kind == "MatMul" and ins:
                    flops = matmul_flops(ins[0], out)
                elif kind in ("Subgraph", "ScaledDotProductAttention", "MHA"):
                    flops = attention_flops(ins, out)
                    kind = "Attention" if flops else kind
                nodes[info.node_name] = (kind, flops, [])
            nodes[info.node_name][2].append(info.real_time.total_seconds() * 1000)
    return nodes


def summarize(engine, nodes, peak, min_flops):
    """Print the heavy nodes by kind; return the rows for --json."""
    heavy = [(name, kind, flops, statistics.median(times)) for name, (kind, flops, times) in nodes.items()
             if flops >= min_flops and times]
    groups = defaultdict(list)
    for name, kind, flops, ms in heavy:
        groups[(kind, round(flops / 1e6))].append((name, ms))
    rows = []
    print(f"  {engine}")
    for (kind, mflop), members in sorted(groups.items(), key=lambda kv: -sum(ms for _, ms in kv[1])):
        gflops = sorted(mflop / ms for _, ms in members)
        fraction = f"{100 * gflops[0] / peak:5.0f}–{100 * gflops[-1] / peak:3.0f} %" if peak else ""
        total = sum(ms for _, ms in members)
        print(f"    {kind:22s} {len(members):3d} × {mflop:6d} MFLOP  {gflops[0]:6.1f}–{gflops[-1]:6.1f} GFLOP/s"
              f"  {fraction}  {total:7.2f} ms")
        rows.append({"kind": kind, "mflop": mflop, "count": len(members), "gflops_min": gflops[0],
                     "gflops_max": gflops[-1], "ms": total, "nodes": [n for n, _ in members]})
    flops = sum(f for _, _, f, _ in heavy)
    ms = sum(t for _, _, _, t in heavy)
    if ms > 0:
        weighted = flops / 1e6 / ms
        print(f"    weighted {weighted:.1f} GFLOP/s" + (f", {100 * weighted / peak:.0f} % of peak" if peak else ""))
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("models", nargs="+")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--peak", type=float, help="FMA peak in GFLOP/s on these threads, for the % columns")
    parser.add_argument("--min-mflop", type=float, default=50)
    parser.add_argument("--engines", default="ort,openvino", help="comma-separated: ort, openvino")
    parser.add_argument("--json", help="write the rows to this file")
    args = parser.parse_args()
    report = {}
    for model in args.models:
        import onnx

        declared = [[d.dim_value or 1 for d in i.type.tensor_type.shape.dim]
                    for i in onnx.load(model, load_external_data=False).graph.input]
        xs, _, _ = load_input(model, declared)
        print(model)
        report[model] = {}
        for engine in args.engines.split(","):
            collect = ort_nodes if engine == "ort" else openvino_nodes
            nodes = collect(model, xs, args.threads, args.warmup, args.runs)
            report[model][engine] = summarize(engine, nodes, args.peak, args.min_mflop * 1e6)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=1)


if __name__ == "__main__":
    main()
