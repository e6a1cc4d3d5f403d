"""Summaries of one pooled set of values: mean, std, exact percentiles, saturated fraction and a
histogram on fixed edges (what ``glorotcli.stats.probes`` records per layer and quantity).

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
(the paper's figures show densities). Edges are fixed for a whole run (our choice) so
histograms stack over time; ``default_edges`` documents the defaults.

Why not ``np.percentile`` and ``np.histogram``: they give the same numbers (the tests compare
them), but on the 262,144-300,000 values of one layer they take about 9-14 ms against 0.4 ms
here (22x), and one probe measurement of the paper's 5 x 1000 net (about 0.15 s) summarizes 15
such sets: NumPy would add about 90 % to every probe measurement, far above the 10 % that would
justify the simpler code (``benchmarks/bench_summaries.py`` measures both in one run).
"""

from __future__ import annotations

import math

import numba
import numpy as np

from glorotcli.errors import GlorotError
from glorotcli.nn.mlp import (
    ACTIVATIONS,
)
from glorotcli.stats import STATS

PERCENTILES = (2.0, 50.0, 98.0)
SAT_MARGIN = 0.03
_PCT = np.asarray(PERCENTILES)
_N_FINE = 4096  # bins of the range histogram used to locate the percentile ranks


# ------------------------------------------------------------------------ public functions ----

def saturation_bounds(activation: str) -> tuple[float, float]:
    """(lo, hi) floats: an activation v of ``activation`` counts as saturated when v < lo or
    v > hi (the paper's §3 watches saturation; the margin ``SAT_MARGIN`` is our choice,
    docs/choices.md, "What counts as saturated"). tanh, softsign (-0.97, 0.97); sigmoid
    (0.03, 0.97); relu (smallest positive float64, inf), i.e. v <= 0. Raises GlorotError for an
    unknown activation."""
    if activation in ("tanh", "softsign"):
        return -1.0 + SAT_MARGIN, 1.0 - SAT_MARGIN
    if activation == "sigmoid":
        return SAT_MARGIN, 1.0 - SAT_MARGIN
    if activation == "relu":  # v < smallest positive float  <=>  v <= 0
        return float(np.nextafter(0.0, 1.0)), math.inf
    raise GlorotError(f"activation must be one of {', '.join(ACTIVATIONS)}, got {activation!r}")


def saturation_fraction(z: np.ndarray, activation: str) -> float:
    """Fraction (0..1, a Python float) of activations ``z`` (any shape, any real dtype; compared
    in float64) within SAT_MARGIN (0.03) of an asymptote of ``activation``.

    tanh, softsign: |z| > 0.97. sigmoid: z < 0.03 or z > 0.97. relu: z <= 0 (a unit on its flat
    side, where it passes no gradient; relu has no upper asymptote). NaN for an empty ``z``.
    Raises GlorotError for an unknown activation (``saturation_bounds``).
    """
    lo, hi = saturation_bounds(activation)
    z = np.asarray(z, dtype=np.float64)
    if z.size == 0:
        return float("nan")
    return float(np.count_nonzero((z < lo) | (z > hi)) / z.size)


def summarize(values: np.ndarray, edges: np.ndarray, sat_bounds: tuple[float, float]
              ) -> tuple[dict[str, float], np.ndarray]:
    """Statistics of one pooled set of values: ({stat: value}, hist fractions over ``edges``).

    ``values``: any shape (flattened), any real dtype (float32 and float64 kept, others
    converted to float64). ``edges``: (B+1,) finite increasing values. Returns a dict mapping
    each name of ``STATS`` to a Python float (mean, population std, exact p2/p50/p98 as
    ``np.percentile``, sat) and a (B,) float64 array of the fraction of values per bin (as
    ``np.histogram(values, edges)`` divided by the count). ``sat`` is the fraction (0..1) of
    values v with v < sat_bounds[0] or v > sat_bounds[1]. Non-finite values make every
    statistic NaN and the histogram all zeros.

    Raises GlorotError for an empty ``values`` or ``edges`` that are not at least 2 finite
    increasing values.
    """
    v = np.ascontiguousarray(np.asarray(values).ravel())
    if v.dtype not in (np.float32, np.float64):
        v = v.astype(np.float64)
    e = _check_edges(edges, "edges")
    if v.size == 0:
        raise GlorotError("cannot summarize an empty set of values")
    out, counts = _stats(v, e, _is_uniform(e), float(sat_bounds[0]), float(sat_bounds[1]))
    return dict(zip(STATS, out.tolist(), strict=True)), counts / v.size


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
