"""``glorot bench``: training steps per second, glorot vs NumPy vs PyTorch (thin wrapper)."""

from __future__ import annotations

import typer

from glorotcli.errors import GlorotError

app = typer.Typer()
"""This module's commands; ``glorotcli.cli.app`` adds them to the ``glorot`` command."""


def _ints(text: str, flag: str) -> tuple[int, ...]:
    try:
        return tuple(int(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise GlorotError(f"{flag} takes comma-separated integers, got {text!r}") from None


@app.command("bench")
def bench(
    batch: str = typer.Option("1,10,100", "--batch", "-b",
                              help="Comma-separated minibatch sizes."),
    threads: str = typer.Option("1,2", "--threads", "-t", help="Comma-separated thread counts."),
    impl: str = typer.Option("glorot,numpy,torch", "--impl",
                             help="Implementations to compare (torch is skipped with a note "
                                  "when not installed)."),
    rounds: int = typer.Option(3, "--rounds", "-r", help="Interleaved timing rounds (median)."),
    seconds: float = typer.Option(1.0, "--seconds", "-s",
                                  help="Seconds of stepping per measurement."),
    first_step: int = typer.Option(3, "--first-step-runs",
                                   help="Fresh processes timed to their first training step "
                                        "(0: skip)."),
    depth: int = typer.Option(5, "--depth", help="Hidden layers of the benchmark net."),
    dtype: str = typer.Option("float32", "--dtype", help="float32 or float64."),
    json_out: bool = typer.Option(False, "--json", help="Print the full result as JSON."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
) -> None:
    """Time training steps of the paper's net in glorot, NumPy and PyTorch, side by side.

    The net is 1024-1000x5-9, tanh, NLL; each implementation runs in its own process, in
    interleaved rounds; prints steps/s and glorot's speed ratio to each reference, against the
    targets of docs/performance.md.

    Takes about 1-2 minutes with the defaults. Example:

      glorot bench --batch 10 --threads 1,2 --rounds 5
    """
    from glorotcli.bench import BenchSettings, format_result, run_bench
    from glorotcli.cli.ui import print_json, progress_bar

    settings = BenchSettings(
        batches=_ints(batch, "--batch"), threads=_ints(threads, "--threads"),
        impls=tuple(v.strip() for v in impl.split(",") if v.strip()), rounds=rounds,
        seconds=seconds, first_step_runs=first_step, depth=depth, dtype=dtype).validate()
    with progress_bar(not quiet) as progress:
        result = run_bench(settings, progress)
    if json_out:
        print_json(result.to_json())
    else:
        typer.echo(format_result(result))
