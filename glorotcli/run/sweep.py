"""Sweeps: a grid of training runs in one folder, and the paper's learning-rate selection.

The paper (Glorot & Bengio 2010, §2.3) trains each network with several learning rates and
keeps the one with the best validation error. ``run_sweep`` trains every configuration of a
grid (``glorotcli.run.grid``) into ``FOLDER/NAME.h5`` on an executor (a local process pool or
Dask distributed, ``glorotcli.run.executors``), and ``summarize`` reads the run files back and
makes the selection, written atomically to ``FOLDER/sweep.json`` (format: ``docs/formats.md``).

Everything a sweep knows is in its run files, so it can be stopped and restarted at any time:

- a finished run is skipped (one finished with fewer updates than asked is extended);
- an interrupted run, or one whose writer died, resumes from its last checkpoint (every run is
  checkpointed at step 0, so this holds from the first second);
- a run that diverged is recorded as diverged, kept out of the selection, and not retried.

Pre-training (blocks with ``pretrain = true``, ``glorotcli.run.grid``): the pre-trainings run
first, on the same executor and by the same rules (finished: skipped; interrupted: resumed),
then the runs that start from them.

Selection (per network: every setting but the rate): among the candidates that finished, the
lowest *best* validation error over the run wins (the test error reported is the one measured
at that same evaluation: Table 1's "test error at the best validation step", our reading);
ties go to the lower final validation error, then to the smaller rate. Candidates that diverged
or have not finished are listed with their status and never selected.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from glorotcli import __version__
from glorotcli.config import PRETRAIN_RESUMABLE, PretrainConfig, TrainConfig
from glorotcli.errors import GlorotError, RunFailed
from glorotcli.run.grid import GridRun, PretrainRun, differing_settings

SUMMARY = "sweep.json"
FORMAT = "glorot-sweep"
FORMAT_VERSION = 1
MAX_ATTEMPTS = 4
"""Times a run is started before a sweep gives up on it (its worker process died each time)."""
POLL_SECONDS = 1.0

STEP_FLOPS_PER_PARAM = 6
"""Floating-point operations per parameter per example of an SGD step (forward 2, backward 4)."""
EFFECTIVE_FLOPS = 5.0e10
"""Training speed per core measured on this project's machine (2 cores, two 1-thread runs at
once: 60,000 updates of the 784-1000x5-10 net at minibatch 10, with 14 evaluations on 20,000
examples, in 375 s of wall time); for estimates only."""


# ------------------------------------------------------------------------ state ----

@dataclass
class RunState:
    """What a run file says about one grid configuration."""

    name: str
    path: Path
    exists: bool = False
    status: str = "missing"
    checkpoint_step: int = -1
    live_writer: bool = False
    config: TrainConfig | None = None


def run_state(run: GridRun, folder: Path) -> RunState:
    """Read the state of ``run``'s file in ``folder`` (without opening it for writing)."""
    from glorotcli.stats.runlog import read_run

    path = folder / f"{run.name}.h5"
    st = RunState(run.name, path)
    if not path.exists():
        return st
    data = read_run(path)
    st.exists = True
    st.status = data.status
    st.checkpoint_step = data.checkpoint_step
    st.live_writer = data.writer_alive
    try:
        st.config = TrainConfig.from_dict(data.config)
    except (TypeError, GlorotError) as exc:
        raise GlorotError(f"{path}: stored settings are not readable ({exc})") from None
    return st


@dataclass
class Plan:
    """What a sweep will do: ``todo`` (train, resume or extend) and what it leaves alone."""

    todo: list[GridRun] = field(default_factory=list)
    done: list[str] = field(default_factory=list)
    busy: list[str] = field(default_factory=list)
    actions: dict[str, str] = field(default_factory=dict)
    start_step: dict[str, int] = field(default_factory=dict)
    """Step each ``todo`` run starts from (its checkpoint; 0 for a new run)."""


def make_plan(grid: Sequence[GridRun], folder: Path, n_train: Callable[[TrainConfig], int | None]
              ) -> Plan:
    """Decide for every configuration: new, resume, extend, done, or busy (another live process
    writes it). Raises GlorotError when a file of the same name holds other settings."""
    plan = Plan()
    for run in grid:
        st = run_state(run, folder)
        if not st.exists:
            plan.todo.append(run)
            plan.actions[run.name] = "new"
            continue
        if st.config is not None:
            diff = differing_settings(st.config, run.config)
            if diff:
                raise GlorotError(f"{st.path}: exists with other settings ({', '.join(diff)} "
                                  f"differ); move it away or sweep into another folder")
        if st.live_writer:
            plan.busy.append(run.name)
            plan.actions[run.name] = "busy"
            continue
        want = run.config.total_steps(n_train(run.config))
        if st.status == "diverged" or (st.status == "finished" and st.checkpoint_step >= want):
            plan.done.append(run.name)
            plan.actions[run.name] = st.status
            continue
        plan.todo.append(run)
        plan.start_step[run.name] = max(st.checkpoint_step, 0)
        plan.actions[run.name] = ("extend" if st.status == "finished" else
                                  "resume" if st.checkpoint_step >= 0 else "restart")
    return plan


def make_pretrain_plan(pretrains: Sequence[PretrainRun], folder: Path) -> Plan:
    """As ``make_plan``, for the pre-trainings of a grid (``grid.pretrainings``): new, resume,
    done (finished, or diverged: its runs then fail with its message), or busy. Raises
    GlorotError when a file of the same name holds other settings."""
    from glorotcli.stats.runlog.pretrained import read_pretrain

    plan = Plan()
    for pre in pretrains:
        path = folder / f"{pre.name}.h5"
        if not path.exists():
            plan.todo.append(pre)
            plan.actions[pre.name] = "new"
            continue
        data = read_pretrain(path)
        try:
            stored = PretrainConfig.from_dict(data.config)
        except (TypeError, GlorotError) as exc:
            raise GlorotError(f"{path}: stored settings are not readable ({exc})") from None
        diff = [k for k in data.config if k not in PRETRAIN_RESUMABLE
                and getattr(stored, k) != getattr(pre.config, k)]
        if diff:
            raise GlorotError(f"{path}: exists with other settings ({', '.join(diff)} differ); "
                              f"move it away or sweep into another folder")
        if data.writer_alive:
            plan.busy.append(pre.name)
            plan.actions[pre.name] = "busy"
        elif data.status in ("finished", "diverged"):
            plan.done.append(pre.name)
            plan.actions[pre.name] = data.status
        else:
            plan.todo.append(pre)
            plan.start_step[pre.name] = max(data.checkpoint_step, 0)
            plan.actions[pre.name] = "resume" if data.checkpoint_step >= 0 else "restart"
    return plan


# --------------------------------------------------------------------- one run ----

@dataclass(frozen=True)
class Job:
    """One run for a worker: picklable, self-contained (the worker re-reads the file)."""

    name: str
    path: str
    config: dict
    take_over: bool = False
    """Resume a file whose recorded writer is on another host (Dask: the scheduler resubmits
    a task only when its worker is gone)."""
    kind: str = "train"
    """``train``, or ``pretrain`` (``config`` is then a ``PretrainConfig``'s)."""


def run_job(job: Job) -> dict:
    """Train, resume or extend one run of a sweep; the worker-side entry point.

    Decides from the file itself what to do, so a job resubmitted after its worker died resumes
    from the last checkpoint. Returns ``{"name", "status", "error"}``; divergence and bad input
    are outcomes, not exceptions. Runs on one thread unless the config says otherwise.
    """
    from glorotcli.run.train import Interrupted

    try:
        status = (_pretrain_status if job.kind == "pretrain" else _train_status)(job)
    except Interrupted:
        return {"name": job.name, "status": "interrupted", "error": None}
    except RunFailed as exc:
        return {"name": job.name, "status": "diverged", "error": str(exc)}
    except GlorotError as exc:
        return {"name": job.name, "status": "failed", "error": str(exc)}
    return {"name": job.name, "status": status, "error": None}


def _train_status(job: Job) -> str:
    """``run_job`` for a training run: make it, resume or extend it, or leave a finished one
    alone; returns the run's status. Raises as ``train`` and ``resume``."""
    from glorotcli.run import train as core
    from glorotcli.stats.runlog import read_run

    config = TrainConfig.from_dict(job.config)
    path = Path(job.path)
    if not path.exists():
        return core.train(config, path).status
    run = read_run(path)
    if run.checkpoint_step < 0:  # died before its step-0 checkpoint: nothing to keep
        return core.train(config, path, force=True).status
    data = core.load_data(config)
    if run.checkpoint_step >= config.total_steps(data.n_train):
        return run.status
    return core.resume(path, config, data=data, take_over=job.take_over).status


def _pretrain_status(job: Job) -> str:
    """``run_job`` for a pre-training: make it, resume it, or leave a finished one alone;
    returns its status. Raises as ``pretrain`` and ``resume``."""
    from glorotcli.run import pretrain as core
    from glorotcli.stats.runlog.pretrained import read_pretrain

    config = PretrainConfig.from_dict(job.config)
    path = Path(job.path)
    if not path.exists():
        return core.pretrain(config, path).status
    data = read_pretrain(path)
    if data.status == "finished":
        return "finished"
    if data.checkpoint_step < 0:
        return core.pretrain(config, path, force=True).status
    return core.resume(path, config).status


# ------------------------------------------------------------------- selection ----

def candidate(run: GridRun, folder: Path) -> dict:
    """A grid run as a learning-rate candidate: its status and errors (fractions) from the
    run file, or status "missing"."""
    from glorotcli.stats.runlog import run_info

    path = folder / f"{run.name}.h5"
    c: dict = {"name": run.name, "file": path.name, "lr": run.config.lr, "status": "missing",
               "steps": 0, "total_steps": None, "best_valid_error": None,
               "best_valid_step": None, "test_error_at_best_valid": None,
               "final_valid_error": None, "final_test_error": None, "wall_seconds": None}
    if not path.exists():
        return c
    try:
        info = run_info(path)
    except GlorotError as exc:
        c.update(status="unreadable", error=str(exc))
        return c
    status = info["status"]  # "interrupted" also for a run whose writer was killed
    c.update(status=status, steps=info["last_step"] or 0,
             total_steps=run.config.total_steps(info["dataset"].get("n_train")),
             best_valid_error=info.get("best_valid_error"),
             best_valid_step=info.get("best_valid_step"),
             test_error_at_best_valid=info.get("test_error_at_best_valid"),
             final_valid_error=info.get("last_valid_error"),
             final_test_error=info.get("last_test_error"),
             wall_seconds=info.get("wall_seconds"))
    return c


def select(candidates: Sequence[dict]) -> tuple[dict | None, str]:
    """The selected candidate and why (see the module docstring), or (None, reason)."""
    usable = [c for c in candidates
              if c["status"] == "finished" and c["best_valid_error"] is not None]
    if not usable:
        if candidates and all(c["status"] == "diverged" for c in candidates):
            return None, "every learning rate diverged"
        return None, "no candidate has finished yet"

    def key(c: dict) -> tuple:
        final = c["final_valid_error"]
        return (c["best_valid_error"], math.inf if final is None else final, c["lr"])

    best = min(usable, key=key)
    ties = [c for c in usable if c["best_valid_error"] == best["best_valid_error"]]
    why = "lowest validation error"
    if len(ties) > 1:
        why += f" (tied with {len(ties) - 1} other rate(s): lower final validation error, " \
               f"then the smaller rate, wins)"
    return best, why


def summarize(grid: Sequence[GridRun], folder: Path, *, recipe: str | None = None,
              command: Sequence[str] = (), wall_seconds: float | None = None) -> dict:
    """The sweep summary (``sweep.json``): the grid, every candidate, the selection per
    network. Errors are fractions in [0, 1]; ``null`` where not measured."""
    networks: dict[tuple, list[GridRun]] = {}
    for run in grid:
        networks.setdefault(run.network, []).append(run)
    out_networks = []
    runs_out = {}
    for runs in networks.values():
        cands = sorted((candidate(r, folder) for r in runs), key=lambda c: c["lr"])
        for c in cands:
            runs_out[c["name"]] = c
        best, why = select(cands)
        cfg = runs[0].config
        pending = [c["name"] for c in cands if c["status"] not in ("finished", "diverged")]
        out_networks.append({
            "network": network_label(runs[0]),
            "data": runs[0].data_tag,
            "activation": cfg.activation, "init": cfg.init, "depth": cfg.depth,
            "width": cfg.width, "batch_size": cfg.batch_size, "cost": cfg.cost,
            "seed": cfg.seed,
            "candidates": [c["name"] for c in cands],
            "learning_rates": [c["lr"] for c in cands],
            "selected": None if best is None else best["name"],
            "lr": None if best is None else best["lr"],
            "valid_error": None if best is None else best["best_valid_error"],
            "test_error": None if best is None else best["test_error_at_best_valid"],
            "best_valid_step": None if best is None else best["best_valid_step"],
            "final_test_error": None if best is None else best["final_test_error"],
            "steps": None if best is None else best["steps"],
            "reason": why,
            "complete": not pending,
            "pending": pending,
        })
    wall = [c["wall_seconds"] for c in runs_out.values() if c["wall_seconds"]]
    return {
        "format": FORMAT, "format_version": FORMAT_VERSION, "glorot_version": __version__,
        "updated": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "recipe": recipe, "command": list(command),
        "selection": "lowest best validation error among finished candidates; ties: lower "
                     "final validation error, then the smaller rate",
        "grid": [{"name": r.name, "config": r.config.to_dict()} for r in grid],
        "runs": runs_out,
        "networks": out_networks,
        "cost": {"run_seconds_total": float(sum(wall)) if wall else 0.0,
                 "sweep_wall_seconds": wall_seconds},
    }


def network_label(run: GridRun) -> str:
    """"Tanh N depth 5, 1000 units, online" style label of a network (all but the rate)."""
    from glorotcli.report.paper import PRETRAINING_LABEL, row_label

    c = run.config
    name = row_label(c.activation, c.init)
    if c.init_from:
        name = f"{PRETRAINING_LABEL} ({name})"
    label = f"{name}, {c.depth} x {c.width}, {run.data_tag}"
    if c.batch_size != TrainConfig.batch_size:
        label += f", batch {c.batch_size}"
    if c.seed != TrainConfig.seed:
        label += f", seed {c.seed}"
    if c.cost != TrainConfig.cost:
        label += f", {c.cost}"
    return label


def write_summary(summary: dict, folder: Path) -> Path:
    """Write ``sweep.json`` atomically (never half-written under its name)."""
    from glorotcli.fileio import atomic_output

    path = folder / SUMMARY
    with atomic_output(path, force=True) as tmp:
        tmp.write_text(json.dumps(summary, indent=2, sort_keys=False) + "\n")
    return path


def read_summary(folder: Path) -> dict:
    """Read ``FOLDER/sweep.json``; GlorotError naming the file when it is missing or bad."""
    path = Path(folder) / SUMMARY
    if not path.is_file():
        raise GlorotError(f"{folder}: not a sweep folder ({SUMMARY} is missing; make one with "
                          f"glorot sweep -o {folder})")
    try:
        doc = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise GlorotError(f"{path}: not a readable sweep summary ({exc})") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise GlorotError(f"{path}: not a glorot sweep summary (format is "
                          f"{doc.get('format') if isinstance(doc, dict) else None!r})")
    if int(doc.get("format_version", 0)) > FORMAT_VERSION:
        raise GlorotError(f"{path}: sweep format_version {doc['format_version']} is newer than "
                          f"this glorot understands ({FORMAT_VERSION}); upgrade glorot")
    return doc


def merged_grid(grid: Sequence[GridRun], folder: Path) -> list[GridRun]:
    """``grid`` plus the configurations an earlier sweep into ``folder`` recorded, so that the
    summary keeps every network the folder holds (the new grid's settings win on a clash)."""
    from glorotcli.run.grid import GridRun as _GridRun

    try:
        old = read_summary(folder)
    except GlorotError:
        return list(grid)
    names = {r.name for r in grid}
    out = list(grid)
    for entry in old.get("grid", []):
        try:
            if entry["name"] not in names:
                out.append(_GridRun(entry["name"], TrainConfig.from_dict(entry["config"])))
        except (KeyError, TypeError, GlorotError):
            continue
    return out


# -------------------------------------------------------------------- estimates ----

def params(config: TrainConfig, n_in: int, n_out: int) -> int:
    sizes = (n_in,) + config.sizes_hidden + (n_out,)
    return sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:], strict=True))


def estimate_seconds(config: TrainConfig, n_in: int, n_out: int, n_train: int | None,
                     n_eval: int, start: int = 0) -> float:
    """Rough single-core seconds for one run from step ``start`` to its end: SGD steps plus
    evaluations on ``n_eval`` examples (valid + test) every ``eval_every`` steps, at
    ``EFFECTIVE_FLOPS``."""
    p = params(config, n_in, n_out)
    steps = max(config.total_steps(n_train) - start, 0)
    train = steps * config.batch_size * p * STEP_FLOPS_PER_PARAM
    evals = (steps // config.eval_every + 2) if config.eval_every else 2
    return (train + evals * n_eval * p * 2) / EFFECTIVE_FLOPS


# ------------------------------------------------------------------ the driver ----

@dataclass
class Outcome:
    name: str
    status: str
    error: str | None = None


class Executor:
    """What ``run_sweep`` needs of a pool: submit jobs, hear which finished, stop."""

    workers: int

    def submit(self, job: Job) -> None: ...

    def poll(self) -> list[tuple[Job, dict | BaseException]]:
        """Jobs that ended since the last call, with their result or the exception."""
        ...

    def running(self) -> list[Job]: ...

    def interrupt(self) -> None:
        """Ask running jobs to checkpoint and stop."""

    def close(self) -> None: ...


@dataclass
class SweepEvent:
    """A message from the driver: a run started or ended, or a periodic tick."""

    kind: str  # "start", "end", "tick", "retry"
    name: str = ""
    status: str = ""
    error: str | None = None
    done: int = 0
    running: int = 0
    left: int = 0
    steps_done: int = 0
    steps_total: int = 0
    steps_per_second: float = math.nan


def run_sweep(todo: Sequence[GridRun | PretrainRun], folder: Path, executor: Executor, *,
              n_train: Callable[[TrainConfig], int | None],
              on_event: Callable[[SweepEvent], None] = lambda e: None,
              take_over: bool = False, already_done: int = 0) -> list[Outcome]:
    """Run ``todo`` on ``executor`` (at most ``executor.workers`` at once), resubmitting a job
    whose worker died (up to ``MAX_ATTEMPTS`` starts). Progress is read from the run files, so
    it works the same for a local pool and a cluster that shares the folder.

    Raises KeyboardInterrupt after asking the running jobs to checkpoint and waiting for them.
    """
    pending = [Job(r.name, str(folder / f"{r.name}.h5"), r.config.to_dict(), take_over,
                   "pretrain" if isinstance(r, PretrainRun) else "train") for r in todo]
    totals = {r.name: r.config.total_steps if isinstance(r, PretrainRun)
              else r.config.total_steps(n_train(r.config)) for r in todo}
    attempts = {j.name: 0 for j in pending}
    outcomes: list[Outcome] = []
    start_steps = {r.name: _logged_step(folder / f"{r.name}.h5") for r in todo}
    t0 = time.monotonic()

    def fill() -> None:
        while pending and len(executor.running()) < executor.workers:
            job = pending.pop(0)
            attempts[job.name] += 1
            executor.submit(job)
            on_event(SweepEvent("start", job.name))

    def tick() -> None:
        running = {j.name for j in executor.running()}  # only their files are read
        steps = {n: totals[n] if n in finished else _logged_step(folder / f"{n}.h5")
                 if n in running else start_steps[n] for n in totals}
        done_now = sum(steps.values())
        progress_now = sum(steps[n] - start_steps[n] for n in totals)
        elapsed = time.monotonic() - t0
        on_event(SweepEvent("tick", done=already_done + len(finished),
                            running=len(executor.running()), left=len(pending),
                            steps_done=done_now, steps_total=sum(totals.values()),
                            steps_per_second=progress_now / elapsed if elapsed > 0 else math.nan))

    finished: set[str] = set()
    try:
        fill()
        while pending or executor.running():
            for job, res in executor.poll():
                if isinstance(res, BaseException):
                    if attempts[job.name] < MAX_ATTEMPTS and not isinstance(res, GlorotError):
                        pending.insert(0, job)  # its worker died: resume it
                        on_event(SweepEvent("retry", job.name, error=_short(res)))
                        continue
                    res = {"name": job.name, "status": "failed", "error": _short(res)}
                finished.add(job.name)
                out = Outcome(job.name, res["status"], res.get("error"))
                outcomes.append(out)
                on_event(SweepEvent("end", job.name, out.status, out.error,
                                    done=already_done + len(finished)))
            fill()
            tick()
            time.sleep(POLL_SECONDS)
    except KeyboardInterrupt:
        executor.interrupt()
        raise
    finally:
        executor.close()
    tick()
    return outcomes


def _logged_step(path: Path) -> int:
    """The last logged step of a run file (of a pre-training file: its updates over all
    layers), 0 when it cannot be read (yet)."""
    import h5py

    try:
        with h5py.File(path, "r", libver="latest", swmr=True) as f:
            s = f["log/step"]
            n = len(s)
            if not n:
                return 0
            if "log/layer" in f:  # a pre-training file: layer k's step t
                spl = json.loads(f.attrs["config"])["steps_per_layer"]
                return (int(f["log/layer"][n - 1]) - 1) * int(spl) + int(s[n - 1])
            return int(s[n - 1])
    except (OSError, KeyError, ValueError, IndexError, TypeError):
        return 0


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[-1] if text else ''}".rstrip(": ")
