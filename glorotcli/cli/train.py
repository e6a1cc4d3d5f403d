"""``glorot train``: train one network and write its live run file."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Annotated

import typer

from glorotcli.cli.choices import Activation, Cost, Dtype, Init, InputScale, value
from glorotcli.cli.ui import print_json, print_path, progress_bar, stderr
from glorotcli.config import ACTIVATIONS, DTYPES, FLAGS, TrainConfig
from glorotcli.errors import GlorotError

app = typer.Typer()
"""This module's commands; ``glorotcli.cli.app`` adds them to the ``glorot`` command."""

# Settings a resumed run may change; everything else must match the stored config.
RESUMABLE = ("data", "steps", "epochs", "threads", "checkpoint_seconds")

_D = TrainConfig()
_DATA, _NET, _OPT, _INSTR, _OUT = ("Data", "Network", "Optimisation", "Instruments",
                                   "Output and resuming")


TRAIN_HELP = (
    "Train a deep MLP with plain SGD, recording errors and per-layer statistics live.\n\n"
    "The run file (HDF5) can be read while training runs (glorot report --follow). Ctrl-C "
    "checkpoints and stops (exit 130); --resume continues. Divergence stops with exit 1.\n\n"
    "Examples:\n\n"
    "  glorot train --data shapeset.h5 -a tanh -i normalized --depth 5 -o tanhN.h5\n\n"
    "  glorot train --online -a sigmoid -i standard --depth 4 -o sig.h5\n\n"
    "  glorot train --online -a sigmoid --depth 4 --init-from pre.h5 -o ft.h5\n\n"
    "  glorot train --resume tanhN.h5 --steps 40000")


@app.command("train", help=TRAIN_HELP)
def train_cmd(
    ctx: typer.Context,
    data: Annotated[Path | None, typer.Option(
        "--data", metavar="FILE", show_default=False, rich_help_panel=_DATA,
        help="Dataset file to train on (from gen-data or import).")] = None,
    online: Annotated[bool, typer.Option(
        "--online", rich_help_panel=_DATA,
        help="Train on fresh Shapeset-3x2 images every step (the paper's online setting) "
             "instead of --data.")] = False,
    input_scale: Annotated[InputScale, typer.Option(
        "--input-scale", metavar="RANGE", rich_help_panel=_DATA,
        help="Pixel scaling: 0,1 (x/255, the paper's) or -1,1.")] = _D.input_scale,
    online_valid_size: Annotated[int, typer.Option(
        "--online-valid-size", metavar="N", min=1, rich_help_panel=_DATA,
        help="Size of the fixed online validation set.")] = _D.online_valid_size,
    online_test_size: Annotated[int, typer.Option(
        "--online-test-size", metavar="N", min=1, rich_help_panel=_DATA,
        help="Size of the fixed online test set.")] = _D.online_test_size,
    activation: Annotated[Activation, typer.Option(
        "-a", "--activation", metavar="NAME", rich_help_panel=_NET,
        help=f"Hidden-unit activation: {', '.join(ACTIVATIONS)}.")] = _D.activation,
    init: Annotated[Init, typer.Option(
        "-i", "--init", metavar="NAME", rich_help_panel=_NET,
        help="Weight initialisation: standard (eq. 1), normalized (eq. 16), he (He et al. "
             "2015) or lecun (LeCun et al. 1998). Biases start at 0.")] = _D.init,
    depth: Annotated[int, typer.Option(
        "--depth", metavar="N", min=1, rich_help_panel=_NET,
        help="Number of hidden layers.")] = _D.depth,
    width: Annotated[int, typer.Option(
        "--width", metavar="N", min=1, rich_help_panel=_NET,
        help="Units per hidden layer.")] = _D.width,
    cost: Annotated[Cost, typer.Option(
        "--cost", metavar="NAME", rich_help_panel=_NET,
        help="Cost: nll (softmax + negative log-likelihood) or quadratic.")] = _D.cost,
    dtype: Annotated[Dtype, typer.Option(
        "--dtype", metavar="TYPE", rich_help_panel=_NET,
        help=f"Floating-point type: {' or '.join(DTYPES)}.")] = _D.dtype,
    init_from: Annotated[Path | None, typer.Option(
        "--init-from", metavar="FILE", show_default=False, rich_help_panel=_NET,
        help="Start the hidden layers from a glorot pretrain file (denoising auto-encoders; "
             "the output layer is initialised by -i as usual). Its sizes, -a and "
             "--input-scale must match.")] = None,
    lr: Annotated[float, typer.Option(
        "--lr", metavar="EPS", rich_help_panel=_OPT,
        help="Constant learning rate of plain SGD.")] = _D.lr,
    batch_size: Annotated[int, typer.Option(
        "--batch-size", metavar="N", min=1, rich_help_panel=_OPT,
        help="Minibatch size (the paper: 10).")] = _D.batch_size,
    steps: Annotated[int | None, typer.Option(
        "--steps", metavar="N", min=1, show_default="1 epoch", rich_help_panel=_OPT,
        help="Number of SGD updates.")] = None,
    epochs: Annotated[float | None, typer.Option(
        "--epochs", metavar="E", show_default=False, rich_help_panel=_OPT,
        help="Length in epochs instead of --steps: passes over the training split with "
             "--data; 20,000 updates (the paper's epoch) with --online.")] = None,
    seed: Annotated[int, typer.Option(
        "--seed", metavar="N", min=0, rich_help_panel=_OPT,
        help="Seed of every random stream (init, data order, online data).")] = _D.seed,
    threads: Annotated[int | None, typer.Option(
        "--threads", metavar="N", min=1, show_default="the idle cores", rich_help_panel=_OPT,
        help="Threads for training. Without it: the cores idle at the start, and the "
             "training steps follow the idle cores during the run. Same seed and thread "
             "count give the same run bit for bit. Running several experiments at once? "
             "Give each --threads 1.")] = None,
    eval_every: Annotated[int, typer.Option(
        "--eval-every", metavar="N", min=0, rich_help_panel=_INSTR,
        help="Steps between validation/test evaluations (also at step 0 and the end; 0: only "
             "those).")] = _D.eval_every,
    eval_size: Annotated[int | None, typer.Option(
        "--eval-size", metavar="N", min=1, show_default="all", rich_help_panel=_INSTR,
        help="Evaluate on the first N examples of valid/test only (cheaper).")] = None,
    log_every: Annotated[int, typer.Option(
        "--log-every", metavar="N", min=1, rich_help_panel=_INSTR,
        help="Steps between rows of the training-loss log.")] = _D.log_every,
    probe_every: Annotated[str, typer.Option(
        "--probe-every", metavar="WHEN", rich_help_panel=_INSTR,
        help="When to measure per-layer statistics on the probe set: 'default' (step 0, 10, "
             "20, 50, ... up to 20k, then every 20k and at the end), a number N of steps, or "
             "'none'.")] = _D.probe_every,
    probe_size: Annotated[int, typer.Option(
        "--probe-size", metavar="N", min=1, rich_help_panel=_INSTR,
        help="Probe examples: the first N of the test split.")] = _D.probe_size,
    probe_bins: Annotated[int, typer.Option(
        "--probe-bins", metavar="B", min=1, rich_help_panel=_INSTR,
        help="Histogram bins per statistic.")] = _D.probe_bins,
    jacobian_every: Annotated[str, typer.Option(
        "--jacobian-every", metavar="WHEN", rich_help_panel=_INSTR,
        help="When to measure the Jacobian singular values (~10 s each at full size): "
             "'default' (step 0, 200k, 2M, ...), a number N of steps, or "
             "'none'.")] = _D.jacobian_every,
    jacobian_examples: Annotated[int, typer.Option(
        "--jacobian-examples", metavar="N", min=1, rich_help_panel=_INSTR,
        help="Probe examples used for the Jacobians.")] = _D.jacobian_examples,
    output: Annotated[Path | None, typer.Option(
        "-o", "--output", metavar="FILE", show_default="required unless --resume",
        rich_help_panel=_OUT,
        help="Run file to write (HDF5, readable while training).")] = None,
    force: Annotated[bool, typer.Option(
        "--force", rich_help_panel=_OUT, help="Overwrite the run file if it exists.")] = False,
    resume: Annotated[Path | None, typer.Option(
        "--resume", metavar="RUN", show_default=False, rich_help_panel=_OUT,
        help="Continue RUN from its last checkpoint, appending to it. Only --data, "
             "--steps/--epochs, --threads and --checkpoint-seconds may be given with "
             "it.")] = None,
    checkpoint_seconds: Annotated[float, typer.Option(
        "--checkpoint-seconds", metavar="S", rich_help_panel=_OUT,
        help="Seconds between checkpoints.")] = _D.checkpoint_seconds,
    json_out: Annotated[bool, typer.Option(
        "--json", rich_help_panel=_OUT,
        help="Print a JSON summary on stdout instead of the path.")] = False,
    progress: Annotated[bool, typer.Option(
        "--progress/--no-progress", rich_help_panel=_OUT,
        help="Draw a progress bar on stderr (plain lines when it is not a terminal).")] = True,
) -> None:
    from glorotcli.run import train as core

    values = dict(
        data=None if data is None else str(data), online=online, activation=activation,
        init=init, depth=depth, width=width, batch_size=batch_size, lr=lr, steps=steps,
        epochs=epochs, cost=cost, seed=seed, threads=threads, dtype=dtype,
        input_scale=input_scale, probe_every=probe_every, probe_size=probe_size,
        probe_bins=probe_bins, eval_every=eval_every, eval_size=eval_size,
        log_every=log_every, jacobian_every=jacobian_every,
        jacobian_examples=jacobian_examples, online_valid_size=online_valid_size,
        online_test_size=online_test_size, checkpoint_seconds=checkpoint_seconds,
        init_from=None if init_from is None else str(init_from.resolve()))
    values = {k: value(v) for k, v in values.items()}
    # The options the user typed (Click's parameter source), whatever their value: --resume
    # may change only some, and size warnings concern only what was asked for.
    given = {k: v for k, v in values.items()
             if _typed(ctx, k)}
    if resume is not None:
        if output is not None or force:
            raise GlorotError("--resume appends to RUN itself; leave out -o/--force")
        config = _resumed_config(core.load_config(resume), given, resume)
    else:
        if output is None:
            raise GlorotError("give the run file to write with -o FILE")
        config = TrainConfig(**values).validate()
        from glorotcli.fileio import check_output_path

        check_output_path(output, force)
    from glorotcli.nn.kernels import cache_is_cold

    if cache_is_cold():
        stderr.print("glorot: compiling the training kernels (first run only, about 20 s)",
                     highlight=False)
    try:
        with progress_bar(progress) as bar:
            data_ = core.load_data(config, bar)
            if resume is None:
                config, notes = core.fit_to_data(config, data_)
                for key, note in notes.items():  # sizes the user asked for, not defaults
                    if key in given:
                        stderr.print(f"glorot: warning: {note}", highlight=False,
                                     markup=False)
            if resume is not None:
                result = core.resume(resume, config, data=data_, progress=bar)
            else:
                result = core.train(config, output, data=data_, force=force, progress=bar)
    except core.Interrupted as exc:
        how = (f"checkpointed at step {exc.step}" if exc.checkpointed
               else "kept the last checkpoint")
        stderr.print(f"glorot: interrupted; {how}; continue with: glorot train --resume "
                     f"{exc.path}", highlight=False, soft_wrap=True)
        if json_out and exc.result is not None:
            print_json(exc.result.to_dict())
        raise SystemExit(128 + exc.signum) from None  # 130 Ctrl-C, 143 SIGTERM
    except KeyboardInterrupt:
        stderr.print("glorot: interrupted before training started", highlight=False)
        raise SystemExit(130) from None  # said why; skip main()'s note
    if json_out:
        print_json(result.to_dict())
    else:
        pct = "" if result.test_error is None or result.test_error != result.test_error \
            else f", test error {100 * result.test_error:.2f}%"
        stderr.print(f"{result.steps:,} steps in {result.wall_seconds:.1f} s{pct}; "
                     f"{_measurement_share(result)}", highlight=False, soft_wrap=True)
        print_path(result.path)


def _typed(ctx: typer.Context, name: str) -> bool:
    """Whether option ``name`` came from the command line (Click's parameter source; compared
    by name because Typer carries its own copy of Click)."""
    source = ctx.get_parameter_source(name)
    return source is not None and source.name not in ("DEFAULT", "DEFAULT_MAP")


def _resumed_config(stored: TrainConfig, given: dict, run: Path) -> TrainConfig:
    """The stored settings with the few that may change on --resume replaced."""
    changes = {}
    for k, v in given.items():
        if k in RESUMABLE:
            changes[k] = v
        elif getattr(stored, k) != v:
            raise GlorotError(f"{FLAGS[k]} cannot change when resuming {run} (it was "
                              f"{getattr(stored, k)!r}); only --data, --steps/--epochs, "
                              f"--threads and --checkpoint-seconds can")
    if "steps" in changes:
        changes.setdefault("epochs", None)
    if "epochs" in changes:
        changes.setdefault("steps", None)
    if "data" in changes and stored.online:
        raise GlorotError(f"{run} was trained --online; --data cannot be given with --resume")
    return dataclasses.replace(stored, **changes).validate()


def _measurement_share(result) -> str:
    """"measurements took 61 % of the time (probes 4 %, Jacobians 52 %, evaluation 5 %)"."""
    wall = result.wall_seconds or 0.0
    if wall <= 0:
        return "no time measured"
    parts = {"probes": result.probe_seconds, "Jacobians": result.jacobian_seconds,
             "evaluation": result.eval_seconds}
    total = sum(v for v in parts.values() if v)
    if total <= 0:  # --probe-every, --jacobian-every and --eval-every all none: no "0 %"
        return "no measurements taken"

    def share(v: float) -> str:
        return "<1 %" if 100 * v / wall < 0.5 else f"{100 * v / wall:.0f} %"

    detail = ", ".join(f"{k} {share(v)}" for k, v in parts.items() if v and v > 0)
    return f"measurements took {share(total)} of the time" + (f" ({detail})" if detail else "")
