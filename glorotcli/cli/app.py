"""The ``glorot`` command line: one Typer app, each command a thin wrapper over the core.

Commands live in one module per topic (``gen.py``, ``data.py``, ``train.py``,
``report.py``, ``bench.py``) and register
themselves on ``app`` here. Every error the user can fix arrives as ``GlorotError`` and leaves as
one line on stderr with exit status 2 (1 for a failed run), never as a traceback.
"""

from __future__ import annotations

import os
import sys

import typer
import typer.core

from glorotcli import __version__
from glorotcli.errors import GlorotError

WORKFLOW = ("gen-data", "import", "train", "sweep", "report", "inspect", "surface", "bench")
"""Commands in the order of the workflow, as ``glorot --help`` lists them."""


class _WorkflowOrder(typer.core.TyperGroup):
    def list_commands(self, ctx) -> list[str]:
        names = super().list_commands(ctx)
        return sorted(names, key=lambda n: (WORKFLOW.index(n) if n in WORKFLOW else 99, n))


app = typer.Typer(
    name="glorot",
    cls=_WorkflowOrder,
    help=(
        "Reproduce Glorot & Bengio (2010): make Shapeset-3x2 or import MNIST/CIFAR-10, train "
        "deep MLPs while recording per-layer statistics, and draw the paper's figures.\n\n"
        "Typical session:\n\n"
        "  glorot gen-data shapeset -o shapeset.h5\n\n"
        "  glorot train --data shapeset.h5 -a tanh -i normalized -o tanhN.h5\n\n"
        "  glorot report tanhN.h5 --png figs/"
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"glorot {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                 help="Print the version and exit."),
) -> None:
    """Reproduce Glorot & Bengio (2010) from data to figures."""


def _register() -> None:
    """Import the command modules; each adds its commands to ``app``."""
    import importlib

    for name in ("gen", "data", "train", "sweep", "report", "bench"):
        importlib.import_module(f"glorotcli.cli.{name}")


def error(message: str, code: int = 2) -> None:
    """Print ``glorot: error: message`` on stderr and exit with ``code``."""
    typer.echo(f"glorot: error: {message}", err=True)
    sys.exit(code)


def _usage_error(exc: Exception) -> None:
    """Click's usage errors (missing option, bad value) as one line naming the command."""
    if type(exc).__name__ == "NoArgsIsHelpError":  # `glorot import` alone: show its help
        typer.echo(exc.format_message())
        sys.exit(2)
    ctx = getattr(exc, "ctx", None)
    where = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
    error(f"{exc.format_message()}{where}", getattr(exc, "exit_code", 2))


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``glorot`` console script and ``python -m glorotcli``."""
    from glorotcli.environment import prepare

    prepare(warn=lambda message: typer.echo(f"glorot: warning: {message}", err=True))
    _register()
    command = typer.main.get_command(app)
    try:
        code = command.main(args=argv, prog_name="glorot", standalone_mode=False)
    except GlorotError as exc:
        if getattr(exc, "hard_exit", False):  # HDF5's state is unsafe: skip interpreter exit
            typer.echo(f"glorot: error: {exc}", err=True)
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(exc.exit_code)
        error(str(exc), exc.exit_code)
    except BrokenPipeError:  # e.g. `glorot inspect x.h5 --json | head`
        sys.exit(0)
    except KeyboardInterrupt:
        typer.echo("glorot: interrupted", err=True)
        sys.exit(130)
    except Exception as exc:
        # Typer bundles its own copy of click, so its exception classes are not public API:
        # recognise usage errors and aborts by their shape.
        if hasattr(exc, "format_message") and hasattr(exc, "exit_code"):
            _usage_error(exc)
        if type(exc).__name__ == "Abort":
            typer.echo("glorot: interrupted", err=True)
            sys.exit(130)
        raise
    if code == 130:  # Typer turns Ctrl-C inside a command into a silent exit status 130
        typer.echo("glorot: interrupted", err=True)
    sys.exit(code if isinstance(code, int) else 0)
