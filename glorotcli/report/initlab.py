"""The initialisation lab (``glorot init-lab``): what does this init do to this net, measured
beside predicted, before training anything.

``run_lab(settings)`` builds the network (``glorotcli.nn.init.init_mlp``, biases 0), feeds it
probe examples (a dataset's, as ``glorot train`` picks them, or synthetic inputs of a stated
second moment), measures what the run files record at step 0 (``stats.probes.measure``,
``stats.jacobian.jacobian_singular_values``) and sets beside it the predictions of
``stats.theory``: the paper's linear regime (eqs. 5-7) and the mean field. ``LabResult`` gives
the numbers as JSON (``to_json``, documented in docs/formats.md), as terminal tables
(``render``) and as figures (``write_figures``: the paper's Figs. 6-8 for this net with the
predicted histograms overlaid, the per-layer stds, and the Jacobians).

Randomness: ``SeedSequence(seed).spawn(3)`` gives the initial weights, the synthetic inputs and
labels, and the samples that draw the predicted histograms, in that order.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from glorotcli.config import ACTIVATIONS, DTYPES, INITS, INPUT_SCALES
from glorotcli.errors import GlorotError
from glorotcli.nn.init import init_mlp
from glorotcli.nn.mlp import MLP, act, act_grad, forward
from glorotcli.progress import Progress, no_progress
from glorotcli.stats import probes, theory
from glorotcli.stats.jacobian import jacobian_singular_values

INPUTS = ("gaussian", "uniform")
"""Synthetic inputs: iid N(0, m) or U[-a, a] with a = sqrt(3 m), m the stated E[x^2]."""
DEFAULT_DEPTH, DEFAULT_WIDTH = 5, 1000  # the paper's networks
DEFAULT_MOMENT = 1.0
DEFAULT_EXAMPLES = 300  # the paper's probe set (§3)
DEFAULT_JACOBIAN_EXAMPLES = 2
MAX_HIST_LAYERS = 6
"""Histograms draw at most this many layers (the first, the last and some between)."""
_MODEL_SAMPLES = 200_000  # values drawn per layer for a predicted histogram
_ACT_BINS = 100


@dataclass(frozen=True)
class LabSettings:
    """What ``glorot init-lab`` was asked. ``widths`` (n_0, hidden..., K) wins over
    ``depth``/``width``; without it the input and output sizes come from ``data`` or are
    Shapeset-3x2's (1024, 9). ``inputs`` and ``input_moment`` apply without ``data`` only."""

    activation: str = "tanh"
    init: str = "normalized"
    depth: int | None = None
    width: int | None = None
    widths: tuple[int, ...] | None = None
    data: str | None = None
    input_scale: str | None = None
    inputs: str | None = None
    input_moment: float | None = None
    examples: int = DEFAULT_EXAMPLES
    jacobian_examples: int = DEFAULT_JACOBIAN_EXAMPLES
    seed: int = 0
    dtype: str = "float32"

    def validate(self) -> LabSettings:
        """Raise GlorotError, naming the flag, for anything out of range or contradictory."""
        for value, choices, flag in ((self.activation, ACTIVATIONS, "--activation"),
                                     (self.init, INITS, "--init"),
                                     (self.input_scale or "0,1", INPUT_SCALES,
                                      "--input-scale"),
                                     (self.dtype, DTYPES, "--dtype")):
            if value not in choices:
                raise GlorotError(f"{flag} must be one of {', '.join(choices)}, got {value!r}")
        if self.inputs is not None and self.inputs not in INPUTS:
            raise GlorotError(f"--inputs must be one of {', '.join(INPUTS)}, got "
                              f"{self.inputs!r}")
        if self.widths is not None and (self.depth is not None or self.width is not None):
            raise GlorotError("give --widths, or --depth/--width, not both")
        for flag, v in (("--depth", self.depth), ("--width", self.width)):
            if v is not None and v < 1:
                raise GlorotError(f"{flag} must be at least 1, got {v}")
        if self.widths is not None:
            w = self.widths
            if len(w) < 3 or min(w) < 1 or w[-1] < 2:
                raise GlorotError("--widths must list the inputs, at least one hidden layer "
                                  "and the classes (at least 2), all >= 1, e.g. "
                                  f"784,1000,500,10; got {','.join(map(str, w))}")
        if self.data is None and self.input_scale is not None:
            raise GlorotError("--input-scale scales the pixels of --data; synthetic inputs "
                              "take --input-moment instead")
        if self.data is not None and (self.inputs is not None or self.input_moment is not None):
            raise GlorotError("--inputs and --input-moment describe synthetic inputs; leave "
                              "them out with --data")
        if self.input_moment is not None and not (math.isfinite(self.input_moment)
                                                  and self.input_moment > 0):
            raise GlorotError(f"--input-moment must be a positive number, got "
                              f"{self.input_moment}")
        if self.examples < 1:
            raise GlorotError(f"--examples must be at least 1, got {self.examples}")
        if self.jacobian_examples < 0:
            raise GlorotError(f"--jacobian-examples must be 0 or more, got "
                              f"{self.jacobian_examples}")
        if self.seed < 0:
            raise GlorotError(f"--seed must be 0 or more, got {self.seed}")
        return self


def parse_widths(text: str) -> tuple[int, ...]:
    """``"784,1000,500,10"`` -> (784, 1000, 500, 10); GlorotError naming --widths otherwise."""
    try:
        return tuple(int(t) for t in text.replace(" ", "").split(","))
    except ValueError:
        raise GlorotError(f"--widths must be integers separated by commas, e.g. "
                          f"784,1000,500,10; got {text!r}") from None


@dataclass
class Inputs:
    """The probe examples: ``x`` (E, n_0) scaled floats, ``y`` (E,) int64 labels, the number
    of classes, and a JSON-ready description of where they came from."""

    x: np.ndarray
    y: np.ndarray
    n_classes: int
    about: dict


def lab_inputs(s: LabSettings, n_inputs: int, n_classes: int,
               rng: np.random.Generator) -> Inputs:
    """Synthetic probe examples (``s.inputs``, ``s.input_moment``) for a net with
    ``n_inputs`` inputs and ``n_classes`` classes; labels uniform over the classes (at
    initialisation they matter only through the output delta, E[p_y] = 1/K)."""
    kind = s.inputs or "gaussian"
    m = DEFAULT_MOMENT if s.input_moment is None else float(s.input_moment)
    dtype = np.dtype(s.dtype)
    if kind == "gaussian":
        x = rng.standard_normal((s.examples, n_inputs)) * math.sqrt(m)
    else:
        a = math.sqrt(3.0 * m)
        x = rng.uniform(-a, a, (s.examples, n_inputs))
    y = rng.integers(0, n_classes, s.examples)
    return Inputs(x.astype(dtype), y.astype(np.int64), n_classes,
                  {"source": kind, "stated_second_moment": m})


def data_inputs(s: LabSettings) -> Inputs:
    """The first ``s.examples`` examples of the dataset's test split (else valid, else train),
    as ``glorot train`` picks its probes, scaled by ``s.input_scale``."""
    from glorotcli.data.pixels import scale_inputs
    from glorotcli.data.store import read_dataset

    head = read_dataset(s.data, splits=())
    split = next((n for n in ("test", "valid", "train") if head.sizes.get(n)), None)
    if split is None:
        raise GlorotError(f"{s.data}: has no examples in any split")
    ds = read_dataset(s.data, splits=(split,))
    sp = ds.splits[split]
    n = min(s.examples, len(sp))
    scale = s.input_scale or "0,1"
    x = scale_inputs(sp.x[:n], np.dtype(s.dtype).type, scale)
    return Inputs(x, sp.y[:n].astype(np.int64), ds.n_classes,
                  {"source": "data", "data": str(Path(s.data)), "kind": ds.kind,
                   "split": split, "input_scale": scale})


def network_widths(s: LabSettings, n_inputs: int, n_classes: int) -> tuple[int, ...]:
    """The layer sizes (n_0, hidden..., K) the settings ask for, checked against the inputs."""
    if s.widths is not None:
        w = tuple(s.widths)
        if s.data is not None and (w[0], w[-1]) != (n_inputs, n_classes):
            raise GlorotError(f"--widths {','.join(map(str, w))} does not fit {s.data}: its "
                              f"examples have {n_inputs} inputs and {n_classes} classes")
        return w
    depth = DEFAULT_DEPTH if s.depth is None else s.depth
    width = DEFAULT_WIDTH if s.width is None else s.width
    return (n_inputs,) + (width,) * depth + (n_classes,)


def shapeset_sizes() -> tuple[int, int]:
    """Inputs and classes of Shapeset-3x2 (32 x 32 pixels, 9 classes): the synthetic default."""
    from glorotcli.data import shapeset

    return shapeset.SIZE * shapeset.SIZE, len(shapeset.CLASS_NAMES)


# --------------------------------------------------------------------------- the lab ----

@dataclass
class Measured:
    """Step-0 measurements. Per hidden layer (L,): ``act_mean``, ``act_std``, ``bgrad_std``,
    ``wgrad_std``, ``sat`` (fraction of saturated activations). Per pair (L-1,):
    ``jacobian_mean_sv``, ``jacobian_ms`` (mean squared singular value; empty without
    Jacobians). ``output_delta_sq``: mean over examples of sum_c (p_c - onehot(y)_c)^2."""

    act_mean: np.ndarray
    act_std: np.ndarray
    bgrad_std: np.ndarray
    wgrad_std: np.ndarray
    sat: np.ndarray
    jacobian_mean_sv: np.ndarray
    jacobian_ms: np.ndarray
    output_delta_sq: float
    loss: float


@dataclass
class LabResult:
    """One lab: the settings, the net and its probe examples, what was measured and what the
    theory predicts (``mean_field``, ``linear``: ``stats.theory.Prediction``)."""

    settings: LabSettings
    widths: tuple[int, ...]
    net: MLP
    inputs: Inputs
    measured: Measured
    mean_field: theory.Prediction
    linear: theory.Prediction
    jacobian_examples: int
    seeds: list = field(default_factory=list)

    @property
    def n_hidden(self) -> int:
        return len(self.widths) - 2

    def label(self) -> str:
        """"tanh, normalized init, 1024-1000x5-9"."""
        return f"{self.settings.activation}, {self.settings.init} init, {shape_text(self.widths)}"

    def to_json(self) -> dict:
        """The lab as JSON (docs/formats.md, "Init-lab JSON")."""
        m = self.measured
        second = theory.input_second_moments(self.inputs.x)
        v = theory.weight_variances(self.widths, self.settings.init)
        layers = [{"layer": j + 1, "fan_in": self.widths[j], "units": self.widths[j + 1],
                   "weight_var": float(v[j]), "n_var_w": float(self.widths[j] * v[j])}
                  for j in range(self.n_hidden)]
        return {
            "network": {"widths": list(self.widths), "activation": self.settings.activation,
                        "init": self.settings.init, "dtype": self.settings.dtype,
                        "seed": self.settings.seed,
                        "output_weight_var": float(v[-1])},
            "inputs": dict(self.inputs.about, examples=len(self.inputs.y),
                           second_moment=float(second.mean()),
                           second_moment_range=[float(second.min()), float(second.max())],
                           jacobian_examples=self.jacobian_examples),
            "layers": layers,
            "measured": {
                "act_mean": _lst(m.act_mean), "act_std": _lst(m.act_std),
                "bgrad_std": _lst(m.bgrad_std), "wgrad_std": _lst(m.wgrad_std),
                "sat": _lst(m.sat), "jacobian_mean_sv": _lst(m.jacobian_mean_sv),
                "jacobian_ms": _lst(m.jacobian_ms), "output_delta_sq": _num(m.output_delta_sq),
                "loss": _num(m.loss)},
            "predicted": {"linear": self.linear.to_json(),
                          "mean_field": self.mean_field.to_json()},
        }


def run_lab(settings: LabSettings, progress: Progress = no_progress) -> LabResult:
    """Build the net, measure it at step 0 and predict the same statistics (module docstring).
    Raises GlorotError for bad settings or a bad dataset file. ``progress`` hears the
    Jacobians (``("jacobians", done, total)``), the slow part of a deep net."""
    s = settings.validate()
    init_seed, input_seed, _ = np.random.SeedSequence(s.seed).spawn(3)
    if s.data is not None:
        inp = data_inputs(s)
        n_in = inp.x.shape[1]
    else:
        n_in, k = (s.widths[0], s.widths[-1]) if s.widths is not None else shapeset_sizes()
        inp = lab_inputs(s, n_in, k, np.random.default_rng(input_seed))
    widths = network_widths(s, n_in, inp.n_classes)
    net = init_mlp(widths, s.activation, s.init, np.random.default_rng(init_seed),
                   np.dtype(s.dtype))
    x, y = inp.x, inp.y
    r = probes.measure(net, x, y, cost="nll", lr=0.0,
                       edges=probes.default_edges(s.activation, init=s.init))
    L = len(widths) - 2
    J = min(s.jacobian_examples, len(y)) if L >= 2 else 0
    sv_mean = sv_ms = np.zeros(0)
    if J:
        progress("jacobians", 0, J)
        means, mss = [], []
        for e in range(J):  # one example at a time, so a deep net shows progress
            m_, sd_, _ = jacobian_singular_values(net, x[e:e + 1], n_examples=1)
            means.append(m_)
            mss.append(sd_ ** 2 + m_ ** 2)
            progress("jacobians", e + 1, J)
        sv_mean, sv_ms = np.mean(means, axis=0), np.mean(mss, axis=0)
    p = forward(net, x).p.astype(np.float64)
    d = p.copy()
    d[np.arange(len(y)), y] -= 1.0
    measured = Measured(
        act_mean=r.stats["act"]["mean"], act_std=r.stats["act"]["std"],
        bgrad_std=r.stats["bgrad"]["std"], wgrad_std=r.stats["wgrad"]["std"],
        sat=r.stats["act"]["sat"], jacobian_mean_sv=sv_mean, jacobian_ms=sv_ms,
        output_delta_sq=float(np.mean((d * d).sum(axis=1))), loss=float(r.loss))
    v = theory.weight_variances(widths, s.init)
    m2 = theory.input_second_moments(x)
    mf = theory.mean_field(widths, s.activation, v, m2, jacobian_examples=max(J, 1))
    lin = theory.linear_regime(widths, v, m2)
    return LabResult(s, widths, net, inp, measured, mf, lin, J)


def shape_text(widths) -> str:
    """"1024-1000x5-9" for equal hidden widths, else "784-1000-500-10"."""
    hidden = widths[1:-1]
    if len(set(hidden)) == 1:
        return f"{widths[0]}-{hidden[0]}x{len(hidden)}-{widths[-1]}"
    return "-".join(map(str, widths))


def _num(v) -> float | None:
    v = float(v)
    return v if math.isfinite(v) else None


def _lst(a) -> list:
    return [_num(v) for v in np.asarray(a, dtype=np.float64).ravel()]


# ------------------------------------------------------------------------ terminal ----

def verdict(result: LabResult) -> str:
    """One sentence on where the net sits between order and chaos (Poole et al. 2016;
    Schoenholz et al. 2017): chi = n Var[W] E[f'^2], the mean squared singular value of each
    layer-to-layer Jacobian, is the factor by which the back-propagated gradient variance
    changes per layer going down; its product over the pairs, predicted beside measured."""
    ms = result.mean_field.jacobian_ms
    L = result.n_hidden
    if not len(ms):
        return "one hidden layer: no Jacobian between hidden layers"
    chi = float(np.exp(np.mean(np.log(np.maximum(ms, 1e-300)))))
    phase = ("ordered, chi < 1" if chi < 0.99 else "chaotic, chi > 1" if chi > 1.01
             else "at the edge of chaos, chi = 1")

    def down(b):  # variance ratio of dC/ds, layer 1 over layer L
        return float((b[0] / b[-1]) ** 2) if b[-1] > 0 else float("nan")

    return (f"chi = n Var[W] E[f'^2] (mean squared singular value of dz^(j+1)/dz^j): "
            f"geometric mean {chi:.3g} over "
            f"{'the one pair' if L == 2 else f'the {L - 1} pairs'} ({phase}). Back-propagated "
            f"gradient variance from layer {L} down to layer 1: "
            f"x{down(result.mean_field.bgrad_std):.3g} predicted, "
            f"x{down(result.measured.bgrad_std):.3g} measured.")


def render(result: LabResult):
    """Rich renderables, narrow enough for 80 columns: per layer measured beside the mean
    field, the paper's linear regime (eqs. 5-7), the Jacobians, the output delta and the
    verdict."""
    from rich import box
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    m, mf, lin = result.measured, result.mean_field, result.linear

    def table(title: str, *columns: str) -> Table:
        t = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False,
                  padding=(0, 0, 0, 1), header_style="bold")
        for c in columns:
            t.add_column(c, justify="right")
        return t

    t = table(f"{result.label()}, step 0, {len(result.inputs.y)} examples. Stds and "
              "saturated fraction: measured, (mean field)", "layer", "nVar[W]", "act", "(MF)",
              "bgrad", "(MF)", "wgrad", "(MF)", "sat", "(MF)")
    for j in range(result.n_hidden):
        t.add_row(str(j + 1), f"{mf.n_var_w[j]:.3g}", *_pair(m.act_std[j], mf.act_std[j]),
                  *_pair(m.bgrad_std[j], mf.bgrad_std[j]),
                  *_pair(m.wgrad_std[j], mf.wgrad_std[j]), f"{m.sat[j]:.1%}",
                  f"{mf.sat[j]:.1%}")
    lt = table("the paper's linear regime (eqs. 5-7): std", "layer", "act (eq. 5)",
               "bgrad (eq. 6)", "wgrad (eq. 7)")
    for j in range(result.n_hidden):
        lt.add_row(str(j + 1), *(f"{v:.3g}" for v in (lin.act_std[j], lin.bgrad_std[j],
                                                     lin.wgrad_std[j])))
    parts = [t, lt]
    if len(m.jacobian_mean_sv):
        jt = table(f"Jacobians dz^(j+1)/dz^j ({result.jacobian_examples} example(s)): mean "
                   "singular value; chi = mean squared singular value", "pair", "measured",
                   "mean field", "iid", "linear", "chi", "(MF)")
        for j in range(len(m.jacobian_mean_sv)):
            jt.add_row(f"{j + 1}->{j + 2}", f"{m.jacobian_mean_sv[j]:.3f}",
                       f"{mf.jacobian_mean_sv[j]:.3f}", f"{mf.jacobian_mean_sv_iid[j]:.3f}",
                       f"{lin.jacobian_mean_sv[j]:.3f}", f"{m.jacobian_ms[j]:.3g}",
                       f"{mf.jacobian_ms[j]:.3g}")
        parts.append(jt)
    parts.append(Text(f"Output delta E[sum (p - y)^2]: measured {m.output_delta_sq:.4g}, "
                      f"predicted {float(mf.delta_sq.mean()):.4g} (1 - 1/K = "
                      f"{1 - 1 / result.widths[-1]:.4g} if the logits were 0)."))
    parts.append(Text(verdict(result)))
    return Group(*parts)


def _pair(a: float, b: float) -> tuple[str, str]:
    return f"{a:.3g}", f"{b:.3g}"


# ------------------------------------------------------------------------- figures ----

FIGURES = ("stds", "act_hist", "bgrad_hist", "wgrad_hist", "jacobian")
"""The figures ``write_figures`` draws, as file-name suffixes (the Jacobian one only with at
least two hidden layers and measured Jacobians)."""


def figure_paths(settings: LabSettings, widths: tuple[int, ...], outdir: str | os.PathLike
                 ) -> list[Path]:
    """Where ``write_figures`` writes: ``DIR/<activation>-<init>-<shape>_<figure>.png``."""
    stem = f"{settings.activation}-{settings.init}-{shape_text(widths)}"
    jac = len(widths) >= 4 and settings.jacobian_examples > 0
    return [Path(outdir) / f"{stem}_{name}.png" for name in FIGURES
            if name != "jacobian" or jac]


def check_figure_folder(settings: LabSettings, outdir: str | os.PathLike, force: bool) -> None:
    """Before any work: GlorotError if ``outdir`` is a file, or holds one of the figures the
    lab would write and ``force`` is off. Reads only the dataset's header."""
    from glorotcli.report import figures

    s = settings.validate()
    if s.data is not None:
        from glorotcli.data.store import read_dataset

        head = read_dataset(s.data, splits=())
        n_in, k = head.input_size, head.n_classes
    else:
        n_in, k = (s.widths[0], s.widths[-1]) if s.widths is not None else shapeset_sizes()
    figures.figure_folder(outdir, figure_paths(s, network_widths(s, n_in, k), outdir),
                          force=force, create=False)


def write_figures(result: LabResult, outdir: str | os.PathLike, *, force: bool = False
                  ) -> list[Path]:
    """Draw the lab's figures into ``outdir`` (created if missing) and return their paths.
    Refuses, before drawing anything, to overwrite an existing file unless ``force``."""
    from glorotcli.report import figures

    outdir = Path(outdir)
    paths = figure_paths(result.settings, result.widths, outdir)
    if not len(result.measured.jacobian_mean_sv):
        paths = [p for p in paths if not p.stem.endswith("_jacobian")]
    figures.figure_folder(outdir, paths, force=force)
    hist = histograms(result)
    made = {"stds": lambda: fig_stds(result),
            "act_hist": lambda: fig_hist(result, hist["act"], 6),
            "bgrad_hist": lambda: fig_hist(result, hist["bgrad"], 7),
            "wgrad_hist": lambda: fig_hist(result, hist["wgrad"], 8),
            "jacobian": lambda: fig_jacobian(result)}
    for p in paths:
        figures.save(made[_figure_name(p)](), p, force=force)
    return paths


def _figure_name(path: Path) -> str:
    return next(f for f in FIGURES if path.stem.endswith("_" + f))


@dataclass
class LayerHist:
    """Measured and predicted histograms of one quantity for the drawn layers: ``layers``
    (1-based), ``centers`` (B,), ``measured``/``predicted`` (n, B) densities (per unit of
    value, or per decade of |value| when ``log``)."""

    q: str
    layers: list[int]
    centers: np.ndarray
    measured: np.ndarray
    predicted: np.ndarray
    log: bool


def drawn_layers(L: int) -> list[int]:
    """0-based indices of the layers a histogram draws: all when L <= MAX_HIST_LAYERS, else
    the first, the last and evenly spread ones between."""
    if L <= MAX_HIST_LAYERS:
        return list(range(L))
    return sorted(set(np.linspace(0, L - 1, MAX_HIST_LAYERS).round().astype(int).tolist()))


def histograms(result: LabResult) -> dict[str, LayerHist]:
    """Figs. 6-8 for the lab's net: each quantity measured on edges fitted to its stds (one
    more ``probes.measure``), and the mean-field model's histogram on the same edges, drawn
    from ``_MODEL_SAMPLES`` values per layer (``model_samples``)."""
    from glorotcli.report import remeasure

    s, m = result.settings, result.measured
    edges = {"act": _act_edges(s.activation, m.act_mean, m.act_std)}
    logs = {}
    for q in ("bgrad", "wgrad"):
        std = np.asarray(getattr(m, f"{q}_std"))
        if not (np.all(np.isfinite(std)) and std.min() > 0):
            raise GlorotError(f"{q} stds are not all positive and finite; cannot draw")
        if std.max() / std.min() > remeasure.LOG_SPREAD:
            edges[q], logs[q] = remeasure.fitted_edges(std)[0][0], True
        else:  # one set of edges, 3 bins per std of the narrowest layer (at most 801)
            a = 4.0 * std.max()
            n = min(801, max(101, math.ceil(2 * a / (std.min() / 3.0)) | 1))
            edges[q], logs[q] = np.linspace(-a, a, n + 1), False
    r = probes.measure(result.net, result.inputs.x, result.inputs.y, cost="nll", lr=0.0,
                       edges=edges)
    rng = np.random.default_rng(np.random.SeedSequence(s.seed).spawn(3)[2])
    layers = drawn_layers(result.n_hidden)
    out = {}
    for q in ("act", "bgrad", "wgrad"):
        e = edges[q]
        meas, pred = [], []
        for j in layers:
            model = model_samples(result, q, j, _MODEL_SAMPLES, rng)
            pf = np.histogram(model, e)[0] / len(model)
            meas.append(r.hist[q][j])
            pred.append(pf)
        centers, dm = _density(e, np.array(meas), logs.get(q, False))
        _, dp = _density(e, np.array(pred), logs.get(q, False))
        out[q] = LayerHist(q, [j + 1 for j in layers], centers, dm, dp, logs.get(q, False))
    return out


def model_samples(result: LabResult, q: str, j: int, n: int, rng: np.random.Generator
                  ) -> np.ndarray:
    """``n`` values of quantity ``q`` of hidden layer j (0-based) drawn from the mean-field
    model of the lab's net: each from a random probe example e, with s ~ N(0, q_e):
    act f(s); bgrad a_e u f'(s) with u ~ N(0, 1) and a_e^2 the variance reaching the layer
    from above; wgrad z g with z from the layer below (a pixel of example e for layer 1) and
    g a bgrad value of example e. The top hidden layer receives sum_c (p_c - y_c) W_kc, a sum
    of only K terms dominated by the label's (so not Gaussian): it is drawn as such, from
    iid N(0, q_out) logits, a random label and the init's uniform output weights."""
    mf, s = result.mean_field, result.settings
    E = len(result.inputs.y)
    e = rng.integers(0, E, n)

    def pre(layer):  # s ~ N(0, q_e) of hidden layer ``layer`` (0-based)
        return rng.standard_normal(n) * np.sqrt(mf.q[e, layer])

    def grad(layer):
        sl = pre(layer)
        fp = act_grad(s.activation, sl, act(s.activation, sl))
        if layer == result.n_hidden - 1:  # from the K outputs: p - onehot(y) through W^L
            K = result.widths[-1]
            logits = rng.standard_normal((n, K)) * np.sqrt(mf.q_out[e])[:, None]
            p = np.exp(logits - logits.max(axis=1, keepdims=True))
            p /= p.sum(axis=1, keepdims=True)
            p[np.arange(n), rng.integers(0, K, n)] -= 1.0
            b = math.sqrt(3.0 * mf.n_var_w[-1] / result.widths[-2])  # U[-b, b], b^2/3 = v_L
            return (p * rng.uniform(-b, b, (n, K))).sum(axis=1) * fp
        _, _, fp2 = theory.moments(s.activation, mf.q[:, layer])
        up = np.sqrt(np.divide(mf.bgrad_var[:, layer], fp2, out=np.zeros(E), where=fp2 > 0))
        return up[e] * rng.standard_normal(n) * fp

    if q == "act":
        return act(s.activation, pre(j))
    if q == "bgrad":
        return grad(j)
    if j == 0:
        x = np.asarray(result.inputs.x, dtype=np.float64)
        z = x[e, rng.integers(0, x.shape[1], n)]
    else:
        z = act(s.activation, pre(j - 1))
    return z * grad(j)


def _act_edges(activation: str, mean: np.ndarray, std: np.ndarray) -> np.ndarray:
    lo, hi = {"sigmoid": (0.0, 1.0), "tanh": (-1.0, 1.0), "softsign": (-1.0, 1.0)}.get(
        activation, (0.0, float(np.nanmax(mean + 5.0 * std))))  # relu: to 5 stds above
    return np.linspace(lo, hi if hi > lo else 1.0, _ACT_BINS + 1)


def _density(edges: np.ndarray, frac: np.ndarray, log: bool) -> tuple[np.ndarray, np.ndarray]:
    """Bin fractions (n, B) to densities over bin centres; for log edges (symmetric, from
    ``remeasure.fitted_edges``) the two signs are folded and the density is per decade."""
    if not log:
        return 0.5 * (edges[1:] + edges[:-1]), frac / np.diff(edges)
    k = (len(edges) - 2) // 2
    mags = edges[k + 1:]
    folded = frac[:, :k][:, ::-1] + frac[:, k + 1:]
    return np.sqrt(mags[1:] * mags[:-1]), folded / np.diff(np.log10(mags))


_Q_LABEL = {"act": "Activation value z", "bgrad": "Back-propagated gradient dC/ds",
            "wgrad": "Weight gradient dC/dW"}


def _source(result: LabResult) -> str:
    a = result.inputs.about
    src = (f"{a['data']} ({a['split']} split, scaled {a['input_scale']})" if a["source"] == "data"
           else f"{a['source']} inputs, E[x^2] = {a['stated_second_moment']:g}")
    return (f"glorot init-lab: {result.label()}, zero biases, {result.settings.dtype}, seed "
            f"{result.settings.seed}; {len(result.inputs.y)} probe examples from {src}; "
            f"mean field: Poole et al. 2016, Schoenholz et al. 2017; Jacobians: Pennington et "
            f"al. 2017; linear: the paper's eqs. 5-7")


def fig_hist(result: LabResult, h: LayerHist, figno: int):
    """Fig. 6, 7 or 8 for the lab's net: measured histograms (solid) with the mean-field
    model's (dashed), one colour per layer."""
    from matplotlib.lines import Line2D

    from glorotcli.report import figures

    fig, (ax,) = figures._new()
    for k, col in zip(range(len(h.layers)), figures.layer_colors(len(h.layers)), strict=True):
        ax.plot(h.centers, h.measured[k], color=col, lw=1.4, label=f"Layer {h.layers[k]}")
        ax.plot(h.centers, h.predicted[k], color=col, lw=1.2, ls="--")
    if h.log:
        ax.set_xscale("log")
        ax.set_xlabel(f"|{_Q_LABEL[h.q].split(' ')[-1]}| (log scale; both signs)")
        ax.set_ylabel("density per decade")
    else:
        ax.set_xlabel(_Q_LABEL[h.q])
        ax.set_ylabel("density")
    ax.set_ylim(bottom=0)
    if h.q == "act":  # saturated spikes at the ends (relu: its zeros) run off the scale
        inner = np.concatenate([h.measured[:, 2:-2], h.predicted[:, 2:-2]], axis=1)
        top = float(inner.max()) * 1.15
        peak = float(max(h.measured.max(), h.predicted.max()))
        if peak > top > 0:
            ax.set_ylim(0, top)
            ax.text(0.5, 0.97, f"spikes at the ends run off the scale (peak {peak:.1f})",
                    transform=ax.transAxes, ha="center", va="top", fontsize=8, color="0.3")
    ax.grid(alpha=0.3)
    handles, labels = ax.get_legend_handles_labels()
    handles += [Line2D([], [], color="0.3", lw=1.4), Line2D([], [], color="0.3", ls="--")]
    labels += ["measured", "mean field (predicted)"]
    ax.legend(handles, labels, fontsize=8, loc="upper right")
    what = {6: "activations", 7: "back-propagated gradients", 8: "weight gradients"}[figno]
    return figures._finish(fig, f"Fig. {figno} for {result.label()}:\n{what} at "
                                f"initialization, measured and predicted", _source(result))


def fig_stds(result: LabResult):
    """Per-layer std of activations, back-propagated and weight gradients: measured (dots),
    mean field (line), the paper's linear regime (dashed)."""
    from glorotcli.report import figures

    fig, axes = figures._new((12.0, 4.6), ncols=3)
    m, mf, lin = result.measured, result.mean_field, result.linear
    x = np.arange(1, result.n_hidden + 1)
    for ax, q in zip(axes, ("act", "bgrad", "wgrad"), strict=True):
        meas, pred, linear = (getattr(r, f"{q}_std") for r in (m, mf, lin))
        ax.plot(x, pred, color="C0", lw=1.6, label="mean field")
        ax.plot(x, linear, color="0.4", lw=1.2, ls="--", label="linear regime (eqs. 5-7)")
        ax.plot(x, meas, ls="none", marker="o", ms=4, color="C3", label="measured")
        # the y range holds the measured and mean-field values; eqs. 5-7 may leave it
        vals = np.concatenate([meas, pred])
        vals = vals[np.isfinite(vals) & (vals > 0)]
        if not len(vals):
            continue
        lo, hi = float(vals.min()), float(vals.max())
        if hi / lo > 10:
            ax.set_yscale("log")
            lo, hi = lo / 2.0, hi * 2.0
        else:
            lo, hi = 0.0, hi * 1.15
        ax.set_ylim(lo, hi)
        lv = np.asarray(linear)[np.isfinite(linear)]
        if len(lv) and (lv.min() > hi or lv.max() < lo):
            ax.text(0.98, 0.02, f"eqs. 5-7 off the scale: {lv.min():.3g} to {lv.max():.3g}",
                    transform=ax.transAxes, ha="right", va="bottom", fontsize=8, color="0.3")
        ax.set_xlabel("layer")
        ax.set_title({"act": "activations z", "bgrad": "back-propagated gradients dC/ds",
                      "wgrad": "weight gradients dC/dW"}[q], fontsize=10)
        ax.set_ylabel("std")
        ax.grid(alpha=0.3)
        if result.n_hidden <= 12:
            ax.set_xticks(x)
    axes[0].legend(fontsize=8)
    return figures._finish(fig, f"Per-layer std at initialization, {result.label()}: measured "
                                f"and predicted", _source(result))


def fig_jacobian(result: LabResult):
    """The layer-to-layer Jacobians: mean singular value (measured, mean field, an iid
    matrix of the same scale, linear regime; the paper's 0.5 and 0.8 for tanh) and the mean
    squared singular value chi against 1, the edge of chaos."""
    from glorotcli.report import figures, paper

    fig, axes = figures._new((12.0, 4.8), ncols=2)
    m, mf, lin = result.measured, result.mean_field, result.linear
    x = np.arange(1, len(m.jacobian_mean_sv) + 1)
    ax = axes[0]
    ax.plot(x, mf.jacobian_mean_sv, color="C0", lw=1.6, label="mean field (spread of f')")
    ax.plot(x, mf.jacobian_mean_sv_iid, color="C0", lw=1.0, ls=":",
            label="iid matrix of the same scale")
    ax.plot(x, lin.jacobian_mean_sv, color="0.4", lw=1.2, ls="--", label="linear regime")
    ax.plot(x, m.jacobian_mean_sv, ls="none", marker="o", ms=4, color="C3", label="measured")
    if result.settings.activation == "tanh" and result.settings.init in paper.JACOBIAN_SV_MEAN:
        ref = paper.JACOBIAN_SV_MEAN[result.settings.init]
        ax.axhline(ref, color="0.6", lw=1.0, ls="-.",
                   label=f"paper, tanh {result.settings.init}: {ref}")
    top = max(float(np.nanmax(m.jacobian_mean_sv)), float(np.nanmax(mf.jacobian_mean_sv)),
              float(np.nanmax(lin.jacobian_mean_sv)), 0.85)
    ax.set_ylim(0, 1.1 * top)
    ax.set_ylabel("mean singular value")
    ax.set_title("mean singular value of dz^(j+1)/dz^j", fontsize=10)
    ax2 = axes[1]
    ax2.plot(x, mf.jacobian_ms, color="C0", lw=1.6, label="mean field")
    ax2.plot(x, lin.jacobian_ms, color="0.4", lw=1.2, ls="--", label="linear regime")
    ax2.plot(x, m.jacobian_ms, ls="none", marker="o", ms=4, color="C3", label="measured")
    ax2.axhline(1.0, color="0.2", lw=0.8)
    ax2.set_yscale("log")
    ax2.set_ylabel("mean squared singular value chi")
    ax2.set_title("chi < 1: ordered (gradients vanish); > 1: chaotic (explode)", fontsize=10)
    for a in axes:
        a.set_xlabel("layer pair j -> j+1")
        a.grid(alpha=0.3)
        if len(x) <= 12:
            a.set_xticks(x, [f"{i}→{i + 1}" for i in x])
        a.legend(fontsize=8)
    return figures._finish(fig, f"Jacobians at initialization, {result.label()}",
                           _source(result))
