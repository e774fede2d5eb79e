#!/usr/bin/env python3
"""Fits two polynomials of the C prelude's AVX-512 vector math (CRuntime.swift).

- `gf_vexp_difference`: 2^r on [0, 1) as 1 + r·(c1 + c2 r + … + c5 r⁴), the constant held at 1 so
  that e^0 is exact; least maximum relative error by Lawson's reweighted least squares.
- `gf_vgelu`: Φ(x) = ½ + ½·erf(x/√2) on [−4√2, 4√2) in 32 intervals of √2/4, each a degree-4
  polynomial in the position u ∈ [0, 1) within it; least maximum absolute error per interval (Lawson).
  The first interval's polynomial is 0 (Φ < 5.8e-8 there), so GELU is −0 below −3.75√2 and NaN at −inf.

Prints the coefficients as C (float32) and the largest error of their float32 evaluation (Horner).

    python bench/fit_pieces.py       # needs numpy; the output was pasted into CRuntime.swift
"""
from math import erf, sqrt

import numpy as np


def lawson(columns, target, passes=200):
    """Coefficients minimizing the largest |columns · c - target|, by reweighted least squares."""
    weight = np.ones_like(target)
    for _ in range(passes):
        root = np.sqrt(weight)
        c, *_ = np.linalg.lstsq(columns * root[:, None], target * root, rcond=None)
        error = np.abs(columns @ c - target)
        weight = weight * (error + 1e-300)
        weight /= weight.sum()
    return c


def horner(coefficients, u):
    p = np.float32(coefficients[-1])
    for c in coefficients[-2::-1]:
        p = np.float32(p * u + np.float32(c))
    return p


def fit_exp2():
    r = np.cos(np.linspace(0, np.pi, 6000)) * 0.5 + 0.5
    f = 2.0**r
    # 2^r = 1 + r·q(r): fit q for relative error, (1 + r q)/f - 1 = (r q - (f - 1))/f.
    columns = np.vander(r, 6, increasing=True)[:, 1:] / f[:, None]
    c = np.float32(lawson(columns, (f - 1) / f))
    coefficients = np.concatenate([[np.float32(1)], c])
    u = np.float32(np.linspace(0, 1, 200001)[:-1])
    error = np.abs(horner(coefficients, u).astype(np.float64) / 2.0 ** u.astype(np.float64) - 1).max()
    print(f"2^r, degree 5: max relative error {error:.2e} in float32")
    print("  " + ", ".join(f"{v:.10e}f" for v in c[::-1]))


def fit_phi(intervals=32, degree=4, half_range=4 * sqrt(2)):
    phi = np.vectorize(lambda x: 0.5 * (1 + erf(x / sqrt(2))))
    width = 2 * half_range / intervals
    table, worst = [], 0.0
    for i in range(intervals):
        u = np.cos(np.linspace(0, np.pi, 600)) * 0.5 + 0.5
        f = phi(-half_range + width * (i + u))
        columns = np.vander(u, degree + 1, increasing=True)
        c = np.zeros(degree + 1) if i == 0 else lawson(columns, f)
        c = np.float32(c)
        worst = max(worst, np.abs(horner(c, np.float32(u)).astype(np.float64) - f).max())
        table.append(c)
    print(f"Phi, {intervals} pieces of degree {degree}: max absolute error {worst:.2e} in float32")
    for k in range(degree + 1):
        values = [f"{row[k]:.9e}f" for row in table]
        print("  {" + ", ".join(values) + "},")


if __name__ == "__main__":
    fit_exp2()
    fit_phi()
