"""One denoising auto-encoder layer (Vincent et al. 2008): masking noise, a tied-weight decoder
with a sigmoid output, and its SGD step. The numbers of greedy layer-wise pre-training
(``glorotcli.run.pretrain``), the reference curve "Pre-training" of the paper's Fig. 11.

For a clean input x (B, n_in) of the layer, its corrupted copy x~ (``corrupt``), the layer's
weights W (n_in, n_hid), hidden biases b (n_hid,) and visible (decoder) biases c (n_in,):

    s = x~ W + b,   h = f(s)                      the layer's own code (f: -a/--activation)
    a = h W^T + c,  r = lo + (hi - lo) sigm(a)    the reconstruction, tied weights (Vincent
                                                  et al. 2008, §2.2), sigmoid output stretched
                                                  to the input's range [lo, hi]

and the reconstruction cost of one example, compared with the *clean* x (Vincent et al. 2008,
§2.3), summed over the n_in inputs:

- inputs in [0, 1] (pixels x/255, sigmoid codes): the cross-entropy
  ``L = -sum_j x_j log r_j + (1 - x_j) log(1 - r_j) = sum_j softplus(a_j) - x_j a_j``
  (Vincent et al. 2008, eq. 2), with dL/da = r - x;
- inputs in another bounded range (pixels 2x/255 - 1, tanh and softsign codes in [-1, 1]): the
  squared error ``L = sum_j (r_j - x_j)^2`` (Vincent et al. 2008, the squared-error loss L2),
  dL/da = 2 (r - x) (hi - lo) sigm(a) (1 - sigm(a));
- unbounded inputs (relu codes): the same squared error with a linear output r = a
  (our choice: a sigmoid cannot reach them).

The cost of a minibatch is the mean over its examples, as for the supervised cost
(docs/training.md). The gradients (the decoder's and the encoder's share of the tied W summed):

    dL/da = as above / B                  (B, n_in)
    dL/ds = (dL/da W) * f'(s)             (B, n_hid)
    dL/dW = x~^T dL/ds + (dL/da)^T h       (n_in, n_hid)
    dL/db = sum_b dL/ds,  dL/dc = sum_b dL/da

Speed: the matrix products run in BLAS (NumPy ``@``), with both weight-gradient products in
one: ``[x~; dL/da]^T [dL/ds; h]``; the elementwise pieces reuse the training kernels
(``kernels._bias_act`` for f, ``kernels._grad_act`` for f', ``kernels._update`` for the SGD
update of W and b). float32 uses the kernels' tanh approximation (as training does), float64
exact math. ``benchmarks/bench_dae.py`` times a step beside the supervised step of the same
layer.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numba
import numpy as np

from glorotcli.errors import GlorotError
from glorotcli.nn import kernels as K
from glorotcli.nn.activations import code

CROSS_ENTROPY, SQUARED_SIGMOID, SQUARED_LINEAR = 0, 1, 2
"""Integer codes of the three reconstructions (output and cost) the kernel switches on."""

COST_NAMES = {CROSS_ENTROPY: "cross-entropy, sigmoid output",
              SQUARED_SIGMOID: "squared error, sigmoid output stretched to [lo, hi]",
              SQUARED_LINEAR: "squared error, linear output"}

ACTIVATION_RANGE = {"sigmoid": (0.0, 1.0), "tanh": (-1.0, 1.0), "softsign": (-1.0, 1.0),
                    "relu": (0.0, math.inf)}
"""The values a hidden layer's codes take: the input range of the auto-encoder above it."""

INPUT_RANGE = {"0,1": (0.0, 1.0), "-1,1": (-1.0, 1.0)}
"""The range of the network's inputs for each ``--input-scale`` (``data.pixels``)."""


class Reconstruction(NamedTuple):
    """How a layer's input is reconstructed: ``kind`` (one of the codes above) and the input
    range [lo, hi] (hi may be inf for ``SQUARED_LINEAR``)."""

    kind: int
    lo: float
    hi: float

    @property
    def name(self) -> str:
        return COST_NAMES[self.kind]

    def to_dict(self) -> dict:
        return {"cost": self.name, "lo": self.lo, "hi": None if math.isinf(self.hi) else self.hi}


def reconstruction_for(lo: float, hi: float) -> Reconstruction:
    """The reconstruction of inputs in [lo, hi]: cross-entropy for [0, 1], squared error with a
    stretched sigmoid for another bounded range, squared error with a linear output for an
    unbounded one (see the module docstring)."""
    if not lo < hi:
        raise GlorotError(f"an input range needs lo < hi, got [{lo}, {hi}]")
    if math.isinf(lo) or math.isinf(hi):
        return Reconstruction(SQUARED_LINEAR, float(lo), float(hi))
    if (lo, hi) == (0.0, 1.0):
        return Reconstruction(CROSS_ENTROPY, 0.0, 1.0)
    return Reconstruction(SQUARED_SIGMOID, float(lo), float(hi))


def layer_reconstructions(activation: str, input_scale: str, depth: int) -> list[Reconstruction]:
    """The reconstruction of each of ``depth`` stacked layers: the first sees the pixels
    (``input_scale``), the others the codes of the layer below (``activation``)."""
    code(activation)
    if input_scale not in INPUT_RANGE:
        raise GlorotError(f"--input-scale must be one of {', '.join(INPUT_RANGE)}, "
                          f"got {input_scale!r}")
    first = reconstruction_for(*INPUT_RANGE[input_scale])
    return [first] + [reconstruction_for(*ACTIVATION_RANGE[activation])] * (depth - 1)


# ------------------------------------------------------------------------- noise ----

def masked_count(n: int, fraction: float) -> int:
    """Inputs set to 0 per example: round(fraction x n) (Vincent et al. 2008, §2.3: "a fixed
    number vd of components are chosen at random"). Raises GlorotError outside [0, 1)."""
    if not (isinstance(fraction, int | float) and 0.0 <= fraction < 1.0):
        raise GlorotError(f"--corruption must be a fraction in [0, 1), got {fraction}")
    return int(round(fraction * n))


def corrupt(x: np.ndarray, fraction: float, rng: np.random.Generator,
            out: np.ndarray | None = None) -> np.ndarray:
    """Masking noise: a copy of ``x`` (B, n) with, in each row, exactly ``masked_count(n,
    fraction)`` entries chosen uniformly at random (without replacement, independently per row)
    set to 0. Draws B x n uniforms from ``rng`` whatever the fraction (so the stream advances
    the same way). ``out``: an array of x's shape and dtype to write into (may not be ``x``)."""
    x = np.asarray(x)
    if x.ndim != 2:
        raise GlorotError(f"inputs must be (examples, inputs), got shape {x.shape}")
    B, n = x.shape
    k = masked_count(n, fraction)
    keys = rng.random((B, n))
    if out is None:
        out = np.empty_like(x)
    out[...] = x
    if k > 0:
        idx = np.argpartition(keys, k - 1, axis=1)[:, :k]
        np.put_along_axis(out, idx, 0, axis=1)
    return out


# ------------------------------------------------------------------------ kernel ----

@numba.njit(cache=True, error_model="numpy")
def _reconstruct(a, c, x, kind, lo, hi, da):
    """a += c (in place); da = dL/da of the mean cost over the batch; returns that mean cost
    (accumulated in float64). ``x`` is the clean input."""
    B, n = a.shape
    total = 0.0
    inv_b = 1.0 / B
    span = hi - lo
    for r in range(B):
        for j in range(n):
            v = float(a[r, j]) + float(c[j])
            a[r, j] = v
            t = float(x[r, j])
            if kind == CROSS_ENTROPY:
                # softplus(v) - t v, and sigm(v) - t, without overflow
                e = math.exp(-abs(v))
                total += max(v, 0.0) + math.log1p(e) - t * v
                sg = 1.0 / (1.0 + e) if v >= 0 else e / (1.0 + e)
                da[r, j] = (sg - t) * inv_b
            elif kind == SQUARED_SIGMOID:
                e = math.exp(-abs(v))
                sg = 1.0 / (1.0 + e) if v >= 0 else e / (1.0 + e)
                d = lo + span * sg - t
                total += d * d
                da[r, j] = 2.0 * d * span * sg * (1.0 - sg) * inv_b
            else:
                d = v - t
                total += d * d
                da[r, j] = 2.0 * d * inv_b
    return total * inv_b


def _check_layer(W: np.ndarray, b: np.ndarray, c: np.ndarray) -> None:
    if W.ndim != 2 or b.shape != W.shape[1:] or c.shape != W.shape[:1]:
        raise GlorotError(f"an auto-encoder layer needs W (n_in, n_hid), b (n_hid,) and "
                          f"c (n_in,), got {W.shape}, {b.shape}, {c.shape}")
    if W.dtype not in (np.float32, np.float64) or b.dtype != W.dtype or c.dtype != W.dtype:
        raise GlorotError(f"W, b and c must share one float dtype, got {W.dtype}, {b.dtype}, "
                          f"{c.dtype}")
    for name, arr in (("W", W), ("b", b), ("c", c)):
        if not (arr.flags.c_contiguous and arr.flags.writeable):
            raise GlorotError(f"{name} must be a writeable C-contiguous array")


class DAELayer:
    """SGD on one tied-weight denoising auto-encoder layer; ``W``, ``b``, ``c`` are updated in
    place. Keeps its work arrays between steps (one set per batch size).

    ``activation``: the layer's f; ``recon``: how its input is reconstructed
    (``reconstruction_for``). Run it with NumPy's BLAS threads as the caller set them.
    """

    def __init__(self, W: np.ndarray, b: np.ndarray, c: np.ndarray, activation: str,
                 recon: Reconstruction) -> None:
        _check_layer(W, b, c)
        self.W, self.b, self.c = W, b, c
        self.activation = activation
        self.kind = code(activation)
        self.recon = recon
        self._approx = W.dtype == np.float32
        self._bufs: dict[int, tuple[np.ndarray, ...]] = {}

    def _buffers(self, B: int) -> tuple[np.ndarray, ...]:
        bufs = self._bufs.get(B)
        if bufs is None:
            n_in, n_hid = self.W.shape
            dt = self.W.dtype
            Z = np.empty((2 * B, n_in), dt)    # [x~; dL/da]
            D = np.empty((2 * B, n_hid), dt)   # [dL/ds; h]
            s = np.empty((B, n_hid), dt)
            a = np.empty((B, n_in), dt)
            dW = np.empty_like(self.W)
            bufs = self._bufs[B] = (Z, D, s, a, dW)
        return bufs

    def _check_batch(self, x: np.ndarray, x_tilde: np.ndarray) -> None:
        n_in = self.W.shape[0]
        if x.ndim != 2 or x.shape[1] != n_in or x.shape[0] < 1 or x_tilde.shape != x.shape:
            raise GlorotError(f"clean and corrupted inputs must both be (batch, {n_in}), got "
                              f"{x.shape} and {x_tilde.shape}")

    def _forward_backward(self, x: np.ndarray, x_tilde: np.ndarray) -> tuple[float, tuple]:
        """Fill the work arrays with the gradients at the current weights; return the mean
        cost over the batch and the arrays."""
        self._check_batch(x, x_tilde)
        B = x.shape[0]
        Z, D, s, a, dW = bufs = self._buffers(B)
        xt, da = Z[:B], Z[B:]
        ds, h = D[:B], D[B:]
        xt[...] = x_tilde
        x = np.ascontiguousarray(x, dtype=self.W.dtype)
        np.matmul(xt, self.W, out=s)
        K._bias_act(s, self.b, h, self.kind, self._approx)        # s += b, h = f(s)
        np.matmul(h, self.W.T, out=a)
        r = self.recon
        cost = _reconstruct(a, self.c, x, r.kind, r.lo, r.hi, da)  # a += c, da = dL/da
        np.matmul(da, self.W, out=ds)
        K._grad_act(ds, s, h, self.kind)                          # ds = (da W) * f'(s)
        np.matmul(Z.T, D, out=dW)                                  # x~^T ds + da^T h
        return float(cost), bufs

    def gradients(self, x: np.ndarray, x_tilde: np.ndarray
                  ) -> tuple[float, np.ndarray, np.ndarray, np.ndarray]:
        """Mean reconstruction cost of the batch (clean ``x``, corrupted ``x_tilde``, both
        (B, n_in)) and its gradients (dW, db, dc), copies; nothing is updated."""
        cost, (Z, D, _, _, dW) = self._forward_backward(x, x_tilde)
        B = x.shape[0]
        return cost, dW.copy(), D[:B].sum(axis=0), Z[B:].sum(axis=0)

    def step(self, x: np.ndarray, x_tilde: np.ndarray, lr: float) -> float:
        """One SGD step (W, b, c -= lr x gradient); returns the batch's mean cost *before* it."""
        cost, (Z, D, _, _, dW) = self._forward_backward(x, x_tilde)
        B = x.shape[0]
        lr = self.W.dtype.type(lr)
        K._update(self.W, dW, self.b, D[:B], lr)                  # W -= lr dW, b -= lr sum ds
        self.c -= lr * Z[B:].sum(axis=0)
        return cost

    def cost(self, x: np.ndarray, batch: int = 1000) -> float:
        """Mean reconstruction cost of clean inputs ``x`` (N, n_in), uncorrupted (the
        auto-encoder's error on data it reconstructs as is), in batches; nothing is updated."""
        x = np.asarray(x, dtype=self.W.dtype)
        if x.ndim != 2 or x.shape[1] != self.W.shape[0]:
            raise GlorotError(f"inputs must be (examples, {self.W.shape[0]}), got {x.shape}")
        r = self.recon
        total = 0.0
        for i in range(0, len(x), batch):
            xb = np.ascontiguousarray(x[i:i + batch])
            h = encode(xb, self.W, self.b, self.activation)
            a = h @ self.W.T
            cost = _reconstruct(a, self.c, xb, r.kind, r.lo, r.hi, np.empty_like(a))
            total += cost * len(xb)
        return total / max(len(x), 1)


def encode(x: np.ndarray, W: np.ndarray, b: np.ndarray, activation: str) -> np.ndarray:
    """h = f(x W + b) for a batch ``x`` (B, n_in) in W's dtype: the clean code of a layer, fed
    to the auto-encoder above it. Returns a new (B, n_hid) array."""
    x = np.asarray(x, dtype=W.dtype)
    s = x @ W
    h = np.empty_like(s)
    K._bias_act(np.ascontiguousarray(s), b, h, code(activation), W.dtype == np.float32)
    return h
