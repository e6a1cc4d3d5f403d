"""``glorot bench``: training steps per second, glorot vs NumPy, PyTorch, JAX and the sgemm roof;
``glorot bench --busy``: the default thread count with a core kept busy (thin wrapper)."""

from __future__ import annotations

from typing import Annotated

import typer

from glorotcli.errors import GlorotError

app = typer.Typer()
"""This module's commands; ``glorotcli.cli.app`` adds them to the ``glorot`` command."""

_STEP, _BUSY = "Step benchmark", "Busy machine (--busy)"


def _ints(text: str, flag: str) -> tuple[int, ...]:
    try:
        return tuple(int(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise GlorotError(f"{flag} takes comma-separated integers, got {text!r}") from None


BENCH_HELP = (
    "Time training steps of the paper's net in glorot, NumPy, PyTorch and JAX, side by side, "
    "and the sgemm rate of the same matrix products (the machine's roof).\n\n"
    "The net is 1024-1000x5-9, tanh, NLL; each implementation runs in its own process, in "
    "interleaved rounds; prints steps/s, glorot's ratio to each reference, every figure's share "
    "of the sgemm floor, the BLAS kernel in use, and the targets of docs/performance.md. "
    "PyTorch and JAX are skipped with a note when not installed.\n\n"
    "With --busy: starts a busy process of its own and compares the default thread count of "
    "glorot train with --threads 1 (training steps, probes, Jacobians) at widths 200 and "
    "1000.\n\n"
    "Takes about 2-3 minutes with the defaults (--busy: about 1). Examples:\n\n"
    "  glorot bench --batch 10 --threads 1,2 --rounds 5\n\n"
    "  glorot bench --busy --rounds 3")


@app.command("bench", help=BENCH_HELP)
def bench(
    batch: Annotated[str, typer.Option(
        "--batch", "-b", metavar="LIST", rich_help_panel=_STEP,
        help="Comma-separated minibatch sizes.")] = "1,10,100",
    threads: Annotated[str, typer.Option(
        "--threads", "-t", metavar="LIST", rich_help_panel=_STEP,
        help="Comma-separated thread counts.")] = "1,2",
    impl: Annotated[str, typer.Option(
        "--impl", metavar="LIST", rich_help_panel=_STEP,
        help="Implementations to compare: glorot, numpy, torch, jax, and sgemm (the roof).")
    ] = "glorot,numpy,torch,jax,sgemm",
    native_blas: Annotated[bool, typer.Option(
        "--native-blas", rich_help_panel=_STEP,
        help="Run the glorot and NumPy workers without OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE "
             "(OpenBLAS's own kernel for this CPU).")] = False,
    max_others: Annotated[float | None, typer.Option(
        "--max-others", metavar="CORES", min=0, rich_help_panel=_STEP,
        help="Measure again (up to 3 times) when other processes used more than this many "
             "cores meanwhile (e.g. 0.3 on a shared machine).")] = None,
    first_step: Annotated[int, typer.Option(
        "--first-step-runs", metavar="N", min=0, rich_help_panel=_STEP,
        help="Fresh processes timed to their first training step (0: skip).")] = 3,
    depth: Annotated[int, typer.Option(
        "--depth", metavar="N", rich_help_panel=_STEP,
        help="Hidden layers of the benchmark net.")] = 5,
    dtype: Annotated[str, typer.Option(
        "--dtype", metavar="TYPE", rich_help_panel=_STEP,
        help="float32 or float64.")] = "float32",
    busy: Annotated[bool, typer.Option(
        "--busy", rich_help_panel=_BUSY,
        help="Measure the default thread count against --threads 1 with cores kept busy "
             "instead.")] = False,
    widths: Annotated[str, typer.Option(
        "--widths", metavar="LIST", rich_help_panel=_BUSY,
        help="Comma-separated hidden-layer widths (--busy).")] = "200,1000",
    spinners: Annotated[int, typer.Option(
        "--spinners", metavar="N", min=0, rich_help_panel=_BUSY,
        help="Busy processes to start (--busy; 0: measure the machine as it is).")] = 1,
    pin: Annotated[bool, typer.Option(
        "--pin", rich_help_panel=_BUSY,
        help="Pin the busy processes to the last CPUs (--busy).")] = False,
    rounds: Annotated[int | None, typer.Option(
        "--rounds", "-r", metavar="N", show_default="5; --busy: 3",
        help="Interleaved timing rounds (median).")] = None,
    seconds: Annotated[float | None, typer.Option(
        "--seconds", "-s", metavar="S", show_default="1; --busy: 0.4",
        help="Seconds per measurement.")] = None,
    json_out: Annotated[bool, typer.Option(
        "--json", help="Print the full result as JSON.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
) -> None:
    from glorotcli.cli.ui import print_json, progress_bar

    if busy:
        from glorotcli.bench.busy import BusySettings, format_busy, run_busy

        bsettings = BusySettings(widths=_ints(widths, "--widths"), depth=depth,
                                 rounds=3 if rounds is None else rounds,
                                 seconds=0.4 if seconds is None else seconds,
                                 spinners=spinners, pin=pin).validate()
        with progress_bar(not quiet) as progress:
            bresult = run_busy(bsettings, progress)
        if json_out:
            print_json(bresult.to_json())
        else:
            typer.echo(format_busy(bresult))
        return
    from glorotcli.bench import BenchSettings, format_result, run_bench

    settings = BenchSettings(
        batches=_ints(batch, "--batch"), threads=_ints(threads, "--threads"),
        impls=tuple(v.strip() for v in impl.split(",") if v.strip()),
        rounds=5 if rounds is None else rounds, seconds=1.0 if seconds is None else seconds,
        first_step_runs=first_step, depth=depth, dtype=dtype,
        native_blas=native_blas, max_others=max_others).validate()
    with progress_bar(not quiet) as progress:
        result = run_bench(settings, progress)
    if json_out:
        print_json(result.to_json())
    else:
        typer.echo(format_result(result))
