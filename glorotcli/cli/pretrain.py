"""``glorot pretrain``: greedy layer-wise denoising auto-encoder pre-training of the hidden
layers (the paper's Fig. 11 reference "Pre-training"), written live to a pre-training file."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Annotated

import typer

from glorotcli.cli.choices import Activation, Dtype, Init, InputScale, value
from glorotcli.cli.ui import print_json, print_path, progress_bar, stderr
from glorotcli.config import (
    ACTIVATIONS,
    DTYPES,
    PRETRAIN_FLAGS,
    PRETRAIN_RESUMABLE,
    PretrainConfig,
)
from glorotcli.errors import GlorotError

app = typer.Typer()
"""This module's commands; ``glorotcli.cli.app`` adds them to the ``glorot`` command."""

_D = PretrainConfig()
_DATA, _NET, _DAE, _OUT = ("Data", "Network (as glorot train builds it)",
                           "Denoising auto-encoders", "Output and resuming")

PRETRAIN_HELP = (
    "Pre-train the hidden layers of the network glorot train would build, one after another, "
    "as denoising auto-encoders (Vincent et al. 2008; the paper's Fig. 11 'Pre-training').\n\n"
    "Layer k learns to reconstruct the clean codes of the layers below from a copy with "
    "--corruption of them set to 0 (tied weights, sigmoid output; cross-entropy for inputs "
    "in [0, 1], squared error otherwise), by plain SGD on minibatches of 10. The file (HDF5, "
    "readable while it grows) holds the pre-trained weights and each layer's reconstruction "
    "error; glorot train --init-from FILE starts from them. Ctrl-C checkpoints and stops "
    "(exit 130); --resume continues.\n\n"
    "Examples:\n\n"
    "  glorot pretrain --online -a sigmoid --depth 4 -o pre.h5\n\n"
    "  glorot train --online -a sigmoid --depth 4 --init-from pre.h5 -o ft.h5\n\n"
    "  glorot pretrain --data mnist.h5 --steps-per-layer 5000 --width 500 -o pre.h5\n\n"
    "  glorot pretrain --resume pre.h5")


@app.command("pretrain", help=PRETRAIN_HELP)
def pretrain_cmd(
    ctx: typer.Context,
    data: Annotated[Path | None, typer.Option(
        "--data", metavar="FILE", show_default=False, rich_help_panel=_DATA,
        help="Dataset file whose training split is pre-trained on (labels unused).")] = None,
    online: Annotated[bool, typer.Option(
        "--online", rich_help_panel=_DATA,
        help="Pre-train on fresh Shapeset-3x2 images instead of --data.")] = False,
    input_scale: Annotated[InputScale, typer.Option(
        "--input-scale", metavar="RANGE", rich_help_panel=_DATA,
        help="Pixel scaling, as glorot train's: 0,1 (x/255) or -1,1.")] = _D.input_scale,
    eval_size: Annotated[int, typer.Option(
        "--eval-size", metavar="N", min=1, rich_help_panel=_DATA,
        help="Held-out examples whose clean reconstruction error is logged (the first N of "
             "the valid split; online: of the validation stream).")] = _D.eval_size,
    activation: Annotated[Activation, typer.Option(
        "-a", "--activation", metavar="NAME", rich_help_panel=_NET,
        help=f"Hidden-unit activation: {', '.join(ACTIVATIONS)}.")] = _D.activation,
    init: Annotated[Init, typer.Option(
        "-i", "--init", metavar="NAME", rich_help_panel=_NET,
        help="Initialisation the layers start from before pre-training (the weights glorot "
             "train draws with the same --seed).")] = _D.init,
    depth: Annotated[int, typer.Option(
        "--depth", metavar="N", min=1, rich_help_panel=_NET,
        help="Number of hidden layers.")] = _D.depth,
    width: Annotated[int, typer.Option(
        "--width", metavar="N", min=1, rich_help_panel=_NET,
        help="Units per hidden layer.")] = _D.width,
    dtype: Annotated[Dtype, typer.Option(
        "--dtype", metavar="TYPE", rich_help_panel=_NET,
        help=f"Floating-point type: {' or '.join(DTYPES)}.")] = _D.dtype,
    seed: Annotated[int, typer.Option(
        "--seed", metavar="N", min=0, rich_help_panel=_NET,
        help="Seed of every random stream (starting weights, data order, noise).")] = _D.seed,
    threads: Annotated[int | None, typer.Option(
        "--threads", metavar="N", min=1, show_default="the idle cores", rich_help_panel=_NET,
        help="BLAS threads. Same seed and thread count give the same file bit for "
             "bit.")] = None,
    corruption: Annotated[float, typer.Option(
        "--corruption", metavar="FRACTION", min=0.0, max=0.99, rich_help_panel=_DAE,
        help="Fraction of each example's inputs set to 0 (masking noise; our choice, the "
             "paper states none).")] = _D.corruption,
    steps_per_layer: Annotated[int, typer.Option(
        "--steps-per-layer", metavar="N", min=1, rich_help_panel=_DAE,
        help="SGD updates per layer.")] = _D.steps_per_layer,
    lr: Annotated[float, typer.Option(
        "--lr", metavar="EPS", rich_help_panel=_DAE,
        help="Constant learning rate of the auto-encoders' SGD.")] = _D.lr,
    log_every: Annotated[int, typer.Option(
        "--log-every", metavar="N", min=1, rich_help_panel=_DAE,
        help="Updates between log rows (each measures the held-out error).")] = _D.log_every,
    output: Annotated[Path | None, typer.Option(
        "-o", "--output", metavar="FILE", show_default="required unless --resume",
        rich_help_panel=_OUT, help="Pre-training file to write (HDF5).")] = None,
    force: Annotated[bool, typer.Option(
        "--force", rich_help_panel=_OUT, help="Overwrite the file if it exists.")] = False,
    resume: Annotated[Path | None, typer.Option(
        "--resume", metavar="FILE", show_default=False, rich_help_panel=_OUT,
        help="Continue FILE from its last checkpoint. Only --data, --threads and "
             "--checkpoint-seconds may be given with it.")] = None,
    checkpoint_seconds: Annotated[float, typer.Option(
        "--checkpoint-seconds", metavar="S", min=0.001, rich_help_panel=_OUT,
        help="Seconds between checkpoints.")] = _D.checkpoint_seconds,
    json_out: Annotated[bool, typer.Option(
        "--json", rich_help_panel=_OUT,
        help="Print a JSON summary on stdout instead of the path.")] = False,
    progress: Annotated[bool, typer.Option(
        "--progress/--no-progress", rich_help_panel=_OUT,
        help="Draw a progress bar on stderr (plain lines when it is not a terminal).")] = True,
) -> None:
    from glorotcli.run import pretrain as core

    values = dict(
        data=None if data is None else str(data), online=online, activation=activation,
        init=init, depth=depth, width=width, seed=seed, threads=threads, dtype=dtype,
        input_scale=input_scale, corruption=corruption, steps_per_layer=steps_per_layer,
        lr=lr, log_every=log_every, eval_size=eval_size,
        checkpoint_seconds=checkpoint_seconds)
    values = {k: value(v) for k, v in values.items()}
    if resume is not None:
        if output is not None or force:
            raise GlorotError("--resume appends to FILE itself; leave out -o/--force")
        given = {k: v for k, v in values.items() if _typed(ctx, k)}
        config = _resumed_config(core.load_config(resume), given, resume)
    else:
        if output is None:
            raise GlorotError("give the pre-training file to write with -o FILE")
        config = PretrainConfig(**values).validate()
        from glorotcli.fileio import check_output_path

        check_output_path(output, force)
    try:
        with progress_bar(progress) as bar:
            inputs = core.load_inputs(config, bar)
            held = len(inputs.held_out)
            if held < config.eval_size and resume is None and _typed(ctx, "eval_size"):
                # as glorot train says of sizes asked beyond the data (the file records the count)
                stderr.print(f"glorot: warning: --eval-size {config.eval_size}: the held-out "
                             f"split has {held:,} examples; using {held:,}", highlight=False,
                             soft_wrap=True)
            if resume is not None:
                result = core.resume(resume, config, inputs=inputs, progress=bar)
            else:
                result = core.pretrain(config, output, inputs=inputs, force=force, progress=bar)
    except core.Interrupted as exc:
        how = (f"checkpointed at update {exc.step:,}" if exc.checkpointed
               else "kept the last checkpoint")
        stderr.print(f"glorot: interrupted; {how}; continue with: glorot pretrain --resume "
                     f"{exc.path}", highlight=False, soft_wrap=True)
        raise SystemExit(128 + exc.signum) from None  # 130 Ctrl-C, 143 SIGTERM
    except KeyboardInterrupt:
        stderr.print("glorot: interrupted before pre-training started", highlight=False)
        raise SystemExit(130) from None
    if json_out:
        print_json(result.to_dict())
        return
    costs = ", ".join(f"{a:.4g} → {b:.4g}" for a, b in zip(result.first_valid_cost,
                                                           result.valid_cost, strict=True))
    stderr.print(f"{result.depth} layers x {result.steps_per_layer:,} updates in "
                 f"{result.wall_seconds:.1f} s; held-out reconstruction error per layer: "
                 f"{costs}", highlight=False, soft_wrap=True)
    print_path(result.path)


def _typed(ctx: typer.Context, name: str) -> bool:
    """Whether option ``name`` came from the command line (Click's parameter source)."""
    source = ctx.get_parameter_source(name)
    return source is not None and source.name not in ("DEFAULT", "DEFAULT_MAP")


def _resumed_config(stored: PretrainConfig, given: dict, path: Path) -> PretrainConfig:
    """The stored settings with the few that may change on --resume replaced."""
    changes = {}
    for k, v in given.items():
        if k in PRETRAIN_RESUMABLE:
            changes[k] = v
        elif getattr(stored, k) != v:
            raise GlorotError(f"{PRETRAIN_FLAGS[k]} cannot change when resuming {path} (it was "
                              f"{getattr(stored, k)!r}); only --data, --threads and "
                              f"--checkpoint-seconds can")
    if "data" in changes and stored.online:
        raise GlorotError(f"{path} was pre-trained --online; --data cannot be given with "
                          f"--resume")
    return dataclasses.replace(stored, **changes).validate()
