"""The paper's activation functions (§1.3 of docs/paper.md): value and derivative.

Two forms of each:

- NumPy (``act``, ``act_grad``): exact, used by the BLAS path's callers, the probes and tests.
- Numba scalars (``_f``, ``_fprime``) inlined into the fused kernels of ``kernels.py``.

Without Intel SVML, ``math.tanh`` is a scalar libm call that blocks vectorisation. In float32 the
kernels therefore use ``tanh_approx``, a rational (13/6) minimax approximation (the one Eigen uses
for ``ptanh_float``) that vectorises: its maximum absolute error against the exact float64 tanh is
below ``TANH_APPROX_MAX_ERROR`` (tested; measured 2.4e-7, reached where the input is clamped to
+-7.9, which maps to 1 - 2.4e-7; np.tanh in float32 is within 6e-8). Sigmoid is computed as
0.5 + 0.5 tanh(x/2). In float64 the kernels use exact ``math.tanh``/``math.exp``, so float64 runs
match the NumPy reference to 1e-10.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from glorotcli.errors import GlorotError

ACTIVATIONS = ("sigmoid", "tanh", "softsign", "relu")

#: integer codes the Numba kernels switch on
SIGMOID, TANH, SOFTSIGN, RELU = 0, 1, 2, 3

#: documented bound on |tanh_approx(x) - tanh(x)| in float32 (tested)
TANH_APPROX_MAX_ERROR = 3e-7


def code(name: str) -> int:
    """The kernels' integer code of activation ``name``."""
    try:
        return ACTIVATIONS.index(name)
    except ValueError:
        raise GlorotError(
            f"activation must be one of {', '.join(ACTIVATIONS)}, got {name!r}") from None


# ---------------------------------------------------------------- NumPy forms ----

def act(name: str, s: np.ndarray) -> np.ndarray:
    """z = f(s), exact."""
    if name == "sigmoid":
        return 1.0 / (1.0 + np.exp(-s))
    if name == "tanh":
        return np.tanh(s)
    if name == "softsign":
        return s / (1.0 + np.abs(s))
    if name == "relu":
        return np.maximum(s, 0)
    code(name)  # raises
    raise AssertionError


def act_grad(name: str, s: np.ndarray, z: np.ndarray) -> np.ndarray:
    """f'(s), given s and z = f(s)."""
    if name == "sigmoid":
        return z * (1 - z)
    if name == "tanh":
        return 1 - z * z
    if name == "softsign":
        return 1.0 / (1.0 + np.abs(s)) ** 2
    if name == "relu":
        return (s > 0).astype(s.dtype)
    code(name)
    raise AssertionError


# ---------------------------------------------------------------- Numba forms ----

@numba.njit(cache=True, inline="always")
def tanh_approx(x):
    """Rational approximation of tanh, vectorisable (float32 kernels only)."""
    x = min(max(x, -7.90531110763549805), 7.90531110763549805)
    x2 = x * x
    p = x2 * -2.76076847742355e-16 + 2.00018790482477e-13
    p = x2 * p + -8.60467152213735e-11
    p = x2 * p + 5.12229709037114e-08
    p = x2 * p + 1.48572235717979e-05
    p = x2 * p + 6.37261928875436e-04
    p = x2 * p + 4.89352455891786e-03
    p = x * p
    q = x2 * 1.19825839466702e-06 + 1.18534705686654e-04
    q = x2 * q + 2.26843463243900e-03
    q = x2 * q + 4.89352518554385e-03
    return p / q


@numba.njit(cache=True, inline="always")
def _f(x, kind, approx):
    """f(x) for activation code ``kind``; ``approx`` selects tanh_approx (float32)."""
    if kind == TANH:
        return tanh_approx(x) if approx else math.tanh(x)
    if kind == SIGMOID:
        if approx:
            return 0.5 + 0.5 * tanh_approx(0.5 * x)
        return 1.0 / (1.0 + math.exp(-x))
    if kind == SOFTSIGN:
        return x / (1.0 + abs(x))
    return max(x, 0.0)


@numba.njit(cache=True, inline="always")
def _fprime(s, z, kind):
    """f'(s) given s and z = f(s)."""
    if kind == TANH:
        return 1.0 - z * z
    if kind == SIGMOID:
        return z * (1.0 - z)
    if kind == SOFTSIGN:
        d = 1.0 + abs(s)
        return 1.0 / (d * d)
    return 1.0 if s > 0 else 0.0
