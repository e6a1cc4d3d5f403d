"""The training loop (paper §2.3): plain SGD on minibatches, with evaluation and per-layer probes
on a schedule, written live to a run file (``glorotcli.stats.runlog``), checkpointed, resumable.

The loop never prints; it reports through the ``progress(task, done, total, **info)`` callback.

Randomness. ``SeedSequence(config.seed).spawn(5)`` gives five independent streams, in this order:
``init`` (initial weights), ``order`` (the order of training examples, data-file runs),
``online`` (the online Shapeset training stream), ``valid`` and ``test`` (the fixed online
validation and test sets, our choice). Each is used for one thing only, so adding a stream or
changing one setting never shifts another.

The training examples form one endless stream and minibatch k is positions [k*B, (k+1)*B) of it:

- data file: pass e is ``permutation(N)`` drawn from ``SeedSequence(order, spawn_key + (e,))``,
  so position p is example ``perm_{p // N}[p % N]`` (a minibatch may straddle two passes);
- online: image p of ``ShapesetStream(online)``.

So the whole data state at step k is the number k itself, which is what a checkpoint stores with
the weights; a resumed run sees exactly the minibatches the uninterrupted run would have seen.
Probes and evaluation only read the weights and draw no random numbers.
"""

from __future__ import annotations

import contextlib
import math
import signal
import threading
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from glorotcli.config import (
    UPDATES_PER_EPOCH_ONLINE,
    TrainConfig,
    parse_schedule,
)
from glorotcli.data.pixels import scale_inputs
from glorotcli.errors import GlorotError, RunFailed, WriteFailed
from glorotcli.nn import mlp
from glorotcli.nn.init import init_mlp
from glorotcli.nn.threads import (
    LoadFollower,
    check_threads,
    default_threads,
    max_threads,
    use_threads,
)
from glorotcli.progress import Progress, no_progress
from glorotcli.stats.runlog import DiskFull, RunWriter, read_checkpoint, read_run

STREAMS = ("init", "order", "online", "valid", "test")
EVAL_BATCH = 1000
REPORT_SECONDS = 0.25  # least time between two progress reports
BLOWUP_FACTOR = 100.0
"""A run has diverged when a minibatch's training loss exceeds this many times the loss of the
first update (or is not finite): e.g. tanh at --lr 1e6 reaches 1e7 while staying finite."""


# ------------------------------------------------------------------------------ data ----

def seed_streams(seed: int) -> dict[str, np.random.SeedSequence]:
    """The run's independent random streams (see the module docstring)."""
    return dict(zip(STREAMS, np.random.SeedSequence(seed).spawn(len(STREAMS)), strict=True))


class _FileSource:
    """Training examples of a data file, reshuffled each pass (pass e from its own seed)."""

    def __init__(self, x: np.ndarray, y: np.ndarray, order: np.random.SeedSequence) -> None:
        self.x, self.y, self.order = x, y, order
        self.n = len(y)
        self._perm: tuple[int, np.ndarray] | None = None

    def _permutation(self, e: int) -> np.ndarray:
        if self._perm is None or self._perm[0] != e:
            ss = np.random.SeedSequence(self.order.entropy,
                                        spawn_key=tuple(self.order.spawn_key) + (e,))
            self._perm = (e, np.random.default_rng(ss).permutation(self.n))
        return self._perm[1]

    def batch(self, pos: int, n: int) -> tuple[np.ndarray, np.ndarray]:
        idx = np.empty(n, np.int64)
        k = 0
        while k < n:
            e, off = divmod(pos + k, self.n)
            take = min(n - k, self.n - off)
            idx[k:k + take] = self._permutation(e)[off:off + take]
            k += take
        return self.x[idx], self.y[idx]


class _OnlineSource:
    """Fresh Shapeset-3x2 images from one endless stream, starting at a given position."""

    def __init__(self, seed: np.random.SeedSequence, start: int) -> None:
        self.pos = start
        self.stream = _shapeset_stream(seed, start)

    def batch(self, pos: int, n: int) -> tuple[np.ndarray, np.ndarray]:
        if pos != self.pos:
            raise AssertionError(f"online stream at {self.pos}, asked for {pos}")
        self.pos += n
        return self.stream.next_batch(n)


def _shapeset_stream(seed: np.random.SeedSequence, start: int):
    """``ShapesetStream(seed)`` advanced to image ``start`` without generating what it skips."""
    from glorotcli.data import shapeset

    return shapeset.ShapesetStream(seed, start=start)


@dataclass
class TrainData:
    """What a run trains and measures on. ``x`` arrays are uint8 pixels."""

    source: object
    n_train: int | None
    valid: tuple[np.ndarray, np.ndarray] | None
    test: tuple[np.ndarray, np.ndarray] | None
    probe: tuple[np.ndarray, np.ndarray]
    probe_source: str
    input_size: int
    n_classes: int
    meta: dict

    def source_at(self, start: int) -> object:
        """The training stream positioned at example ``start``."""
        if isinstance(self.source, _FileSource):
            return self.source
        return _OnlineSource(self.source, start)


def load_data(config: TrainConfig, progress: Progress = no_progress) -> TrainData:
    """Read and check the data file (or make the online validation/test sets)."""
    streams = seed_streams(config.seed)
    if config.online:
        from glorotcli.data import shapeset

        vx, vy = shapeset.generate(config.online_valid_size, streams["valid"],
                                   threads=config.threads, progress=_renamed(progress, "valid set"))
        tx, ty = shapeset.generate(config.online_test_size, streams["test"],
                                   threads=config.threads, progress=_renamed(progress, "test set"))
        n_classes = len(shapeset.CLASS_NAMES)
        counts = np.bincount(ty, minlength=n_classes)
        meta = {"path": None, "kind": "shapeset-online", "n_classes": n_classes,
                "class_names": list(shapeset.CLASS_NAMES),
                "majority_error": float(1 - counts.max() / len(ty)),
                "image_shape": [shapeset.SIZE, shapeset.SIZE, 1], "n_train": None,
                "n_valid": len(vy), "n_test": len(ty)}
        p = min(config.probe_size, len(ty))
        return TrainData(streams["online"], None, (vx, vy), (tx, ty), (tx[:p], ty[:p]), "test",
                         shapeset.SIZE * shapeset.SIZE, n_classes, meta)

    from glorotcli.data.store import read_dataset

    ds = read_dataset(config.data)
    if "train" not in ds.splits or len(ds.splits["train"]) == 0:
        raise GlorotError(f"{config.data}: has no training examples (/train is missing or empty)")
    tr = ds.splits["train"]
    valid = (ds.splits["valid"].x, ds.splits["valid"].y) if "valid" in ds.splits else None
    test = (ds.splits["test"].x, ds.splits["test"].y) if "test" in ds.splits else None
    probe_source = next(s for s in ("test", "valid", "train") if s in ds.splits
                        and len(ds.splits[s]))
    px, py = ds.splits[probe_source].x, ds.splits[probe_source].y
    p = min(config.probe_size, len(py))
    base = probe_source if probe_source != "train" else "train"
    meta = {"path": str(Path(config.data).resolve()), "kind": ds.kind,
            "n_classes": ds.n_classes, "class_names": ds.class_names,
            "majority_error": ds.majority_error(base), "image_shape": list(ds.image_shape),
            "n_train": len(tr), "n_valid": len(valid[1]) if valid else 0,
            "n_test": len(test[1]) if test else 0}
    return TrainData(_FileSource(tr.x, tr.y, streams["order"]), len(tr), valid, test,
                     (px[:p], py[:p]), probe_source, ds.input_size, ds.n_classes, meta)


def fit_to_data(config: TrainConfig, data: TrainData) -> tuple[TrainConfig, dict[str, str]]:
    """``config`` with the sizes that exceed the data cut to what the data has, and a one-line
    note per cut, keyed by the setting cut (the run file then records what was used). Raises
    GlorotError for a minibatch larger than the training split."""
    notes: dict[str, str] = {}
    changes: dict = {}
    if data.n_train is not None and config.batch_size > data.n_train:
        raise GlorotError(f"--batch-size {config.batch_size} is larger than the "
                          f"{data.n_train:,} training examples")
    n_probe = len(data.probe[1])
    if config.probe_size > n_probe:
        changes["probe_size"] = n_probe
        notes["probe_size"] = (f"--probe-size {config.probe_size}: the {data.probe_source} "
                               f"split has {n_probe:,} examples; using {n_probe:,}")
    probe = changes.get("probe_size", config.probe_size)
    if config.jacobian_examples > probe:
        changes["jacobian_examples"] = probe
        notes["jacobian_examples"] = (f"--jacobian-examples {config.jacobian_examples}: only "
                                      f"{probe:,} probe examples; using {probe:,}")
    n_eval = max((len(s[1]) for s in (data.valid, data.test) if s is not None), default=0)
    if config.eval_size is not None and n_eval and config.eval_size > n_eval:
        changes["eval_size"] = n_eval
        notes["eval_size"] = (f"--eval-size {config.eval_size}: the evaluation splits have "
                              f"at most {n_eval:,} examples; using {n_eval:,}")
    return (config.replace(**changes) if changes else config), notes


def _renamed(progress: Progress, task: str) -> Progress:
    return lambda _task, done, total, **info: progress(task, done, total, **info)


# -------------------------------------------------------------------------- schedules ----

def schedule_steps(spec: str, total: int, *, jacobian: bool = False,
                   flag: str = "--probe-every") -> np.ndarray:
    """Sorted update counts (0..total) at which a measurement is taken.

    ``"default"`` for probes: step 0; 10, 20, 50, 100, 200, 500, ... below 20,000 (log-spaced
    through the paper's first "epoch"); then every 20,000 updates; and the last step.
    ``"default"`` for the Jacobian (about 12 s at full size): step 0 (the paper's measurement,
    §4.2.2) and 200,000 x 10^k updates (epochs 10, 100, ...).
    ``"N"``: step 0 and every N updates (and, for probes, the last step). ``"none"``: never.
    """
    kind, n = parse_schedule(spec, flag)
    if kind == "none":
        return np.zeros(0, np.int64)
    steps = {0}
    if kind == "every":
        steps.update(range(n, total + 1, n))
    elif jacobian:
        k = 10 * UPDATES_PER_EPOCH_ONLINE
        while k <= total:
            steps.add(k)
            k *= 10
    else:
        decade = 10
        while decade < UPDATES_PER_EPOCH_ONLINE:
            steps.update(m * decade for m in (1, 2, 5) if m * decade < UPDATES_PER_EPOCH_ONLINE)
            decade *= 10
        steps.update(range(UPDATES_PER_EPOCH_ONLINE, total + 1, UPDATES_PER_EPOCH_ONLINE))
    if not jacobian:
        steps.add(total)
    return np.array(sorted(s for s in steps if s <= total), dtype=np.int64)


# ------------------------------------------------------------------------------- loop ----

@dataclass
class TrainResult:
    """Summary of a run (what ``glorot train --json`` prints)."""

    path: str
    status: str
    steps: int
    total_steps: int
    examples_seen: int
    train_loss: float
    valid_error: float
    test_error: float
    best_valid_error: float
    best_valid_step: int | None
    test_error_at_best_valid: float
    majority_error: float | None
    wall_seconds: float
    probe_seconds: float
    jacobian_seconds: float
    eval_seconds: float
    probe_fraction: float
    steps_per_second: float
    threads: int

    def to_dict(self) -> dict:
        return {k: (None if isinstance(v, float) and not math.isfinite(v) else v)
                for k, v in asdict(self).items()}


class Interrupted(KeyboardInterrupt):
    """Ctrl-C (or SIGTERM) stopped the run; it was checkpointed and can be resumed."""

    def __init__(self, path: Path, step: int, checkpointed: bool,
                 signum: int = signal.SIGINT, result: TrainResult | None = None) -> None:
        super().__init__(f"interrupted at step {step}")
        self.path, self.step, self.checkpointed = path, step, checkpointed
        self.signum = int(signum)
        self.result = result
        """The run's summary up to the interruption (status "interrupted"), for --json."""


class _StopFlag:
    """The first SIGINT/SIGTERM only sets a flag the loop checks between steps (so the
    checkpoint sees consistent weights); a second one interrupts at once, except inside a
    ``critical()`` block (writing a checkpoint), where it waits for the block to end."""

    def __init__(self) -> None:
        self.hits = 0
        self.signum = signal.SIGINT
        self._critical = False
        self._pending = False

    def requested(self) -> bool:
        return self.hits > 0

    def handler(self, signum, frame) -> None:
        self.hits += 1
        if self.hits == 1:
            self.signum = signum
        if self.hits > 1:
            if self._critical:
                self._pending = True
            else:
                raise KeyboardInterrupt

    @contextlib.contextmanager
    def critical(self) -> Iterator[None]:
        self._critical = True
        try:
            yield
        finally:
            self._critical = False
        if self._pending:
            self._pending = False
            raise KeyboardInterrupt


@contextlib.contextmanager
def _stop_requests() -> Iterator[_StopFlag]:
    """Install ``_StopFlag.handler`` for SIGINT and SIGTERM (main thread only) for the block."""
    flag = _StopFlag()
    old = {}
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            old[sig] = signal.signal(sig, flag.handler)
    try:
        yield flag
    finally:
        for sig, h in old.items():
            signal.signal(sig, h)


@contextlib.contextmanager
def _threads(n: int | None, blas: bool = False) -> Iterator[int]:
    """Run the block on ``n`` threads (None: the cores idle at the start, ``default_threads``;
    more than the cores available: all of them). BLAS gets 1 thread unless ``blas``: the SGD
    steps run in Numba (or, in the NumPy fallback, on small matrices where threaded BLAS only
    spins), while evaluation and probes multiply big matrices with BLAS."""
    n = default_threads() if n is None else check_threads(min(n, max_threads()))
    with use_threads(n, blas=n if blas else 1):
        yield n


def _param_sums(W: list[np.ndarray], b: list[np.ndarray]) -> list[float]:
    """Float64 sums of every W and b: stored with a checkpoint to detect a torn one."""
    return [float(np.sum(a, dtype=np.float64)) for a in (*W, *b)]


def _first_bad_layer(net: mlp.MLP, x: np.ndarray | None) -> str:
    """Name the first layer (from the input) with non-finite parameters or pre-activations."""
    L = len(net.W)

    def name(i: int) -> str:
        return f"output layer (W{i})" if i == L - 1 else f"layer {i + 1} (W{i})"

    for i in range(L):
        if not (np.isfinite(net.W[i]).all() and np.isfinite(net.b[i]).all()):
            return f"first non-finite weights in {name(i)}"
    if x is not None:
        with np.errstate(all="ignore"):
            fwd = mlp.forward(net, x)
        for i, s in enumerate(fwd.s):
            if not np.isfinite(s).all():
                return f"first non-finite pre-activations in {name(i)}"
        if not np.isfinite(fwd.p).all():
            return "non-finite softmax output"
    return "weights and pre-activations still finite"


class _TrainingRun:
    """One run's loop state; ``run()`` trains from ``step`` to ``total``."""

    def __init__(self, config: TrainConfig, data: TrainData, writer: RunWriter, net: mlp.MLP,
                 step: int, state: dict, threads: int, progress: Progress) -> None:
        self.cfg, self.data, self.w, self.net = config, data, writer, net
        self.step = step
        self.total = config.total_steps(data.n_train)
        self.threads = threads
        self.progress = progress
        self.dtype = np.dtype(config.dtype).type
        self.sgd = mlp.Trainer(net, config.cost, threads)  # keeps its buffers between steps
        # with no --threads the steps follow the idle cores during the run too (the fused
        # kernels only: their results do not depend on it; probes and evaluation keep `threads`)
        self.follow = (LoadFollower(threads) if config.threads is None
                       and self.sgd.path_for(config.batch_size) == "fused" else None)
        self.loss_sum = float(state.get("loss_sum", 0.0))
        self.loss_n = int(state.get("loss_n", 0))
        self.t_offset = float(state.get("wall_time", 0.0))
        self.probe_s = float(state.get("probe_seconds", 0.0))
        self.jac_s = float(state.get("jacobian_seconds", 0.0))
        self.eval_s = float(state.get("eval_seconds", 0.0))
        self.last_valid = float(state.get("last_valid", math.nan))
        self.last_test = float(state.get("last_test", math.nan))
        self.last_loss = float(state.get("last_loss", math.nan))
        self.first_loss = float(state.get("first_loss", math.nan))
        self.best = dict(state.get("best", {"valid": math.nan, "step": None, "test": math.nan}))
        self.fresh = not state  # a new run, not one resumed from a checkpoint
        self.t0 = time.monotonic()
        self.stop = _StopFlag()
        self.probe_at = set(schedule_steps(config.probe_every, self.total).tolist()) \
            if writer.has_layers else set()
        self.jac_at = set(schedule_steps(config.jacobian_every, self.total, jacobian=True,
                                         flag="--jacobian-every").tolist()) \
            if writer.has_jacobian else set()
        self.probe_x = scale_inputs(data.probe[0], self.dtype, config.input_scale)
        self.probe_y = data.probe[1]
        self.edges = None
        if writer.has_layers:
            from glorotcli.stats.probes import default_edges

            self.edges = default_edges(config.activation, config.probe_bins, init=config.init)

    # -- pieces ----------------------------------------------------------------------
    def wall(self) -> float:
        return self.t_offset + time.monotonic() - self.t0

    def state(self) -> dict:
        return {"loss_sum": self.loss_sum, "loss_n": self.loss_n, "wall_time": self.wall(),
                "probe_seconds": self.probe_s, "jacobian_seconds": self.jac_s,
                "eval_seconds": self.eval_s, "last_valid": self.last_valid,
                "last_test": self.last_test, "last_loss": self.last_loss, "best": self.best,
                "first_loss": self.first_loss,
                "examples_seen": self.step * self.cfg.batch_size,
                "param_sums": _param_sums(self.net.W, self.net.b)}

    def rng_state(self) -> dict:
        ss = np.random.SeedSequence(self.cfg.seed)
        return {"seed": self.cfg.seed, "entropy": ss.entropy, "streams": list(STREAMS),
                "spawn": "SeedSequence(seed).spawn(5)", "source": "online" if self.cfg.online
                else "file", "position": self.step * self.cfg.batch_size,
                "n_train": self.data.n_train}

    def checkpoint(self) -> None:
        with self.stop.critical():
            self.w.checkpoint(step=self.step, W=self.net.W, b=self.net.b, rng=self.rng_state(),
                              state=self.state())
        self.last_ckpt = time.monotonic()

    def evaluate(self, split: tuple[np.ndarray, np.ndarray] | None) -> float:
        if split is None:
            return math.nan
        with _threads(self.threads, blas=True):
            return self._evaluate(split)

    def _evaluate(self, split: tuple[np.ndarray, np.ndarray]) -> float:
        x, y = split
        n = len(y) if self.cfg.eval_size is None else min(self.cfg.eval_size, len(y))
        wrong = 0
        for a in range(0, n, EVAL_BATCH):
            b = min(a + EVAL_BATCH, n)
            xs = scale_inputs(x[a:b], self.dtype, self.cfg.input_scale)
            _, err = self.sgd.evaluate(xs, y[a:b], batch=EVAL_BATCH)
            wrong += round(err * (b - a))
        return wrong / max(n, 1)

    def probe(self) -> None:
        from glorotcli.stats.probes import measure

        t = time.monotonic()
        with _threads(self.threads, blas=True):
            r = measure(self.net, self.probe_x, self.probe_y, cost=self.cfg.cost,
                        lr=self.cfg.lr, edges=self.edges)
        self.w.layers(step=self.step, examples_seen=self.step * self.cfg.batch_size,
                      stats=r.stats, hist=r.hist, grad_ratio=r.grad_ratio,
                      update_ratio=r.update_ratio)
        self.probe_s += time.monotonic() - t

    def jacobian(self) -> None:
        from glorotcli.stats.jacobian import jacobian_singular_values

        t = time.monotonic()
        with _threads(self.threads, blas=True):
            sv_mean, sv_std, sv = jacobian_singular_values(
                self.net, self.probe_x, n_examples=self.cfg.jacobian_examples)
        self.w.jacobian(step=self.step, sv_mean=sv_mean, sv_std=sv_std, sv=sv)
        self.jac_s += time.monotonic() - t

    def log_row(self, evaluate: bool) -> None:
        valid = test = math.nan
        if evaluate:
            t = time.monotonic()
            valid = self.evaluate(self.data.valid)
            test = self.evaluate(self.data.test)
            self.eval_s += time.monotonic() - t
            self.last_valid, self.last_test = valid, test
            if math.isfinite(valid) and not (valid >= self.best["valid"]):
                self.best = {"valid": valid, "step": self.step, "test": test}
        loss = self.loss_sum / self.loss_n if self.loss_n else math.nan
        if self.loss_n:
            self.last_loss = loss
        self.loss_sum, self.loss_n = 0.0, 0
        self.w.log(step=self.step, examples_seen=self.step * self.cfg.batch_size,
                   train_loss=loss, valid_error=valid, test_error=test, wall_time=self.wall(),
                   probe_seconds=self.probe_s, jacobian_seconds=self.jac_s,
                   eval_seconds=self.eval_s)

    def measure_now(self, first: bool) -> None:
        """Everything scheduled at the current step (probes before evaluation)."""
        s = self.step
        if s in self.probe_at:
            self.probe()
        if s in self.jac_at:
            self.jacobian()
        ev = self.cfg.eval_every
        evaluate = first or s == self.total or (ev > 0 and s % ev == 0)
        if evaluate or first or s % self.cfg.log_every == 0:
            if not first:
                self._check_weights()
            self.log_row(evaluate)

    def _check_weights(self) -> None:
        for W, b in zip(self.net.W, self.net.b, strict=True):
            if not (np.isfinite(W).all() and np.isfinite(b).all()):
                self._diverged("the weights are no longer finite", None)

    def _diverged(self, what: str, x: np.ndarray | None) -> None:
        where = _first_bad_layer(self.net, x)
        self.w.log(step=self.step, examples_seen=self.step * self.cfg.batch_size,
                   train_loss=math.nan, wall_time=self.wall(), probe_seconds=self.probe_s,
                   jacobian_seconds=self.jac_s, eval_seconds=self.eval_s)
        self.w.close("diverged")
        raise RunFailed(f"{self.w.path}: diverged at step {self.step}: {what}; {where} "
                        f"(try a smaller --lr than {self.cfg.lr:g}); rows logged so far are kept")

    def report(self, t_start: float, s_start: int, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last_report < REPORT_SECONDS:
            return
        self._last_report = now
        rate = (self.step - s_start) / max(now - t_start, 1e-9)
        loss = self.loss_sum / self.loss_n if self.loss_n else self.last_loss
        # no rate before this process has made a step (a fresh start or a resume)
        info: dict = {"steps/s": round(rate, 1)} if self.step > s_start else {}
        info["loss"] = loss
        if math.isfinite(self.last_valid):
            info["valid"] = f"{100 * self.last_valid:.2f}%"
        self.progress("train", self.step, self.total, **info)

    # -- the loop ---------------------------------------------------------------------
    def run(self, stop: _StopFlag) -> None:
        cfg = self.cfg
        self.stop = stop
        B = cfg.batch_size
        source = self.data.source_at(self.step * B)
        self.last_ckpt = time.monotonic()
        self._last_report = 0.0
        if self.fresh:
            self.measure_now(first=True)
            self.checkpoint()  # the initial state: a run killed at any moment can resume
        t_start, s_start = time.monotonic(), self.step
        self.report(t_start, s_start, force=True)
        lr, dtype, scale, step = cfg.lr, self.dtype, cfg.input_scale, self.sgd.step
        while self.step < self.total:
            if stop.requested():
                self.checkpoint()
                if self.w.last_log_step != self.step:
                    # after the checkpoint, so a resumed run drops it again: every report
                    # then shows the step the run stopped at, and resuming stays exact
                    self.log_row(evaluate=False)
                self.w.close("interrupted")
                raise Interrupted(self.w.path, self.step, True, stop.signum,
                                  self.result("interrupted"))
            xb, yb = source.batch(self.step * B, B)
            x = scale_inputs(xb, dtype, scale)
            with np.errstate(all="ignore"):
                loss = step(x, yb, lr)
            self.step += 1
            if self.follow is not None:
                self.sgd.fused_threads = self.follow()
            if not math.isfinite(loss):
                self._diverged(f"the training loss is {loss}", x)
            if not loss <= BLOWUP_FACTOR * self.first_loss:  # also true when first_loss is NaN
                if math.isnan(self.first_loss):
                    self.first_loss = loss
                else:
                    self._diverged(f"the training loss is {loss:.3g}, more than "
                                   f"{BLOWUP_FACTOR:g} times the first update's "
                                   f"{self.first_loss:.3g}", x)
            self.loss_sum += loss
            self.loss_n += 1
            self.measure_now(first=False)
            if time.monotonic() - self.last_ckpt >= cfg.checkpoint_seconds:
                self.checkpoint()
            self.report(t_start, s_start)
        self.checkpoint()
        self.report(t_start, s_start, force=True)

    def result(self, status: str) -> TrainResult:
        wall = self.wall()
        run_steps = self.step
        return TrainResult(
            path=str(self.w.path), status=status, steps=run_steps, total_steps=self.total,
            examples_seen=run_steps * self.cfg.batch_size, train_loss=self.last_loss,
            valid_error=self.last_valid, test_error=self.last_test,
            best_valid_error=self.best["valid"], best_valid_step=self.best["step"],
            test_error_at_best_valid=self.best["test"],
            majority_error=self.data.meta.get("majority_error"), wall_seconds=wall,
            probe_seconds=self.probe_s, jacobian_seconds=self.jac_s, eval_seconds=self.eval_s,
            probe_fraction=self.probe_s / wall if wall > 0 else math.nan,
            steps_per_second=self._rate(), threads=self.threads)

    def _rate(self) -> float:
        t = self.wall() - self.probe_s - self.jac_s - self.eval_s
        return self.step / t if t > 0 else math.nan


def _drive(trainer: _TrainingRun) -> TrainResult:
    """Run the loop, turning interruptions into a closed, resumable file."""
    w = trainer.w
    try:
        with _stop_requests() as stop:
            trainer.run(stop)
    except Interrupted:
        raise
    except KeyboardInterrupt:  # a second Ctrl-C, mid-step: keep the last checkpoint
        if not w.closed:
            w.close("interrupted", remove_if_empty=True)
        raise Interrupted(w.path, trainer.step, False, trainer.stop.signum,
                          trainer.result("interrupted")) from None
    except RunFailed:
        raise
    except DiskFull as exc:  # nothing was written: the file stays consistent
        w.abandon("interrupted")
        raise GlorotError(f"{exc}; the run stopped at its last checkpoint: free some space, "
                          f"then: glorot train --resume {w.path}") from None
    except WriteFailed as exc:  # HDF5 failed a write: the file is left as it is on disk
        raise WriteFailed(f"{exc}; the file keeps its last checkpoint: glorot train --resume "
                          f"{w.path}") from None
    except BaseException:
        if not w.closed:
            w.close("interrupted", remove_if_empty=True)
        raise
    result = trainer.result("finished")
    w.close("finished")
    return result


def train(config: TrainConfig, output: str | Path, *, data: TrainData | None = None,
          force: bool = False, progress: Progress = no_progress) -> TrainResult:
    """Train a new net as ``config`` says, writing the run file ``output``.

    Raises GlorotError for bad settings or data (before any work), RunFailed on divergence
    (the file keeps what was logged, status "diverged"), ``Interrupted`` (a KeyboardInterrupt)
    on Ctrl-C/SIGTERM after checkpointing (status "interrupted").
    """
    config.validate()
    from glorotcli.fileio import check_output_path

    output = check_output_path(output, force)
    data = data or load_data(config, progress)
    config, _ = fit_to_data(config, data)
    streams = seed_streams(config.seed)
    sizes = (data.input_size,) + config.sizes_hidden + (data.n_classes,)
    with _threads(config.threads) as threads:
        net = init_mlp(sizes, config.activation, config.init,
                       np.random.default_rng(streams["init"]), dtype=np.dtype(config.dtype))
        from glorotcli.run.pretrain import start_from_pretrained

        pretrained = start_from_pretrained(config, net)  # --init-from: the hidden layers
        probes_on = parse_schedule(config.probe_every, "--probe-every")[0] != "none"
        jac_on = (parse_schedule(config.jacobian_every, "--jacobian-every")[0] != "none"
                  and config.depth >= 2 and probes_on)
        edges = None
        if probes_on:
            from glorotcli.stats.probes import default_edges

            edges = default_edges(config.activation, config.probe_bins, init=config.init)
        writer = RunWriter.create(
            output, config=config.to_dict(), sizes=sizes, activation=config.activation,
            init=config.init, seed=config.seed, dataset=data.meta,
            input_scale=config.input_scale, probe_x=data.probe[0], probe_y=data.probe[1],
            init_W=net.W, init_b=net.b, edges=edges,
            jacobian_k=config.width if jac_on else 0, force=force,
            extra_attrs={"threads": threads, "probe_source": data.probe_source,
                         "total_steps": config.total_steps(data.n_train), **pretrained})
        trainer = _TrainingRun(config, data, writer, net, 0, {}, threads, progress)
        return _drive(trainer)


def load_config(path: str | Path) -> TrainConfig:
    """The settings stored in a run file (for ``--resume``)."""
    run = read_run(path)
    try:
        config = TrainConfig.from_dict(run.config)
    except TypeError as exc:
        raise GlorotError(f"{path}: the stored training settings are damaged ({exc})") from None
    # A relative --data path may not resolve from another folder: use the absolute one stored
    # with the dataset description when it still exists.
    stored = run.dataset.get("path")
    if config.data and not Path(config.data).exists() and stored and Path(stored).exists():
        config = config.replace(data=stored)
    return config


def resume(path: str | Path, config: TrainConfig | None = None, *,
           data: TrainData | None = None, progress: Progress = no_progress,
           take_over: bool = False) -> TrainResult:
    """Continue the run in ``path`` from its last checkpoint, appending to the same file.

    ``config`` may differ from the stored settings only in where the data lives, the length
    (``steps``/``epochs``), ``threads`` and the checkpoint interval; the CLI enforces that.
    ``take_over``: see ``RunWriter.resume`` (used by sweeps on a cluster).
    """
    path = Path(path)
    stored = load_config(path)
    config = (config or stored).validate()
    run = read_run(path)
    sizes = tuple(run.sizes)
    data = data or load_data(config, progress)
    check_data_matches(path, sizes, data)
    config, _ = fit_to_data(config, data)
    total = config.total_steps(data.n_train)
    if run.status == "diverged":
        last = int(run.log["step"][-1]) if len(run.log["step"]) else 0
        raise GlorotError(f"{path}: diverged at step {last}; resuming would diverge again the "
                          f"same way: train it again with a smaller --lr than {stored.lr:g}")
    if run.checkpoint_step < 0:
        why = (" yet (is glorot train still writing it? the first checkpoint comes right "
               "after step 0)" if run.live_status == "running" else "")
        raise GlorotError(f"{path}: has no checkpoint to resume from{why}")
    if run.checkpoint_step >= total:
        raise GlorotError(f"{path}: already trained for {run.checkpoint_step} steps; give a "
                          f"larger --steps or --epochs to continue it")
    ck = read_checkpoint(path)
    sums = ck.state.get("param_sums")
    if sums is not None and sums != _param_sums(ck.W, ck.b):
        raise GlorotError(f"{path}: the checkpoint is damaged (the writer was stopped while "
                          f"writing it); the run cannot be resumed")
    with _threads(config.threads) as threads:
        writer = RunWriter.resume(path, update_attrs={
            "config": config.to_json(), "threads": threads, "total_steps": total},
            take_over=take_over)
        try:
            ck = writer.read_checkpoint()
            net = mlp.MLP(sizes, config.activation, [np.ascontiguousarray(w) for w in ck.W],
                          [np.ascontiguousarray(b) for b in ck.b])
            trainer = _TrainingRun(config, data, writer, net, ck.step, ck.state, threads, progress)
        except BaseException:
            writer.close("interrupted")
            raise
        return _drive(trainer)


def check_data_matches(path: Path, sizes: tuple[int, ...], data: TrainData) -> None:
    """Refuse data whose input size or class count differs from the run's network."""
    if data.input_size != sizes[0]:
        raise GlorotError(f"{path}: the run's network takes {sizes[0]} inputs, but the data has "
                          f"{data.input_size} pixels per example")
    if data.n_classes != sizes[-1]:
        raise GlorotError(f"{path}: the run's network has {sizes[-1]} classes, but the data has "
                          f"{data.n_classes}")
