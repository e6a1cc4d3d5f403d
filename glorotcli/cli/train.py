"""``glorot train``: train one network and write its live run file."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import typer

from glorotcli.cli.app import app
from glorotcli.cli.ui import print_json, print_path, progress_bar, stderr
from glorotcli.config import FLAGS, TrainConfig
from glorotcli.errors import GlorotError

# Settings a resumed run may change; everything else must match the stored config.
RESUMABLE = ("data", "steps", "epochs", "threads", "checkpoint_seconds")

_D = TrainConfig()


def _opt(default, *names, help: str, metavar: str | None = None, **kw):
    # "\[" keeps rich from reading "[default: ...]" as a markup tag and dropping it.
    return typer.Option(None, *names, help=f"{help} \\[default: {default}]", metavar=metavar,
                        show_default=False, **kw)


@app.command("train")
def train_cmd(
    data: Path = _opt("none", "--data", metavar="FILE",
                      help="Dataset file to train on (from gen-data or import)."),
    online: bool = typer.Option(None, "--online", show_default=False,
                                help="Train on fresh Shapeset-3x2 images every step (the "
                                     "paper's online setting) instead of --data."),
    activation: str = _opt(_D.activation, "-a", "--activation", metavar="NAME",
                           help="Hidden-unit activation: sigmoid, tanh, softsign or relu."),
    init: str = _opt(_D.init, "-i", "--init", metavar="NAME",
                     help="Weight initialisation: standard (eq. 1), normalized (eq. 16), he or "
                          "lecun. Biases start at 0."),
    depth: int = _opt(_D.depth, "--depth", metavar="N", help="Number of hidden layers."),
    width: int = _opt(_D.width, "--width", metavar="N", help="Units per hidden layer."),
    batch_size: int = _opt(_D.batch_size, "--batch-size", metavar="N",
                           help="Minibatch size (the paper: 10)."),
    lr: float = _opt(_D.lr, "--lr", metavar="EPS", help="Constant learning rate of plain SGD."),
    steps: int = _opt("1 epoch", "--steps", metavar="N", help="Number of SGD updates."),
    epochs: float = _opt("1", "--epochs", metavar="E",
                         help="Length in epochs instead of --steps: passes over the training "
                              "split with --data; 20,000 updates (the paper's axis) with "
                              "--online."),
    cost: str = _opt(_D.cost, "--cost", metavar="NAME",
                     help="Cost: nll (softmax + negative log-likelihood) or quadratic."),
    seed: int = _opt(_D.seed, "--seed", metavar="N",
                     help="Seed of every random stream (init, data order, online data)."),
    threads: int = _opt("all cores", "--threads", metavar="N",
                        help="Threads for training. Same seed and thread count give the same "
                             "run bit for bit. Running several experiments at once? Give each "
                             "--threads 1."),
    dtype: str = _opt(_D.dtype, "--dtype", metavar="TYPE", help="float32 or float64."),
    input_scale: str = _opt(_D.input_scale, "--input-scale", metavar="RANGE",
                            help="Pixel scaling: 0,1 (x/255, the paper's) or -1,1."),
    probe_every: str = _opt(_D.probe_every, "--probe-every", metavar="WHEN",
                            help="When to measure per-layer statistics on the probe set: "
                                 "'default' (step 0, 10, 20, 50, ... up to 20k, then every "
                                 "20k and at the end), a number N of steps, or 'none'."),
    probe_size: int = _opt(_D.probe_size, "--probe-size", metavar="N",
                           help="Probe examples: the first N of the test split."),
    probe_bins: int = _opt(_D.probe_bins, "--probe-bins", metavar="B",
                           help="Histogram bins per statistic."),
    eval_every: int = _opt(_D.eval_every, "--eval-every", metavar="N",
                           help="Steps between validation/test evaluations (also at step 0 "
                                "and the end; 0: only those)."),
    eval_size: int = _opt("all", "--eval-size", metavar="N",
                          help="Evaluate on the first N examples of valid/test only "
                               "(cheaper)."),
    log_every: int = _opt(_D.log_every, "--log-every", metavar="N",
                          help="Steps between rows of the training-loss log."),
    jacobian_every: str = _opt(_D.jacobian_every, "--jacobian-every", metavar="WHEN",
                               help="When to measure the Jacobian singular values (~10 s "
                                    "each at full size): 'default' (step 0, 200k, 2M, ...), a "
                                    "number N of steps, or 'none'."),
    jacobian_examples: int = _opt(_D.jacobian_examples, "--jacobian-examples", metavar="N",
                                  help="Probe examples used for the Jacobians."),
    online_valid_size: int = _opt(_D.online_valid_size, "--online-valid-size", metavar="N",
                                  help="Size of the fixed online validation set."),
    online_test_size: int = _opt(_D.online_test_size, "--online-test-size", metavar="N",
                                 help="Size of the fixed online test set."),
    checkpoint_seconds: float = _opt(_D.checkpoint_seconds, "--checkpoint-seconds",
                                     metavar="S", help="Seconds between checkpoints."),
    output: Path = typer.Option(None, "-o", "--output", metavar="FILE", show_default=False,
                                help="Run file to write (HDF5, readable while training)."),
    force: bool = typer.Option(False, "--force", help="Overwrite the run file if it exists."),
    resume: Path = typer.Option(None, "--resume", metavar="RUN", show_default=False,
                                help="Continue RUN from its last checkpoint, appending to it. "
                                     "Only --data, --steps/--epochs, --threads and "
                                     "--checkpoint-seconds may be given with it."),
    json_out: bool = typer.Option(False, "--json",
                                  help="Print a JSON summary on stdout instead of the path."),
    progress: bool = typer.Option(True, "--progress/--no-progress",
                                  help="Draw a progress bar on stderr (only on a terminal)."),
) -> None:
    """Train a deep MLP with plain SGD, recording errors and per-layer statistics live.

    The run file (HDF5) can be read while training runs (glorot report --follow). Ctrl-C
    checkpoints and stops (exit 130); --resume continues. Divergence stops with exit 1.

    Example:

      glorot train --data shapeset.h5 -a tanh -i normalized --depth 5 -o tanhN.h5
    """
    from glorotcli.run import train as core

    given = {k: v for k, v in dict(
        data=None if data is None else str(data), online=online, activation=activation,
        init=init, depth=depth, width=width, batch_size=batch_size, lr=lr, steps=steps,
        epochs=epochs, cost=cost, seed=seed, threads=threads, dtype=dtype,
        input_scale=input_scale, probe_every=probe_every, probe_size=probe_size,
        probe_bins=probe_bins, eval_every=eval_every, eval_size=eval_size,
        log_every=log_every, jacobian_every=jacobian_every,
        jacobian_examples=jacobian_examples, online_valid_size=online_valid_size,
        online_test_size=online_test_size, checkpoint_seconds=checkpoint_seconds,
    ).items() if v is not None}
    if resume is not None:
        if output is not None or force:
            raise GlorotError("--resume appends to RUN itself; leave out -o/--force")
        config = _resumed_config(core.load_config(resume), given, resume)
    else:
        if output is None:
            raise GlorotError("give the run file to write with -o FILE")
        config = TrainConfig(**given).validate()
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
    total = sum(parts.values())
    detail = ", ".join(f"{k} {100 * v / wall:.0f} %" for k, v in parts.items() if v > 0)
    return (f"measurements took {100 * total / wall:.0f} % of the time"
            + (f" ({detail})" if detail else ""))
