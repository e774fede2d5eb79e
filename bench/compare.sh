#!/bin/bash
# Alternates GraphFuse (ResNet-18 / MobileNetV2-shaped networks built with GraphBuilder, batch norm
# folded) and ONNX Runtime (the real ONNX models, all graph optimizations) for ROUNDS rounds, so both
# see the same machine load; prints every round's medians. The machine is shared: read the best
# round, and compare within a round.
# usage: bench/compare.sh [ROUNDS] [THREADS]
set -eu
cd "$(dirname "$0")/.."
rounds=${1:-5}
threads=${2:-2}
swift build -c release --product GraphFuseBench >/dev/null
py=/work/venv/bin/python
for r in $(seq "$rounds"); do
  echo "round $r"
  .build/release/GraphFuseBench resnet18 50 "$threads" | grep fused
  "$py" bench/ort_latency.py /work/shared/models/resnet18.onnx 50 "$threads"
  .build/release/GraphFuseBench mobilenetv2 100 "$threads" | grep fused
  "$py" bench/ort_latency.py /work/shared/models/mobilenet_v2.onnx 100 "$threads"
done
