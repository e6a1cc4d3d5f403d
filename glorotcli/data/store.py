"""The glorot dataset file: one HDF5 file with train/valid/test splits of uint8 images.

Layout (see ``docs/formats.md``)::

    data.h5   attrs: format="glorot-dataset", format_version, kind, image_shape (H, W, C),
                     n_classes, class_names, params (JSON), sources (JSON: file -> sha256)
    /train/x  (N, D) uint8, chunked, gzip      /train/y (N,) uint8
    /valid/x, /valid/y ; /test/x, /test/y      (the splits that were made)

``write_dataset`` writes to a temporary name and renames when complete; ``read_dataset`` checks
everything a later command relies on and raises ``GlorotError`` naming the file and the field.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import h5py
import numpy as np

from glorotcli import __version__
from glorotcli.errors import GlorotError
from glorotcli.fileio import Checksum, deferred_interrupt, hdf5_in_memory
from glorotcli.progress import Progress

FORMAT = "glorot-dataset"
FORMAT_VERSION = 1
SPLITS = ("train", "valid", "test")
KINDS = ("shapeset", "mnist", "cifar10")


@dataclass
class Split:
    """One split: ``x`` (N, D) uint8 pixels (D = H*W*C, channels last, 0-255 unscaled), ``y``
    (N,) uint8 labels in 0..n_classes-1. ``len(split)`` is N."""

    x: np.ndarray
    y: np.ndarray

    def __len__(self) -> int:
        return len(self.y)


@dataclass
class Dataset:
    """A dataset file's contents, validated (layout: docs/formats.md, "Dataset file").
    ``kind`` one of ``KINDS``; ``image_shape`` (H, W, C); ``class_names`` one per label;
    ``splits`` holds the splits that were loaded (``Split``); ``present`` names every split the
    file has, loaded or not, and ``sizes`` their number of examples; ``params`` and ``sources``
    the file's JSON attributes (how it was made; input file -> sha256)."""

    path: Path
    kind: str
    image_shape: tuple[int, int, int]
    class_names: list[str]
    splits: dict[str, Split]
    params: dict = field(default_factory=dict)
    sources: dict = field(default_factory=dict)
    format_version: int = FORMAT_VERSION
    present: tuple[str, ...] = ()
    sizes: dict[str, int] = field(default_factory=dict)

    @property
    def n_classes(self) -> int:
        """The number of classes (``len(class_names)``)."""
        return len(self.class_names)

    @property
    def input_size(self) -> int:
        """D = H*W*C, the number of inputs of a net on this data (n_0)."""
        h, w, c = self.image_shape
        return h * w * c

    def majority_error(self, split: str = "test") -> float:
        """Error (a fraction 0..1, not percent) of always answering the most frequent class of
        the loaded ``split`` itself (a baseline; 1.0 for an empty split). KeyError when the
        split was not loaded."""
        y = self.splits[split].y
        counts = np.bincount(y, minlength=self.n_classes)
        return 1.0 - counts.max() / max(len(y), 1)


def write_dataset(
    path: str | os.PathLike,
    *,
    kind: str,
    image_shape: tuple[int, int, int],
    class_names: list[str],
    splits: Mapping[str, tuple[np.ndarray, np.ndarray]],
    params: Mapping | None = None,
    sources: Mapping | None = None,
    force: bool = False,
    progress: Progress | None = None,
) -> Path:
    """Write a dataset file atomically and return its path.

    ``splits`` maps split names ("train", "valid", "test") to ``(x, y)`` with ``x`` of shape
    (N, H*W*C) uint8 (channels last) and ``y`` of shape (N,) with labels below len(class_names)
    (stored as uint8; the label range is not checked here, ``read_dataset`` checks it).
    ``kind`` one of ``KINDS``; ``image_shape`` (H, W, C); ``params``, ``sources`` JSON-able
    mappings stored as attributes. ``progress`` (optional) hears ``("write SPLIT", rows
    written, rows)`` as the pixels go out. The file is built in memory and written under its
    name only when complete (``hdf5_in_memory``; Ctrl-C leaves nothing).

    Raises GlorotError for an unknown kind or split name, an ``x`` that is not uint8 (N, D),
    a ``y`` not (N,), an existing ``path`` without ``force``, a missing or unwritable folder,
    or a failed write (disk full).
    """
    if kind not in KINDS:
        raise GlorotError(f"dataset kind must be one of {', '.join(KINDS)}, got {kind!r}")
    d = int(np.prod(image_shape))
    for name, (x, y) in splits.items():
        if name not in SPLITS:
            raise GlorotError(f"split must be one of {', '.join(SPLITS)}, got {name!r}")
        if x.dtype != np.uint8 or x.ndim != 2 or x.shape[1] != d:
            raise GlorotError(f"{name}/x must be uint8 of shape (N, {d}), got {x.dtype} {x.shape}")
        if y.shape != (x.shape[0],):
            raise GlorotError(f"{name}/y must have shape ({x.shape[0]},), got {y.shape}")
    path = Path(path)
    _write(path, force, kind, image_shape, class_names, splits, params, sources, progress)
    return path


def _write(path, force, kind, image_shape, class_names, splits, params, sources,
           progress) -> None:
    """The body of ``write_dataset``: all attributes, then each split in row blocks, built in
    memory and written at the end (``hdf5_in_memory``: a full disk is one clear error)."""
    d = int(np.prod(image_shape))
    with hdf5_in_memory(path, force) as f, deferred_interrupt() as check_interrupt:
        f.attrs["format"] = FORMAT
        f.attrs["format_version"] = FORMAT_VERSION
        f.attrs["glorot_version"] = __version__
        f.attrs["kind"] = kind
        f.attrs["image_shape"] = np.asarray(image_shape, dtype=np.int64)
        f.attrs["n_classes"] = len(class_names)
        f.attrs["class_names"] = json.dumps(list(class_names))
        f.attrs["params"] = json.dumps(dict(params or {}), sort_keys=True)
        f.attrs["sources"] = json.dumps(dict(sources or {}), sort_keys=True)
        for name, (x, y) in splits.items():
            g = f.create_group(name)
            rows = max(1, min(len(x), (256 * 1024) // max(d, 1)))
            if not len(x):
                g.create_dataset("x", data=x)
            else:
                dx = g.create_dataset("x", shape=x.shape, dtype=np.uint8, chunks=(rows, d),
                                      compression="gzip", compression_opts=4, shuffle=True)
                step = rows * 16
                for start in range(0, len(x), step):
                    stop = min(start + step, len(x))
                    dx[start:stop] = x[start:stop]
                    check_interrupt()  # Ctrl-C: stop here; nothing is on disk yet
                    if progress is not None:
                        progress(f"write {name}", stop, len(x))
            g.create_dataset("y", data=np.asarray(y, dtype=np.uint8))


def split_valid_from_end(x: np.ndarray, y: np.ndarray, valid: int,
                         what: str = "the training set") -> dict[str, tuple]:
    """Split ``(x, y)`` (N examples along axis 0) into ``train`` (the first N - valid) and
    ``valid`` (the last ``valid``): {"train": (x, y), "valid": (x, y)}, views, not copies.
    This is how the MNIST and CIFAR-10 validation sets of the paper's §2.2 are taken (which
    images is our choice: docs/choices.md, "Validation and test sets").

    ``valid`` = 0 makes no valid split. Raises GlorotError naming ``--valid`` unless
    0 <= valid < N (the training split must keep at least one example); ``what`` names the
    set in that message.
    """
    n = len(y)
    if valid < 0:
        raise GlorotError(f"--valid must be 0 or more, got {valid}")
    if valid >= n:
        raise GlorotError(f"--valid {valid} must be below the size of {what} ({n}), "
                          "so that some examples are left for training")
    if valid == 0:
        return {"train": (x, y)}
    return {"train": (x[: n - valid], y[: n - valid]), "valid": (x[n - valid:], y[n - valid:])}


@dataclass
class ImportResult:
    """What an importer wrote: the file ``path``, its ``kind``, ``counts`` (split -> number of
    examples), ``checksums`` (one ``Checksum`` per input file) and ``release`` (what the
    digests were compared with)."""

    path: Path
    kind: str
    counts: dict[str, int]
    checksums: list[Checksum]
    release: str  # what the digests were compared with, e.g. "the official MNIST release"

    @property
    def mismatches(self) -> list[Checksum]:
        """The checksums that did not match (or had no published digest)."""
        return [c for c in self.checksums if not c.ok]


def write_import(output: str | os.PathLike, *, kind: str, image_shape: tuple[int, int, int],
                 class_names: list[str], train: tuple[np.ndarray, np.ndarray],
                 test: tuple[np.ndarray, np.ndarray], valid: int, train_what: str,
                 folder: str | os.PathLike, checksums: list[Checksum], release: str,
                 sources: Mapping, force: bool = False,
                 progress: Progress | None = None) -> ImportResult:
    """What every importer does last: take ``valid`` examples from the end of ``train``
    (``train_what`` names it in errors and in the file), record where the data came from and how
    its checksums compared with ``release``, and write the dataset file ``output``.

    ``train``, ``test``: (x (N, H*W*C) uint8, y (N,) uint8) pairs. Returns an
    ``ImportResult``. Raises GlorotError as ``split_valid_from_end`` and ``write_dataset``.
    """
    splits = split_valid_from_end(*train, valid, what=train_what)
    splits["test"] = test
    write_dataset(
        output,
        kind=kind,
        image_shape=image_shape,
        class_names=class_names,
        splits=splits,
        params={
            "importer": kind,
            "folder": str(Path(folder).resolve()),
            "valid": valid,
            "valid_from": f"end of {train_what}",
            "checksums": {c.file: "match" if c.ok else "MISMATCH" for c in checksums},
            "checksums_compared_with": release,
        },
        sources=sources,
        force=force,
        progress=progress,
    )
    return ImportResult(path=Path(output), kind=kind,
                        counts={k: len(v[1]) for k, v in splits.items()},
                        checksums=checksums, release=release)


def _attr(f: h5py.File, path: Path, name: str):
    if name not in f.attrs:
        raise GlorotError(f"{path}: not a glorot dataset (attribute {name!r} is missing)")
    value = f.attrs[name]
    return value.decode() if isinstance(value, bytes) else value


def read_dataset(path: str | os.PathLike, splits: tuple[str, ...] | None = None) -> Dataset:
    """Open and validate a dataset file; load the named splits (all present by default; ``()``
    loads none, to read the attributes cheaply). Returns a ``Dataset`` with uint8 pixels and
    labels.

    Raises GlorotError naming the file and the field for: a missing file, a folder, a file that
    is not readable HDF5, not a glorot dataset or of a newer format version, a missing or
    corrupt attribute, an ``image_shape`` that is not (H, W, C), ``n_classes`` below 2 or not
    matching the class names, no split at all, a requested split that is absent or lacks x or
    y, pixels that are not uint8 (N, H*W*C), labels not (N,) or at or above ``n_classes``, or
    unreadable (damaged) data.
    """
    path = Path(path)
    if not path.exists():
        raise GlorotError(f"{path}: no such file")
    if path.is_dir():
        raise GlorotError(f"{path}: is a folder, expected a glorot dataset file")
    try:
        f = h5py.File(path, "r")
    except OSError as exc:
        why = os.strerror(exc.errno) if exc.errno else "not an HDF5 file"
        raise GlorotError(f"{path}: not a readable glorot dataset file ({why})") from None
    with f:
        fmt = _attr(f, path, "format")
        if fmt != FORMAT:
            raise GlorotError(f"{path}: not a glorot dataset (format is {fmt!r}, "
                              f"expected {FORMAT!r})")
        version = int(_attr(f, path, "format_version"))
        if version > FORMAT_VERSION:
            raise GlorotError(f"{path}: dataset format_version {version} is newer than this "
                              f"glorot understands ({FORMAT_VERSION}); upgrade glorot")
        kind = str(_attr(f, path, "kind"))
        shape = tuple(int(v) for v in _attr(f, path, "image_shape"))
        if len(shape) != 3 or min(shape) < 1:
            raise GlorotError(f"{path}: image_shape must be (H, W, C), got {shape}")
        try:
            class_names = list(json.loads(_attr(f, path, "class_names")))
            params = json.loads(_attr(f, path, "params"))
            sources = json.loads(_attr(f, path, "sources"))
        except json.JSONDecodeError as exc:
            raise GlorotError(f"{path}: a JSON attribute is corrupt ({exc})") from None
        n_classes = int(_attr(f, path, "n_classes"))
        if n_classes != len(class_names) or n_classes < 2:
            raise GlorotError(f"{path}: n_classes={n_classes} does not match "
                              f"{len(class_names)} class names")
        d = int(np.prod(shape))
        present = [s for s in SPLITS if s in f]
        if not present:
            raise GlorotError(f"{path}: holds no split (expected /train, /valid or /test)")
        wanted = present if splits is None else list(splits)
        loaded: dict[str, Split] = {}
        for name in wanted:
            if name not in f:
                raise GlorotError(f"{path}: has no /{name} split (it has {', '.join(present)})")
            g = f[name]
            if "x" not in g or "y" not in g:
                raise GlorotError(f"{path}: /{name} must hold datasets x and y")
            x, y = g["x"], g["y"]
            if x.dtype != np.uint8 or x.ndim != 2 or x.shape[1] != d:
                raise GlorotError(f"{path}: /{name}/x must be uint8 (N, {d}), "
                                  f"got {x.dtype} {x.shape}")
            if y.shape != (x.shape[0],):
                raise GlorotError(f"{path}: /{name}/y must have shape ({x.shape[0]},), "
                                  f"got {y.shape}")
            try:
                xa, ya = x[()], y[()].astype(np.uint8)
            except OSError as exc:
                raise GlorotError(f"{path}: /{name} cannot be read, file damaged ({exc})") from None
            if len(ya) and int(ya.max()) >= n_classes:
                raise GlorotError(f"{path}: /{name}/y has label {int(ya.max())}, "
                                  f"expected labels below {n_classes}")
            loaded[name] = Split(xa, ya)
        return Dataset(path=path, kind=kind, image_shape=shape, class_names=class_names,
                       splits=loaded, params=params, sources=sources, format_version=version,
                       present=tuple(present),
                       sizes={s: int(f[s]["y"].shape[0]) for s in present if "y" in f[s]})


def read_labels(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """The labels of every split in a dataset file, without its images: ``{split: y}`` with
    ``y`` (N,) uint8, for the splits present. Cheap enough for a report's baselines.

    Raises ``GlorotError`` for a missing file, a file that is not a glorot dataset, or a split
    whose labels cannot be read."""
    path = Path(path)
    try:
        f = h5py.File(path, "r")
    except (OSError, ValueError) as exc:
        why = os.strerror(exc.errno) if getattr(exc, "errno", None) else "not an HDF5 file"
        raise GlorotError(f"{path}: not a readable glorot dataset file ({why})") from None
    with f:
        fmt = _attr(f, path, "format")
        if fmt != FORMAT:
            raise GlorotError(f"{path}: not a glorot dataset (format is {fmt!r}, "
                              f"expected {FORMAT!r})")
        out = {}
        for name in SPLITS:
            if name in f and "y" in f[name]:
                try:
                    out[name] = np.asarray(f[name]["y"][()], dtype=np.uint8)
                except OSError as exc:
                    raise GlorotError(f"{path}: /{name}/y cannot be read, file damaged "
                                      f"({exc})") from None
        return out


def dataset_info(path: str | os.PathLike) -> dict:
    """A JSON-ready summary of a dataset file (used by ``glorot inspect``): its attributes and,
    per split, the number of examples, the count per class, the pixel min, max and mean (in
    stored 0-255 units) and the majority-class error of the split itself (a fraction 0..1).
    Loads every split. Raises GlorotError as ``read_dataset``."""
    ds = read_dataset(path)
    info = {
        "path": str(ds.path),
        "format": FORMAT,
        "format_version": ds.format_version,
        "kind": ds.kind,
        "image_shape": list(ds.image_shape),
        "n_classes": ds.n_classes,
        "class_names": ds.class_names,
        "params": ds.params,
        "sources": ds.sources,
        "splits": {},
    }
    for name, split in ds.splits.items():
        counts = np.bincount(split.y, minlength=ds.n_classes)
        info["splits"][name] = {
            "n": len(split),
            "class_counts": counts.tolist(),
            "pixel_min": int(split.x.min()) if len(split) else None,
            "pixel_max": int(split.x.max()) if len(split) else None,
            "pixel_mean": float(split.x.mean()) if len(split) else None,
            "majority_error": float(1 - counts.max() / len(split)) if len(split) else None,
        }
    return info
