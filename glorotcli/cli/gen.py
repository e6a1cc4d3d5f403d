"""``glorot gen-data``: make synthetic data sets (Shapeset-3x2)."""

from __future__ import annotations

from pathlib import Path

import typer

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
    output: Path = typer.Option(..., "-o", "--output", help="Dataset file to write (HDF5).",
                                dir_okay=False),
    train: int = typer.Option(100_000, "--train", help="Training examples (at least 1)."),
    valid: int = typer.Option(10_000, "--valid", help="Validation examples (0 leaves it out)."),
    test: int = typer.Option(10_000, "--test", help="Test examples (0 leaves it out)."),
    seed: int = typer.Option(0, "--seed", help="Random seed; each split gets its own stream "
                             "derived from it, so --train never changes valid/test."),
    threads: int | None = typer.Option(None, "--threads", help="Threads to generate with (default: "
                                "all cores); the bytes written do not depend on it.",
                                show_default=False),
    force: bool = typer.Option(False, "--force", help="Overwrite OUTPUT if it exists."),
) -> None:
    """Generate Shapeset-3x2: 32x32 grey images of one or two shapes, 9 classes.

    Writes the train, valid and test splits (uint8 pixels, labels 0-8) with the generator's
    parameters and seeds, then prints the path written. Same seed, same bytes.

    Example:  glorot gen-data shapeset -o shapeset.h5 --train 100000 --seed 1
    """
    from glorotcli.data import shapeset as S
    from glorotcli.data.store import write_dataset
    from glorotcli.errors import GlorotError
    from glorotcli.fileio import check_output_path

    S.check_split_sizes(train, valid, test)
    if seed < 0:
        raise GlorotError(f"--seed must be a non-negative integer, got {seed}")
    if threads is not None and threads < 1:
        raise GlorotError(f"--threads must be at least 1, got {threads}")
    check_output_path(output, force)  # fail now, not after generating
    with progress_bar() as progress:
        splits = S.make_splits(train, valid, test, seed, threads=threads, progress=progress)
    path = write_dataset(output, kind="shapeset", image_shape=(S.SIZE, S.SIZE, 1),
                         class_names=S.CLASS_NAMES, splits=splits,
                         params=S.dataset_params(train, valid, test, seed), force=force)
    print_path(path)
