#!/usr/bin/env python3
"""Time one ONNX model with ONNX Runtime (all graph optimizations / none), PyTorch (only if
onnx2torch is installed) and `graphfuse bench`, interleaved in rounds, on the same threads.

    python bench/compare_peers.py path/to/resnet18.onnx --threads 2 --runs 50 --rounds 5

The engines take turns: in each of --rounds rounds every engine runs --runs/--rounds timed
inferences (the order rotates from round to round), so a machine that gets busier or quieter
during the measurement affects every engine alike. GraphFuse runs as `graphfuse bench` once per
round (with --warmup passed through); its per-round medians are combined.

The input comes from MODEL.input.bin (raw little-endian float32) next to the model, with the
shape from MODEL.json or the model's declared input; without the file a fixed random input is
used. Every engine's output is checked against MODEL.output.bin when present, and the script
exits 1 when one differs by more than --max-error (default 1e-4, relative to the golden
output's largest magnitude).

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


def ort_engine(model, x, optimize):
    """(run function, first output, version) of an ONNX Runtime session."""
    import onnxruntime as ort

    session = ort_session(model, ARGS.threads, optimize)
    feeds = {session.get_inputs()[0].name: x}
    out = session.run(None, feeds)[0]
    return (lambda: session.run(None, feeds)), out, ort.__version__


def torch_engine(model, x):
    """(run function, first output, version) of PyTorch eager through onnx2torch, or a reason to skip."""
    try:
        import torch
        from onnx2torch import convert
    except ImportError as error:
        return f"PyTorch path needs torch and onnx2torch ({error.name} is not installed)"
    torch.set_num_threads(ARGS.threads)
    torch.set_num_interop_threads(1)
    try:
        module = convert(model).eval()
    except Exception as error:  # onnx2torch covers part of ONNX; say what it refused
        return f"onnx2torch could not convert the model: {type(error).__name__}: {error}"
    tx = torch.from_numpy(x)

    def run():
        with torch.inference_mode():
            return module(tx)

    return run, run().numpy(), torch.__version__


def graphfuse_round(binary, model, runs, warmup):
    """One `graphfuse bench MODEL --json` with `runs` timed runs; its JSON document, or why it failed."""
    cmd = [binary, "bench", model, "--json", "--threads", str(ARGS.threads), "--runs", str(runs),
           "--warmup", str(warmup), "--peak", "none"]
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
        cmd = [binary, "run", model, "--input", base + ".input.bin", "--output", out_path, "--backend", "compiled",
               "--threads", str(ARGS.threads)]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0 or not os.path.exists(out_path):
            return float("inf")
        return check("graphfuse", np.fromfile(out_path, dtype="<f4"), expected)


def timed(fn, count):
    """`count` timings of `fn` in milliseconds on the monotonic clock."""
    samples = []
    for _ in range(count):
        start = time.perf_counter_ns()
        fn()
        samples.append((time.perf_counter_ns() - start) / 1e6)
    return samples


def measure_all(x, expected):
    """Prepares every engine, then times them in rounds with a rotating order."""
    results, runners = {}, {}
    print("  preparing ONNX Runtime (all graph optimizations, none) and PyTorch…", file=sys.stderr)
    for key, make in (("ort_all", lambda: ort_engine(ARGS.model, x, True)),
                      ("ort_none", lambda: ort_engine(ARGS.model, x, False)),
                      ("torch", lambda: torch_engine(ARGS.model, x))):
        made = make()
        if isinstance(made, str):
            results[key] = {"skipped": made}
            continue
        run, out, version = made
        for _ in range(ARGS.warmup):
            run()
        runners[key] = run
        results[key] = {"relative_error": check(key, out, expected), "version": version}
    samples = {key: [] for key in runners}
    graphfuse_rounds = []
    use_graphfuse = not ARGS.skip_graphfuse
    if use_graphfuse and not os.path.exists(ARGS.graphfuse):
        results["graphfuse"] = {"skipped": f"{ARGS.graphfuse} not found (swift build -c release)"}
        use_graphfuse = False
    per_round = max(1, ARGS.runs // ARGS.rounds)
    engines = list(runners) + (["graphfuse"] if use_graphfuse else [])
    for r in range(ARGS.rounds):
        order = engines[r % len(engines):] + engines[:r % len(engines)] if engines else []
        print(f"  round {r + 1}/{ARGS.rounds}: {', '.join(order)}…", file=sys.stderr)
        for key in order:
            if key == "graphfuse":
                document = graphfuse_round(ARGS.graphfuse, ARGS.model, per_round, ARGS.warmup)
                if "skipped" in document:
                    results["graphfuse"] = document
                    engines.remove("graphfuse")
                    use_graphfuse = False
                else:
                    graphfuse_rounds.append(document)
            else:
                samples[key] += timed(runners[key], per_round)
    for key, values in samples.items():
        results[key].update(stats(values))
    if graphfuse_rounds:
        for config in ("unfused", "folded", "fused"):
            latencies = [d[config]["latency"] for d in graphfuse_rounds]
            results[f"graphfuse_{config}"] = {
                "median_ms": statistics.median(l["median_ms"] for l in latencies),
                "min_ms": min(l["min_ms"] for l in latencies),
                "max_ms": max(l["max_ms"] for l in latencies),
                "runs": sum(l["runs"] for l in latencies),
                "reference_rel_error": graphfuse_rounds[0][config].get("reference_rel_error"),
            }
        results["graphfuse_report"] = graphfuse_rounds[-1]
        results["graphfuse_fused"]["relative_error"] = check_graphfuse(ARGS.graphfuse, ARGS.model, expected)
    return results


def main():
    global ARGS
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model", help="path to an .onnx file (MODEL.input.bin next to it is used as input)")
    parser.add_argument("--threads", type=int, default=2, help="intra-op threads for every engine (default 2)")
    parser.add_argument("--runs", type=int, default=50, help="timed runs per engine, over all rounds (default 50)")
    parser.add_argument("--rounds", type=int, default=5, help="rounds the engines take turns in (default 5)")
    parser.add_argument("--warmup", type=int, default=5,
                        help="untimed runs before timing (default 5; passed to every graphfuse bench round)")
    parser.add_argument("--max-error", type=float, default=1e-4,
                        help="largest accepted golden error, relative to the golden max |value| (default 1e-4)")
    parser.add_argument("--graphfuse", default=".build/release/graphfuse", help="graphfuse binary")
    parser.add_argument("--skip-graphfuse", action="store_true", help="time only the peers")
    parser.add_argument("--json", metavar="FILE", help="also write all results as JSON")
    ARGS = parser.parse_args()
    args = ARGS
    if args.threads < 1 or args.runs < 1 or args.rounds < 1 or args.warmup < 0:
        parser.error("--threads, --runs and --rounds must be positive, --warmup non-negative")

    import onnxruntime as ort

    probe = ort.InferenceSession(args.model, providers=["CPUExecutionProvider"])
    x, source, expected = load_input(args.model, probe)
    del probe

    print(f"{args.model}: input {list(x.shape)} from {source}; {args.threads} threads, {args.runs} runs in "
          f"{args.rounds} rounds after {args.warmup} warm-up", file=sys.stderr)
    results = measure_all(x, expected)

    rows = [
        ("ort_all", "ONNX Runtime (all opts)"),
        ("ort_none", "ONNX Runtime (no graph opts)"),
        ("torch", "PyTorch eager (onnx2torch)"),
        ("graphfuse_unfused", "GraphFuse unfused"),
        ("graphfuse_folded", "GraphFuse folded"),
        ("graphfuse_fused", "GraphFuse fused"),
    ]
    base = results["ort_all"]["median_ms"]
    failures = []
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
        if err is not None and not err <= args.max_error:
            failures.append(f"{label}: golden error {err:.1e} > {args.max_error:.0e}")
        print(f"{label:<30} {r['median_ms']:>10.2f} {r.get('min_ms', float('nan')):>8.2f} "
              f"{r.get('max_ms', float('nan')):>8.2f} {r['median_ms'] / base:>9.2f}× {err_text:>9}")
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
            "rounds": args.rounds,
            "warmup": args.warmup,
            "load_average": os.getloadavg(),
            "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "results": results,
        }
        with open(args.json, "w") as f:
            json.dump(document, f, indent=2)
        print(f"wrote {args.json}", file=sys.stderr)
    if failures:
        print("FAIL: " + "; ".join(failures), file=sys.stderr)
        sys.exit(1)


ARGS = None

if __name__ == "__main__":
    main()
