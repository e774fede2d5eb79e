#!/usr/bin/env python3
"""Export full-size torchvision classifiers with random weights to ONNX with both PyTorch
exporters, plus the input and PyTorch's output beside each file.

    python bench/export_torchvision.py OUT_DIR [MODEL ...] [--exporters ts17,dynamo] [--dynamic-batch]

An exporter is `ts` (TorchScript) or `dynamo` (the default exporter), optionally followed by an
opset (`ts17`, `dynamo18`; without one the exporter's default). For each MODEL (default: the list
below) and exporter this writes

    OUT_DIR/MODEL.ts17.onnx        torch.onnx.export(..., dynamo=False, opset_version=17)
    OUT_DIR/MODEL.dynamo.onnx      torch.onnx.export(..., dynamo=True) (default opset; the
    OUT_DIR/MODEL.dynamo.onnx.data   weights in an external data file)
    OUT_DIR/MODEL.EXPORTER.input.bin / .output.bin / .json   (raw float32 input, PyTorch's output,
                                                             shapes, opset, ONNX Runtime's error)

Above 2 GB of weights (vit_h_14) the TorchScript exporter also writes external data: one file per
tensor, named after it, in OUT_DIR.

Weights: `weights=None` with `torch.manual_seed(0)`, then perturbed with the same seed so no
part of the network is trivial: every parameter whose values are all equal (zero biases, the
zero-initialised ViT head, batch-norm and layer-norm scales of 1, ConvNeXt's 1e-6 layer scale)
gets random values (zeros → N(0, 0.02²), a constant c → c·U(0.5, 1.5) for |c| ≥ 0.1, U(0.05, 0.2)
below), and batch-norm running statistics become mean N(0, 0.1²), variance U(0.5, 1.5). Eval
mode, batch 1, 224×224 (Inception v3: 299×299), input N(0, 1) with seed 1.

--dynamic-batch exports axis 0 of the input and output as a symbolic `batch` (TorchScript's
`dynamic_axes`, the dynamo exporter's `dynamic_shapes`), for `graphfuse compile --max-batch N`.

Needs torch, torchvision, onnx, onnxscript (for the dynamo exporter) and onnxruntime; not part of
the Swift build or tests.
"""

import argparse
import json
import os
import sys
import time

import numpy as np

MODELS = [
    "vit_b_16", "swin_t", "swin_v2_t", "convnext_tiny", "maxvit_t", "vgg11",
    "resnet50", "densenet121", "resnext50_32x4d", "regnet_y_400mf", "efficientnet_b0",
    "mobilenet_v3_small", "shufflenet_v2_x1_0", "inception_v3",
]
SIZES = {"inception_v3": 299}


def perturb(model, torch):
    """Replace constant parameters and batch-norm statistics by seeded random values."""
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for _, p in model.named_parameters():
            flat = p.detach().reshape(-1)
            if flat.numel() == 0 or not bool((flat == flat[0]).all()):
                continue
            c = float(flat[0])
            if c == 0.0:
                p.copy_(torch.randn(p.shape, generator=gen) * 0.02)
            elif abs(c) >= 0.1:
                p.copy_(c * (0.5 + torch.rand(p.shape, generator=gen)))
            else:
                p.copy_(0.05 + 0.15 * torch.rand(p.shape, generator=gen))
        for m in model.modules():
            if isinstance(m, torch.nn.modules.batchnorm._BatchNorm) and m.running_mean is not None:
                m.running_mean.copy_(torch.randn(m.running_mean.shape, generator=gen) * 0.1)
                m.running_var.copy_(0.5 + torch.rand(m.running_var.shape, generator=gen))


def build(name, torch, torchvision):
    torch.manual_seed(0)
    kwargs = {"weights": None}
    if name == "inception_v3":
        # torchvision's own init (truncated normal, std 0.1) grows the logits to ~1e14 without
        # trained batch-norm statistics; PyTorch's default init keeps them O(1).
        kwargs.update(aux_logits=False, init_weights=False)
    model = getattr(torchvision.models, name)(**kwargs)
    perturb(model, torch)
    return model.eval()


def ort_error(path, x, y):
    """Max |ORT - PyTorch| / max |PyTorch|, or the exception text."""
    try:
        import onnxruntime as ort
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 2
        sess = ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])
        out = sess.run(None, {sess.get_inputs()[0].name: x})[0]
        return float(np.abs(out - y).max() / max(np.abs(y).max(), 1e-30))
    except Exception as e:  # noqa: BLE001 - recorded, not fatal
        return f"{type(e).__name__}: {e}"[:300]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out")
    parser.add_argument("models", nargs="*", default=MODELS)
    parser.add_argument("--exporters", default="ts17,dynamo")
    parser.add_argument("--dynamic-batch", action="store_true", help="export axis 0 as a symbolic batch")
    args = parser.parse_args()

    import torch
    import torchvision

    os.makedirs(args.out, exist_ok=True)
    torch.set_num_threads(2)
    for name in args.models:
        model = build(name, torch, torchvision)
        size = SIZES.get(name, 224)
        x = torch.randn(1, 3, size, size, generator=torch.Generator().manual_seed(1))
        with torch.no_grad():
            y = model(x)
        xs, ys = x.numpy().astype(np.float32), y.numpy().astype(np.float32)
        for exporter in args.exporters.split(","):
            stem = os.path.join(args.out, f"{name}.{exporter}" + (".dynbatch" if args.dynamic_batch else ""))
            path = stem + ".onnx"
            start = time.perf_counter()
            try:
                kind, opset = exporter.rstrip("0123456789"), exporter[len(exporter.rstrip("0123456789")):]
                opset_kw = {"opset_version": int(opset)} if opset else {}
                if kind == "ts":
                    dynamic = {"dynamic_axes": {"input": {0: "batch"}, "logits": {0: "batch"}}} \
                        if args.dynamic_batch else {}
                    torch.onnx.export(model, (x,), path, dynamo=False, **opset_kw, **dynamic,
                                      input_names=["input"], output_names=["logits"])
                elif kind == "dynamo":
                    dynamic = {"dynamic_shapes": ({0: torch.export.Dim("batch", max=4096)},)} \
                        if args.dynamic_batch else {}
                    torch.onnx.export(model, (x,), path, dynamo=True, external_data=True, **opset_kw, **dynamic)
                else:
                    raise ValueError(f"unknown exporter {exporter}")
            except Exception as e:  # noqa: BLE001 - recorded, go on with the next one
                print(f"{name} {exporter}: export failed: {type(e).__name__}: {e}", file=sys.stderr)
                continue
            seconds = time.perf_counter() - start
            xs.tofile(stem + ".input.bin")
            ys.tofile(stem + ".output.bin")
            import onnx
            opset = next((o.version for o in onnx.load(path, load_external_data=False).opset_import
                          if o.domain in ("", "ai.onnx")), None)
            err = ort_error(path, xs, ys)
            meta = {"model": name, "exporter": exporter, "opset": opset, "input_shape": list(xs.shape),
                    "output_shape": list(ys.shape), "export_s": round(seconds, 1),
                    "ort_rel_error": err, "torch": torch.__version__,
                    "torchvision": torchvision.__version__}
            with open(stem + ".json", "w") as f:
                json.dump(meta, f, indent=1)
            print(json.dumps(meta), flush=True)


if __name__ == "__main__":
    main()
