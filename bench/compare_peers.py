#!/usr/bin/env python3
"""Time one ONNX model with ONNX Runtime (all graph optimizations / none), PyTorch (only if
onnx2torch is installed) and `graphfuse bench`, in one run, on the same threads.

    /work/venv/bin/python bench/compare_peers.py ../shared/models/resnet18.onnx --threads 2 --runs 50

The input comes from MODEL.input.bin (raw little-endian float32) next to the model, with the
shape from MODEL.json or the model's declared input; without the file a fixed random input is
used. Every engine's output is checked against MODEL.output.bin when present.

Absolute times drift between machines and runs; read the ratios. Optional: not part of the
Swift build or tests.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np


def stats(samples_ms):
    """Median, min, max and mean of a list of milliseconds."""
    return {
        "median_ms": statistics.median(samples_ms),
        "min_ms": min(samples_ms),
        "max_ms": max(samples_ms),
        "mean_ms": statistics.fmean(samples_ms),
        "runs": len(samples_ms),
    }


def measure(fn, runs, warmup):
    """Warm up, then time `fn` `runs` times on the monotonic clock."""
    for _ in range(warmup):
        fn()
    samples = [0.0] * runs
    for i in range(runs):
        start = time.perf_counter_ns()
        fn()
        samples[i] = (time.perf_counter_ns() - start) / 1e6
    return stats(samples)


def load_input(model_path, session):
    """The model's input as float32: MODEL.input.bin with MODEL.json's shape, else random."""
    base = model_path[:-5] if model_path.endswith(".onnx") else model_path
    meta = {}
    if os.path.exists(base + ".json"):
        with open(base + ".json") as f:
            meta = json.load(f)
    declared = session.get_inputs()[0].shape
    shape = meta.get("input_shape") or [d if isinstance(d, int) else 1 for d in declared]
    if os.path.exists(base + ".input.bin"):
        x = np.fromfile(base + ".input.bin", dtype="<f4").reshape(shape)
        source = base + ".input.bin"
    else:
        x = np.random.default_rng(0).uniform(-1, 1, size=shape).astype(np.float32)
        source = "random (no .input.bin)"
    expected = None
    if os.path.exists(base + ".output.bin"):
        expected = np.fromfile(base + ".output.bin", dtype="<f4")
    return x, source, expected


def check(name, output, expected):
    """Max |error| relative to the largest golden magnitude, or None without a golden output."""
    if expected is None:
        return None
    out = np.asarray(output, dtype=np.float32).reshape(-1)
    if out.size != expected.size:
        print(f"  warning: {name} output has {out.size} elements, golden {expected.size}", file=sys.stderr)
        return float("inf")
    return float(np.max(np.abs(out - expected)) / max(1e-30, float(np.max(np.abs(expected)))))


def ort_session(model, threads, optimize):
    """An ONNX Runtime CPU session: intra-op threads = `threads`, inter-op 1, sequential execution."""
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = (
        ort.GraphOptimizationLevel.ORT_ENABLE_ALL if optimize else ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    )
    return ort.InferenceSession(model, so, providers=["CPUExecutionProvider"])


def run_ort(model, x, expected, threads, runs, warmup, optimize):
    """ONNX Runtime with all graph optimizations or none."""
    import onnxruntime as ort

    session = ort_session(model, threads, optimize)
    name = session.get_inputs()[0].name
    feeds = {name: x}
    out = session.run(None, feeds)[0]
    result = measure(lambda: session.run(None, feeds), runs, warmup)
    result["relative_error"] = check("ort", out, expected)
    result["version"] = ort.__version__
    return result


def run_ort_interleaved(model, x, expected, threads, runs, warmup):
    """Both ONNX Runtime sessions timed run by run in turn, so machine drift hits both alike."""
    import onnxruntime as ort

    sessions = {key: ort_session(model, threads, key == "ort_all") for key in ("ort_all", "ort_none")}
    feeds = {key: {s.get_inputs()[0].name: x} for key, s in sessions.items()}
    samples = {key: [0.0] * runs for key in sessions}
    results = {}
    for key, s in sessions.items():
        out = s.run(None, feeds[key])[0]
        results[key] = {"relative_error": check(key, out, expected), "version": ort.__version__}
        for _ in range(warmup):
            s.run(None, feeds[key])
    for i in range(runs):
        for key, s in sessions.items():
            start = time.perf_counter_ns()
            s.run(None, feeds[key])
            samples[key][i] = (time.perf_counter_ns() - start) / 1e6
    for key in sessions:
        results[key].update(stats(samples[key]))
    return results


def run_torch(model, x, expected, threads, runs, warmup):
    """PyTorch eager through onnx2torch, only when both are installed (bench/README.md)."""
    try:
        import torch
        from onnx2torch import convert
    except ImportError as error:
        return {"skipped": f"PyTorch path needs torch and onnx2torch ({error.name} is not installed)"}
    torch.set_num_threads(threads)
    torch.set_num_interop_threads(1)
    try:
        module = convert(model).eval()
    except Exception as error:  # onnx2torch covers part of ONNX; say what it refused
        return {"skipped": f"onnx2torch could not convert the model: {type(error).__name__}: {error}"}
    tx = torch.from_numpy(x)
    with torch.inference_mode():
        out = module(tx).numpy()
        result = measure(lambda: module(tx), runs, warmup)
    result["relative_error"] = check("torch", out, expected)
    result["version"] = torch.__version__
    return result


def run_graphfuse(binary, model, threads, runs):
    """`graphfuse bench MODEL --json --threads N --runs N`; its JSON document, or why it was skipped."""
    if not os.path.exists(binary):
        return {"skipped": f"{binary} not found (swift build -c release)"}
    cmd = [binary, "bench", model, "--json", "--threads", str(threads), "--runs", str(runs)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        first = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        return {"skipped": f"`{' '.join(cmd)}` failed: {first}"}
    try:
        return json.loads(proc.stdout)
    except json.JSONDecodeError:
        return {"skipped": "graphfuse bench did not print JSON"}


def check_graphfuse(binary, model, expected):
    """`graphfuse run MODEL --backend compiled` on MODEL.input.bin, compared with the golden output."""
    base = model[:-5] if model.endswith(".onnx") else model
    if expected is None or not os.path.exists(base + ".input.bin"):
        return None
    with tempfile.TemporaryDirectory() as tmp:
        out_path = os.path.join(tmp, "out.bin")
        cmd = [binary, "run", model, "--input", base + ".input.bin", "--output", out_path, "--backend", "compiled"]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0 or not os.path.exists(out_path):
            return None
        return check("graphfuse", np.fromfile(out_path, dtype="<f4"), expected)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model", help="path to an .onnx file (MODEL.input.bin next to it is used as input)")
    parser.add_argument("--threads", type=int, default=2, help="intra-op threads for every engine (default 2)")
    parser.add_argument("--runs", type=int, default=50, help="timed runs per engine (default 50)")
    parser.add_argument("--warmup", type=int, default=5, help="untimed runs before timing (default 5)")
    parser.add_argument("--graphfuse", default=".build/release/graphfuse", help="graphfuse binary")
    parser.add_argument("--interleave", action="store_true", help="time the two ORT sessions run by run in turn")
    parser.add_argument("--skip-graphfuse", action="store_true", help="time only the peers")
    parser.add_argument("--json", metavar="FILE", help="also write all results as JSON")
    args = parser.parse_args()
    if args.threads < 1 or args.runs < 1 or args.warmup < 0:
        parser.error("--threads and --runs must be positive, --warmup non-negative")

    import onnxruntime as ort

    probe = ort.InferenceSession(args.model, providers=["CPUExecutionProvider"])
    x, source, expected = load_input(args.model, probe)
    del probe

    results = {}
    print(f"{args.model}: input {list(x.shape)} from {source}; {args.threads} threads, median of {args.runs} runs after {args.warmup} warm-up", file=sys.stderr)
    if args.interleave:
        print("  ONNX Runtime, all graph optimizations and ORT_DISABLE_ALL in turn…", file=sys.stderr)
        results.update(run_ort_interleaved(args.model, x, expected, args.threads, args.runs, args.warmup))
    else:
        print("  ONNX Runtime, all graph optimizations…", file=sys.stderr)
        results["ort_all"] = run_ort(args.model, x, expected, args.threads, args.runs, args.warmup, optimize=True)
        print("  ONNX Runtime, ORT_DISABLE_ALL…", file=sys.stderr)
        results["ort_none"] = run_ort(args.model, x, expected, args.threads, args.runs, args.warmup, optimize=False)
    print("  PyTorch eager…", file=sys.stderr)
    results["torch"] = run_torch(args.model, x, expected, args.threads, args.runs, args.warmup)
    if not args.skip_graphfuse:
        print("  graphfuse bench…", file=sys.stderr)
        gf = run_graphfuse(args.graphfuse, args.model, args.threads, args.runs)
        if "skipped" in gf:
            results["graphfuse"] = gf
        else:
            for config in ("unfused", "folded", "fused"):
                entry = dict(gf.get(config, {}).get("latency", {}))
                entry["median_ms"] = gf[f"{config}_ms"]
                results[f"graphfuse_{config}"] = entry
            results["graphfuse_report"] = gf
            results["graphfuse_fused"]["relative_error"] = check_graphfuse(args.graphfuse, args.model, expected)

    rows = [
        ("ort_all", "ONNX Runtime (all opts)"),
        ("ort_none", "ONNX Runtime (no graph opts)"),
        ("torch", "PyTorch eager (onnx2torch)"),
        ("graphfuse_unfused", "GraphFuse unfused"),
        ("graphfuse_folded", "GraphFuse folded"),
        ("graphfuse_fused", "GraphFuse fused"),
    ]
    base = results["ort_all"]["median_ms"]
    print(f"\n{'engine':<30} {'median ms':>10} {'min ms':>8} {'max ms':>8} {'vs ORT all':>10} {'rel err':>9}")
    for key, label in rows:
        r = results.get(key)
        if r is None:
            continue
        if "skipped" in r:
            print(f"{label:<30} skipped: {r['skipped']}")
            continue
        err = r.get("relative_error")
        err_text = "" if err is None else f"{err:.1e}"
        print(f"{label:<30} {r['median_ms']:>10.2f} {r.get('min_ms', float('nan')):>8.2f} {r.get('max_ms', float('nan')):>8.2f} "
              f"{r['median_ms'] / base:>9.2f}× {err_text:>9}")
    if "graphfuse" in results:
        print(f"{'GraphFuse':<30} skipped: {results['graphfuse']['skipped']}")
    if "graphfuse_fused" in results:
        fused = results["graphfuse_fused"]["median_ms"]
        print(f"\nGraphFuse fused / ORT all opts: {fused / base:.2f}   "
              f"fused / ORT no opts: {fused / results['ort_none']['median_ms']:.2f}   "
              f"GraphFuse unfused / fused: {results['graphfuse_unfused']['median_ms'] / fused:.2f}")
    print(f"ORT no opts / all opts: {results['ort_none']['median_ms'] / base:.2f}")

    if args.json:
        document = {
            "model": args.model,
            "threads": args.threads,
            "runs": args.runs,
            "warmup": args.warmup,
            "interleaved": args.interleave,
            "load_average": os.getloadavg(),
            "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "results": results,
        }
        with open(args.json, "w") as f:
            json.dump(document, f, indent=2)
        print(f"wrote {args.json}", file=sys.stderr)


if __name__ == "__main__":
    main()
