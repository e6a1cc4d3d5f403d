"""glorot's Python API: the same work as the command line, for notebooks and scripts.

Each function does what one command does, without printing (progress goes to an optional
``progress(task, done, total, **info)`` callback) and raises ``glorotcli.errors.GlorotError``
with a one-line message for anything the caller can fix. Every function is re-exported from the
package, so ``import glorotcli as glorot`` is enough::

    import glorotcli as glorot

    data = glorot.generate_shapeset("shapeset.h5", train=2000, valid=500, test=500)
    result = glorot.train("tanhN.h5", data=data, activation="tanh", init="normalized",
                          depth=3, width=100, steps=500)
    run = glorot.open_run(result.path)
    run.layers["act"]["std"]        # (probes, layers) float64: one row per probe step
    glorot.write_figures([run], "figs")

See ``docs/api.md`` for a tour with the shapes and units of what comes back.
"""

from __future__ import annotations

import os
from pathlib import Path

from glorotcli.progress import Progress, no_progress

SHAPESET_SPLITS = {"train": 100_000, "valid": 10_000, "test": 10_000}
"""Default split sizes of a generated Shapeset-3x2 dataset file (``glorot gen-data shapeset``)."""


def generate_shapeset(path: str | os.PathLike, *, train: int = SHAPESET_SPLITS["train"],
                      valid: int = SHAPESET_SPLITS["valid"], test: int = SHAPESET_SPLITS["test"],
                      seed: int = 0, threads: int | None = None, force: bool = False,
                      progress: Progress = no_progress) -> Path:
    """Generate Shapeset-3x2 (the paper's §2.1: 32x32 grey images of one or two shapes, 9
    classes) and write the dataset file ``path``; what ``glorot gen-data shapeset`` does.

    ``train``/``valid``/``test``: examples per split (train >= 1; 0 leaves a split out).
    Same ``seed``, same bytes, whatever ``threads``. Returns the path written. Raises
    ``GlorotError`` for bad sizes or seed, or when ``path`` exists and ``force`` is False
    (checked before generating).
    """
    from glorotcli.data import shapeset as S
    from glorotcli.data.store import write_dataset
    from glorotcli.errors import GlorotError
    from glorotcli.fileio import check_output_path

    S.check_split_sizes(train, valid, test)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise GlorotError(f"seed must be a non-negative integer, got {seed!r}")
    if threads is not None and threads < 1:
        raise GlorotError(f"threads must be at least 1, got {threads}")
    check_output_path(Path(path), force)
    splits = S.make_splits(train, valid, test, seed, threads=threads, progress=progress)
    return write_dataset(path, kind="shapeset", image_shape=(S.SIZE, S.SIZE, 1),
                         class_names=S.CLASS_NAMES, splits=splits,
                         params=S.dataset_params(train, valid, test, seed), force=force)


def import_mnist(folder: str | os.PathLike, path: str | os.PathLike, *, valid: int = 10_000,
                 force: bool = False, progress: Progress = no_progress):
    """Convert the four official MNIST IDX files in ``folder`` (``.gz`` or not) into the
    dataset file ``path``; the last ``valid`` training images become the validation split.
    What ``glorot import mnist`` does. Returns an ``ImportResult`` (``path``, ``counts`` per
    split, ``mismatches``: files whose digest differs from the official release's). Raises
    ``GlorotError`` naming the file for anything missing or malformed."""
    from glorotcli.data.mnist import import_mnist as _import

    return _import(folder, path, valid=valid, force=force, progress=progress)


def import_cifar10(folder: str | os.PathLike, path: str | os.PathLike, *,
                   valid: int = 10_000, force: bool = False,
                   progress: Progress = no_progress):
    """Convert the CIFAR-10 *binary version* folder (``data_batch_1.bin`` ...) into the dataset
    file ``path`` (32x32x3 uint8 images, channels last). What ``glorot import cifar10`` does;
    returns an ``ImportResult`` as ``import_mnist`` does."""
    from glorotcli.data.cifar import import_cifar10 as _import

    return _import(folder, path, valid=valid, force=force, progress=progress)


def train(path: str | os.PathLike, *, force: bool = False, progress: Progress = no_progress,
          **settings):
    """Train one network and write its run file ``path``; what ``glorot train`` does.

    ``settings`` are the fields of ``glorotcli.config.TrainConfig`` (``data`` or
    ``online=True``, ``activation``, ``init``, ``depth``, ``width``, ``lr``, ``steps``, ...;
    the same names as the command's flags, with ``_`` for ``-``). Sizes larger than the data
    are cut to it, as the command does. Returns a ``TrainResult`` (``path``, ``status``,
    ``steps``, ``test_error`` as a fraction, ``best_valid_error``, timings in seconds).
    Raises ``GlorotError`` for bad settings or data before any work, ``RunFailed`` when the
    run diverges (the file keeps what was logged).
    """
    from glorotcli.config import TrainConfig
    from glorotcli.fileio import check_output_path
    from glorotcli.run import train as core

    if "data" in settings and settings["data"] is not None:
        settings["data"] = str(settings["data"])
    config = TrainConfig(**settings).validate()
    check_output_path(Path(path), force)
    data = core.load_data(config, progress)
    config, _ = core.fit_to_data(config, data)
    return core.train(config, path, data=data, force=force, progress=progress)


def resume(path: str | os.PathLike, *, steps: int | None = None,
           progress: Progress = no_progress):
    """Continue the run file ``path`` from its last checkpoint (to ``steps`` updates in all
    when given, else to its planned end); what ``glorot train --resume`` does. Returns a
    ``TrainResult``; a resumed run ends bit for bit as an uninterrupted one would."""
    import dataclasses

    from glorotcli.run import train as core

    config = core.load_config(path)
    if steps is not None:
        config = dataclasses.replace(config, steps=steps, epochs=None).validate()
    return core.resume(path, config, progress=progress)


def pretrain(path: str | os.PathLike, *, force: bool = False, progress: Progress = no_progress,
             **settings):
    """Pre-train the hidden layers of a network by stacked denoising auto-encoders (Vincent et
    al. 2008; the paper's Fig. 11 reference) and write the pre-training file ``path``; what
    ``glorot pretrain`` does. ``settings`` are the fields of ``glorotcli.config.PretrainConfig``
    (``data`` or ``online=True``, ``activation``, ``init``, ``depth``, ``width``, ``seed``,
    ``corruption``, ``steps_per_layer``, ``lr``, ...). Returns a ``PretrainResult`` (``path``,
    ``status``, per layer ``first_valid_cost`` and ``valid_cost``: the held-out reconstruction
    cost, in nats or squared units per example, before and after). Start a run from it with
    ``train(..., init_from=path)``. Raises ``GlorotError`` for bad settings or data before any
    work, ``RunFailed`` when the reconstruction cost stops being finite."""
    from glorotcli.config import PretrainConfig
    from glorotcli.fileio import check_output_path
    from glorotcli.run import pretrain as core

    if settings.get("data") is not None:
        settings["data"] = str(settings["data"])
    config = PretrainConfig(**settings).validate()
    check_output_path(Path(path), force)
    return core.pretrain(config, path, force=force, progress=progress)


def open_run(path: str | os.PathLike):
    """Read a run file, finished or still being written, into a ``RunData`` of NumPy arrays:
    ``log[name]`` (N,) on the ``log["step"]`` axis (errors as fractions, loss in nats,
    times in seconds); ``layers[q][s]`` (M, L) float64 on the ``layer_step`` axis, q in
    ``act``, ``bgrad``, ``wgrad`` and s in ``mean``, ``std``, ``p2``, ``p50``, ``p98``,
    ``sat``; ``layers[q]["hist"]`` (M, L, B) fractions per bin of ``edges[q]``;
    ``jacobian["sv_mean"]`` (J, L-1) on ``jacobian["step"]``. Column j is the paper's Layer
    j+1. Raises ``GlorotError`` for a file that is not a glorot run file."""
    from glorotcli.stats.runlog import read_run

    return read_run(path)


def init_lab(*, progress: Progress = no_progress, **settings):
    """Build a network at initialisation, feed it probe inputs and set what it measures beside
    the theory's predictions; what ``glorot init-lab`` does. ``settings`` are the fields of
    ``glorotcli.report.initlab.LabSettings`` (``activation``, ``init``, ``depth``, ``width`` or
    ``widths``, ``data`` or ``inputs``/``input_moment``, ``examples``, ``seed``, ...). Returns a
    ``LabResult``: ``measured`` and ``mean_field``/``linear`` predictions with per-layer arrays
    ``act_std``, ``bgrad_std``, ``wgrad_std`` (L,) and ``jacobian_mean_sv`` (L-1,);
    ``to_json()`` gives the documented JSON (docs/formats.md). Raises ``GlorotError``."""
    from glorotcli.report import initlab

    if isinstance(settings.get("widths"), str):
        settings["widths"] = initlab.parse_widths(settings["widths"])
    if settings.get("data") is not None:
        settings["data"] = str(settings["data"])
    return initlab.run_lab(initlab.LabSettings(**settings).validate(), progress)


def write_figures(runs, folder: str | os.PathLike, *, force: bool = False,
                  formats: tuple[str, ...] = ("png",)) -> list[Path]:
    """Draw every paper figure the runs support into ``folder`` (``runs``: run-file paths or
    ``RunData``); what ``glorot report RUN... --png DIR`` does. Returns the files written.
    Raises ``GlorotError`` before writing anything if a file exists and ``force`` is False."""
    from glorotcli.report import figures

    data = [r if hasattr(r, "layers") else open_run(r) for r in runs]
    written, _ = figures.write_figures(data, folder, force=force, formats=formats)
    return written


__all__ = ["SHAPESET_SPLITS", "generate_shapeset", "import_cifar10", "import_mnist", "init_lab",
           "open_run", "pretrain", "resume", "train", "write_figures"]
