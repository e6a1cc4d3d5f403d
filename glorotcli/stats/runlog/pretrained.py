"""The pre-training file (``glorot pretrain``): the hidden layers' weights after greedy
layer-wise denoising auto-encoder pre-training (Vincent et al. 2008; the reference curve
"Pre-training" of the paper's Fig. 11; settings: docs/pretraining.md), the reconstruction error
of each layer over its updates, and the settings; written live like the run file and readable
while it grows.

Layout: the "Pre-training file" section of ``docs/formats.md``. It follows the run file's
rules and reuses its machinery: every group, dataset and attribute is created first, then SWMR
is switched on and the writer only appends to ``/log`` (``step`` written last) and overwrites
fixed-size datasets (``/status``, ``/layers_done``, ``/weights/pretrained/*``, the two
checkpoint slots); a writer killed without warning is taken over by ``--resume`` as a run
file's is (``recovery``).
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np

from glorotcli.errors import GlorotError, WriteFailed
from glorotcli.fileio import check_output_path
from glorotcli.stats.runlog.layout import (
    _CHUNK_MAX,
    _JSON_CAPACITY,
    _STATUS_DTYPE,
    _WRITER_DTYPE,
    CHECKPOINT_SLOTS,
    _bytes_str,
    _json_default,
    _short,
    _writer_gone,
    _writer_id,
    active_checkpoint,
    chunk_rows,
)
from glorotcli.stats.runlog.reader import _open_read, _read_axis, _root_settings, check_format
from glorotcli.stats.runlog.recovery import live_writer_pid, writer_alive
from glorotcli.stats.runlog.writer import (
    _append,
    _check_space,
    _creating,
    _new_file,
    _reopen,
    _restart,
    _series,
    _truncate,
    _Writer,
    _writes,
)

FORMAT = "glorot-pretrain"
FORMAT_VERSION = 1
LOG_SERIES = ("layer", "train_cost", "valid_cost", "wall_time")
"""Series on the ``/log/step`` axis (besides ``step``): one row per layer and log point."""


# ====================================================================== reading ====

@dataclass
class PretrainCheckpoint:
    """A resume point of a pre-training file: ``step`` the global update count (layers done x
    steps per layer + the current layer's updates; -1: none), every hidden layer's ``W[i]``
    (n_i, n_{i+1}), ``b[i]`` (n_{i+1},) and decoder bias ``c[i]`` (n_i,) in the file's dtype,
    and ``state`` the loop state (a JSON dict; ``state["rows"]`` the ``/log`` rows written)."""

    step: int
    W: list[np.ndarray]
    b: list[np.ndarray]
    c: list[np.ndarray]
    state: dict


@dataclass
class PretrainData:
    """Everything in a pre-training file, cut to complete rows.

    ``sizes``: (n_0, n_1, ..., n_L), the input and the L hidden layers. ``log`` holds ``step``
    (int64, the layer's updates so far), ``layer`` (int64, 1-based), ``train_cost`` (mean
    reconstruction cost of the corrupted inputs over the last log interval), ``valid_cost``
    (clean reconstruction cost of the held-out examples; both per example, summed over the
    inputs: ``glorotcli.nn.dae``), ``wall_time`` (seconds since the pre-training began, over
    resumed sessions), each (N,) (float64; a series the file lacks reads as NaN, a missing
    ``layer`` as 0).
    ``W[i]`` (n_i, n_{i+1}), ``b[i]`` (n_{i+1},), ``c[i]`` (n_i,) (the decoder's bias): the
    pre-trained parameters of layer i+1 (NaN while that layer is not done); ``layers_done``
    counts the finished layers. ``status``: one of ``STATUSES``; ``checkpoint_step``: the
    resume point's global update count (-1: none); ``writer``: ``host:pid`` of the writer,
    ``writer_gone``: status ``running`` but that process no longer exists on this host.
    """

    path: Path
    attrs: dict
    config: dict
    dataset: dict
    status: str
    sizes: tuple[int, ...]
    log: dict[str, np.ndarray]
    W: list[np.ndarray]
    b: list[np.ndarray]
    c: list[np.ndarray]
    layers_done: int
    checkpoint_step: int
    writer: str = ""
    writer_gone: bool = False

    @property
    def depth(self) -> int:
        """L, the number of hidden layers pre-trained."""
        return len(self.sizes) - 1

    @property
    def live_status(self) -> str:
        """``interrupted`` for a file whose writer died while it said ``running``."""
        return "interrupted" if self.writer_gone else self.status

    @property
    def writer_alive(self) -> bool:
        """Status ``running`` and its writer is another live process on this host (a writer
        on another host cannot be checked: False)."""
        return writer_alive(self.status, self.writer)

    def layer_log(self, layer: int) -> dict[str, np.ndarray]:
        """The log rows of hidden layer ``layer`` (1-based): ``log`` cut to them, each (n,)."""
        keep = self.log["layer"] == layer
        return {k: v[keep] for k, v in self.log.items()}


def _check_format(f: h5py.File, path: Path) -> None:
    check_format(f, path, fmt=FORMAT, version=FORMAT_VERSION, what="pre-training",
                 hint="; make one with glorot pretrain")
    for need in ("log/step", "weights/pretrained", "layers_done", "status"):
        if need not in f:
            raise GlorotError(f"{path}: damaged pre-training file (/{need} is missing)")


def _layer_arrays(g: h5py.Group, L: int, names: str = "Wbc") -> tuple[list, ...]:
    return tuple([g[f"{n}{i}"][()] for i in range(L)] for n in names)


def read_pretrain(path: str | os.PathLike) -> PretrainData:
    """Read the pre-training file ``path`` into a ``PretrainData`` (also while it is written:
    SWMR mode when a writer has it open). Raises GlorotError for a missing file, a folder, an
    unreadable or truncated HDF5 file, a file that is not a pre-training file or of a newer
    format version, a corrupt JSON attribute, or damaged datasets."""
    path = Path(path)
    f = _open_read(path, swmr=True, what="pre-training")
    try:
        with f:
            _check_format(f, path)
            attrs, config, dataset = _root_settings(f, path)
            sizes = tuple(int(v) for v in attrs.get("sizes", ()))
            if len(sizes) < 2:
                raise GlorotError(f"{path}: damaged pre-training file (sizes {sizes})")
            L = len(sizes) - 1
            _, log = _read_axis(f["log"], LOG_SERIES)
            W, b, c = _layer_arrays(f["weights/pretrained"], L)
            done = int(f["layers_done"][()])
            status = _bytes_str(f["status"][()]).strip("\x00")
            writer = _bytes_str(f["writer"][()]).strip("\x00") if "writer" in f else ""
            slot = active_checkpoint(f)
            ck = int(f[slot]["step"][()]) if slot else -1
    except GlorotError:
        raise
    except (OSError, KeyError, ValueError, TypeError, RuntimeError) as exc:
        raise GlorotError(f"{path}: damaged pre-training file ({_short(exc)})") from None
    n = len(log["step"])  # a series the file lacks: NaN, or layer 0 (layers count from 1)
    log.setdefault("layer", np.zeros(n, np.int64))
    for k in LOG_SERIES[1:]:
        log.setdefault(k, np.full(n, np.nan))
    return PretrainData(path=path, attrs=attrs, config=config, dataset=dataset, status=status,
                        sizes=sizes, log=log, W=W, b=b, c=c, layers_done=done,
                        checkpoint_step=ck, writer=writer,
                        writer_gone=status == "running" and _writer_gone(writer))


def pretrain_info(path: str | os.PathLike) -> dict:
    """A JSON-ready summary of a pre-training file (what ``glorot inspect`` prints): settings,
    choices, progress (``layers_done``, ``checkpoint_step`` in updates, ``wall_seconds``), and
    per layer its updates and the held-out reconstruction cost at its first and last row (None
    before its first row). Raises GlorotError as ``read_pretrain``."""
    d = read_pretrain(path)
    layers = []
    for k in range(1, d.depth + 1):
        rows = d.layer_log(k)
        v = rows["valid_cost"]
        layers.append({"layer": k, "updates": int(rows["step"][-1]) if len(v) else 0,
                       "held_out_cost_first": float(v[0]) if len(v) else None,
                       "held_out_cost_last": float(v[-1]) if len(v) else None,
                       "done": k <= d.layers_done})
    wall = d.log["wall_time"]
    return {"path": str(d.path), "format": FORMAT,
            "format_version": int(d.attrs.get("format_version", 0)),
            "glorot_version": d.attrs.get("glorot_version"), "created": d.attrs.get("created"),
            "status": d.live_status, "writer": d.writer, "sizes": list(d.sizes),
            "activation": d.attrs.get("activation"), "init": d.attrs.get("init"),
            "input_scale": d.attrs.get("input_scale"), "seed": d.attrs.get("seed"),
            "threads": None if d.attrs.get("threads") is None else int(d.attrs["threads"]),
            "config": d.config, "dataset": d.dataset,
            "choices": json.loads(d.attrs.get("choices", "{}")),
            "layers_done": d.layers_done, "checkpoint_step": d.checkpoint_step,
            "wall_seconds": float(wall[-1]) if len(wall) else None, "layers": layers}


def read_pretrain_checkpoint(path: str | os.PathLike) -> PretrainCheckpoint:
    """The resume point of a pre-training file (a ``PretrainCheckpoint``; read-only; step -1
    when there is none). Raises GlorotError for a file that is not a readable pre-training
    file, or a damaged checkpoint."""
    path = Path(path)
    try:
        with _open_read(path, swmr=True, what="pre-training") as f:
            _check_format(f, path)
            return _checkpoint(f, len(f.attrs["sizes"]) - 1)
    except GlorotError:
        raise
    except (OSError, KeyError, ValueError, RuntimeError) as exc:
        raise GlorotError(f"{path}: damaged checkpoint ({_short(exc)})") from None


def _checkpoint(f: h5py.File, L: int) -> PretrainCheckpoint:
    cg = f[active_checkpoint(f) or CHECKPOINT_SLOTS[0]]
    W, b, c = _layer_arrays(cg, L)
    return PretrainCheckpoint(step=int(cg["step"][()]), W=W, b=b, c=c,
                              state=json.loads(_bytes_str(cg["state"][()])))


def live_pretrain_writer(path: Path) -> int | None:
    """The pid (an int) of a live process on this host, other than this one, writing the
    pre-training file ``path`` (status ``running``), else None (``live_writer_pid`` for this
    format). Never raises for an unreadable file."""
    return live_writer_pid(path, FORMAT)


# ====================================================================== writing ====

class PretrainWriter(_Writer):
    """Writes one pre-training file (docs/formats.md, "Pre-training file"): ``create`` or
    ``resume``, then ``log``, ``layer_done``, ``checkpoint``, ``close``. ``log`` rows are
    buffered and reach the file every ``flush_seconds`` seconds, at ``layer_done``,
    ``checkpoint`` and ``close``. Not thread-safe; one writer per file. Errors as
    ``RunWriter``'s: GlorotError, ``DiskFull``, ``WriteFailed`` (HDF5 failed a write: the
    writer is closed for good)."""

    def __init__(self, f: h5py.File, path: Path, flush_seconds: float) -> None:
        self._f = f
        self.path = path
        self.flush_seconds = float(flush_seconds)
        self._last_flush = time.monotonic()
        self.sizes = tuple(int(v) for v in f.attrs["sizes"])
        self._buf: list[dict] = []
        self._rows = int(f["log/step"].shape[0])
        self.closed = False

    @classmethod
    def create(cls, path: str | os.PathLike, *, config: Mapping, sizes: Sequence[int],
               activation: str, init: str, seed: int, dataset: Mapping, input_scale: str,
               init_W: Sequence[np.ndarray], init_b: Sequence[np.ndarray],
               choices: Mapping, force: bool = False, flush_seconds: float = 5.0,
               extra_attrs: Mapping | None = None) -> PretrainWriter:
        """Create the file with every group, dataset and attribute, then switch SWMR on.
        ``sizes``: (n_0, n_1, ..., n_L); ``init_W[i]`` (n_i, n_{i+1}) / ``init_b[i]``
        (n_{i+1},): the L hidden layers' parameters before pre-training (their dtype is the
        file's); ``choices``: what the paper does not state and this file was made with
        (JSON-able); ``config``, ``dataset``: JSON-able mappings. Refuses an existing ``path``
        unless ``force``.

        Raises GlorotError for an unwritable or existing ``path`` (without ``force``), one
        another live process is writing, sizes or parameters of the wrong number or shape, or
        a file that cannot be created; ``DiskFull`` and ``WriteFailed`` as ``RunWriter.create``.
        """
        path = check_output_path(path, force)
        sizes = tuple(int(v) for v in sizes)
        L = len(sizes) - 1
        if L < 1 or min(sizes) < 1 or len(init_W) != L or len(init_b) != L:
            raise GlorotError(f"pre-training sizes must be (input, hidden...) with one W and b "
                              f"per hidden layer, got {sizes} and {len(init_W)} matrices")
        need = 5 * sum(np.asarray(a).nbytes for a in (*init_W, *init_b)) + 2 * _JSON_CAPACITY \
            + 2**20
        f = _new_file(path, need=need, what="pre-training file", command="glorot pretrain",
                      live_pid=live_pretrain_writer)
        attrs = {"config": json.dumps(dict(config), sort_keys=True), "seed": int(seed),
                 "sizes": np.asarray(sizes, dtype=np.int64), "activation": str(activation),
                 "init": str(init), "input_scale": str(input_scale),
                 "dataset": json.dumps(dict(dataset), sort_keys=True, default=_json_default),
                 "choices": json.dumps(dict(choices), sort_keys=True, default=_json_default),
                 **(extra_attrs or {})}
        with _creating(f, path, "pre-training file", fmt=FORMAT, version=FORMAT_VERSION,
                       attrs=attrs):
            f.create_dataset("status", data=np.bytes_(b"running"), dtype=_STATUS_DTYPE)
            f.create_dataset("writer", data=_writer_id(), dtype=_WRITER_DTYPE)
            f.create_dataset("layers_done", data=np.int64(0))
            g = f.create_group("log")
            _series(g, "step", (), np.int64)
            _series(g, "layer", (), np.int64)
            for name in LOG_SERIES[1:]:
                _series(g, name, (), np.float64)
            groups = [f.create_group("weights/init"), f.create_group("weights/pretrained")]
            slots = [f.create_group(name) for name in CHECKPOINT_SLOTS]
            for i, (W, b) in enumerate(zip(init_W, init_b, strict=True)):
                W, b = np.asarray(W), np.asarray(b)
                if W.shape != sizes[i:i + 2] or b.shape != sizes[i + 1:i + 2]:
                    raise GlorotError(f"W{i}/b{i} have shapes {W.shape}/{b.shape}, expected "
                                      f"{sizes[i:i + 2]}/{sizes[i + 1:i + 2]}")
                c = np.zeros(sizes[i], W.dtype)
                rows = chunk_rows(W.shape[1] * W.itemsize, target=_CHUNK_MAX)
                for k, grp in enumerate((*groups, *slots)):
                    blank = k == 1  # /weights/pretrained: NaN until the layer is done
                    grp.create_dataset(f"W{i}", data=np.full_like(W, np.nan) if blank else W,
                                       chunks=(min(rows, W.shape[0]), W.shape[1]))
                    grp.create_dataset(f"b{i}", data=np.full_like(b, np.nan) if blank else b)
                    if k != 0:
                        grp.create_dataset(f"c{i}", data=np.full_like(c, np.nan) if blank
                                           else c)
            for cg in slots:
                cg.create_dataset("step", data=np.int64(-1))
                cg.create_dataset("state", data=np.bytes_(b"{}"), dtype=f"S{_JSON_CAPACITY}")
        return cls(f, path, flush_seconds)

    @classmethod
    def resume(cls, path: str | os.PathLike, flush_seconds: float = 5.0,
               update_attrs: Mapping | None = None) -> PretrainWriter:
        """Reopen a pre-training file to continue from its checkpoint: rows logged after it
        are dropped, ``update_attrs`` written, the status set back to ``running``. Raises
        GlorotError for a file that is not a readable pre-training file, is locked by another
        program or still written by a live process, has no checkpoint, or is damaged."""
        path = Path(path)
        with _open_read(path, swmr=True, what="pre-training") as f:
            _check_format(f, path)
        f = _reopen(path)
        _restart(f, path, "pre-training file",
                 lambda f, state: _truncate(f, "log", int(state.get("rows", 0))), update_attrs)
        return cls(f, path, flush_seconds)

    @property
    def n_rows(self) -> int:
        """Rows of ``/log`` written or buffered."""
        return self._rows + len(self._buf)

    def log(self, *, layer: int, step: int, train_cost: float = math.nan,
            valid_cost: float = math.nan, wall_time: float = math.nan) -> None:
        """Buffer one row of ``/log`` (``layer`` 1-based, ``step`` the layer's updates,
        ``train_cost``/``valid_cost`` reconstruction costs, ``wall_time`` seconds since the
        pre-training began). May flush (``flush`` and its errors)."""
        self._buf.append({"step": int(step), "layer": int(layer),
                          "train_cost": float(train_cost), "valid_cost": float(valid_cost),
                          "wall_time": float(wall_time)})
        if time.monotonic() - self._last_flush >= self.flush_seconds:
            self.flush()

    @_writes
    def flush(self) -> None:
        """Write the buffered rows (``step`` last). Raises ``DiskFull`` (nothing written) or
        ``WriteFailed``."""
        if self._buf:
            _check_space(self.path, 2 * 8 * len(LOG_SERIES + ("step",)) * len(self._buf),
                         "writing the next rows")
            _append(self._f["log"], self._buf, ("step",) + LOG_SERIES)
            self._rows += len(self._buf)
            self._buf = []
        self._f.flush()
        self._last_flush = time.monotonic()

    @_writes
    def layer_done(self, i: int, W: np.ndarray, b: np.ndarray, c: np.ndarray) -> None:
        """Store layer i+1's pre-trained parameters (``i`` 0-based: ``W`` (n_i, n_{i+1}),
        ``b`` (n_{i+1},), ``c`` (n_i,)) after flushing the rows, then set ``/layers_done`` to
        i + 1. Raises ``DiskFull`` or ``WriteFailed`` as ``flush``."""
        self.flush()
        g = self._f["weights/pretrained"]
        for name, arr in ((f"W{i}", W), (f"b{i}", b), (f"c{i}", c)):
            g[name][...] = arr
            g[name].flush()
        self._f["layers_done"][()] = np.int64(i + 1)
        self._f["layers_done"].flush()
        self._f.flush()

    @_writes
    def checkpoint(self, *, step: int, W: Sequence[np.ndarray], b: Sequence[np.ndarray],
                   c: Sequence[np.ndarray], state: Mapping) -> None:
        """Flush the rows, then overwrite the older of the two resume points (its ``step``
        is -1 while it is rewritten) with ``step`` (the global update count), every layer's
        ``W``, ``b``, ``c`` and ``state``. ``state`` must be JSON-able, at most 64 KiB of JSON
        (GlorotError otherwise); the row count is added as ``state["rows"]``. Raises
        ``DiskFull`` or ``WriteFailed`` as ``flush``."""
        self.flush()
        active = active_checkpoint(self._f)
        target = next(g for g in CHECKPOINT_SLOTS if g != active)
        cg = self._f[target]
        cg["step"][()] = np.int64(-1)
        cg["step"].flush()
        self._f.flush()
        for i in range(len(W)):
            for name, arr in ((f"W{i}", W[i]), (f"b{i}", b[i]), (f"c{i}", c[i])):
                cg[name][...] = arr
                cg[name].flush()
        state = dict(state)
        state["rows"] = self._rows
        text = json.dumps(state, sort_keys=True, default=_json_default).encode()
        if len(text) > _JSON_CAPACITY:
            raise GlorotError(f"checkpoint state is too large ({len(text)} bytes)")
        cg["state"][()] = np.bytes_(text)
        cg["state"].flush()
        cg["step"][()] = np.int64(step)
        cg["step"].flush()
        self._f.flush()

    def read_checkpoint(self) -> PretrainCheckpoint:
        """The latest resume point stored in the file (step -1 for none)."""
        return _checkpoint(self._f, len(self.sizes) - 1)

    def abandon(self, status: str = "interrupted") -> None:
        """Close after a write problem, dropping the buffered rows and setting ``status`` when
        the file has a checkpoint (unlike ``RunWriter.abandon``, a file without one is kept);
        never raises."""
        if self.closed:
            return
        self.closed = True
        self._buf = []
        with contextlib.suppress(WriteFailed, OSError, ValueError, KeyError):
            if active_checkpoint(self._f) is not None:
                self.set_status(status)
            self._f.close()

    def _has_rows(self) -> bool:
        return self.n_rows > 0
