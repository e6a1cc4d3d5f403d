"""The run file: one HDF5 file per training run, written live and readable while it grows.

Layout: see the "Run file" section of ``docs/formats.md`` (the contract with the reports).

Writing (``RunWriter``) follows the HDF5 single-writer/multiple-reader (SWMR) rules: every group,
dataset and attribute is created first, then ``swmr_mode`` is switched on, and from then on the
writer only appends rows to chunked series and overwrites fixed-size datasets (``/status``,
``/checkpoint/*``). Rows are buffered in memory and written in batches: every ``flush_seconds``,
at every checkpoint and on close. In each batch the series sharing an axis are written and
flushed first and their ``step`` dataset last, so a reader that trusts ``len(step)`` always sees
complete rows.

Reading (``read_run``, ``run_info``) opens the file in SWMR read mode when it can, takes
``n = len(step)`` for each axis and reads only the first ``n`` rows of the series on that axis.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import math
import os
import socket
import struct
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import h5py
import numpy as np

from glorotcli import __version__
from glorotcli.errors import GlorotError, WriteFailed
from glorotcli.fileio import (
    HDF5_SIGNATURE,
    check_output_path,
    hdf5_locked,
    open_hdf5_read,
    pid_alive,
)
from glorotcli.stats import QUANTITIES, STATS

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
    """Rows per chunk of a series whose rows take ``row_bytes``: about ``target`` bytes a chunk,
    never under 10 KiB (unless one row is bigger) nor over 1 MiB (unless one row is bigger)."""
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
    """The latest resume point: parameters, RNG states and loop counters (all JSON-able)."""

    step: int
    W: list[np.ndarray]
    b: list[np.ndarray]
    rng: dict
    state: dict


_UNSAFE: list = []
"""HDF5 files whose writes failed. They are never closed or freed: closing such a file crashes
the process (h5py issue #914), so they are kept referenced until the CLI's immediate exit
(``WriteFailed.hard_exit``). What they hold on disk stays as the last checkpoint left it."""


def _writes(method):
    """Turn HDF5's write failures (OSError or RuntimeError from h5py) in a ``RunWriter``
    method into ``WriteFailed`` naming the file; the writer is then closed for good without
    touching the file again."""
    import functools

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except (OSError, RuntimeError) as exc:
            _UNSAFE.append(self._f)
            self.closed = True
            raise WriteFailed(f"{self.path}: writing failed ({_reason(exc)})") from None
    return wrapper


class DiskFull(GlorotError):
    """The device holding a run file is nearly full (see ``RESERVE_BYTES``)."""


def free_bytes(folder: Path) -> int:
    """Bytes an unprivileged process may still write on the device holding ``folder``."""
    st = os.statvfs(folder)
    return int(st.f_bavail) * int(st.f_frsize)


def _check_space(path: Path, need: int, what: str) -> None:
    limit = _file_size_limit()
    if limit is not None:
        size = path.stat().st_size if path.exists() else 0
        if size + need + 2**20 > limit:
            raise DiskFull(f"{path}: file size limit reached (ulimit -f allows "
                           f"{limit / 2**20:.1f} MB per file; {what} needs "
                           f"{need / 2**20:.1f} MB more than the file's {size / 2**20:.1f} MB)")
    free = free_bytes(path.parent if str(path.parent) else Path("."))
    if free < need + RESERVE_BYTES:
        raise DiskFull(f"{path}: no space left on device ({free / 2**20:.1f} MB free on "
                       f"{path.parent or '.'}, {what} needs {need / 2**20:.1f} MB plus a "
                       f"{RESERVE_BYTES / 2**20:.0f} MB reserve)")


def _file_size_limit() -> int | None:
    """The process's file-size limit in bytes (``ulimit -f``), or None when unlimited."""
    try:
        import resource
    except ImportError:  # not on POSIX
        return None
    soft, _ = resource.getrlimit(resource.RLIMIT_FSIZE)
    return None if soft == resource.RLIM_INFINITY else int(soft)


def _nbytes(rows: list[dict]) -> int:
    return sum(np.asarray(v).nbytes for row in rows for v in row.values())


class RunWriter:
    """Writes one run file. Create with ``RunWriter.create(...)`` or reopen with
    ``RunWriter.resume(path)``; then ``log``, ``layers``, ``jacobian``, ``checkpoint``,
    ``close``. Not thread-safe; one writer per file.

    ``log``/``layers``/``jacobian`` only buffer rows; they reach the file at the next
    ``flush`` (automatic every ``flush_seconds``), ``checkpoint`` or ``close``.
    """

    def __init__(self, f: h5py.File, path: Path, flush_seconds: float) -> None:
        self._f = f
        self.path = path
        self.flush_seconds = float(flush_seconds)
        self._last_flush = time.monotonic()
        self.sizes = tuple(int(v) for v in f.attrs["sizes"])
        self.n_layers = len(self.sizes) - 2
        self._buf_log: list[dict] = []
        self._buf_layers: list[dict] = []
        self._buf_jac: list[dict] = []
        self.has_jacobian = "layers/jacobian/step" in f
        self.has_layers = "layers/step" in f
        self.n_bins = {q: f[f"layers/{q}/hist"].shape[2] for q in QUANTITIES
                       if f"layers/{q}/hist" in f}
        self.jacobian_k = f["layers/jacobian/sv"].shape[2] if self.has_jacobian else 0
        self._rows_written = {"log": f["log/step"].shape[0],
                              "layers": f["layers/step"].shape[0] if self.has_layers else 0,
                              "jacobian": (f["layers/jacobian/step"].shape[0]
                                           if self.has_jacobian else 0)}
        self.closed = False

    # ------------------------------------------------------------------ creation ----
    @classmethod
    def create(
        cls,
        path: str | os.PathLike,
        *,
        config: Mapping,
        sizes: Sequence[int],
        activation: str,
        init: str,
        seed: int,
        dataset: Mapping,
        input_scale: str,
        probe_x: np.ndarray,
        probe_y: np.ndarray,
        init_W: Sequence[np.ndarray],
        init_b: Sequence[np.ndarray],
        edges: Mapping[str, np.ndarray] | None,
        jacobian_k: int = 0,
        force: bool = False,
        flush_seconds: float = 5.0,
        extra_attrs: Mapping | None = None,
    ) -> RunWriter:
        """Create the run file with every group, dataset and attribute, then switch SWMR on.

        ``edges`` maps each quantity of ``QUANTITIES`` to its fixed histogram edges (B+1,);
        ``None`` makes a run without per-layer statistics (no ``/layers`` group).
        ``jacobian_k`` > 0 makes ``/layers/jacobian`` with room for K singular values per
        layer (needs at least 2 hidden layers). Refuses an existing ``path`` unless ``force``.
        """
        path = check_output_path(path, force)
        sizes = tuple(int(v) for v in sizes)
        if len(sizes) < 3 or min(sizes) < 1:
            raise GlorotError(f"run sizes must be (input, hidden..., classes), got {sizes}")
        L = len(sizes) - 2
        if len(init_W) != L + 1 or len(init_b) != L + 1:
            raise GlorotError(f"expected {L + 1} weight matrices, got {len(init_W)}")
        probe_x = np.asarray(probe_x)
        probe_y = np.asarray(probe_y)
        if probe_x.ndim != 2 or probe_x.shape[1] != sizes[0] or probe_y.shape != probe_x.shape[:1]:
            raise GlorotError(f"probe set must be (n, {sizes[0]}) with n labels, got "
                              f"{probe_x.shape} and {probe_y.shape}")
        need = 3 * sum(np.asarray(a).nbytes for a in (*init_W, *init_b)) + probe_x.nbytes \
            + 2 * _JSON_CAPACITY + 2**20
        _check_space(path, need, "creating the run file")
        if path.exists():  # force was given (checked above)
            pid = live_writer_pid(path)
            if pid is not None:
                raise GlorotError(f"{path}: is being written by glorot train (process {pid}) "
                                  f"right now; stop it first (Ctrl-C) or choose another -o")
            path.unlink()
        try:
            f = h5py.File(path, "w", libver="latest")
        except OSError as exc:
            why = os.strerror(exc.errno) if exc.errno else str(exc)
            raise GlorotError(f"{path}: cannot create the run file ({why})") from None
        try:
            a = f.attrs
            a["format"] = FORMAT
            a["format_version"] = FORMAT_VERSION
            a["glorot_version"] = __version__
            a["created"] = _now_iso()
            a["config"] = json.dumps(dict(config), sort_keys=True)
            a["seed"] = int(seed)
            a["sizes"] = np.asarray(sizes, dtype=np.int64)
            a["activation"] = str(activation)
            a["init"] = str(init)
            a["dataset"] = json.dumps(dict(dataset), sort_keys=True, default=_json_default)
            a["input_scale"] = str(input_scale)
            for k, v in (extra_attrs or {}).items():
                a[k] = v
            f.create_dataset("status", data=np.bytes_(b"running"), dtype=_STATUS_DTYPE)
            f.create_dataset("writer", data=_writer_id(), dtype=_WRITER_DTYPE)
            g = f.create_group("probe")
            g.create_dataset("x", data=probe_x.astype(np.uint8))
            g.create_dataset("y", data=probe_y.astype(np.uint8))

            g = f.create_group("log")
            _series(g, "step", (), np.int64)
            for name in LOG_SERIES:
                _series(g, name, (), np.int64 if name == "examples_seen" else np.float64)

            if edges is not None:
                lg = f.create_group("layers")
                _series(lg, "step", (), np.int64)
                _series(lg, "examples_seen", (), np.int64)
                for q in QUANTITIES:
                    if q not in edges:
                        raise GlorotError(f"histogram edges for {q!r} are missing")
                    e = np.asarray(edges[q], dtype=np.float64)
                    if e.ndim != 1 or len(e) < 2 or not np.all(np.diff(e) > 0):
                        raise GlorotError(f"histogram edges for {q!r} must be increasing (B+1,)")
                    qg = lg.create_group(q)
                    for s in STATS:
                        _series(qg, s, (L,), np.float64)
                    h = _series(qg, "hist", (L, len(e) - 1), np.float64)
                    h.attrs["edges"] = e
                    qg.attrs["edges"] = e
                    if q == "wgrad":
                        for r in RATIOS:
                            _series(qg, r, (L,), np.float64)
                if jacobian_k > 0 and L >= 2:
                    jg = lg.create_group("jacobian")
                    _series(jg, "step", (), np.int64)
                    _series(jg, "sv_mean", (L - 1,), np.float64)
                    _series(jg, "sv_std", (L - 1,), np.float64)
                    _series(jg, "sv", (L - 1, int(jacobian_k)), np.float64)

            wg = f.create_group("weights/init")
            slots = [f.create_group(name) for name in CHECKPOINT_SLOTS]
            for i, (W, b) in enumerate(zip(init_W, init_b, strict=True)):
                W = np.asarray(W)
                b = np.asarray(b)
                if W.shape != (sizes[i], sizes[i + 1]) or b.shape != (sizes[i + 1],):
                    raise GlorotError(f"W{i}/b{i} have shapes {W.shape}/{b.shape}, expected "
                                      f"{(sizes[i], sizes[i + 1])}/{(sizes[i + 1],)}")
                for grp in (wg, *slots):
                    rows = chunk_rows(W.shape[1] * W.itemsize, target=_CHUNK_MAX)
                    grp.create_dataset(f"W{i}", data=W, chunks=(min(rows, W.shape[0]),
                                                                 W.shape[1]))
                    grp.create_dataset(f"b{i}", data=b)
            for cg in slots:
                cg.create_dataset("step", data=np.int64(-1))
                cg.create_dataset("rng", data=np.bytes_(b"{}"), dtype=f"S{_JSON_CAPACITY}")
                cg.create_dataset("state", data=np.bytes_(b"{}"), dtype=f"S{_JSON_CAPACITY}")
            f.flush()
            f.swmr_mode = True
        except BaseException as exc:
            failed_write = isinstance(exc, OSError | RuntimeError)  # disk full, size limit
            if failed_write:
                _UNSAFE.append(f)  # never close it (see _UNSAFE)
            else:
                f.close()
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
            if failed_write:
                raise WriteFailed(f"{path}: cannot create the run file, writing failed "
                                  f"({_reason(exc)})") from None
            raise
        return cls(f, path, flush_seconds)

    @classmethod
    def resume(cls, path: str | os.PathLike, flush_seconds: float = 5.0,
               update_attrs: Mapping | None = None, take_over: bool = False) -> RunWriter:
        """Reopen a run file to continue it from its checkpoint.

        Rows logged after the checkpoint are dropped (the resumed run logs them again),
        ``update_attrs`` are written over the root attributes (e.g. a longer ``config``), the
        status goes back to ``running`` and SWMR is switched on again. ``take_over`` lets a
        file whose dead writer was on another host be reopened (a sweep on a cluster, whose
        scheduler resubmits a run only when its worker is gone); on this host the recorded
        process is always checked.
        """
        path = Path(path)
        _check_run_file(path)
        try:
            f = _open_for_update(path)
        except OSError as exc:
            if hdf5_locked(exc):
                raise GlorotError(f"{path}: is open in another program (a notebook, HDFView, "
                                  f"h5dump?) that locks it; close it there and try again (on "
                                  f"file systems without working locks, set "
                                  f"HDF5_USE_FILE_LOCKING=FALSE)") from None
            if "already open for write" not in str(exc):
                raise GlorotError(f"{path}: cannot open for writing ({_short(exc)})") from None
            _clear_dead_writer(path, take_over)  # the last writer was killed before closing it
            try:
                f = _open_for_update(path)
            except OSError as exc2:
                raise GlorotError(f"{path}: cannot open for writing ({_short(exc2)})") from None
        try:
            slot = active_checkpoint(f)
            if slot is None:
                raise GlorotError(f"{path}: has no checkpoint to resume from")
            state = json.loads(_bytes_str(f[slot]["state"][()]))
            rows = state.get("rows", {})
            _truncate(f, "log", int(rows.get("log", 0)))
            if "layers/step" in f:
                _truncate(f, "layers", int(rows.get("layers", 0)))
            if "layers/jacobian/step" in f:
                _truncate(f, "layers/jacobian", int(rows.get("jacobian", 0)))
            for k, v in (update_attrs or {}).items():
                f.attrs[k] = v
            f["status"][()] = np.bytes_(b"running")
            if "writer" in f:
                f["writer"][()] = _writer_id()
            f.flush()
            f.swmr_mode = True
        except GlorotError:
            f.close()
            raise
        except (KeyError, ValueError, OSError) as exc:
            f.close()
            raise GlorotError(f"{path}: damaged run file, cannot resume ({_short(exc)})") from None
        return cls(f, path, flush_seconds)

    # ------------------------------------------------------------------ appending ----
    @property
    def n_log_rows(self) -> int:
        """Rows of ``/log`` written or buffered."""
        return self._rows_written["log"] + len(self._buf_log)

    @property
    def last_log_step(self) -> int | None:
        """Step of the last ``/log`` row written or buffered (None before the first)."""
        if self._buf_log:
            return int(self._buf_log[-1]["step"])
        n = self._rows_written["log"]
        return int(self._f["log/step"][n - 1]) if n else None

    @property
    def n_layer_rows(self) -> int:
        return self._rows_written["layers"] + len(self._buf_layers)

    @property
    def n_jacobian_rows(self) -> int:
        return self._rows_written["jacobian"] + len(self._buf_jac)

    def log(self, *, step: int, examples_seen: int, train_loss: float = math.nan,
            valid_error: float = math.nan, test_error: float = math.nan,
            wall_time: float = math.nan, probe_seconds: float = math.nan,
            jacobian_seconds: float = math.nan, eval_seconds: float = math.nan) -> None:
        """Buffer one row of ``/log``. The ``*_seconds`` are cumulative since the run began."""
        self._buf_log.append(dict(step=int(step), examples_seen=int(examples_seen),
                                  train_loss=float(train_loss), valid_error=float(valid_error),
                                  test_error=float(test_error), wall_time=float(wall_time),
                                  probe_seconds=float(probe_seconds),
                                  jacobian_seconds=float(jacobian_seconds),
                                  eval_seconds=float(eval_seconds)))
        self._maybe_flush()

    def layers(self, *, step: int, examples_seen: int, stats: Mapping, hist: Mapping,
               grad_ratio: np.ndarray, update_ratio: np.ndarray) -> None:
        """Buffer one row of ``/layers``: ``stats[q][s]`` (L,), ``hist[q]`` (L, B),
        ``grad_ratio``/``update_ratio`` (L,) for q in QUANTITIES and s in STATS."""
        if not self.has_layers:
            raise GlorotError(f"{self.path}: this run was created without per-layer statistics")
        L = self.n_layers
        row: dict = {"step": int(step), "examples_seen": int(examples_seen)}
        for q in QUANTITIES:
            for s in STATS:
                row[f"{q}/{s}"] = _shaped(stats[q][s], (L,), f"{q} {s}")
            row[f"{q}/hist"] = _shaped(hist[q], (L, self.n_bins[q]), f"{q} hist")
        row["wgrad/grad_ratio"] = _shaped(grad_ratio, (L,), "grad_ratio")
        row["wgrad/update_ratio"] = _shaped(update_ratio, (L,), "update_ratio")
        self._buf_layers.append(row)
        self._maybe_flush()

    def jacobian(self, *, step: int, sv_mean: np.ndarray, sv_std: np.ndarray,
                 sv: np.ndarray) -> None:
        """Buffer one row of ``/layers/jacobian``: ``sv_mean``/``sv_std`` (L-1,) and ``sv``
        (L-1, k) with k <= K (padded with NaN)."""
        if not self.has_jacobian:
            raise GlorotError(f"{self.path}: this run was created without Jacobian statistics")
        L1 = self.n_layers - 1
        sv = np.asarray(sv, dtype=np.float64)
        if sv.ndim != 2 or sv.shape[0] != L1 or sv.shape[1] > self.jacobian_k:
            raise GlorotError(f"Jacobian singular values must be ({L1}, <= {self.jacobian_k}), "
                              f"got {sv.shape}")
        full = np.full((L1, self.jacobian_k), np.nan)
        full[:, :sv.shape[1]] = sv
        self._buf_jac.append({"step": int(step), "sv_mean": _shaped(sv_mean, (L1,), "sv_mean"),
                              "sv_std": _shaped(sv_std, (L1,), "sv_std"), "sv": full})
        self._maybe_flush()

    @_writes
    def checkpoint(self, *, step: int, W: Sequence[np.ndarray], b: Sequence[np.ndarray],
                   rng: Mapping, state: Mapping) -> None:
        """Flush the buffered rows, then overwrite the resume point. ``rng`` and ``state``
        must be JSON-able; the current row counts are added to ``state["rows"]``."""
        self.flush()
        active = active_checkpoint(self._f)
        target = next((g for g in CHECKPOINT_SLOTS if g in self._f and g != active),
                      CHECKPOINT_SLOTS[0])
        cg = self._f[target]
        cg["step"][()] = np.int64(-1)  # this slot is no resume point while it is rewritten
        cg["step"].flush()
        self._f.flush()
        for i, (w, bb) in enumerate(zip(W, b, strict=True)):
            cg[f"W{i}"][...] = w
            cg[f"b{i}"][...] = bb
        state = dict(state)
        state["rows"] = dict(self._rows_written)
        for name, obj in (("rng", rng), ("state", state)):
            text = json.dumps(obj, sort_keys=True, default=_json_default).encode()
            if len(text) > _JSON_CAPACITY:
                raise GlorotError(f"checkpoint {name} is too large ({len(text)} bytes)")
            cg[name][()] = np.bytes_(text)
        for name in ("rng", "state") + tuple(f"W{i}" for i in range(len(W))) + tuple(
                f"b{i}" for i in range(len(b))):
            cg[name].flush()
        cg["step"][()] = np.int64(step)
        cg["step"].flush()
        self._f.flush()

    def read_checkpoint(self) -> Checkpoint:
        """The latest resume point stored in the file."""
        return _checkpoint(self._f, len(self.sizes) - 1)

    @_writes
    def set_status(self, status: str) -> None:
        if status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}, got {status!r}")
        self._f["status"][()] = np.bytes_(status.encode())
        self._f["status"].flush()

    def _maybe_flush(self) -> None:
        if time.monotonic() - self._last_flush >= self.flush_seconds:
            self.flush()

    @_writes
    def flush(self) -> None:
        """Write the buffered rows; each axis's ``step`` goes last. Raises ``DiskFull`` (with
        nothing written) when the rows would eat into the device's reserve."""
        f = self._f
        _check_space(self.path, 2 * _nbytes(self._buf_log + self._buf_layers + self._buf_jac),
                     "writing the next rows")
        if self._buf_log:
            _append(f["log"], self._buf_log, ("step",) + LOG_SERIES)
            self._rows_written["log"] += len(self._buf_log)
            self._buf_log = []
        if self._buf_layers:
            keys = ["examples_seen"] + [f"{q}/{s}" for q in QUANTITIES for s in STATS + ("hist",)]
            keys += [f"wgrad/{r}" for r in RATIOS]
            _append(f["layers"], self._buf_layers, ["step"] + keys)
            self._rows_written["layers"] += len(self._buf_layers)
            self._buf_layers = []
        if self._buf_jac:
            _append(f["layers/jacobian"], self._buf_jac, ("step", "sv_mean", "sv_std", "sv"))
            self._rows_written["jacobian"] += len(self._buf_jac)
            self._buf_jac = []
        f.flush()
        self._last_flush = time.monotonic()

    def abandon(self, status: str = "interrupted") -> None:
        """Close after a write problem: drop the buffered rows (the last checkpoint's rows are
        in the file; a resumed run logs the rest again), set ``status`` in place, close. A file
        without a checkpoint is deleted. Never raises."""
        if self.closed:
            return
        self.closed = True
        self._buf_log, self._buf_layers, self._buf_jac = [], [], []
        try:
            has_ck = active_checkpoint(self._f) is not None
            if has_ck:
                self.set_status(status)
            self._f.close()
            if not has_ck:
                with contextlib.suppress(OSError):
                    self.path.unlink()
        except WriteFailed:  # the status write failed: the file must not be closed (_UNSAFE)
            pass
        except (OSError, ValueError, KeyError):
            pass

    @_writes
    def close(self, status: str | None = None, *, remove_if_empty: bool = False) -> None:
        """Flush, set ``status`` (if given) and close. With ``remove_if_empty``, a file that
        has no ``/log`` row yet is deleted instead (a run that failed before starting)."""
        if self.closed:
            return
        self.closed = True
        try:
            if remove_if_empty and self.n_log_rows == 0:
                self._f.close()
                with contextlib.suppress(FileNotFoundError):
                    self.path.unlink()
                return
            self.flush()
            if status is not None:
                self.set_status(status)
        finally:
            if self._f.id.valid:
                self._f.close()

    def __enter__(self) -> RunWriter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


_WRITER_DTYPE = "S128"


def _writer_id() -> np.bytes_:
    """``host:pid`` of the process writing the file (to tell a dead writer from a live one)."""
    return np.bytes_(f"{socket.gethostname()}:{os.getpid()}".encode()[:128])


def live_writer_pid(path: Path) -> int | None:
    """The pid of a live process on this host that is writing the run file ``path`` (status
    ``running``), else None (also for files that are not run files)."""
    try:
        with h5py.File(path, "r", libver="latest", swmr=True) as f:
            if f.attrs.get("format") != FORMAT or "writer" not in f or "status" not in f:
                return None
            status = _bytes_str(f["status"][()])
            who = _bytes_str(f["writer"][()])
    except (OSError, KeyError, ValueError):
        return None
    pid = _local_pid(who)
    if status != "running" or pid is None:
        return None
    return pid if pid != os.getpid() and pid_alive(pid) else None


def _local_pid(writer: str) -> int | None:
    """The process id in a ``host:pid`` writer record when the host is this one, else None."""
    host, _, pid = writer.rpartition(":")
    return int(pid) if host == socket.gethostname() and pid.isdigit() else None


def _open_for_update(path: Path, tries: int = 15) -> h5py.File:
    """``h5py.File(path, "r+")``, retried for about 3 s while another process holds HDF5's file
    lock: a reader (``inspect``, ``report --follow``) opening the file at the same instant holds
    it for milliseconds; a program that keeps the file open still fails after the retries."""
    for attempt in range(tries):
        try:
            return h5py.File(path, "r+", libver="latest")
        except OSError as exc:
            if not hdf5_locked(exc) or attempt == tries - 1:
                raise
            time.sleep(0.2)
    raise AssertionError("unreachable")


def _clear_dead_writer(path: Path, take_over: bool = False) -> None:
    """Clear the "open for writing" flags a killed writer left in the superblock and raise its
    end-of-file address to the file's length (what ``h5clear -s`` does, with the end of file
    raised as ``h5clear --increment`` would), after checking that the writer recorded in
    ``/writer`` is gone.

    An HDF5 writer in SWMR mode drops its file lock, so the lock cannot tell a live writer from
    a dead one; the ``host:pid`` in ``/writer`` can (on the same host). Why by hand: h5py has
    no binding for HDF5's H5Fstart_swmr_write/H5Fformat_convert-style repair, and the
    ``h5clear`` tool is not installed with h5py. The superblock (versions 2 and 3) is 12 bytes
    of signature, version, sizes and flags, four addresses (base, extension, end of file, root
    object header) and a lookup3 checksum; only the flags and the end-of-file address change.
    """
    with h5py.File(path, "r", libver="latest", swmr=True) as f:
        who = _bytes_str(f["writer"][()]) if "writer" in f else ""
    host, _, pid = who.rpartition(":")
    if not pid.isdigit():
        raise GlorotError(f"{path}: is marked as open by a writer, and the file does not say "
                          f"which; if no glorot train is writing it, run `h5clear -s {path}`")
    if host != socket.gethostname() and not take_over:
        raise GlorotError(f"{path}: is being written on host {host} (process {pid}); if that "
                          f"run is dead, run `h5clear -s {path}` and resume again")
    if host == socket.gethostname() and int(pid) != os.getpid() and pid_alive(int(pid)):
        raise GlorotError(f"{path}: is still being written by process {pid}; stop it first "
                          f"(Ctrl-C checkpoints it)")
    with open(path, "r+b") as fh:
        head = fh.read(12)
        if head[:8] != HDF5_SIGNATURE or head[8] not in (2, 3):
            raise GlorotError(f"{path}: unexpected HDF5 superblock (version {head[8]}); run "
                              f"`h5clear -s {path}` and resume again")
        width = head[9]  # size of offsets
        size = 12 + 4 * width  # signature .. root object header address
        fh.seek(0)
        block = bytearray(fh.read(size))
        block[11] = 0  # file consistency flags
        # a writer killed mid-flush may have written past the recorded end of file: raise it
        # to the file's length (more would make HDF5 call the file truncated)
        at = 12 + 2 * width
        eoa = int.from_bytes(block[at:at + width], "little")
        length = os.fstat(fh.fileno()).st_size
        block[at:at + width] = max(eoa, length).to_bytes(width, "little")
        fh.seek(0)
        fh.write(bytes(block) + struct.pack("<I", _lookup3(bytes(block))))


def _lookup3(data: bytes, initval: int = 0) -> int:
    """Bob Jenkins' lookup3 hash (hashlittle), HDF5's metadata checksum."""
    m = 0xFFFFFFFF

    def rot(x: int, k: int) -> int:
        return ((x << k) | (x >> (32 - k))) & m

    n = len(data)
    a = b = c = (0xDEADBEEF + n + initval) & m
    i = 0
    while n - i > 12:
        x, y, z = struct.unpack_from("<III", data, i)
        a, b, c = (a + x) & m, (b + y) & m, (c + z) & m
        a = (a - c) & m; a ^= rot(c, 4); c = (c + b) & m  # noqa: E702
        b = (b - a) & m; b ^= rot(a, 6); a = (a + c) & m  # noqa: E702
        c = (c - b) & m; c ^= rot(b, 8); b = (b + a) & m  # noqa: E702
        a = (a - c) & m; a ^= rot(c, 16); c = (c + b) & m  # noqa: E702
        b = (b - a) & m; b ^= rot(a, 19); a = (a + c) & m  # noqa: E702
        c = (c - b) & m; c ^= rot(b, 4); b = (b + a) & m  # noqa: E702
        i += 12
    rest = data[i:]
    if not rest:
        return c
    x, y, z = struct.unpack("<III", rest + bytes(12 - len(rest)))
    a, b, c = (a + x) & m, (b + y) & m, (c + z) & m
    c ^= b; c = (c - rot(b, 14)) & m  # noqa: E702
    a ^= c; a = (a - rot(c, 11)) & m  # noqa: E702
    b ^= a; b = (b - rot(a, 25)) & m  # noqa: E702
    c ^= b; c = (c - rot(b, 16)) & m  # noqa: E702
    a ^= c; a = (a - rot(c, 4)) & m  # noqa: E702
    b ^= a; b = (b - rot(a, 14)) & m  # noqa: E702
    c ^= b; c = (c - rot(b, 24)) & m  # noqa: E702
    return c


def active_checkpoint(f: h5py.File) -> str | None:
    """The checkpoint slot to resume from (the larger step), or None when neither holds one."""
    steps = {g: int(f[g]["step"][()]) for g in CHECKPOINT_SLOTS if f"{g}/step" in f}
    best = max(steps, key=lambda g: steps[g], default=None)
    return best if best is not None and steps[best] >= 0 else None


def _checkpoint(f: h5py.File, n: int) -> Checkpoint:
    cg = f[active_checkpoint(f) or CHECKPOINT_SLOTS[0]]
    return Checkpoint(step=int(cg["step"][()]),
                      W=[cg[f"W{i}"][()] for i in range(n)],
                      b=[cg[f"b{i}"][()] for i in range(n)],
                      rng=json.loads(_bytes_str(cg["rng"][()])),
                      state=json.loads(_bytes_str(cg["state"][()])))


def read_checkpoint(path: str | os.PathLike) -> Checkpoint:
    """The resume point stored in a run file (read-only; step -1 when there is none)."""
    path = Path(path)
    try:
        with _open_read(path, swmr=True) as f:
            _check_format(f, path)
            return _checkpoint(f, len(f.attrs["sizes"]) - 1)
    except GlorotError:
        raise
    except (OSError, KeyError, ValueError) as exc:
        raise GlorotError(f"{path}: damaged checkpoint ({_short(exc)})") from None


def read_initial_weights(path: str | os.PathLike) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """The parameters a run started from (``/weights/init``): (W list, b list), read-only."""
    path = Path(path)
    try:
        with _open_read(path, swmr=True) as f:
            _check_format(f, path)
            n = len(f.attrs["sizes"]) - 1
            g = f["weights/init"]
            return [g[f"W{i}"][()] for i in range(n)], [g[f"b{i}"][()] for i in range(n)]
    except GlorotError:
        raise
    except (OSError, KeyError, ValueError) as exc:
        raise GlorotError(f"{path}: no readable initial weights ({_short(exc)})") from None


def _series(g: h5py.Group, name: str, row_shape: tuple, dtype) -> h5py.Dataset:
    row_bytes = int(np.prod(row_shape, dtype=np.int64)) * np.dtype(dtype).itemsize
    rows = chunk_rows(row_bytes)
    return g.create_dataset(name, shape=(0,) + tuple(row_shape), maxshape=(None,) + tuple(
        row_shape), dtype=dtype, chunks=(rows,) + tuple(row_shape),
        fillvalue=np.nan if np.dtype(dtype).kind == "f" else 0)


def _append(g: h5py.Group, rows: list[dict], keys: Sequence[str]) -> None:
    """Append ``rows`` to the series ``keys`` of group ``g``; ``keys[0]`` (step) last."""
    n = len(rows)
    for key in list(keys[1:]) + [keys[0]]:
        ds = g[key]
        start = ds.shape[0]
        ds.resize(start + n, axis=0)
        ds[start:start + n] = np.stack([np.asarray(r[key]) for r in rows])
        ds.flush()


def _truncate(f: h5py.File, group: str, n: int) -> None:
    """Cut every series of ``group`` (not of its ``jacobian`` subgroup) to ``n`` rows."""
    found: list[h5py.Dataset] = []

    def visit(name: str, obj) -> None:
        if isinstance(obj, h5py.Dataset) and not name.startswith("jacobian/"):
            found.append(obj)

    g = f[group]
    g.visititems(visit)
    for ds in found:
        if ds.maxshape and ds.maxshape[0] is None and ds.shape[0] > n:
            ds.resize(n, axis=0)


def _shaped(v, shape: tuple, what: str) -> np.ndarray:
    a = np.asarray(v, dtype=np.float64)
    if a.shape != shape:
        raise GlorotError(f"{what}: expected shape {shape}, got {a.shape}")
    return a


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


# ====================================================================== reading ====


@dataclass
class RunData:
    """Everything in a run file, cut to the rows that are complete.

    ``log`` holds ``step``, ``examples_seen``, ``train_loss``, ``valid_error``, ``test_error``,
    ``wall_time`` (and ``probe_seconds``, ``eval_seconds``), each (N,). ``layers[q][s]`` is
    (M, L) for q in ``QUANTITIES`` and s in ``STATS``; ``layers[q]["hist"]`` is (M, L, B);
    ``layers["wgrad"]["grad_ratio"]`` and ``["update_ratio"]`` are (M, L). ``edges[q]`` are the
    histogram edges (B+1,). ``jacobian`` holds ``step`` (J,), ``sv_mean``/``sv_std`` (J, L-1),
    ``sv`` (J, L-1, K), or is empty. ``missing`` names optional parts the file lacks.
    """

    path: Path
    attrs: dict
    config: dict
    dataset: dict
    status: str
    log: dict[str, np.ndarray]
    layer_step: np.ndarray
    layer_examples_seen: np.ndarray
    layers: dict[str, dict[str, np.ndarray]]
    edges: dict[str, np.ndarray]
    jacobian: dict[str, np.ndarray]
    sizes: tuple[int, ...] = ()
    probe_x: np.ndarray | None = None
    probe_y: np.ndarray | None = None
    checkpoint_step: int = -1
    missing: list[str] = field(default_factory=list)
    writer: str = ""
    """``host:pid`` of the process that writes (or last wrote) the file."""
    writer_gone: bool = False
    """Status ``running`` but its writer, on this host, no longer exists (it was killed)."""

    @property
    def writer_alive(self) -> bool:
        """Status ``running`` and its writer is another live process on this host (a writer
        on another host cannot be checked: False)."""
        pid = _local_pid(self.writer)
        return (self.status == "running" and pid is not None and pid != os.getpid()
                and pid_alive(pid))

    @property
    def live_status(self) -> str:
        """The status a reader should act on: ``interrupted`` for a run whose writer died
        while the file still says ``running``; otherwise ``status``."""
        return "interrupted" if self.writer_gone else self.status

    @property
    def n_hidden(self) -> int:
        return max(len(self.sizes) - 2, 0)


def _open_read(path: Path, swmr: bool) -> h5py.File:
    if not path.exists():
        raise GlorotError(f"{path}: no such file")
    if path.is_dir():
        raise GlorotError(f"{path}: is a folder, expected a run file")
    try:
        f = open_hdf5_read(path) if swmr else h5py.File(path, "r")
    except OSError as exc:
        if hdf5_locked(exc):
            raise GlorotError(f"{path}: is being created by a writer right now; try again in a "
                              f"moment") from None
        if "truncated file" in str(exc):
            raise GlorotError(f"{path}: damaged run file: it is shorter than HDF5 recorded "
                              f"(truncated by a copy or a crash)") from None
        raise GlorotError(f"{path}: not a readable HDF5 file ({_short(exc)})") from None
    return f


def _check_run_file(path: Path) -> None:
    with _open_read(path, swmr=True) as f:
        _check_format(f, path)


def _check_format(f: h5py.File, path: Path) -> None:
    fmt = f.attrs.get("format")
    fmt = _bytes_str(fmt) if fmt is not None else None
    if fmt != FORMAT:
        raise GlorotError(f"{path}: not a glorot run file (format is {fmt!r}, expected "
                          f"{FORMAT!r})")
    version = int(f.attrs.get("format_version", 0))
    if version > FORMAT_VERSION:
        raise GlorotError(f"{path}: run format_version {version} is newer than this glorot "
                          f"understands ({FORMAT_VERSION}); upgrade glorot")
    if "log/step" not in f:
        raise GlorotError(f"{path}: damaged run file (/log/step is missing)")


def _attrs_dict(f: h5py.File) -> dict:
    out = {}
    for k, v in f.attrs.items():
        if isinstance(v, bytes | np.bytes_):
            v = v.decode()
        elif isinstance(v, np.ndarray):
            v = v.tolist()
        elif isinstance(v, np.generic):
            v = v.item()
        out[k] = v
    return out


def _read_axis(g: h5py.Group, keys: Sequence[str]) -> tuple[int, dict[str, np.ndarray]]:
    """Read ``g/step`` first, then the first ``len(step)`` rows of each key present."""
    step = g["step"][()]
    n = len(step)
    out = {"step": step}
    for k in keys:
        if k in g:
            a = g[k][:n]
            n = min(n, len(a))
            out[k] = a
    return n, {k: v[:n] for k, v in out.items()}


def read_run(path: str | os.PathLike, *, swmr: bool = True) -> RunData:
    """Read a run file (also while it is being written). Raises GlorotError for a file that is
    not a run file or is damaged; optional parts that are absent are listed in ``missing``."""
    path = Path(path)
    f = _open_read(path, swmr)
    try:
        with f:
            _check_format(f, path)
            attrs = _attrs_dict(f)
            try:
                config = json.loads(attrs.get("config", "{}"))
                dataset = json.loads(attrs.get("dataset", "{}"))
            except json.JSONDecodeError as exc:
                raise GlorotError(f"{path}: a JSON attribute is corrupt ({exc})") from None
            missing: list[str] = []
            status = _bytes_str(f["status"][()]).strip("\x00") if "status" in f else "unknown"
            if "status" not in f:
                missing.append("/status")
            sizes = tuple(int(v) for v in attrs.get("sizes", ()))
            _, log = _read_axis(f["log"], LOG_SERIES)
            for k in LOG_SERIES:
                if k not in log:
                    missing.append(f"/log/{k}")
            layers: dict[str, dict[str, np.ndarray]] = {}
            edges: dict[str, np.ndarray] = {}
            layer_step = np.zeros(0, np.int64)
            layer_ex = np.zeros(0, np.int64)
            if "layers/step" in f:
                lg = f["layers"]
                keys = ["examples_seen"]
                for q in QUANTITIES:
                    if q in lg:
                        keys += [f"{q}/{s}" for s in STATS + ("hist",) if s in lg[q]]
                        if q == "wgrad":
                            keys += [f"wgrad/{r}" for r in RATIOS if r in lg[q]]
                _, rows = _read_axis(lg, keys)
                layer_step = rows.pop("step")
                layer_ex = rows.pop("examples_seen", np.zeros(len(layer_step), np.int64))
                for q in QUANTITIES:
                    if q not in lg:
                        missing.append(f"/layers/{q}")
                        continue
                    layers[q] = {k.split("/", 1)[1]: v for k, v in rows.items()
                                 if k.startswith(q + "/")}
                    if "edges" in lg[q].attrs:
                        edges[q] = np.asarray(lg[q].attrs["edges"], dtype=np.float64)
                    elif "hist" in lg[q] and "edges" in lg[q]["hist"].attrs:
                        edges[q] = np.asarray(lg[q]["hist"].attrs["edges"], dtype=np.float64)
            else:
                missing.append("/layers")
            jac: dict[str, np.ndarray] = {}
            if "layers/jacobian/step" in f:
                _, jac = _read_axis(f["layers/jacobian"], ("sv_mean", "sv_std", "sv"))
            else:
                missing.append("/layers/jacobian")
            probe_x = f["probe/x"][()] if "probe/x" in f else None
            probe_y = f["probe/y"][()] if "probe/y" in f else None
            if probe_x is None:
                missing.append("/probe")
            writer = _bytes_str(f["writer"][()]).strip("\x00") if "writer" in f else ""
            slot = active_checkpoint(f) if "checkpoint/step" in f else None
            ck = int(f[slot]["step"][()]) if slot else -1
            if "checkpoint/step" not in f:
                missing.append("/checkpoint")
    except GlorotError:
        raise
    except (OSError, KeyError, ValueError, TypeError) as exc:
        raise GlorotError(f"{path}: damaged run file ({_short(exc)})") from None
    return RunData(path=path, attrs=attrs, config=config, dataset=dataset, status=status,
                   log=log, layer_step=layer_step, layer_examples_seen=layer_ex, layers=layers,
                   edges=edges, jacobian=jac, sizes=sizes, probe_x=probe_x, probe_y=probe_y,
                   checkpoint_step=ck, missing=missing, writer=writer,
                   writer_gone=status == "running" and _writer_gone(writer))


def _writer_gone(writer: str) -> bool:
    """True when ``host:pid`` names this host and no such process exists."""
    pid = _local_pid(writer)
    return pid is not None and not pid_alive(pid)


def _last_finite(a: np.ndarray) -> tuple[float | None, int | None]:
    idx = np.flatnonzero(np.isfinite(a))
    if not len(idx):
        return None, None
    return float(a[idx[-1]]), int(idx[-1])


def run_info(path: str | os.PathLike) -> dict:
    """A JSON-ready summary of a run file (used by ``glorot inspect``)."""
    run = read_run(path)
    log = run.log
    step = log["step"]
    info: dict = {
        "path": str(run.path),
        "format": FORMAT,
        "format_version": int(run.attrs.get("format_version", 0)),
        "glorot_version": run.attrs.get("glorot_version"),
        "created": run.attrs.get("created"),
        "status": run.live_status,
        "writer": run.writer,
        "writer_gone": run.writer_gone,
        "sizes": list(run.sizes),
        "activation": run.attrs.get("activation"),
        "init": run.attrs.get("init"),
        "input_scale": run.attrs.get("input_scale"),
        "seed": run.attrs.get("seed"),
        "config": run.config,
        "dataset": run.dataset,
        "log_rows": int(len(step)),
        "last_step": int(step[-1]) if len(step) else None,
        "examples_seen": int(log["examples_seen"][-1]) if len(step) else None,
        "checkpoint_step": run.checkpoint_step,
    }
    for k in ("train_loss", "valid_error", "test_error"):
        v, i = _last_finite(log.get(k, np.zeros(0)))
        info[f"last_{k}"] = v
        info[f"last_{k}_step"] = int(step[i]) if i is not None else None
    ve = log.get("valid_error", np.zeros(0))
    if np.isfinite(ve).any():
        i = int(np.nanargmin(np.where(np.isfinite(ve), ve, np.inf)))
        info["best_valid_error"] = float(ve[i])
        info["best_valid_step"] = int(step[i])
        te = log.get("test_error", np.full(len(ve), np.nan))
        info["test_error_at_best_valid"] = float(te[i]) if np.isfinite(te[i]) else None
    wall, _ = _last_finite(log.get("wall_time", np.zeros(0)))
    probe, _ = _last_finite(log.get("probe_seconds", np.zeros(0)))
    info["wall_seconds"] = wall
    info["probe_seconds"] = probe
    jac, _ = _last_finite(log.get("jacobian_seconds", np.zeros(0)))
    ev, _ = _last_finite(log.get("eval_seconds", np.zeros(0)))
    info["jacobian_seconds"] = jac
    info["eval_seconds"] = ev
    info["probe_fraction"] = (probe / wall) if (wall and probe is not None) else None
    info["statistics"] = {
        "probe_rows": int(len(run.layer_step)),
        "probe_steps": run.layer_step.tolist()[:5] + (
            ["..."] if len(run.layer_step) > 6 else []) + (
            run.layer_step.tolist()[-1:] if len(run.layer_step) > 5 else []),
        "quantities": {q: sorted(v) for q, v in run.layers.items()},
        "histogram_bins": {q: int(len(e) - 1) for q, e in run.edges.items()},
        "jacobian_rows": int(len(run.jacobian.get("step", ()))),
    }
    info["missing"] = run.missing
    return info
