"""The run file's layout, shared by its writer and its reader: names, status values, checkpoint
slots, chunking, the writer's identity, and small formatting helpers (see the "Run file" section
of ``docs/formats.md``)."""

from __future__ import annotations

import datetime as _dt
import os
import socket
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np

from glorotcli.fileio import (
    pid_alive,
)

FORMAT = "glorot-run"
FORMAT_VERSION = 1

RATIOS = ("grad_ratio", "update_ratio")
"""Extra per-layer series under ``/layers/wgrad``."""
LOG_SERIES = ("examples_seen", "train_loss", "valid_error", "test_error", "wall_time",
              "probe_seconds", "jacobian_seconds", "eval_seconds")
"""Series on the ``/log/step`` axis (besides ``step``)."""
STATUSES = ("running", "finished", "diverged", "interrupted")

RESERVE_BYTES = 16 * 1024 * 1024
"""Free space a writer keeps on the device: it stops (resumable) rather than let HDF5 run out,
because an HDF5 write that fails for lack of space leaves a file whose closing crashes the
process (h5py issue #914, a bug in the HDF5 library)."""

_STATUS_DTYPE = "S16"
_JSON_CAPACITY = 65536  # bytes of the fixed-length JSON datasets in /checkpoint
CHECKPOINT_SLOTS = ("checkpoint", "checkpoint_b")
"""Two resume points, written in turn: a writer killed while writing one leaves the other
whole. Each slot's ``step`` is set to -1 before its arrays are overwritten and to the step
after; readers take the slot with the larger step (files of earlier versions have the first
slot only)."""
_CHUNK_TARGET = 64 * 1024
_CHUNK_MIN = 10 * 1024
_CHUNK_MAX = 1024 * 1024


def chunk_rows(row_bytes: int, target: int = _CHUNK_TARGET) -> int:
    """Rows per HDF5 chunk (an int >= 1) of a series whose rows take ``row_bytes`` bytes: about
    ``target`` bytes (64 KiB) a chunk, never under 10 KiB (unless one row is bigger) nor over
    1 MiB (unless one row is bigger). A ``row_bytes`` below 1 counts as 1."""
    row_bytes = max(int(row_bytes), 1)
    rows = max(1, target // row_bytes)
    rows = max(rows, -(-_CHUNK_MIN // row_bytes))
    while rows > 1 and rows * row_bytes > _CHUNK_MAX:
        rows //= 2
    return rows


def _now_iso() -> str:
    return _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat()


@dataclass
class Checkpoint:
    """The latest resume point of a run file (docs/formats.md, "Run file"; docs/training.md,
    "Checkpoints, Ctrl-C and --resume"): ``step`` the updates done (-1: none), ``W[i]``
    (n_i, n_{i+1}) and ``b[i]`` (n_{i+1},) arrays in the run's dtype, ``rng`` the random
    generators' states and ``state`` the loop counters (both JSON dicts; ``state["rows"]`` the
    row counts per axis when it was written)."""

    step: int
    W: list[np.ndarray]
    b: list[np.ndarray]
    rng: dict
    state: dict


_UNSAFE: list = []
"""HDF5 files whose writes failed. They are never closed or freed: closing such a file crashes
the process (h5py issue #914), so they are kept referenced until the CLI's immediate exit
(``WriteFailed.hard_exit``). What they hold on disk stays as the last checkpoint left it."""


def unsafe(f) -> bool:
    """Whether HDF5 failed to write the open file ``f`` (it is then never closed: ``_UNSAFE``)."""
    return any(g is f for g in _UNSAFE)


_WRITER_DTYPE = "S128"


def _writer_id() -> np.bytes_:
    """``host:pid`` of the process writing the file (to tell a dead writer from a live one)."""
    return np.bytes_(f"{socket.gethostname()}:{os.getpid()}".encode()[:128])


def _local_pid(writer: str) -> int | None:
    """The process id in a ``host:pid`` writer record when the host is this one, else None."""
    host, _, pid = writer.rpartition(":")
    return int(pid) if host == socket.gethostname() and pid.isdigit() else None


def active_checkpoint(f: h5py.File) -> str | None:
    """The name of the checkpoint slot to resume from ("checkpoint" or "checkpoint_b", the one
    with the larger step), or None when neither holds one (both steps -1 or the slots
    missing). ``f``: an open run or pre-training file. May raise h5py's errors (OSError,
    KeyError) on a damaged file."""
    steps = {g: int(f[g]["step"][()]) for g in CHECKPOINT_SLOTS if f"{g}/step" in f}
    best = max(steps, key=lambda g: steps[g], default=None)
    return best if best is not None and steps[best] >= 0 else None


def _bytes_str(v) -> str:
    return v.decode() if isinstance(v, bytes | np.bytes_) else str(v)


def _reason(exc: BaseException) -> str:
    """The operating system's reason inside an HDF5 error ("No space left on device")."""
    import re

    if getattr(exc, "strerror", None):
        return exc.strerror
    m = re.search(r"error message = '([^']+)'", str(exc))
    return m.group(1) if m else _short(exc)


def _short(exc: BaseException) -> str:
    return str(exc).splitlines()[0][:200] if str(exc) else exc.__class__.__name__


def _json_default(o):
    if isinstance(o, np.integer):
        return int(o)
    if isinstance(o, np.floating):
        return float(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"not JSON-able: {type(o).__name__}")


def _writer_gone(writer: str) -> bool:
    """True when ``host:pid`` names this host and no such process exists."""
    pid = _local_pid(writer)
    return pid is not None and not pid_alive(pid)
