"""Gradient histograms at initialization, re-measured at a resolution that suits the figure.

A run stores its histograms on edges fixed for the whole run (``probes.default_edges``), wide
enough for the gradients' growth during training. At initialization some layers' gradients are
far narrower than one of those bins: a sigmoid net's back-propagated gradients have stds of
1e-5 (layer 1) to 4e-3 (layer 4), against bins 2e-3 wide, so three layers drew as one identical
spike. The run file also stores the initial weights and the probe examples, so Figs. 7 and 8 are
drawn from new ``probes.measure`` calls on the initial net, with edges fitted to the layers' stds:

- the layers' spreads within ``LOG_SPREAD`` (tanh, softsign: 2-20x): values on a linear axis
  from -4 to +4 stds of the widest layer, each layer with its own bins, 4 per std of that
  layer (narrow layers resolved, wide ones not cut into noise);
- wider apart (sigmoid: hundreds of times): magnitudes |g| on a log axis, 20 bins per decade
  (the two signs folded together; gradients at initialization are symmetric about 0), density
  per decade, so each layer is a bump at its own scale.

One measurement gives the stds, then one more per distinct number of bins (at most one per
layer); each takes about 0.1 s at the paper's size.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from glorotcli.data.pixels import scale_inputs
from glorotcli.errors import GlorotError
from glorotcli.nn.mlp import MLP
from glorotcli.report.series import Unavailable
from glorotcli.stats import probes
from glorotcli.stats.runlog import RunData, read_initial_weights

#: Largest ratio of the widest to the narrowest layer's std drawn on a linear axis.
LOG_SPREAD = 20.0
_HALF_WIDTH = 4.0  # linear axis: +-4 stds of the widest layer
_BINS_PER_STD = 4.0  # linear axis: bins per std of each layer
_MIN_BINS, _MAX_BINS = 31, 1201
_PER_DECADE = 20  # log axis


@dataclass
class FittedHist:
    """Histograms of one gradient quantity at initialization, one row per hidden layer.

    ``centers[j]`` and ``density[j]`` are layer j's bin centres and density (layers may have
    different bins). ``log`` False: centres are values, and the density integrates over them to
    the fraction of values on the axis (1 - ``outside``). ``log`` True: centres are magnitudes
    |g| (geometric bin centres, for a log axis) and the density is per decade of |g|. ``std``
    (L,) are the exact stds, ``spread`` their largest over smallest ratio, ``outside`` (L,) the
    fraction of values beyond the edges (log: also those below the smallest magnitude, e.g.
    exact zeros).
    """

    q: str
    centers: list[np.ndarray]
    density: list[np.ndarray]
    log: bool
    std: np.ndarray
    spread: float
    outside: np.ndarray


def fitted_edges(std: np.ndarray) -> tuple[list[np.ndarray], bool]:
    """Edges for each layer, given the layers' stds ``std`` (L,), and whether they are for a
    log axis: (L arrays of increasing float64 edges, bool).

    Linear: every layer spans the same range, +-4 stds of the widest layer, with its own number
    of bins (odd, so 0 is a bin centre): 4 per std of that layer, so narrow layers are resolved
    and wide ones are not cut into noise. Log: one set of edges for all layers, symmetric
    (-big .. -small, small .. big; the middle bin holds |g| < small, e.g. exact zeros), 20
    bins per decade from |g| = 10^(floor(log10 min std) - 3) to 10^(ceil(log10 max std) + 1).
    Raises Unavailable unless every std is positive and finite.
    """
    std = np.asarray(std, dtype=np.float64)
    if not (std.size and np.all(np.isfinite(std)) and std.min() > 0):
        raise Unavailable("gradient stds at initialization are not all positive and finite")
    lo, hi = float(std.min()), float(std.max())
    if hi / lo <= LOG_SPREAD:
        a = _HALF_WIDTH * hi
        out = []
        for sd in std:
            n = math.ceil(2 * a / (sd / _BINS_PER_STD))
            out.append(np.linspace(-a, a, min(max(n | 1, _MIN_BINS), _MAX_BINS) + 1))
        return out, False
    d0 = math.floor(math.log10(lo)) - 3  # three decades below the narrowest layer's std
    d1 = math.ceil(math.log10(hi)) + 1
    pos = np.logspace(d0, d1, (d1 - d0) * _PER_DECADE + 1)
    return [np.concatenate([-pos[::-1], pos])] * len(std), True


def init_gradient_hist(run: RunData, q: str) -> FittedHist:
    """Re-measure the run's initial net on its probes and histogram ``q`` ("bgrad" or
    "wgrad") on edges fitted to the stds at initialization (``fitted_edges``), for the paper's
    Figs. 7 and 8 (§4.2.2). Uses the run's stored initial weights, probes, dtype, input scale,
    activation, cost and rate; returns a ``FittedHist``. Raises ``Unavailable`` when the file
    lacks what this needs (probes, initial weights) or the stds are not all positive and
    finite; ValueError for another ``q``; GlorotError as ``probes.measure``."""
    if q not in ("bgrad", "wgrad"):
        raise ValueError(f"q must be bgrad or wgrad, got {q!r}")
    cfg = run.config
    if run.probe_x is None or run.probe_y is None or not len(run.probe_x):
        raise Unavailable(f"{run.path.name}: no probe examples")
    try:
        W, b = read_initial_weights(run.path)
    except GlorotError as exc:
        raise Unavailable(str(exc)) from None
    dtype = np.dtype(cfg.get("dtype", "float32"))
    net = MLP(tuple(run.sizes), cfg["activation"], [np.ascontiguousarray(w, dtype) for w in W],
              [np.ascontiguousarray(v, dtype) for v in b])
    x = scale_inputs(run.probe_x, dtype.type, cfg.get("input_scale", "0,1"))
    y = np.asarray(run.probe_y, dtype=np.int64)
    default = probes.default_edges(net.activation, init=cfg.get("init"))

    def fractions(edges: np.ndarray) -> np.ndarray:  # (L, B): one more measurement
        res = probes.measure(net, x, y, cost=cfg["cost"], lr=float(cfg["lr"]),
                             edges=dict(default, **{q: edges}))
        return np.asarray(res.hist[q], dtype=np.float64)

    # The stds do not depend on the edges: a first measurement gives them, exactly; then one
    # measurement per distinct set of edges.
    first = probes.measure(net, x, y, cost=cfg["cost"], lr=float(cfg["lr"]), edges=default)
    std = np.asarray(first.stats[q]["std"], dtype=np.float64)
    edges, log = fitted_edges(std)
    by_bins: dict[int, np.ndarray] = {}  # all edges share one range: same length, same edges
    frac = []
    for j, e in enumerate(edges):
        if len(e) not in by_bins:
            by_bins[len(e)] = fractions(e)
        frac.append(by_bins[len(e)][j])
    centers, density, outside = [], [], []
    for e, f in zip(edges, frac, strict=True):
        if not log:
            centers.append(0.5 * (e[1:] + e[:-1]))
            density.append(f / np.diff(e))
            outside.append(1.0 - f.sum())
        else:
            k = (len(e) - 2) // 2  # bins per sign; bin k is the middle (-small, small)
            mags = e[k + 1:]  # small .. big
            folded = f[:k][::-1] + f[k + 1:]
            centers.append(np.sqrt(mags[1:] * mags[:-1]))
            density.append(folded / np.diff(np.log10(mags)))
            outside.append(1.0 - folded.sum())
    return FittedHist(q=q, centers=centers, density=density, log=log, std=std,
                      spread=float(std.max() / std.min()),
                      outside=np.clip(np.asarray(outside), 0.0, 1.0))
