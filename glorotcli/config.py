"""Typed settings of a training run: one frozen dataclass, validated once, stored as JSON.

The CLI builds a ``TrainConfig`` from its flags; nothing else parses flags. The run file keeps
``to_json()`` in its ``config`` attribute, and ``--resume`` and the reports read it back with
``from_json``. Validation messages name the command-line flag, so a user knows what to fix.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass

from glorotcli.errors import GlorotError

ACTIVATIONS = ("sigmoid", "tanh", "softsign", "relu")
INITS = ("standard", "normalized", "he", "lecun")
COSTS = ("nll", "quadratic")
DTYPES = ("float32", "float64")
INPUT_SCALES = ("0,1", "-1,1")
UPDATES_PER_EPOCH_ONLINE = 20_000
"""The paper's "epoch" on infinite Shapeset: 20k minibatch updates (the unit of the
x axes of the paper's Figs. 2, 3, 9 and 10; see docs/training.md)."""
PAPER_UPDATES = 2_500_000
"""Length of the paper's training curves (Figs. 11-12 run to 2.5e7 examples in minibatches of
10), the budget Table 1 is compared at."""


def fmt_lr(lr: float) -> str:
    """A learning rate as every name, table, figure and message shows it (``%g``, six
    significant digits): ``0.01``, ``0.003``, ``1e-05``, ``1e+06``."""
    return f"{float(lr):g}"


# Flag that sets each field, for messages.
FLAGS = {
    "data": "--data", "online": "--online", "activation": "--activation", "init": "--init",
    "depth": "--depth", "width": "--width", "batch_size": "--batch-size", "lr": "--lr",
    "steps": "--steps", "epochs": "--epochs", "cost": "--cost", "seed": "--seed",
    "threads": "--threads", "dtype": "--dtype", "input_scale": "--input-scale",
    "probe_every": "--probe-every", "probe_size": "--probe-size", "probe_bins": "--probe-bins",
    "eval_every": "--eval-every", "eval_size": "--eval-size", "log_every": "--log-every",
    "jacobian_every": "--jacobian-every", "jacobian_examples": "--jacobian-examples",
    "online_valid_size": "--online-valid-size", "online_test_size": "--online-test-size",
    "checkpoint_seconds": "--checkpoint-seconds", "init_from": "--init-from",
}


def parse_schedule(text: str, flag: str) -> tuple[str, int]:
    """A probe or Jacobian schedule (``--probe-every``, ``--jacobian-every``; docs/training.md,
    "What is measured, and when"): ``"default"`` -> ("default", 0); ``"none"``, ``"off"`` or
    ``"0"`` -> ("none", 0); ``"N"`` -> ("every", N), N in updates. Case and surrounding spaces
    are ignored. Raises GlorotError naming ``flag`` for anything else or a negative N."""
    t = str(text).strip().lower()
    if t == "default":
        return "default", 0
    if t in ("none", "off", "0"):
        return "none", 0
    try:
        n = int(t)
    except ValueError:
        raise GlorotError(f"{flag} must be 'default', 'none' or a number of steps, "
                          f"got {text!r}") from None
    if n < 0:
        raise GlorotError(f"{flag} must be a positive number of steps, got {n}")
    return "every", n


@dataclass(frozen=True)
class TrainConfig:
    """Everything that decides a training run (the output path and --force are not part of it).

    Exactly one of ``data`` (a dataset file) and ``online`` (fresh Shapeset-3x2 every step,
    the paper's §2.1 setting). At most one of ``steps`` and ``epochs``; with neither the run
    lasts one epoch. An epoch is a pass over the training split with ``data``, and 20,000
    updates with ``online`` (the paper's time unit, the x axis of Figs. 2, 3, 9 and 10).

    Units: ``steps``, ``eval_every``, ``log_every`` in updates (minibatch SGD steps), not
    examples; ``batch_size``, ``probe_size``, ``eval_size``, ``jacobian_examples`` and the
    online set sizes in examples; ``lr`` the constant SGD rate (§2.3); ``checkpoint_seconds``
    in seconds; ``probe_every``/``jacobian_every`` schedules (``parse_schedule``). The fields
    mirror ``glorot train``'s options (``FLAGS``; docs/training.md, "Options"), the defaults
    the paper's setting where it gives one (depth 5, width 1000, batch 10, nll; §2.3) and our
    choices elsewhere (docs/choices.md). ``validate`` checks them.
    """

    data: str | None = None
    online: bool = False
    activation: str = "tanh"
    init: str = "normalized"
    depth: int = 5
    width: int = 1000
    batch_size: int = 10
    lr: float = 0.01
    steps: int | None = None
    epochs: float | None = None
    cost: str = "nll"
    seed: int = 0
    threads: int | None = None
    dtype: str = "float32"
    input_scale: str = "0,1"
    probe_every: str = "default"
    probe_size: int = 300
    probe_bins: int = 200
    eval_every: int = 5000
    eval_size: int | None = None
    log_every: int = 1000
    jacobian_every: str = "default"
    jacobian_examples: int = 20
    online_valid_size: int = 10_000
    online_test_size: int = 10_000
    checkpoint_seconds: float = 120.0
    init_from: str | None = None
    """A pre-training file (``glorot pretrain``) whose hidden layers the run starts from."""

    def validate(self) -> TrainConfig:
        """Check every field; raise GlorotError naming the flag. Returns self."""
        if (self.data is None) == (not self.online):
            raise GlorotError("give exactly one of --data FILE and --online")
        _choice(self.activation, ACTIVATIONS, "activation")
        _choice(self.init, INITS, "init")
        _choice(self.cost, COSTS, "cost")
        _choice(self.dtype, DTYPES, "dtype")
        _choice(self.input_scale, INPUT_SCALES, "input_scale")
        for name in ("depth", "width", "batch_size", "probe_bins", "log_every"):
            _at_least(self, name, 1)
        _at_least(self, "eval_every", 0)
        _at_least(self, "probe_size", 1)
        if self.steps is not None and self.epochs is not None:
            raise GlorotError("give at most one of --steps and --epochs")
        if self.steps is not None:
            _at_least(self, "steps", 1)
        if self.epochs is not None and not (_is_number(self.epochs) and self.epochs > 0):
            raise GlorotError(f"--epochs must be a positive number, got {self.epochs}")
        if not (_is_number(self.lr) and self.lr > 0 and self.lr < float("inf")):
            raise GlorotError(f"--lr must be a positive number, got {self.lr}")
        if self.threads is not None:
            _at_least(self, "threads", 1)
        if self.eval_size is not None:
            _at_least(self, "eval_size", 1)
        if not isinstance(self.seed, int) or isinstance(self.seed, bool) or self.seed < 0:
            raise GlorotError(f"--seed must be a non-negative integer, got {self.seed}")
        if self.online:
            _at_least(self, "online_valid_size", 1)
            _at_least(self, "online_test_size", 1)
        if self.jacobian_examples < 1:
            raise GlorotError(f"--jacobian-examples must be >= 1, got {self.jacobian_examples}")
        if not (_is_number(self.checkpoint_seconds) and self.checkpoint_seconds > 0):
            raise GlorotError(f"--checkpoint-seconds must be positive, got "
                              f"{self.checkpoint_seconds}")
        parse_schedule(self.probe_every, "--probe-every")
        parse_schedule(self.jacobian_every, "--jacobian-every")
        if self.init_from is not None and not (isinstance(self.init_from, str)
                                               and self.init_from):
            raise GlorotError(f"--init-from must be a file name, got {self.init_from!r}")
        return self

    @property
    def sizes_hidden(self) -> tuple[int, ...]:
        """The hidden layers' widths: ``(width,) * depth``."""
        return (self.width,) * self.depth

    def total_steps(self, n_train: int | None) -> int:
        """Number of updates the run makes (an int >= 1): ``steps``, else with E = ``epochs``
        (1 by default) round(E x 20,000) online, or ceil(round(E x n_train) / batch_size) with
        a data file; ``n_train`` is the training-split size in examples (None for online)."""
        if self.steps is not None:
            return int(self.steps)
        epochs = 1.0 if self.epochs is None else float(self.epochs)
        if n_train is None:
            return max(1, round(epochs * UPDATES_PER_EPOCH_ONLINE))
        return max(1, -(-round(epochs * n_train) // self.batch_size))

    def replace(self, **changes) -> TrainConfig:
        """A copy with ``changes`` applied (not validated; TypeError for an unknown field)."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        """Every field by name, JSON-able."""
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        """``to_dict()`` as JSON text with sorted keys (the run file's ``config`` attribute)."""
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_dict(cls, d: dict) -> TrainConfig:
        """A ``TrainConfig`` from ``to_dict()``'s output (missing fields take their defaults;
        not validated). Raises GlorotError for an unknown field (a newer glorot's)."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise GlorotError(f"unknown training settings {', '.join(unknown)} (written by a "
                              f"newer glorot?)")
        return cls(**d)

    @classmethod
    def from_json(cls, text: str) -> TrainConfig:
        """``from_dict`` of JSON ``text``. Raises GlorotError for invalid JSON, a JSON value
        that is not an object, or an unknown field."""
        try:
            d = json.loads(text)
        except json.JSONDecodeError as exc:
            raise GlorotError(f"training settings are not valid JSON ({exc})") from None
        if not isinstance(d, dict):
            raise GlorotError("training settings must be a JSON object")
        return cls.from_dict(d)


def _is_number(v) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and v == v


def _choice(value, allowed: tuple[str, ...], name: str) -> None:
    if value not in allowed:
        raise GlorotError(f"{FLAGS[name]} must be one of {', '.join(allowed)}, got {value!r}")


def _at_least(cfg: TrainConfig, name: str, low: int) -> None:
    v = getattr(cfg, name)
    if not isinstance(v, int) or isinstance(v, bool) or v < low:
        raise GlorotError(f"{FLAGS[name]} must be an integer >= {low}, got {v}")


PRETRAIN_NOISE = ("masking",)
"""Corruptions ``glorot pretrain`` knows: masking noise (Vincent et al. 2008)."""

PRETRAIN_FLAGS = {
    "data": "--data", "online": "--online", "activation": "--activation", "init": "--init",
    "depth": "--depth", "width": "--width", "seed": "--seed", "threads": "--threads",
    "dtype": "--dtype", "input_scale": "--input-scale", "corruption": "--corruption",
    "steps_per_layer": "--steps-per-layer", "lr": "--lr", "batch_size": "--batch-size",
    "noise": "noise", "log_every": "--log-every", "eval_size": "--eval-size",
    "checkpoint_seconds": "--checkpoint-seconds",
}
"""Flag that sets each ``PretrainConfig`` field, for messages."""


@dataclass(frozen=True)
class PretrainConfig:
    """Everything that decides a pre-training (not the output path). The network fields mean
    what they mean for ``glorot train`` (``TrainConfig``); the others:

    ``corruption``: fraction (0..1, not percent) of each example's inputs set to 0 (masking
    noise, Vincent et al. 2008); ``noise``: the corruption kind (``PRETRAIN_NOISE``);
    ``steps_per_layer``: SGD updates per layer; ``lr``: the constant rate; ``batch_size``:
    examples per update; ``log_every``: updates between log rows (each also measures the clean
    reconstruction error of the first ``eval_size`` held-out examples); ``checkpoint_seconds``
    in seconds. The paper states none of these (it only shows the pre-trained net's curve in
    Fig. 11): the defaults are our choices (docs/pretraining.md; docs/choices.md,
    "Pre-training").
    """

    data: str | None = None
    online: bool = False
    activation: str = "tanh"
    init: str = "normalized"
    depth: int = 5
    width: int = 1000
    seed: int = 0
    threads: int | None = None
    dtype: str = "float32"
    input_scale: str = "0,1"
    corruption: float = 0.25
    steps_per_layer: int = 20_000
    lr: float = 0.01
    batch_size: int = 10
    noise: str = "masking"
    log_every: int = 1000
    eval_size: int = 1000
    checkpoint_seconds: float = 120.0

    def validate(self) -> PretrainConfig:
        """Check every field; raise GlorotError naming the flag. Returns self."""
        if (self.data is None) == (not self.online):
            raise GlorotError("give exactly one of --data FILE and --online")
        for name, allowed in (("activation", ACTIVATIONS), ("init", INITS), ("dtype", DTYPES),
                              ("input_scale", INPUT_SCALES), ("noise", PRETRAIN_NOISE)):
            if getattr(self, name) not in allowed:
                raise GlorotError(f"{PRETRAIN_FLAGS[name]} must be one of "
                                  f"{', '.join(allowed)}, got {getattr(self, name)!r}")
        for name in ("depth", "width", "steps_per_layer", "batch_size", "log_every",
                     "eval_size"):
            v = getattr(self, name)
            if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                raise GlorotError(f"{PRETRAIN_FLAGS[name]} must be an integer >= 1, got {v}")
        if not isinstance(self.seed, int) or isinstance(self.seed, bool) or self.seed < 0:
            raise GlorotError(f"--seed must be a non-negative integer, got {self.seed}")
        if self.threads is not None and (not isinstance(self.threads, int) or self.threads < 1):
            raise GlorotError(f"--threads must be an integer >= 1, got {self.threads}")
        if not (_is_number(self.lr) and 0 < self.lr < float("inf")):
            raise GlorotError(f"--lr must be a positive number, got {self.lr}")
        if not (_is_number(self.corruption) and 0 <= self.corruption < 1):
            raise GlorotError(f"--corruption must be a fraction in [0, 1), got "
                              f"{self.corruption}")
        if not (_is_number(self.checkpoint_seconds) and self.checkpoint_seconds > 0):
            raise GlorotError(f"--checkpoint-seconds must be positive, got "
                              f"{self.checkpoint_seconds}")
        return self

    @property
    def total_steps(self) -> int:
        """Updates of the whole pre-training: ``depth * steps_per_layer``."""
        return self.depth * self.steps_per_layer

    def replace(self, **changes) -> PretrainConfig:
        """A copy with ``changes`` applied (not validated; TypeError for an unknown field)."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        """Every field by name, JSON-able."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> PretrainConfig:
        """A ``PretrainConfig`` from ``to_dict()``'s output (missing fields take their
        defaults; not validated). Raises GlorotError for an unknown field."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise GlorotError(f"unknown pre-training settings {', '.join(unknown)} (written "
                              f"by a newer glorot?)")
        return cls(**d)


PRETRAIN_RESUMABLE = ("data", "threads", "checkpoint_seconds")
"""Settings ``glorot pretrain --resume`` may change; the others come from the file."""
