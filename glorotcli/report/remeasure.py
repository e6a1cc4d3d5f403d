"""Gradient histograms at initialization, re-measured at a resolution that suits the figure.

A run stores its histograms on edges fixed for the whole run (``probes.default_edges``), wide
enough for the gradients' growth during training. At initialization some layers' gradients are
far narrower than one of those bins: a sigmoid net's back-propagated gradients have stds of
1e-5 (layer 1) to 4e-3 (layer 4), against bins 2e-3 wide, so three layers drew as one identical
spike. The run file also stores the initial weights and the probe examples, so Figs. 7 and 8 are
drawn from one more ``probes.measure`` of the initial net, on edges fitted to the layers' stds:

- the layers' spreads within ``LOG_SPREAD`` (tanh, softsign: 2-20x): values on a linear axis,
  symmetric edges at +-4 times the largest std, with enough bins for 2 per smallest std;
- wider apart (sigmoid: hundreds of times): magnitudes |g| on a log axis, 20 bins per decade
  (the two signs folded together; gradients at initialization are symmetric about 0), density
  per decade, so each layer is a bump at its own scale.

Reading the file and one measurement take well under a second at the paper's size.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from glorotcli.errors import GlorotError
from glorotcli.nn.mlp import MLP
from glorotcli.nn.train import scale_inputs
from glorotcli.report.series import Unavailable
from glorotcli.stats import probes
from glorotcli.stats.runlog import RunData, read_initial_weights

#: Largest ratio of the widest to the narrowest layer's std drawn on a linear axis.
LOG_SPREAD = 20.0
_HALF_WIDTH = 4.0  # linear axis: +-4 stds of the widest layer
_BINS_PER_STD = 2.0  # linear axis: bins per std of the narrowest layer
_MIN_BINS, _MAX_BINS = 101, 1201  # odd: 0 is a bin centre
_PER_DECADE = 20  # log axis


@dataclass
class FittedHist:
    """Histograms of one gradient quantity at initialization, one row per hidden layer.

    ``log`` False: ``centers`` are values and ``density`` integrates to 1 over them.
    ``log`` True: ``centers`` are magnitudes |g| (geometric bin centres, for a log axis) and
    ``density`` is per decade of |g|. ``std`` (L,) are the exact stds, ``spread`` their largest
    over smallest ratio, ``outside`` (L,) the fraction of values beyond the edges (log: also
    those below the smallest magnitude, e.g. exact zeros).
    """

    q: str
    centers: np.ndarray
    density: np.ndarray
    log: bool
    std: np.ndarray
    spread: float
    outside: np.ndarray


def fitted_edges(std: np.ndarray) -> tuple[np.ndarray, bool]:
    """Edges suited to layers with these stds, and whether they are for a log axis (in which
    case they are symmetric: -big .. -small, small .. big, the middle bin holding |g| < small).
    """
    std = np.asarray(std, dtype=np.float64)
    if not (std.size and np.all(np.isfinite(std)) and std.min() > 0):
        raise Unavailable("gradient stds at initialization are not all positive and finite")
    lo, hi = float(std.min()), float(std.max())
    if hi / lo <= LOG_SPREAD:
        a = _HALF_WIDTH * hi
        n = math.ceil(2 * a / (lo / _BINS_PER_STD))
        n = min(max(n | 1, _MIN_BINS), _MAX_BINS)  # odd
        return np.linspace(-a, a, n + 1), False
    d0 = math.floor(math.log10(lo)) - 3  # three decades below the narrowest layer's std
    d1 = math.ceil(math.log10(hi)) + 1
    pos = np.logspace(d0, d1, (d1 - d0) * _PER_DECADE + 1)
    return np.concatenate([-pos[::-1], pos]), True


def init_gradient_hist(run: RunData, q: str) -> FittedHist:
    """Re-measure the run's initial net on its probes and histogram ``q`` ("bgrad" or
    "wgrad") on edges fitted to the stds at initialization. Raises ``Unavailable`` when the file
    lacks what this needs (probes, initial weights, a probe row at step 0)."""
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
    # The stds do not depend on the edges: a first measurement (on the run's own edges) gives
    # them, exactly; the second histograms on edges fitted to them.
    default = probes.default_edges(net.activation, init=cfg.get("init"))
    first = probes.measure(net, x, y, cost=cfg["cost"], lr=float(cfg["lr"]), edges=default)
    std = np.asarray(first.stats[q]["std"], dtype=np.float64)
    edges, log = fitted_edges(std)
    res = probes.measure(net, x, y, cost=cfg["cost"], lr=float(cfg["lr"]),
                         edges=dict(default, **{q: edges}))
    frac = np.asarray(res.hist[q], dtype=np.float64)  # (L, B) fractions of all values
    if not log:
        width = np.diff(edges)
        centers = 0.5 * (edges[1:] + edges[:-1])
        density = frac / width
        outside = 1.0 - frac.sum(axis=1)
    else:
        k = (len(edges) - 2) // 2  # bins per sign; bin k is the middle (-small, small)
        neg, pos = frac[:, :k][:, ::-1], frac[:, k + 1:]
        mags = edges[k + 1:]  # small .. big
        decades = np.diff(np.log10(mags))
        centers = np.sqrt(mags[1:] * mags[:-1])
        density = (neg + pos) / decades
        outside = 1.0 - (neg + pos).sum(axis=1)
    return FittedHist(q=q, centers=centers, density=density, log=log, std=std,
                      spread=float(std.max() / std.min()), outside=np.clip(outside, 0.0, 1.0))
