"""Fused Numba kernels for one dense layer, and the softmax output layer.

Layer i computes ``s = z @ W + b`` and ``z' = f(s)`` (W is (fan_in, fan_out), row-major).

- ``_dense_forward``: one pass over W in register tiles (``simd.py``). Threads split the
  *columns* of W (output units), so each output is summed by one thread in the same order
  whatever the thread count.
- ``_dense_backward_update``: one pass over W that both back-propagates and applies the SGD update.
  For each row k of W (input unit k) it computes dC/dz_k = sum_j dC/ds_j W_kj with the old row,
  multiplies by f'(s_k) to get the back-propagated gradient of the layer below, and then updates
  the row with the weight gradient dC/dW_kj = sum_b z_bk dC/ds_bj (rows in pairs, register
  blocks from ``simd.py``). Threads split the rows.
- ``_bias_act`` / ``_update``: the serial elementwise pieces of the BLAS path (large batches),
  where NumPy ``@`` does the matrix products.
- ``_softmax_out``: softmax, the output back-propagated gradient and the mean cost, in one go.

All kernels trust their inputs: C-contiguous arrays of one float dtype, shapes as documented.
Wrappers in ``mlp.py`` validate. Thread counts arrive as the argument ``n_chunks`` (never read
inside a cached kernel). ``error_model="numpy"``: division by zero gives inf/NaN instead of
raising, which also lets LLVM vectorise loops that divide (10x for the tanh approximation).
Floating point: ``fastmath`` reassociation and contraction only (no
``nnan``/``ninf``), so NaN still propagates for divergence detection; results are deterministic for
a given build and do not depend on ``n_chunks`` (each sum is done by one thread in a fixed order).
"""

from __future__ import annotations

import math

import numba
import numpy as np
from numba import prange

from glorotcli.nn import simd
from glorotcli.nn.activations import RELU, SIGMOID, SOFTSIGN, TANH, _f, _fprime

FASTMATH = {"reassoc", "contract", "nsz", "arcp"}
NLL, QUADRATIC = 0, 1  # integer codes of config.COSTS the kernels switch on


@numba.njit(cache=True, inline="always")
def _chunk_bounds(n, n_chunks, c, align):
    """Start and end of chunk ``c`` when splitting range(n) into ``n_chunks`` pieces whose
    starts are multiples of ``align``, as even as that allows (1000 columns in 2 chunks of
    8: 504 + 496; 1000 rows with align 1: 500 + 500)."""
    units = (n + align - 1) // align
    lo = min(n, (units * c // n_chunks) * align)
    hi = min(n, (units * (c + 1) // n_chunks) * align)
    return lo, hi


@numba.njit(cache=True, inline="always")
def _act_store(acc, b, s, z, r, j0, kind, approx):
    """s[r, j0:j0+w] = acc + b[j0:j0+w], z[r, same] = f(s), for one row of a column chunk."""
    w = acc.shape[0]
    bj = b[j0:j0 + w]
    sr = s[r, j0:j0 + w]
    if kind < 0:  # the output layer's logits: z is not written
        for j in range(w):
            sr[j] = acc[j] + bj[j]
        return
    zr = z[r, j0:j0 + w]
    if kind == TANH and approx:
        for j in range(w):
            v = acc[j] + bj[j]
            sr[j] = v
            zr[j] = _f(v, TANH, True)
    elif kind == TANH:
        for j in range(w):
            v = acc[j] + bj[j]
            sr[j] = v
            zr[j] = _f(v, TANH, False)
    elif kind == SIGMOID and approx:
        for j in range(w):
            v = acc[j] + bj[j]
            sr[j] = v
            zr[j] = _f(v, SIGMOID, True)
    elif kind == SIGMOID:
        for j in range(w):
            v = acc[j] + bj[j]
            sr[j] = v
            zr[j] = _f(v, SIGMOID, False)
    elif kind == SOFTSIGN:
        for j in range(w):
            v = acc[j] + bj[j]
            sr[j] = v
            zr[j] = _f(v, SOFTSIGN, False)
    else:
        for j in range(w):
            v = acc[j] + bj[j]
            sr[j] = v
            zr[j] = _f(v, RELU, False)


@numba.njit(cache=True, parallel=True, fastmath=FASTMATH, error_model="numpy")
def _dense_forward(z_in, W, b, s, z, kind, approx, n_chunks):
    """s = z_in @ W + b; z = f(s) (kind < 0: logits only). Threads split the columns.

    The product goes in register tiles (``simd.tile``): blocks of up to eight examples times a
    few vectors of columns, accumulated in registers down all rows of W. The tiles read the
    inputs transposed (``zT``, one cache line per row of W for up to 16 examples). 2.0x faster
    at B=10 than the eight-rows-per-pass Numba loop it replaced (docs/performance.md).
    """
    B, n_in = z_in.shape
    n_out = W.shape[1]
    lanes = simd.VECTOR_BYTES // W.itemsize
    blocks, nv = simd.tile_blocks(B)
    zT = np.ascontiguousarray(z_in.T)
    for c in prange(n_chunks):
        j0, j1 = _chunk_bounds(n_out, n_chunks, c, lanes)
        j = j0
        while j < j1:
            width = min(nv * lanes, j1 - j)
            r0 = 0
            for i in range(blocks):
                rb = B // blocks + (1 if i < B % blocks else 0)
                simd.tile(zT, W, s, j, width, r0, rb, nv)
                r0 += rb
            j += nv * lanes
        if j1 > j0:
            for r in range(B):
                _act_store(s[r, j0:j1], b, s, z, r, j0, kind, approx)


@numba.njit(cache=True, fastmath=FASTMATH, error_model="numpy")
def _dense_backward_update(z_in, s_in, W, b, ds, lr, ds_in, kind, need_ds_in, n_chunks):
    """Back-propagate through one layer and apply its SGD update, in one pass over W (two from
    ``simd.PRODUCTS_MIN_B`` examples on: the dot products read W, then the update).

    ``ds`` (B, fan_out): dC/ds of this layer (mean cost: already divided by B).
    ``ds_in`` (B, fan_in): written with dC/ds of the layer below = (ds @ W_old.T) * f'(s_in),
    when ``need_ds_in``. Then W -= lr * z_in.T @ ds and b -= lr * ds.sum(0).

    Up to ``simd.PRODUCTS_MIN_B`` - 1 examples: rows of W go in pairs (the last row of an odd
    fan_in alone), the examples in blocks of at most six (``simd.backward_pass``, register-blocked,
    asking for the rows ahead): each pass forms the block's dot products with the old rows and its
    terms of the weight gradient; the last pass writes the updated rows. From
    ``simd.PRODUCTS_MIN_B`` on: two register-blocked products, the dot products first
    (``_backward_as_products``). Threads split the rows in chunks that start at even rows, so every
    row takes the same passes for any thread count, and the results do not depend on it.
    """
    B, n_in = z_in.shape
    n_out = W.shape[1]
    zero = np.zeros(1, dtype=W.dtype)[0]
    zT = np.ascontiguousarray(z_in.T)
    if B >= simd.PRODUCTS_MIN_B:
        _backward_as_products(z_in, zT, s_in, W, ds, lr, ds_in, kind, need_ds_in, n_chunks)
    else:
        _backward_in_passes(z_in, zT, s_in, W, ds, lr, ds_in, kind, need_ds_in, n_chunks)
    # the bias: one short serial pass
    for j in range(n_out):
        t = zero
        for r in range(B):
            t += ds[r, j]
        b[j] -= lr * t


@numba.njit(cache=True, parallel=True, fastmath=FASTMATH, error_model="numpy")
def _backward_in_passes(z_in, zT, s_in, W, ds, lr, ds_in, kind, need_ds_in, n_chunks):
    """``_dense_backward_update`` without the bias, for B < ``simd.PRODUCTS_MIN_B``: pairs of
    rows in passes of at most six examples (``simd.backward_pass``)."""
    B, n_in = z_in.shape
    n_out = W.shape[1]
    passes = simd.pass_blocks(B)
    for c in prange(n_chunks):
        k0, k1 = _chunk_bounds(n_in, n_chunks, c, 2)
        g = np.empty((2, n_out), dtype=W.dtype)
        dots = np.empty((2, B), dtype=W.dtype)
        k = k0
        while k < k1:
            nr = 2 if k + 2 <= k1 else 1
            r0 = 0
            for i in range(passes):
                rb = B // passes + (1 if i < B % passes else 0)
                if passes == 1:
                    mode = simd.ONLY
                elif i == 0:
                    mode = simd.FIRST
                elif i == passes - 1:
                    mode = simd.LAST
                else:
                    mode = simd.MIDDLE
                simd.backward(zT, W, ds, g, dots, k, r0, lr, mode, nr, rb)
                r0 += rb
            if need_ds_in:
                for r in range(nr):
                    for e in range(B):
                        ds_in[e, k + r] = dots[r, e] * _fprime(s_in[e, k + r], z_in[e, k + r],
                                                               kind)
            k += nr


@numba.njit(cache=True, parallel=True, fastmath=FASTMATH, error_model="numpy")
def _backward_as_products(z_in, zT, s_in, W, ds, lr, ds_in, kind, need_ds_in, n_chunks):
    """``_dense_backward_update`` without the bias, for B >= ``simd.PRODUCTS_MIN_B``: first
    every dot product with the old W (``simd.dot_products_tile``, threads split the rows of W),
    then the update (``simd.gradient_update_tile``, threads split the rows again); each sum is
    done by one lane of one thread in a fixed order, whatever the thread count."""
    B, n_in = z_in.shape
    n_out = W.shape[1]
    if need_ds_in:
        for c in prange(n_chunks):
            k0, k1 = _chunk_bounds(n_in, n_chunks, c, simd.DOT_ROWS)
            for k in range(k0, k1, simd.DOT_ROWS):
                nk = min(simd.DOT_ROWS, k1 - k)
                for e in range(0, B, simd.DOT_EXAMPLES):
                    simd.dot_products_tile(ds, W, ds_in, e, min(simd.DOT_EXAMPLES, B - e), k, nk)
                for e in range(B):
                    for kk in range(k, k + nk):
                        ds_in[e, kk] = ds_in[e, kk] * _fprime(s_in[e, kk], z_in[e, kk], kind)
    width = simd.UPDATE_VECTORS * (simd.VECTOR_BYTES // W.itemsize)
    for c in prange(n_chunks):
        k0, k1 = _chunk_bounds(n_in, n_chunks, c, simd.UPDATE_ROWS)
        for k in range(k0, k1, simd.UPDATE_ROWS):
            nk = min(simd.UPDATE_ROWS, k1 - k)
            for j in range(0, n_out, width):
                simd.gradient_update_tile(zT, ds, W, k, nk, j, min(width, n_out - j), lr)


@numba.njit(cache=True, fastmath=FASTMATH, error_model="numpy")
def _bias_act(s, b, z, kind, approx):
    """BLAS path: s += b in place, z = f(s) (kind < 0: logits only, z untouched). Serial."""
    B = s.shape[0]
    for r in range(B):
        acc = s[r].copy()
        _act_store(acc, b, s, z, r, 0, kind, approx)


@numba.njit(cache=True, fastmath=FASTMATH, error_model="numpy")
def _grad_act(dz, s, z, kind):
    """BLAS path: dz *= f'(s) in place (dz = ds_next @ W.T becomes dC/ds). Serial."""
    B, n = dz.shape
    for r in range(B):
        dzr, sr, zr = dz[r], s[r], z[r]
        for k in range(n):
            dzr[k] *= _fprime(sr[k], zr[k], kind)


@numba.njit(cache=True, fastmath=FASTMATH, error_model="numpy")
def _update(W, dW, b, ds, lr):
    """BLAS path: W -= lr * dW, b -= lr * ds.sum(0). Serial, one pass."""
    n_in, n_out = W.shape
    for k in range(n_in):
        Wk, dWk = W[k], dW[k]
        for j in range(n_out):
            Wk[j] -= lr * dWk[j]
    B = ds.shape[0]
    zero = np.zeros(1, dtype=W.dtype)[0]
    for j in range(n_out):
        t = zero
        for r in range(B):
            t += ds[r, j]
        b[j] -= lr * t


@numba.njit(cache=True, error_model="numpy")
def _softmax_out(s, y, cost, p, ds):
    """p = softmax(s); ds = dC/ds of the mean cost over the batch; returns the mean cost.

    nll: C = -log p_y (computed as a log-sum-exp, so it stays finite);
    quadratic: C = sum_k (p_k - t_k)^2 with t the one-hot target.
    """
    B, K = s.shape
    total = 0.0
    inv_b = 1.0 / B
    for r in range(B):
        m = s[r, 0]
        for k in range(1, K):
            m = max(m, s[r, k])
        tot = 0.0
        for k in range(K):
            e = math.exp(float(s[r, k]) - m)
            p[r, k] = e
            tot += e
        for k in range(K):
            p[r, k] = p[r, k] / tot
        yr = y[r]
        if cost == NLL:
            total += -(float(s[r, yr]) - m - math.log(tot))
            for k in range(K):
                ds[r, k] = (p[r, k] - (1.0 if k == yr else 0.0)) * inv_b
        else:
            gp = 0.0
            for k in range(K):
                d = float(p[r, k]) - (1.0 if k == yr else 0.0)
                total += d * d
                gp += 2.0 * d * p[r, k]
            for k in range(K):
                d = float(p[r, k]) - (1.0 if k == yr else 0.0)
                ds[r, k] = p[r, k] * (2.0 * d - gp) * inv_b
    return total * inv_b


def cache_is_cold() -> bool:
    """True when the step kernels of this module have no compiled copy in Numba's disk cache yet,
    so the first training step will compile for about 20 s (the CLI says so beforehand).
    Reads Numba's cache index paths, which Numba does not expose publicly: if that changes,
    this answers False (no message) rather than fail."""
    import os

    try:  # the kernels every small-batch step runs (inlined helpers are never cached alone)
        paths = [f._cache._cache_file._index_path
                 for f in (_dense_forward, _dense_backward_update, _softmax_out)]
    except AttributeError:
        return False
    return not any(os.path.exists(p) for p in paths)
