"""What the CLI draws: rich progress bars on stderr and small printing helpers."""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Iterator

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

stderr = Console(stderr=True)
stdout = Console()


@contextlib.contextmanager
def progress_bar(enabled: bool = True) -> Iterator:
    """Yield a ``progress(task, done, total, **info)`` callback drawing rich bars on stderr.

    Each distinct ``task`` name gets its own bar; ``info`` items are shown after the bar.
    """
    if not enabled:
        yield lambda *a, **k: None
        return
    bars = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        TextColumn("{task.fields[info]}"),
        console=stderr,
        transient=False,
        disable=not stderr.is_terminal and not _force_progress(),
    )
    tasks: dict[str, int] = {}

    def update(task: str, done: int, total: int | None, **info: object) -> None:
        text = "  ".join(f"{k} {_fmt(v)}" for k, v in info.items())
        if task not in tasks:
            tasks[task] = bars.add_task(task, total=total, info=text)
        bars.update(tasks[task], completed=done, total=total, info=text)

    with bars:
        yield update


def _force_progress() -> bool:
    import os

    return os.environ.get("GLOROT_PROGRESS", "") == "1"


def _fmt(v: object) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


def print_json(obj: object) -> None:
    """Write ``obj`` as indented JSON on stdout (for ``--json``)."""
    sys.stdout.write(json.dumps(obj, indent=2, default=_json_default) + "\n")


def _json_default(o: object):
    import numpy as np

    if isinstance(o, np.integer):
        return int(o)
    if isinstance(o, np.floating):
        return None if not np.isfinite(o) else float(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    return str(o)


def print_path(path: object) -> None:
    """Write the path of what a command made on stdout (for shell pipelines)."""
    sys.stdout.write(f"{path}\n")
    sys.stdout.flush()
