#!/usr/bin/env python3
"""Run a model compiled by `graphfuse compile MODEL -o DIR` from Python: NumPy in, NumPy out.

    import numpy as np
    from graphfuse import Model

    model = Model("out", threads=2)          # DIR/libmodel.so and DIR/weights.bin
    y = model.run(x)                         # one output: an array; several: a list
    ys = model.run(ids, mask, token_types)   # inputs in order, of their own dtypes
    model.close()                            # or `with Model("out") as model: ...`

Needs only NumPy and ctypes (the standard library). Inputs are converted to the element type
each input declares (float32, int64, int32 or bool) and made C-contiguous. A library compiled
with `--max-batch N` takes any batch from 1 to N in axis 0 (`gf_model_run_batch`); larger ones
run in chunks of N. From the command line:

    python graphfuse.py DIR input.npy[,input1.npy,...] [output.npy] [--threads T]
"""

import ctypes
import os
import sys

import numpy as np

DTYPES = {1: np.float32, 6: np.int32, 7: np.int64, 9: np.bool_}


class GraphFuseError(RuntimeError):
    """A call of the library failed; the message is the library's `gf_model_error()`."""


class Tensor:
    """The name, shape (at the largest batch) and NumPy dtype of one input or output."""

    def __init__(self, name, shape, dtype):
        self.name, self.shape, self.dtype = name, shape, dtype

    def __repr__(self):
        return f"Tensor({self.name!r}, {self.shape}, {np.dtype(self.dtype).name})"


class Model:
    """A compiled model opened from its directory (`graphfuse compile ... -o DIR`)."""

    def __init__(self, directory, threads=0):
        self._lib = ctypes.CDLL(os.path.join(os.path.abspath(directory), "libmodel.so"))
        lib = self._lib
        lib.gf_model_open.restype = ctypes.c_void_p
        lib.gf_model_open.argtypes = [ctypes.c_char_p, ctypes.c_int]
        lib.gf_model_error.restype = ctypes.c_char_p
        for name in ("gf_model_num_inputs", "gf_model_num_outputs", "gf_model_max_batch"):
            getattr(lib, name).argtypes = [ctypes.c_void_p]
        for name in ("gf_model_input_shape", "gf_model_output_shape"):
            getattr(lib, name).argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.POINTER(ctypes.c_int64)]
        for name in ("gf_model_input_dtype", "gf_model_output_dtype"):
            getattr(lib, name).argtypes = [ctypes.c_void_p, ctypes.c_int]
        for name in ("gf_model_input_name", "gf_model_output_name"):
            getattr(lib, name).argtypes = [ctypes.c_void_p, ctypes.c_int]
            getattr(lib, name).restype = ctypes.c_char_p
        lib.gf_model_run.argtypes = [ctypes.c_void_p, ctypes.POINTER(ctypes.c_void_p), ctypes.POINTER(ctypes.c_void_p)]
        lib.gf_model_run_batch.argtypes = [
            ctypes.c_void_p, ctypes.c_int, ctypes.POINTER(ctypes.c_void_p), ctypes.POINTER(ctypes.c_void_p)]
        lib.gf_model_close.argtypes = [ctypes.c_void_p]

        self._handle = lib.gf_model_open(os.fsencode(directory), int(threads))
        if not self._handle:
            raise GraphFuseError(lib.gf_model_error().decode())
        self.inputs = [self._describe("input", k) for k in range(lib.gf_model_num_inputs(self._handle))]
        self.outputs = [self._describe("output", k) for k in range(lib.gf_model_num_outputs(self._handle))]
        # 0: fixed shapes; N: any batch from 1 to N in axis 0.
        self.max_batch = lib.gf_model_max_batch(self._handle)

    def _describe(self, role, k):
        dims = (ctypes.c_int64 * 8)()
        rank = getattr(self._lib, f"gf_model_{role}_shape")(self._handle, k, dims)
        code = getattr(self._lib, f"gf_model_{role}_dtype")(self._handle, k)
        name = getattr(self._lib, f"gf_model_{role}_name")(self._handle, k).decode()
        return Tensor(name, tuple(dims[d] for d in range(rank)), DTYPES[code])

    def run(self, *arrays):
        """One inference: an array per input, in order. Returns the output array, or a list of them."""
        if self._handle is None:
            raise GraphFuseError("the model is closed")
        if len(arrays) != len(self.inputs):
            raise GraphFuseError(f"the model takes {len(self.inputs)} input(s), got {len(arrays)}")
        xs = [np.ascontiguousarray(x, dtype=spec.dtype) for x, spec in zip(arrays, self.inputs)]
        batch = self._batch_of(xs)
        if batch is None:
            return self._call(xs, None)
        if batch <= self.max_batch:
            return self._call(xs, batch)
        # Larger than the library's largest batch: chunks of max_batch, joined along axis 0.
        parts = [self._call([x[s:s + self.max_batch] for x in xs], min(self.max_batch, batch - s))
                 for s in range(0, batch, self.max_batch)]
        if len(self.outputs) == 1:
            return np.concatenate(parts)
        return [np.concatenate([p[k] for p in parts]) for k in range(len(self.outputs))]

    def _batch_of(self, xs):
        """The batch the arrays hold (None: the library's fixed shapes), checking every shape."""
        for x, spec in zip(xs, self.inputs):
            if x.shape == spec.shape and self.max_batch == 0:
                continue
            if self.max_batch == 0:
                raise GraphFuseError(f"input '{spec.name}' has shape {x.shape}; the model takes {spec.shape}")
            if x.ndim != len(spec.shape) or x.shape[1:] != spec.shape[1:] or x.shape[0] < 1:
                raise GraphFuseError(
                    f"input '{spec.name}' has shape {x.shape}; the model takes (batch,) + {spec.shape[1:]}")
        if self.max_batch == 0:
            return None
        batches = {x.shape[0] for x in xs}
        if len(batches) != 1:
            raise GraphFuseError(f"the inputs hold different batches: {sorted(batches)}")
        return batches.pop()

    def _call(self, xs, batch):
        outs = [np.empty(((batch,) + spec.shape[1:]) if batch else spec.shape, dtype=spec.dtype)
                for spec in self.outputs]
        ins = (ctypes.c_void_p * len(xs))(*[x.ctypes.data for x in xs])
        outp = (ctypes.c_void_p * len(outs))(*[y.ctypes.data for y in outs])
        if batch is None:
            status = self._lib.gf_model_run(self._handle, ins, outp)
        else:
            status = self._lib.gf_model_run_batch(self._handle, batch, ins, outp)
        if status != 0:
            raise GraphFuseError(self._lib.gf_model_error().decode())
        return outs[0] if len(outs) == 1 else outs

    def close(self):
        """Frees the model (its weights, thread pool and working memory)."""
        if self._handle is not None:
            self._lib.gf_model_close(self._handle)
            self._handle = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        if getattr(self, "_handle", None) is not None:
            self.close()


def main(argv):
    if len(argv) < 3:
        print(__doc__.split("\n\n")[-1].strip(), file=sys.stderr)
        return 2
    threads = 0
    if "--threads" in argv:
        k = argv.index("--threads")
        threads = int(argv[k + 1])
        argv = argv[:k] + argv[k + 2:]
    try:
        with Model(argv[1], threads=threads) as model:
            ys = model.run(*[np.load(p) for p in argv[2].split(",")])
            ys = ys if isinstance(ys, list) else [ys]
            for spec, y in zip(model.outputs, ys):
                print(f"{spec.name}: {y.shape} {y.dtype}, max {y.max()} at {int(np.argmax(y))}")
            if len(argv) > 3:
                np.save(argv[3], ys[0])
    except GraphFuseError as e:
        print(f"graphfuse: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
