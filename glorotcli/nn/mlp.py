"""The paper's networks (§2.3: dense layers, a softmax output, plain minibatch SGD):
parameters and the forward/backward API used by training and probes.

Notation follows the paper (§4.2.1): ``z[0] = x``, ``s[i] = z[i] @ W[i] + b[i]``,
``z[i+1] = f(s[i])`` for hidden layers, and the last ``s`` are the output logits (softmax on
top). ``W[i]`` has shape (fan_in, fan_out) = (n_i, n_{i+1}).

This is the API contract. The fast kernels in ``kernels.py`` sit behind the same functions;
callers never need to know which path ran:

- batches of at most ``crossover(threads)`` examples run the fused Numba kernels (one pass over
  each W forward, one pass backward that also applies the SGD update);
- larger batches run NumPy ``@`` (BLAS) for the matrix products.

For a training loop, make one ``Trainer(net, cost, threads)`` and call ``trainer.step(x, y, lr)``;
it keeps its buffers between steps. ``sgd_step`` is the same step with a throw-away Trainer.

Floating point: in float32 the kernels use a rational tanh approximation (max abs error < 3e-7,
see ``activations.py``); in float64 they use exact math. Same net, data and thread count give
bit-identical results.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from glorotcli.config import COSTS
from glorotcli.errors import GlorotError
from glorotcli.nn import kernels as K
from glorotcli.nn.activations import ACTIVATIONS, act, act_grad, code
from glorotcli.nn.threads import check_threads, use_threads

DTYPES = (np.float32, np.float64)

#: Largest batch size that runs the fused kernels, by thread count (measured: see
#: docs/performance.md, "Crossover"); larger batches use BLAS.
CROSSOVER = {1: 48, 2: 48}

__all__ = ["ACTIVATIONS", "COSTS", "CROSSOVER", "MLP", "Backward", "Forward", "Trainer", "act",
           "act_grad", "backward", "crossover", "evaluate", "forward", "loss", "output_delta",
           "sgd_step", "softmax"]


@dataclass
class MLP:
    """Parameters of a fully connected net (§2.3): ``sizes`` (n_0 inputs, hidden widths...,
    classes), ``activation`` one of ``ACTIVATIONS`` (the hidden layers'; the output is a
    softmax), ``W[i]`` (n_i, n_{i+1}) and ``b[i]`` (n_{i+1},), all of one dtype, float32 or
    float64. Nothing is checked here: ``Trainer`` checks the net (GlorotError), ``init_mlp``
    makes one.
    """

    sizes: tuple[int, ...]
    activation: str
    W: list[np.ndarray]
    b: list[np.ndarray]

    @property
    def dtype(self) -> np.dtype:
        """The parameters' dtype (that of ``W[0]``): float32 or float64."""
        return self.W[0].dtype

    @property
    def n_hidden(self) -> int:
        """L, the number of hidden layers (``len(sizes) - 2``)."""
        return len(self.sizes) - 2

    def copy(self) -> MLP:
        """A deep copy: new W and b arrays (same dtypes), the same sizes and activation."""
        return MLP(self.sizes, self.activation, [w.copy() for w in self.W],
                   [b.copy() for b in self.b])


@dataclass
class Forward:
    """Everything a forward pass on a batch of B examples computed, in the net's dtype:
    ``s[i]`` (B, n_{i+1}) the pre-activations of every layer (``s[-1]`` the output logits),
    ``z[i]`` (B, n_i) the activations, ``z[0]`` the input and one per hidden layer (L + 1
    arrays), ``p`` (B, classes) the softmax output (§2.3)."""

    s: list[np.ndarray]
    z: list[np.ndarray]
    p: np.ndarray


@dataclass
class Backward:
    """Gradients of the mean cost C over a batch of B examples, in the net's dtype:
    ``ds[i]`` (B, n_{i+1}) = dC/ds[i], row e being example e's back-propagated gradient divided
    by B (eq. 2); ``dW[i]`` (n_i, n_{i+1}) = dC/dW[i] = z[i]^T ds[i] (eq. 3, summed over the
    batch); ``db[i]`` (n_{i+1},) = the column sums of ``ds[i]``."""

    ds: list[np.ndarray]
    dW: list[np.ndarray]
    db: list[np.ndarray]


def softmax(s: np.ndarray) -> np.ndarray:
    """Row-wise softmax of logits ``s`` (B, K): p (B, K), same dtype, rows summing to 1
    (computed after subtracting each row's maximum, so large logits do not overflow)."""
    e = np.exp(s - s.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def output_delta(p: np.ndarray, y: np.ndarray, cost: str) -> np.ndarray:
    """dC/ds of the output logits, (B, K) in ``p``'s dtype, for the mean cost C over the batch.

    ``p`` (B, K) the softmax output, ``y`` (B,) integer labels in 0..K-1 (not checked).
    ``nll`` (the paper's cost, §2.3): (p - onehot(y)) / B. ``quadratic`` (§4.1): the gradient
    of sum_k (p_k - t_k)^2 through the softmax, / B. Raises GlorotError for another cost.
    """
    B, K = p.shape
    t = np.zeros_like(p)
    t[np.arange(B), y] = 1
    if cost == "nll":
        return (p - t) / B
    if cost == "quadratic":  # C = sum_k (p_k - t_k)^2 through the softmax
        g = 2 * (p - t)
        return p * (g - (g * p).sum(axis=1, keepdims=True)) / B
    raise GlorotError(f"cost must be one of {', '.join(COSTS)}, got {cost!r}")


def loss(p: np.ndarray, y: np.ndarray, cost: str = "nll") -> float:
    """Mean cost over the batch, a Python float in nats for ``nll``.

    ``p`` (B, K) softmax output, ``y`` (B,) integer labels in 0..K-1 (not checked). ``nll``:
    -log p_y, the paper's cost (§2.3), with p_y clamped at 1e-30 (at most 69.1 per example);
    ``quadratic``: sum_k (p_k - onehot(y)_k)^2, the cost §4.1 compares it with (Fig. 5).
    Raises GlorotError for another cost.
    """
    _check_cost(cost)
    B = len(y)
    if cost == "nll":
        return float(-np.log(np.maximum(p[np.arange(B), y], 1e-30)).mean())
    t = np.zeros_like(p)
    t[np.arange(B), y] = 1
    return float(((p - t) ** 2).sum(axis=1).mean())


def backward(net: MLP, fwd: Forward, y: np.ndarray, cost: str = "nll") -> Backward:
    """Back-propagate the mean cost over the batch through the forward pass ``fwd`` of ``net``
    (eqs. 2-3, §4.2.1); nothing is updated. ``y`` (B,) labels in 0..classes-1. Returns a
    ``Backward`` in the net's dtype. BLAS products, in place where possible.

    Raises GlorotError for an unknown cost, inputs ``fwd.z[0]`` not (B, n_0), or labels of
    another shape or out of range.
    """
    code_ = _check_cost(cost)
    y = _check_batch(net, fwd.z[0], y)
    L = len(net.W)
    ds: list = [None] * L
    dW: list = [None] * L
    db: list = [None] * L
    logits = np.ascontiguousarray(fwd.s[-1])
    ds[-1] = np.empty_like(logits)
    K._softmax_out(logits, y, code_, np.empty_like(logits), ds[-1])
    kind = code(net.activation)
    for i in range(L - 1, -1, -1):
        dW[i] = fwd.z[i].T @ ds[i]
        db[i] = ds[i].sum(axis=0)
        if i > 0:
            ds[i - 1] = ds[i] @ net.W[i].T
            K._grad_act(ds[i - 1], np.ascontiguousarray(fwd.s[i - 1]),
                        np.ascontiguousarray(fwd.z[i]), kind)
    return Backward(ds=ds, dW=dW, db=db)


def crossover(threads: int) -> int:
    """Largest batch size (examples) that runs the fused kernels with ``threads`` threads
    (``CROSSOVER``; counts it does not list take the entry of the largest one listed)."""
    return CROSSOVER.get(threads, CROSSOVER[max(CROSSOVER)])


def _check_net(net: MLP) -> None:
    if net.activation not in ACTIVATIONS:
        code(net.activation)  # raises GlorotError naming the choices
    dtype = net.W[0].dtype
    if dtype not in DTYPES:
        raise GlorotError(f"weights must be float32 or float64, got {dtype}")
    if len(net.W) != len(net.sizes) - 1 or len(net.b) != len(net.W):
        raise GlorotError(f"net has {len(net.W)} weight matrices and {len(net.b)} bias vectors "
                          f"for layer sizes {net.sizes}")
    for i, (W, b) in enumerate(zip(net.W, net.b, strict=True)):
        shape = (net.sizes[i], net.sizes[i + 1])
        if W.shape != shape or b.shape != shape[1:]:
            raise GlorotError(f"layer {i}: W{W.shape} and b{b.shape} do not match sizes "
                              f"{shape}")
        if W.dtype != dtype or b.dtype != dtype:
            raise GlorotError(f"layer {i}: all weights must share one dtype ({dtype})")
        if not (W.flags.c_contiguous and b.flags.c_contiguous and W.flags.writeable):
            raise GlorotError(f"layer {i}: W and b must be writeable C-contiguous arrays")


def _check_cost(cost: str) -> int:
    if cost not in COSTS:
        raise GlorotError(f"cost must be one of {', '.join(COSTS)}, got {cost!r}")
    return COSTS.index(cost)


def _check_batch(net: MLP, x: np.ndarray, y: np.ndarray | None) -> np.ndarray | None:
    x = np.asarray(x)
    if x.ndim != 2 or x.shape[1] != net.sizes[0] or x.shape[0] < 1:
        raise GlorotError(f"inputs must have shape (batch, {net.sizes[0]}), got {x.shape}")
    if y is None:
        return None
    y = np.ascontiguousarray(y, dtype=np.int64)
    if y.shape != (x.shape[0],):
        raise GlorotError(f"labels must have shape ({x.shape[0]},), got {y.shape}")
    if y.min() < 0 or y.max() >= net.sizes[-1]:
        raise GlorotError(f"labels must be in 0..{net.sizes[-1] - 1}, got {y.min()}..{y.max()}")
    return y


class _Buffers:
    """Work arrays for one batch size: inputs, s, z, softmax output, back-propagated gradients."""

    def __init__(self, sizes: tuple[int, ...], B: int, dtype: np.dtype, blas: bool):
        self.x = np.empty((B, sizes[0]), dtype)
        self.s = [np.empty((B, n), dtype) for n in sizes[1:]]
        self.z = [self.x] + [np.empty((B, n), dtype) for n in sizes[1:-1]]
        self.p = np.empty((B, sizes[-1]), dtype)
        self.ds = [np.empty((B, n), dtype) for n in sizes[1:]]
        n_w = max(a * b for a, b in zip(sizes[:-1], sizes[1:], strict=False))
        self.dW = np.empty(n_w, dtype) if blas else None


class Trainer:
    """Plain minibatch SGD on ``net`` (updated in place), with buffers kept between steps: the
    paper's optimiser (§2.3), theta <- theta - lr * dC/dtheta with C the mean cost of the
    minibatch, no momentum or weight decay.

    ``cost``: "nll" (the paper's, §2.3) or "quadratic" (§4.1). ``threads``: Numba/BLAS threads
    for every step (None: the caller's current Numba setting). ``path``: "auto" (fused kernels
    up to ``crossover(threads)`` examples, BLAS above), or force "fused" or "blas" (tests and
    benchmarks). Buffers are kept per batch size. The attribute ``fused_threads`` (starts as
    ``threads``) is the fused kernels' thread count and may be changed between steps: their
    results do not depend on it (``kernels.py``), while the BLAS path keeps ``threads``.

    Raises GlorotError for a net whose activation, dtype, shapes or memory layout are wrong (W
    and b must be writeable C-contiguous float32 or float64 arrays of the sizes), an unknown
    cost or path, or a thread count outside 1..``max_threads()`` (``glorotcli.nn.threads``).
    """

    def __init__(self, net: MLP, cost: str = "nll", threads: int | None = None,
                 path: str = "auto"):
        _check_net(net)
        if path not in ("auto", "fused", "blas"):
            raise GlorotError(f"path must be auto, fused or blas, got {path!r}")
        self.net = net
        self.cost = cost
        self.threads = check_threads(threads)
        self.fused_threads = self.threads
        self.path = path
        self._cost = _check_cost(cost)
        self._kind = code(net.activation)
        self._approx = net.dtype == np.float32
        self._bufs: dict[int, _Buffers] = {}

    def path_for(self, batch: int) -> str:
        """Which path a batch of ``batch`` examples takes: "fused" or "blas"."""
        if self.path != "auto":
            return self.path
        return "fused" if batch <= crossover(self.threads) else "blas"

    def _buffers(self, x: np.ndarray) -> tuple[_Buffers, bool]:
        B = x.shape[0]
        blas = self.path_for(B) == "blas"
        bufs = self._bufs.get(B)
        if bufs is None:
            bufs = self._bufs[B] = _Buffers(self.net.sizes, B, self.net.dtype, blas)
        bufs.x[...] = x
        return bufs, blas

    def _forward(self, bufs: _Buffers, blas: bool) -> None:
        net, n = self.net, self.fused_threads
        L = len(net.W)
        for i in range(L):
            kind = self._kind if i < L - 1 else -1
            z_out = bufs.z[i + 1] if i < L - 1 else bufs.s[i]
            if blas:
                np.matmul(bufs.z[i], net.W[i], out=bufs.s[i])
                K._bias_act(bufs.s[i], net.b[i], z_out, kind, self._approx)
            else:
                K._dense_forward(bufs.z[i], net.W[i], net.b[i], bufs.s[i], z_out, kind,
                                 self._approx, n)

    def _backward_update(self, bufs: _Buffers, blas: bool, lr) -> None:
        net, n = self.net, self.fused_threads
        for i in range(len(net.W) - 1, -1, -1):
            W, ds = net.W[i], bufs.ds[i]
            below = i > 0
            ds_in = bufs.ds[i - 1] if below else ds
            s_in = bufs.s[i - 1] if below else ds
            if blas:
                if below:
                    np.matmul(ds, W.T, out=ds_in)
                    K._grad_act(ds_in, s_in, bufs.z[i], self._kind)
                dW = bufs.dW[:W.size].reshape(W.shape)
                np.matmul(bufs.z[i].T, ds, out=dW)
                K._update(W, dW, net.b[i], ds, lr)
            else:
                K._dense_backward_update(bufs.z[i], s_in, W, net.b[i], ds, lr, ds_in,
                                         self._kind, below, n)

    def _context(self, blas: bool):
        if blas:
            return use_threads(1, blas=self.threads)
        return use_threads(self.fused_threads, blas=1)

    def step(self, x: np.ndarray, y: np.ndarray, lr: float) -> float:
        """One SGD step on the minibatch: ``x`` (B, n_0), converted to the net's dtype, ``y``
        (B,) integer labels in 0..classes-1, ``lr`` the learning rate (cast to the net's dtype).
        Updates W and b in place. Returns the minibatch's mean cost *before* the update, a
        Python float (nats for nll; NaN/inf once the net has diverged).

        Raises GlorotError for inputs not (B, n_0) with B >= 1, or labels of another shape or
        out of range.
        """
        y = _check_batch(self.net, x, y)
        lr = self.net.dtype.type(lr)
        bufs, blas = self._buffers(x)
        with self._context(blas):
            self._forward(bufs, blas)
            cost = K._softmax_out(bufs.s[-1], y, self._cost, bufs.p, bufs.ds[-1])
            self._backward_update(bufs, blas, lr)
        return float(cost)

    def forward(self, x: np.ndarray, copy: bool = True) -> Forward:
        """Forward pass on a batch ``x`` (B, n_0), converted to the net's dtype; returns a
        ``Forward`` (shapes there). The net is not changed. With ``copy=False`` the ``s`` and
        ``z`` arrays returned are this Trainer's buffers, overwritten by its next step or forward
        pass on a batch of the same size. Raises GlorotError for inputs not (B, n_0), B >= 1."""
        _check_batch(self.net, x, None)
        bufs, blas = self._buffers(x)
        with self._context(blas):
            self._forward(bufs, blas)
        s = [a.copy() for a in bufs.s] if copy else list(bufs.s)
        z = [a.copy() for a in bufs.z] if copy else list(bufs.z)
        return Forward(s=s, z=z, p=softmax(s[-1]))

    def evaluate(self, x: np.ndarray, y: np.ndarray, batch: int = 1000) -> tuple[float, float]:
        """(mean cost, error rate) on a whole set: ``x`` (N, n_0) of any numeric dtype
        (converted to the net's dtype batch by batch, unscaled), ``y`` (N,) labels; ``batch``
        examples at a time. The cost is the mean over the N examples (nats for nll); the error
        rate is the fraction misclassified (0..1, not percent). The net is not changed.

        Raises GlorotError for N = 0, inputs not (N, n_0), labels of another shape or out of
        range, or ``batch`` < 1.
        """
        y = _check_batch(self.net, x, y)
        if batch < 1:
            raise GlorotError(f"batch must be at least 1, got {batch}")
        total, wrong = 0.0, 0
        for a in range(0, len(y), batch):
            yb = y[a:a + batch]
            bufs, blas = self._buffers(x[a:a + batch])
            with self._context(blas):
                self._forward(bufs, blas)
            total += K._softmax_out(bufs.s[-1], yb, self._cost, bufs.p, bufs.ds[-1]) * len(yb)
            wrong += int((bufs.p.argmax(axis=1) != yb).sum())
        return total / len(y), wrong / len(y)


def forward(net: MLP, x: np.ndarray, threads: int | None = None) -> Forward:
    """Forward pass on a batch ``x`` (B, n_0), converted to the net's dtype.

    Returns a ``Forward`` of new arrays: ``s`` (pre-activations of every layer, the last are the
    logits), ``z`` (``z[0]`` the input, then every hidden layer's activations) and ``p``
    (softmax output). In float32 the kernels' tanh approximation is used (``activations``).
    Raises GlorotError as ``Trainer`` does (bad net, threads) and for inputs not (B, n_0).
    """
    return Trainer(net, threads=threads).forward(x, copy=False)  # a throw-away Trainer


def sgd_step(net: MLP, x: np.ndarray, y: np.ndarray, lr: float, cost: str = "nll",
             threads: int | None = None) -> float:
    """One plain SGD step on the minibatch (``Trainer.step``, in place; §2.3). Returns the
    minibatch's mean cost *before* the update, a Python float. For many steps, reuse a
    ``Trainer`` (keeps its buffers). Raises GlorotError as ``Trainer`` and ``Trainer.step``."""
    return Trainer(net, cost, threads).step(x, y, lr)


def evaluate(net: MLP, x: np.ndarray, y: np.ndarray, cost: str = "nll",
             batch: int = 1000, threads: int | None = None) -> tuple[float, float]:
    """(mean cost, error rate as a fraction 0..1) on a whole set ``x`` (N, n_0), ``y`` (N,), in
    batches of ``batch`` examples (``Trainer.evaluate``; ``x`` may be uint8: it is converted to
    the net's dtype batch by batch, unscaled). An empty set gives (NaN, NaN). Raises
    GlorotError as ``Trainer`` and ``Trainer.evaluate``."""
    if len(y) == 0:
        return float("nan"), float("nan")
    return Trainer(net, cost, threads).evaluate(x, y, batch)
