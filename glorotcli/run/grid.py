"""A sweep's grid: which training configurations it holds, and the name of each run file.

A grid is a union of *blocks*; each block is the Cartesian product of its axes (every setting
of ``glorot train`` may be an axis: a list of values, or one value). The paper's Table 1 needs
the union: its five rows (Sigmoid, Tanh, Tanh N, Softsign, Softsign N) are not a product of
activations and inits, and each data set may have its own budget.

Data on an axis is one of:

- ``"online"``: fresh Shapeset-3x2 every step (``glorot train --online``);
- a dataset *kind* (``"mnist"``, ``"cifar10"``, ``"shapeset"``): resolved to the ``--data``
  file of that kind given on the command line (recipes name kinds, not paths);
- a path to a dataset file.

Names. A run file is named from its configuration alone, never from the grid around it, so a
changed grid finds the runs it shares with the old one::

    {data}-{activation}-{init}-d{depth}-w{width}-lr{lr}[-b{batch}][-s{seed}][-{cost}]...

``data`` is ``online`` or the dataset file's stem; settings at their defaults are left out
beyond the first six fields. Settings that ``glorot train --resume`` may change (the length,
threads, the checkpoint interval, the data file's location) are not in the name: a longer
budget extends the same run.

Pre-training. A block with ``pretrain = true`` fine-tunes its networks from a pre-training by
denoising auto-encoders (``glorot pretrain``) of the same network (data, activation, init,
depth, width, seed, dtype, input scale), made by the sweep itself into the folder as
``pretrain-{data}-{activation}-{init}-d{depth}-w{width}[...].h5`` and shared by every learning
rate; its settings come from the recipe's ``[pretrain]`` table. Such runs carry ``init_from``
(the pre-training file's absolute path) and end their names in ``-pre``.
"""

from __future__ import annotations

import dataclasses
import itertools
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from glorotcli.config import FLAGS, PretrainConfig, TrainConfig, fmt_lr
from glorotcli.errors import GlorotError

RESUMABLE = ("data", "steps", "epochs", "threads", "checkpoint_seconds")
"""Settings a resumed run may change (``glorot train --resume``); they are not in run names."""

DATA_KINDS = ("shapeset", "mnist", "cifar10")
"""Dataset kinds a recipe may name instead of a file (resolved from the ``--data`` files)."""

ONLINE = "online"

_FIELDS = {f.name: f for f in dataclasses.fields(TrainConfig)}
AXES = tuple(k for k in _FIELDS if k not in ("online",)) + ("pretrain",)
"""Keys a grid block may set: every ``TrainConfig`` field (``data`` takes ``"online"`` too),
and ``pretrain`` (true: fine-tune from a pre-training the sweep makes; see above)."""

PRETRAIN_SHARED = ("data", "online", "activation", "init", "depth", "width", "seed", "threads",
                   "dtype", "input_scale")
"""Settings a pre-training takes from the network it is made for."""
PRETRAIN_OWN = ("corruption", "steps_per_layer", "lr", "log_every", "eval_size",
                "checkpoint_seconds")
"""Settings of a recipe's ``[pretrain]`` table (``glorot pretrain``'s own options)."""

_DEFAULT = TrainConfig()
# Name parts for settings beyond the six that are always there: (field, prefix or formatter).
_EXTRA_NAME = (
    ("batch_size", lambda v: f"b{v}"),
    ("seed", lambda v: f"s{v}"),
    ("cost", str),
    ("dtype", lambda v: "f64" if v == "float64" else str(v)),
    ("input_scale", lambda v: "pm1" if v == "-1,1" else "in" + re.sub(r"\W", "", str(v))),
    ("init_from", lambda v: "pre"),
)


@dataclass(frozen=True)
class PretrainRun:
    """A pre-training a sweep makes: its file name (without ``.h5``) and its settings."""

    name: str
    config: PretrainConfig


@dataclass(frozen=True)
class GridRun:
    """One configuration of a grid: its run-file name (without ``.h5``) and its settings;
    ``pretrain``: the pre-training it starts from (``config.init_from`` is its file)."""

    name: str
    config: TrainConfig
    pretrain: PretrainRun | None = None

    @property
    def network(self) -> tuple:
        """What the paper selects a learning rate for: everything but the rate and the
        resumable settings (activation x init x depth x width x data x ...)."""
        return network_key(self.config, self.data_tag)

    @property
    def data_tag(self) -> str:
        return self.name.split("-", 1)[0]


def data_tag(config: TrainConfig) -> str:
    """``online`` or the dataset file's stem, made safe for a file name."""
    if config.online:
        return ONLINE
    stem = Path(str(config.data)).stem
    return re.sub(r"[^A-Za-z0-9_.]+", "_", stem) or "data"


def run_name(config: TrainConfig) -> str:
    """The run file's name (without ``.h5``) for ``config``; see the module docstring."""
    parts = [data_tag(config), config.activation, config.init, f"d{config.depth}",
             f"w{config.width}", f"lr{fmt_lr(config.lr)}"]
    for key, fmt in _EXTRA_NAME:
        value = getattr(config, key)
        if value != getattr(_DEFAULT, key):
            parts.append(fmt(value))
    return "-".join(parts)


def pretrain_name(config: PretrainConfig) -> str:
    """The pre-training file's name (without ``.h5``): ``pretrain-`` and the network's part of
    a run name, then the pre-training settings that differ from ``glorot pretrain``'s
    defaults (``spl`` steps per layer, ``plr`` rate, ``c`` corruption)."""
    net = TrainConfig(**{k: getattr(config, k) for k in PRETRAIN_SHARED})
    parts = ["pretrain", data_tag(net), net.activation, net.init, f"d{net.depth}",
             f"w{net.width}"]
    for key, fmt in _EXTRA_NAME:
        if key in PRETRAIN_SHARED and getattr(net, key) != getattr(_DEFAULT, key):
            parts.append(fmt(getattr(net, key)))
    default = PretrainConfig()
    for key, fmt in (("steps_per_layer", lambda v: f"spl{v}"),
                     ("lr", lambda v: f"plr{fmt_lr(v)}"), ("corruption", lambda v: f"c{v:g}")):
        if getattr(config, key) != getattr(default, key):
            parts.append(fmt(getattr(config, key)))
    return "-".join(parts)


def pretrainings(runs: Iterable[GridRun]) -> list[PretrainRun]:
    """The pre-trainings the grid's runs start from, each once, in order."""
    out: dict[str, PretrainRun] = {}
    for r in runs:
        if r.pretrain is not None:
            out.setdefault(r.pretrain.name, r.pretrain)
    return list(out.values())


def network_key(config: TrainConfig, tag: str | None = None) -> tuple:
    """Hashable identity of the network a learning rate is selected for."""
    d = config.to_dict()
    for k in (*RESUMABLE, "lr", "online"):
        d.pop(k, None)
    return (tag or data_tag(config),) + tuple(sorted(d.items()))


CUT_TO_DATA = ("probe_size", "jacobian_examples", "eval_size")
"""Sizes a run cuts to what its data has (``train.fit_to_data``): a stored value smaller than
the asked one is the same setting."""


def differing_settings(stored: TrainConfig, wanted: TrainConfig) -> list[str]:
    """Settings (as flags) in which a run's stored configuration differs from the wanted one,
    ignoring the resumable ones, sizes that were cut to the data, and the folder of a sweep's
    pre-training file (``init_from``: the file's name comes from its settings, so a sweep
    folder that was moved or copied still matches)."""
    out = []
    for k in _FIELDS:
        a, b = getattr(stored, k), getattr(wanted, k)
        if k in RESUMABLE or a == b:
            continue
        if k in CUT_TO_DATA and a is not None and (b is None or a < b):
            continue
        if k == "init_from" and a and b and Path(a).name == Path(b).name:
            continue  # a sweep's pre-training, named from its settings: the folder moved
        out.append(FLAGS.get(k, k))
    return out


# ------------------------------------------------------------------------ expansion ----

def _as_list(key: str, value, where: str) -> list:
    values = list(value) if isinstance(value, list | tuple) else [value]
    if not values:
        raise GlorotError(f"{where}: {key} is an empty list")
    return values


def _coerce(key: str, value, where: str):
    """A grid value checked against the type of the ``TrainConfig`` field it sets."""
    if key == "pretrain":
        if not isinstance(value, bool):
            raise GlorotError(f"{where}: pretrain must be true or false, got {value!r}")
        return value
    if key == "data":
        if not isinstance(value, str) or not value:
            raise GlorotError(f"{where}: data must be 'online', a dataset kind "
                              f"({', '.join(DATA_KINDS)}) or a file path, got {value!r}")
        return value
    default = getattr(_DEFAULT, key)
    ftype = _FIELDS[key].type
    if value is None and "None" in str(ftype):
        return None
    want_int = (isinstance(default, int) and not isinstance(default, bool)) or \
        ftype in ("int | None",)
    want_float = isinstance(default, float) or ftype in ("float | None",)
    if want_float and isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if want_int and isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(default, str) and isinstance(value, str):
        return value
    kind = "an integer" if want_int else "a number" if want_float else "a string"
    raise GlorotError(f"{where}: {key} must be {kind}, got {value!r}")


def expand_block(block: Mapping, where: str) -> list[dict]:
    """The settings dicts of one block: the product of its list-valued axes, in the order the
    keys appear (the last key varies fastest)."""
    unknown = sorted(set(block) - set(AXES))
    if unknown:
        raise GlorotError(f"{where}: unknown setting {unknown[0]!r} (settings are the long "
                          f"names of glorot train's options with '_' for '-', e.g. batch_size)")
    if "data" not in block:
        raise GlorotError(f"{where}: no data: give data = 'online', a dataset kind or a file")
    keys = list(block)
    values = [[_coerce(k, v, where) for v in _as_list(k, block[k], where)] for k in keys]
    return [dict(zip(keys, combo, strict=True)) for combo in itertools.product(*values)]


def resolve_data(value: str, files: Mapping[str, str], where: str) -> dict:
    """``{"online": True}`` or ``{"data": path}`` for a data axis value; ``files`` maps a
    dataset kind to the ``--data`` file of that kind."""
    if value == ONLINE:
        return {"online": True, "data": None}
    if value in DATA_KINDS:
        if value not in files:
            raise MissingData(value, where)
        return {"online": False, "data": files[value]}
    return {"online": False, "data": value}


class MissingData(GlorotError):
    """A recipe names a dataset kind that no ``--data`` file provides."""

    def __init__(self, kind: str, where: str) -> None:
        hint = {"mnist": "glorot import mnist DIR -o mnist.h5",
                "cifar10": "glorot import cifar10 DIR -o cifar10.h5",
                "shapeset": "glorot gen-data shapeset -o shapeset.h5"}[kind]
        super().__init__(f"{where} needs a {kind} dataset file: make one with `{hint}` and "
                         f"pass --data FILE (or leave it out with --skip-data {kind})")
        self.kind = kind


def expand(blocks: Sequence[Mapping], files: Mapping[str, str] | None = None, *,
           overrides: Mapping | None = None, skip_data: Iterable[str] = (),
           where: str = "grid", pretrain: Mapping | None = None,
           folder: Path | None = None) -> list[GridRun]:
    """Every configuration of the union of ``blocks``, each once, in order.

    ``overrides`` replace a key in every block (command-line flags given with a recipe);
    ``skip_data`` drops blocks whose data is one of those kinds. Runs of a block with
    ``pretrain = true`` start from the pre-training file in ``folder`` (made absolute; the
    current folder by default) whose
    settings are the network's and ``pretrain`` (a recipe's ``[pretrain]`` table). Raises
    GlorotError naming the block and key for a bad value or a configuration ``glorot train``
    or ``glorot pretrain`` would refuse.
    """
    files = dict(files or {})
    skip = set(skip_data)
    runs: dict[str, GridRun] = {}
    for k, block in enumerate(blocks):
        here = f"{where}, block {k + 1}" if len(blocks) > 1 else where
        merged = dict(block)
        merged.update(overrides or {})
        for combo in expand_block(merged, here):
            data_value = combo.pop("data")
            if data_value in skip:
                continue
            combo.update(resolve_data(data_value, files, here))
            pre = None
            if combo.pop("pretrain", False):
                pre = _pretraining(combo, pretrain or {}, here)
                combo["init_from"] = str(Path(folder or ".").resolve() / f"{pre.name}.h5")
            try:
                config = TrainConfig(**combo).validate()
            except GlorotError as exc:
                raise GlorotError(f"{here}: {exc}") from None
            run = GridRun(run_name(config), config, pre)
            old = runs.get(run.name)
            if old is not None and old.config != config:
                diff = differing_settings(old.config, config) or ["--steps/--epochs"]
                raise GlorotError(f"{here}: two configurations share the run name {run.name} "
                                  f"but differ in {', '.join(diff)}")
            runs.setdefault(run.name, run)
    if not runs:
        raise GlorotError(f"{where}: the grid is empty")
    return list(runs.values())


def _pretraining(combo: Mapping, settings: Mapping, where: str) -> PretrainRun:
    """The pre-training of the network ``combo`` describes, with ``settings`` (a recipe's
    ``[pretrain]`` table)."""
    unknown = sorted(set(settings) - set(PRETRAIN_OWN))
    if unknown:
        raise GlorotError(f"{where}: unknown pre-training setting {unknown[0]!r} (a [pretrain] "
                          f"table takes {', '.join(PRETRAIN_OWN)})")
    shared = {k: combo[k] for k in PRETRAIN_SHARED if k in combo}
    try:
        config = PretrainConfig(**shared, **settings).validate()
    except (GlorotError, TypeError) as exc:
        raise GlorotError(f"{where}: pre-training: {exc}") from None
    return PretrainRun(pretrain_name(config), config)
