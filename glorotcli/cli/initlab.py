"""``glorot init-lab``: what an initialisation does to a network at step 0, measured beside
predicted (the core is ``glorotcli.report.initlab``)."""

from __future__ import annotations

import enum
from pathlib import Path
from typing import Annotated

import typer

from glorotcli.cli.choices import Activation, Dtype, Init, InputScale, value
from glorotcli.cli.ui import print_json, print_path, progress_bar, stdout
from glorotcli.config import ACTIVATIONS, INITS

app = typer.Typer()
"""This module's commands; ``glorotcli.cli.app`` adds them to the ``glorot`` command."""

_NET, _IN, _OUT = "Network", "Inputs", "Output"


class Inputs(str, enum.Enum):
    gaussian = "gaussian"
    uniform = "uniform"


INIT_LAB_HELP = (
    "What does this initialisation do to this network? Build it (biases 0), feed it probe "
    "examples, and print per hidden layer, measured beside predicted: activation std, "
    "back-propagated gradient std (dC/ds), weight-gradient std (dC/dW), saturated fraction, "
    "and for each pair of layers the Jacobian's mean singular value and mean squared "
    "singular value chi (below 1: gradients vanish going down; above 1: they explode).\n\n"
    "Predictions: the paper's linear regime (eqs. 5-7) and the mean-field theory of wide "
    "networks (Poole et al. 2016, Schoenholz et al. 2017, Pennington et al. 2017). Nothing is "
    "trained; the 5 x 1000 net answers in a few seconds. --json prints the numbers, --png DIR "
    "draws Figs. 6-8 for this net with the predictions overlaid, the per-layer stds and the "
    "Jacobians.\n\n"
    "Examples:\n\n"
    "  glorot init-lab -a tanh -i standard\n\n"
    "  glorot init-lab -a relu -i he --depth 20 --png figs/\n\n"
    "  glorot init-lab --data shapeset.h5 -a tanh -i normalized --json\n\n"
    "  glorot init-lab --widths 784,1000,500,10 --inputs uniform --input-moment 0.1"
)


@app.command("init-lab", help=INIT_LAB_HELP)
def init_lab(
    activation: Annotated[Activation, typer.Option(
        "-a", "--activation", metavar="NAME", rich_help_panel=_NET,
        help=f"Hidden-unit activation: {', '.join(ACTIVATIONS)}.")] = "tanh",
    init: Annotated[Init, typer.Option(
        "-i", "--init", metavar="NAME", rich_help_panel=_NET,
        help=f"Weight initialisation: {', '.join(INITS)} (as glorot train).")] = "normalized",
    depth: Annotated[int | None, typer.Option(
        "--depth", metavar="N", min=1, show_default="5", rich_help_panel=_NET,
        help="Number of hidden layers.")] = None,
    width: Annotated[int | None, typer.Option(
        "--width", metavar="N", min=1, show_default="1000", rich_help_panel=_NET,
        help="Units per hidden layer.")] = None,
    widths: Annotated[str | None, typer.Option(
        "--widths", metavar="SIZES", show_default=False, rich_help_panel=_NET,
        help="Every layer size, inputs to classes, e.g. 784,1000,500,10 (instead of "
             "--depth/--width).")] = None,
    dtype: Annotated[Dtype, typer.Option(
        "--dtype", metavar="TYPE", rich_help_panel=_NET,
        help="float32 (as glorot train) or float64.")] = "float32",
    seed: Annotated[int, typer.Option(
        "--seed", metavar="N", min=0, rich_help_panel=_NET,
        help="Seed of the weights, the synthetic inputs and the predicted histograms.")] = 0,
    data: Annotated[Path | None, typer.Option(
        "--data", metavar="FILE", show_default=False, rich_help_panel=_IN,
        help="Probe with a dataset's examples (from gen-data or import): the first --examples "
             "of its test split, as glorot train picks its probes. Without it, synthetic "
             "inputs and a 1024-input, 9-class net (Shapeset-3x2's sizes).")] = None,
    input_scale: Annotated[InputScale | None, typer.Option(
        "--input-scale", metavar="RANGE", show_default="0,1", rich_help_panel=_IN,
        help="With --data: pixel scaling, 0,1 (glorot's default) or -1,1.")] = None,
    inputs: Annotated[Inputs | None, typer.Option(
        "--inputs", metavar="KIND", show_default="gaussian", rich_help_panel=_IN,
        help="Synthetic inputs: gaussian or uniform, iid, zero mean.")] = None,
    input_moment: Annotated[float | None, typer.Option(
        "--input-moment", metavar="M", show_default="1", rich_help_panel=_IN,
        help="E[x^2] of the synthetic inputs (Shapeset-3x2 scaled to 0,1 has about 0.34).")
    ] = None,
    examples: Annotated[int, typer.Option(
        "--examples", metavar="N", min=1, rich_help_panel=_IN,
        help="Probe examples (the paper's: 300).")] = 300,
    jacobian_examples: Annotated[int, typer.Option(
        "--jacobian-examples", metavar="N", min=0, rich_help_panel=_IN,
        help="Examples whose Jacobians are measured (0: none; each costs one "
             "eigen-decomposition per layer pair, ~0.1 s at 1000 units).")] = 2,
    as_json: Annotated[bool, typer.Option(
        "--json", rich_help_panel=_OUT,
        help="Print the numbers as JSON (docs/formats.md) instead of tables.")] = False,
    png: Annotated[Path | None, typer.Option(
        "--png", metavar="DIR", show_default=False, rich_help_panel=_OUT,
        help="Draw the figures into DIR (created if missing) and print their paths.")] = None,
    force: Annotated[bool, typer.Option(
        "--force", rich_help_panel=_OUT,
        help="Overwrite existing figure files in DIR.")] = False,
) -> None:
    from glorotcli.report import initlab as core

    settings = core.LabSettings(
        activation=value(activation), init=value(init), depth=depth, width=width,
        widths=None if widths is None else core.parse_widths(widths),
        data=None if data is None else str(data), input_scale=value(input_scale),
        inputs=value(inputs), input_moment=input_moment, examples=examples,
        jacobian_examples=jacobian_examples, seed=seed, dtype=value(dtype)).validate()
    if png is not None:
        core.check_figure_folder(settings, png, force)  # before any work
    with progress_bar() as progress:
        result = core.run_lab(settings, progress)
    written = [] if png is None else core.write_figures(result, png, force=force)
    if as_json:
        out = result.to_json()
        if png is not None:
            out["written"] = [str(p) for p in written]
        print_json(out)
        return
    if png is not None:
        for p in written:
            print_path(p)
        return
    stdout.print(core.render(result))
