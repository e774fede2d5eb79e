#!/usr/bin/env python3
"""Time two or more GraphFuse builds against ONNX Runtime (all graph optimizations), interleaved
in rounds on the same threads: the before/after measurement of a change.

    python bench/compare_builds.py MODEL.onnx [MODEL.onnx ...] \
        --build before=/path/to/old/graphfuse --build after=.build/release/graphfuse \
        --threads 2 --rounds 5 --runs 20

In every round each model runs ONNX Runtime for --runs timed inferences (in this process) and
then `graphfuse bench MODEL --json` of each build (fused configuration, --runs timed runs, the
build's own output checks); the order of the engines rotates from round to round. The table
gives the median of the per-round medians and each build's ratio to ONNX Runtime. ONNX Runtime's
output is checked against MODEL.output.bin when present (relative 1e-4 of its largest magnitude).

Optional: not part of the Swift build or tests; needs onnxruntime and numpy.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import numpy as np
import onnxruntime as ort


def golden(model):
    base = model[:-5]
    shape = None
    if os.path.exists(base + ".json"):
        with open(base + ".json") as f:
            shape = json.load(f).get("input_shape")
    x = np.fromfile(base + ".input.bin", dtype="<f4") if os.path.exists(base + ".input.bin") else None
    y = np.fromfile(base + ".output.bin", dtype="<f4") if os.path.exists(base + ".output.bin") else None
    return shape, x, y


def ort_round(session, feed, runs):
    for _ in range(3):
        session.run(None, feed)
    samples = []
    for _ in range(runs):
        start = time.perf_counter_ns()
        session.run(None, feed)
        samples.append((time.perf_counter_ns() - start) / 1e6)
    return statistics.median(samples)


def graphfuse_round(binary, model, runs, threads):
    command = [binary, "bench", model, "--runs", str(runs), "--threads", str(threads), "--peak", "none", "--json"]
    out = subprocess.run(command, capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"{binary} bench {model} failed: {out.stderr.strip()}")
    return json.loads(out.stdout)["fused_ms"]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("models", nargs="+")
    parser.add_argument("--build", action="append", required=True, metavar="NAME=BINARY",
                        help="a graphfuse build to time")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--runs", type=int, default=20, help="timed runs per engine per round")
    args = parser.parse_args()
    builds = [b.split("=", 1) for b in args.build]
    rows = []
    for model in args.models:
        options = ort.SessionOptions()
        options.intra_op_num_threads = args.threads
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        session = ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])
        shape, x, y = golden(model)
        declared = session.get_inputs()[0]
        shape = shape or [d if isinstance(d, int) else 1 for d in declared.shape]
        x = x.reshape(shape) if x is not None else np.random.default_rng(0).standard_normal(shape, dtype=np.float32)
        feed = {declared.name: x}
        if y is not None:
            got = session.run(None, feed)[0].reshape(-1)
            error = float(np.abs(got - y).max() / max(np.abs(y).max(), 1e-30))
            if error > 1e-4:
                sys.exit(f"{model}: ONNX Runtime differs from the golden output by {error:.2e}")
        engines = ["ort"] + [name for name, _ in builds]
        medians = {e: [] for e in engines}
        for r in range(args.rounds):
            order = engines[r % len(engines):] + engines[:r % len(engines)]
            for e in order:
                if e == "ort":
                    medians[e].append(ort_round(session, feed, args.runs))
                else:
                    binary = dict(builds)[e]
                    medians[e].append(graphfuse_round(binary, model, args.runs, args.threads))
        row = {e: statistics.median(v) for e, v in medians.items()}
        rows.append((os.path.basename(model), row))
        print(f"{os.path.basename(model)}: " + ", ".join(f"{e} {row[e]:.2f} ms" for e in engines), file=sys.stderr)
    names = [name for name, _ in builds]
    print("| model | ORT all opts ms | " + " | ".join(f"{n} ms | {n} ÷ ORT" for n in names) + " |")
    print("|---|---|" + "---|---|" * len(names))
    for model, row in rows:
        cells = [f"{row[n]:.2f} | {row[n] / row['ort']:.2f}" for n in names]
        print(f"| {model} | {row['ort']:.2f} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
