"""The ``glorot`` command line: one Typer app, each command a thin wrapper over the core.

Commands live in one module per topic (``gen.py``, ``data.py``, ``train.py``, ``sweep.py``,
``report.py``, ``bench.py``), each with its own ``typer.Typer()`` that ``_register`` merges into
``app`` here (Typer's "one file per command" layout: the modules never import this one).
Every error the user can fix arrives as ``GlorotError`` and leaves as one line on stderr with exit
status 2 (1 for a failed run), never as a traceback.
"""

from __future__ import annotations

import os
import sys

import typer
import typer.core

from glorotcli import __version__
from glorotcli.errors import GlorotError

WORKFLOW = ("gen-data", "import", "train", "pretrain", "sweep", "report", "inspect", "surface",
            "init-lab", "bench")
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
    rich_markup_mode="markdown",  # paragraphs re-flow to the terminal; `code` and *emphasis*
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
    """Add each command module's commands to ``app`` (once; the modules never import this one)."""
    if app.registered_groups:
        return
    from glorotcli.cli import bench, data, gen, initlab, pretrain, report, sweep, train

    for module in (gen, data, train, pretrain, sweep, report, initlab, bench):
        app.add_typer(module.app)


def command():
    """The whole ``glorot`` command tree as a Click command, ready to run or to document."""
    _register()
    root = typer.main.get_command(app)
    _hide_flag_placeholders(root)
    return root


def _hide_flag_placeholders(cmd, parent=None) -> None:
    """Tidy Typer's type column: it shows ``<bool>`` after flags such as ``--force`` and
    ``--help``, which take no value, and ``<list[str]>`` after arguments that already show their
    name (``RUN``). Give each flag an empty metavar (the help option included, which Click builds
    once per command from the context's ``help_option_names``) and hide the type of arguments
    that have a metavar."""
    ctx = cmd.context_class(cmd, parent=parent, info_name=cmd.name, **cmd.context_settings)
    for param in [*cmd.params, cmd.get_help_option(ctx)]:
        if param is None:
            continue
        if getattr(param, "is_flag", False) and param.metavar is None:
            param.metavar = ""
        elif param.param_type_name == "argument" and param.metavar:
            param.display_type_rich = lambda ctx: None
    for sub in getattr(cmd, "commands", {}).values():
        _hide_flag_placeholders(sub, ctx)


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
    # Typer validates through pydantic-style types, whose messages start "Value error, ".
    message = exc.format_message().replace(": Value error, ", ": ")
    error(f"{message}{where}", getattr(exc, "exit_code", 2))


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``glorot`` console script and ``python -m glorotcli``."""
    from glorotcli.environment import prepare

    prepare(warn=lambda message: typer.echo(f"glorot: warning: {message}", err=True))
    root = command()
    try:
        code = root.main(args=argv, prog_name="glorot", standalone_mode=False)
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
