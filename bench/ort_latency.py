"""ONNX Runtime latency of a model with all graph optimizations (the comparison baseline).

usage: /work/venv/bin/python bench/ort_latency.py MODEL.onnx [runs] [threads]
"""
import sys, time
import numpy as np
import onnxruntime as ort

path = sys.argv[1]
runs = int(sys.argv[2]) if len(sys.argv) > 2 else 50
threads = int(sys.argv[3]) if len(sys.argv) > 3 else 2
opts = ort.SessionOptions()
opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
opts.intra_op_num_threads = threads
opts.inter_op_num_threads = 1
sess = ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])
inp = sess.get_inputs()[0]
shape = [d if isinstance(d, int) else 1 for d in inp.shape]
x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
for _ in range(max(3, runs // 10)):
    sess.run(None, {inp.name: x})
samples = []
for _ in range(runs):
    t = time.perf_counter()
    sess.run(None, {inp.name: x})
    samples.append(time.perf_counter() - t)
samples.sort()
print(f"ORT {path.split('/')[-1]} ({threads} threads): median {samples[runs // 2] * 1e3:.3f} ms "
      f"(min {samples[0] * 1e3:.3f}, p90 {samples[runs * 9 // 10] * 1e3:.3f})")
