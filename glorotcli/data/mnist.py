"""MNIST: read the four official IDX files (gzipped or plain) into a glorot dataset file.

IDX is big-endian: a 4-byte magic number (0x00000803 = 2051 for images, 0x00000801 = 2049 for
labels), one 4-byte count per dimension, then uint8 values, row-major. Images are 28x28, 0 =
background, 255 = ink; labels are the digits 0-9.

Every input file is compared with the digests of the official release: the sha256 of the ``.gz``
as distributed, or, for a plain (already gunzipped) file, the sha256 of its content. A ``.gz``
whose wrapper differs but whose content matches (recompressed by another tool) also counts as a
match, compared by content. The comparison is reported, and ``strict`` turns a mismatch into an
error before anything is written.
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

CLASS_NAMES = [str(d) for d in range(10)]
IMAGE_MAGIC = 0x00000803  # 2051: unsigned bytes, 3 dimensions
LABEL_MAGIC = 0x00000801  # 2049: unsigned bytes, 1 dimension
RELEASE = "the official MNIST release"

# role -> official base name. The gzip headers of the official files store the dotted spelling
# ("train-images.idx3-ubyte"), which some unzip tools use; both are accepted.
FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}

# sha256 of the official files: (of the .gz as distributed, of the decompressed content).
# The .gz digests correspond to the md5s the files are known by (f68b3c2d..., d53e105e...,
# 9fb629c4..., ec29112d...); see docs/formats.md, "Dataset file".
OFFICIAL_SHA256 = {
    "train-images-idx3-ubyte": (
        "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
        "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    ),
    "train-labels-idx1-ubyte": (
        "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
        "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    ),
    "t10k-images-idx3-ubyte": (
        "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
        "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    ),
    "t10k-labels-idx1-ubyte": (
        "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
        "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
    ),
}


def _spellings(base: str) -> list[str]:
    """The accepted names of one file, in order of preference."""
    dotted = base.replace("-idx", ".idx")
    return [base + ".gz", dotted + ".gz", base, dotted]


def find_mnist_files(folder: str | os.PathLike) -> dict[str, Path]:
    """The paths of the four IDX files in ``folder``: {"train_images", "train_labels",
    "test_images", "test_labels"} -> path, each under one of its accepted names (``.gz`` or
    plain, dashed or dotted). Raises GlorotError for a missing folder, a file, an empty folder,
    a missing file, or an expected file unpacked into a folder of its own."""
    folder = Path(folder)
    if not folder.exists():
        raise GlorotError(f"{folder}: no such folder")
    if not folder.is_dir():
        raise GlorotError(f"{folder}: is not a folder (expected the folder holding the four "
                          "MNIST IDX files)")
    if not any(folder.iterdir()):
        raise GlorotError(f"{folder}: folder is empty, expected the four MNIST IDX files "
                          f"({', '.join(b + '.gz' for b in FILES.values())})")
    found: dict[str, Path] = {}
    for role, base in FILES.items():
        names = _spellings(base)
        hit = next((folder / n for n in names if (folder / n).is_file()), None)
        if hit is None:
            nested_folder(folder, names)
            raise GlorotError(f"{folder}: {base}.gz is missing (also looked for "
                              f"{', '.join(names[1:])})")
        found[role] = hit
    return found


def official_name(path: Path) -> str:
    """The official base name of an accepted spelling, without ``.gz``
    ("train-images.idx3-ubyte.gz" -> "train-images-idx3-ubyte")."""
    name = path.name.removesuffix(".gz")
    return name.replace(".idx", "-idx")


def check_mnist_file(f: InputFile) -> Checksum:
    """Compare one input file with the official sha256 digests: of the ``.gz`` as distributed,
    else of the decompressed content (a recompressed ``.gz`` or a plain file). Returns a
    ``Checksum`` (``expected`` None for a name with no known digest); never raises."""
    gz_sha, content_sha = OFFICIAL_SHA256.get(official_name(f.path), (None, None))
    if f.gzipped:
        actual = f.sha256
        if actual == gz_sha or content_sha is None:
            return Checksum(f.path.name, "sha256", actual, gz_sha)
        if f.content_sha256 == content_sha:  # recompressed, same content
            return Checksum(f.path.name, "sha256 of the decompressed content",
                            f.content_sha256, content_sha)
        return Checksum(f.path.name, "sha256", actual, gz_sha)
    return Checksum(f.path.name, "sha256", f.sha256, content_sha)


def parse_idx(f: InputFile, magic: int) -> np.ndarray:
    """The uint8 array an IDX file holds (a read-only view of ``f.data``): (N, rows, cols) for
    images (``IMAGE_MAGIC``), (N,) for labels (``LABEL_MAGIC``), after checking its magic
    number and its length. Raises GlorotError for an empty file, a short header, a wrong magic
    number (naming what the file seems to be, e.g. an HTML page), or a payload shorter or
    longer than the header promises."""
    data, name = f.data, f.path
    ndim = magic & 0xFF
    header = 4 + 4 * ndim
    if len(data) == 0:
        raise GlorotError(f"{name}: file is empty, expected an IDX file")
    if len(data) < header:
        raise GlorotError(f"{name}: too short for an IDX header ({len(data)} bytes, "
                          f"expected at least {header})")
    got = int.from_bytes(data[:4], "big")
    if got != magic:
        seems = looks_like(data)
        if seems:
            raise GlorotError(f"{name}: not an MNIST file: {seems}")
        what = "image (idx3-ubyte)" if magic == IMAGE_MAGIC else "label (idx1-ubyte)"
        raise GlorotError(f"{name}: wrong IDX magic number 0x{got:08x}, expected "
                          f"0x{magic:08x} ({magic}, an MNIST {what} file)")
    dims = tuple(int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    size = int(np.prod(dims))
    payload = len(data) - header
    if payload < size:
        raise GlorotError(f"{name}: truncated: the header promises {size} bytes "
                          f"({' x '.join(map(str, dims))}) but only {payload} follow")
    if payload > size:
        raise GlorotError(f"{name}: {payload - size} bytes more than the header promises "
                          f"({' x '.join(map(str, dims))} = {size}); not an intact IDX file")
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(dims)


def _pair(images: InputFile, labels: InputFile) -> tuple[np.ndarray, np.ndarray]:
    x = parse_idx(images, IMAGE_MAGIC)
    y = parse_idx(labels, LABEL_MAGIC)
    if len(x) != len(y):
        raise GlorotError(f"{images.path.name} holds {len(x)} images but "
                          f"{labels.path.name} holds {len(y)} labels")
    if len(y) == 0:
        raise GlorotError(f"{images.path}: holds no images")
    if int(y.max()) > 9:
        bad = int(np.argmax(y > 9))
        raise GlorotError(f"{labels.path}: label {int(y[bad])} at position {bad}, "
                          "expected digits 0-9")
    return x, y


def import_mnist(
    folder: str | os.PathLike,
    output: str | os.PathLike,
    *,
    valid: int = 10000,
    force: bool = False,
    strict: bool = False,
    progress: Progress = no_progress,
) -> ImportResult:
    """Read the four MNIST IDX files in ``folder`` and write the dataset file ``output``.

    The validation split is the last ``valid`` examples of the training file (the first
    60000 - valid stay for training; the default 10,000 gives the paper's 50,000 / 10,000 /
    10,000 of §2.2); the test split is the t10k files. Pixels are stored as read (uint8, 0 =
    background, (N, 784) for 28x28), labels uint8 0-9. With ``strict``, a file that does not
    match the official digests is an error; otherwise the mismatch is only reported in the
    result (the caller warns). ``progress`` hears bytes read and rows written.

    Returns an ``ImportResult``. Raises GlorotError for ``valid`` < 0 or not below the training
    set's size, an existing ``output`` without ``force`` or an unwritable folder, missing or
    malformed input files (``find_mnist_files``, ``parse_idx``), image and label counts that
    differ, labels above 9, train and test images of different sizes, a checksum mismatch
    with ``strict``, or a failed write.
    """
    if valid < 0:
        raise GlorotError(f"--valid must be 0 or more, got {valid}")
    output = check_output_path(output, force)
    paths = find_mnist_files(folder)
    files = {role: read_input(p, progress) for role, p in paths.items()}
    checksums = [check_mnist_file(f) for f in files.values()]
    bad = [c for c in checksums if not c.ok]
    if strict and bad:
        more = f" (and {len(bad) - 1} more)" if len(bad) > 1 else ""
        raise GlorotError(f"{bad[0].mismatch(RELEASE)}{more}; refusing because of --strict")
    x_train, y_train = _pair(files["train_images"], files["train_labels"])
    x_test, y_test = _pair(files["test_images"], files["test_labels"])
    (rows, cols), (trows, tcols) = x_train.shape[1:], x_test.shape[1:]
    if (rows, cols) != (trows, tcols):
        raise GlorotError(f"{paths['test_images']}: images are {trows}x{tcols} but the "
                          f"training images are {rows}x{cols}")
    x_train, x_test = x_train.reshape(len(x_train), -1), x_test.reshape(len(x_test), -1)
    return write_import(output, kind="mnist", image_shape=(rows, cols, 1),
                        class_names=CLASS_NAMES, train=(x_train, y_train),
                        test=(x_test, y_test), valid=valid,
                        train_what=f"the training set in {paths['train_images'].name}",
                        folder=folder, checksums=checksums, release=RELEASE,
                        sources={f.path.name: f.sha256 for f in files.values()},
                        force=force, progress=progress)
