"""``glorot gen-data``: make synthetic data sets (Shapeset-3x2)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from glorotcli.api import SHAPESET_SPLITS
from glorotcli.cli.ui import print_path, progress_bar

app = typer.Typer()
"""This module's commands; ``glorotcli.cli.app`` adds them to the ``glorot`` command."""

gen_app = typer.Typer(
    help="Make a synthetic data set file (Shapeset-3x2, the paper's own data).",
    no_args_is_help=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)
app.add_typer(gen_app, name="gen-data", help="Make a synthetic data set file (Shapeset-3x2).")


@gen_app.command("shapeset")
def shapeset(
    output: Annotated[Path, typer.Option(
        "-o", "--output", metavar="FILE", dir_okay=False,
        help="Dataset file to write (HDF5).")],
    train: Annotated[int, typer.Option(
        "--train", metavar="N", min=1,
        help="Training examples.")] = SHAPESET_SPLITS["train"],
    valid: Annotated[int, typer.Option(
        "--valid", metavar="N", min=0,
        help="Validation examples (0 leaves it out).")] = SHAPESET_SPLITS["valid"],
    test: Annotated[int, typer.Option(
        "--test", metavar="N", min=0,
        help="Test examples (0 leaves it out).")] = SHAPESET_SPLITS["test"],
    seed: Annotated[int, typer.Option(
        "--seed", metavar="N", min=0,
        help="Random seed; each split gets its own stream derived from it, so --train never "
             "changes valid/test.")] = 0,
    threads: Annotated[int | None, typer.Option(
        "--threads", metavar="N", min=1, show_default="all cores",
        help="Threads to generate with; the bytes written do not depend on it.")] = None,
    force: Annotated[bool, typer.Option(
        "--force", help="Overwrite OUTPUT if it exists.")] = False,
) -> None:
    """Generate Shapeset-3x2: 32x32 grey images of one or two shapes, 9 classes.

    Writes the train, valid and test splits (uint8 pixels, labels 0-8) with the generator's
    parameters and seeds, then prints the path written. Same seed, same bytes.

    Example:  glorot gen-data shapeset -o shapeset.h5 --train 100000 --seed 1
    """
    from glorotcli.api import generate_shapeset

    with progress_bar() as progress:
        path = generate_shapeset(output, train=train, valid=valid, test=test, seed=seed,
                                 threads=threads, force=force, progress=progress)
    print_path(path)
