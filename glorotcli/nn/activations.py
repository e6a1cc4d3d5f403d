"""The paper's activation functions (Glorot & Bengio 2010, §2.3 and §3: sigmoid, tanh,
softsign, the last from Bergstra et al. 2009; relu as an extra, not in the paper): value and
derivative.

Two forms of each:

- NumPy (``act``, ``act_grad``): exact, used by the BLAS path's callers, the probes and tests.
- Numba scalars (``_f``, ``_fprime``) inlined into the fused kernels of ``kernels.py``.

Without Intel SVML, ``math.tanh`` is a scalar libm call that blocks vectorisation. In float32 the
kernels therefore use ``tanh_approx``, a rational (13/6) minimax approximation (the one Eigen uses
for ``ptanh_float``) that vectorises: its maximum absolute error against the exact float64 tanh is
below ``TANH_APPROX_MAX_ERROR`` (tested; measured 2.6e-7 near the clamp at |x| = 7.9; np.tanh in
float32 is within 6e-8). It is evaluated in float32 arithmetic, so near +-1 it is monotone only to
within a few ulp (3.6e-7). Sigmoid is computed as
0.5 + 0.5 tanh(x/2). In float64 the kernels use exact ``math.tanh``/``math.exp``, so float64 runs
match the NumPy reference to 1e-10.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from glorotcli.config import ACTIVATIONS
from glorotcli.errors import GlorotError

#: integer codes the Numba kernels switch on
SIGMOID, TANH, SOFTSIGN, RELU = 0, 1, 2, 3

#: documented bound on |tanh_approx(x) - tanh(x)| in float32 (tested)
TANH_APPROX_MAX_ERROR = 3e-7


def code(name: str) -> int:
    """The kernels' integer code of activation ``name``: its index in ``config.ACTIVATIONS``
    (``SIGMOID`` 0, ``TANH`` 1, ``SOFTSIGN`` 2, ``RELU`` 3).

    Raises GlorotError naming the choices for any other name.
    """
    try:
        return ACTIVATIONS.index(name)
    except ValueError:
        raise GlorotError(
            f"activation must be one of {', '.join(ACTIVATIONS)}, got {name!r}") from None


# ---------------------------------------------------------------- NumPy forms ----

def act(name: str, s: np.ndarray) -> np.ndarray:
    """z = f(s) elementwise, exact NumPy (no tanh approximation); a new array.

    ``s``: pre-activations of any shape, float32 or float64; the result has the same shape and
    dtype. sigmoid 1/(1 + e^-s), tanh, softsign s/(1 + |s|) (§2.3, §3), relu max(s, 0) (an
    extra). Raises GlorotError for an unknown ``name``.
    """
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
    """f'(s) elementwise, given ``s`` and ``z = f(s)`` of one shape and dtype; a new array of
    that shape and dtype.

    sigmoid z(1 - z), tanh 1 - z^2 (both from ``z``), softsign 1/(1 + |s|)^2 and relu
    1 if s > 0 else 0 (from ``s``; relu's derivative at 0 is taken as 0). These are the f' of
    the paper's eq. 2 (§4.2.1). Raises GlorotError for an unknown ``name``.
    """
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

# float32 constants keep the float32 kernels in float32 arithmetic (16 lanes per AVX-512 vector)
_CLAMP = np.float32(7.90531110763549805)
_A = tuple(np.float32(c) for c in (-2.76076847742355e-16, 2.00018790482477e-13,
                                     -8.60467152213735e-11, 5.12229709037114e-08,
                                     1.48572235717979e-05, 6.37261928875436e-04,
                                     4.89352455891786e-03))
_B = tuple(np.float32(c) for c in (1.19825839466702e-06, 1.18534705686654e-04,
                                     2.26843463243900e-03, 4.89352518554385e-03))
_A0, _A1, _A2, _A3, _A4, _A5, _A6 = _A
_B0, _B1, _B2, _B3 = _B
_HALF = np.float32(0.5)


@numba.njit(cache=True, inline="always")
def tanh_approx(x):
    """tanh(x) for a float32 scalar ``x`` by a rational (13/6) minimax approximation (Eigen's
    ``ptanh_float``), clamped at |x| = 7.905; returns float32. Vectorisable inside Numba loops;
    used by the float32 kernels only. Absolute error below ``TANH_APPROX_MAX_ERROR`` (3e-7)."""
    x = min(max(x, -_CLAMP), _CLAMP)
    x2 = x * x
    p = x2 * _A0 + _A1
    p = x2 * p + _A2
    p = x2 * p + _A3
    p = x2 * p + _A4
    p = x2 * p + _A5
    p = x2 * p + _A6
    p = x * p
    q = x2 * _B0 + _B1
    q = x2 * q + _B2
    q = x2 * q + _B3
    return p / q


@numba.njit(cache=True, inline="always")
def _f(x, kind, approx):
    """f(x) for activation code ``kind``; ``approx`` selects tanh_approx (float32)."""
    if kind == TANH:
        return tanh_approx(x) if approx else math.tanh(x)
    if kind == SIGMOID:
        if approx:
            return _HALF + _HALF * tanh_approx(_HALF * x)
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
