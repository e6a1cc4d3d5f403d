"""The paper's networks: parameters and the forward/backward API used by training and probes.

Notation follows the paper: ``z[0] = x``, ``s[i] = z[i] @ W[i] + b[i]``, ``z[i+1] = f(s[i])``
for hidden layers, and the last ``s`` are the output logits (softmax on top). ``W[i]`` has shape
(fan_in, fan_out) = (n_i, n_{i+1}).

THIS IS THE API CONTRACT (first cut in plain NumPy). The fast Numba kernels in ``kernels.py``
sit behind the same functions; callers never need to know which path ran.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from glorotcli.errors import GlorotError

ACTIVATIONS = ("sigmoid", "tanh", "softsign", "relu")
COSTS = ("nll", "quadratic")


@dataclass
class MLP:
    """Parameters of a fully connected net: ``W[i]`` (n_i, n_{i+1}), ``b[i]`` (n_{i+1},)."""

    sizes: tuple[int, ...]
    activation: str
    W: list[np.ndarray]
    b: list[np.ndarray]

    @property
    def dtype(self) -> np.dtype:
        return self.W[0].dtype

    @property
    def n_hidden(self) -> int:
        return len(self.sizes) - 2

    def copy(self) -> MLP:
        return MLP(self.sizes, self.activation, [w.copy() for w in self.W],
                   [b.copy() for b in self.b])


@dataclass
class Forward:
    """Everything a forward pass computed: ``s[i]`` pre-activations, ``z[i]`` activations
    (``z[0]`` is the input), ``p`` the softmax output."""

    s: list[np.ndarray]
    z: list[np.ndarray]
    p: np.ndarray


@dataclass
class Backward:
    """Gradients of the mean cost over the batch: ``ds[i]`` = dC/ds[i] per example (already
    divided by the batch size), ``dW[i]``, ``db[i]``."""

    ds: list[np.ndarray]
    dW: list[np.ndarray]
    db: list[np.ndarray]


def act(name: str, s: np.ndarray) -> np.ndarray:
    if name == "sigmoid":
        return 1.0 / (1.0 + np.exp(-s))
    if name == "tanh":
        return np.tanh(s)
    if name == "softsign":
        return s / (1.0 + np.abs(s))
    if name == "relu":
        return np.maximum(s, 0)
    raise GlorotError(f"activation must be one of {', '.join(ACTIVATIONS)}, got {name!r}")


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
    raise GlorotError(f"activation must be one of {', '.join(ACTIVATIONS)}, got {name!r}")


def softmax(s: np.ndarray) -> np.ndarray:
    e = np.exp(s - s.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def forward(net: MLP, x: np.ndarray) -> Forward:
    """Forward pass on a batch ``x`` (B, n_0) in the net's dtype."""
    z = [np.asarray(x, dtype=net.dtype)]
    s = []
    for i, (W, b) in enumerate(zip(net.W, net.b)):
        si = z[-1] @ W + b
        s.append(si)
        if i < len(net.W) - 1:
            z.append(act(net.activation, si))
    return Forward(s=s, z=z, p=softmax(s[-1]))


def output_delta(p: np.ndarray, y: np.ndarray, cost: str) -> np.ndarray:
    """dC/ds of the output logits for the mean cost over the batch."""
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
    """Mean cost over the batch."""
    B = len(y)
    if cost == "nll":
        return float(-np.log(np.maximum(p[np.arange(B), y], 1e-30)).mean())
    t = np.zeros_like(p)
    t[np.arange(B), y] = 1
    return float(((p - t) ** 2).sum(axis=1).mean())


def backward(net: MLP, fwd: Forward, y: np.ndarray, cost: str = "nll") -> Backward:
    """Back-propagate the mean cost over the batch."""
    L = len(net.W)
    ds = [None] * L
    dW = [None] * L
    db = [None] * L
    ds[-1] = output_delta(fwd.p, y, cost)
    for i in range(L - 1, -1, -1):
        dW[i] = fwd.z[i].T @ ds[i]
        db[i] = ds[i].sum(axis=0)
        if i > 0:
            ds[i - 1] = (ds[i] @ net.W[i].T) * act_grad(net.activation, fwd.s[i - 1], fwd.z[i])
    return Backward(ds=ds, dW=dW, db=db)


def sgd_step(net: MLP, x: np.ndarray, y: np.ndarray, lr: float, cost: str = "nll") -> float:
    """One plain SGD step on the minibatch (in place). Returns the minibatch's mean cost
    *before* the update."""
    fwd = forward(net, x)
    bwd = backward(net, fwd, y, cost)
    for i in range(len(net.W)):
        net.W[i] -= lr * bwd.dW[i]
        net.b[i] -= lr * bwd.db[i]
    return loss(fwd.p, y, cost)


def evaluate(net: MLP, x: np.ndarray, y: np.ndarray, cost: str = "nll",
             batch: int = 1000) -> tuple[float, float]:
    """Mean cost and error rate on a whole set, in batches."""
    total_loss, wrong = 0.0, 0
    for a in range(0, len(y), batch):
        p = forward(net, x[a:a + batch]).p
        total_loss += loss(p, y[a:a + batch], cost) * len(p)
        wrong += int((p.argmax(axis=1) != y[a:a + batch]).sum())
    n = max(len(y), 1)
    return total_loss / n, wrong / n
