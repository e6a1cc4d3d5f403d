"""The paper's figures as PNG (or PDF), in the paper's axes and units.

Three layers:

* one function per figure kind taking plain arrays (``fig_mean_std``, ``fig_percentiles``,
  ``fig_histograms``, ``fig_wgrad_std``, ``fig_test_error``, ``fig_jacobian``, ``fig_table1``,
  ``fig_surface``), returning a matplotlib ``Figure``;
* ``FIGURES``, a table of figure specifications: each paper figure's file name, title, what it
  draws (``draw``: which statistic of which quantity) and which runs qualify (``Select``);
* ``plan(runs)`` reads the table, picks each figure's runs and says which figures the runs
  cannot support; ``write_figures`` writes them atomically.

Every figure names what it shows in its title and its source runs (with their settings) in
small print at the bottom (style.md "Numbers a reader can trust"). Figures are 8 x 5 in
(panels stack to 8 x 8) at 120 dpi. matplotlib is used through ``Figure`` objects only (no
pyplot), so nothing depends on a display or on global state.

Every artist that draws data carries a ``gid`` naming what it draws ("mean L1", "p98 L3",
"density L2", "error Tanh N", "majority", ...), unique within a panel, so a test can read back
the numbers a figure shows and compare them with the run file.

Training time (Figs. 2, 3, 9, 10 and the Jacobians over training) is in mini-batch updates.
The default probe schedule is log-spaced below 20,000 updates and then every 20,000, so those
axes are logarithmic beyond the first probe after step 0 (``time_axis``); the paper's axis,
"epochs" of 20k updates, is named in the axis label for comparison.
"""

from __future__ import annotations

import os
import textwrap
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
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
LOG_AXIS_CROWDING = 0.1
"""A time axis is logarithmic when half of the measurements after step 0 lie in the first
``LOG_AXIS_CROWDING`` of the run (they would pile up at the left of a linear axis)."""


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


def count_text(v: float, _pos=None) -> str:
    """A count of updates or examples for a tick: 0, 50, 2k, 20k, 1.5M."""
    a = abs(v)
    if a >= 1e6:
        return f"{v / 1e6:g}M"
    if a >= 1e3:
        return f"{v / 1e3:g}k"
    return f"{v:g}"


def log_time_axis(steps: Sequence[np.ndarray]) -> bool:
    """Whether a time axis over these update counts should be logarithmic: half of the
    measurements after step 0 lie in the first ``LOG_AXIS_CROWDING`` of the longest run."""
    s = np.concatenate([np.asarray(x, dtype=np.float64).ravel() for x in steps] or [[]])
    pos = s[s > 0]
    return len(pos) >= 3 and float(np.median(pos)) < LOG_AXIS_CROWDING * float(pos.max())


def time_axis(ax, steps: Sequence[np.ndarray]) -> None:
    """Make ``ax``'s x axis a training-time axis in mini-batch updates for these update counts:
    symmetric-log (linear from 0 to the first measurement after step 0, logarithmic beyond)
    when ``log_time_axis``, else linear; ticks as 0, 100, 10k, 1M; the label names the scale
    and the paper's unit."""
    from matplotlib.ticker import FuncFormatter

    log = log_time_axis(steps)
    if log:
        s = np.concatenate([np.asarray(x, dtype=np.float64).ravel() for x in steps])
        pos = s[s > 0]
        lin = float(pos.min())
        ax.set_xscale("symlog", linthresh=lin, linscale=0.4)
        ax.set_xlim(-0.25 * lin, float(pos.max()) * 1.35)
    ax.xaxis.set_major_formatter(FuncFormatter(count_text))
    ax.set_xlabel(f"{paper.STEPS_LABEL}{', log scale' if log else ''} "
                  f"({paper.PAPER_TIME_AXIS})")
    ax.grid(alpha=0.3)


def _nudge(ax, x: np.ndarray, k: float, frac: float = 0.006) -> np.ndarray:
    """``x`` moved by ``k * frac`` of the axis width as drawn (on a log axis too), so error
    bars of several layers at one step stand side by side."""
    tr = ax.xaxis.get_transform()
    xs = tr.transform(np.asarray(x, dtype=np.float64))
    lo, hi = tr.transform(np.asarray(ax.get_xlim(), dtype=np.float64))
    return tr.inverted().transform(xs + k * frac * (hi - lo))


# ------------------------------------------------------------- figure functions ----

def fig_mean_std(steps: np.ndarray, mean: np.ndarray, std: np.ndarray, *, title: str,
                 source: str = "", ylim: tuple[float, float] = (0.0, 1.0)) -> Figure:
    """Fig. 2: per-layer mean (line) with ±1 std bars over training. ``steps`` (M,) updates,
    ``mean``/``std`` (M, L). Bars at most 25 per layer, side by side at each step."""
    fig, (ax,) = _new()
    L = mean.shape[1]
    time_axis(ax, [steps])
    idx = _every(len(steps), 25)
    for j, col in enumerate(layer_colors(L)):
        ax.plot(steps, mean[:, j], color=col, lw=1.5, label=f"Layer {j + 1}", gid=f"mean L{j + 1}")
        bars = ax.errorbar(_nudge(ax, steps[idx], j - (L - 1) / 2), mean[idx, j],
                           yerr=std[idx, j], fmt="none", ecolor=col, elinewidth=0.9, capsize=2,
                           alpha=0.8)
        bars.lines[2][0].set_gid(f"std L{j + 1}")
    ax.set_ylim(*ylim)
    ax.set_ylabel("Activation value (mean, bars ±1 std)")
    ax.legend(loc="best", fontsize=8, ncols=2)
    return _finish(fig, title, source)


def fig_percentiles(steps: np.ndarray, p2: np.ndarray, p98: np.ndarray, mean: np.ndarray,
                    std: np.ndarray, *, title: str, source: str = "",
                    ylim: tuple[float, float] = (-1.0, 1.0)) -> Figure:
    """Figs. 3 and 10: markers at the 98th and 2nd percentiles, lines at mean ± std, one
    colour per layer. ``steps`` (M,) updates, arrays (M, L)."""
    fig, (ax,) = _new()
    L = p98.shape[1]
    time_axis(ax, [steps])
    idx = _every(len(steps))
    for j, col in enumerate(layer_colors(L)):
        n = j + 1
        ax.plot(steps[idx], p98[idx, j], ls="none", marker="^", ms=4, color=col, gid=f"p98 L{n}")
        ax.plot(steps[idx], p2[idx, j], ls="none", marker="v", ms=4, color=col, gid=f"p2 L{n}")
        ax.plot(steps, mean[:, j] + std[:, j], color=col, lw=1.4, label=f"Layer {n}",
                gid=f"mean+std L{n}")
        ax.plot(steps, mean[:, j] - std[:, j], color=col, lw=1.4, gid=f"mean-std L{n}")
    ax.axhline(0, color="0.6", lw=0.6)
    ax.set_ylim(ylim[0] - 0.05 * (ylim[1] - ylim[0]), ylim[1] + 0.05 * (ylim[1] - ylim[0]))
    ax.set_ylabel("Activation value")
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
                    label=label, gid=f"density L{j + 1}")
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
        if not per_layer:  # whole histogram: to the outer edges (ticks at -1 and 1 show)
            half = 0.5 * (p.centers[1] - p.centers[0]) if len(p.centers) > 1 else 0.0
            ax.set_xlim(*(_zoom_limits(p.centers, p.density) if p.zoom
                          else (p.centers[0] - half, p.centers[-1] + half)))
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


@dataclass
class StdPanel:
    """One panel of Fig. 9: ``std`` (M, L) of one run over ``steps`` (M,) updates; ``note``
    is a second line of the panel's title (e.g. the Layer 1 / top-layer ratio)."""

    title: str
    steps: np.ndarray
    std: np.ndarray
    note: str = ""


def fig_wgrad_std(panels: Sequence[StdPanel], *, title: str, source: str = "") -> Figure:
    """Fig. 9: ±1 std of the weight gradients per layer over training, one panel per run.

    Each panel has the y range its own data needs (the standard init's gradients can be many
    times smaller than the normalized init's, and one shared range squashed them at zero); with
    several panels the title says so, and each panel's note gives a scale-free number to
    compare."""
    fig, axes = _new(SIZE if len(panels) == 1 else SIZE_TALL, nrows=len(panels), sharex=True)
    time_axis(axes[-1], [p.steps for p in panels])
    for ax, p in zip(axes, panels, strict=True):
        for j, col in enumerate(layer_colors(p.std.shape[1])):
            n = j + 1
            ax.plot(p.steps, p.std[:, j], color=col, lw=1.4, marker=".", ms=4,
                    label=f"Layer {n}", gid=f"+std L{n}")
            ax.plot(p.steps, -p.std[:, j], color=col, lw=1.4, marker=".", ms=4,
                    gid=f"-std L{n}")
        ax.axhline(0, color="0.6", lw=0.6)
        finite = p.std[np.isfinite(p.std)]
        top = float(finite.max()) * 1.15 if finite.size and finite.max() > 0 else 1.0
        ax.set_ylim(-top, top)
        ax.ticklabel_format(axis="y", style="plain", useOffset=False)  # 0.004, not 4 x 1e-3
        ax.set_title(p.title + (f"\n{p.note}" if p.note else ""), fontsize=9.5)
        ax.set_ylabel("Weight gradients (±1 std)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc="center left", bbox_to_anchor=(1.01, 0.5))
    if len(panels) > 1:
        title += "\n(each panel has its own y scale)"
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


Baselines = float | Sequence[tuple[str, float]] | None
"""A panel's majority-class error(s) in %: one value, or (which data, value) pairs when runs
on different data share the panel, or None."""


def fig_test_error(panels: Sequence[tuple[str, Sequence[Curve]]], *, title: str,
                   source: str = "", baselines: Sequence[Baselines] | None = None,
                   zoom: bool = False) -> Figure:
    """Figs. 11 and 12: test error (%) against examples seen, one curve per run, legend ordered
    from the highest final error to the lowest (as in the paper); panels side by side.
    ``baselines`` (one entry per panel, ``Baselines``) draws each majority-class error as a
    dashed line (gid "majority", or "majority WHICH" for several). With ``zoom`` the y axis
    shows the last 80 % of training (as Fig. 12 does) and says so."""
    fig, axes = _new((8.0 if len(panels) == 1 else 11.0, 5.0), ncols=len(panels))
    baselines = list(baselines) if baselines is not None else [None] * len(panels)
    for ax, (name, curves), bases in zip(axes, panels, baselines, strict=True):
        bases = ([] if bases is None else [("", float(bases))] if np.isscalar(bases)
                 else list(bases))
        lines = []
        for k, (which, v) in enumerate(bases):
            lines.append(ax.axhline(v, ls=("--", ":", "-.")[k % 3], color="0.5", lw=1,
                                    gid="majority" if len(bases) == 1 else f"majority {which}"))
        base = max((v for _, v in bases), default=None)
        # Zoom on the curves that learned: one stuck at chance would stretch the axis to 100 %.
        at_chance = {id(c) for c in curves if zoom and base is not None and len(c.y)
                     and c.y[-1] >= 0.95 * base and any(d.y[-1] < 0.95 * base for d in curves)}
        order = sorted(curves, key=lambda c: -c.y[-1])
        for k, c in enumerate(order):
            off = ", off the zoomed axis" if id(c) in at_chance else ""
            ax.plot(c.x, c.y, lw=1.4, color=_run_colour(k, len(order)),
                    label=f"{c.label} ({c.y[-1]:.2f}%{off})", gid=f"error {c.label}")
        ylabel = "test error %"
        if zoom:
            late = [c.y[c.x >= 0.2 * c.x.max()] for c in curves
                    if len(c.x) and id(c) not in at_chance]
            late = [v for v in late if len(v)]
            if late:
                top = max(float(v.max()) for v in late)
                bottom = min(float(v.min()) for v in late)
                pad = 0.15 * max(top - bottom, 0.1)
                ax.set_ylim(max(0.0, bottom - pad), top + pad)
                ylabel += " (zoomed on the last 80% of training)"
        lo, hi = ax.get_ylim()
        for line, (which, v) in zip(lines, bases, strict=True):
            off = "" if lo <= v <= hi else ", off the zoomed axis"
            line.set_label(f"majority class{', ' + which if which else ''} ({v:.1f}%{off})")
        ax.set_xlabel(f"# {paper.EXAMPLES_LABEL}")
        ax.set_ylabel(ylabel)
        ax.set_title(name, fontsize=10)
        ax.grid(alpha=0.3)
        ax.ticklabel_format(axis="x", style="sci", scilimits=(0, 0), useMathText=True)
        ax.legend(fontsize=8, loc="best")
    return _finish(fig, title, source)


def fig_jacobian(first: Sequence[tuple[str, np.ndarray, int]],
                 over_time: Sequence[tuple[str, np.ndarray, np.ndarray]],
                 refs: dict[str, float], *, title: str, source: str = "") -> Figure:
    """Mean singular value of J^i = dz^{i+1}/dz^i per layer pair at the first measurement
    (``first``: label, sv_mean (L-1,), its update count) and, when measured more than once, the
    mean over layer pairs against training time (``over_time``: label, updates (J,), mean
    (J,)). Dashed lines: the paper's values (§4.2.2)."""
    two = any(len(st) > 1 for _, st, _ in over_time)
    fig, axes = _new((12.0, 5.0) if two else (9.5, 5.0), ncols=2 if two else 1)
    ax = axes[0]
    all_init = all(st == 0 for _, _, st in first)
    for k, (label, sv, st) in enumerate(first):
        x = np.arange(1, len(sv) + 1)
        ax.plot(x, sv, marker="o", color=_run_colour(k, len(first)),
                label=label if all_init else f"{label} (after {st:,} updates)",
                gid=f"first {label}")
    n = max(len(sv) for _, sv, _ in first)
    ax.set_xticks(np.arange(1, n + 1), [f"{i}→{i + 1}" for i in range(1, n + 1)])
    for k, (name, v) in enumerate(sorted(refs.items())):
        ax.axhline(v, ls=("--", ":")[k % 2], color="0.4", lw=1.2,
                   label=f"paper, tanh {name} init: {v}", gid=f"paper {name}")
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
        time_axis(ax, [st for _, st, _ in over_time if len(st) > 1])
        for k, (label, st, m) in enumerate(over_time):
            if len(st) > 1:
                ax.plot(st, m, marker=".", color=_run_colour(k, len(over_time)),
                        label=label, gid=f"over time {label}")
        ax.set_ylim(bottom=0)
        ax.set_ylabel("mean singular value (mean over layer pairs)")
        ax.set_title("during training (runs measured more than once)", fontsize=10)
    return _finish(fig, title, source)


def fig_table1(tab: series.Table1, *, title: str, source: str = "") -> Figure:
    """Table 1 as an image: measured / paper test error (%) per configuration and data set,
    with the budget (updates, share of the paper's) in the title and column headers.

    The figure is sized to its content (title, key, table, sources), each band as tall as its
    lines, so no band is left empty; the first column holds the row names."""
    rows, cols = tab.rows, tab.cols
    header = [""] + [tab.column_label(c, sep="\n") for c in cols]
    body, colors = [], []
    for r in rows:
        line, cl = [r], ["white"]
        for c in cols:
            cell = tab.cells[(r, c)]
            m = series.fmt(cell.mean)
            if len(cell.measured) > 1:
                m += f" (n={len(cell.measured)})"
            lr = "" if cell.lr is None else f"  (lr {series.lr_text(cell.lr)})"
            line.append(f"{m} / {series.fmt(cell.paper)}{lr}")
            cl.append("#e6f0ff" if cell.measured else "white")
        body.append(line)
        colors.append(cl)
    chars = [max(len(x) for text in column for x in text.split("\n")) + 3
             for column in zip(header, *body, strict=True)]
    width = max(8.0, 0.075 * sum(chars) + 0.6)
    per_line = int(width * 150 / 8.0)  # characters of 6.5 pt text across the figure
    title = textwrap.fill(title, int(width * 11.5))
    key = textwrap.fill(f"cells: measured / paper (Table 1); measured = {tab.measure}; shaded "
                        f"= measured here; '-' = none", int(per_line * 6.5 / 8))
    src = textwrap.fill("source: " + source, per_line) if source else ""
    band = {  # inches
        "title": 0.12 + 0.22 * (title.count("\n") + 1),
        "key": 0.1 + 0.16 * (key.count("\n") + 1),
        "table": 0.42 + 0.27 * len(rows),
        "source": (0.1 + (src.count("\n") + 1) * _SOURCE_FONT * 1.3 / 72) if src else 0.1,
    }
    height = sum(band.values()) + 0.15
    fig = Figure(figsize=(width, height), dpi=DPI)
    fig.suptitle(title, fontsize=11, y=1 - 0.08 / height, va="top")
    y = 1 - (band["title"] + 0.05) / height
    fig.text(0.5, y, key, fontsize=8, color="0.3", ha="center", va="top")
    y -= band["key"] / height
    table_w = min(1.0, (0.075 * sum(chars)) / width)
    ax = fig.add_axes((0.5 - table_w / 2, y - band["table"] / height, table_w,
                       band["table"] / height))
    ax.axis("off")
    t = ax.table(cellText=body, cellColours=colors, colLabels=header, cellLoc="center",
                 bbox=(0, 0, 1, 1))
    t.auto_set_font_size(False)
    t.set_fontsize(9)
    header_share = 0.42 / band["table"]
    for (r, c), cell in t.get_celld().items():
        cell.set_width(chars[c] / sum(chars))
        cell.set_height(header_share if r == 0 else (1 - header_share) / len(rows))
        if c == 0:
            cell.get_text().set_horizontalalignment("left")
            cell.PAD = 0.04
        if r == 0 and c == 0:
            cell.set_linewidth(0)
    if src:
        fig.text(0.005, 0.004, src, fontsize=_SOURCE_FONT, color="0.35", ha="left",
                 va="bottom")
    return fig


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


# ------------------------------------------------------- figure specifications ----

PAIR_ACTIVATIONS = ("tanh", "softsign", "sigmoid", "relu")
"""Figs. 6-9 compare the standard and normalized inits of one activation: the paper's tanh
first, then whichever other activation has both."""


@dataclass(frozen=True)
class Select:
    """Which runs qualify for a figure, and which of those it draws.

    A run qualifies when its activation is in ``activations`` and its init in ``inits`` (empty:
    any), its data kind in ``kinds`` (empty: any), and it has what the figure reads: per-layer
    statistic ``stat`` of quantity ``q`` (over at least ``min_probes`` probe rows, one of them
    at step 0 when ``at_init``), a test error (``error``), Jacobian singular values
    (``jacobian``). Of the qualifying runs, ``how`` draws:

    * ``"one"``: the first (Shapeset runs first, then depth ``prefer_depth``, then as given);
    * ``"one_each"``: the first of each activation in ``activations``;
    * ``"pair"``: the first standard-init and the first normalized-init run of the first
      activation in ``activations`` that has either;
    * ``"all"``: every one.

    The qualifying runs not drawn are named in the figure's note ("also matched, not drawn").
    """

    how: str
    activations: tuple[str, ...] = ()
    inits: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ()
    q: str | None = None
    stat: str | None = None
    min_probes: int = 1
    at_init: bool = False
    error: bool = False
    jacobian: bool = False
    prefer_depth: int | None = None


@dataclass(frozen=True)
class FigureSpec:
    """One of the paper's figures: its file name (``name``.png), title, what it draws and from
    which runs. ``draw`` names the drawing function (``DRAW``); ``q`` and ``stat`` the
    per-layer quantity and statistic it plots (for the figures that plot one); ``xlabel`` the
    quantity's axis label. ``title`` may hold ``{run}`` (the run's label) and ``{data}`` (the
    data sets drawn)."""

    name: str
    title: str
    draw: str
    select: Select
    q: str = "act"
    stat: str = "mean"
    xlabel: str = ""
    what: str = ""
    """What a qualifying run must be, for the note when none is: "tanh run with the standard
    init"."""


_PCT = "activations during training (2nd/98th percentiles, mean ± std)"
_INIT = ("standard", "normalized")

FIGURES: tuple[FigureSpec, ...] = (
    FigureSpec("fig02_sigmoid_activations",
               "Fig. 2: {run} activations during training (mean, ±1 std)", "mean_std",
               Select("one", ("sigmoid",), q="act", stat="std", prefer_depth=4),
               what="Sigmoid run"),
    FigureSpec("fig03_tanh_activations", "Fig. 3: {run} " + _PCT, "percentiles",
               Select("one", ("tanh",), ("standard",), q="act", stat="p98"),
               what="tanh run with the standard init"),
    FigureSpec("fig03_softsign_activations", "Fig. 3: {run} " + _PCT, "percentiles",
               Select("one", ("softsign",), ("standard",), q="act", stat="p98"),
               what="softsign run with the standard init"),
    FigureSpec("fig10_tanhN_activations", "Fig. 10: {run} " + _PCT, "percentiles",
               Select("one", ("tanh",), ("normalized",), q="act", stat="p98"),
               what="tanh run with the normalized init"),
    FigureSpec("fig04_activation_hist_end", "Fig. 4: activation histograms at the end of training",
               "hist_last", Select("one_each", ("tanh", "softsign"), ("standard",), q="act",
                                   stat="hist"),
               stat="hist", xlabel="Activation value",
               what="tanh or softsign run with the standard init"),
    FigureSpec("fig06_activation_hist_init", "Fig. 6: activation histograms at initialization",
               "hist_init", Select("pair", PAIR_ACTIVATIONS, _INIT, q="act", stat="hist",
                                   at_init=True),
               stat="hist", xlabel="Activation value",
               what="run with the standard or normalized init"),
    FigureSpec("fig07_bgrad_hist_init",
               "Fig. 7: back-propagated gradient histograms at initialization", "hist_init",
               Select("pair", PAIR_ACTIVATIONS, _INIT, q="bgrad", stat="hist", at_init=True),
               q="bgrad", stat="hist", xlabel="Back-propagated gradients dC/ds",
               what="run with the standard or normalized init"),
    FigureSpec("fig08_wgrad_hist_init", "Fig. 8: weight gradient histograms at initialization",
               "hist_init",
               Select("pair", PAIR_ACTIVATIONS, _INIT, q="wgrad", stat="hist", at_init=True),
               q="wgrad", stat="hist", xlabel="Weight gradients dC/dW",
               what="run with the standard or normalized init"),
    FigureSpec("fig09_wgrad_std", "Fig. 9: weight-gradient std during training", "std",
               Select("pair", PAIR_ACTIVATIONS, _INIT, q="wgrad", stat="std", min_probes=2),
               q="wgrad", stat="std", what="run with the standard or normalized init"),
    FigureSpec("fig11_test_error", "Fig. 11: test error during training on Shapeset-3x2",
               "test_error", Select("all", kinds=("shapeset",), error=True),
               what="Shapeset-3x2 run"),
    FigureSpec("fig12_test_error", "Fig. 12: test error during training on {data}",
               "test_error", Select("all", kinds=("mnist", "cifar10"), error=True),
               what="MNIST or CIFAR-10 run"),
    FigureSpec("jacobian_sv", "Mean singular value of the layer-to-layer Jacobians (§4.2.2)",
               "jacobian", Select("all", jacobian=True), what="run"),
    FigureSpec("table1", "Table 1: test error (%), measured here / paper", "table1",
               Select("all", error=True), what="run"),
)
"""The paper's figures the reports draw, in the order they are written."""

_NEEDS = {"hist": "histograms", "std": "statistics", "p98": "percentiles"}
_QUANTITY = {"act": "activation", "bgrad": "back-propagated gradient",
             "wgrad": "weight-gradient"}


def _needs(sel: Select) -> str:
    """What a qualifying run must hold, for a skip note: "weight-gradient statistics over at
    least 2 probes"."""
    parts = []
    if sel.q is not None:
        text = f"{_QUANTITY[sel.q]} {_NEEDS.get(sel.stat or '', 'statistics')}"
        if sel.at_init:
            text += " at initialization"
        if sel.min_probes > 1:
            text += f" over at least {sel.min_probes} probes"
        parts.append(text)
    if sel.error:
        parts.append("a test error")
    if sel.jacobian:
        parts.append("Jacobian singular values")
    return " and ".join(parts)


def _lacks(sel: Select, r: RunData) -> str | None:
    """Why run ``r`` cannot be drawn by a figure selecting ``sel`` (None: it can)."""
    try:
        if sel.q is not None:
            series.require_layers(r, sel.q, sel.stat)
            if len(r.layer_step) < sel.min_probes:
                return f"{r.path.name}: only {series.plural(len(r.layer_step), 'probe row')}"
            if sel.at_init and not (np.asarray(r.layer_step) == 0).any():
                return f"{r.path.name}: no probe row at step 0 (initialization)"
        if sel.error:
            series.error_curve(r, "test")
        if sel.jacobian:
            series.jacobian(r)
    except Unavailable as exc:
        return str(exc)
    return None


def select_runs(spec: FigureSpec, runs: Sequence[RunData]
                ) -> tuple[list[RunData], list[RunData], str]:
    """(runs drawn, runs that also qualify but are not drawn, why none is drawn) for one
    figure, following ``spec.select``."""
    sel = spec.select
    cfg = [series.config(r) for r in runs]
    match = [r for r, c in zip(runs, cfg, strict=True)
             if (not sel.activations or c["activation"] in sel.activations)
             and (not sel.inits or c["init"] in sel.inits)
             and (not sel.kinds or series.data_kind(r) in sel.kinds)]
    if not match:
        return [], [], f"no {spec.what}"
    ok, why = [], ""
    for r in match:
        reason = _lacks(sel, r)
        if reason is None:
            ok.append(r)
        else:
            why = reason
    if not ok:
        return [], [], f"no {spec.what} has {_needs(sel)}; {why}"
    if sel.how == "all":
        return ok, [], ""
    if sel.prefer_depth is not None:
        ok.sort(key=lambda r: series.config(r)["depth"] != sel.prefer_depth)
    ok.sort(key=lambda r: series.data_kind(r) != "shapeset")
    if sel.how == "one":
        chosen = ok[:1]
    elif sel.how == "one_each":
        chosen = [next(r for r in ok if series.config(r)["activation"] == a)
                  for a in sel.activations
                  if any(series.config(r)["activation"] == a for r in ok)]
    elif sel.how == "pair":
        act = next(a for a in sel.activations if any(series.config(r)["activation"] == a
                                                     for r in ok))
        chosen = [r for r in (next((r for r in ok if series.config(r)["activation"] == act
                                    and series.config(r)["init"] == i), None)
                              for i in sel.inits) if r is not None]
    else:
        raise ValueError(f"unknown selection {sel.how!r}")
    return chosen, [r for r in ok if not any(r is c for c in chosen)], ""


# ------------------------------------------------------------------- drawing ----

def _act_ylim(activation: str) -> tuple[float, float]:
    return (0.0, 1.0) if activation == "sigmoid" else (-1.0, 1.0)


def _draw_mean_std(spec: FigureSpec, runs: Sequence[RunData], table1) -> Figure:
    (r,) = runs
    steps, mean = series.layer_stat(r, spec.q, "mean")
    _, std = series.layer_stat(r, spec.q, "std")
    return fig_mean_std(steps, mean, std, ylim=_act_ylim(series.config(r)["activation"]),
                        title=spec.title.format(run=series.run_label(r, with_depth=True)),
                        source=series.source_note(runs))


def _draw_percentiles(spec: FigureSpec, runs: Sequence[RunData], table1) -> Figure:
    (r,) = runs
    steps, p2 = series.layer_stat(r, spec.q, "p2")
    _, p98 = series.layer_stat(r, spec.q, "p98")
    _, mean = series.layer_stat(r, spec.q, "mean")
    _, std = series.layer_stat(r, spec.q, "std")
    return fig_percentiles(steps, p2, p98, mean, std,
                           ylim=_act_ylim(series.config(r)["activation"]),
                           title=spec.title.format(run=series.run_label(r)),
                           source=series.source_note(runs))


def _draw_hist_last(spec: FigureSpec, runs: Sequence[RunData], table1) -> Figure:
    panels = []
    for r in runs:
        h = series.hist_at(r, spec.q, "last")
        panels.append(HistPanel(f"{series.run_label(r)}, after {h.step:,} updates", h.centers,
                                h.density, h.off_scale, clip_edges=True))
    return fig_histograms(panels, xlabel=spec.xlabel, title=spec.title,
                          source=series.source_note(runs))


def _panel_name(r: RunData, runs: Sequence[RunData]) -> str:
    """"Tanh (standard init)", with the data set when the panels' data sets differ."""
    name = f"{series.run_label(r)} ({series.config(r)['init']} init)"
    if len({series.data_label(x) for x in runs}) > 1:
        name += f", {series.data_label(r)}"
    return name


def _draw_hist_init(spec: FigureSpec, runs: Sequence[RunData], table1) -> Figure:
    return fig_histograms([_init_panel(r, spec.q, spec.xlabel, _panel_name(r, runs))
                           for r in runs], xlabel=spec.xlabel, title=spec.title,
                          source=series.source_note(runs))


def _init_panel(r: RunData, q: str, xlabel: str, name: str | None = None) -> HistPanel:
    """Figs. 6-8, one run: gradients re-measured from the stored initial net on edges fitted
    to their spread (``remeasure``), or the stored histograms when that cannot be done.
    ``name`` heads the panel's title (default: ``_panel_name`` of the run alone)."""
    name = name if name is not None else _panel_name(r, [r])

    try:  # the mean-field prediction for this net and these probes (glorotcli.stats.theory)
        predicted = series.init_theory(r).mean_field[f"{q}_std"]
    except Unavailable:
        predicted = None

    def title(std: np.ndarray) -> str:
        text = f"{name}; std L1..L{len(std)}: " + ", ".join(f"{v:.3g}" for v in std)
        if predicted is not None:
            text += "\npredicted (mean field): " + ", ".join(f"{v:.3g}" for v in predicted)
        return text

    if q != "act":
        try:
            h = remeasure.init_gradient_hist(r, q)
        except Unavailable:
            pass
        else:  # the stds of the measurement drawn
            if not h.log:
                return HistPanel(title(h.std), h.centers, h.density, h.outside)
            what = xlabel.split(" ")[-1]  # dC/ds or dC/dW
            return HistPanel(f"{title(h.std)}\nspreads differ {h.spread:.0f}x: magnitudes on a "
                             "log axis", h.centers, h.density, h.outside, log_x=True,
                             xlabel=f"|{what}| (log scale; both signs)")
    h = series.hist_at(r, q, "init")
    return HistPanel(title(series.stat_at(r, q, "std", "init")), h.centers, h.density,
                     h.off_scale, zoom=(q != "act"))


def _first_over_top(r: RunData, std: np.ndarray, steps: np.ndarray) -> str:
    """Fig. 9's scale-free reading: Layer 1's std over the top layer's at the last probe, with
    the paper's value for a depth-5 tanh net of the same init."""
    last = std[-1]
    L = len(last)
    if not (np.isfinite(last[[0, -1]]).all() and last[-1] > 0):
        return ""
    text = f"Layer 1 / Layer {L} after {int(steps[-1]):,} updates: {last[0] / last[-1]:.2g}"
    c = series.config(r)
    ref = paper.FIG9_L1_OVER_L5.get(c["init"])
    if ref is not None and c["activation"] == "tanh" and L == 5:
        text += f" (paper, tanh: ≈ {ref:g} after {paper.FIG9_AT:,} updates)"
    return text


def _draw_std(spec: FigureSpec, runs: Sequence[RunData], table1) -> Figure:
    panels = []
    for r in runs:
        steps, std = series.layer_stat(r, spec.q, spec.stat)
        panels.append(StdPanel(_panel_name(r, runs), steps, std,
                               _first_over_top(r, std, steps)))
    return fig_wgrad_std(panels, title=spec.title, source=series.source_note(runs))


def _draw_test_error(spec: FigureSpec, runs: Sequence[RunData], table1) -> Figure:
    groups: dict[str, list[Curve]] = {}
    for r, label in zip(runs, series.unique_labels(runs, with_depth=True), strict=True):
        x, y = series.error_curve(r, "test")
        groups.setdefault(series.data_kind(r), []).append(Curve(label, x, y))
    order = [k for k in ("shapeset", "mnist", "cifar10") if k in groups]
    order += [k for k in groups if k not in order]
    panels = [(paper.DATASET_LABELS.get(k, k), groups[k]) for k in order]
    baselines, bases = [], []
    for k in order:  # one dashed line per distinct baseline, named by its data when several
        found: dict[series.Baseline, list[str]] = {}
        for r in runs:
            b = series.majority_baseline(r) if series.data_kind(r) == k else None
            if b is not None and series.data_source(r) not in found.setdefault(b, []):
                found[b].append(series.data_source(r))
        if len(found) == 1:
            (b,) = found
            baselines.append(b.error)
            bases.append(f"{paper.DATASET_LABELS.get(k, k)}: {b.basis}")
        else:
            baselines.append([(" and ".join(w), b.error) for b, w in found.items()])
            bases += [f"{' and '.join(w)}: {b.basis}" for b, w in found.items()]
    title = spec.title.format(data=" and ".join(paper.DATASET_LABELS.get(k, k) for k in order))
    source = series.source_note(runs)
    if bases:
        source += "; dashed, the majority class: " + "; ".join(bases)
    return fig_test_error(panels, title=title, source=source, baselines=baselines,
                          zoom="shapeset" not in order)


def _draw_jacobian(spec: FigureSpec, runs: Sequence[RunData], table1) -> Figure:
    first, over = [], []
    refs: dict[str, float] = {}
    for r, label in zip(runs, series.unique_labels(runs), strict=True):
        steps, m, _ = series.jacobian(r)
        first.append((label, m[0], int(steps[0])))
        over.append((label, steps, np.nanmean(m, axis=1)))
        init = series.config(r)["init"]
        if init in paper.JACOBIAN_SV_MEAN:
            refs[init] = paper.JACOBIAN_SV_MEAN[init]
    return fig_jacobian(first, over, refs, title=spec.title, source=series.source_note(runs))


def _draw_table1(spec: FigureSpec, runs: Sequence[RunData], table1) -> Figure:
    tab = table1 if table1 is not None else series.table1(runs)
    note = tab.budget_note()
    title = spec.title + (f", {note}" if note else "")
    return fig_table1(tab, title=title, source=series.source_note(runs))


DRAW: dict[str, Callable[[FigureSpec, Sequence[RunData], series.Table1 | None], Figure]] = {
    "mean_std": _draw_mean_std, "percentiles": _draw_percentiles, "hist_last": _draw_hist_last,
    "hist_init": _draw_hist_init, "std": _draw_std, "test_error": _draw_test_error,
    "jacobian": _draw_jacobian, "table1": _draw_table1,
}
"""``FigureSpec.draw`` -> the function that draws it from its runs (and Table 1)."""


# ---------------------------------------------------------------- planning ----

@dataclass
class Planned:
    """A figure the runs support: its file stem, source runs and how to build it; ``note``
    names the runs that also qualified but are not drawn."""

    name: str
    runs: list[RunData]
    make: Callable[[], Figure]
    note: str = ""
    spec: FigureSpec | None = field(default=None, repr=False)


def plan(runs: Sequence[RunData], table1: series.Table1 | None = None
         ) -> tuple[list[Planned], list[str]]:
    """Every paper figure (``FIGURES``) the runs can support, and a one-line note per figure
    they cannot. ``table1``: the Table 1 to draw (a sweep's selection) instead of the runs'
    final errors."""
    out: list[Planned] = []
    skipped: list[str] = []
    for spec in FIGURES:
        chosen, others, why = select_runs(spec, runs)
        if not chosen:
            skipped.append(f"{spec.name}: skipped ({why})")
            continue
        note = (f"also matched, not drawn: {', '.join(r.path.name for r in others)}"
                if others else "")
        out.append(Planned(spec.name, chosen,
                           lambda spec=spec, chosen=tuple(chosen): DRAW[spec.draw](
                               spec, chosen, table1), note, spec))
    return out, skipped


# ---------------------------------------------------------------- writing ----

def save(fig: Figure, path: str | os.PathLike, *, force: bool = False) -> Path:
    """Write ``fig`` to ``path`` atomically; the format follows the suffix (.png, .pdf)."""
    path = Path(path)
    fmt = path.suffix.lstrip(".").lower() or "png"
    with atomic_output(path, force=force) as tmp:
        fig.savefig(tmp, format=fmt, dpi=DPI)
    return path


def figure_folder(outdir: str | os.PathLike, targets: Sequence[Path], *, force: bool = False,
                  create: bool = True) -> Path:
    """Check, before anything is drawn, that the figure files ``targets`` may be written into
    ``outdir``, and create the folder (unless ``create`` is false). Returns ``outdir`` as a
    Path. Raises GlorotError for an ``outdir`` that is a file, a target that exists without
    ``force``, or a folder that cannot be made."""
    outdir = Path(outdir)
    if outdir.exists() and not outdir.is_dir():
        raise GlorotError(f"{outdir}: exists and is not a folder")
    clash = [t for t in targets if t.exists()]
    if clash and not force:
        raise GlorotError(f"{clash[0]}: already exists (use --force to overwrite"
                          + (f"; {len(clash)} of the figure files exist" if len(clash) > 1
                             else "") + ")")
    if create:
        try:
            outdir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise GlorotError(f"{outdir}: cannot create the figure folder "
                              f"({exc.strerror or exc})") from None
    return outdir


def write_figures(runs: Sequence[RunData], outdir: str | os.PathLike, *, force: bool = False,
                  formats: Sequence[str] = ("png",), progress=None,
                  table1: series.Table1 | None = None) -> tuple[list[Path], list[str]]:
    """Write every figure ``runs`` support into ``outdir`` (created if missing) as
    ``NAME.png`` (and ``.pdf``). Refuses, before writing anything, to overwrite an existing
    file unless ``force``. Returns (written paths, notes on skipped figures)."""
    outdir = Path(outdir)
    planned, notes = plan(runs, table1)
    targets = [outdir / f"{p.name}.{ext}" for p in planned for ext in formats]
    # nothing to draw: leave no empty folder behind
    figure_folder(outdir, targets, force=force, create=bool(planned))
    if not planned:
        return [], notes
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
