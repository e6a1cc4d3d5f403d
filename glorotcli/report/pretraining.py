"""``glorot report`` for pre-training files (``glorot pretrain``): how each hidden layer's
denoising auto-encoder learned, in the terminal, as JSON and as one figure.

The numbers are the file's log (``glorotcli.stats.runlog.pretrained``): per layer, the mean
reconstruction cost of the corrupted training inputs over each log interval (``train_cost``)
and the clean reconstruction cost of the held-out examples (``valid_cost``), both per example,
summed over the inputs (``glorotcli.nn.dae``; Vincent et al. 2008, the pre-training of the
paper's Fig. 11). A layer's x axis is its own update count: layers are trained one after another.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter
from rich.console import Group
from rich.table import Table
from rich.text import Text

from glorotcli.stats.runlog.pretrained import PretrainData, pretrain_info, read_pretrain

FIGURE_NAME = "pretraining"
"""The figure's file name, without suffix: ``DIR/pretraining.png``."""


def load(paths: Sequence[str | os.PathLike]) -> list[PretrainData]:
    """The pre-training files ``paths``, read (``read_pretrain``). Raises GlorotError as it."""
    return [read_pretrain(p) for p in paths]


def summary(data: PretrainData) -> dict:
    """A JSON-ready summary: ``pretrain_info`` (settings, progress, per layer its updates and
    first and last held-out cost), each layer also with its log series ``step``,
    ``train_cost`` and ``valid_cost`` (lists; NaN as None)."""
    info = pretrain_info(data.path)
    for layer in info["layers"]:
        rows = data.layer_log(layer["layer"])
        layer["series"] = {k: [_finite(v) for v in rows[k].tolist()]
                           for k in ("step", "train_cost", "valid_cost")}
    return info


def _finite(v: float) -> float | None:
    return None if isinstance(v, float) and not math.isfinite(v) else v


def _cost(v: float) -> str:
    return f"{v:.4g}" if math.isfinite(v) else "-"


def _spread(values: np.ndarray, width: int) -> np.ndarray:
    """At most ``width`` points of a series, evenly spread and always the first and the last
    (a cost curve's fall is at its start)."""
    n = len(values)
    if n <= width:
        return values
    return values[np.unique(np.linspace(0, n - 1, width).round().astype(int))]


def _steps_per_layer(d: PretrainData) -> int:
    return int(d.config.get("steps_per_layer", 0))


def render(datas: Sequence[PretrainData], width: int = 48, console_width: int = 100) -> Group:
    """One table per file: for every hidden layer its updates, held-out reconstruction cost at
    the first and last row and as a chart of at most ``width`` characters (fewer when the
    other columns need the room of a ``console_width``-column terminal), and the last training
    cost."""
    from glorotcli.report.terminal import sparkline

    width = max(8, min(width, console_width - 56))
    parts = []
    for d in datas:
        choices = d.attrs.get("choices", "")
        parts.append(Text(f"{d.path}: pre-training {d.live_status}, "
                          f"{'-'.join(str(n) for n in d.sizes)} {d.attrs.get('activation')}, "
                          f"{d.layers_done} of {d.depth} layers done", style="bold"))
        table = Table(show_edge=False)
        for name in ("layer", "updates", "held-out cost", "first → last", "train cost"):
            table.add_column(name, justify="left" if name == "held-out cost" else "right",
                             no_wrap=True)
        for k in range(1, d.depth + 1):
            rows = d.layer_log(k)
            v, t = rows["valid_cost"], rows["train_cost"]
            if not len(v):
                table.add_row(str(k), "0", "", "not started", "-")
                continue
            fin = v[np.isfinite(v)]
            lo, hi = (float(fin.min()), float(fin.max())) if len(fin) else (0.0, 1.0)
            chart = sparkline(_spread(v, width), lo, hi)
            last_train = t[np.isfinite(t)]
            table.add_row(str(k), f"{int(rows['step'][-1]):,}", chart,
                          f"{_cost(float(v[0]))} → {_cost(float(v[-1]))}",
                          _cost(float(last_train[-1])) if len(last_train) else "-")
        parts.append(table)
        if d.live_status != "finished" and d.checkpoint_step >= 0:
            parts.append(Text(f"  {d.live_status}: checkpoint at update {d.checkpoint_step:,} "
                              f"of {d.depth * _steps_per_layer(d):,}; the table shows logged rows",
                              style="dim"))
        if '"corruption"' in choices:
            c = json.loads(choices)
            parts.append(Text(f"  masking noise {c['corruption']:g}; cost per example, summed "
                              "over inputs; held-out: clean\n", style="dim"))
    return Group(*parts)


def figure(datas: Sequence[PretrainData]) -> Figure:
    """One panel per hidden layer: the held-out reconstruction cost (solid) and the training
    cost of corrupted inputs (dashed) against the layer's own updates, one colour per file.
    Lines carry the gid ``valid-F-K`` / ``train-F-K`` (file F from 0, layer K from 1)."""
    from glorotcli.report.figures import SIZE, _finish, _new, _run_colour, count_text

    depth = max(d.depth for d in datas)
    cols = min(depth, 3)
    rows = math.ceil(depth / cols)
    fig, axes = _new((SIZE[0], max(SIZE[1] - 0.5, 3.0 * rows + 1.0)), nrows=rows, ncols=cols)
    for k in range(1, depth + 1):
        ax = axes[k - 1]
        for f, d in enumerate(datas):
            if k > d.depth:
                continue
            r = d.layer_log(k)
            colour = _run_colour(f, len(datas))
            name = Path(d.path).stem if len(datas) > 1 else "held-out (clean)"
            ax.plot(r["step"], r["valid_cost"], color=colour, lw=1.4, gid=f"valid-{f}-{k}",
                    label=name)
            ax.plot(r["step"], r["train_cost"], color=colour, lw=1.0, ls="--", alpha=0.7,
                    gid=f"train-{f}-{k}", label="training (corrupted)" if len(datas) == 1
                    else None)
        ax.set_title(f"Layer {k}", fontsize=9)
        ax.set_xlabel("updates of this layer", fontsize=8)
        if (k - 1) % cols == 0:
            ax.set_ylabel("reconstruction cost\nper example", fontsize=8)
        ax.xaxis.set_major_formatter(FuncFormatter(count_text))
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
        if k == 1:
            ax.legend(fontsize=7, frameon=False)
    for ax in axes[depth:]:
        ax.set_visible(False)
    names = ", ".join(str(d.path) for d in datas)
    return _finish(fig, "Denoising auto-encoder pre-training, layer after layer "
                        "(solid: held-out, clean; dashed: training, corrupted)",
                   f"glorot pretrain; {names}")


def write_figure(datas: Sequence[PretrainData], outdir: str | os.PathLike, *,
                 force: bool = False, formats: Sequence[str] = ("png",)) -> list[Path]:
    """Draw ``figure`` into ``outdir`` (created if missing) as ``pretraining.png`` (and
    ``.pdf``); returns the paths. Raises GlorotError, before writing anything, for an
    ``outdir`` that is a file, an existing figure file without ``force``, or a folder that
    cannot be made."""
    from glorotcli.report.figures import figure_folder, save

    targets = [Path(outdir) / f"{FIGURE_NAME}.{ext}" for ext in formats]
    figure_folder(outdir, targets, force=force)
    fig = figure(datas)
    return [save(fig, t, force=force) for t in targets]
