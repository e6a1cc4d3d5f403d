"""The paper's figures as PNG (or PDF), in the paper's axes and units.

Two layers:

* one function per figure kind taking plain arrays (``fig_mean_std``, ``fig_percentiles``,
  ``fig_histograms``, ``fig_wgrad_std``, ``fig_test_error``, ``fig_jacobian``, ``fig_table1``,
  ``fig_surface``), returning a matplotlib ``Figure``;
* ``plan(runs)`` decides which of the paper's figures a set of runs can support and how to build
  each from them, ``write_figures`` writes them atomically.

Every figure names what it shows in its title and its source runs (with their settings) in
small print at the bottom (style.md "Numbers a reader can trust"). Figures are 8 x 5 in
(panels stack to 8 x 8) at 120 dpi. matplotlib is used through ``Figure`` objects only (no
pyplot), so nothing depends on a display or on global state.
"""

from __future__ import annotations

import os
import textwrap
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from glorotcli.errors import GlorotError
from glorotcli.fileio import atomic_output
from glorotcli.report import paper, remeasure, series
from glorotcli.report.series import Unavailable
from glorotcli.stats.runlog import RunData

DPI = 120
SIZE = (8.0, 5.0)
SIZE_TALL = (8.0, 8.0)
MAX_MARKERS = 30
_SOURCE_FONT = 6.5


def layer_colors(n: int) -> list:
    """One colour per layer, Layer 1 (input side) dark to Layer n (top) light."""
    from matplotlib import colormaps

    cmap = colormaps["viridis"]
    return [cmap(x) for x in np.linspace(0.0, 0.85, max(n, 1))]


def _new(size=SIZE, nrows: int = 1, ncols: int = 1, **kw) -> tuple[Figure, list]:
    fig = Figure(figsize=size, dpi=DPI, layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False, **kw)
    return fig, list(axes.ravel())


def _finish(fig: Figure, title: str, source: str) -> Figure:
    fig.suptitle(title, fontsize=11)
    if source:
        width_chars = int(fig.get_figwidth() * 150 / 8.0)
        wrapped = textwrap.fill("source: " + source, width=width_chars)
        fig.text(0.005, 0.004, wrapped, fontsize=_SOURCE_FONT, color="0.35", ha="left",
                 va="bottom")
        n = wrapped.count("\n") + 1
        frac = (n * _SOURCE_FONT * 1.3 / 72 + 0.08) / fig.get_figheight()
        engine = fig.get_layout_engine()
        if engine is not None:
            engine.set(rect=(0, frac, 1, 1 - frac))
    return fig


def _every(n: int, k: int = MAX_MARKERS) -> np.ndarray:
    """Indices of at most ``k`` evenly spread points of ``n`` (always the first and last)."""
    if n <= k:
        return np.arange(n)
    return np.unique(np.linspace(0, n - 1, k).round().astype(int))


def _epoch_axis(ax) -> None:
    ax.set_xlabel(paper.EPOCH_LABEL)
    ax.grid(alpha=0.3)


# ------------------------------------------------------------- figure functions ----

def fig_mean_std(ep: np.ndarray, mean: np.ndarray, std: np.ndarray, *, title: str,
                 source: str = "", ylim: tuple[float, float] = (0.0, 1.0)) -> Figure:
    """Fig. 2: per-layer mean (line) with ±1 std bars over training. ``mean``/``std`` (M, L)."""
    fig, (ax,) = _new()
    L = mean.shape[1]
    span = (ep[-1] - ep[0]) if len(ep) > 1 else 1.0
    for j, col in enumerate(layer_colors(L)):
        ax.plot(ep, mean[:, j], color=col, lw=1.5, label=f"Layer {j + 1}")
        idx = _every(len(ep), 25)
        off = (j - (L - 1) / 2) * span * 0.004
        ax.errorbar(ep[idx] + off, mean[idx, j], yerr=std[idx, j], fmt="none", ecolor=col,
                    elinewidth=0.9, capsize=2, alpha=0.8)
    ax.set_ylim(*ylim)
    ax.set_ylabel("Activation value (mean, bars ±1 std)")
    _epoch_axis(ax)
    ax.legend(loc="best", fontsize=8, ncols=2)
    return _finish(fig, title, source)


def fig_percentiles(ep: np.ndarray, p2: np.ndarray, p98: np.ndarray, mean: np.ndarray,
                    std: np.ndarray, *, title: str, source: str = "",
                    ylim: tuple[float, float] = (-1.0, 1.0)) -> Figure:
    """Figs. 3 and 10 (A8): markers at the 98th and 2nd percentiles, lines at mean ± std, one
    colour per layer. Arrays (M, L)."""
    fig, (ax,) = _new()
    L = p98.shape[1]
    idx = _every(len(ep))
    for j, col in enumerate(layer_colors(L)):
        ax.plot(ep[idx], p98[idx, j], ls="none", marker="^", ms=4, color=col)
        ax.plot(ep[idx], p2[idx, j], ls="none", marker="v", ms=4, color=col)
        ax.plot(ep, mean[:, j] + std[:, j], color=col, lw=1.4, label=f"Layer {j + 1}")
        ax.plot(ep, mean[:, j] - std[:, j], color=col, lw=1.4)
    ax.axhline(0, color="0.6", lw=0.6)
    ax.set_ylim(ylim[0] - 0.05 * (ylim[1] - ylim[0]), ylim[1] + 0.05 * (ylim[1] - ylim[0]))
    ax.set_ylabel("Activation value")
    _epoch_axis(ax)
    from matplotlib.lines import Line2D

    handles, labels = ax.get_legend_handles_labels()
    handles += [Line2D([], [], ls="none", marker="^", color="0.3", ms=5),
                Line2D([], [], ls="none", marker="v", color="0.3", ms=5),
                Line2D([], [], color="0.3", lw=1.4)]
    labels += ["98th percentile", "2nd percentile", "mean ± std"]
    ax.legend(handles, labels, loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=8)
    return _finish(fig, title, source)


@dataclass
class HistPanel:
    """One panel of per-layer histograms: ``density`` (L, B) over ``centers`` (B,).

    ``centers`` and ``density`` may also be lists, one array per layer (layers with their own
    bins). ``log_x``: centers are magnitudes drawn on a log axis (density per decade), labelled
    ``xlabel`` (the figure's label otherwise)."""

    title: str
    centers: np.ndarray | list[np.ndarray]
    density: np.ndarray | list[np.ndarray]
    off_scale: np.ndarray | None = None
    clip_edges: bool = False
    zoom: bool = False
    log_x: bool = False
    xlabel: str | None = None


def _zoom_limits(centers: np.ndarray, density: np.ndarray, mass: float = 0.998
                 ) -> tuple[float, float]:
    """A range symmetric about 0 holding ``mass`` of every layer's histogram, padded by half,
    within the histogram's edges (for gradients, whose fixed edges are often much wider)."""
    half = 0.0
    w = np.gradient(centers) if len(centers) > 1 else np.ones(1)
    for d in density:
        p = d * w
        total = p.sum()
        if total <= 0:
            continue
        order = np.argsort(np.abs(centers))
        cum = np.cumsum(p[order]) / total
        k = min(int(np.searchsorted(cum, mass)), len(order) - 1)
        half = max(half, float(np.abs(centers[order[k]])))
    lo, hi = float(centers[0]), float(centers[-1])
    if half <= 0:
        return lo, hi
    return max(lo, -1.5 * half), min(hi, 1.5 * half)


def fig_histograms(panels: Sequence[HistPanel], *, xlabel: str, title: str,
                   source: str = "") -> Figure:
    """Figs. 4, 6, 7, 8: normalized histograms (unit area), one curve per layer, one panel per
    run (stacked). With ``clip_edges`` the y range ignores the outermost bins, where
    saturated activations pile up, and says so (the paper lets those spikes run off the scale)."""
    fig, axes = _new(SIZE if len(panels) == 1 else SIZE_TALL, nrows=len(panels))
    for ax, p in zip(axes, panels, strict=True):
        L = len(p.density)
        per_layer = isinstance(p.centers, list)
        for j, col in enumerate(layer_colors(L)):
            label = f"Layer {j + 1}"
            if p.off_scale is not None and p.off_scale[j] >= 0.005:
                label += f" ({p.off_scale[j]:.0%} off scale)"
            ax.plot(p.centers[j] if per_layer else p.centers, p.density[j], color=col, lw=1.3,
                    label=label)
        if per_layer:  # fitted bins (remeasure): every layer already spans the axis
            ax.set_ylim(bottom=0)
            lo = min(float(c[0]) for c in p.centers)
            hi = max(float(c[-1]) for c in p.centers)
            if p.log_x:
                ax.set_xscale("log")
                lo, hi = _log_limits(p.centers, p.density, lo, hi)
            ax.set_xlim(lo, hi)
        elif p.clip_edges and p.density.shape[1] > 8:
            inner = p.density[:, 2:-2]
            top = float(inner.max()) * 1.15 if inner.size and inner.max() > 0 else None
            peak = float(p.density.max())
            if top and peak > top:
                ax.set_ylim(0, top)
                ax.text(0.5, 0.97, f"spikes at the ends run off the scale (peak {peak:.1f})",
                        transform=ax.transAxes, ha="center", va="top", fontsize=8,
                        color="0.3")
            else:
                ax.set_ylim(bottom=0)
        else:
            ax.set_ylim(bottom=0)
        if not per_layer:
            ax.set_xlim(*(_zoom_limits(p.centers, p.density) if p.zoom
                          else (p.centers[0], p.centers[-1])))
        ax.set_title(p.title, fontsize=10)
        ax.set_ylabel("density per decade" if p.log_x else "density")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc="upper left" if p.log_x
                  else "upper right" if not p.clip_edges else "center right")
        if p.xlabel:
            ax.set_xlabel(p.xlabel)
    if not panels[-1].xlabel:
        axes[-1].set_xlabel(xlabel)
    return _finish(fig, title, source)


def _log_limits(centers: Sequence[np.ndarray], density: Sequence[np.ndarray], lo: float,
                hi: float, mass: float = 0.999) -> tuple[float, float]:
    """x range of log-axis histograms (one per layer) within [lo, hi]: from where the lowest
    layer has (1 - mass) / 2 of its values to where the highest has 1 - that, padded by half
    a decade."""
    a, b = hi, lo
    tail = (1.0 - mass) / 2
    for c, d in zip(centers, density, strict=True):
        cum = np.cumsum(d)
        if not len(cum) or cum[-1] <= 0:
            continue
        cum = cum / cum[-1]
        a = min(a, float(c[min(np.searchsorted(cum, tail), len(c) - 1)]))
        b = max(b, float(c[min(np.searchsorted(cum, 1 - tail), len(c) - 1)]))
    if not a < b:
        return lo, hi
    return max(a / 10 ** 0.5, lo), min(b * 10 ** 0.5, hi)


def fig_wgrad_std(panels: Sequence[tuple[str, np.ndarray, np.ndarray]], *, title: str,
                  source: str = "") -> Figure:
    """Fig. 9: ±1 std of the weight gradients per layer over training; ``panels`` holds
    (panel title, epochs (M,), std (M, L))."""
    fig, axes = _new(SIZE if len(panels) == 1 else SIZE_TALL, nrows=len(panels), sharex=True)
    finite = [float(np.nanmax(s)) for _, _, s in panels if np.isfinite(s).any()]
    top = (max(finite) * 1.1 if finite and max(finite) > 0 else 1.0)
    for ax, (name, ep, std) in zip(axes, panels, strict=True):
        for j, col in enumerate(layer_colors(std.shape[1])):
            ax.plot(ep, std[:, j], color=col, lw=1.4, marker=".", ms=4, label=f"Layer {j + 1}")
            ax.plot(ep, -std[:, j], color=col, lw=1.4, marker=".", ms=4)
        ax.axhline(0, color="0.6", lw=0.6)
        ax.set_ylim(-top, top)
        ax.set_title(name, fontsize=10)
        ax.set_ylabel("Weight gradients (±1 std)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc="center left", bbox_to_anchor=(1.01, 0.5))
    _epoch_axis(axes[-1])
    return _finish(fig, title, source)


@dataclass
class Curve:
    label: str
    x: np.ndarray
    y: np.ndarray


def _run_colour(k: int, n: int):
    """Colour of run ``k`` of ``n``: matplotlib's default cycle, or tab20 past ten runs so that no
    two runs share a colour."""
    from matplotlib import colormaps

    return f"C{k}" if n <= 10 else colormaps["tab20"](k % 20)


def fig_test_error(panels: Sequence[tuple[str, Sequence[Curve]]], *, title: str,
                   source: str = "", baselines: Sequence[float | None] | None = None,
                   zoom: bool = False) -> Figure:
    """Figs. 11 and 12: test error (%) against examples seen, one curve per run, legend ordered
    from the highest final error to the lowest (as in the paper); panels side by side.
    ``baselines`` (one per panel, %) draws the majority-class error as a dashed line. With
    ``zoom`` the y axis shows the last 80 % of training (as Fig. 12 does) and says so."""
    fig, axes = _new((8.0 if len(panels) == 1 else 11.0, 5.0), ncols=len(panels))
    baselines = list(baselines) if baselines is not None else [None] * len(panels)
    for ax, (name, curves), base in zip(axes, panels, baselines, strict=True):
        if base is not None:
            ax.axhline(base, ls="--", color="0.5", lw=1, label=f"majority class ({base:.1f}%)")
        # Zoom on the curves that learned: one stuck at chance would stretch the axis to 100 %.
        at_chance = {id(c) for c in curves if zoom and base is not None and len(c.y)
                     and c.y[-1] >= 0.95 * base and any(d.y[-1] < 0.95 * base for d in curves)}
        order = sorted(curves, key=lambda c: -c.y[-1])
        for k, c in enumerate(order):
            off = ", off the zoomed axis" if id(c) in at_chance else ""
            ax.plot(c.x, c.y, lw=1.4, color=_run_colour(k, len(order)),
                    label=f"{c.label} ({c.y[-1]:.2f}%{off})")
        if zoom:
            late = [c.y[c.x >= 0.2 * c.x.max()] for c in curves
                    if len(c.x) and id(c) not in at_chance]
            late = [v for v in late if len(v)]
            if late:
                top = max(float(v.max()) for v in late)
                bottom = min(float(v.min()) for v in late)
                pad = 0.15 * max(top - bottom, 0.1)
                ax.set_ylim(max(0.0, bottom - pad), top + pad)
                ax.text(0.01, 0.98, "y axis zoomed on the last 80% of training",
                        transform=ax.transAxes, fontsize=7, color="0.4", va="top")
                if base is not None and not bottom - pad <= base <= top + pad:
                    ax.lines[0].set_label(f"majority class ({base:.1f}%, off the zoomed "
                                          f"axis)")
        ax.set_xlabel(f"# {paper.EXAMPLES_LABEL}")
        ax.set_ylabel("test error %")
        ax.set_title(name, fontsize=10)
        ax.grid(alpha=0.3)
        ax.ticklabel_format(axis="x", style="sci", scilimits=(0, 0))
        ax.legend(fontsize=8, loc="upper right")
    return _finish(fig, title, source)


def fig_jacobian(first: Sequence[tuple[str, np.ndarray, float]],
                 over_time: Sequence[tuple[str, np.ndarray, np.ndarray]],
                 refs: dict[str, float], *, title: str, source: str = "") -> Figure:
    """Mean singular value of J^i = dz^{i+1}/dz^i per layer pair at the first measurement
    (``first``: label, sv_mean (L-1,), epoch) and, when measured more than once, the mean over
    layer pairs against training time (``over_time``: label, epochs, mean). Dashed lines: the
    paper's values (§4.2.2)."""
    two = any(len(ep) > 1 for _, ep, _ in over_time)
    fig, axes = _new((12.0, 5.0) if two else (9.5, 5.0), ncols=2 if two else 1)
    ax = axes[0]
    all_init = all(ep == 0 for _, _, ep in first)
    for k, (label, sv, ep) in enumerate(first):
        x = np.arange(1, len(sv) + 1)
        ax.plot(x, sv, marker="o", color=_run_colour(k, len(first)),
                label=label if all_init else f"{label} (epoch {ep:.2f})")
    n = max(len(sv) for _, sv, _ in first)
    ax.set_xticks(np.arange(1, n + 1), [f"{i}→{i + 1}" for i in range(1, n + 1)])
    for k, (name, v) in enumerate(sorted(refs.items())):
        ax.axhline(v, ls=("--", ":")[k % 2], color="0.4", lw=1.2,
                   label=f"paper, tanh {name} init: {v}")
    ax.set_xlabel("Jacobian between layers i → i+1")
    ax.set_ylabel("mean singular value")
    top = max([*refs.values(), *(float(np.nanmax(sv)) for _, sv, _ in first)], default=1.0)
    ax.set_ylim(0, 1.1 * top)  # room above the highest line, so the frame hides none
    ax.set_title("at initialization (step 0)" if all_init else "at the first measurement",
                 fontsize=10)
    ax.grid(alpha=0.3)
    fig.legend(*ax.get_legend_handles_labels(), loc="outside right center", fontsize=8)
    if two:
        ax = axes[1]
        for k, (label, ep, m) in enumerate(over_time):
            if len(ep) > 1:
                ax.plot(ep, m, marker=".", color=_run_colour(k, len(over_time)),
                        label=label)
        ax.set_ylim(bottom=0)
        ax.set_ylabel("mean singular value (mean over layer pairs)")
        ax.set_title("during training (runs measured more than once)", fontsize=10)
        _epoch_axis(ax)
    return _finish(fig, title, source)


def fig_table1(tab: series.Table1, *, title: str, source: str = "") -> Figure:
    """Table 1 as an image: measured / paper test error (%) per configuration and data set,
    with the budget (updates, share of the paper's) in the title and column headers."""
    rows, cols = tab.rows, tab.cols
    fig = Figure(figsize=(8.0, 1.6 + 0.38 * len(rows)), dpi=DPI, layout="constrained")
    ax = fig.add_subplot()
    ax.axis("off")
    text = []
    colors = []
    for r in rows:
        line, cl = [], []
        for c in cols:
            cell = tab.cells[(r, c)]
            m = series.fmt(cell.mean)
            if len(cell.measured) > 1:
                m += f" (n={len(cell.measured)})"
            lr = "" if cell.lr is None else f"  (lr {cell.lr:g})"
            line.append(f"{m} / {series.fmt(cell.paper)}{lr}")
            cl.append("#e6f0ff" if cell.measured else "white")
        text.append(line)
        colors.append(cl)
    t = ax.table(cellText=text, rowLabels=rows, cellColours=colors,
                 colLabels=[tab.column_label(c, sep="\n") for c in cols], loc="center",
                 cellLoc="center")
    t.auto_set_font_size(False)
    t.set_fontsize(9)
    t.auto_set_column_width(list(range(-1, len(cols))))
    t.scale(1, 1.6)
    for (r, _), c in t.get_celld().items():
        if r == 0:  # the two-line column headers
            c.set_height(c.get_height() * 2.2)
    ax.set_title(f"cells: measured / paper (Table 1); measured = {tab.measure}; shaded = "
                 f"measured here; '-' = none", fontsize=8, color="0.3", wrap=True)
    return _finish(fig, title, source)


def fig_surface(w1: np.ndarray, w2: np.ndarray, ce: np.ndarray, quad: np.ndarray,
                grad_ce: np.ndarray, grad_quad: np.ndarray, flat: float, *, title: str,
                source: str = "") -> Figure:
    """Fig. 5: cross-entropy (black, above) and quadratic cost (red, below) over (W1, W2) as 3-D
    meshes, and beside them where each surface is a plateau (gradient norm < ``flat``)."""
    import mpl_toolkits.mplot3d  # noqa: F401  (registers the 3-D projection)

    fig = Figure(figsize=(11.0, 5.0), dpi=DPI)  # constrained layout mis-places 3-D axes
    gs = fig.add_gridspec(1, 2, width_ratios=(1.5, 1), left=0.0, right=0.97, top=0.86,
                          bottom=0.12, wspace=0.12)
    ax = fig.add_subplot(gs[0], projection="3d")
    W1, W2 = np.meshgrid(w1, w2)
    stride = max(1, len(w1) // 40)
    ax.plot_wireframe(W1, W2, ce, color="black", lw=0.5, rstride=stride, cstride=stride,
                      label="cross-entropy")
    ax.plot_wireframe(W1, W2, quad, color="red", lw=0.5, rstride=stride, cstride=stride,
                      label="quadratic (p - t)²")
    ax.set_xlabel("W1 (first layer)")
    ax.set_ylabel("W2 (output layer)")
    ax.set_zlabel("cost")
    ax.set_zlim(0, max(5.0, float(ce.max())))
    ax.view_init(elev=25, azim=-60)
    ax.legend(fontsize=8, loc="upper left")
    ax2 = fig.add_subplot(gs[1])
    mask = np.zeros(ce.shape + (3,))
    flat_q = grad_quad < flat
    flat_c = grad_ce < flat
    mask[flat_q] = (1.0, 0.55, 0.55)
    mask[flat_c] = (0.2, 0.2, 0.2)
    mask[~flat_q & ~flat_c] = (1.0, 1.0, 1.0)
    ext = (w1[0], w1[-1], w2[0], w2[-1])
    ax2.imshow(mask, origin="lower", extent=ext, aspect="equal", interpolation="nearest")
    ax2.set_xlabel("W1 (first layer)")
    ax2.set_ylabel("W2 (output layer)")
    from matplotlib.patches import Patch

    ax2.legend(handles=[Patch(color=(1.0, 0.55, 0.55)), Patch(color=(0.2, 0.2, 0.2))],
               labels=[f"quadratic: {flat_q.mean():.1%} of grid",
                       f"cross-entropy: {flat_c.mean():.1%} of grid"],
               fontsize=8, loc="upper left", framealpha=0.9)
    ax2.set_title(f"plateaus: where |gradient| < {flat:g}", fontsize=10)
    return _finish(fig, title, source)


# ---------------------------------------------------------------- planning ----

@dataclass
class Planned:
    """A figure the runs support: its file stem, source runs and how to build it."""

    name: str
    runs: list[RunData]
    make: Callable[[], Figure]
    note: str = ""


def _cfg(r: RunData) -> dict:
    return series.config(r)


def _pick(runs: Sequence[RunData], *, activation: str | None = None, init: str | None = None,
          q: str = "act", stat: str = "mean", prefer_depth: int | None = None,
          min_rows: int = 1) -> tuple[RunData | None, list[RunData], str]:
    """The first run matching ``activation``/``init`` that has ``q``/``stat``; also the other
    matches and a reason when none has the statistics."""
    cand = [r for r in runs if (activation is None or _cfg(r)["activation"] == activation)
            and (init is None or _cfg(r)["init"] == init)]
    if not cand:
        if activation is not None and init is not None:  # e.g. "no softsign run with the
            return None, [], f"no {activation} run with the {init} init"  # standard init"
        return None, [], f"no {paper.row_label(activation or '?', init or 'standard')} run"
    ok, why = [], ""
    for r in cand:
        try:
            series.require_layers(r, q, stat)
            if len(r.layer_step) < min_rows:
                raise Unavailable(f"{r.path.name}: only {len(r.layer_step)} probe row(s)")
            ok.append(r)
        except Unavailable as exc:
            why = str(exc)
    if not ok:
        return None, [], why
    if prefer_depth is not None:
        ok.sort(key=lambda r: _cfg(r)["depth"] != prefer_depth)
    ok.sort(key=lambda r: series.data_kind(r) != "shapeset")
    return ok[0], ok[1:], ""


def _also(others: list[RunData]) -> str:
    return f"also matched, not drawn: {', '.join(r.path.name for r in others)}" if others else ""


def _act_ylim(activation: str) -> tuple[float, float]:
    return (0.0, 1.0) if activation == "sigmoid" else (-1.0, 1.0)


def plan(runs: Sequence[RunData], table1: series.Table1 | None = None
         ) -> tuple[list[Planned], list[str]]:
    """Every paper figure the runs can support, and a one-line note per figure they cannot.
    ``table1``: the Table 1 to draw (a sweep's selection) instead of the runs' final errors."""
    out: list[Planned] = []
    skipped: list[str] = []

    def single(name, what, r, others, why, make):
        if r is None:
            skipped.append(f"{name}: skipped ({why})")
        else:
            out.append(Planned(name, [r], lambda: make(r), _also(others)))

    # Fig. 2
    r, others, why = _pick(runs, activation="sigmoid", stat="std", prefer_depth=4)
    single("fig02_sigmoid_activations", "", r, others, why, lambda r: fig_mean_std(
        *series.layer_stat(r, "act", "mean"), series.layer_stat(r, "act", "std")[1],
        title=f"Fig. 2: {series.run_label(r, with_depth=True)} activations during training "
              f"(mean, ±1 std)", source=series.source_note([r])))

    # Figs. 3 and 10
    def percentiles(r, figno):
        ep, p2 = series.layer_stat(r, "act", "p2")
        _, p98 = series.layer_stat(r, "act", "p98")
        _, mean = series.layer_stat(r, "act", "mean")
        _, std = series.layer_stat(r, "act", "std")
        return fig_percentiles(ep, p2, p98, mean, std, ylim=_act_ylim(_cfg(r)["activation"]),
                               title=f"Fig. {figno}: {series.run_label(r)} activations during "
                                     f"training (2nd/98th percentiles, mean ± std)",
                               source=series.source_note([r]))

    for name, act, init, figno in (("fig03_tanh_activations", "tanh", "standard", 3),
                                   ("fig03_softsign_activations", "softsign", "standard", 3),
                                   ("fig10_tanhN_activations", "tanh", "normalized", 10)):
        r, others, why = _pick(runs, activation=act, init=init, stat="p98")
        single(name, "", r, others, why, lambda r, figno=figno: percentiles(r, figno))

    # Fig. 4
    panels_runs = []
    for act in ("tanh", "softsign"):
        r, _, _ = _pick(runs, activation=act, init="standard", stat="hist")
        if r is not None:
            panels_runs.append(r)
    if panels_runs:
        def fig4(rs=tuple(panels_runs)):
            panels = []
            for r in rs:
                h = series.hist_at(r, "act", "last")
                panels.append(HistPanel(f"{series.run_label(r)}, step {h.step:,} "
                                        f"(epoch {series.epochs(h.step):.2f})", h.centers,
                                        h.density, h.off_scale, clip_edges=True))
            return fig_histograms(panels, xlabel="Activation value",
                                  title="Fig. 4: activation histograms at the end of training",
                                  source=series.source_note(rs))
        out.append(Planned("fig04_activation_hist_end", panels_runs, fig4))
    else:
        skipped.append("fig04_activation_hist_end: skipped (no tanh or softsign run with the "
                       "standard init and activation histograms)")

    # Figs. 6-9: a standard / normalized pair of the same activation (tanh preferred)
    pair: list[RunData] = []
    for act in ("tanh", "softsign", "sigmoid", "relu"):
        pair = [r for r in (_pick(runs, activation=act, init=i, q="act", stat="hist")[0]
                            for i in ("standard", "normalized")) if r is not None]
        if pair:
            break
    init_figs = (("fig06_activation_hist_init", "act", "Activation value",
                  "Fig. 6: activation histograms at initialization"),
                 ("fig07_bgrad_hist_init", "bgrad", "Back-propagated gradients dC/ds",
                  "Fig. 7: back-propagated gradient histograms at initialization"),
                 ("fig08_wgrad_hist_init", "wgrad", "Weight gradients dC/dW",
                  "Fig. 8: weight gradient histograms at initialization"))
    for name, q, xlabel, title in init_figs:
        usable = []
        why = "no run with per-layer histograms"
        for r in pair:
            try:
                series.hist_at(r, q, "init")
                usable.append(r)
            except Unavailable as exc:
                why = str(exc)
        if not usable:
            skipped.append(f"{name}: skipped ({why})")
            continue

        def fig_init(rs=tuple(usable), q=q, xlabel=xlabel, title=title):
            return fig_histograms([_init_panel(r, q, xlabel) for r in rs], xlabel=xlabel,
                                  title=title, source=series.source_note(rs))
        out.append(Planned(name, usable, fig_init))

    wg = [r for r in pair if "wgrad" in r.layers and "std" in r.layers["wgrad"]
          and len(r.layer_step) >= 2]
    if wg:
        def fig9(rs=tuple(wg)):
            panels = [(f"{series.run_label(r)} ({_cfg(r)['init']} init)",
                       *series.layer_stat(r, "wgrad", "std")) for r in rs]
            return fig_wgrad_std(panels, title="Fig. 9: weight-gradient std during training",
                                 source=series.source_note(rs))
        out.append(Planned("fig09_wgrad_std", wg, fig9))
    else:
        skipped.append("fig09_wgrad_std: skipped (no run with weight-gradient statistics over "
                       "at least 2 probes)")

    # Figs. 11 and 12
    with_err = []
    for r in runs:
        try:
            series.error_curve(r, "test")
            with_err.append(r)
        except Unavailable:
            pass
    shapeset = [r for r in with_err if series.data_kind(r) == "shapeset"]
    others_err = [r for r in with_err if series.data_kind(r) in ("mnist", "cifar10")]
    if shapeset:
        out.append(Planned("fig11_test_error", shapeset, lambda rs=tuple(shapeset): _fig_err(
            rs, "Fig. 11: test error during training on Shapeset-3x2")))
    else:
        skipped.append("fig11_test_error: skipped (no Shapeset-3x2 run with a test error)")
    if others_err:
        out.append(Planned("fig12_test_error", others_err,
                           lambda rs=tuple(others_err): _fig_err(
                               rs, "Fig. 12: test error during training on " + " and ".join(
                                   paper.DATASET_LABELS[k] for k in ("mnist", "cifar10")
                                   if any(series.data_kind(r) == k for r in rs)))))
    else:
        skipped.append("fig12_test_error: skipped (no MNIST or CIFAR-10 run with a test error)")

    # Jacobian
    jac = []
    for r in runs:
        try:
            series.jacobian(r)
            jac.append(r)
        except Unavailable:
            pass
    if jac:
        out.append(Planned("jacobian_sv", jac, lambda rs=tuple(jac): _fig_jac(rs)))
    else:
        skipped.append("jacobian_sv: skipped (no run with Jacobian singular values)")

    if with_err:
        def fig_t1(rs=tuple(with_err)):
            tab = table1 if table1 is not None else series.table1(rs)
            note = tab.budget_note()
            title = "Table 1: test error (%), measured here / paper" + (f", {note}" if note
                                                                          else "")
            return fig_table1(tab, title=textwrap.fill(title, 80),
                              source=series.source_note(rs))
        out.append(Planned("table1", with_err, fig_t1))
    else:
        skipped.append("table1: skipped (no run with a test error)")
    return out, skipped


def _init_panel(r: RunData, q: str, xlabel: str) -> HistPanel:
    """Figs. 6-8, one run: gradients re-measured from the stored initial net on edges fitted
    to their spread (``remeasure``), or the stored histograms when that cannot be done."""
    std = series.stat_at(r, q, "std", "init")
    title = (f"{series.run_label(r)} ({_cfg(r)['init']} init); std L1..L{len(std)}: "
             + ", ".join(f"{v:.3g}" for v in std))
    if q != "act":
        try:
            h = remeasure.init_gradient_hist(r, q)
        except Unavailable:
            pass
        else:
            if not h.log:
                return HistPanel(title, h.centers, h.density, h.outside)
            name = xlabel.split(" ")[-1]  # dC/ds or dC/dW
            return HistPanel(f"{title}\nspreads differ {h.spread:.0f}x: magnitudes on a "
                             "log axis", h.centers, h.density, h.outside, log_x=True,
                             xlabel=f"|{name}| (log scale; both signs)")
    h = series.hist_at(r, q, "init")
    return HistPanel(title, h.centers, h.density, h.off_scale, zoom=(q != "act"))


def _fig_err(rs: Sequence[RunData], title: str) -> Figure:
    groups: dict[str, list[Curve]] = {}
    for r, label in zip(rs, series.unique_labels(rs, with_depth=True), strict=True):
        x, y = series.error_curve(r, "test")
        kind = series.data_kind(r)
        groups.setdefault(kind, []).append(Curve(label, x, y))
    order = [k for k in ("shapeset", "mnist", "cifar10") if k in groups]
    order += [k for k in groups if k not in order]
    panels = [(paper.DATASET_LABELS.get(k, k), groups[k]) for k in order]
    baselines = []
    for k in order:
        vals = {series.majority_error(r) for r in rs if series.data_kind(r) == k} - {None}
        baselines.append(vals.pop() if len(vals) == 1 else None)
    return fig_test_error(panels, title=title, source=series.source_note(rs),
                          baselines=baselines, zoom="shapeset" not in order)


def _fig_jac(rs: Sequence[RunData]) -> Figure:
    first, over = [], []
    refs: dict[str, float] = {}
    for r, label in zip(rs, series.unique_labels(rs), strict=True):
        ep, m, _ = series.jacobian(r)
        first.append((label, m[0], float(ep[0])))
        over.append((label, ep, np.nanmean(m, axis=1)))
        init = _cfg(r)["init"]
        if init in paper.JACOBIAN_SV_MEAN:
            refs[init] = paper.JACOBIAN_SV_MEAN[init]
    return fig_jacobian(first, over, refs,
                        title="Mean singular value of the layer-to-layer Jacobians (§4.2.2)",
                        source=series.source_note(rs))


# ---------------------------------------------------------------- writing ----

def save(fig: Figure, path: str | os.PathLike, *, force: bool = False) -> Path:
    """Write ``fig`` to ``path`` atomically; the format follows the suffix (.png, .pdf)."""
    path = Path(path)
    fmt = path.suffix.lstrip(".").lower() or "png"
    with atomic_output(path, force=force) as tmp:
        fig.savefig(tmp, format=fmt, dpi=DPI)
    return path


def write_figures(runs: Sequence[RunData], outdir: str | os.PathLike, *, force: bool = False,
                  formats: Sequence[str] = ("png",), progress=None,
                  table1: series.Table1 | None = None) -> tuple[list[Path], list[str]]:
    """Write every figure ``runs`` support into ``outdir`` (created if missing) as
    ``NAME.png`` (and ``.pdf``). Refuses, before writing anything, to overwrite an existing
    file unless ``force``. Returns (written paths, notes on skipped figures)."""
    outdir = Path(outdir)
    if outdir.exists() and not outdir.is_dir():
        raise GlorotError(f"{outdir}: exists and is not a folder")
    planned, notes = plan(runs, table1)
    targets = [outdir / f"{p.name}.{ext}" for p in planned for ext in formats]
    clash = [t for t in targets if t.exists()]
    if clash and not force:
        raise GlorotError(f"{clash[0]}: already exists (use --force to overwrite"
                          + (f"; {len(clash)} of the figure files exist" if len(clash) > 1
                             else "") + ")")
    if not planned:  # nothing to draw: leave no empty folder behind
        return [], notes
    try:
        outdir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise GlorotError(f"{outdir}: cannot create the figure folder "
                          f"({exc.strerror or exc})") from None
    written = []
    for k, p in enumerate(planned):
        if p.note:
            notes.append(f"{p.name}: {p.note}")
        try:
            fig = p.make()
        except Unavailable as exc:
            notes.append(f"{p.name}: skipped ({exc})")
            continue
        for ext in formats:
            written.append(save(fig, outdir / f"{p.name}.{ext}", force=force))
        if progress is not None:
            progress("figures", k + 1, len(planned))
    return written, notes
