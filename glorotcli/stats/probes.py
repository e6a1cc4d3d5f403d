"""The paper's instruments: per-layer statistics on the fixed probe set (§3, §4.2.2; A7-A11).

``measure(net, x, y, ...)`` runs the net on the probe examples (300 in a run, A6) and returns,
for every hidden layer, statistics of three quantities pooled over examples and units.
``jacobian_singular_values(net, x)`` returns the singular values of the layer-to-layer Jacobians.
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
    do not depend on the probe-set size and match the per-example scale of Figs. 7-8 (A10).
    Pooled over examples and units (E x n_j values).
wgrad
    The weight gradient dC/dW of the matrix feeding hidden layer j (W^{j-1}, n_{j-1} x n_j),
    **per example**: dC_e/dW_{lk} = z_{e,l} * dC_e/ds_{e,k} (eq. 3), pooled over the E probe
    examples and all n_{j-1} x n_j entries (A10). This is what Figs. 8 and 9 plot: the paper's
    sizes (std ≈ 0.0015 standard / ≈ 0.01 normalized at init, 0.003-0.05 during training) are
    per-example sizes; the mean gradient over 300 examples is several times smaller.
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

Statistics (``STATS``), per hidden layer, as float64
----------------------------------------------------
mean, std
    Over all pooled values; std is the population std (ddof=0, like ``np.std``).
p2, p50, p98
    Percentiles with NumPy's default (``method="linear"``) interpolation, **exact**: identical to
    ``np.percentile(values, [2, 50, 98])`` up to rounding. They are found by a histogram over
    the data's own [min, max] range followed by an exact selection inside the few bins that hold
    the wanted ranks, so they stay exact whatever the range of the values (gradients change
    scale by orders of magnitude during training), at about the cost of two passes.
sat
    For ``act``: the fraction of saturated activations, values within ``SAT_MARGIN`` (0.03) of
    an asymptote (``saturation_fraction``): tanh and softsign |z| > 0.97; sigmoid z < 0.03 or
    z > 0.97; relu z == 0 exactly (a unit on its flat side passes no gradient).
    For ``bgrad`` and ``wgrad`` (gradients have no asymptote): the fraction of values that fall
    outside the histogram edges, i.e. how much of the distribution is off the histogram's scale
    (``1 - hist.sum()``). A large value says the fixed edges no longer suit the run.

Histograms
----------
``hist[q]`` is (L, B): the fraction of the pooled values in each bin of the fixed edges
``edges[q]`` (B+1 increasing values; same bins as ``np.histogram(values, edges)``: each bin
includes its left edge, the last bin also its right edge). Values outside the edges are not
counted, so a row sums to 1 - (fraction off scale). Divide by the bin widths for a density
(the paper's figures show densities). Edges are fixed for a whole run (A7) so histograms stack
over time; ``default_edges`` documents the defaults.

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

Jacobians (``jacobian_singular_values``; §4.2.2, A11)
-----------------------------------------------------
For consecutive hidden layers j -> j+1 (L-1 pairs), J^j = dz^{j+1}/dz^j = diag(f'(s^j)) (W^j)^T
(code: ``diag(f'(s[j])) @ W[j].T``), one matrix per probe example. Its singular values (sorted
descending) are computed for each of the first ``n_examples`` probes; ``sv`` is their average
rank by rank, ``sv_mean`` the mean of all of them, ``sv_std`` their std (pooled over examples
and ranks, ddof=0).
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

PERCENTILES = (2.0, 50.0, 98.0)
SAT_MARGIN = 0.03
WGRAD_SAMPLE = 262_144
_SAMPLE_KEY = 0x5EED_6107_0B10_2010  # fixed: the wgrad sample never depends on a run's seed
_PCT = np.asarray(PERCENTILES)
_N_FINE = 4096  # bins of the range histogram used to locate the percentile ranks

# Histogram half-widths for the gradients (see default_edges).
_GRAD_LIMITS = {
    # init: (bgrad, wgrad)
    "standard": (0.2, 0.05),
    "normalized": (0.3, 0.15),
    None: (0.3, 0.15),
}


def default_edges(activation: str, n_bins: int = 200, *,
                  init: str | None = None) -> dict[str, np.ndarray]:
    """Fixed histogram edges per quantity for a whole run (A7), ``n_bins`` linear bins each.

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
    and s in STATS. hist[q]: (L, B) float64 fraction of values per bin of edges[q].
    grad_ratio, update_ratio, example_grad_ratio, batch_wgrad_std: (L,) float64 (NaN without
    gradients). loss, error: mean cost and error rate of the net on the probe examples.
    """

    stats: dict[str, dict[str, np.ndarray]]
    hist: dict[str, np.ndarray]
    grad_ratio: np.ndarray
    update_ratio: np.ndarray
    example_grad_ratio: np.ndarray = field(default_factory=lambda: np.zeros(0))
    batch_wgrad_std: np.ndarray = field(default_factory=lambda: np.zeros(0))
    loss: float = float("nan")
    error: float = float("nan")


# ------------------------------------------------------------------------ public functions ----

def saturation_bounds(activation: str) -> tuple[float, float]:
    """(lo, hi): a value v counts as saturated when v < lo or v > hi."""
    if activation in ("tanh", "softsign"):
        return -1.0 + SAT_MARGIN, 1.0 - SAT_MARGIN
    if activation == "sigmoid":
        return SAT_MARGIN, 1.0 - SAT_MARGIN
    if activation == "relu":  # v < smallest positive float  <=>  v <= 0
        return float(np.nextafter(0.0, 1.0)), math.inf
    raise GlorotError(f"activation must be one of {', '.join(ACTIVATIONS)}, got {activation!r}")


def saturation_fraction(z: np.ndarray, activation: str) -> float:
    """Fraction of activations within SAT_MARGIN (0.03) of an asymptote of ``activation``.

    tanh, softsign: |z| > 0.97. sigmoid: z < 0.03 or z > 0.97. relu: z == 0 (a unit on its flat
    side, where it passes no gradient; relu has no upper asymptote).
    """
    lo, hi = saturation_bounds(activation)
    z = np.asarray(z, dtype=np.float64)
    if z.size == 0:
        return float("nan")
    return float(np.count_nonzero((z < lo) | (z > hi)) / z.size)


def summarize(values: np.ndarray, edges: np.ndarray, sat_bounds: tuple[float, float]
              ) -> tuple[dict[str, float], np.ndarray]:
    """Statistics of one pooled set of values: ({stat: value}, hist fractions over ``edges``).

    ``sat`` is the fraction of values v with v < sat_bounds[0] or v > sat_bounds[1].
    Non-finite values make every statistic NaN and the histogram all zeros.
    """
    v = np.ascontiguousarray(np.asarray(values).ravel())
    if v.dtype not in (np.float32, np.float64):
        v = v.astype(np.float64)
    e = _check_edges(edges, "edges")
    if v.size == 0:
        raise GlorotError("cannot summarize an empty set of values")
    out, counts = _stats(v, e, _is_uniform(e), float(sat_bounds[0]), float(sat_bounds[1]))
    return dict(zip(STATS, out.tolist(), strict=True)), counts / v.size


def wgrad_sample_indices(n_examples: int, fan_in: int, fan_out: int,
                         n_sample: int = WGRAD_SAMPLE) -> tuple[np.ndarray, ...]:
    """The fixed (example, row, column) entries used for the per-example weight-gradient
    percentiles, saturation and histogram: three int64 arrays, E * ceil(n_sample / E) long
    (the same number of entries for every example), or all E*fan_in*fan_out entries in C order
    when there are at most ``n_sample``."""
    total = n_examples * fan_in * fan_out
    if total <= n_sample:
        idx = np.unravel_index(np.arange(total), (n_examples, fan_in, fan_out))
        return tuple(a.astype(np.int64) for a in idx)
    return _sample_indices(n_examples, fan_in, fan_out, n_sample, np.uint64(_SAMPLE_KEY))


def measure(net: MLP, x: np.ndarray, y: np.ndarray, *, cost: str, lr: float,
            edges: dict[str, np.ndarray], gradients: bool = True,
            threads: int | None = None) -> ProbeResult:
    """Per-layer statistics of ``net`` on the probe examples ``x`` (E, n_0), labels ``y`` (E,).

    ``x`` holds the probe inputs already scaled to floats (converted to ``net.dtype`` if needed).
    ``cost`` is the training cost ("nll" or "quadratic"), ``lr`` the learning rate (for
    ``update_ratio``), ``edges`` maps each quantity to its fixed histogram edges (see
    ``default_edges``). With ``gradients=False`` only the activations are measured (no backward
    pass): ``stats``/``hist`` hold only "act" and the ratios are NaN. ``threads``: BLAS threads
    for the matrix products (None: the current Numba setting, as in ``glorotcli.nn.mlp``); the
    statistics kernels are serial.
    The net is never modified and no random numbers are drawn. See the module docstring for
    the exact definitions.

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


def jacobian_singular_values(net: MLP, x: np.ndarray, n_examples: int = 20, *,
                             threads: int | None = None
                             ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Singular values of J^j = dz^{j+1}/dz^j = diag(f'(s^j)) (W^j)^T between consecutive hidden
    layers (§4.2.2, A11), on the first ``n_examples`` rows of ``x``.

    Returns (sv_mean (L-1,), sv_std (L-1,), sv (L-1, K)): per layer pair, the mean and std of
    all singular values (pooled over examples and ranks) and the singular values sorted
    descending and averaged rank by rank over the examples. K is the largest min(n_j, n_{j+1});
    narrower pairs are padded with NaN. Computed in float64 as the square roots of the
    eigenvalues of the smaller of J J^T and J^T J (absolute error ~1e-8 x the largest singular
    value; about 1.7x faster than an SVD). Costs one eigen-decomposition per example per layer
    pair: about 0.1 s each at 1000 units on one core (20 probes x 4 pairs: about 7 s).
    ``threads``: BLAS/LAPACK threads (None: the current Numba setting).
    """
    n = check_threads(threads)
    with use_threads(n, blas=n):
        return _jacobian_singular_values(net, x, n_examples, n)


def _jacobian_singular_values(net, x, n_examples, threads):
    if not (isinstance(n_examples, (int, np.integer)) and n_examples >= 1):
        raise GlorotError(f"n_examples must be a positive integer, got {n_examples!r}")
    x = _check_inputs(net, x)[:n_examples]
    L = net.n_hidden
    if L < 2:
        return np.zeros(0), np.zeros(0), np.zeros((0, 0))
    fwd = _forward(net, x)
    widths = net.sizes[1:L + 1]
    K = max(min(widths[j], widths[j + 1]) for j in range(L - 1))
    sv = np.full((L - 1, K), np.nan)
    sv_mean = np.empty(L - 1)
    sv_std = np.empty(L - 1)
    for j in range(1, L):
        W = np.asarray(net.W[j], dtype=np.float64)  # n_j x n_{j+1}: this is (J^j)^T up to diag
        fp = np.asarray(act_grad(net.activation, fwd.s[j], fwd.z[j + 1]), dtype=np.float64)
        k = min(W.shape)
        vals = np.empty((len(x), k))
        for e in range(len(x)):
            Jt = W * fp[e][None, :]  # (J^j)^T = W^j diag(f'(s^j)): same singular values
            gram = Jt.T @ Jt if Jt.shape[1] <= Jt.shape[0] else Jt @ Jt.T
            ev = np.linalg.eigvalsh(gram)[::-1]
            vals[e] = np.sqrt(np.clip(ev, 0.0, None))
        sv[j - 1, :k] = vals.mean(axis=0)
        sv_mean[j - 1] = vals.mean()
        sv_std[j - 1] = vals.std()
    return sv_mean, sv_std, sv


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


def _check_edges(edges: np.ndarray, name: str) -> np.ndarray:
    e = np.ascontiguousarray(edges, dtype=np.float64)
    if e.ndim != 1 or e.size < 2 or not np.all(np.isfinite(e)) or np.any(np.diff(e) <= 0):
        raise GlorotError(f"{name} must be at least 2 finite increasing values")
    return e


def _is_uniform(e: np.ndarray) -> bool:
    """Edges so close to equal spacing that the arithmetic bin guess is off by far less than
    the 1e-9 bin margin inside which _summarize settles a value exactly."""
    nb = len(e) - 1
    ideal = e[0] + (e[-1] - e[0]) * np.arange(nb + 1) / nb
    return bool(np.all(np.abs(e - ideal) <= 1e-11 * (e[-1] - e[0]) / nb))


def _stats(v: np.ndarray, edges: np.ndarray, uniform: bool, sat_lo: float, sat_hi: float
           ) -> tuple[np.ndarray, np.ndarray]:
    """_summarize on a contiguous 1-D float array; all NaN (and no counts) if any value is
    not finite."""
    mn, mx = float(v.min()), float(v.max())
    if not (math.isfinite(mn) and math.isfinite(mx)):
        return np.full(len(STATS), np.nan), np.zeros(len(edges) - 1, np.int64)
    return _summarize(v, mn, mx, edges, uniform, sat_lo, sat_hi, _PCT, _N_FINE)


# ------------------------------------------------------------------------------ kernels ------

@numba.njit(cache=True, fastmath=True)
def _moments(v, shift, sat_lo, sat_hi):
    """Shifted sum and sum of squares, and the saturated count (vectorised; finite data)."""
    s1 = 0.0
    s2 = 0.0
    nsat = 0
    for i in range(v.size):
        x = np.float64(v[i])
        d = x - shift
        s1 += d
        s2 += d * d
        nsat += np.int64((x < sat_lo) | (x > sat_hi))
    return s1, s2, nsat


_MARGIN = 1e-9  # in bin widths: closer than this to a border, a value's bin is settled exactly


@numba.njit(cache=True, fastmath=True)
def _bin_indices(v, mn, scale, n_fine, lo, norm, nb, fidx, cidx):
    """Fine-bin index over [mn, mx] (clamped), and the output-histogram bin guessed by
    arithmetic: -1 below the edges, nb above, nb + 1 when x lies within _MARGIN of a border
    (settled exactly by _settle). Branch-free, so it vectorises."""
    top = n_fine - 1
    for i in range(v.size):
        x = np.float64(v[i])
        fidx[i] = min(int((x - mn) * scale), top)
        t = min(max((x - lo) * norm, -0.5), nb + 0.5)
        c = int(math.floor(t))
        r = t - c
        unsettled = (r < _MARGIN) | (r > 1.0 - _MARGIN)
        cidx[i] = nb + 1 if unsettled else min(c, nb)


@numba.njit(cache=True)
def _settle(v, cidx, edges, uniform, counts):
    """Add the values _bin_indices left unsettled (or all values, for non-uniform edges) to
    counts, with np.histogram's rule: bin j holds edges[j] <= x < edges[j+1], the last bin also
    x == edges[nb]."""
    nb = edges.size - 1
    lo = edges[0]
    norm = nb / (edges[nb] - lo)
    for i in range(v.size):
        if uniform and cidx[i] != nb + 1:
            continue
        x = np.float64(v[i])
        if x < edges[0] or x > edges[nb]:
            continue
        if uniform:  # x is within 1e-9 bins of border j: its bin is j - 1 or j
            j = int(math.floor((x - lo) * norm + 0.5))
            j = min(max(j, 0), nb)
            if j > 0 and x < edges[j]:
                j -= 1
        else:
            j = np.searchsorted(edges, x, side="right") - 1
        counts[min(j, nb - 1)] += 1


@numba.njit(cache=True)
def _summarize(v, mn, mx, edges, uniform, sat_lo, sat_hi, qs, n_fine):
    """(mean, std, p2, p50, p98, sat) as float64[6] and int64 histogram counts over edges.

    ``mn``, ``mx`` are v's finite min and max. Exact: percentiles as np.percentile ("linear"),
    counts as np.histogram(v, edges)."""
    n = v.size
    nb = edges.size - 1
    out = np.full(6, np.nan)
    shift = np.float64(v[0])
    s1, s2, nsat = _moments(v, shift, sat_lo, sat_hi)
    m = s1 / n
    out[0] = shift + m
    out[1] = math.sqrt(max(s2 / n - m * m, 0.0))
    out[5] = nsat / n
    # Bin indices: a fine histogram over [mn, mx] locates the percentile ranks; the output
    # histogram uses np.histogram's bins.
    lo = edges[0]
    scale = n_fine / (mx - mn) if mx > mn else 0.0
    fidx = np.empty(n, np.uint16)
    cidx = np.empty(n, np.int32)
    _bin_indices(v, mn, scale, n_fine, lo, nb / (edges[nb] - lo), nb, fidx, cidx)
    fine4 = np.zeros((4, n_fine), np.int64)  # 4 copies: fewer store-to-load stalls
    c4 = np.zeros((4, nb + 3), np.int64)  # column c + 1 for bin c in -1 .. nb + 1
    for i in range(n):
        fine4[i & 3, fidx[i]] += 1
        c4[i & 3, cidx[i] + 1] += 1
    counts = np.zeros(nb, np.int64)
    if uniform:
        for r in range(4):
            counts += c4[r, 1:nb + 1]
    if not uniform or c4[:, nb + 2].sum() > 0:
        _settle(v, cidx, edges, uniform, counts)
    fine = fine4[0] + fine4[1] + fine4[2] + fine4[3]
    # Ranks wanted by numpy's "linear" percentile: floor and floor+1 of (n-1) q/100.
    nq = qs.size
    ranks = np.empty(2 * nq, np.int64)
    gammas = np.empty(nq)
    for t in range(nq):
        pos = (n - 1) * (qs[t] / 100.0)
        r = int(math.floor(pos))
        gammas[t] = pos - r
        ranks[2 * t] = r
        ranks[2 * t + 1] = min(r + 1, n - 1)
    vals = _select(v, fidx, fine, ranks)
    for t in range(nq):
        a = vals[2 * t]
        b = vals[2 * t + 1]
        g = gammas[t]
        if g >= 0.5:  # numpy's _lerp
            out[2 + t] = b - (b - a) * (1.0 - g)
        else:
            out[2 + t] = a + (b - a) * g
    return out, counts


_SMALL = 4096  # bins holding more values than this are refined once before sorting


@numba.njit(cache=True)
def _gather(v, fidx, fine, ranks):
    """Copy out the values of the bins that hold the given ranks (bins in increasing value
    order, fidx[i] the bin of v[i], fine the bin counts). Returns (buf, offset of each bin in
    buf or -1, start rank of each bin, bin of each rank)."""
    n_bins = fine.size
    start = np.zeros(n_bins + 1, np.int64)
    for f in range(n_bins):
        start[f + 1] = start[f] + fine[f]
    rank_bin = np.searchsorted(start, ranks, side="right") - 1
    offset = np.full(n_bins, -1, np.int64)
    total = 0
    for t in range(ranks.size):
        f = rank_bin[t]
        if offset[f] < 0:
            offset[f] = total
            total += fine[f]
    buf = np.empty(total, np.float64)
    fill = np.zeros(n_bins, np.int64)
    for i in range(v.size):
        f = fidx[i]
        if offset[f] >= 0:
            buf[offset[f] + fill[f]] = np.float64(v[i])
            fill[f] += 1
    return buf, offset, start, rank_bin


@numba.njit(cache=True)
def _select(v, fidx, fine, ranks):
    """Values of the given ranks of v in sorted order: gather only the bins holding a wanted
    rank and order those. A bin of one repeated value needs no sort; a bin with more than
    _SMALL values is first split again by a histogram over its own range (_refine)."""
    buf, offset, start, rank_bin = _gather(v, fidx, fine, ranks)
    vals = np.empty(ranks.size)
    done = np.zeros(ranks.size, np.bool_)
    for t in range(ranks.size):
        if done[t]:
            continue
        f = rank_bin[t]
        seg = buf[offset[f]:offset[f] + fine[f]]
        same = rank_bin == f  # every wanted rank in this bin, handled together
        local = ranks[same] - start[f]
        lo = seg.min()
        hi = seg.max()
        if lo == hi:
            vals[same] = lo
        elif seg.size > _SMALL:
            vals[same] = _refine(seg, lo, hi, local)
        else:
            seg.sort()
            vals[same] = seg[local]
        done |= same
    return vals


@numba.njit(cache=True)
def _refine(seg, lo, hi, ks):
    """The ks-th smallest values of seg (whose min lo < max hi), through one more histogram."""
    n_bins = _SMALL
    scale = n_bins / (hi - lo)
    idx = np.empty(seg.size, np.uint16)
    fine = np.zeros(n_bins, np.int64)
    for i in range(seg.size):
        f = min(int((seg[i] - lo) * scale), n_bins - 1)
        idx[i] = f
        fine[f] += 1
    buf, offset, start, rank_bin = _gather(seg, idx, fine, ks)
    vals = np.empty(ks.size)
    for t in range(ks.size):
        f = rank_bin[t]
        sub = buf[offset[f]:offset[f] + fine[f]]
        if sub.min() < sub.max():
            sub.sort()  # idempotent: a bin sorted for an earlier rank stays sorted
        vals[t] = sub[ks[t] - start[f]]
    return vals


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
