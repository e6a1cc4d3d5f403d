"""How the core reports progress without printing.

Core functions take an optional ``progress`` callback with this signature. The CLI passes one
that draws a rich progress bar on stderr; tests pass nothing (``no_progress``) or a recorder.
"""

from __future__ import annotations

from typing import Protocol


class Progress(Protocol):
    def __call__(self, task: str, done: int, total: int | None, **info: object) -> None:
        """``task`` names the work ("train", "test split", ...); ``done`` of ``total`` units
        finished; ``info`` carries extra numbers to show (loss, steps/s, ...)."""


def no_progress(task: str, done: int, total: int | None, **info: object) -> None:
    """The default callback: report nothing."""
