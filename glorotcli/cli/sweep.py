"""``glorot sweep``: a grid of training runs into one folder, with the paper's learning-rate
selection, on a local process pool or a Dask cluster."""

from __future__ import annotations

import math
import os
import sys
import time
from pathlib import Path
from typing import Annotated

import typer

from glorotcli.cli.choices import Activation, Cost, Init, value
from glorotcli.cli.ui import duration, print_json, print_path, stderr
from glorotcli.config import ACTIVATIONS, COSTS, INITS
from glorotcli.errors import GlorotError, RunFailed

app = typer.Typer()
"""This module's commands; ``glorotcli.cli.app`` adds them to the ``glorot`` command."""

SWEEP_HELP = (
    "Train a grid of networks into a folder and select each network's learning rate on "
    "validation, as the paper does (one run file per configuration, named from it, and "
    "sweep.json with the selection).\n\n"
    "The grid comes from a recipe (--recipe NAME or FILE.toml; --list-recipes) or from "
    "repeatable flags: every value of -a, -i, --depth, --width, --batch-size, --lr, --seed, "
    "--cost is combined with every other. Flags given with a recipe replace the recipe's "
    "values. Re-running the same command skips finished runs and resumes interrupted ones "
    "from their last checkpoint; a changed grid adds only the missing runs. A run that "
    "diverges is recorded and left out of the selection.\n\n"
    "Runs go to a local pool of --jobs processes (one thread each), or to a Dask cluster with "
    "--scheduler ADDRESS (pip install 'glorot[dask]'). Prints the folder on stdout.\n\n"
    "Examples:\n\n"
    "  glorot sweep --recipe quick --data mnist.h5 -o runs/quick\n\n"
    "  glorot sweep --online -i standard -i normalized --lr 0.01 --lr 0.1 -o tanh\n\n"
    "  glorot sweep --recipe fig2 -o runs/fig2 && glorot report runs/fig2 --png figs\n\n"
    "  glorot sweep --recipe paper --data mnist.h5 -o p --scheduler tcp://head:8786"
)

_NET = "Grid (each value of a repeatable flag is combined with every other)"
_RUN = "Settings of every run (as in glorot train)"
_WHERE = "Where and how"


@app.command("sweep", help=SWEEP_HELP)
def sweep_cmd(
    output: Annotated[Path | None, typer.Option(
        "-o", "--output", metavar="DIR", show_default=False, rich_help_panel=_WHERE,
        help="Sweep folder (created if missing).")] = None,
    recipe: Annotated[str | None, typer.Option(
        "--recipe", metavar="NAME|FILE", show_default=False, rich_help_panel=_WHERE,
        help="A shipped recipe (see --list-recipes) or a TOML file.")] = None,
    list_recipes: Annotated[bool, typer.Option(
        "--list-recipes", rich_help_panel=_WHERE,
        help="List the shipped recipes and exit.")] = False,
    data: Annotated[list[Path] | None, typer.Option(
        "--data", metavar="FILE", show_default=False, rich_help_panel=_NET,
        help="Dataset file (repeatable). With a recipe, files provide the dataset kinds it "
             "names (mnist, cifar10).")] = None,
    online: Annotated[bool, typer.Option(
        "--online", rich_help_panel=_NET,
        help="Online Shapeset-3x2 on the data axis.")] = False,
    skip_data: Annotated[list[str] | None, typer.Option(
        "--skip-data", metavar="KIND", show_default=False, rich_help_panel=_NET,
        help="Leave out a recipe's dataset kind (repeatable).")] = None,
    activation: Annotated[list[Activation] | None, typer.Option(
        "-a", "--activation", metavar="NAME", show_default=False, rich_help_panel=_NET,
        help=f"{', '.join(ACTIVATIONS)} (repeatable).")] = None,
    init: Annotated[list[Init] | None, typer.Option(
        "-i", "--init", metavar="NAME", show_default=False, rich_help_panel=_NET,
        help=f"{', '.join(INITS)} (repeatable).")] = None,
    depth: Annotated[list[int] | None, typer.Option(
        "--depth", metavar="N", min=1, show_default=False, rich_help_panel=_NET,
        help="Hidden layers (repeatable).")] = None,
    width: Annotated[list[int] | None, typer.Option(
        "--width", metavar="N", min=1, show_default=False, rich_help_panel=_NET,
        help="Units per hidden layer (repeatable).")] = None,
    batch_size: Annotated[list[int] | None, typer.Option(
        "--batch-size", metavar="N", min=1, show_default=False, rich_help_panel=_NET,
        help="Minibatch size (repeatable).")] = None,
    lr: Annotated[list[float] | None, typer.Option(
        "--lr", metavar="EPS", show_default=False, rich_help_panel=_NET,
        help="Learning-rate candidates (repeatable).")] = None,
    seed: Annotated[list[int] | None, typer.Option(
        "--seed", metavar="N", min=0, show_default=False, rich_help_panel=_NET,
        help="Seeds (repeatable).")] = None,
    cost: Annotated[list[Cost] | None, typer.Option(
        "--cost", metavar="NAME", show_default=False, rich_help_panel=_NET,
        help=f"{' or '.join(COSTS)} (repeatable).")] = None,
    steps: Annotated[int | None, typer.Option(
        "--steps", metavar="N", min=1, show_default=False, rich_help_panel=_RUN,
        help="SGD updates per run.")] = None,
    epochs: Annotated[float | None, typer.Option(
        "--epochs", metavar="E", show_default=False, rich_help_panel=_RUN,
        help="Length in epochs instead of --steps.")] = None,
    eval_every: Annotated[int | None, typer.Option(
        "--eval-every", metavar="N", min=0, show_default=False, rich_help_panel=_RUN,
        help="Steps between validation/test evaluations.")] = None,
    eval_size: Annotated[int | None, typer.Option(
        "--eval-size", metavar="N", min=1, show_default=False, rich_help_panel=_RUN,
        help="Evaluate on the first N examples only.")] = None,
    probe_every: Annotated[str | None, typer.Option(
        "--probe-every", metavar="WHEN", show_default=False, rich_help_panel=_RUN,
        help="Probe schedule: default, N or none.")] = None,
    jacobian_every: Annotated[str | None, typer.Option(
        "--jacobian-every", metavar="WHEN", show_default=False, rich_help_panel=_RUN,
        help="Jacobian schedule: default, N or none.")] = None,
    online_valid_size: Annotated[int | None, typer.Option(
        "--online-valid-size", metavar="N", min=1, show_default=False, rich_help_panel=_RUN,
        help="Online validation set size.")] = None,
    online_test_size: Annotated[int | None, typer.Option(
        "--online-test-size", metavar="N", min=1, show_default=False, rich_help_panel=_RUN,
        help="Online test set size.")] = None,
    threads: Annotated[int | None, typer.Option(
        "--threads", metavar="N", min=1, show_default="1", rich_help_panel=_RUN,
        help="Threads per run.")] = None,
    jobs: Annotated[int | None, typer.Option(
        "--jobs", "-j", metavar="N", min=1, show_default="the number of cores",
        rich_help_panel=_WHERE, help="Runs at once on this machine.")] = None,
    scheduler: Annotated[str | None, typer.Option(
        "--scheduler", metavar="ADDRESS", show_default=False, rich_help_panel=_WHERE,
        help="Run on this Dask scheduler (tcp://host:8786) instead of a local pool; the "
             "folder must be shared with the workers.")] = None,
    dry_run: Annotated[bool, typer.Option(
        "--dry-run", rich_help_panel=_WHERE,
        help="Show the plan and the time estimate, run nothing.")] = False,
    json_out: Annotated[bool, typer.Option(
        "--json", rich_help_panel=_WHERE,
        help="Print the summary (sweep.json) on stdout instead of the folder.")] = False,
    progress: Annotated[bool, typer.Option(
        "--progress/--no-progress", rich_help_panel=_WHERE,
        help="Progress display on stderr (plain lines every 30 s when stderr is not a "
             "terminal).")] = True,
) -> None:
    from glorotcli.run import grid as gridmod
    from glorotcli.run import recipes, sweep

    if list_recipes:
        _print_recipes()
        return
    if output is None:
        raise GlorotError("give the sweep folder with -o DIR")
    if output.exists() and not output.is_dir():
        raise GlorotError(f"{output}: exists and is not a folder")
    overrides = {k: v for k, v in dict(
        activation=_values(activation), init=_values(init), depth=depth, width=width,
        batch_size=batch_size, lr=lr, seed=seed, cost=_values(cost), steps=steps,
        epochs=epochs, eval_every=eval_every,
        eval_size=eval_size, probe_every=probe_every, jacobian_every=jacobian_every,
        online_valid_size=online_valid_size, online_test_size=online_test_size,
        threads=threads).items() if v is not None and v != []}
    if steps is not None:
        overrides["epochs"] = None  # --steps replaces a recipe's length, whichever it used
    elif epochs is not None:
        overrides["steps"] = None
    files, kinds = _data_files(data or [])
    skip = list(skip_data or [])
    notes: list[str] = []
    if recipe is not None:
        rec = recipes.load(recipe)
        where = f"recipe {rec.name}"
        for kind in rec.optional_data:
            if kind not in kinds and kind not in skip and _recipe_uses(rec, kind):
                skip.append(kind)
                notes.append(f"no {kind} file given (--data): its runs are left out")
        blocks = rec.blocks
        name = rec.name
        if online and not any("online" in _values(b.get("data")) for b in blocks):
            raise GlorotError("--online cannot be added to a recipe's data; use a recipe file")
    else:
        if not data and not online:
            raise GlorotError("give --recipe NAME, or the data: --data FILE and/or --online")
        where, name, rec = "the grid", None, None
        axis = files + (["online"] if online else [])
        blocks = [{"data": axis, "threads": 1}]
    overrides.setdefault("threads", 1)
    if rec is None:
        blocks = [{**blocks[0], **overrides}]
        overrides = {}
    runs = gridmod.expand(blocks, kinds, overrides=_lists_or_scalars(overrides),
                          skip_data=skip, where=where, pretrain=rec.pretrain if rec else None,
                          folder=output)
    executor = None if dry_run else _executor(jobs, scheduler)  # fails here, before any work
    if not dry_run:
        output.mkdir(parents=True, exist_ok=True)
    sizes = _data_sizes(runs)
    plan = sweep.make_plan(runs, output, lambda c: sizes[_data_id(c)]["n_train"]) \
        if output.is_dir() else _fresh_plan(runs)
    pretrains = gridmod.pretrainings(runs)
    pre_plan = sweep.make_pretrain_plan(pretrains, output) if output.is_dir() \
        else _fresh_plan(pretrains)
    _print_plan(rec, runs, plan, notes, sizes, jobs, scheduler)
    _print_pretrain_plan(pretrains, pre_plan)
    if dry_run:
        return
    command = ["glorot", "sweep", *sys.argv[2:]] if len(sys.argv) > 1 else []
    all_runs = sweep.merged_grid(runs, output)
    t0 = time.monotonic()
    display = _Display(progress, n_total=len(runs), n_done=len(plan.done))
    stop_signal = _stop_on_sigterm()
    try:
        todo, pre_out = plan.todo, []
        if pre_plan.todo:  # the pre-trainings first: runs start from them
            with _Display(progress, n_total=len(pretrains), n_done=len(pre_plan.done)) as pd:
                pre_out = sweep.run_sweep(
                    pre_plan.todo, output, executor, n_train=lambda c: None,
                    on_event=pd.event, take_over=scheduler is not None,
                    already_done=len(pre_plan.done))
            executor = _executor(jobs, scheduler)
        if pretrains:
            todo = _ready(todo, output, pre_out)
        with display:
            outcomes = sweep.run_sweep(
                todo, output, executor, n_train=lambda c: sizes[_data_id(c)]["n_train"],
                on_event=display.event, take_over=scheduler is not None,
                already_done=len(plan.done))
    except KeyboardInterrupt:
        sweep.write_summary(sweep.summarize(all_runs, output, recipe=name, command=command),
                            output)
        stderr.print("glorot: sweep interrupted; runs were checkpointed; run the same command "
                     "again to continue", highlight=False, soft_wrap=True)
        raise SystemExit(128 + stop_signal[0]) from None  # 130 Ctrl-C, 143 SIGTERM
    summary = sweep.summarize(all_runs, output, recipe=name, command=command,
                              wall_seconds=time.monotonic() - t0)
    sweep.write_summary(summary, output)
    failed = [o for o in outcomes if o.status == "failed"]
    for o in failed:
        stderr.print(f"glorot: {o.name}: failed: {o.error}", highlight=False, soft_wrap=True,
                     markup=False)
    _print_selection(summary)
    if json_out:
        print_json(summary)
    else:
        print_path(output)
    if failed:
        raise RunFailed(f"{len(failed)} of {len(todo)} runs failed (see above); the "
                        f"others are in {output}")


# ----------------------------------------------------------------- helpers ----

def _stop_on_sigterm() -> list[int]:
    """Make SIGTERM (a batch system's stop, ``kill``) stop the sweep like Ctrl-C: the running
    runs checkpoint. Returns a one-item list that holds the signal that stopped it."""
    import signal

    which = [signal.SIGINT]

    def handler(signum, frame):
        which[0] = signum
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, handler)
    return which


def _values(v) -> list:
    return list(v) if isinstance(v, list | tuple) else [v]


def _recipe_uses(rec, kind: str) -> bool:
    return any(kind in _values(b.get("data")) for b in rec.blocks)


def _lists_or_scalars(d: dict) -> dict:
    return {k: (v[0] if isinstance(v, list) and len(v) == 1 else v) for k, v in d.items()}


def _data_files(paths: list[Path]) -> tuple[list[str], dict[str, str]]:
    """Check each --data file (header only) and map dataset kind -> file."""
    from glorotcli.data.store import read_dataset

    kinds: dict[str, str] = {}
    for p in paths:
        ds = read_dataset(p, splits=())
        if "train" not in ds.present:
            raise GlorotError(f"{p}: has no training split (/train)")
        kind = "shapeset" if ds.kind.startswith("shapeset") else ds.kind
        if kind in kinds:
            raise GlorotError(f"--data: two {kind} files ({kinds[kind]}, {p}); give one")
        kinds[kind] = str(Path(p).resolve())
    # absolute, so that workers started elsewhere (a Dask cluster) find the same files
    return [str(Path(p).resolve()) for p in paths], kinds


def _data_id(config) -> str:
    return "online" if config.online else str(config.data)


def _data_sizes(runs) -> dict[str, dict]:
    """Per data source: n_train (None online), n_eval, input size and classes."""
    from glorotcli.data import shapeset
    from glorotcli.data.store import read_dataset

    out: dict[str, dict] = {}
    for r in runs:
        key = _data_id(r.config)
        if key in out:
            continue
        if r.config.online:
            out[key] = {"n_train": None, "n_in": shapeset.SIZE ** 2,
                        "n_out": len(shapeset.CLASS_NAMES),
                        "n_eval": r.config.online_valid_size + r.config.online_test_size}
        else:
            ds = read_dataset(key, splits=())
            out[key] = {"n_train": ds.sizes.get("train", 0), "n_in": ds.input_size,
                        "n_out": ds.n_classes,
                        "n_eval": ds.sizes.get("valid", 0) + ds.sizes.get("test", 0)}
    return out


def _ready(todo, folder: Path, outcomes) -> list:
    """The runs of ``todo`` whose pre-training (if any) is finished; a one-line note for each
    pre-training that is not (its runs wait for the next sweep)."""
    from glorotcli.stats.runlog.pretrained import read_pretrain

    for o in outcomes:
        if o.status != "finished":
            stderr.print(f"glorot: pre-training {o.name}: {o.status}"
                         + (f": {o.error}" if o.error else "") + "; its runs are left out",
                         highlight=False, soft_wrap=True, markup=False)
    ready = []
    for r in todo:
        if r.pretrain is not None:
            path = folder / f"{r.pretrain.name}.h5"
            if not path.exists() or read_pretrain(path).status != "finished":
                continue
        ready.append(r)
    return ready


def _print_pretrain_plan(pretrains, plan) -> None:
    if not pretrains:
        return
    counts: dict[str, int] = {}
    for a in plan.actions.values():
        counts[a] = counts.get(a, 0) + 1
    parts = ", ".join(f"{v} {k}" for k, v in counts.items())
    steps = sum(p.config.total_steps for p in plan.todo)
    stderr.print(f"sweep: first {len(pretrains)} pre-training{'s' if len(pretrains) != 1 else ''}"
                 f" ({parts}; {steps:,} auto-encoder updates to go), then the runs that start "
                 f"from them", highlight=False, soft_wrap=True)


def _fresh_plan(runs):
    from glorotcli.run.sweep import Plan

    return Plan(todo=list(runs), actions={r.name: "new" for r in runs})


def _executor(jobs: int | None, scheduler: str | None):
    from glorotcli.run.executors import DaskExecutor, LocalExecutor

    if scheduler is not None:
        if jobs is not None:
            raise GlorotError("--jobs is for the local pool; with --scheduler the cluster's "
                              "workers decide")
        return DaskExecutor(scheduler)
    return LocalExecutor(jobs or os.cpu_count() or 1)


def _values(choices: list | None) -> list[str] | None:
    return None if choices is None else [value(c) for c in choices]


def _print_recipes() -> None:
    from glorotcli.run import recipes

    for name, path in sorted(recipes.shipped().items()):
        rec = recipes.load(str(path))
        typer.echo(f"{name:8s} {rec.description}")


def _print_plan(rec, runs, plan, notes, sizes, jobs, scheduler) -> None:
    from glorotcli.run import sweep

    if rec is not None and rec.note:
        stderr.print(f"recipe {rec.name}: {rec.note}", highlight=False, soft_wrap=True,
                     markup=False)
    for note in notes:
        stderr.print(f"glorot: {note}", highlight=False, markup=False)
    todo = plan.todo
    secs = []
    for r in todo:
        size = sizes[_data_id(r.config)]
        secs.append(sweep.estimate_seconds(r.config, size["n_in"], size["n_out"],
                                           size["n_train"], size["n_eval"],
                                           start=plan.start_step.get(r.name, 0)))
    total = sum(secs)
    longest = max(secs, default=0.0)
    n_workers = jobs or (None if scheduler else os.cpu_count() or 1)
    counts = {}
    for a in plan.actions.values():
        counts[a] = counts.get(a, 0) + 1
    parts = ", ".join(f"{v} {k}" for k, v in counts.items())
    plural = "s" if len(runs) != 1 else ""
    stderr.print(f"sweep: {len(runs)} run{plural} ({parts}); about {duration(total)} of one core "
                 f"to go: ~{duration(max(total / 2, longest))} on 2 cores, "
                 f"~{duration(max(total / 100, longest))} on 100"
                 + (f", ~{duration(max(total / n_workers, longest))} with {n_workers} jobs here"
                    if n_workers and n_workers not in (2, 100) else ""),
                 highlight=False, soft_wrap=True)
    if plan.busy:
        stderr.print(f"glorot: left alone (another process is writing them): "
                     f"{', '.join(plan.busy)}", highlight=False, soft_wrap=True)


def _print_selection(summary: dict) -> None:
    from glorotcli.run.grid import fmt_lr

    for n in summary["networks"]:
        if n["selected"] is None:
            stderr.print(f"  {n['network']}: {n['reason']}", highlight=False, markup=False)
            continue
        flag = "" if n["complete"] else " (provisional: " + ", ".join(n["pending"]) + " pending)"
        stderr.print(f"  {n['network']}: lr {fmt_lr(n['lr'])}, valid "
                     f"{100 * n['valid_error']:.2f} %, test {100 * n['test_error']:.2f} %"
                     f"{flag}", highlight=False, markup=False, soft_wrap=True)


class _Display:
    """A rich progress bar over all steps of the sweep on a terminal; otherwise a plain line
    per run started or ended and a status line every ``PLAIN_SECONDS``."""

    PLAIN_SECONDS = 30.0

    def __init__(self, enabled: bool, n_total: int, n_done: int) -> None:
        self.enabled = enabled
        self.terminal = stderr.is_terminal or os.environ.get("GLOROT_PROGRESS") == "1"
        self.n_total, self.n_done = n_total, n_done
        self._bar = None
        self._task = None
        self._last_plain = 0.0

    def __enter__(self):
        if self.enabled and self.terminal:
            from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

            self._bar = Progress(TextColumn("[bold]sweep"), BarColumn(),
                                 TextColumn("{task.fields[info]}"), TimeElapsedColumn(),
                                 console=stderr, transient=False)
            self._bar.__enter__()
            self._task = self._bar.add_task("sweep", total=None, info="starting")
        return self

    def __exit__(self, *exc) -> None:
        if self._bar is not None:
            self._bar.__exit__(*exc)

    def _line(self, text: str, always: bool = False) -> None:
        if self._bar is not None:
            self._bar.console.print(text, highlight=False, markup=False, soft_wrap=True)
        elif self.enabled or always:
            stderr.print(f"{time.strftime('%H:%M:%S')} {text}", highlight=False, markup=False,
                         soft_wrap=True)

    def event(self, e) -> None:
        if e.kind == "start":
            self._line(f"started {e.name}")
        elif e.kind == "retry":
            self._line(f"restarting {e.name} from its checkpoint ({e.error})", always=True)
        elif e.kind == "end":
            self._line(f"{e.status} {e.name}" + (f": {e.error}" if e.error else ""),
                       always=e.status not in ("finished", "interrupted"))
        elif e.kind == "tick":
            left = max(e.steps_total - e.steps_done, 0)
            rate = e.steps_per_second
            eta = left / rate if rate and rate > 0 and not math.isnan(rate) else None
            info = (f"runs {e.done}/{self.n_total} done, {e.running} running, {e.left} "
                    f"waiting; {rate:,.0f} steps/s; ETA "
                    f"{duration(eta) if eta is not None else '?'}")
            if self._bar is not None:
                self._bar.update(self._task, completed=e.steps_done,
                                 total=max(e.steps_total, 1), info=info)
            elif self.enabled and time.monotonic() - self._last_plain >= self.PLAIN_SECONDS:
                self._last_plain = time.monotonic()
                self._line(f"sweep: {info}")
