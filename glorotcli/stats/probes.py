"""The paper's instruments: per-layer statistics on the fixed probe set (paper §3 and
§4.2; the choices the paper leaves open are ours, documented in docs/training.md).

``measure(net, x, y, ...)`` runs the net on the probe examples (300 in a run: the first 300
of the test split, our choice) and returns,
for every hidden layer, statistics of three quantities pooled over examples and units.
``glorotcli.stats.jacobian`` measures the layer-to-layer Jacobians on the same probes.
Neither touches the net's parameters or any random-number generator.

Notation (paper §4.2.1; code indices 0-based): ``z[0] = x``, ``s[i] = z[i] @ W[i] + b[i]``,
``z[i+1] = f(s[i])``. The net has L hidden layers; the paper's "Layer j" (j = 1..L) is column
``j-1`` of every ``(L,)`` array below: its activations are ``z[j]``, its pre-activations
``s[j-1]``, and the weights feeding it are ``W[j-1]`` (n_{j-1} x n_j). The output (softmax) layer
is never included.

Quantities (``QUANTITIES``)
---------------------------
act
    The activations z^j of hidden layer j, pooled over the probe examples and all units of the
    layer (E x n_j values; Figs. 2-4, 6, 10).
bgrad
    The back-propagated gradient dC/ds^j (the gradient on the layer's pre-activations, equal to
    the gradient on its biases; Fig. 7), **per example**: C is the cost of each probe example on
    its own (for NLL, dC/ds^out = p - onehot(y)), *not* the mean over the probe set, so the sizes
    do not depend on the probe-set size and match the per-example scale of Figs. 7-8 (our reading).
    Pooled over examples and units (E x n_j values).
wgrad
    The weight gradient dC/dW of the matrix feeding hidden layer j (W^{j-1}, n_{j-1} x n_j),
    **per example**: dC_e/dW_{lk} = z_{e,l} * dC_e/ds_{e,k} (eq. 3), pooled over the E probe
    examples and all n_{j-1} x n_j entries (our reading). This is what Figs. 8 and 9 plot:
    the paper's sizes (std ≈ 0.0015 standard / ≈ 0.01 normalized at init, 0.003-0.05 during
    training) are per-example sizes; the mean gradient over 300 examples is several times smaller.
    E x n_{j-1} x n_j values (300 M per 1000x1000 layer) are too many to pool, so:

    * ``mean`` and ``std`` are exact over all of them, from closed forms:
      sum_{e,l,k} z_el g_ek = sum_e (sum_l z_el)(sum_k g_ek) and
      sum_{e,l,k} (z_el g_ek)^2 = sum_e (sum_l z_el^2)(sum_k g_ek^2);
    * ``p2``, ``p50``, ``p98``, ``sat`` and the histogram are computed on a fixed sample of
      about ``WGRAD_SAMPLE`` (262,144) entries per layer: ceil(WGRAD_SAMPLE / E) entries (l, k)
      for every probe example e (262,200 for 300 probes), drawn uniformly with replacement by
      a counter-based hash (splitmix64) of a fixed key: the same entries at every measurement
      of every run, independent of any training randomness (``wgrad_sample_indices``). When a
      layer has at most ``WGRAD_SAMPLE`` entries (small nets), all of them are used, in order,
      and every statistic is exact.

    The probe-set *mean* gradient (the gradient of the mean cost over the probes, what a
    300-example minibatch would follow) is summarized by ``batch_wgrad_std`` and ``grad_ratio``.

Norm ratios (``grad_ratio``, ``update_ratio``, ``example_grad_ratio``), per hidden layer
----------------------------------------------------------------------------------------
``grad_ratio[j] = ||g_W||_F / ||W||_F`` where g_W is the gradient of the *mean* cost over the
probe examples with respect to the matrix feeding hidden layer j+1;
``update_ratio = lr * grad_ratio``, the relative size of the step plain SGD would take on that
gradient. ``example_grad_ratio`` is the RMS over examples of ``||dC_e/dW||_F / ||W||_F`` (the
per-example gradient; a 10-example minibatch step lies between the two).
``||g_W||_F`` is computed without forming g_W: ||Z^T G||_F^2 = sum((Z Z^T) * (G G^T)).

Computation
-----------
The probes run their own forward pass (BLAS products, NumPy's exact activations; the float32
training kernels use a tanh approximation within 3e-7 of it) and a backward pass without the
weight-gradient products. Non-finite values (a diverged net) give NaN statistics, empty
histograms and NaN ratios for the layers they reach, never an error.

The statistics and histograms of each pooled set of values are computed by
``glorotcli.stats.summary``; the Jacobians by ``glorotcli.stats.jacobian``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numba
import numpy as np

from glorotcli.errors import GlorotError
from glorotcli.nn.activations import act
from glorotcli.nn.mlp import (
    ACTIVATIONS,
    COSTS,
    MLP,
    Forward,
    act_grad,
    loss,
    output_delta,
    softmax,
)
from glorotcli.nn.threads import check_threads, use_threads
from glorotcli.stats import QUANTITIES, STATS
from glorotcli.stats.summary import _check_edges, _is_uniform, _stats, saturation_bounds

WGRAD_SAMPLE = 262_144
_SAMPLE_KEY = 0x5EED_6107_0B10_2010  # fixed: the wgrad sample never depends on a run's seed

# Histogram half-widths for the gradients (see default_edges).
_GRAD_LIMITS = {
    # init: (bgrad, wgrad)
    "standard": (0.2, 0.05),
    "normalized": (0.3, 0.15),
    None: (0.3, 0.15),
}


def default_edges(activation: str, n_bins: int = 200, *,
                  init: str | None = None) -> dict[str, np.ndarray]:
    """Fixed histogram edges per quantity for a whole run (our choice, docs/choices.md,
    "Histogram edges"): {"act", "bgrad", "wgrad"} -> (n_bins + 1,) float64 increasing edges,
    ``n_bins`` equal-width bins each. The ranges follow the axes of the paper's Figs. 4, 7 and 8.

    act:   the activation's range: [-1, 1] for tanh and softsign, [0, 1] for sigmoid; [0, 4]
           for relu (unbounded: larger values fall off the scale and are counted in no bin).
    bgrad: symmetric [-a, a]; a = 0.2 for the standard init (Fig. 7 top's axis), 0.3 for any
           other init (Fig. 7 bottom). During training the back-propagated gradients grow only
           a few times (std ~0.03 in the first thousands of updates), so this range holds.
    wgrad: symmetric [-a, a]; a = 0.05 for the standard init, twice Fig. 8 top's ±0.025: at
           init the std is ~0.001 (two bins per std at 200 bins), and during training it grows
           more than tenfold (Fig. 9: to ~0.05 in layer 1), so values beyond ±0.05 do fall off
           the scale late in a standard-init run. a = 0.15 for any other init (Fig. 8 bottom;
           Fig. 9 bottom stays below 0.045).

    The choice only affects the histograms: mean, std and percentiles are exact whatever the
    edges, and ``sat`` of a gradient reports the fraction that fell off the scale. With an even
    ``n_bins``, 0 is an edge: gradients exactly 0 (relu's dead units) count in the bin just above
    it. The figures at initialization (6-8) can be drawn at any resolution by re-measuring the
    stored initial weights on the stored probes with the figure's own edges (one ``measure``).

    ``init`` other than "standard" and "normalized" (he, lecun, None) takes the normalized
    ranges. Raises GlorotError for an unknown ``activation`` or an ``n_bins`` that is not a
    positive integer.
    """
    if activation not in ACTIVATIONS:
        raise GlorotError(f"activation must be one of {', '.join(ACTIVATIONS)}, got {activation!r}")
    if init not in _GRAD_LIMITS and init is not None:
        init = None
    if not (isinstance(n_bins, (int, np.integer)) and n_bins >= 1):
        raise GlorotError(f"n_bins must be a positive integer, got {n_bins!r}")
    lo, hi = {"sigmoid": (0.0, 1.0), "relu": (0.0, 4.0)}.get(activation, (-1.0, 1.0))
    a_b, a_w = _GRAD_LIMITS[init]
    return {
        "act": np.linspace(lo, hi, n_bins + 1),
        "bgrad": np.linspace(-a_b, a_b, n_bins + 1),
        "wgrad": np.linspace(-a_w, a_w, n_bins + 1),
    }


@dataclass
class ProbeResult:
    """What one probe measurement found. L = number of hidden layers; column j is Layer j+1.

    stats[q][s]: (L,) float64 for q in QUANTITIES (only "act" when measured without gradients)
    and s in STATS (definitions: the module docstring and ``glorotcli.stats.summary``; ``sat``
    a fraction 0..1, not percent). hist[q]: (L, B) float64 fraction of the layer's values per
    bin of edges[q] (rows sum to 1 minus the fraction off the scale; not densities).
    grad_ratio, update_ratio, example_grad_ratio: (L,) float64 ratios of Frobenius norms
    (dimensionless; ``update_ratio = lr * grad_ratio``); batch_wgrad_std: (L,) float64 std of
    the entries of the probe-set mean weight gradient; all four NaN without gradients.
    loss: mean cost over the probe examples (nats for nll, ``mlp.loss``); error: the fraction
    of them misclassified (0..1). Non-finite values (a diverged net) give NaN.
    """

    stats: dict[str, dict[str, np.ndarray]]
    hist: dict[str, np.ndarray]
    grad_ratio: np.ndarray
    update_ratio: np.ndarray
    example_grad_ratio: np.ndarray = field(default_factory=lambda: np.zeros(0))
    batch_wgrad_std: np.ndarray = field(default_factory=lambda: np.zeros(0))
    loss: float = float("nan")
    error: float = float("nan")


def wgrad_sample_indices(n_examples: int, fan_in: int, fan_out: int,
                         n_sample: int = WGRAD_SAMPLE) -> tuple[np.ndarray, ...]:
    """The fixed (example, row, column) entries used for the per-example weight-gradient
    percentiles, saturation and histogram of a (fan_in, fan_out) matrix on E = ``n_examples``
    probes: three int64 arrays (example in 0..E-1, row in 0..fan_in-1, column in
    0..fan_out-1), E * ceil(n_sample / E) long (the same number of entries for every example,
    drawn with replacement by the fixed splitmix64 hash; the module docstring), or all
    E*fan_in*fan_out entries in C order when there are at most ``n_sample``. Arguments are
    positive ints (not checked). Depends on nothing random: the same entries for every run."""
    total = n_examples * fan_in * fan_out
    if total <= n_sample:
        idx = np.unravel_index(np.arange(total), (n_examples, fan_in, fan_out))
        return tuple(a.astype(np.int64) for a in idx)
    return _sample_indices(n_examples, fan_in, fan_out, n_sample, np.uint64(_SAMPLE_KEY))


def measure(net: MLP, x: np.ndarray, y: np.ndarray, *, cost: str, lr: float,
            edges: dict[str, np.ndarray], gradients: bool = True,
            threads: int | None = None) -> ProbeResult:
    """Per-layer statistics of ``net`` on the probe examples ``x`` (E, n_0), labels ``y`` (E,):
    the activations of §3 (Figs. 2-4, 6, 10), the back-propagated gradients dC/ds and weight
    gradients dC/dW of §4.2.2 and §4.3 (Figs. 7-9, eqs. 2-3), per example; protocol choices in
    docs/training.md and docs/choices.md ("The probe set", "Per-example gradients").

    ``x`` holds the probe inputs already scaled to floats (any floating dtype; converted to
    ``net.dtype`` if needed), ``y`` integer labels in 0..classes-1.
    ``cost`` is the training cost ("nll" or "quadratic"), ``lr`` the learning rate (for
    ``update_ratio``), ``edges`` maps each quantity to its fixed histogram edges (see
    ``default_edges``). With ``gradients=False`` only the activations are measured (no backward
    pass): ``stats``/``hist`` hold only "act" and the ratios are NaN. ``threads``: BLAS threads
    for the matrix products (None: the current Numba setting, as in ``glorotcli.nn.mlp``); the
    statistics kernels are serial.
    The net is never modified and no random numbers are drawn. See the module docstring for
    the exact definitions. Returns a ``ProbeResult`` (shapes and units there).

    Raises GlorotError for ``x`` not (E, n_0) with E >= 1 or not of a floating dtype, ``y`` not
    (E,) integers in range, an unknown cost or activation, ``lr`` not a finite number >= 0,
    ``edges`` lacking a wanted quantity or holding fewer than 2 finite increasing values, or
    ``threads`` outside 1..``max_threads()``. A diverged net is not an error (NaN statistics).

    Cost (1024-1000x5-9 float32, 300 probes, one thread; benchmarks/bench_probes.py): about
    1.1 NumPy forward passes without gradients and 2.8 with (matrix products: forward,
    backward and Gram matrices about 2.3; statistics about 0.5).
    """
    n = check_threads(threads)
    with use_threads(n, blas=n), np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        return _measure(net, x, y, cost, lr, edges, gradients, n)  # non-finite -> NaN stats


def _measure(net, x, y, cost, lr, edges, gradients, threads) -> ProbeResult:
    x, y = _check_probe(net, x, y)
    if cost not in COSTS:
        raise GlorotError(f"cost must be one of {', '.join(COSTS)}, got {cost!r}")
    if not (np.isfinite(lr) and lr >= 0):
        raise GlorotError(f"learning rate must be a finite number >= 0, got {lr!r}")
    wanted = QUANTITIES if gradients else ("act",)
    if not isinstance(edges, dict) or any(q not in edges for q in wanted):
        raise GlorotError(f"edges must be a dict with keys {', '.join(wanted)} "
                          "(see default_edges)")
    E = len(x)
    L = net.n_hidden
    fwd = _forward(net, x)
    p = fwd.p
    result_loss = loss(p, y, cost)
    result_error = float(np.mean(p.argmax(axis=1) != y))

    stats: dict[str, dict[str, np.ndarray]] = {}
    hist: dict[str, np.ndarray] = {}

    def new(q: str) -> tuple[np.ndarray, np.ndarray]:
        e = _check_edges(edges[q], f"edges[{q!r}]")
        table = np.full((len(STATS), L), np.nan)
        stats[q] = {s: table[i] for i, s in enumerate(STATS)}
        hist[q] = np.zeros((L, len(e) - 1))
        return e, table

    e_act, t_act = new("act")
    u_act = _is_uniform(e_act)
    sat_lo, sat_hi = saturation_bounds(net.activation)
    for j in range(L):
        v = np.ascontiguousarray(fwd.z[j + 1]).reshape(-1)
        out, counts = _stats(v, e_act, u_act, sat_lo, sat_hi)
        t_act[:, j] = out
        hist["act"][j] = counts / v.size

    nan = np.full(L, np.nan)
    if not gradients:
        return ProbeResult(stats, hist, nan.copy(), nan.copy(), nan.copy(), nan.copy(),
                           result_loss, result_error)

    # Per-example back-propagated gradients dC_e/ds, hidden layers only (ds[j] for s[j]).
    ds = [None] * L
    g = output_delta(p, y, cost) * np.asarray(E, dtype=p.dtype)  # undo the 1/E of the mean
    for i in range(L, 0, -1):
        g = (g @ net.W[i].T) * act_grad(net.activation, fwd.s[i - 1], fwd.z[i])
        ds[i - 1] = np.ascontiguousarray(g)

    e_bg, t_bg = new("bgrad")
    u_bg = _is_uniform(e_bg)
    for j in range(L):
        v = ds[j].reshape(-1)
        out, counts = _stats(v, e_bg, u_bg, e_bg[0], e_bg[-1])
        t_bg[:, j] = out
        hist["bgrad"][j] = counts / v.size

    e_wg, t_wg = new("wgrad")
    u_wg = _is_uniform(e_wg)
    grad_ratio = np.empty(L)
    example_ratio = np.empty(L)
    batch_std = np.empty(L)
    key = np.uint64(_SAMPLE_KEY)
    for j in range(L):
        z = np.ascontiguousarray(fwd.z[j])
        gj = ds[j]
        n_in, n_out = z.shape[1], gj.shape[1]
        n_all = E * n_in * n_out
        # Exact moments of all per-example entries z_el * g_ek.
        zs, zq = _row_moments(z)
        gs, gq = _row_moments(gj)
        mean = float(np.dot(zs, gs)) / n_all
        m2 = float(np.dot(zq, gq)) / n_all
        std = math.sqrt(max(m2 - mean * mean, 0.0)) if math.isfinite(m2) else math.nan
        # Percentiles, saturation, histogram on the fixed sample (or all entries).
        sample = _wgrad_values(z, gj, WGRAD_SAMPLE, key)
        out, counts = _stats(sample, e_wg, u_wg, e_wg[0], e_wg[-1])
        if math.isfinite(mean) and math.isfinite(std):
            out[0], out[1] = mean, std
        t_wg[:, j] = out
        hist["wgrad"][j] = counts / sample.size
        # Norms: probe-set mean gradient (Z^T G / E) via Gram matrices, per-example via rows.
        w_norm = math.sqrt(_sumsq(net.W[j]))
        gram = float(np.vdot((z @ z.T).astype(np.float64), (gj @ gj.T).astype(np.float64)))
        g_norm = math.sqrt(max(gram, 0.0)) / E if math.isfinite(gram) else math.nan
        grad_ratio[j] = _ratio(g_norm, w_norm)
        example_ratio[j] = _ratio(math.sqrt(m2 * n_in * n_out), w_norm)
        batch_var = g_norm * g_norm / (n_in * n_out) - mean * mean  # same mean as per example
        batch_std[j] = math.sqrt(max(batch_var, 0.0)) if math.isfinite(batch_var) else math.nan
    return ProbeResult(stats, hist, grad_ratio, lr * grad_ratio, example_ratio, batch_std,
                       result_loss, result_error)


def _ratio(a: float, b: float) -> float:
    """a / b for norms: NaN unless both are finite, inf for a zero matrix."""
    if not (math.isfinite(a) and math.isfinite(b)):
        return math.nan
    return a / b if b > 0 else math.inf


def _forward(net: MLP, x: np.ndarray) -> Forward:
    """Forward pass with BLAS products and NumPy's exact activations (the training kernels may
    use a float32 tanh approximation; the two differ by < 3e-7)."""
    z = [x]
    s = []
    for i, (W, b) in enumerate(zip(net.W, net.b, strict=True)):
        si = z[-1] @ W
        si += b
        s.append(si)
        if i < len(net.W) - 1:
            z.append(act(net.activation, si))
    return Forward(s, z, softmax(s[-1]))


# ------------------------------------------------------------------------------- checks -------

def _check_inputs(net: MLP, x: np.ndarray) -> np.ndarray:
    x = np.asarray(x)
    if x.ndim != 2 or x.shape[1] != net.sizes[0] or len(x) == 0:
        raise GlorotError(f"probe inputs must be (examples, {net.sizes[0]}), got shape {x.shape}")
    if not np.issubdtype(x.dtype, np.floating):
        raise GlorotError(f"probe inputs must be scaled floats, got dtype {x.dtype}")
    return np.asarray(x, dtype=net.dtype)


def _check_probe(net: MLP, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x = _check_inputs(net, x)
    y = np.asarray(y)
    if y.shape != (len(x),) or not np.issubdtype(y.dtype, np.integer):
        raise GlorotError(f"probe labels must be ({len(x)},) integers, got shape {y.shape} "
                          f"dtype {y.dtype}")
    if len(y) and (y.min() < 0 or y.max() >= net.sizes[-1]):
        raise GlorotError(f"probe labels must lie in [0, {net.sizes[-1]}), "
                          f"got {y.min()}..{y.max()}")
    return x, y.astype(np.intp)


@numba.njit(cache=True)
def _splitmix64(x):
    x = x + np.uint64(0x9E3779B97F4A7C15)
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


@numba.njit(cache=True)
def _draw(j, key, n_in, n_out):
    """(row, column) of sample entry j: two 21-bit fields of a counter-based hash, each mapped
    to its range by multiply-shift (bias < 1e-3 for ranges up to 2000)."""
    h = _splitmix64(key ^ np.uint64(j))
    m = np.uint64(0x1FFFFF)
    row = ((h & m) * np.uint64(n_in)) >> np.uint64(21)
    col = (((h >> np.uint64(21)) & m) * np.uint64(n_out)) >> np.uint64(21)
    return np.int64(row), np.int64(col)


@numba.njit(cache=True)
def _sample_indices(E, n_in, n_out, n_sample, key):
    """ceil(n_sample / E) entries per example, stratified: entry j belongs to example j // m."""
    m = (n_sample + E - 1) // E
    ie = np.empty(E * m, np.int64)
    il = np.empty(E * m, np.int64)
    ik = np.empty(E * m, np.int64)
    for j in range(E * m):
        ie[j] = j // m
        il[j], ik[j] = _draw(j, key, n_in, n_out)
    return ie, il, ik


@numba.njit(cache=True)
def _wgrad_values(z, g, n_sample, key):
    """Per-example weight-gradient entries z[e, l] * g[e, k] (float64): all of them in C order
    when there are at most n_sample, else the fixed sample of _sample_indices."""
    E, n_in = z.shape
    n_out = g.shape[1]
    total = E * n_in * n_out
    if total <= n_sample:
        out = np.empty(total, np.float64)
        t = 0
        for e in range(E):
            for row in range(n_in):
                a = np.float64(z[e, row])
                for k in range(n_out):
                    out[t] = a * np.float64(g[e, k])
                    t += 1
        return out
    m = (n_sample + E - 1) // E
    out = np.empty(E * m, np.float64)
    for e in range(E):  # one example at a time: its rows of z and g stay in cache
        for j in range(e * m, (e + 1) * m):
            row, col = _draw(j, key, n_in, n_out)
            out[j] = np.float64(z[e, row]) * np.float64(g[e, col])
    return out


@numba.njit(cache=True, fastmath=True)
def _row_moments(a):
    """Per row of a 2-D array: the sum and the sum of squares (float64)."""
    n = a.shape[0]
    sums = np.zeros(n)
    sumsq = np.zeros(n)
    for e in range(n):
        s1 = 0.0
        s2 = 0.0
        for t in range(a.shape[1]):
            x = np.float64(a[e, t])
            s1 += x
            s2 += x * x
        sums[e] = s1
        sumsq[e] = s2
    return sums, sumsq


@numba.njit(cache=True, fastmath=True)
def _sumsq(a):
    """Sum of squares of a 2-D array, accumulated in float64."""
    s = 0.0
    for i in range(a.shape[0]):
        for j in range(a.shape[1]):
            x = np.float64(a[i, j])
            s += x * x
    return s
