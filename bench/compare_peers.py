#!/usr/bin/env python3
"""Time ONNX models with ONNX Runtime (all graph optimizations / none) and GraphFuse, interleaved
in rounds, at one or more thread counts, and print one table with the geomean.

    python bench/compare_peers.py models/                       # every .onnx in the folder
    python bench/compare_peers.py resnet18.onnx mobilenet_v2.onnx --threads 1,2 --rounds 5 --runs 20

GraphFuse runs the way a deployed program runs it: `graphfuse compile MODEL -o DIR --threads T`
(fused; with --unfused also `--no-fold --no-fuse`) builds DIR/libmodel.so, which is loaded with
ctypes and called through its C API (gf_model_open / gf_model_run). Every engine lives in its
own worker process, so an idle engine's spinning thread pool never shares a process with the
engine being timed; the script hands each its turn. For each model and thread count the engines take
turns: in each of --rounds rounds every engine runs --warmup untimed and --runs timed inferences,
the order rotating from round to round, so a machine that gets busier or quieter affects every
engine alike. The table gives the median over all timed runs.

The input comes from MODEL.input.bin (raw little-endian float32) next to the model, with the
shape from MODEL.json ("input_shape") or the model's declared input; without the file a fixed
random input is used. Every engine's output is checked against MODEL.output.bin when present
(else against ONNX Runtime with all optimizations), and the script exits 1 when one differs by
more than --max-error (default 1e-4, relative to the reference output's largest magnitude).

With --batch N, every engine runs N samples per call (the model's input repeated along axis 0;
the model needs a symbolic batch axis): GraphFuse compiles with `--max-batch N` and calls
gf_model_run_batch, and the table adds images per second.

With --openvino, OpenVINO runs too (CPU device, INFERENCE_PRECISION_HINT f32, the latency hint,
INFERENCE_NUM_THREADS the same threads), in a worker of its own like the others.

Absolute times drift between machines and runs; read the ratios. Optional: not part of the
Swift build or tests; needs onnxruntime and numpy (and openvino for --openvino).
"""

import argparse
import ctypes
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np


def model_paths(paths):
    """The .onnx files named, with folders expanded to their .onnx files (sorted)."""
    found = []
    for path in paths:
        if os.path.isdir(path):
            found += sorted(os.path.join(path, f) for f in os.listdir(path) if f.endswith(".onnx"))
        else:
            found.append(path)
    return found


def load_input(model_path, declared):
    """(list of input arrays, where they came from, golden output or None). Text models have one
    .npy per input (MODEL.input0.npy, input1, ...: int64 ids, mask, token types)."""
    base = model_path[:-5] if model_path.endswith(".onnx") else model_path
    golden = np.fromfile(base + ".output.bin", dtype="<f4") if os.path.exists(base + ".output.bin") else None
    if os.path.exists(base + ".input0.npy"):
        xs = [np.load(f"{base}.input{k}.npy") for k in range(len(declared)) if os.path.exists(f"{base}.input{k}.npy")]
        return xs, "MODEL.inputK.npy", golden
    meta = {}
    if os.path.exists(base + ".json"):
        with open(base + ".json") as f:
            meta = json.load(f)
    shape = meta.get("input_shape") or [d if isinstance(d, int) else 1 for d in declared[0]]
    if os.path.exists(base + ".input.bin"):
        x, source = np.fromfile(base + ".input.bin", dtype="<f4").reshape(shape), "MODEL.input.bin"
    else:
        x, source = np.random.default_rng(0).uniform(-1, 1, size=shape).astype(np.float32), "random"
    return [x], source, golden


def relative_error(output, expected):
    """Max |error| relative to the largest reference magnitude."""
    out = np.asarray(output, dtype=np.float32).reshape(-1)
    if out.size != expected.size:
        return float("inf")
    return float(np.max(np.abs(out - expected)) / max(1e-30, float(np.max(np.abs(expected)))))


def ort_engine(model, x, threads, optimize):
    """(run function, output) of an ONNX Runtime CPU session with `threads` intra-op threads."""
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = (
        ort.GraphOptimizationLevel.ORT_ENABLE_ALL if optimize else ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    )
    session = ort.InferenceSession(model, so, providers=["CPUExecutionProvider"])
    feeds = {i.name: v for i, v in zip(session.get_inputs(), x)}
    return (lambda: session.run(None, feeds)), session.run(None, feeds)[0]


def openvino_engine(model, x, threads):
    """(run function, output) of an OpenVINO CPU compiled model: f32 precision, latency hint,
    `threads` inference threads."""
    import openvino as ov

    compiled = ov.Core().compile_model(model, "CPU", {
        "INFERENCE_PRECISION_HINT": "f32", "PERFORMANCE_HINT": "LATENCY", "INFERENCE_NUM_THREADS": threads})
    request = compiled.create_infer_request()

    def run():
        request.infer(dict(enumerate(x)))
        return request.get_output_tensor(0).data

    return run, np.array(run())


class GraphFuseLibrary:
    """A model compiled by `graphfuse compile`, run in this process through its C API."""

    def __init__(self, binary, model, x, threads, flags, workdir, batch=None, env=None):
        self.dir = os.path.join(workdir, f"{os.path.basename(model)}-{threads}-{'-'.join(flags) or 'fused'}")
        self.batch = batch
        cmd = [binary, "compile", model, "-o", self.dir, "--threads", str(threads)] + flags
        cmd += ["--max-batch", str(batch)] if batch else []
        proc = subprocess.run(cmd, capture_output=True, text=True, env=dict(os.environ, **(env or {})))
        if proc.returncode != 0:
            raise RuntimeError((proc.stderr.strip().splitlines() or ["no output"])[-1])
        lib = ctypes.CDLL(os.path.join(self.dir, "libmodel.so"), mode=ctypes.RTLD_LOCAL)
        lib.gf_model_open.restype = ctypes.c_void_p
        lib.gf_model_open.argtypes = [ctypes.c_char_p, ctypes.c_int]
        lib.gf_model_error.restype = ctypes.c_char_p
        lib.gf_model_output_shape.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.POINTER(ctypes.c_int64)]
        lib.gf_model_run.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p]
        lib.gf_model_run_batch.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p]
        lib.gf_model_close.argtypes = [ctypes.c_void_p]
        self.lib = lib
        self.handle = lib.gf_model_open(self.dir.encode(), threads)
        if not self.handle:
            raise RuntimeError(lib.gf_model_error().decode())
        dims = (ctypes.c_int64 * 8)()
        rank = lib.gf_model_output_shape(self.handle, 0, dims)
        self.xs = [np.ascontiguousarray(v) for v in x]  # each in its own dtype (float32, int64, ...)
        self.y = np.zeros([dims[i] for i in range(rank)], dtype=np.float32)
        self.inputs = (ctypes.c_void_p * len(self.xs))(*[v.ctypes.data for v in self.xs])
        self.outputs = (ctypes.c_void_p * 1)(self.y.ctypes.data)

    def run(self):
        if self.batch:
            status = self.lib.gf_model_run_batch(self.handle, self.batch, self.inputs, self.outputs)
        else:
            status = self.lib.gf_model_run(self.handle, self.inputs, self.outputs)
        if status != 0:
            raise RuntimeError(self.lib.gf_model_error().decode())
        return self.y

    def close(self):
        self.lib.gf_model_close(self.handle)


def timed(fn, count):
    """`count` timings of `fn` in milliseconds on the monotonic clock."""
    samples = []
    for _ in range(count):
        start = time.perf_counter_ns()
        fn()
        samples.append((time.perf_counter_ns() - start) / 1e6)
    return samples


def make_engine(key, model, x, threads, graphfuse, workdir, batch=None, env=None):
    """(run function, close function) of one engine, built inside its worker process."""
    if key in ("ort_all", "ort_none"):
        run, _ = ort_engine(model, x, threads, key == "ort_all")
        return run, lambda: None
    if key == "openvino":
        run, _ = openvino_engine(model, x, threads)
        return run, lambda: None
    flags = ["--no-fold", "--no-fuse"] if key == "gf_unfused" else []
    # The baseline build compiles into a directory of its own.
    library = GraphFuseLibrary(
        graphfuse, model, x, threads, flags, os.path.join(workdir, key), batch, env if key == "gf_baseline" else None)
    return library.run, library.close


def engine_worker(connection, key, model, x, threads, graphfuse, workdir, batch=None, env=None):
    """One engine in its own process: answers ("time", warmup, runs) until ("close",)."""
    try:
        run, close = make_engine(key, model, x, threads, graphfuse, workdir, batch, env)
        out = run()
        out = out[0] if isinstance(out, list) else out
        connection.send(("ready", np.asarray(out, dtype=np.float32).copy()))
    except Exception as error:  # the engine could not be built: say why, once
        connection.send(("skipped", f"{type(error).__name__}: {error}"))
        return
    while True:
        request = connection.recv()
        if request[0] != "time":
            close()
            connection.send("closed")
            return
        for _ in range(request[1]):
            run()
        connection.send(timed(run, request[2]))


def measure(model, threads, args, workdir):
    """One row: every engine's median ms and reference error for `model` at `threads`.

    Each engine lives in its own process, so an idle engine's spinning thread pool never shares a
    process with the engine being timed; the rounds still interleave them."""
    import multiprocessing
    import onnxruntime as ort

    probe = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
    x, source, golden = load_input(model, [i.shape for i in probe.get_inputs()])
    del probe
    if args.batch:
        # N copies of the sample along axis 0, and of the golden output.
        x = [np.concatenate([v] * args.batch) for v in x]
        golden = None if golden is None else np.tile(golden, args.batch)
    row = {"model": os.path.basename(model), "threads": threads, "input": source, "batch": args.batch or 1}
    keys = ["ort_all", "ort_none"] + (["openvino"] if args.openvino else []) + ["gf_fused"]
    keys += ["gf_unfused"] if args.unfused else []
    keys += ["gf_baseline"] if args.baseline else []
    context = multiprocessing.get_context("spawn")
    workers, outputs = {}, {}
    for key in keys:
        parent, child = context.Pipe()
        process = context.Process(
            target=engine_worker,
            args=(child, key, model, x, threads, args.baseline if key == "gf_baseline" else args.graphfuse, workdir,
                  args.batch, dict(item.split("=", 1) for item in args.baseline_env)))
        process.start()
        status, payload = parent.recv()
        if status == "skipped":
            row[key] = {"skipped": payload}
            process.join()
            continue
        workers[key], outputs[key] = (parent, process), payload
    reference = golden if golden is not None else outputs["ort_all"].reshape(-1)
    row["reference"] = "golden" if golden is not None else "ort_all"
    for key, out in outputs.items():
        row[key] = {"relative_error": relative_error(out, reference)}
    samples = {key: [] for key in workers}
    engines = list(workers)
    for r in range(args.rounds):
        for key in engines[r % len(engines):] + engines[:r % len(engines)]:
            # Let the previous engine's thread pool stop spinning (ONNX Runtime's workers spin
            # for a while after a run) before this engine's turn starts.
            time.sleep(args.settle)
            workers[key][0].send(("time", args.warmup, args.runs))
            samples[key] += workers[key][0].recv()
    for key, values in samples.items():
        row[key]["median_ms"] = statistics.median(values)
        row[key]["min_ms"] = min(values)
    for connection, process in workers.values():
        connection.send(("close",))
        connection.recv()
        process.join()
    return row


def geomean(values):
    values = [v for v in values if v and math.isfinite(v)]
    return math.exp(sum(math.log(v) for v in values) / len(values)) if values else float("nan")


def print_table(rows, threads, args):
    """The markdown table of one thread count, with the geomean of every ratio."""
    head = "| model | ORT all ms | ORT none ms | GraphFuse fused ms | fused ÷ ORT all | fused ÷ ORT none |"
    rule = "|---|---:|---:|---:|---:|---:|"
    if args.openvino:
        head += " OpenVINO ms | fused ÷ OpenVINO |"
        rule += "---:|---:|"
    if args.unfused:
        head += " unfused ms | unfused ÷ fused |"
        rule += "---:|---:|"
    if args.baseline:
        head += " baseline ms | fused ÷ baseline |"
        rule += "---:|---:|"
    if args.batch:
        head += " ORT all img/s | GraphFuse img/s |"
        rule += "---:|---:|"
    batch = f", batch {args.batch}" if args.batch else ""
    print(f"\n{threads} thread{'s' if threads > 1 else ''}{batch}:\n\n{head} max rel err |\n{rule}---:|")
    ratios = {"all": [], "none": [], "fusion": [], "openvino": [], "baseline": []}
    for row in rows:
        fused = row.get("gf_fused", {}).get("median_ms")
        base, none = row["ort_all"]["median_ms"], row["ort_none"]["median_ms"]
        cells = [f"{base:.2f}", f"{none:.2f}"]
        if fused is None:
            cells += ["skipped: " + row.get("gf_fused", {}).get("skipped", "?"), "", ""]
        else:
            cells += [f"{fused:.2f}", f"{fused / base:.2f}", f"{fused / none:.2f}"]
            ratios["all"].append(fused / base)
            ratios["none"].append(fused / none)
        if args.openvino:
            openvino = row.get("openvino", {}).get("median_ms")
            if openvino is None or fused is None:
                cells += ["skipped: " + row.get("openvino", {}).get("skipped", "?") if openvino is None else "", ""]
            else:
                cells += [f"{openvino:.2f}", f"{fused / openvino:.2f}"]
                ratios["openvino"].append(fused / openvino)
        # The optional GraphFuse columns: (engine, ratio name, ratio of the fused and that engine's time).
        optional = [("gf_unfused", "fusion", lambda f, t: t / f), ("gf_baseline", "baseline", lambda f, t: f / t)]
        for key, name, ratio in optional:
            if not (args.unfused if key == "gf_unfused" else args.baseline):
                continue
            other = row.get(key, {}).get("median_ms")
            if other is None or fused is None:
                cells += ["", ""]
            else:
                cells += [f"{other:.2f}", f"{ratio(fused, other):.2f}"]
                ratios[name].append(ratio(fused, other))
        if args.batch:
            cells += [f"{1000 * args.batch / base:.1f}", f"{1000 * args.batch / fused:.1f}" if fused else ""]
        errors = [v["relative_error"] for k, v in row.items() if isinstance(v, dict) and "relative_error" in v]
        cells.append(f"{max(errors):.1e}")
        print(f"| {row['model']} | " + " | ".join(cells) + " |")
    tail = f"| geomean | | | | {geomean(ratios['all']):.2f} | {geomean(ratios['none']):.2f} |"
    if args.openvino:
        tail += f" | {geomean(ratios['openvino']):.2f} |"
    if args.unfused:
        tail += f" | {geomean(ratios['fusion']):.2f} |"
    if args.baseline:
        tail += f" | {geomean(ratios['baseline']):.2f} |"
    print(tail + " |")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("models", nargs="+", help=".onnx files or folders of them")
    parser.add_argument("--threads", default="2", help="comma-separated thread counts (default 2), e.g. 1,2")
    parser.add_argument("--runs", type=int, default=20, help="timed runs per engine per round (default 20)")
    parser.add_argument("--rounds", type=int, default=5, help="rounds the engines take turns in (default 5)")
    parser.add_argument("--warmup", type=int, default=3, help="untimed runs before each turn (default 3)")
    parser.add_argument("--max-error", type=float, default=1e-4,
                        help="largest accepted error, relative to the reference's max |value| (default 1e-4)")
    parser.add_argument("--graphfuse", default=".build/release/graphfuse", help="graphfuse binary")
    parser.add_argument("--settle", type=float, default=0.2,
                        help="seconds of quiet before each engine's turn (default 0.2)")
    parser.add_argument("--unfused", action="store_true", help="also time GraphFuse unfused (--no-fold --no-fuse)")
    parser.add_argument("--openvino", action="store_true",
                        help="also time OpenVINO (CPU, f32 precision hint, latency hint, the same threads)")
    parser.add_argument("--baseline", metavar="BINARY",
                        help="also time the fused model compiled by another graphfuse binary (a before/after A/B)")
    parser.add_argument("--baseline-env", metavar="VAR=VALUE", action="append", default=[],
                        help="environment of the baseline's compile, e.g. GRAPHFUSE_WINOGRAD=0 (repeatable)")
    parser.add_argument("--json", metavar="FILE", help="also write all rows as JSON")
    parser.add_argument("--batch", type=int, help="N samples per call (symbolic batch axis; GraphFuse --max-batch N)")
    args = parser.parse_args()
    try:
        thread_counts = [int(t) for t in args.threads.split(",")]
    except ValueError:
        parser.error("--threads takes comma-separated positive integers, e.g. 1,2")
    if min(thread_counts) < 1 or args.runs < 1 or args.rounds < 1 or args.warmup < 0:
        parser.error("--threads, --runs and --rounds must be positive, --warmup non-negative")
    models = model_paths(args.models)
    if not models:
        parser.error("no .onnx files found")
    if any("=" not in item for item in args.baseline_env):
        parser.error("--baseline-env takes VAR=VALUE")
    if not os.path.exists(args.graphfuse):
        parser.error(f"{args.graphfuse} not found (swift build -c release)")
    if args.baseline and not os.path.exists(args.baseline):
        parser.error(f"{args.baseline} not found")
    import onnxruntime as ort

    print(f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, onnxruntime {ort.__version__}, "
          f"load average {os.getloadavg()[0]:.2f}; {args.rounds} rounds × {args.runs} runs per engine",
          file=sys.stderr)
    rows, failures = [], []
    with tempfile.TemporaryDirectory() as workdir:
        for threads in thread_counts:
            for model in models:
                print(f"  {os.path.basename(model)}, {threads} threads…", file=sys.stderr)
                row = measure(model, threads, args, workdir)
                rows.append(row)
                for key, value in row.items():
                    if isinstance(value, dict) and not value.get("relative_error", 0) <= args.max_error:
                        failures.append(f"{row['model']} {key} ({threads} threads): error "
                                        f"{value['relative_error']:.1e} > {args.max_error:.0e}")
    for threads in thread_counts:
        print_table([r for r in rows if r["threads"] == threads], threads, args)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "rounds": args.rounds,
                       "runs": args.runs, "load_average": os.getloadavg(), "rows": rows}, f, indent=2)
    if failures:
        print("FAIL: " + "; ".join(failures), file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":  # spawned engine workers import this file without running main()
    main()
