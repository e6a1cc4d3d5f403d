"""``glorot report`` (terminal, JSON, PNG figures; --follow) and ``glorot surface`` (Fig. 5)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from glorotcli.cli.ui import print_json, print_path, stderr, stdout
from glorotcli.errors import GlorotError

app = typer.Typer()
"""This module's commands; ``glorotcli.cli.app`` adds them to the ``glorot`` command."""

REPORT_HELP = (
    "Summarize training runs in the terminal, as JSON, or as the paper's figures (PNG).\n\n"
    "Per run: settings, steps, examples seen, final train loss and errors beside the "
    "majority-class baseline and the paper's Table 1 value; activation mean, std and 98th "
    "percentile per layer over training (unicode charts, one row per layer); histograms of "
    "activations and gradients at initialization and at the last probe; Jacobian singular "
    "values. With several runs, a Table-1 grid puts each measured test error beside the "
    "paper's. --png DIR writes one PNG per paper figure the runs support (others are skipped "
    "with a note on stderr) and prints their paths.\n\n"
    "Examples:\n\n"
    "  glorot report runs/tanh.h5 runs/tanhN.h5\n\n"
    "  glorot report runs/*.h5 --png figs/\n\n"
    "  glorot report runs/tanhN.h5 --follow --interval 2\n\n"
    "A sweep folder (glorot sweep -o DIR) gives its learning-rate selection and Table 1 from "
    "it (test error at the best validation step of each network's selected rate, the budget "
    "in the title); --png draws the selected runs' figures:\n\n"
    "  glorot report runs/quick --png figs/\n\n"
    "Pre-training files (glorot pretrain) give each layer's reconstruction cost over its "
    "updates; --png draws them as pretraining.png:\n\n"
    "  glorot report pre.h5 --png figs/"
)


@app.command("report", help=REPORT_HELP)
def report(
    run_names: Annotated[list[str], typer.Argument(
        show_default=False, metavar="RUN...",
        help="Run files written by glorot train, or one sweep folder (glorot sweep -o DIR), "
             "or pre-training files (glorot pretrain).")],
    png: Annotated[Path | None, typer.Option(
        "--png", metavar="DIR",
        help="Write one PNG per paper figure the runs support into DIR (created if "
             "missing) and print their paths.")] = None,
    pdf: Annotated[bool, typer.Option(
        "--pdf", help="With --png, also write each figure as PDF.")] = False,
    force: Annotated[bool, typer.Option(
        "--force", help="Overwrite existing figure files in DIR.")] = False,
    as_json: Annotated[bool, typer.Option(
        "--json", help="Print the report's numbers as JSON.")] = False,
    follow: Annotated[bool, typer.Option(
        "--follow", "-f",
        help="Re-draw while the runs are being written; stop when none is running any "
             "more.")] = False,
    interval: Annotated[float, typer.Option(
        "--interval", min=0.05, help="Seconds between re-draws with --follow.")] = 5.0,
    width: Annotated[int, typer.Option(
        "--chart-width", min=8, max=200, help="Characters per unicode chart.")] = 48,
) -> None:
    from glorotcli.report import series, terminal

    if any(not name.strip() for name in run_names):
        raise GlorotError("a run file name is empty (did the command inside \"$(...)\" "
                          "fail?)")
    runs = [Path(name) for name in run_names]
    if pdf and png is None:
        raise GlorotError("--pdf needs --png DIR")
    if any(p.is_dir() for p in runs):
        if len(runs) > 1 or follow:
            raise GlorotError("give one sweep folder alone (without --follow), or run files")
        _sweep_report(runs[0], png=png, pdf=pdf, force=force, as_json=as_json)
        return
    pre = [p for p in runs if _is_pretraining(p)]
    if pre:
        if len(pre) != len(runs):
            raise GlorotError("give pre-training files (glorot pretrain) and run files to "
                              "separate reports")
        if follow:
            raise GlorotError("--follow re-draws training runs; a pre-training file is "
                              "reported as it stands")
        _pretraining_report(runs, png=png, pdf=pdf, force=force, as_json=as_json, width=width)
        return
    if follow and (png is not None or as_json):
        raise GlorotError("--follow draws in the terminal; use it without --png and --json")
    if follow:
        _follow(runs, interval, width)
        return
    data = series.load_runs(runs)
    if png is not None:
        _write_figures(data, png, pdf=pdf, force=force, as_json=as_json)
        return
    if as_json:
        print_json(terminal.report_json(data))
        return
    stdout.print(terminal.render(data, width, console_width=stdout.width))


def _write_figures(runs, png: Path, *, pdf: bool, force: bool, as_json: bool,
                   table1=None) -> None:
    """``--png DIR``: write the figures, say what was skipped, print the paths (or JSON)."""
    from glorotcli.report import figures

    formats = ("png", "pdf") if pdf else ("png",)
    written, notes = figures.write_figures(runs, png, force=force, formats=formats,
                                           table1=table1)
    for note in notes:
        stderr.print(f"glorot: {note}", markup=False, highlight=False, soft_wrap=True)
    if not written:
        raise GlorotError("none of the paper's figures can be drawn from these runs")
    if as_json:
        print_json({"written": [str(p) for p in written], "notes": notes})
        return
    for path in written:
        print_path(path)


def _is_pretraining(path: Path) -> bool:
    """True for a glorot pre-training file. A missing path is left to the run reader; a file
    that is damaged or not a glorot file raises its one-line GlorotError here (also when it
    was meant as a pre-training file, which a damaged file can no longer say)."""
    from glorotcli.fileio import glorot_file_format

    return path.is_file() and glorot_file_format(path) == "glorot-pretrain"


def _pretraining_report(paths: list[Path], *, png: Path | None, pdf: bool, force: bool,
                        as_json: bool, width: int) -> None:
    """``glorot report PRE.h5 ...``: the layers' reconstruction costs (terminal, JSON, PNG)."""
    from glorotcli.report import pretraining

    datas = pretraining.load(paths)
    if png is not None:
        written = pretraining.write_figure(datas, png, force=force,
                                           formats=("png", "pdf") if pdf else ("png",))
        if as_json:
            print_json({"written": [str(p) for p in written], "notes": []})
            return
        for path in written:
            print_path(path)
        return
    if as_json:
        print_json([pretraining.summary(d) for d in datas])
        return
    stdout.print(pretraining.render(datas, width, console_width=stdout.width))


def _sweep_report(folder: Path, *, png: Path | None, pdf: bool, force: bool,
                  as_json: bool) -> None:
    """``glorot report DIR`` for a sweep folder: the selection, Table 1 from it, and the
    figures of the selected runs."""
    from glorotcli.report import series, terminal
    from glorotcli.run.sweep import read_summary

    summary = read_summary(folder)
    names = [n["selected"] for n in summary.get("networks", []) if n.get("selected")]
    selected = dict(zip(names, series.load_runs([folder / f"{n}.h5" for n in names]),
                        strict=True))
    tab = series.table1_from_sweep(summary, selected)
    if png is not None:
        if not selected:
            raise GlorotError(f"{folder}: no network has a selected run yet")
        _write_figures(list(selected.values()), png, pdf=pdf, force=force, as_json=as_json,
                       table1=tab)
        return
    if as_json:
        print_json({"folder": str(folder), "selection": summary.get("selection"),
                    "networks": summary.get("networks", []), "table1": tab.to_json()})
        return
    stdout.print(terminal.render_sweep(summary, tab))


def _follow(paths: list[Path], interval: float, width: int) -> None:
    """Re-read the run files every ``interval`` seconds (reopening them, SWMR) and re-draw
    until none has status "running"."""
    from rich.live import Live
    from rich.text import Text

    from glorotcli.report import series, terminal

    for p in paths:
        if not Path(p).exists():
            raise GlorotError(f"{p}: no such file")

    def snapshot():
        try:
            data = series.load_runs(paths)
        except GlorotError as exc:  # e.g. the writer is still creating the file
            return None, Text(f"waiting: {exc}", style="yellow")
        running = [r.path.name for r in data if r.live_status == "running"]
        note = (f"following {', '.join(running)}: re-drawn every {interval:g} s at "
                f"{time.strftime('%H:%M:%S')} (Ctrl-C to stop)" if running else "")
        return data, terminal.render(data, width, follow_note=note,
                                     console_width=stdout.width)

    data, view = snapshot()
    with Live(view, console=stdout, auto_refresh=False, transient=False) as live:
        while data is None or any(r.live_status == "running" for r in data):
            time.sleep(interval)
            data, view = snapshot()
            live.update(view, refresh=True)
    statuses = ", ".join(f"{r.path.name}: {r.live_status}" for r in data)
    stderr.print(f"glorot: stopped following ({statuses})", markup=False, highlight=False,
                 soft_wrap=True)
    for r in data:
        if r.writer_gone:
            stderr.print(f"glorot: {r.path}: its writer (process {r.writer}) is gone without "
                         f"closing the file; continue it with: glorot train --resume {r.path}",
                         markup=False, highlight=False, soft_wrap=True)


SURFACE_HELP = (
    "Figure 5: cross-entropy versus quadratic cost over two weights of a tiny tanh net.\n\n"
    "The net is the scalar chain x -> tanh(W1 x) -> sigmoid(W2 h) with zero biases (our "
    "reading of the paper), on a few seeded pairs (x ~ N(0, 1), t in {0, 1}); each cost is "
    "averaged over the pairs on a grid of (W1, W2). Writes the figure (and the grid values with "
    "--values), prints the written paths, and the share of the grid where each cost is a "
    "plateau (gradient norm below --flat) on stderr, or everything as JSON with --json.\n\n"
    "Example:\n\n"
    "  glorot surface -o fig05_cost_surface.png --values surface.npz"
)


@app.command("surface", help=SURFACE_HELP)
def surface(
    output: Annotated[Path, typer.Option(
        "--output", "-o", help="PNG (or .pdf) to write.")] = Path("fig05_cost_surface.png"),
    values: Annotated[Path | None, typer.Option(
        "--values", metavar="FILE",
        help="Also write the grid values to FILE (.npz or .h5).")] = None,
    grid: Annotated[int, typer.Option(
        "--grid", help="Grid points per weight.")] = 41,
    limit: Annotated[float, typer.Option(
        "--limit", help="Weights range over [-limit, limit].")] = 4.0,
    pairs: Annotated[int, typer.Option(
        "--pairs", help="Number of random (x, t) training pairs.")] = 4,
    seed: Annotated[int, typer.Option(
        "--seed", help="Seed of the random pairs.")] = 0,
    flat: Annotated[float, typer.Option(
        "--flat", help="Gradient norm below which a grid point counts as plateau.")] = 0.01,
    force: Annotated[bool, typer.Option(
        "--force", help="Overwrite existing output files.")] = False,
    as_json: Annotated[bool, typer.Option(
        "--json", help="Print the plateau shares and settings as JSON.")] = False,
) -> None:
    from glorotcli.fileio import check_output_path
    from glorotcli.report import figures
    from glorotcli.report import surface as surf

    surf.figure_suffix(output)
    check_output_path(output, force)
    if values is not None:
        surf.values_suffix(values)
        check_output_path(values, force)
    s = surf.cost_surface(grid=grid, limit=limit, n_pairs=pairs, seed=seed, flat=flat)
    pairs_text = ", ".join(f"({x:+.2f}, {t})" for x, t in zip(s.x, s.t, strict=True))
    fig = figures.fig_surface(
        s.w1, s.w2, s.cross_entropy, s.quadratic, s.grad_ce, s.grad_quad, s.flat,
        title="Fig. 5: cross-entropy (black) and quadratic (red) cost over two weights",
        source=f"glorot surface: x -> tanh(W1 x) -> sigmoid(W2 h), zero biases; mean over "
               f"{pairs} pairs (x, t) = {pairs_text} (seed {seed}); {grid}x{grid} grid on "
               f"[-{limit:g}, {limit:g}]^2")
    figures.save(fig, output, force=force)
    if values is not None:
        surf.write_values(s, values, force=force)
    if as_json:
        summary = s.summary()
        summary["output"] = str(output)
        summary["values"] = None if values is None else str(values)
        print_json(summary)
        return
    print_path(output)
    if values is not None:
        print_path(values)
    stderr.print(f"plateau share (|gradient| < {flat:g}): cross-entropy "
                 f"{s.plateau_ce:.1%}, quadratic {s.plateau_quad:.1%}", highlight=False)
