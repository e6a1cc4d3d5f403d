"""CIFAR-10: read the official binary batches into a glorot dataset file.

The binary version (``cifar-10-binary.tar.gz``, folder ``cifar-10-batches-bin/``) has six files,
``data_batch_1.bin`` ... ``data_batch_5.bin`` and ``test_batch.bin``. Each is a run of records of
3073 bytes: one label byte (0-9), then 3072 pixel bytes, the 1024 red values, the 1024 green and
the 1024 blue, each plane row-major 32x32. The official files hold 10,000 records each; smaller
files in the same format are accepted. The store keeps pixels channels-last, so each record's
three planes are interleaved into (32, 32, 3).

Checksums: no per-file digest of the official ``.bin`` files could be confirmed. What is known is
the git blob id (sha1 of ``b"blob <len>\\0" + content``) of each file *as committed in a public
repository* (JanHalozan/ConvolutionalNeuralNetwork), presumably the official files but
unconfirmed. The import compares with those ids and says so in exactly those words.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from glorotcli.data.store import ImportResult, write_import
from glorotcli.errors import GlorotError
from glorotcli.fileio import (
    Checksum,
    InputFile,
    check_output_path,
    looks_like,
    nested_folder,
    read_input,
)
from glorotcli.progress import Progress, no_progress

CLASS_NAMES = ["airplane", "automobile", "bird", "cat", "deer",
               "dog", "frog", "horse", "ship", "truck"]
SIDE = 32
RECORD = 1 + 3 * SIDE * SIDE  # 3073 bytes
TRAIN_FILES = [f"data_batch_{i}.bin" for i in range(1, 6)]
TEST_FILE = "test_batch.bin"
SUBFOLDER = "cifar-10-batches-bin"  # what the official tarball unpacks to
RELEASE = ("the git blob ids of CIFAR-10 as committed in a public repository "
           "(unconfirmed as official)")

# Git blob ids of the six files as committed in the GitHub repository
# JanHalozan/ConvolutionalNeuralNetwork (cifar-10-batches-bin/). Presumably the official files;
# NOT confirmed against an official digest (the official page publishes only the tarball's md5).
COMMITTED_BLOB_SHA1 = {
    "data_batch_1.bin": "da09f891072747be90e69e4f00ba7cba870dc87e",
    "data_batch_2.bin": "7e958840b7a55df3353574298ebc9ca0e4bba48e",
    "data_batch_3.bin": "5259a3e9674ffdf2d5c33a1067f7192ff06c9e2f",
    "data_batch_4.bin": "301e7d16d78428f13262e87a5bc78ed45b8224aa",
    "data_batch_5.bin": "51fe428dfbdd065852912743ae8b7b63bb1e9d8d",
    "test_batch.bin": "e3f3b4653f18f27ada1558cabc3352a3ed1b25cc",
}


def find_cifar_files(folder: str | os.PathLike) -> dict[str, Path]:
    """The paths of the six batch files (official name -> path), ``.bin`` or ``.bin.gz``.

    ``folder`` may be the ``cifar-10-batches-bin`` folder itself or the folder holding it.
    Raises GlorotError for a missing folder, the downloaded archive itself, a file, an empty
    folder, CIFAR-10's python (pickled) version, a missing batch file, or a batch file unpacked
    into a folder of its own.
    """
    folder = Path(folder)
    if not folder.exists():
        raise GlorotError(f"{folder}: no such folder")
    if folder.is_file() and folder.name.endswith((".tar.gz", ".tgz", ".tar")):
        raise GlorotError(f"{folder}: is the downloaded archive; unpack it first (tar xzf "
                          f"{folder.name}) and give the {SUBFOLDER} folder it makes")
    if not folder.is_dir():
        raise GlorotError(f"{folder}: is not a folder (expected the folder holding "
                          "data_batch_1.bin ... data_batch_5.bin and test_batch.bin)")
    if not any(folder.iterdir()):
        raise GlorotError(f"{folder}: folder is empty, expected the six CIFAR-10 binary batch "
                          "files (data_batch_1.bin ... data_batch_5.bin, test_batch.bin)")
    if not (folder / TRAIN_FILES[0]).exists() and (folder / SUBFOLDER).is_dir():
        folder = folder / SUBFOLDER
    if not (folder / TRAIN_FILES[0]).exists() and (
            (folder / "data_batch_1").is_file() or (folder / "cifar-10-batches-py").is_dir()):
        raise GlorotError(f"{folder}: holds the CIFAR-10 python version (pickled batches); "
                          f"glorot reads the binary version, cifar-10-binary.tar.gz from "
                          f"https://www.cs.toronto.edu/~kriz/cifar.html (it never unpickles "
                          f"files)")
    found: dict[str, Path] = {}
    for name in [*TRAIN_FILES, TEST_FILE]:
        hit = next((folder / n for n in (name, name + ".gz") if (folder / n).is_file()), None)
        if hit is None:
            nested_folder(folder, [name, name + ".gz"])
            raise GlorotError(f"{folder}: {name} is missing (also looked for {name}.gz)")
        found[name] = hit
    return found


def check_cifar_file(name: str, f: InputFile) -> Checksum:
    """Compare the git blob id (sha1) of the (decompressed) content of batch ``name`` with the
    one committed in a public repository (``COMMITTED_BLOB_SHA1``; unconfirmed as official).
    Returns a ``Checksum`` (``expected`` None for an unknown name); never raises."""
    return Checksum(f.path.name, "git blob sha1", f.git_blob_sha1, COMMITTED_BLOB_SHA1.get(name))


def parse_batch(f: InputFile) -> tuple[np.ndarray, np.ndarray]:
    """``(x, y)`` of one batch file: x (N, 32*32*3) uint8 channels-last (a new contiguous
    array, pixels 0-255 as stored), y (N,) uint8 labels 0-9. Raises GlorotError for an empty
    file, a file that seems to be something else (``looks_like``), a size that is not a
    multiple of the 3073-byte record, or a label above 9."""
    data, name = f.data, f.path
    if len(data) == 0:
        raise GlorotError(f"{name}: file is empty, expected CIFAR-10 records of {RECORD} bytes")
    seems = looks_like(data)  # a record starts with its label, 0-9: never one of these
    if seems:
        raise GlorotError(f"{name}: not a CIFAR-10 batch: {seems}")
    if len(data) % RECORD:
        raise GlorotError(f"{name}: size {len(data)} bytes is not a multiple of the "
                          f"{RECORD}-byte CIFAR-10 record (truncated? {len(data) // RECORD} "
                          f"whole records and {len(data) % RECORD} bytes left over)")
    records = np.frombuffer(data, dtype=np.uint8).reshape(-1, RECORD)
    y = records[:, 0].copy()
    if int(y.max()) > 9:
        bad = int(np.argmax(y > 9))
        raise GlorotError(f"{name}: label {int(y[bad])} in record {bad}, expected 0-9 "
                          "(not a CIFAR-10 binary batch? CIFAR-100 records are 3074 bytes)")
    # (N, C, H, W) planes -> (N, H, W, C) channels-last, flattened.
    x = records[:, 1:].reshape(-1, 3, SIDE, SIDE).transpose(0, 2, 3, 1).reshape(len(y), -1)
    return np.ascontiguousarray(x), y


def import_cifar10(
    folder: str | os.PathLike,
    output: str | os.PathLike,
    *,
    valid: int = 10000,
    force: bool = False,
    strict: bool = False,
    progress: Progress = no_progress,
) -> ImportResult:
    """Read the six CIFAR-10 binary batches in ``folder`` and write the dataset file ``output``.

    Training examples are data_batch_1 ... data_batch_5 in order; the validation split is the
    last ``valid`` of them (all of data_batch_5 by default: the paper's 40,000 / 10,000 /
    10,000 of §2.2); the test split is test_batch. Pixels are stored uint8 (N, 3072),
    channels last. With ``strict``, a file whose git blob id differs from the committed one is
    an error; otherwise the mismatch is only reported in the result. ``progress`` hears bytes
    read and rows written.

    Returns an ``ImportResult``. Raises GlorotError for ``valid`` < 0 or not below the number
    of training examples found (50,000 in the official files), an existing ``output`` without
    ``force`` or an unwritable folder, missing or malformed batch files (``find_cifar_files``,
    ``parse_batch``), a checksum mismatch with ``strict``, or a failed write.
    """
    if valid < 0:
        raise GlorotError(f"--valid must be 0 or more, got {valid}")
    output = check_output_path(output, force)
    paths = find_cifar_files(folder)
    checksums: list[Checksum] = []
    parsed: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    sources: dict[str, str] = {}
    for name, path in paths.items():  # one file at a time: only its bytes are held twice
        f = read_input(path, progress)
        checksums.append(check_cifar_file(name, f))
        c = checksums[-1]
        if strict and not c.ok:
            raise GlorotError(f"{c.mismatch(RELEASE)}; refusing because of --strict")
        sources[f.path.name] = f.sha256
        parsed[name] = parse_batch(f)
        del f
    x_train = np.concatenate([parsed[n][0] for n in TRAIN_FILES])
    y_train = np.concatenate([parsed[n][1] for n in TRAIN_FILES])
    x_test, y_test = parsed.pop(TEST_FILE)
    parsed.clear()
    return write_import(output, kind="cifar10", image_shape=(SIDE, SIDE, 3),
                        class_names=CLASS_NAMES, train=(x_train, y_train),
                        test=(x_test, y_test), valid=valid,
                        train_what="the training set (data_batch_1 ... data_batch_5)",
                        folder=folder, checksums=checksums, release=RELEASE, sources=sources,
                        force=force, progress=progress)
