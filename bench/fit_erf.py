#!/usr/bin/env python3
"""Fits the rational erf approximation of the C prelude (`gf_verf` in CRuntime.swift).

erf(x) ≈ x·P(x²)/Q(x²) on [0, 4] with deg P = 6, deg Q = 4 (in x²), Q(0) = 1: linearized least
squares (Sanathanan–Koerner: each pass divides by the previous Q), reweighted toward equal
relative error over the interval. Beyond |x| = 4 erf is ±1 in float. Prints the coefficients and
the largest relative error of the float32 evaluation (Horner, as the prelude does it).

    python bench/fit_erf.py          # needs numpy; the output was pasted into CRuntime.swift
"""
from math import erf

import numpy as np


def fit(degree_p=7, degree_q=5, passes=60):
    x = np.linspace(1e-3, 4.0, 20000)
    y = np.array([erf(v) for v in x])
    t = x * x
    q_prev, weight, best = np.ones_like(x), np.ones_like(x), None
    for k in range(passes):
        columns = [x[:, None] * t[:, None] ** np.arange(degree_p)[None, :],
                   -(y[:, None] * t[:, None] ** np.arange(1, degree_q)[None, :])]
        a = np.hstack(columns)
        w = weight / (np.abs(q_prev) * y)
        solution, *_ = np.linalg.lstsq(a * w[:, None], y * w, rcond=None)
        p, q = solution[:degree_p], np.concatenate([[1.0], solution[degree_p:]])
        q_values = np.polyval(q[::-1], t)
        relative = np.abs(x * np.polyval(p[::-1], t) / q_values - y) / y
        if best is None or relative.max() < best[0]:
            best = (relative.max(), p.copy(), q.copy())
        q_prev = q_values
        if k > 10:
            weight = weight * (relative / relative.max()) ** 0.3 + 1e-3
        weight /= weight.mean()
    return best[1], best[2]


def evaluate32(p, q, xs):
    c = np.clip(xs.astype(np.float32), np.float32(-4), np.float32(4))
    t = (c * c).astype(np.float32)
    num, den = np.float32(p[-1]), np.float32(q[-1])
    for coefficient in p[-2::-1]:
        num = (num * t + np.float32(coefficient)).astype(np.float32)
    for coefficient in q[-2::-1]:
        den = (den * t + np.float32(coefficient)).astype(np.float32)
    return np.clip((c * num / den).astype(np.float32), -1, 1)


if __name__ == "__main__":
    p, q = fit()
    xs = np.concatenate([np.linspace(-6, 6, 600001), np.geomspace(1e-30, 1e-2, 2000)]).astype(np.float32)
    reference = np.array([erf(float(v)) for v in xs])
    got = evaluate32(p, q, xs).astype(np.float64)
    nonzero = reference != 0
    print("P:", ", ".join(f"{c:.9e}" for c in p))
    print("Q:", ", ".join(f"{c:.9e}" for c in q))
    print("largest relative error (float32):", np.max(np.abs(got - reference)[nonzero] / np.abs(reference[nonzero])))
