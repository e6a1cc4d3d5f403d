"""``glorot import mnist|cifar10`` (real data sets into the dataset format) and ``glorot inspect``
(what is in any glorot file: dataset or run)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from glorotcli.cli.ui import print_json, print_path, progress_bar, stderr, stdout
from glorotcli.data.store import ImportResult
from glorotcli.errors import GlorotError

app = typer.Typer()
"""This module's commands; ``glorotcli.cli.app`` adds them to the ``glorot`` command."""

import_app = typer.Typer(
    help=(
        "Import a real data set into a glorot dataset file (same format as gen-data).\n\n"
        "Example:\n\n"
        "  glorot import mnist ~/data/mnist -o mnist.h5"
    ),
    no_args_is_help=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)
app.add_typer(import_app, name="import")

Output = Annotated[Path, typer.Option("-o", "--output", metavar="FILE",
                                      help="Dataset file to write (HDF5).")]
Force = Annotated[bool, typer.Option("--force", help="Overwrite the output file if it exists.")]
Strict = Annotated[bool, typer.Option(
    "--strict", help="Refuse (exit 2) when an input file does not match the known checksums, "
                     "instead of warning and going on.")]
Progress = Annotated[bool, typer.Option(
    "--progress/--no-progress", help="Draw progress bars on stderr (plain lines when it is not "
                                     "a terminal).")]


def _report_import(result: ImportResult) -> None:
    """Checksum verdict and split sizes on stderr, the written path on stdout."""
    n = len(result.checksums)
    if not result.mismatches:
        how = {c.algorithm for c in result.checksums}
        extra = "" if how <= {"sha256", "git blob sha1"} else f" (compared by {', '.join(how)})"
        stderr.print(f"checksums: all {n} files match {result.release}{extra}",
                     highlight=False, soft_wrap=True)
    for c in result.mismatches:
        stderr.print(f"warning: {c.mismatch(result.release)}; continuing (use --strict to "
                     "refuse)", style="yellow", highlight=False, soft_wrap=True)
    sizes = ", ".join(f"{k} {v}" for k, v in result.counts.items())
    stderr.print(f"{result.kind}: {sizes}", highlight=False, soft_wrap=True)
    print_path(result.path)


@import_app.command("mnist")
def import_mnist_cmd(
    folder: Annotated[Path, typer.Argument(
        metavar="DIR", show_default=False,
        help="Folder holding the four MNIST IDX files (train-images-idx3-ubyte.gz etc., gzipped "
             "or plain).")],
    output: Output,
    valid: Annotated[int, typer.Option(
        "--valid", metavar="N",
        help="Validation examples, taken from the END of the training file (the rest "
             "stays for training).")] = 10000,
    force: Force = False,
    strict: Strict = False,
    progress: Progress = True,
) -> None:
    """Import MNIST (the four official IDX files) as train/valid/test splits.

    Checks every file against the official sha256 digests and says so on stderr.

    Example:

      glorot import mnist ~/data/mnist -o mnist.h5 --valid 10000
    """
    from glorotcli.data.mnist import import_mnist

    with progress_bar(progress) as bar:
        result = import_mnist(folder, output, valid=valid, force=force, strict=strict,
                              progress=bar)
    _report_import(result)


@import_app.command("cifar10")
def import_cifar10_cmd(
    folder: Annotated[Path, typer.Argument(
        metavar="DIR", show_default=False,
        help="Folder holding data_batch_1.bin ... data_batch_5.bin and test_batch.bin (or "
             ".bin.gz), or the folder holding cifar-10-batches-bin/.")],
    output: Output,
    valid: Annotated[int, typer.Option(
        "--valid", metavar="N",
        help="Validation examples, taken from the END of the training set (data_batch_5 "
             "by default).")] = 10000,
    force: Force = False,
    strict: Strict = False,
    progress: Progress = True,
) -> None:
    """Import CIFAR-10 (the official binary batches) as train/valid/test splits.

    Compares each file with the git blob id committed in a public repository (unconfirmed as
    official) and says so on stderr.

    Example:

      glorot import cifar10 ~/data/cifar-10-batches-bin -o cifar10.h5
    """
    from glorotcli.data.cifar import import_cifar10

    with progress_bar(progress) as bar:
        result = import_cifar10(folder, output, valid=valid, force=force, strict=strict,
                                progress=bar)
    _report_import(result)


@app.command("inspect")
def inspect_cmd(
    file: Annotated[Path, typer.Argument(
        metavar="FILE", show_default=False,
        help="A glorot dataset, run, pre-training or surface-values file.")],
    as_json: Annotated[bool, typer.Option(
        "--json", help="Print the summary as JSON on stdout.")] = False,
    montage: Annotated[Path | None, typer.Option(
        "--montage", metavar="PNG",
        help="Also draw a labelled grid of sample images (dataset files only) into this "
             "PNG file.")] = None,
    split: Annotated[str | None, typer.Option(
        "--split",
        help="Split to draw with --montage (default: train, else the first split "
             "present).")] = None,
    count: Annotated[int, typer.Option(
        "--count", metavar="N", help="Number of images to draw with --montage.")] = 50,
    seed: Annotated[int, typer.Option(
        "--seed", help="Seed choosing the images for --montage.")] = 0,
    force: Annotated[bool, typer.Option(
        "--force", help="Overwrite an existing --montage PNG.")] = False,
) -> None:
    """Show what is in a glorot file: splits, class histogram, pixel range, settings, sources
    for a dataset file; settings, progress and final errors for a run file.

    Example:

      glorot inspect mnist.h5 --montage mnist.png
    """
    from glorotcli.fileio import glorot_file_format

    if montage is None and split is not None:
        raise GlorotError("--split chooses the images of --montage; give --montage PNG too")
    kind = ("glorot-surface" if file.suffix.lower() == ".npz" and file.is_file()
            else glorot_file_format(file))
    if kind != "glorot-dataset" and montage is not None:
        what = {"glorot-run": "a run file", "glorot-pretrain": "a pre-training file"}.get(
            kind, "a surface-values file")
        raise GlorotError(f"--montage draws dataset files only; {file} is {what}")
    if kind == "glorot-run":
        info = _run_info(file)
    elif kind == "glorot-pretrain":
        from glorotcli.stats.runlog.pretrained import pretrain_info

        info = pretrain_info(file)
    elif kind == "glorot-surface":
        from glorotcli.report.surface import values_info

        info = values_info(file)
    else:
        from glorotcli.data.store import dataset_info

        info = dataset_info(file)
    drawn = None
    if montage is not None:
        from glorotcli.report.montage import montage as draw

        drawn = draw(file, montage, split=split, count=count, seed=seed, force=force)
        info["montage"] = str(drawn)
    if as_json:
        print_json(info)
        return
    if kind == "glorot-run":
        _show_mapping(info, title=f"{file} (glorot run)")
    elif kind == "glorot-pretrain":
        _show_mapping(info, title=f"{file} (glorot pre-training)")
    elif kind == "glorot-surface":
        _show_mapping(info, title=f"{file} (glorot surface values, Fig. 5)")
    else:
        _show_dataset(info)
    if drawn is not None:
        print_path(drawn)


def _run_info(path: Path) -> dict:
    try:
        from glorotcli.stats.runlog import run_info
    except ModuleNotFoundError as exc:
        if exc.name not in ("glorotcli.stats.runlog",):
            raise
        raise GlorotError(f"{path}: a glorot run file, but this glorot has no run reader "
                          "(glorotcli.stats.runlog)") from None
    return dict(run_info(path))


# ---------------------------------------------------------------- rendering ----

def _fmt(v: object) -> Text:
    """A value as plain text (never parsed as rich markup: "[a, b]" must stay visible)."""
    return Text(_str(v))


def _str(v: object) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.4g}"
    if isinstance(v, list | tuple):
        items = [_str(x) for x in v[:12]]
        more = f", ... ({len(v)} items)" if len(v) > 12 else ""
        return "[" + ", ".join(items) + more + "]"
    return str(v)


def _flatten(d: dict, prefix: str = "") -> list[tuple[str, object]]:
    rows: list[tuple[str, object]] = []
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict) and v:
            rows.extend(_flatten(v, key + "."))
        else:
            rows.append((key, v))
    return rows


def _show_mapping(info: dict, title: str) -> None:
    """Any JSON-like dict as a two-column table, nested keys joined with dots."""
    table = Table(title=title, title_justify="left", show_header=False)
    table.add_column("key", style="bold")
    table.add_column("value", overflow="fold")
    for key, value in _flatten(info):
        table.add_row(Text(key), _fmt_row(key, value))
    stdout.print(table)


def _fmt_row(key: str, value: object) -> Text:
    """A row's value; error rates and shares (stored as fractions) as percents, the way
    ``glorot report`` shows them."""
    name = key.rsplit(".", 1)[-1]
    if isinstance(value, float) and ("error" in name or name.endswith(("fraction", "share"))):
        return Text(f"{100 * value:.2f} %")
    return _fmt(value)


def _show_dataset(info: dict) -> None:
    """A dataset file: the splits, the class histogram, the settings and the sources."""
    h, w, c = info["image_shape"]
    head = Text.assemble((str(info["path"]), "bold"),
                         f"  {info['format']} v{info['format_version']}, kind ",
                         (str(info["kind"]), "bold"),
                         f", {h}x{w}x{c} images, {info['n_classes']} classes")
    stdout.print(head, highlight=False)
    splits = info["splits"]
    table = Table(title="splits", title_justify="left")
    for col in ("split", "examples", "pixel min", "pixel max", "pixel mean", "majority error %"):
        table.add_column(col, justify="left" if col == "split" else "right")
    for name, s in splits.items():
        table.add_row(Text(name), f"{s['n']:,}", _fmt(s["pixel_min"]), _fmt(s["pixel_max"]),
                      "-" if s["pixel_mean"] is None else f"{s['pixel_mean']:.2f}",
                      "-" if s["majority_error"] is None else f"{100 * s['majority_error']:.2f}")
    stdout.print(table)
    hist = Table(title="examples per class", title_justify="left")
    hist.add_column("class", justify="right")
    hist.add_column("name")
    for name in splits:
        hist.add_column(name, justify="right")
    for k, cname in enumerate(info["class_names"]):
        hist.add_row(str(k), Text(cname), *(f"{s['class_counts'][k]:,}" for s in splits.values()))
    stdout.print(hist)
    for section in ("params", "sources"):
        if info.get(section):
            table = Table(title=section, title_justify="left", show_header=False)
            table.add_column("key", style="bold")
            table.add_column("value", overflow="fold")
            for key, value in _flatten(info[section]):
                table.add_row(Text(key), _fmt(value))
            stdout.print(table)
