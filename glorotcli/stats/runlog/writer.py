"""Writing a run file live (``RunWriter``), under HDF5's single-writer/multiple-reader (SWMR)
rules: every group, dataset and attribute is created first, then ``swmr_mode`` is switched on,
and from then on the writer only appends rows to chunked series and overwrites fixed-size
datasets (``/status``, ``/checkpoint*/``). Rows are buffered in memory and written in batches:
every ``flush_seconds``, at every checkpoint and on close. In each batch the series sharing an
axis are written and flushed first and their ``step`` dataset last, so a reader that trusts
``len(step)`` always sees complete rows. Before each batch the free space is checked
(``RESERVE_BYTES``): a full disk stops the run resumably instead of failing inside HDF5."""

from __future__ import annotations

import contextlib
import json
import math
import os
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import h5py
import numpy as np

from glorotcli import __version__
from glorotcli.errors import GlorotError, WriteFailed
from glorotcli.fileio import (
    check_output_path,
    hdf5_locked,
)
from glorotcli.stats import QUANTITIES, STATS
from glorotcli.stats.runlog.layout import (
    _CHUNK_MAX,
    _JSON_CAPACITY,
    _STATUS_DTYPE,
    _UNSAFE,
    _WRITER_DTYPE,
    CHECKPOINT_SLOTS,
    FORMAT,
    FORMAT_VERSION,
    LOG_SERIES,
    RATIOS,
    RESERVE_BYTES,
    STATUSES,
    Checkpoint,
    _bytes_str,
    _json_default,
    _now_iso,
    _reason,
    _short,
    _writer_id,
    active_checkpoint,
    chunk_rows,
    unsafe,
)
from glorotcli.stats.runlog.reader import _check_run_file, _checkpoint
from glorotcli.stats.runlog.recovery import _clear_dead_writer, _open_for_update, live_writer_pid


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
    """The device holding a run file is nearly full (see ``RESERVE_BYTES``), or the process's
    file-size limit (``ulimit -f``) is near: a GlorotError, raised before anything is written,
    so the run can stop resumably."""


def free_bytes(folder: Path) -> int:
    """Bytes (an int) an unprivileged process may still write on the device holding
    ``folder`` (``statvfs``: f_bavail x f_frsize). Raises OSError for a folder that does not
    exist."""
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


def _new_file(path: Path, *, need: int, what: str, command: str, live_pid) -> h5py.File:
    """Check the room for ``need`` bytes, remove an old file at ``path`` unless a live process
    (``live_pid(path)``, the ``command`` writing it) holds it, and create the HDF5 file
    ``path`` (the ``what``, as messages call it). Raises GlorotError or ``DiskFull``."""
    _check_space(path, need, f"creating the {what}")
    if path.exists():  # force was given (checked by the caller)
        pid = live_pid(path)
        if pid is not None:
            raise GlorotError(f"{path}: is being written by {command} (process {pid}) "
                              f"right now; stop it first (Ctrl-C) or choose another -o")
        path.unlink()
    try:
        return h5py.File(path, "w", libver="latest")
    except OSError as exc:
        why = os.strerror(exc.errno) if exc.errno else str(exc)
        raise GlorotError(f"{path}: cannot create the {what} ({why})") from None


@contextlib.contextmanager
def _creating(f: h5py.File, path: Path, what: str, *, fmt: str, version: int,
              attrs: Mapping) -> Iterator[h5py.File]:
    """Around building a new file: root attributes first (``format``, ``format_version``,
    ``glorot_version``, ``created``, then ``attrs``), the block adds every group and dataset,
    then SWMR is switched on. If the block fails, the partial file is removed; a file HDF5
    failed to write is never closed (``_UNSAFE``) and ``WriteFailed`` is raised."""
    try:
        a = f.attrs
        a["format"] = fmt
        a["format_version"] = version
        a["glorot_version"] = __version__
        a["created"] = _now_iso()
        for k, v in attrs.items():
            a[k] = v
        yield f
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
            raise WriteFailed(f"{path}: cannot create the {what}, writing failed "
                              f"({_reason(exc)})") from None
        raise


def _reopen(path: Path, *, take_over: bool = False) -> h5py.File:
    """Open a glorot file for update to resume it: waits out a reader's brief lock, takes over
    from a killed writer (``_clear_dead_writer``; ``take_over`` for one on another host).
    Raises GlorotError naming what to do."""
    try:
        return _open_for_update(path)
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
        return _open_for_update(path)
    except OSError as exc2:
        raise GlorotError(f"{path}: cannot open for writing ({_short(exc2)})") from None


def _restart(f: h5py.File, path: Path, what: str, truncate, update_attrs: Mapping | None
             ) -> None:
    """Make a reopened file continue from its active checkpoint: ``truncate(f, state)`` drops
    the rows logged after it (``state``: the checkpoint's JSON state), ``update_attrs`` are
    written, the status goes back to ``running``, this process is recorded as the writer and
    SWMR is switched on. Closes ``f`` and raises GlorotError for a file without a checkpoint
    or a damaged one (the ``what``, as messages call it)."""
    try:
        slot = active_checkpoint(f)
        if slot is None:
            raise GlorotError(f"{path}: has no checkpoint to resume from")
        truncate(f, json.loads(_bytes_str(f[slot]["state"][()])))
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
        raise GlorotError(f"{path}: damaged {what}, cannot resume ({_short(exc)})") from None


class _Writer:
    """What every glorot SWMR writer shares: ``close`` and the context-manager protocol.
    Subclasses give ``_f``, ``path``, ``closed``, ``flush``, ``set_status`` and
    ``_has_rows``."""

    _f: h5py.File
    path: Path
    closed: bool

    def _has_rows(self) -> bool:
        raise NotImplementedError

    @_writes
    def set_status(self, status: str) -> None:
        """Overwrite ``/status`` with ``status``, one of ``STATUSES``, and flush it. Raises
        ValueError for another status (a programming error), ``WriteFailed`` when HDF5 fails."""
        if status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}, got {status!r}")
        self._f["status"][()] = np.bytes_(status.encode())
        self._f["status"].flush()

    def close(self, status: str | None = None, *, remove_if_empty: bool = False) -> None:
        """Flush, set ``status`` (if given, one of ``STATUSES``) and close; does nothing when
        already closed. With ``remove_if_empty``, a file that has no log row yet is deleted
        instead (a run that failed before starting). Raises ``DiskFull`` and ``WriteFailed``
        as ``flush``; the HDF5 file is closed, except one HDF5 failed to write
        (``WriteFailed``), which is left open (``_UNSAFE``)."""
        if self.closed:
            return
        self.closed = True
        try:
            if remove_if_empty and not self._has_rows():
                self._f.close()
                with contextlib.suppress(FileNotFoundError):
                    self.path.unlink()
                return
            self.flush()
            if status is not None:
                self.set_status(status)
        finally:  # never close a file HDF5 failed to write (h5py issue #914: a crash)
            if self._f.id.valid and not unsafe(self._f):
                self._f.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class RunWriter(_Writer):
    """Writes one run file (layout: docs/formats.md, "Run file"). Create with
    ``RunWriter.create(...)`` or reopen with ``RunWriter.resume(path)``; then ``log``,
    ``layers``, ``jacobian``, ``checkpoint``, ``close``. Not thread-safe; one writer per file.
    ``sizes`` (n_0, hidden widths..., classes) and ``n_layers`` (L hidden layers) come from the
    file.

    ``log``/``layers``/``jacobian`` only buffer rows; they reach the file at the next
    ``flush`` (automatic every ``flush_seconds`` seconds), ``checkpoint`` or ``close``.

    Errors: GlorotError for what the user can fix; ``DiskFull`` (a GlorotError) when the
    device is nearly full; ``WriteFailed`` (a GlorotError) when HDF5 fails a write in
    ``checkpoint``, ``set_status``, ``flush`` or ``close``, after which the writer is closed for
    good and the process must exit without closing the file (h5py issue #914).
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

        ``sizes``: (n_0, hidden widths..., classes), at least one hidden layer. ``config`` and
        ``dataset``: JSON-able mappings (the run's ``TrainConfig`` and its data). ``probe_x``
        (P, n_0) raw pixels and ``probe_y`` (P,) labels, both stored as uint8 (pass the
        unscaled uint8 pixels: floats would be truncated). ``init_W[i]`` (n_i, n_{i+1}) and
        ``init_b[i]`` (n_{i+1},), L + 1 each, stored as given in ``/weights/init`` and both
        checkpoint slots. ``edges`` maps each quantity of ``QUANTITIES`` to its fixed
        histogram edges (B+1,); ``None`` makes a run without per-layer statistics (no
        ``/layers`` group). ``jacobian_k`` > 0 makes ``/layers/jacobian`` with room for K
        singular values per layer pair (needs at least 2 hidden layers and ``edges``).
        ``flush_seconds``: seconds between automatic flushes. ``extra_attrs``: more root
        attributes.

        Raises GlorotError when ``path`` exists without ``force``, is a folder, or its folder is
        missing or not writable, when another live glorot process is writing it, for sizes,
        probe set, weights or edges of the wrong shape, and when the file cannot be created;
        ``DiskFull`` when the device or the file-size limit leaves too little room;
        ``WriteFailed`` when HDF5 fails a write (the partial file is removed).
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
        if probe_x.dtype != np.uint8:  # stored as pixels: a float array would be truncated
            raise GlorotError(f"probe inputs must be uint8 pixels, got {probe_x.dtype}")
        if probe_x.ndim != 2 or probe_x.shape[1] != sizes[0] or probe_y.shape != probe_x.shape[:1]:
            raise GlorotError(f"probe set must be (n, {sizes[0]}) with n labels, got "
                              f"{probe_x.shape} and {probe_y.shape}")
        need = 3 * sum(np.asarray(a).nbytes for a in (*init_W, *init_b)) + probe_x.nbytes \
            + 2 * _JSON_CAPACITY + 2**20
        f = _new_file(path, need=need, what="run file", command="glorot train",
                      live_pid=live_writer_pid)
        attrs = {"config": json.dumps(dict(config), sort_keys=True), "seed": int(seed),
                 "sizes": np.asarray(sizes, dtype=np.int64), "activation": str(activation),
                 "init": str(init),
                 "dataset": json.dumps(dict(dataset), sort_keys=True, default=_json_default),
                 "input_scale": str(input_scale), **(extra_attrs or {})}
        with _creating(f, path, "run file", fmt=FORMAT, version=FORMAT_VERSION, attrs=attrs):
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
        return cls(f, path, flush_seconds)

    @classmethod
    def resume(cls, path: str | os.PathLike, flush_seconds: float = 5.0,
               update_attrs: Mapping | None = None, take_over: bool = False) -> RunWriter:
        """Reopen the run file ``path`` to continue it from its checkpoint.

        Rows logged after the checkpoint are dropped (the resumed run logs them again),
        ``update_attrs`` are written over the root attributes (e.g. a longer ``config``), the
        status goes back to ``running`` and SWMR is switched on again. ``take_over`` lets a
        file whose dead writer was on another host be reopened (a sweep on a cluster, whose
        scheduler resubmits a run only when its worker is gone); on this host the recorded
        process is always checked.

        Raises GlorotError for a file that is not a readable run file, is locked by another
        program, is still written by a live process (or on another host without
        ``take_over``), has an unexpected superblock, has no checkpoint, or is damaged.
        """
        path = Path(path)
        _check_run_file(path)
        f = _reopen(path, take_over=take_over)

        def truncate(f: h5py.File, state: dict) -> None:
            rows = state.get("rows", {})
            _truncate(f, "log", int(rows.get("log", 0)))
            if "layers/step" in f:
                _truncate(f, "layers", int(rows.get("layers", 0)))
            if "layers/jacobian/step" in f:
                _truncate(f, "layers/jacobian", int(rows.get("jacobian", 0)))

        _restart(f, path, "run file", truncate, update_attrs)
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
        """Rows of ``/layers`` (probe measurements) written or buffered."""
        return self._rows_written["layers"] + len(self._buf_layers)

    @property
    def n_jacobian_rows(self) -> int:
        """Rows of ``/layers/jacobian`` written or buffered."""
        return self._rows_written["jacobian"] + len(self._buf_jac)

    def log(self, *, step: int, examples_seen: int, train_loss: float = math.nan,
            valid_error: float = math.nan, test_error: float = math.nan,
            wall_time: float = math.nan, probe_seconds: float = math.nan,
            jacobian_seconds: float = math.nan, eval_seconds: float = math.nan) -> None:
        """Buffer one row of ``/log``: ``step`` updates done, ``examples_seen`` (ints);
        ``train_loss`` the mean training cost since the previous row; ``valid_error`` and
        ``test_error`` fractions misclassified (0..1; NaN when not evaluated at this row);
        ``wall_time`` and the ``*_seconds`` in seconds, cumulative since the run began (over
        resumed sessions too). May flush (``flush`` and its errors)."""
        self._buf_log.append(dict(step=int(step), examples_seen=int(examples_seen),
                                  train_loss=float(train_loss), valid_error=float(valid_error),
                                  test_error=float(test_error), wall_time=float(wall_time),
                                  probe_seconds=float(probe_seconds),
                                  jacobian_seconds=float(jacobian_seconds),
                                  eval_seconds=float(eval_seconds)))
        self._maybe_flush()

    def layers(self, *, step: int, examples_seen: int, stats: Mapping, hist: Mapping,
               grad_ratio: np.ndarray, update_ratio: np.ndarray) -> None:
        """Buffer one row of ``/layers`` (a ``probes.measure`` result at ``step`` updates):
        ``stats[q][s]`` (L,), ``hist[q]`` (L, B) fractions per bin, ``grad_ratio``/
        ``update_ratio`` (L,), for every q in QUANTITIES and s in STATS; stored as float64.
        Raises GlorotError for a run made without per-layer statistics or an array of another
        shape (KeyError for a missing quantity or statistic). May flush (``flush``)."""
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
        """Buffer one row of ``/layers/jacobian`` at ``step`` updates
        (``jacobian.jacobian_singular_values``): ``sv_mean``/``sv_std`` (L-1,) and ``sv``
        (L-1, k) with k <= K (padded with NaN), stored as float64. Raises GlorotError for a run
        made without Jacobians or arrays of other shapes. May flush (``flush``)."""
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
        """Flush the buffered rows, then overwrite the older of the two resume points (its
        ``step`` is -1 while it is rewritten) with ``step`` (updates done), ``W``/``b`` (the
        shapes of ``create``'s) and ``rng``, ``state``: JSON-able mappings, at most 64 KiB of
        JSON each; the current row counts are added to ``state["rows"]``. Raises GlorotError for
        a JSON text over 64 KiB (the slot then stays invalid, the other one holds),
        ``DiskFull`` and ``WriteFailed`` as ``flush``."""
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
        """The latest resume point stored in the file (a ``Checkpoint``; step -1 for none)."""
        return _checkpoint(self._f, len(self.sizes) - 1)

    def _maybe_flush(self) -> None:
        if time.monotonic() - self._last_flush >= self.flush_seconds:
            self.flush()

    @_writes
    def flush(self) -> None:
        """Write the buffered rows; each axis's ``step`` goes last. Raises ``DiskFull`` (with
        nothing written) when the rows would eat into the device's reserve (twice their size
        plus ``RESERVE_BYTES``) or pass the file-size limit, ``WriteFailed`` when HDF5 fails."""
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
    def _has_rows(self) -> bool:
        return self.n_log_rows > 0


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
