#!/usr/bin/env python3
"""Fit the scaled complementary error function used by attn's erf GELU.

kernel/normcdf.go (kernel.NormCDF, the erf GELU's Phi) computes erfc(t) for t >= 0 as exp(-t*t) * u * q(s), where
u = 2/(2+t), s = (2u - (1 + u_lo)) / (1 - u_lo) maps u in [u_lo, 1] (t in
[0, T_MAX]) onto [-1, 1], and q is a polynomial of degree DEG. This script
fits q (a Chebyshev least-squares fit weighted for relative error, at
Chebyshev nodes, against Python's double-precision math.erfc), converts it
to monomial coefficients in s (Horner form), checks the relative error of
erfc(t)*exp(t*t) evaluated that way on a dense grid of t, and prints the Go
constants. Run with Debian's python3-numpy:

    python3 scripts/fit/erfcx.py
"""
import math

import numpy as np
from numpy.polynomial import chebyshev as C

T_MAX = 10.5  # GELU's fast range needs |x|/sqrt(2) < 13.2/sqrt(2) = 9.3
DEG = 12
U_LO = 2 / (2 + T_MAX)


def scaled(t):
    """erfc(t)*exp(t*t)/u in double precision."""
    u = 2 / (2 + t)
    return math.erfc(t) * math.exp(t * t) / u


def main():
    n = 4000
    xs = np.cos(np.pi * (np.arange(n) + 0.5) / n)
    us = (xs + 1) / 2 * (1 - U_LO) + U_LO
    ys = np.array([scaled(2 / u - 2) for u in us])
    coef = C.chebfit(xs, ys, DEG, w=1 / ys)
    mono = C.cheb2poly(coef)  # q(s) = sum mono[i] s^i

    worst = 0.0
    for t in np.linspace(0, T_MAX, 400001):
        u = 2 / (2 + t)
        s = (2 * u - (1 + U_LO)) / (1 - U_LO)
        q = 0.0
        for c in mono[::-1]:
            q = q * s + c
        worst = max(worst, abs(q / scaled(t) - 1))
    print(f"// Fitted by scripts/fit/erfcx.py: degree {DEG} on t in [0, {T_MAX}];")
    print(f"// max relative error of erfc(t)·exp(t²) {worst:.2e} (Horner, float64).")
    print("var erfcxCoef = [...]float64{")
    for c in mono:
        print(f"\t{float(c)!r},")
    print("}")


if __name__ == "__main__":
    main()
