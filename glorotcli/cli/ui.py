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


PLAIN_SECONDS = 30.0
"""Seconds between two plain progress lines when stderr is not a terminal."""
LONG_TASKS = ("train", "pretrain")
"""Tasks that get a plain start line at once (others only after ``PLAIN_SECONDS``)."""


@contextlib.contextmanager
def progress_bar(enabled: bool = True) -> Iterator:
    """Yield a ``progress(task, done, total, **info)`` callback drawing rich bars on stderr.

    Each distinct ``task`` name gets its own bar; ``info`` items are shown after the bar. When
    stderr is not a terminal (``nohup``, a batch job, ``2> log``), plain lines instead, without
    escape codes: one when a task starts, then one every ``PLAIN_SECONDS`` (done/total, %,
    the info items, ETA), and one when it completes.
    """
    if not enabled:
        yield lambda *a, **k: None
        return
    if not stderr.is_terminal and not _force_progress():
        yield _plain_lines()
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


def _plain_lines():
    """The non-terminal progress reporter of ``progress_bar``."""
    import time

    state: dict[str, dict] = {}

    def update(task: str, done: int, total: int | None, **info: object) -> None:
        now = time.monotonic()
        st = state.get(task)
        first = st is None
        if first:
            st = state[task] = {"t0": now, "done0": done, "last": now, "ended": False}
        finished = total is not None and done >= total
        # a start line for training (a long task by nature); other tasks speak up only once
        # they have run for PLAIN_SECONDS, so quick commands stay quiet
        start = first and task in LONG_TASKS
        due = now - st["last"] >= PLAIN_SECONDS
        if st["ended"] or not (start or due or (finished and st.get("said"))):
            return
        st["last"] = now
        st["ended"] = finished
        st["said"] = True
        parts = [f"{done:,}/{total:,} ({100 * done / max(total, 1):.0f} %)" if total
                 else f"{done:,}"]
        parts += [f"{k} {_fmt(v)}" for k, v in info.items()
                  if not (isinstance(v, float) and v != v)]  # no "loss nan" before step 1
        rate = (done - st["done0"]) / max(now - st["t0"], 1e-9)
        if total and not finished and rate > 0 and not first:
            parts.append(f"ETA {duration((total - done) / rate)}")
        if finished and not first:
            parts.append(f"in {duration(now - st['t0'])}")
        stamp = time.strftime("%H:%M:%S")
        sys.stderr.write(f"{stamp} {task}: {', '.join(parts)}\n")
        sys.stderr.flush()

    return update


def duration(seconds: float) -> str:
    """``42 s``, ``17 min``, ``3.5 h``."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


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
