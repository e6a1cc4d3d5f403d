"""The terminal report: rich tables and unicode charts that read in any terminal.

Charts use the eight block characters ``▁▂▃▄▅▆▇█``: one row per layer, time (or the histogram's
axis) left to right. ``sparkline`` and ``histline`` are plain functions on arrays; ``render``
builds the whole report for a list of runs as one rich renderable.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from rich.console import Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from glorotcli.report import paper, series
from glorotcli.report.series import Unavailable, fmt, plural
from glorotcli.stats.runlog import RunData

BLOCKS = "▁▂▃▄▅▆▇█"
CHART_WIDTH = 48
QUANTITY_NAMES = {"act": "activations z", "bgrad": "back-propagated gradients dC/ds",
                  "wgrad": "weight gradients dC/dW"}


def resample(values: np.ndarray, width: int) -> np.ndarray:
    """Shorten a series to at most ``width`` points by taking the last value of each of
    ``width`` equal chunks (keeps the final value exact); shorter series are returned as is."""
    v = np.asarray(values, dtype=np.float64)
    n = len(v)
    if n <= width:
        return v
    ends = np.ceil(np.arange(1, width + 1) * n / width).astype(int) - 1
    return v[ends]


def sparkline(values: np.ndarray, lo: float, hi: float) -> str:
    """Block characters for ``values`` on the scale [lo, hi]; NaN is a space."""
    v = np.asarray(values, dtype=np.float64)
    out = []
    span = hi - lo
    for x in v:
        if not np.isfinite(x):
            out.append(" ")
            continue
        frac = 0.5 if span <= 0 else (min(max(x, lo), hi) - lo) / span
        out.append(BLOCKS[int(round(frac * (len(BLOCKS) - 1)))])
    return "".join(out)


def histline(hist: np.ndarray, width: int = CHART_WIDTH) -> str:
    """A histogram (B,) as ``width`` block characters (bins summed in groups), scaled to its own
    peak; empty groups are spaces so a spread-out histogram and a spike read differently."""
    h = np.asarray(hist, dtype=np.float64)
    B = len(h)
    if B > width:
        idx = np.linspace(0, B, width + 1).astype(int)
        h = np.add.reduceat(h, idx[:-1])
    peak = h.max() if len(h) else 0.0
    if not peak > 0:
        return " " * len(h)
    chars = []
    for x in h:
        if x <= 0:
            chars.append(" ")
        else:
            chars.append(BLOCKS[max(0, int(np.ceil(x / peak * len(BLOCKS))) - 1)])
    return "".join(chars)


# ------------------------------------------------------------------------ sections ----

def summary_table(runs: Sequence[RunData]) -> Table:
    """One row per run: file and status, settings, progress, errors (fits 60 columns: long
    file names break across lines)."""
    t = Table(title="Runs", title_justify="left", header_style="bold", show_lines=True)
    t.add_column("run", overflow="fold")
    t.add_column("settings")
    t.add_column("progress", justify="right")
    t.add_column("error %", justify="right")
    bases = []
    for r in runs:
        s = series.summary(r)
        c = s["config"]
        settings = (f"{s['label']}, {c['depth']}x{c['width']}\n"
                    f"{series.data_label(r)}\n"
                    f"bs {c['batch_size']}, lr {series.lr_text(c['lr'])}\nseed {c['seed']}")
        progress = (f"{plural(s['steps'], 'update')}\n"
                    f"{series.share_text(s['steps'])}*\n"
                    f"{plural(s['examples_seen'], 'example')}\nloss {fmt(s['train_loss'], 4)}")
        errors = (f"test {fmt(s['test_error'])}\npaper {fmt(s['paper_test_error'])}\n"
                  f"valid {fmt(s['valid_error'])}\nmajority {fmt(s['majority_error'])}")
        status = Text(f"{r.path.name}\n", style="bold")
        status.append(s["status"], style="green" if s["status"] == "finished" else (
            "yellow" if s["status"] == "running" else "red"))
        t.add_row(status, settings, progress, errors)
        if s["majority_basis"] and s["majority_basis"] not in bases:
            bases.append(s["majority_basis"])
    t.caption = (f"* share of the paper's {series.PAPER_M} updates. paper: Table 1 for the same "
                 "activation, init, depth 5 and data set. majority: the test error of "
                 + ("; ".join(bases) if bases else "always answering the most frequent class")
                 + ".")
    t.caption_justify = "left"
    return t


def _signed(v: float) -> str:
    """A value that may be negative (a mean, a percentile), aligned: " 0.521", "-0.521"; no
    "-0.000" for a value that rounds to zero."""
    return f"{0.0 if abs(v) < 0.0005 else v: .3f}"


def _unsigned(v: float) -> str:
    """A value that is never negative (a std): "0.089"."""
    return f"{v:.3f}"


_LAYER_STATS = (("mean", _signed), ("std", _unsigned), ("p98", _signed))


def layer_charts(run: RunData, width: int = CHART_WIDTH) -> Table:
    """Activation mean, std and 98th percentile per layer over training, one row per layer;
    each chart ``width // 2`` characters (at least 4)."""
    steps, _ = series.layer_stat(run, "act", "mean")
    values = {name: series.layer_stat(run, "act", name)[1] for name, _ in _LAYER_STATS}
    t = Table(title=f"activations over training (updates {steps[0]:,} to {steps[-1]:,}, "
                    f"{plural(len(steps), 'probe')})", title_justify="left",
              header_style="bold")
    t.add_column("layer", no_wrap=True, min_width=2)
    for name, _ in _LAYER_STATS:
        t.add_column(name, no_wrap=True)
    scales = {}
    for name, v in values.items():
        finite = v[np.isfinite(v)]
        scales[name] = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    w = max(4, width // 2)
    for j in range(values["mean"].shape[1]):
        cells = []
        for name, show in _LAYER_STATS:
            lo, hi = scales[name]
            v = values[name][:, j]
            cells.append(f"{sparkline(resample(v, w), lo, hi)} {show(v[-1])}")
        t.add_row(f"L{j + 1}", *cells)
    t.caption = "; ".join(f"{k}: scale {show(scales[k][0]).strip()} to "
                          f"{show(scales[k][1]).strip()}" for k, show in _LAYER_STATS)
    t.caption += " (same scale for every layer; number = last value)"
    t.caption_justify = "left"
    return t


def hist_table(run: RunData, q: str, width: int = CHART_WIDTH) -> Table:
    """Histograms of ``q`` per layer at initialization and at the last probe."""
    snaps = {}
    notes = []
    for which in ("init", "last"):
        try:
            snaps[which] = series.hist_at(run, q, which)
        except Unavailable as exc:
            notes.append(str(exc).split(": ", 1)[-1])
    if not snaps:
        raise Unavailable(f"{run.path.name}: " + "; ".join(dict.fromkeys(notes)))
    e = next(iter(snaps.values())).edges
    t = Table(title=f"{QUANTITY_NAMES[q]} histograms on [{e[0]:g}, {e[-1]:g}]",
              title_justify="left", header_style="bold")
    t.add_column("layer", no_wrap=True, min_width=2)
    t.add_column("updates", justify="right", no_wrap=True)
    t.add_column("histogram", no_wrap=True)
    t.add_column("std", justify="right", no_wrap=True)
    L = next(iter(snaps.values())).density.shape[0]
    for j in range(L):
        for k, (which, snap) in enumerate(snaps.items()):
            std = series.stat_at(run, q, "std", which)[j]
            off = snap.off_scale[j]
            mark = f" ({off:.0%} off)" if off >= 0.005 else ""
            t.add_row(f"L{j + 1}" if k == 0 else "", f"{snap.step:,}",
                      histline(snap.density[j], width), f"{std:.3g}{mark}",
                      end_section=(k == len(snaps) - 1 and j < L - 1))
    t.caption = ("first row of each layer at initialization, second at the last probe; each "
                 "row scaled to its own peak" + (f"; {'; '.join(notes)}" if notes else ""))
    t.caption_justify = "left"
    return t


def theory_table(th: series.InitTheory) -> Table:
    """Step-0 standard deviations per layer: in each cell the measurement over the mean-field
    prediction (and the paper's Fig. 6 reading for tanh nets of depth 5); gradient columns in
    units that keep three digits readable (the header names the unit). Fits 60 columns."""
    t = Table(title="std at init: measured / predicted", title_justify="left",
              header_style="bold", show_lines=True)
    t.add_column("layer", no_wrap=True)
    cols = []
    for key, head in (("act_std", "act"), ("bgrad_std", "dC/ds"), ("wgrad_std", "dC/dW")):
        values = [v for v in th.measured[key] + th.mean_field[key] if v == v and v > 0]
        exp = 0 if key == "act_std" or not values else int(np.floor(np.log10(max(values))))
        t.add_column(head + (f"\n×1e{exp}" if exp else ""), justify="right", no_wrap=True)
        cols.append((key, 10.0 ** -exp))
    if th.paper_act_std:
        t.add_column("paper\nact", justify="right", no_wrap=True)
    for j in range(len(th.measured["act_std"])):
        row = [f"L{j + 1}"] + [f"{_sig(th.measured[k][j] * f)}\n{_sig(th.mean_field[k][j] * f)}"
                               for k, f in cols]
        if th.paper_act_std:
            row.append(_sig(th.paper_act_std[j]))
        t.add_row(*row)
    t.caption = ("each cell: measured, then the mean-field prediction from the net's sizes, "
                 "activation, init and probe inputs (docs/theory.md); pred.: the same for "
                 "the Jacobians below"
                 + ("; paper: Fig. 6's activation std" if th.paper_act_std else ""))
    t.caption_justify = "left"
    return t


def _sig(v: float) -> str:
    """Three significant digits: 0.303, 0.0017, 2.1e-05."""
    return f"{v:.3g}" if v == v else "-"


def jacobian_table(run: RunData, width: int = CHART_WIDTH,
                   theory: series.InitTheory | None = None) -> Table:
    """Mean and std of the Jacobians' singular values per layer pair at the first measurement,
    and (measured more than once) a chart of the mean over training, ``width // 2``
    characters, and its last value."""
    e, sv_mean, sv_std = series.jacobian(run)
    c = series.config(run)
    # The paper's values (§4.2.2) are for tanh nets only; other activations get none.
    ref = paper.JACOBIAN_SV_MEAN.get(c["init"]) if c["activation"] == "tanh" else None
    t = Table(title="singular values of the Jacobians dz(i+1)/dz(i)",
              title_justify="left", header_style="bold")
    t.add_column("layers")
    t.add_column(f"mean sv after {plural(int(e[0]), 'update')}", justify="right")
    t.add_column("std", justify="right")
    predicted = (theory.mean_field["jacobian_mean_sv"]
                 if theory is not None and theory.measured["jacobian_mean_sv"] else None)
    if predicted:
        t.add_column("pred.", justify="right")
    if len(e) > 1:
        t.add_column("trend")
        t.add_column(f"after {plural(int(e[-1]), 'update')}", justify="right")
    finite = sv_mean[np.isfinite(sv_mean)]
    lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    for j in range(sv_mean.shape[1]):
        row = [f"{j + 1}->{j + 2}", f"{sv_mean[0, j]:.3f}", f"{sv_std[0, j]:.3f}"]
        if predicted:
            row.append(f"{predicted[j]:.3f}")
        if len(e) > 1:
            row += [sparkline(resample(sv_mean[:, j], max(4, width // 2)), lo, hi),
                    f"{sv_mean[-1, j]:.3f}"]
        t.add_row(*row)
    t.caption = (f"{plural(len(e), 'measurement')}; mean over layers at the first: "
                 f"{np.nanmean(sv_mean[0]):.3f}"
                 + (f"; paper (§4.2.2, tanh at init, {c['init']}): ≈ {ref}" if ref else ""))
    t.caption_justify = "left"
    return t


def table1_table(tab: series.Table1) -> Table:
    """Table 1: measured / paper per cell; the budget in the title and the column headers."""
    note = tab.budget_note()
    t = Table(title="Table 1: test error %, measured / paper" + (f", {note}" if note else ""),
              title_justify="left", header_style="bold")
    t.add_column("")
    for c in tab.cols:
        t.add_column(tab.column_label(c, sep="\n"), justify="right", overflow="fold")
    for r in tab.rows:
        cells = []
        for c in tab.cols:
            cell = tab.cells[(r, c)]
            m = fmt(cell.mean)
            if len(cell.measured) > 1:
                m += f" (n={len(cell.measured)})"
            text = Text(m, style="bold" if cell.measured else "dim")
            text.append(f" / {fmt(cell.paper)}", style="dim")
            if cell.lr is not None:
                text.append(f" (lr {series.lr_text(cell.lr)})", style="dim")
            cells.append(text)
        t.add_row(r, *cells)
    captions = [f"measured: {tab.measure}"]
    if tab.unplaced:
        captions.append("not placed: " + "; ".join(tab.unplaced))
    t.caption = "\n".join(captions)
    t.caption_justify = "left"
    return t


def selection_table(summary: dict) -> Table:
    """A sweep's learning-rate selection: one row per network, one cell per candidate rate
    (validation / test error % at the best validation step; the selected one starred)."""
    t = Table(title="Learning-rate selection (validation error %, test error % at the best "
                    "validation step; * = selected)", title_justify="left",
              header_style="bold")
    t.add_column("network")
    t.add_column("candidates")
    t.add_column("selected", justify="right")
    runs = summary.get("runs", {})
    for net in summary.get("networks", []):
        parts = Text()
        for k, name in enumerate(net.get("candidates", [])):
            c = runs.get(name, {})
            if k:
                parts.append("  ")
            chosen = name == net.get("selected")
            head = f"{series.lr_text(c.get('lr'))}{'*' if chosen else ''}: "
            if c.get("status") == "finished" and c.get("best_valid_error") is not None:
                body = (f"{100 * c['best_valid_error']:.2f} / "
                        f"{fmt(_pct(c.get('test_error_at_best_valid')))}")
            else:
                body = {"diverged": "diverged", "missing": "not run"}.get(
                    c.get("status"), f"{c.get('status')} ({c.get('steps', 0):,} steps)")
            parts.append(head + body, style="bold" if chosen else (
                "red" if c.get("status") == "diverged" else ""))
        sel = "-" if net.get("lr") is None else f"lr {series.lr_text(net['lr'])}"
        if net.get("selected") and not net.get("complete"):
            sel += " (provisional)"
        t.add_row(net.get("network", "?"), parts, sel if net.get("selected") else
                  Text(net.get("reason", ""), style="yellow"))
    return t


def _pct(v: float | None) -> float | None:
    return None if v is None else 100.0 * v


def render_sweep(summary: dict, tab: series.Table1) -> Group:
    """The terminal report of a sweep folder: the selection and Table 1 from it."""
    return Group(selection_table(summary), table1_table(tab))


def render(runs: Sequence[RunData], width: int = CHART_WIDTH, follow_note: str = "",
           console_width: int | None = None) -> Group:
    """The whole terminal report for ``runs``; charts are at most ``width`` characters and
    narrowed to fit ``console_width`` from 60 columns up. Inside a run's panel (4 columns of
    frame) the tables take 49 columns beside a histogram, and 42 beside the three charts of the
    activation table, 3 per chart."""
    spark = width
    if console_width:
        spark = 2 * max(4, min(width // 2, (console_width - 42) // 3))
        width = max(8, min(width, console_width - 49))
    parts: list = [Text(follow_note, style="dim")] if follow_note else []
    parts.append(summary_table(runs))
    for r in runs:
        sections: list = []
        missing: list[str] = []
        try:
            th = series.init_theory(r)
        except Unavailable as exc:
            th, missing = None, [str(exc).split(": ", 1)[-1]]
        makers = [lambda r=r: layer_charts(r, spark)]
        if th is not None:
            makers.append(lambda th=th: theory_table(th))
        makers += [lambda r=r, q=q: hist_table(r, q, width) for q in ("act", "bgrad", "wgrad")]
        makers += [lambda r=r, th=th: jacobian_table(r, spark, th)]
        for make in makers:
            try:
                sections.append(make())
            except Unavailable as exc:
                msg = str(exc).split(": ", 1)[-1]
                if msg not in missing:
                    missing.append(msg)
        if missing:
            sections.append(Text("missing: " + "; ".join(missing), style="yellow"))
        name = Text(r.path.name, style="bold", overflow="fold")
        parts.append(Panel(Group(name, *sections), title=series.run_label(r),
                           title_align="left"))
    if len(runs) > 1:
        parts.append(table1_table(series.table1(runs)))
    return Group(*parts)


def report_json(runs: Sequence[RunData]) -> dict:
    """The numbers of the terminal report, for ``--json``."""
    out = {"runs": []}
    for r in runs:
        d = series.summary(r)
        d["layers"] = series.layer_table(r)
        try:
            e, m, s = series.jacobian(r)
            d["jacobian"] = {"steps": e.tolist(), "sv_mean": m.tolist(), "sv_std": s.tolist()}
        except Unavailable:
            d["jacobian"] = None
        try:
            e, v = series.error_curve(r, "test")
            d["test_error_curve"] = {"examples_seen": e.tolist(), "error_percent": v.tolist()}
        except Unavailable:
            d["test_error_curve"] = None
        try:
            d["theory_at_init"] = series.init_theory(r).to_json()
        except Unavailable:
            d["theory_at_init"] = None
        out["runs"].append(d)
    out["table1"] = series.table1(runs).to_json()
    return out
