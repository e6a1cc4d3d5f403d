"""Unsupervised pre-training of the hidden layers by stacked denoising auto-encoders (Vincent et
al. 2008): the reference every initialisation of the paper is measured against (Glorot &
Bengio 2010, Fig. 11, the curve "Pre-training"; §3.1 on pre-trained sigmoid nets).

Greedy and layer-wise: layer k (k = 1 .. depth) is trained as a denoising auto-encoder
(``glorotcli.nn.dae``) on the *clean* codes of the layers below it, already pre-trained and
then fixed, corrupted by masking noise; plain SGD on minibatches of ``batch_size`` (10, as the
supervised training), ``steps_per_layer`` updates per layer. The hidden layers start from the
weights ``glorot train`` would draw with the same ``--seed`` and ``-i`` (the same ``init``
stream), so ``glorot train --init-from FILE --seed S`` differs from ``glorot train --seed S``
only in its hidden layers. The output layer is not pre-trained.

What the paper does not state is chosen here, documented in docs/pretraining.md
and recorded in the output file (attribute ``choices``): masking noise of ``corruption`` (0.25)
of each example's inputs; tied weights; a sigmoid decoder with the cross-entropy for inputs in
[0, 1] and the squared error otherwise (``nn.dae``); the length and rate.

Randomness. ``SeedSequence(seed).spawn(7)``: the first five are the training streams of
``run.train.STREAMS`` (``init`` gives the initial weights, ``valid`` the held-out examples of
an online run), then ``pretrain_data`` and ``pretrain_noise``. Layer k reads its own endless
stream of training examples (child k of ``pretrain_data``: a data file reshuffled each pass as
in training, or fresh online Shapeset images) and draws its noise from child k of
``pretrain_noise``. Minibatch t of layer k is positions [tB, (t+1)B) of its stream, so the
data state is (k, t) and the noise state a generator state, both in the checkpoint.

The loop never prints; it reports through ``progress(task, done, total, **info)``.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from glorotcli.config import PretrainConfig, TrainConfig
from glorotcli.data.pixels import scale_inputs
from glorotcli.errors import GlorotError, RunFailed, WriteFailed
from glorotcli.nn import dae
from glorotcli.nn.init import init_mlp
from glorotcli.progress import Progress, no_progress
from glorotcli.run.train import (
    STREAMS,
    Interrupted,
    _FileSource,
    _OnlineSource,
    _stop_requests,
    _StopFlag,
    _threads,
)
from glorotcli.stats.runlog import DiskFull
from glorotcli.stats.runlog.pretrained import (
    FORMAT,
    PretrainWriter,
    read_pretrain,
    read_pretrain_checkpoint,
)

PRETRAIN_STREAMS = ("pretrain_data", "pretrain_noise")
"""The streams pre-training adds after the training streams (see the module docstring)."""
REPORT_SECONDS = 0.25
EVAL_BATCH = 1000

# ------------------------------------------------------------------------------ data ----

@dataclass
class PretrainInputs:
    """What pre-training reads: training pixels (a data file's split, or None online), the
    held-out pixels its reconstruction error is measured on, and a description for the file."""

    train: tuple[np.ndarray, np.ndarray] | None
    held_out: np.ndarray
    input_size: int
    n_classes: int
    meta: dict


def streams(seed: int) -> dict[str, np.random.SeedSequence]:
    """The training streams and the two pre-training streams (see the module docstring)."""
    names = STREAMS + PRETRAIN_STREAMS
    return dict(zip(names, np.random.SeedSequence(seed).spawn(len(names)), strict=True))


def _child(ss: np.random.SeedSequence, k: int) -> np.random.SeedSequence:
    """Child ``k`` of ``ss`` (as ``ss.spawn`` would make it, without spawning)."""
    return np.random.SeedSequence(ss.entropy, spawn_key=tuple(ss.spawn_key) + (k,))


def load_inputs(config: PretrainConfig, progress: Progress = no_progress) -> PretrainInputs:
    """Read and check the data file (its ``train`` split; held-out examples: the first
    ``eval_size`` of ``valid``, else ``test``, else ``train``), or, online, generate the
    held-out images from the ``valid`` stream."""
    if config.online:
        from glorotcli.data import shapeset

        held, _ = shapeset.generate(config.eval_size, streams(config.seed)["valid"],
                                    threads=config.threads,
                                    progress=lambda _t, d, n, **i: progress("held-out set",
                                                                            d, n, **i))
        meta = {"path": None, "kind": "shapeset-online", "n_classes": len(shapeset.CLASS_NAMES),
                "class_names": list(shapeset.CLASS_NAMES),
                "image_shape": [shapeset.SIZE, shapeset.SIZE, 1], "n_train": None,
                "held_out": "valid stream", "n_held_out": len(held)}
        return PretrainInputs(None, held, shapeset.SIZE ** 2, len(shapeset.CLASS_NAMES), meta)
    from glorotcli.data.store import read_dataset

    ds = read_dataset(config.data)
    if "train" not in ds.splits or len(ds.splits["train"]) == 0:
        raise GlorotError(f"{config.data}: has no training examples (/train is missing or empty)")
    tr = ds.splits["train"]
    split = next(s for s in ("valid", "test", "train") if s in ds.splits and len(ds.splits[s]))
    held = ds.splits[split].x[:config.eval_size]
    meta = {"path": str(Path(config.data).resolve()), "kind": ds.kind,
            "n_classes": ds.n_classes, "class_names": ds.class_names,
            "image_shape": list(ds.image_shape), "n_train": len(tr), "held_out": split,
            "n_held_out": len(held)}
    return PretrainInputs((tr.x, tr.y), held, ds.input_size, ds.n_classes, meta)


def _source(config: PretrainConfig, inputs: PretrainInputs, layer: int, start: int):
    """Layer ``layer``'s stream of training examples, positioned at example ``start``."""
    ss = _child(streams(config.seed)["pretrain_data"], layer)
    if inputs.train is None:
        return _OnlineSource(ss, start)
    return _FileSource(inputs.train[0], inputs.train[1], ss)


def choices(config: PretrainConfig) -> dict:
    """What the paper does not state about its pre-training, as this file makes it (the
    ``choices`` attribute; docs/pretraining.md)."""
    recon = dae.layer_reconstructions(config.activation, config.input_scale, config.depth)
    return {
        "method": "greedy layer-wise stacked denoising auto-encoders (Vincent et al. 2008); "
                  "layer k trained on the clean codes of the pre-trained layers below it",
        "noise": f"masking: round({config.corruption} x n) inputs of each example set to 0, "
                 f"chosen uniformly without replacement",
        "corruption": config.corruption,
        "weights": "tied (decoder W^T), decoder biases c start at 0",
        "encoder": f"the layer itself: f = {config.activation}",
        "reconstruction": [r.to_dict() for r in recon],
        "cost_scale": "sum over the layer's inputs, mean over the minibatch",
        "optimiser": f"plain SGD, constant rate {config.lr:g}, minibatch {config.batch_size}",
        "steps_per_layer": config.steps_per_layer,
        "start": "the weights glorot train draws with the same --seed and --init",
        "paper_states": "denoising auto-encoders (Vincent et al. 2008); nothing else",
    }


# ------------------------------------------------------------------------------ loop ----

@dataclass
class PretrainResult:
    """Summary of a pre-training (what ``glorot pretrain --json`` prints). Costs are per
    layer (1 .. depth): ``train_cost`` the mean corrupted-input cost of the last log
    interval, ``valid_cost`` the clean reconstruction cost of the held-out examples."""

    path: str
    status: str
    layers_done: int
    depth: int
    steps_per_layer: int
    steps: int
    train_cost: list
    valid_cost: list
    first_valid_cost: list
    wall_seconds: float
    steps_per_second: float
    threads: int

    def to_dict(self) -> dict:
        def clean(v):
            if isinstance(v, list):
                return [clean(x) for x in v]
            return None if isinstance(v, float) and not math.isfinite(v) else v
        return {k: clean(v) for k, v in asdict(self).items()}


class _Pretraining:
    """One pre-training's loop state; ``run()`` trains from (layer, step) to the end."""

    def __init__(self, config: PretrainConfig, inputs: PretrainInputs, writer: PretrainWriter,
                 W: list, b: list, c: list, state: dict, threads: int,
                 progress: Progress) -> None:
        self.cfg, self.inputs, self.w = config, inputs, writer
        self.W, self.b, self.c = W, b, c
        self.threads, self.progress = threads, progress
        self.dtype = np.dtype(config.dtype).type
        self.recon = dae.layer_reconstructions(config.activation, config.input_scale,
                                               config.depth)
        self.layer = int(state.get("layer", 0))
        self.t = int(state.get("layer_step", 0))
        self.noise_state = state.get("noise")
        self.started = bool(state.get("started", False))  # the layer's step-0 row is logged
        self.cost_sum = float(state.get("cost_sum", 0.0))
        self.cost_n = int(state.get("cost_n", 0))
        self.t_offset = float(state.get("wall_time", 0.0))
        self.train_cost = list(state.get("train_cost", [math.nan] * config.depth))
        self.valid_cost = list(state.get("valid_cost", [math.nan] * config.depth))
        self.first_valid = list(state.get("first_valid_cost", [math.nan] * config.depth))
        self.t0 = time.monotonic()
        self.start_step = self.step
        self.stop = _StopFlag()
        self._last_report = 0.0

    @property
    def step(self) -> int:
        return self.layer * self.cfg.steps_per_layer + self.t

    def wall(self) -> float:
        return self.t_offset + time.monotonic() - self.t0

    def state(self, noise: np.random.Generator | None) -> dict:
        return {"layer": self.layer, "layer_step": self.t, "started": self.started,
                "noise": None if noise is None else noise.bit_generator.state,
                "cost_sum": self.cost_sum, "cost_n": self.cost_n, "wall_time": self.wall(),
                "train_cost": self.train_cost, "valid_cost": self.valid_cost,
                "first_valid_cost": self.first_valid,
                "param_sums": _param_sums(self.W, self.b, self.c)}

    def checkpoint(self, noise: np.random.Generator | None) -> None:
        with self.stop.critical():
            self.w.checkpoint(step=self.step, W=self.W, b=self.b, c=self.c,
                              state=self.state(noise))
        self.last_ckpt = time.monotonic()

    def codes(self, x: np.ndarray, k: int) -> np.ndarray:
        """The clean input of layer k (0-based) for pixels ``x``: the codes of layers < k."""
        h = scale_inputs(x, self.dtype, self.cfg.input_scale)
        for i in range(k):
            h = dae.encode(h, self.W[i], self.b[i], self.cfg.activation)
        return h

    def log_row(self, layer: dae.DAELayer, held: np.ndarray) -> None:
        k = self.layer
        valid = layer.cost(held, batch=EVAL_BATCH)
        train = self.cost_sum / self.cost_n if self.cost_n else math.nan
        if self.cost_n:
            self.train_cost[k] = train
        self.valid_cost[k] = valid
        if self.t == 0:
            self.first_valid[k] = valid
        self.cost_sum, self.cost_n = 0.0, 0
        self.w.log(layer=k + 1, step=self.t, train_cost=train, valid_cost=valid,
                   wall_time=self.wall())

    def report(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last_report < REPORT_SECONDS:
            return
        self._last_report = now
        k = min(self.layer, self.cfg.depth - 1)
        info: dict = {"layer": f"{k + 1}/{self.cfg.depth}"}
        done = self.step - self.start_step
        if done > 0:
            info["steps/s"] = round(done / max(now - self.t0, 1e-9), 1)
        cost = self.cost_sum / self.cost_n if self.cost_n else self.train_cost[k]
        info["cost"] = cost
        self.progress("pretrain", self.step, self.cfg.total_steps, **info)

    def run(self, stop: _StopFlag) -> None:
        self.stop = stop
        self.last_ckpt = time.monotonic()
        self.report(force=True)
        while self.layer < self.cfg.depth:
            self._train_layer(stop)
        self.report(force=True)

    def _train_layer(self, stop: _StopFlag) -> None:
        cfg, k, B = self.cfg, self.layer, self.cfg.batch_size
        noise = np.random.default_rng(_child(streams(cfg.seed)["pretrain_noise"], k))
        if self.noise_state is not None:
            noise.bit_generator.state = self.noise_state
            self.noise_state = None
        layer = dae.DAELayer(self.W[k], self.b[k], self.c[k], cfg.activation, self.recon[k])
        held = self.codes(self.inputs.held_out, k)
        source = _source(cfg, self.inputs, k, self.t * B)
        if not self.started:
            self.checkpoint(noise)  # a run killed at any moment resumes from here
            self.log_row(layer, held)
            self.started = True
        corrupted = None
        while self.t < cfg.steps_per_layer:
            if stop.requested():
                self.checkpoint(noise)
                self.w.close("interrupted")
                raise Interrupted(self.w.path, self.step, True, stop.signum)
            xb, _ = source.batch(self.t * B, B)
            x = self.codes(xb, k)
            corrupted = dae.corrupt(x, cfg.corruption, noise, out=corrupted)
            with np.errstate(all="ignore"):
                cost = layer.step(x, corrupted, cfg.lr)
            self.t += 1
            if not math.isfinite(cost):
                self._diverged(cost)
            self.cost_sum += cost
            self.cost_n += 1
            if self.t % cfg.log_every == 0 or self.t == cfg.steps_per_layer:
                self.log_row(layer, held)
            if time.monotonic() - self.last_ckpt >= cfg.checkpoint_seconds:
                self.checkpoint(noise)
            self.report()
        self.w.layer_done(k, self.W[k], self.b[k], self.c[k])
        self.layer, self.t, self.started = k + 1, 0, False
        if self.layer == cfg.depth:
            self.checkpoint(None)

    def _diverged(self, cost: float) -> None:
        k = self.layer
        self.w.log(layer=k + 1, step=self.t, wall_time=self.wall())
        self.w.close("diverged")
        raise RunFailed(f"{self.w.path}: diverged at update {self.t} of layer {k + 1}: the "
                        f"reconstruction cost is {cost} (try a smaller --lr than "
                        f"{self.cfg.lr:g}); rows logged so far are kept")

    def result(self, status: str) -> PretrainResult:
        wall = self.wall()
        return PretrainResult(
            path=str(self.w.path), status=status, layers_done=self.layer,
            depth=self.cfg.depth, steps_per_layer=self.cfg.steps_per_layer, steps=self.step,
            train_cost=self.train_cost, valid_cost=self.valid_cost,
            first_valid_cost=self.first_valid, wall_seconds=wall,
            steps_per_second=self.step / wall if wall > 0 else math.nan, threads=self.threads)


def _param_sums(*groups) -> list[float]:
    """Float64 sums of every array: stored with a checkpoint to detect a torn one."""
    return [float(np.sum(a, dtype=np.float64)) for g in groups for a in g]


def _drive(loop: _Pretraining) -> PretrainResult:
    """Run the loop, turning interruptions into a closed, resumable file (as training does)."""
    w = loop.w
    try:
        with _stop_requests() as stop, _threads(loop.threads, blas=True):
            loop.run(stop)
    except (Interrupted, RunFailed):
        raise
    except KeyboardInterrupt:  # a second Ctrl-C: keep the last checkpoint
        if not w.closed:
            w.close("interrupted", remove_if_empty=True)
        raise Interrupted(w.path, loop.step, False, loop.stop.signum) from None
    except DiskFull as exc:
        w.abandon("interrupted")
        raise GlorotError(f"{exc}; pre-training stopped at its last checkpoint: free some "
                          f"space, then: glorot pretrain --resume {w.path}") from None
    except WriteFailed:
        raise
    except BaseException:
        if not w.closed:
            w.close("interrupted", remove_if_empty=True)
        raise
    result = loop.result("finished")
    w.close("finished")
    return result


def pretrain(config: PretrainConfig, output: str | Path, *,
             inputs: PretrainInputs | None = None, force: bool = False,
             progress: Progress = no_progress) -> PretrainResult:
    """Pre-train the hidden layers ``config`` describes, writing the pre-training file
    ``output`` (format: docs/formats.md, "Pre-training file").

    Raises GlorotError for bad settings or data (before any work), RunFailed when the
    reconstruction cost stops being finite, ``Interrupted`` on Ctrl-C/SIGTERM after a
    checkpoint (resume with ``resume``).
    """
    config.validate()
    from glorotcli.fileio import check_output_path

    output = check_output_path(output, force)
    inputs = inputs or load_inputs(config, progress)
    if inputs.train is not None and config.batch_size > len(inputs.train[1]):
        raise GlorotError(f"--batch-size {config.batch_size} is larger than the "
                          f"{len(inputs.train[1]):,} training examples")
    hidden = (config.width,) * config.depth
    sizes = (inputs.input_size,) + hidden + (inputs.n_classes,)
    with _threads(config.threads) as threads:
        net = init_mlp(sizes, config.activation, config.init,
                       np.random.default_rng(streams(config.seed)["init"]),
                       dtype=np.dtype(config.dtype))
        W, b = net.W[:-1], net.b[:-1]
        c = [np.zeros(n, W[0].dtype) for n in sizes[:-2]]
        writer = PretrainWriter.create(
            output, config=config.to_dict(), sizes=sizes[:-1], activation=config.activation,
            init=config.init, seed=config.seed, dataset=inputs.meta,
            input_scale=config.input_scale, init_W=W, init_b=b, choices=choices(config),
            force=force, extra_attrs={"threads": threads, "total_steps": config.total_steps})
    return _drive(_Pretraining(config, inputs, writer, W, b, c, {}, threads, progress))


def load_config(path: str | Path) -> PretrainConfig:
    """The settings stored in a pre-training file (for ``--resume``)."""
    data = read_pretrain(path)
    try:
        config = PretrainConfig.from_dict(data.config)
    except TypeError as exc:
        raise GlorotError(f"{path}: the stored pre-training settings are damaged ({exc})") \
            from None
    stored = data.dataset.get("path")
    if config.data and not Path(config.data).exists() and stored and Path(stored).exists():
        config = config.replace(data=stored)
    return config


def resume(path: str | Path, config: PretrainConfig | None = None, *,
           inputs: PretrainInputs | None = None,
           progress: Progress = no_progress) -> PretrainResult:
    """Continue the pre-training in ``path`` from its last checkpoint. ``config`` may differ
    from the stored settings only in ``config.PRETRAIN_RESUMABLE`` (the CLI enforces it)."""
    path = Path(path)
    stored = load_config(path)
    config = (config or stored).validate()
    data = read_pretrain(path)
    if data.status == "finished":
        raise GlorotError(f"{path}: pre-training is already finished ({data.layers_done} "
                          f"layers); nothing to resume")
    if data.status == "diverged":
        raise GlorotError(f"{path}: diverged; resuming would diverge again the same way: "
                          f"pre-train again with a smaller --lr than {stored.lr:g}")
    if data.checkpoint_step < 0:
        raise GlorotError(f"{path}: has no checkpoint to resume from")
    inputs = inputs or load_inputs(config, progress)
    if inputs.input_size != data.sizes[0]:
        raise GlorotError(f"{path}: the pre-trained layers take {data.sizes[0]} inputs, but the "
                          f"data has {inputs.input_size} pixels per example")
    ck = read_pretrain_checkpoint(path)
    sums = ck.state.get("param_sums")
    if sums is not None and sums != _param_sums(ck.W, ck.b, ck.c):
        raise GlorotError(f"{path}: the checkpoint is damaged (the writer was stopped while "
                          f"writing it); the pre-training cannot be resumed")
    with _threads(config.threads) as threads:
        writer = PretrainWriter.resume(path, update_attrs={
            "config": json.dumps(config.to_dict(), sort_keys=True), "threads": threads})
        try:
            ck = writer.read_checkpoint()
            W = [np.ascontiguousarray(a) for a in ck.W]
            b = [np.ascontiguousarray(a) for a in ck.b]
            c = [np.ascontiguousarray(a) for a in ck.c]
            loop = _Pretraining(config, inputs, writer, W, b, c, ck.state, threads, progress)
        except BaseException:
            writer.close("interrupted")
            raise
    return _drive(loop)


# ----------------------------------------------------------- train --init-from ----

def load_pretrained(path: str | Path, config: TrainConfig, sizes: tuple[int, ...]
                    ) -> tuple[list[np.ndarray], list[np.ndarray], dict]:
    """The pre-trained hidden layers of the file ``path`` for a ``glorot train`` run of
    ``config`` with layer sizes ``sizes`` (input, hidden..., classes): (W list, b list) in the
    run's dtype, and the provenance the run file records (attribute ``pretrained``).

    Raises GlorotError (one line naming the file) for a file that is not a finished
    pre-training file, and for layer sizes, activation or input scaling other than the run's.
    """
    path = Path(path)
    data = read_pretrain(path)
    L = data.depth
    if data.live_status != "finished" or data.layers_done < L:
        raise GlorotError(f"{path}: pre-training is not finished ({data.layers_done} of {L} "
                          f"layers done, status {data.live_status}); finish it with glorot "
                          f"pretrain --resume {path}")
    want = tuple(sizes[:-1])
    if data.sizes != want:
        raise GlorotError(f"{path}: pre-trained layers are {_sizes(data.sizes)}, but this run's "
                          f"are {_sizes(want)} (the data's input size, --depth and --width "
                          f"must match)")
    for key, flag in (("activation", "-a/--activation"), ("input_scale", "--input-scale")):
        theirs = data.attrs.get(key)
        if theirs != getattr(config, key):
            raise GlorotError(f"{path}: pre-trained with {flag} {theirs}, but this run uses "
                              f"{getattr(config, key)}")
    dtype = np.dtype(config.dtype)
    W = [np.ascontiguousarray(a, dtype=dtype) for a in data.W]
    b = [np.ascontiguousarray(a, dtype=dtype) for a in data.b]
    if not all(np.isfinite(a).all() for a in (*W, *b)):
        raise GlorotError(f"{path}: the pre-trained weights are not all finite")
    digest = hashlib.sha256()
    for a in (*data.W, *data.b):
        digest.update(np.ascontiguousarray(a).tobytes())
    provenance = {"path": str(path.resolve()), "format": FORMAT,
                  "created": data.attrs.get("created"), "config": data.config,
                  "weights_sha256": digest.hexdigest(), "dtype": str(data.W[0].dtype),
                  "final_valid_cost": [_finite(v) for v in _last_valid(data)]}
    return W, b, provenance


def start_from_pretrained(config: TrainConfig, net) -> dict:
    """Put the pre-trained hidden layers of ``config.init_from`` into ``net`` (an ``MLP`` just
    initialised for the run; its output layer stays as drawn) and return the run file's root
    attributes that record it: ``{"pretrained": provenance JSON}``; ``{}`` without
    ``init_from``. Raises GlorotError as ``load_pretrained``."""
    if not config.init_from:
        return {}
    W, b, provenance = load_pretrained(config.init_from, config, tuple(net.sizes))
    for i, (w, bb) in enumerate(zip(W, b, strict=True)):
        net.W[i], net.b[i] = w, bb
    return {"pretrained": json.dumps(provenance, sort_keys=True)}


def _sizes(sizes: tuple[int, ...]) -> str:
    return "-".join(str(n) for n in sizes)


def _finite(v: float) -> float | None:
    return float(v) if math.isfinite(v) else None


def _last_valid(data) -> list[float]:
    out = []
    for k in range(1, data.depth + 1):
        v = data.layer_log(k)["valid_cost"]
        out.append(float(v[-1]) if len(v) else math.nan)
    return out
