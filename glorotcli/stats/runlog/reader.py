"""Reading a run file, live or finished (``read_run``, ``run_info``, ``read_checkpoint``): opens
the file in SWMR read mode when it can, takes ``n = len(step)`` for each axis and reads only the
first ``n`` rows of the series on that axis, so a file being written always reads whole rows."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import h5py
import numpy as np

from glorotcli.errors import GlorotError
from glorotcli.fileio import (
    hdf5_locked,
    open_hdf5_read,
)
from glorotcli.stats import QUANTITIES, STATS
from glorotcli.stats.runlog.layout import (
    CHECKPOINT_SLOTS,
    FORMAT,
    FORMAT_VERSION,
    LOG_SERIES,
    RATIOS,
    Checkpoint,
    _bytes_str,
    _short,
    _writer_gone,
    active_checkpoint,
)
from glorotcli.stats.runlog.recovery import writer_alive
from glorotcli.superblock import describe_truncated


def _checkpoint(f: h5py.File, n: int) -> Checkpoint:
    cg = f[active_checkpoint(f) or CHECKPOINT_SLOTS[0]]
    return Checkpoint(step=int(cg["step"][()]),
                      W=[cg[f"W{i}"][()] for i in range(n)],
                      b=[cg[f"b{i}"][()] for i in range(n)],
                      rng=json.loads(_bytes_str(cg["rng"][()])),
                      state=json.loads(_bytes_str(cg["state"][()])))


def read_checkpoint(path: str | os.PathLike) -> Checkpoint:
    """The resume point stored in the run file ``path`` (a ``Checkpoint``; read-only; step -1
    when there is none). Raises GlorotError for a missing file, a folder, a file that is not a
    run file (or of a newer format version), or a damaged checkpoint."""
    path = Path(path)
    try:
        with _open_read(path, swmr=True) as f:
            _check_format(f, path)
            return _checkpoint(f, len(f.attrs["sizes"]) - 1)
    except GlorotError:
        raise
    except (OSError, KeyError, ValueError, RuntimeError) as exc:
        raise GlorotError(f"{path}: damaged checkpoint ({_short(exc)})") from None


def read_initial_weights(path: str | os.PathLike) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """The parameters a run started from (``/weights/init``), read-only: (W, b) lists of L + 1
    arrays, ``W[i]`` (n_i, n_{i+1}) and ``b[i]`` (n_{i+1},), in the dtype they were stored in
    (the run's). Raises GlorotError for a file that is not a readable run file or lacks them."""
    path = Path(path)
    try:
        with _open_read(path, swmr=True) as f:
            _check_format(f, path)
            n = len(f.attrs["sizes"]) - 1
            g = f["weights/init"]
            return [g[f"W{i}"][()] for i in range(n)], [g[f"b{i}"][()] for i in range(n)]
    except GlorotError:
        raise
    except (OSError, KeyError, ValueError, RuntimeError) as exc:
        raise GlorotError(f"{path}: no readable initial weights ({_short(exc)})") from None


# ====================================================================== reading ====


@dataclass
class RunData:
    """Everything in a run file, cut to the rows that are complete (layout: docs/formats.md,
    "Run file").

    ``attrs``: the root attributes (strings decoded, arrays as lists); ``config``: the run's
    ``TrainConfig`` as a dict; ``dataset``: what the run trained on; ``status``: one of
    ``STATUSES``, or "unknown" without ``/status``. ``sizes``: (n_0, hidden widths..., classes).

    ``log`` holds ``step`` (N,) int64 (updates done), ``examples_seen`` (N,) int64, and (N,)
    float64: ``train_loss`` (mean training cost since the previous row, nats for nll),
    ``valid_error``, ``test_error`` (fractions misclassified, 0..1, not percent; NaN where not
    evaluated), ``wall_time``, ``probe_seconds``, ``jacobian_seconds``, ``eval_seconds``
    (seconds since the run began, summed over resumed sessions). ``layer_step`` (M,) int64 is
    the update count of each probe row, ``layer_examples_seen`` (M,) int64.
    ``layers[q][s]`` is (M, L) float64 for q in ``QUANTITIES`` and s in ``STATS``;
    ``layers[q]["hist"]`` is (M, L, B) float64 fractions per bin;
    ``layers["wgrad"]["grad_ratio"]`` and ``["update_ratio"]`` are (M, L). ``edges[q]`` are the
    histogram edges (B+1,) float64. ``jacobian`` holds ``step`` (J,) int64, ``sv_mean``/
    ``sv_std`` (J, L-1), ``sv`` (J, L-1, K) float64 (NaN-padded), or is empty.
    ``probe_x`` (P, n_0) uint8 raw pixels and ``probe_y`` (P,) uint8 labels, or None.
    ``checkpoint_step``: the resume point's step (-1: none). ``missing`` names optional parts
    the file lacks. Column i of every per-layer array is the paper's Layer i+1.
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
        return writer_alive(self.status, self.writer)

    @property
    def live_status(self) -> str:
        """The status a reader should act on: ``interrupted`` for a run whose writer died
        while the file still says ``running``; otherwise ``status``."""
        return "interrupted" if self.writer_gone else self.status

    @property
    def n_hidden(self) -> int:
        """L, the number of hidden layers (0 when ``sizes`` is unknown)."""
        return max(len(self.sizes) - 2, 0)


def _open_read(path: Path, swmr: bool, what: str = "run") -> h5py.File:
    """Open a glorot file for reading; one-line GlorotErrors name it a ``what`` file."""
    if not path.exists():
        raise GlorotError(f"{path}: no such file")
    if path.is_dir():
        raise GlorotError(f"{path}: is a folder, expected a {what} file")
    try:
        f = open_hdf5_read(path) if swmr else h5py.File(path, "r")
    except OSError as exc:
        if hdf5_locked(exc):
            raise GlorotError(f"{path}: is being created by a writer right now; try again in a "
                              f"moment") from None
        if "truncated file" in str(exc):
            raise GlorotError(f"{path}: damaged {what} file: it is shorter than HDF5 recorded "
                              f"(truncated by a copy or a crash); "
                              f"{describe_truncated(path)}") from None
        raise GlorotError(f"{path}: not a readable HDF5 file ({_short(exc)})") from None
    return f


def _check_run_file(path: Path) -> None:
    with _open_read(path, swmr=True) as f:
        _check_format(f, path)


def check_format(f: h5py.File, path: Path, *, fmt: str, version: int, what: str,
                 hint: str = "") -> None:
    """Raise GlorotError unless ``f``'s root says format ``fmt`` at a ``format_version`` of
    at most ``version`` (``what``: "run", "pre-training"; ``hint``: how to make one)."""
    found = f.attrs.get("format")
    found = _bytes_str(found) if found is not None else None
    if found != fmt:
        raise GlorotError(f"{path}: not a glorot {what} file (format is {found!r}, expected "
                          f"{fmt!r}{hint})")
    stored = int(f.attrs.get("format_version", 0))
    if stored > version:
        raise GlorotError(f"{path}: {what} format_version {stored} is newer than this glorot "
                          f"understands ({version}); upgrade glorot")


def _check_format(f: h5py.File, path: Path) -> None:
    check_format(f, path, fmt=FORMAT, version=FORMAT_VERSION, what="run")
    if "log/step" not in f:
        raise GlorotError(f"{path}: damaged run file (/log/step is missing)")


def _root_settings(f: h5py.File, path: Path) -> tuple[dict, dict, dict]:
    """The root attributes, and the JSON ``config`` and ``dataset`` among them, parsed; raises
    GlorotError for corrupt JSON."""
    attrs = _attrs_dict(f)
    try:
        return (attrs, json.loads(attrs.get("config", "{}")),
                json.loads(attrs.get("dataset", "{}")))
    except json.JSONDecodeError as exc:
        raise GlorotError(f"{path}: a JSON attribute is corrupt ({exc})") from None


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
    """Read the run file ``path`` whole into a ``RunData`` (also while it is being written:
    with ``swmr`` the file is opened in SWMR mode when a writer has it, and each axis is cut to
    ``len(step)`` rows). Optional parts that are absent are listed in ``missing``.

    Raises GlorotError for a missing file, a folder, a file being created at this instant
    (HDF5 lock), a truncated or unreadable HDF5 file, a file that is not a run file or is of a
    newer format version, a corrupt JSON attribute, or damaged datasets.
    """
    path = Path(path)
    f = _open_read(path, swmr)
    try:
        with f:
            _check_format(f, path)
            attrs, config, dataset = _root_settings(f, path)
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
    except (OSError, KeyError, ValueError, TypeError, RuntimeError) as exc:
        raise GlorotError(f"{path}: damaged run file ({_short(exc)})") from None
    return RunData(path=path, attrs=attrs, config=config, dataset=dataset, status=status,
                   log=log, layer_step=layer_step, layer_examples_seen=layer_ex, layers=layers,
                   edges=edges, jacobian=jac, sizes=sizes, probe_x=probe_x, probe_y=probe_y,
                   checkpoint_step=ck, missing=missing, writer=writer,
                   writer_gone=status == "running" and _writer_gone(writer))


def _last_finite(a: np.ndarray) -> tuple[float | None, int | None]:
    idx = np.flatnonzero(np.isfinite(a))
    if not len(idx):
        return None, None
    return float(a[idx[-1]]), int(idx[-1])


def _int_or_none(v) -> int | None:
    return None if v is None else int(v)


def run_info(path: str | os.PathLike) -> dict:
    """A JSON-ready summary of the run file ``path`` (used by ``glorot inspect``): settings,
    status, progress (``last_step`` in updates), the last finite ``train_loss`` and
    ``valid_error``/``test_error`` (fractions 0..1, not percent) with their steps, the best
    validation error and the test error at its step, ``wall_seconds``, ``probe_seconds``,
    ``jacobian_seconds``, ``eval_seconds`` (cumulative seconds), ``probe_fraction`` (probe
    seconds / wall seconds, a fraction), and what the per-layer statistics hold. Raises
    GlorotError as ``read_run``."""
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
        # the thread count the run used (its default's choice when config.threads is null)
        "threads": _int_or_none(run.attrs.get("threads")),
        "config": run.config,
        "dataset": run.dataset,
        "log_rows": int(len(step)),
        "last_step": int(step[-1]) if len(step) else None,
        "examples_seen": (int(log["examples_seen"][-1])
                          if len(step) and len(log.get("examples_seen", ())) else None),
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
