"""Turning run files into the numbers the reports draw.

``load_runs`` is the only function here that touches files (through ``read_run``); everything
else takes a ``RunData`` (or plain arrays) and returns NumPy arrays or plain dicts, so it is easy
to test on small run files made in a test.

Units: training time in mini-batch updates (steps), a budget also as a share of the paper's
2.5 M updates (``paper_share``); error curves in percent against examples seen; histograms as
densities (``density``).
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from glorotcli.config import PAPER_UPDATES, fmt_lr
from glorotcli.errors import GlorotError
from glorotcli.report import paper
from glorotcli.stats.runlog import RunData, read_run


class Unavailable(Exception):
    """A run lacks what a number or figure needs; the message says what is missing. Not a
    GlorotError: reports catch it and leave the figure or number out."""


def load_runs(paths: Iterable[str | os.PathLike]) -> list[RunData]:
    """Read each run file (SWMR, so also while it is being written): a list of ``RunData`` in
    the order given. Raises GlorotError as ``read_run`` for the first unreadable file."""
    return [read_run(p) for p in paths]


# ------------------------------------------------------------------------ units ----

PAPER_M = f"{PAPER_UPDATES / 1e6:g} M"
"""The paper's budget as text: "2.5 M" (updates)."""


def paper_share(steps: float) -> float:
    """Updates as a percentage (0..100 and beyond, not a fraction) of the paper's budget
    (``PAPER_UPDATES``, 2.5 M updates, the length of its Figs. 11-12 curves)."""
    return 100.0 * float(steps) / PAPER_UPDATES


def share_text(steps: float) -> str:
    """``paper_share`` as text with two significant digits: "0.06 %", "1.6 %", "24 %", "100 %"."""
    pct = paper_share(steps)
    return f"{pct:.0f} %" if pct >= 10 else f"{pct:.2g} %"


def budget_text(steps: int) -> str:
    """"40,000 updates (1.6 % of the paper's 2.5 M updates)"."""
    return f"{steps:,} updates ({share_text(steps)} of the paper's {PAPER_M} updates)"


def plural(n: int, word: str) -> str:
    """"1 probe", "2 probes", "1,000 updates"."""
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def bin_centers(edges: np.ndarray) -> np.ndarray:
    """Midpoints (B,) float64 of the B bins between ``edges`` (B+1,)."""
    e = np.asarray(edges, dtype=np.float64)
    return 0.5 * (e[1:] + e[:-1])


def density(hist: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Fractions per bin (..., B) -> a density (same shape, float64, per unit of the value)
    over the histogram's range ``edges`` (B+1,) that integrates to 1 (values off the scale are
    left out; ``off_scale`` says how many): the paper's figures show densities (Figs. 4, 6-8).
    All-zero rows stay 0."""
    h = np.asarray(hist, dtype=np.float64)
    width = np.diff(np.asarray(edges, dtype=np.float64))
    total = h.sum(axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        d = np.where(total > 0, h / np.where(total > 0, total, 1.0) / width, 0.0)
    return d


def off_scale(hist: np.ndarray) -> np.ndarray:
    """Fraction (0..1, float64) of values that fell outside the histogram edges, per row:
    1 - the row sum of ``hist`` (..., B), clipped to [0, 1]; shape (...)."""
    return np.clip(1.0 - np.asarray(hist, dtype=np.float64).sum(axis=-1), 0.0, 1.0)


# ------------------------------------------------------------------ run identity ----

def run_name(run: RunData) -> str:
    """The run file's name without its folder and suffix."""
    return run.path.stem


def config(run: RunData) -> dict:
    """The settings a report shows, with fallbacks to the root attributes: activation, init,
    depth (hidden layers), width (units, or a sorted list when the widths differ),
    batch_size (examples), lr, cost (default "nll"), seed, data (``data_kind``); None where
    unknown."""
    c = run.config
    n_hidden = run.n_hidden or c.get("depth")
    widths = sorted(set(run.sizes[1:-1])) if run.sizes else [c.get("width")]
    return {
        "activation": c.get("activation") or run.attrs.get("activation"),
        "init": c.get("init") or run.attrs.get("init"),
        "depth": n_hidden,
        "width": widths[0] if len(widths) == 1 else widths,
        "batch_size": c.get("batch_size"),
        "lr": c.get("lr"),
        "cost": c.get("cost", "nll"),
        "seed": c.get("seed", run.attrs.get("seed")),
        "data": data_kind(run),
    }


def data_kind(run: RunData) -> str | None:
    """The data set's kind as a Table-1 column ("shapeset", "mnist", "cifar10"): online
    Shapeset runs ("shapeset-online") and Shapeset files both count as "shapeset"."""
    kind = run.dataset.get("kind")
    if not kind and run.config.get("online"):
        kind = "shapeset"
    if kind and str(kind).startswith("shapeset"):
        kind = "shapeset"
    return kind


def data_label(run: RunData) -> str:
    """The data set as a reader knows it: "Shapeset-3x2 (online)", "MNIST", ..."""
    kind = data_kind(run)
    label = paper.DATASET_LABELS.get(kind, str(kind))
    if kind == "shapeset" and (run.config.get("online") or
                               run.dataset.get("kind") == "shapeset-online"):
        label += " (online)"
    return label


def data_source(run: RunData) -> str:
    """Where a run's data came from, in a few characters: "online" or the data file's name."""
    path = run.dataset.get("path")
    if run.config.get("online") or run.dataset.get("kind") == "shapeset-online" or not path:
        return "online" if run.config.get("online") else "data file unknown"
    return Path(path).name


def pretrained(run: RunData) -> bool:
    """Whether the run started from pre-trained hidden layers (``glorot train --init-from``)."""
    return bool(run.config.get("init_from")) or "pretrained" in run.attrs


def run_label(run: RunData, *, with_depth: bool = False) -> str:
    """The paper's name of the run ("Tanh N", N for the normalized init as in Table 1 and
    Fig. 11; "Pre-training (Sigmoid)" for a run started from pre-trained hidden layers, Fig.
    11's name), with the depth when asked or when it is not 5, and the cost when it is not the
    paper's negative log-likelihood (§2.3)."""
    c = config(run)
    label = paper.row_label(c["activation"], c["init"])
    if pretrained(run):
        label = f"{paper.PRETRAINING_LABEL} ({label})"
    if with_depth or (c["depth"] not in (None, paper.TABLE1_DEPTH)):
        label += f" depth {c['depth']}"
    if c["cost"] not in (None, "nll"):
        label += f" ({c['cost']})"
    return label


def unique_labels(runs: Sequence[RunData], *, with_depth: bool = False) -> list[str]:
    """``run_label`` of each run, with the file name added where two runs share a label."""
    labels = [run_label(r, with_depth=with_depth) for r in runs]
    return [f"{lab} ({r.path.stem})" if labels.count(lab) > 1 else lab
            for lab, r in zip(labels, runs, strict=True)]


def lr_text(lr) -> str:
    """A run's learning rate as every report shows it (``fmt_lr``), "-" when unknown."""
    return "-" if lr is None else fmt_lr(lr)


def source_note(runs: Sequence[RunData]) -> str:
    """One line naming the source runs and their settings, for a figure's small print."""
    parts = []
    for r in runs:
        c = config(r)
        steps = int(r.log["step"][-1]) if len(r.log.get("step", ())) else 0
        parts.append(f"{r.path.name}: {c['activation']}/{c['init']} {c['depth']}x{c['width']} "
                     f"bs {c['batch_size']} lr {lr_text(c['lr'])} seed {c['seed']} "
                     f"{data_label(r)} {plural(steps, 'update')}")
    return "; ".join(parts)


# ---------------------------------------------------------------- layer series ----

def require_layers(run: RunData, q: str = "act", stat: str | None = None) -> None:
    """Raise Unavailable unless the run has at least one row of per-layer ``q`` statistics
    (with ``stat``, a name of ``STATS`` or "hist")."""
    if q not in run.layers or not len(run.layer_step):
        what = "no per-layer statistics (/layers)" if not run.layers else f"no /layers/{q} rows"
        raise Unavailable(f"{run.path.name}: {what}")
    if stat is not None and stat not in run.layers[q]:
        raise Unavailable(f"{run.path.name}: no /layers/{q}/{stat}")


def layer_stat(run: RunData, q: str, stat: str) -> tuple[np.ndarray, np.ndarray]:
    """(updates (M,) int64, values (M, L) float64) of one per-layer statistic over training:
    row m was probed after ``updates[m]`` mini-batch updates; column i is the paper's Layer
    i+1. Raises Unavailable when the run has no such statistic."""
    require_layers(run, q, stat)
    return (np.asarray(run.layer_step, dtype=np.int64),
            np.asarray(run.layers[q][stat], dtype=np.float64))


@dataclass
class HistSnapshot:
    """Per-layer histograms of one quantity at one probe row, as densities: ``step`` the
    updates done, ``centers`` (B,) and ``edges`` (B+1,) float64, ``density`` (L, B) float64
    (per unit of the value), ``off_scale`` (L,) the fraction of values outside the edges."""

    step: int
    centers: np.ndarray      # (B,)
    edges: np.ndarray        # (B+1,)
    density: np.ndarray      # (L, B), each row integrates to 1 over the edges
    off_scale: np.ndarray    # (L,)


def hist_at(run: RunData, q: str, which: str = "last") -> HistSnapshot:
    """Histograms of quantity ``q`` at initialization (``which="init"``, needs a probe row at
    step 0; the paper's Figs. 6-8) or at the last probe row (``"last"``), as a
    ``HistSnapshot``. Raises Unavailable when the run lacks the histograms, their edges or a
    step-0 row; ValueError for another ``which``."""
    require_layers(run, q, "hist")
    if q not in run.edges:
        raise Unavailable(f"{run.path.name}: /layers/{q}/hist has no edges")
    if which == "init":
        idx = np.flatnonzero(run.layer_step == 0)
        if not len(idx):
            raise Unavailable(f"{run.path.name}: no probe row at step 0 (initialization)")
        i = int(idx[0])
    elif which == "last":
        i = len(run.layer_step) - 1
    else:
        raise ValueError(f"which must be 'init' or 'last', got {which!r}")
    h = np.asarray(run.layers[q]["hist"][i], dtype=np.float64)
    e = run.edges[q]
    return HistSnapshot(step=int(run.layer_step[i]), centers=bin_centers(e), edges=e,
                        density=density(h, e), off_scale=off_scale(h))


def stat_at(run: RunData, q: str, stat: str, which: str = "last") -> np.ndarray:
    """(L,) float64 values of statistic ``stat`` of quantity ``q`` at initialization
    (``which="init"``, the probe row at step 0) or at the last probe row (any other
    ``which``). Raises Unavailable when the run lacks them or a step-0 row."""
    if which not in ("init", "last"):
        raise ValueError(f"which must be 'init' or 'last', got {which!r}")
    require_layers(run, q, stat)
    if which == "init":
        idx = np.flatnonzero(run.layer_step == 0)
        if not len(idx):
            raise Unavailable(f"{run.path.name}: no probe row at step 0 (initialization)")
        return np.asarray(run.layers[q][stat][int(idx[0])])
    return np.asarray(run.layers[q][stat][-1])


def jacobian(run: RunData) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(updates (J,) int64, sv_mean (J, L-1), sv_std (J, L-1) float64) of the layer-to-layer
    Jacobians J^i = dz^{i+1}/dz^i (§4.2.2): the mean and std of their singular values per
    measurement and layer pair. Raises Unavailable when none was measured."""
    jac = run.jacobian
    if not jac or not len(jac.get("step", ())):
        raise Unavailable(f"{run.path.name}: no Jacobian singular values (/layers/jacobian)")
    return (np.asarray(jac["step"], dtype=np.int64), np.asarray(jac["sv_mean"]),
            np.asarray(jac["sv_std"]))


# ------------------------------------------------------- theory beside measurement ----

@dataclass(frozen=True)
class InitTheory:
    """Step-0 statistics of a run, measured and predicted (``glorotcli.stats.theory``), per
    hidden layer (L,) or layer pair (L-1,): each dict maps a name of ``THEORY_KEYS`` (the stds
    of activations, back-propagated and weight gradients, the mean Jacobian singular value) to
    a list of floats (an empty list where the run measured no step-0 Jacobian).
    ``paper_act_std`` is the paper's Fig. 6 reading (tanh, 5 layers) or None."""

    measured: dict[str, list[float]]
    mean_field: dict[str, list[float]]
    linear: dict[str, list[float]]
    paper_act_std: list[float] | None

    def to_json(self) -> dict:
        """{"measured": ..., "predicted": {"mean_field": ..., "linear": ...},
        "paper_act_std": ...}, JSON-ready."""
        return {"measured": self.measured, "predicted": {"mean_field": self.mean_field,
                                                          "linear": self.linear},
                "paper_act_std": self.paper_act_std}


THEORY_KEYS = ("act_std", "bgrad_std", "wgrad_std", "jacobian_mean_sv")
"""What the reports set beside the measurement at step 0, as the theory module names it."""


def init_theory(run: RunData) -> InitTheory:
    """The run's step-0 probe statistics beside the mean-field and linear-regime predictions for
    its network, initialisation and probe inputs (Poole et al. 2016; the paper's eqs. 5-7,
    §4.2.1). Raises Unavailable without a step-0 probe row or stored probe inputs, or when the
    theory module refuses the configuration."""
    from glorotcli.data.pixels import scale_inputs
    from glorotcli.stats import theory

    if run.probe_x is None or not run.sizes:
        raise Unavailable(f"{run.path.name}: no probe inputs to predict from")
    c = config(run)
    measured = {f"{q}_std": stat_at(run, q, "std", "init").tolist()
                for q in ("act", "bgrad", "wgrad")}
    try:
        steps, sv_mean, _ = jacobian(run)
        measured["jacobian_mean_sv"] = sv_mean[0].tolist() if steps[0] == 0 else []
    except Unavailable:
        measured["jacobian_mean_sv"] = []
    x = scale_inputs(np.asarray(run.probe_x).reshape(len(run.probe_x), -1), np.float64,
                     run.config.get("input_scale", "0,1"))
    try:
        pred = theory.predict(run.sizes, c["activation"], c["init"],
                              theory.input_second_moments(x), cost=c["cost"] or "nll",
                              jacobian_examples=run.config.get("jacobian_examples"))
    except GlorotError as exc:
        raise Unavailable(f"{run.path.name}: no prediction ({exc})") from None
    pick = {k: {q: pred[k][q] for q in THEORY_KEYS} for k in ("mean_field", "linear")}
    ref = paper.FIG6_STD_INIT.get(c["init"]) if c["activation"] == "tanh" else None
    if ref is not None and len(ref) != run.n_hidden:
        ref = None
    return InitTheory(measured, pick["mean_field"], pick["linear"],
                      None if ref is None else list(ref))


# ---------------------------------------------------------------- error curves ----

def error_curve(run: RunData, split: str = "test") -> tuple[np.ndarray, np.ndarray]:
    """(examples seen (n,) float64, error (n,) float64 in percent 0..100) at the rows where the
    ``split`` ("test" or "valid") error was evaluated: the axes of the paper's Figs. 11-12.
    Raises Unavailable when it never was."""
    key = f"{split}_error"
    e = np.asarray(run.log.get(key, np.zeros(0)), dtype=np.float64)
    x = np.asarray(run.log.get("examples_seen", np.zeros(len(e))), dtype=np.float64)
    ok = np.isfinite(e)
    if not ok.any():
        raise Unavailable(f"{run.path.name}: no {split} error in /log")
    return x[ok], percent(e[ok])


def percent(fraction):
    """A fraction as a percentage, rounded to 10 decimals so that 0.916 prints as 91.6 in JSON
    and not 91.60000000000001 (float or array)."""
    return np.round(100.0 * np.asarray(fraction, dtype=np.float64), 10) if isinstance(
        fraction, np.ndarray) else round(100.0 * float(fraction), 10)


def _last_finite(a: np.ndarray | None) -> float | None:
    if a is None:
        return None
    a = np.asarray(a, dtype=np.float64)
    idx = np.flatnonzero(np.isfinite(a))
    return float(a[idx[-1]]) if len(idx) else None


def final_test_error(run: RunData) -> float | None:
    """The last evaluated test error in percent (0..100; Table 1's "final" error, our reading:
    docs/choices.md, 'What "final" error means'), or None."""
    v = _last_finite(run.log.get("test_error"))
    return None if v is None else percent(v)


@dataclass(frozen=True)
class Baseline:
    """The majority-class baseline: the test error (percent, 0..100) of a net that always
    answers the training data's most frequent class, and how it was obtained (``basis``, for a
    caption)."""

    error: float
    basis: str


_LABELS: dict[tuple, dict[str, np.ndarray] | None] = {}


def _labels(path: str) -> dict[str, np.ndarray] | None:
    """The labels of a dataset file's splits (cached per file version), None if unreadable."""
    from glorotcli.data.store import read_labels

    p = Path(path)
    try:
        st = p.stat()
    except OSError:
        return None
    key = (str(p.resolve()), st.st_mtime_ns, st.st_size)
    if key not in _LABELS:
        try:
            _LABELS[key] = read_labels(p)
        except GlorotError:
            _LABELS[key] = None
    return _LABELS[key]


def majority_baseline(run: RunData) -> Baseline | None:
    """The majority-class baseline of a run's data, or None when nothing tells it.

    The class is the *training* data's most frequent one (what a net that learnt only the class
    prior answers), scored on the test split. In order:

    1. the run's dataset file, when it is still at the recorded path: the training split's
       most frequent class, scored on the file's test split;
    2. Shapeset-3x2 (online, or its file is gone): the generator's most frequent classes, the
       three one-shape classes at 1/6 each, so the error is 5/6 (83.3 %; the paper's depth-5
       sigmoid, 82.61 % in Table 1, is at chance);
    3. otherwise the ``majority_error`` the run file recorded, which is the test split's own
       most frequent class (slightly optimistic), and the basis says so.
    """
    path = run.dataset.get("path")
    labels = _labels(path) if path else None
    if labels and len(labels.get("train", ())) and len(labels.get("test", ())):
        train, test = labels["train"], labels["test"]
        k = int(np.bincount(train).argmax())
        names = run.dataset.get("class_names") or []
        name = f" ({names[k]})" if k < len(names) and names[k] != str(k) else ""
        return Baseline(percent(float(np.mean(test != k))),
                        f"always answering the training split's most frequent class, "
                        f"{k}{name}, scored on the test split of {Path(path).name}")
    if data_kind(run) == "shapeset":
        return Baseline(percent(paper.MAJORITY_ERROR_SHAPESET),
                        "always answering one of Shapeset-3x2's most frequent classes (each "
                        "one-shape class is 1/6 of the generator's images)")
    v = run.dataset.get("majority_error")
    if v is None:
        return None
    return Baseline(percent(float(v)), "always answering the test split's own most frequent "
                                       "class, as the run file recorded it (its data file "
                                       "was not found)")


def majority_error(run: RunData) -> float | None:
    """``majority_baseline(run).error`` in percent (0..100), or None."""
    b = majority_baseline(run)
    return None if b is None else b.error


def summary(run: RunData) -> dict:
    """The per-run numbers of the report's summary table (JSON-ready): ``steps`` (updates),
    ``paper_budget_percent`` (percent of the paper's 2.5 M updates), ``examples_seen``,
    ``train_loss`` (the last finite mean training cost), ``valid_error``, ``test_error``,
    ``majority_error`` and ``paper_test_error`` in percent (0..100; the last errors, not the
    best), and what the file holds or lacks."""
    log = run.log
    step = log.get("step", np.zeros(0))
    c = config(run)
    kind = c["data"]
    measured = final_test_error(run)
    paper_value = (paper.paper_test_error(c["activation"], c["init"], kind)
                   if c["depth"] == paper.TABLE1_DEPTH and c["cost"] in (None, "nll")
                   and not pretrained(run) else None)  # Table 1 has no pre-trained row
    steps = int(step[-1]) if len(step) else 0
    base = majority_baseline(run)
    return {
        "path": str(run.path),
        "label": run_label(run),
        "status": run.live_status,
        "config": c,
        "steps": steps,
        "paper_budget_percent": round(paper_share(steps), 10),
        "examples_seen": (int(log["examples_seen"][-1])
                          if len(step) and len(log.get("examples_seen", ())) else 0),
        "train_loss": _last_finite(log.get("train_loss")),
        "valid_error": _pct(_last_finite(log.get("valid_error"))),
        "test_error": measured,
        "majority_error": None if base is None else base.error,
        "majority_basis": None if base is None else base.basis,
        "paper_test_error": paper_value,
        "probe_rows": int(len(run.layer_step)),
        "jacobian_rows": int(len(run.jacobian.get("step", ()))) if run.jacobian else 0,
        "missing": list(run.missing),
    }


def _pct(v: float | None) -> float | None:
    return None if v is None else percent(v)


def layer_table(run: RunData) -> dict:
    """Per-layer statistics at initialization and at the last probe (JSON-ready): {q: {"init":
    {stat: [L floats], "step": 0}, "last": {...}}} for mean, std, p2, p98 and sat (a fraction),
    leaving out what the run lacks."""
    out: dict = {}
    for q in run.layers:
        row: dict = {}
        for which in ("init", "last"):
            try:
                row[which] = {s: stat_at(run, q, s, which).tolist()
                              for s in ("mean", "std", "p2", "p98", "sat")
                              if s in run.layers[q]}
                row[which]["step"] = (0 if which == "init" else int(run.layer_step[-1]))
            except Unavailable:
                continue
        out[q] = row
    return out


# ------------------------------------------------------------------------ Table 1 ----

@dataclass
class Cell:
    """One Table-1 cell: the measured final test errors (%) of the runs placed there, and the
    paper's value when the configuration is the paper's."""

    measured: list[float] = field(default_factory=list)
    runs: list[str] = field(default_factory=list)
    paper: float | None = None
    lr: float | None = None
    """The selected learning rate (Table 1 from a sweep), else None."""

    @property
    def mean(self) -> float | None:
        """The mean of ``measured`` (percent), or None when no run is placed here."""
        return float(np.mean(self.measured)) if self.measured else None


@dataclass
class Table1:
    """The paper's Table 1 (test errors in percent) with the measured cells: ``rows`` the row
    labels (``run_label``), ``cols`` the data kinds, ``cells`` (row, col) -> ``Cell`` for
    every pair, ``unplaced`` why some runs have no cell."""

    rows: list[str]
    cols: list[str]
    cells: dict[tuple[str, str], Cell]
    unplaced: list[str]
    budget: dict[str, int] = field(default_factory=dict)
    """Most updates of any run placed in each column (the budget the table is measured at)."""
    measure: str = "final test error"
    shortest: dict[str, int] = field(default_factory=dict)
    """Fewest updates of any run placed in each column (the column's runs differ in length
    when it differs from ``budget``)."""

    def _updates(self, col: str) -> tuple[str, str]:
        """("1,500 updates", "0.06 %"), or a range when the column's runs differ in length."""
        most, least = self.budget[col], self.shortest.get(col, self.budget[col])
        if least == most:
            return f"{most:,} updates", share_text(most)
        return (f"{least:,} to {most:,} updates",
                f"{share_text(least).split()[0]} to {share_text(most)}")

    def column_label(self, col: str, sep: str = ", ") -> str:
        """"MNIST" or, with a budget, "MNIST, 60,000 updates (2.4 %)" (``sep`` between)."""
        label = paper.DATASET_LABELS.get(col, col)
        if not self.budget.get(col):
            return label
        updates, share = self._updates(col)
        return f"{label}{sep}{updates} ({share})"

    def budget_note(self) -> str:
        """"after 60,000 updates on MNIST and 20,000 on Shapeset-3x2 (2.4 % and 0.8 % of the
        paper's 2.5 M)", or "" when no column has a budget."""
        cols = [c for c in self.cols if self.budget.get(c)]
        if not cols:
            return ""
        steps = [self.budget[c] for c in cols]
        if all(s >= PAPER_UPDATES for s in steps):
            return f"after the paper's {PAPER_M} updates"
        texts = [self._updates(c) for c in cols]
        parts = " and ".join(f"{u} on {paper.DATASET_LABELS.get(c, c)}"
                             for (u, _), c in zip(texts, cols, strict=True))
        shares = " and ".join(share for _, share in texts)
        return f"after {parts} ({shares} of the paper's {PAPER_M} updates)"

    def to_json(self) -> dict:
        """JSON-ready: the measure, rows, column labels, budgets (updates), the paper's budget,
        every cell (measured mean and each value, in percent; the paper's value; the selected
        rate) and the unplaced runs."""
        return {
            "measure": self.measure,
            "rows": self.rows,
            "columns": [paper.DATASET_LABELS.get(c, c) for c in self.cols],
            "budget_updates": {paper.DATASET_LABELS.get(c, c): v for c, v in
                               self.budget.items()},
            "paper_updates": PAPER_UPDATES,
            "cells": [{"row": r, "column": paper.DATASET_LABELS.get(c, c), "measured": cell.mean,
                       "measured_each": cell.measured, "runs": cell.runs, "paper": cell.paper,
                       "lr": cell.lr}
                      for (r, c), cell in self.cells.items()],
            "unplaced": self.unplaced,
        }


def table1_key(run: RunData) -> tuple[str, str] | None:
    """(row label, data kind) of the Table-1 cell a run belongs in, or None (no data kind)."""
    c = config(run)
    if not c["data"] or not c["activation"]:
        return None
    return run_label(run), c["data"]


def table1(runs: Sequence[RunData]) -> Table1:
    """Place each run's final test error (percent) in its Table-1 cell: row = activation +
    init (plus depth/cost when they differ from the paper's), column = data kind. The paper's
    5 rows and 3 data sets are always present, with its values; rows and columns of other
    configurations are added. Runs without a test error or a data kind go to ``unplaced``."""
    rows = [paper.row_label(a, i) for a, i in paper.TABLE1_ROWS]
    cols = ["shapeset", "mnist", "cifar10"]
    cells: dict[tuple[str, str], Cell] = {}
    for (a, i), vals in paper.TABLE1.items():
        for kind in cols:
            cells[(paper.row_label(a, i), kind)] = Cell(paper=vals.get(kind))
    unplaced = []
    budget: dict[str, int] = {}
    shortest: dict[str, int] = {}
    for run in runs:
        key = table1_key(run)
        err = final_test_error(run)
        if key is None or err is None:
            unplaced.append(f"{run.path.name}: " + ("no test error yet" if err is None
                                                    else "unknown data set"))
            continue
        row, kind = key
        if row not in rows:
            rows.append(row)
        if kind not in cols:
            cols.append(kind)
        cell = cells.setdefault((row, kind), Cell())
        cell.measured.append(err)
        cell.runs.append(run.path.name)
        budget[kind] = max(budget.get(kind, 0), _last_step(run))
        shortest[kind] = min(shortest.get(kind, budget[kind]), _last_step(run))
    ordered = {(r, c): cells.get((r, c), Cell()) for r in rows for c in cols}
    return Table1(rows=rows, cols=cols, cells=ordered, unplaced=unplaced, budget=budget,
                  shortest=shortest)


def _last_step(run: RunData) -> int:
    step = run.log.get("step", np.zeros(0))
    return int(step[-1]) if len(step) else 0


def table1_from_sweep(summary: dict, runs: dict[str, RunData]) -> Table1:
    """Table 1 from a sweep's learning-rate selection (``glorotcli.run.sweep``): each cell is
    the selected run's test error at its best validation step, with the selected rate.
    ``runs`` maps run names to the selected runs' data (for their data-set kind). The
    summary's ``test_error`` (a fraction) is shown in percent; ``steps`` sets the budgets."""
    tab = table1([])
    tab.measure = "test error at the best validation step, learning rate selected on validation"
    for net in summary.get("networks", []):
        name = net.get("selected")
        if name is None or name not in runs or net.get("test_error") is None:
            tab.unplaced.append(f"{net.get('network')}: {net.get('reason')}")
            continue
        run = runs[name]
        key = table1_key(run)
        if key is None:
            tab.unplaced.append(f"{run.path.name}: unknown data set")
            continue
        row, kind = key
        if row not in tab.rows:
            tab.rows.append(row)
        if kind not in tab.cols:
            tab.cols.append(kind)
        cell = tab.cells.setdefault((row, kind), Cell())
        cell.measured.append(percent(float(net["test_error"])))
        cell.runs.append(run.path.name)
        cell.lr = net.get("lr")
        steps = int(net.get("steps") or 0)
        tab.budget[kind] = max(tab.budget.get(kind, 0), steps)
        tab.shortest[kind] = min(tab.shortest.get(kind, steps), steps)
    tab.cells = {(r, c): tab.cells.get((r, c), Cell()) for r in tab.rows for c in tab.cols}
    return tab


def fmt(v: float | None, digits: int = 2) -> str:
    """A number for a table with ``digits`` decimals: '-' for None/NaN."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    return f"{v:.{digits}f}"
