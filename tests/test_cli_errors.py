"""Bad input to `glorot import` and `glorot inspect`: one line on stderr naming the file, field or
flag, exit status 2, no traceback, and nothing left at the output path or in its folder."""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import h5py
import numpy as np
import pytest
from reference import cifar_bytes, idx_bytes

MNIST = {
    "train-images-idx3-ubyte": (30, 28, 28),
    "train-labels-idx1-ubyte": (30,),
    "t10k-images-idx3-ubyte": (10, 28, 28),
    "t10k-labels-idx1-ubyte": (10,),
}
CIFAR = [f"data_batch_{i}.bin" for i in range(1, 6)] + ["test_batch.bin"]


def tiny_mnist(folder: Path) -> Path:
    rng = np.random.default_rng(0)
    folder.mkdir(parents=True, exist_ok=True)
    for name, shape in MNIST.items():
        hi = 10 if len(shape) == 1 else 256
        (folder / name).write_bytes(idx_bytes(rng.integers(0, hi, shape, dtype=np.uint8)))
    return folder


def tiny_cifar(folder: Path, per_file: int = 2) -> Path:
    rng = np.random.default_rng(0)
    folder.mkdir(parents=True, exist_ok=True)
    for name in CIFAR:
        y = rng.integers(0, 10, per_file)
        x = rng.integers(0, 256, (per_file, 32, 32, 3), dtype=np.uint8)
        (folder / name).write_bytes(cifar_bytes(y, x))
    return folder


@pytest.fixture
def check(run_cli, tmp_path):
    """Run the command; assert exit 2, one stderr line containing every ``expect`` string, no
    traceback, nothing on stdout, and no file left in the output folder ``tmp_path/out``."""
    out_dir = tmp_path / "out"
    out_dir.mkdir()

    def run(args, *expect, keep=()):
        before = {p.name: p.read_bytes() for p in out_dir.iterdir()}
        code, out, err = run_cli(*args)
        lines = err.strip().splitlines()
        assert code == 2, (code, err)
        assert len(lines) == 1, err
        assert lines[0].startswith("glorot: error: "), err
        assert "Traceback" not in err and out == ""
        for text in expect:
            assert str(text) in lines[0], (text, lines[0])
        after = {p.name: p.read_bytes() for p in out_dir.iterdir()}
        assert after == before  # nothing new (no temp file either), nothing changed
        return lines[0]

    run.out = out_dir
    return run


# ---------------------------------------------------------------- counts ----

def test_negative_valid_is_refused(check, tmp_path):
    src = tiny_mnist(tmp_path / "in")
    check(["import", "mnist", src, "-o", check.out / "m.h5", "--valid", "-1"], "--valid", "-1")


@pytest.mark.parametrize("valid", ["30", "31"])
def test_valid_as_large_as_the_training_set_is_refused(check, tmp_path, valid):
    src = tiny_mnist(tmp_path / "in")
    check(["import", "mnist", src, "-o", check.out / "m.h5", "--valid", valid],
          f"--valid {valid}", "train-images-idx3-ubyte", "(30)")


def test_cifar_valid_as_large_as_the_training_set_is_refused(check, tmp_path):
    src = tiny_cifar(tmp_path / "in")
    check(["import", "cifar10", src, "-o", check.out / "c.h5", "--valid", "10"],
          "--valid 10", "(10)")


def test_zero_or_negative_montage_count_is_refused(check, tmp_path):
    d = _dataset(tmp_path / "d.h5")
    check(["inspect", d, "--montage", check.out / "m.png", "--count", "0"], "--count", "0")


# ---------------------------------------------------------------- output path ----

def test_existing_output_is_kept_without_force(check, tmp_path):
    src = tiny_mnist(tmp_path / "in")
    (check.out / "m.h5").write_bytes(b"precious")
    check(["import", "mnist", src, "-o", check.out / "m.h5", "--valid", "5"],
          "m.h5", "already exists", "--force")
    assert (check.out / "m.h5").read_bytes() == b"precious"


def test_missing_output_folder_is_refused(check, tmp_path):
    src = tiny_mnist(tmp_path / "in")
    check(["import", "mnist", src, "-o", check.out / "nope" / "m.h5", "--valid", "5"],
          "nope", "does not exist")


def _unwritable_folder(tmp_path: Path) -> Path:
    """A folder this process cannot write to (root ignores permission bits; then try /proc/sys)."""
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    if not os.access(folder, os.W_OK):
        return folder
    if Path("/proc/sys").is_dir() and not os.access("/proc/sys", os.W_OK):
        return Path("/proc/sys")
    pytest.skip("no unwritable folder available to this user")


def test_unwritable_output_folder_is_refused(check, tmp_path):
    src = tiny_mnist(tmp_path / "in")
    folder = _unwritable_folder(tmp_path)
    try:
        check(["import", "mnist", src, "-o", folder / "m.h5", "--valid", "5"],
              str(folder), "not writable")
        assert not (folder / "m.h5").exists()
        if folder.parent == tmp_path:
            assert list(folder.iterdir()) == []
    finally:
        if folder.parent == tmp_path:
            folder.chmod(0o700)


# ---------------------------------------------------------------- input folder and files ----

@pytest.mark.parametrize("kind", ["mnist", "cifar10"])
def test_missing_input_folder_is_named(check, tmp_path, kind):
    check(["import", kind, tmp_path / "nowhere", "-o", check.out / "x.h5"],
          "nowhere", "no such folder")


@pytest.mark.parametrize("kind", ["mnist", "cifar10"])
def test_empty_input_folder_is_named(check, tmp_path, kind):
    (tmp_path / "empty").mkdir()
    check(["import", kind, tmp_path / "empty", "-o", check.out / "x.h5"], "empty",
          "folder is empty")


def test_a_file_instead_of_a_folder_is_named(check, tmp_path):
    (tmp_path / "f.txt").write_text("x")
    check(["import", "mnist", tmp_path / "f.txt", "-o", check.out / "x.h5"], "f.txt",
          "not a folder")


@pytest.mark.parametrize("name", list(MNIST))
def test_each_missing_mnist_file_is_named(check, tmp_path, name):
    src = tiny_mnist(tmp_path / "in")
    (src / name).unlink()
    check(["import", "mnist", src, "-o", check.out / "m.h5", "--valid", "5"], name, "missing")


def test_a_missing_cifar_batch_is_named(check, tmp_path):
    src = tiny_cifar(tmp_path / "in")
    (src / "data_batch_3.bin").unlink()
    check(["import", "cifar10", src, "-o", check.out / "c.h5", "--valid", "2"],
          "data_batch_3.bin", "missing")


def test_wrong_idx_magic_is_named(check, tmp_path):
    src = tiny_mnist(tmp_path / "in")
    f = src / "t10k-labels-idx1-ubyte"
    f.write_bytes(b"\x00\x00\x08\x03" + f.read_bytes()[4:])
    check(["import", "mnist", src, "-o", check.out / "m.h5", "--valid", "5"],
          "t10k-labels-idx1-ubyte", "magic number 0x00000803", "0x00000801")


def test_images_and_labels_swapped_is_a_magic_error(check, tmp_path):
    src = tiny_mnist(tmp_path / "in")
    a, b = src / "train-images-idx3-ubyte", src / "train-labels-idx1-ubyte"
    da, db = a.read_bytes(), b.read_bytes()
    a.write_bytes(db)
    b.write_bytes(da)
    check(["import", "mnist", src, "-o", check.out / "m.h5", "--valid", "5"],
          "train-images-idx3-ubyte", "magic")


@pytest.mark.parametrize("name, cut", [("train-images-idx3-ubyte", 1),
                                       ("train-labels-idx1-ubyte", 3),
                                       ("t10k-images-idx3-ubyte", 784)])
def test_truncated_idx_payload_is_named(check, tmp_path, name, cut):
    src = tiny_mnist(tmp_path / "in")
    f = src / name
    f.write_bytes(f.read_bytes()[:-cut])
    check(["import", "mnist", src, "-o", check.out / "m.h5", "--valid", "5"], name, "truncated")


def test_idx_header_cut_short_is_named(check, tmp_path):
    src = tiny_mnist(tmp_path / "in")
    (src / "t10k-images-idx3-ubyte").write_bytes(b"\x00\x00\x08\x03\x00\x00")
    check(["import", "mnist", src, "-o", check.out / "m.h5", "--valid", "5"],
          "t10k-images-idx3-ubyte", "too short")


def test_empty_idx_file_is_named(check, tmp_path):
    src = tiny_mnist(tmp_path / "in")
    (src / "train-labels-idx1-ubyte").write_bytes(b"")
    check(["import", "mnist", src, "-o", check.out / "m.h5", "--valid", "5"],
          "train-labels-idx1-ubyte", "empty")


def test_truncated_gzip_is_named(check, tmp_path):
    src = tiny_mnist(tmp_path / "in")
    f = src / "train-images-idx3-ubyte"
    gz = gzip.compress(f.read_bytes())
    f.unlink()
    (src / "train-images-idx3-ubyte.gz").write_bytes(gz[: len(gz) // 2])
    check(["import", "mnist", src, "-o", check.out / "m.h5", "--valid", "5"],
          "train-images-idx3-ubyte.gz", "truncated gzip")


def test_labels_beyond_nine_are_named(check, tmp_path):
    src = tiny_mnist(tmp_path / "in")
    (src / "t10k-labels-idx1-ubyte").write_bytes(idx_bytes(np.full(10, 12, np.uint8)))
    check(["import", "mnist", src, "-o", check.out / "m.h5", "--valid", "5"],
          "t10k-labels-idx1-ubyte", "label 12")


def test_image_and_label_counts_must_agree(check, tmp_path):
    src = tiny_mnist(tmp_path / "in")
    (src / "t10k-labels-idx1-ubyte").write_bytes(idx_bytes(np.zeros(9, np.uint8)))
    check(["import", "mnist", src, "-o", check.out / "m.h5", "--valid", "5"],
          "t10k-images-idx3-ubyte", "10 images", "9 labels")


@pytest.mark.parametrize("cut", [1, 3072, 3074])
def test_cifar_size_not_a_multiple_of_the_record_is_named(check, tmp_path, cut):
    src = tiny_cifar(tmp_path / "in", per_file=3)
    f = src / "test_batch.bin"
    f.write_bytes(f.read_bytes()[:-cut])
    check(["import", "cifar10", src, "-o", check.out / "c.h5", "--valid", "2"],
          "test_batch.bin", "not a multiple of the 3073-byte")


def test_empty_cifar_file_is_named(check, tmp_path):
    src = tiny_cifar(tmp_path / "in")
    (src / "data_batch_2.bin").write_bytes(b"")
    check(["import", "cifar10", src, "-o", check.out / "c.h5", "--valid", "2"],
          "data_batch_2.bin", "empty")


def test_cifar_label_beyond_nine_is_named(check, tmp_path):
    src = tiny_cifar(tmp_path / "in")
    f = src / "data_batch_4.bin"
    data = bytearray(f.read_bytes())
    data[3073] = 57  # label of the second record
    f.write_bytes(bytes(data))
    check(["import", "cifar10", src, "-o", check.out / "c.h5", "--valid", "2"],
          "data_batch_4.bin", "label 57", "record 1")


# ---------------------------------------------------------------- checksums ----

def test_checksum_mismatch_with_strict_refuses_mnist(check, tmp_path):
    src = tiny_mnist(tmp_path / "in")
    check(["import", "mnist", src, "-o", check.out / "m.h5", "--valid", "5", "--strict"],
          "train-images-idx3-ubyte", "official MNIST", "--strict", "and 3 more")


def test_checksum_mismatch_with_strict_refuses_cifar(check, tmp_path):
    src = tiny_cifar(tmp_path / "in")
    check(["import", "cifar10", src, "-o", check.out / "c.h5", "--valid", "2", "--strict"],
          "data_batch_1.bin", "git blob", "unconfirmed", "--strict")


# ---------------------------------------------------------------- inspect ----

def _dataset(path: Path) -> Path:
    from glorotcli.data.store import write_dataset

    x = np.zeros((4, 4), np.uint8)
    y = np.array([0, 1, 0, 1], np.uint8)
    return write_dataset(path, kind="mnist", image_shape=(2, 2, 1), class_names=["a", "b"],
                         splits={"train": (x, y)})


def test_inspect_of_a_non_hdf5_file_says_not_a_glorot_file(check, tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    check(["inspect", tmp_path / "notes.txt"], "notes.txt", "not a glorot file", "not an HDF5")


def test_inspect_of_hdf5_without_attributes_says_not_a_glorot_file(check, tmp_path):
    with h5py.File(tmp_path / "other.h5", "w") as f:
        f["data"] = np.arange(3)
    check(["inspect", tmp_path / "other.h5"], "other.h5", "not a glorot file", "'format'")


def test_inspect_of_hdf5_with_a_foreign_format_says_not_a_glorot_file(check, tmp_path):
    with h5py.File(tmp_path / "other.h5", "w") as f:
        f.attrs["format"] = "keras"
    check(["inspect", tmp_path / "other.h5"], "other.h5", "not a glorot file", "keras")


def test_inspect_of_a_missing_file_is_named(check, tmp_path):
    check(["inspect", tmp_path / "ghost.h5"], "ghost.h5", "no such file")


def test_inspect_of_a_dataset_missing_an_attribute_names_it(check, tmp_path):
    d = _dataset(tmp_path / "d.h5")
    with h5py.File(d, "a") as f:
        del f.attrs["class_names"]
    check(["inspect", d], "d.h5", "class_names")


def test_inspect_of_a_newer_dataset_version_is_refused(check, tmp_path):
    d = _dataset(tmp_path / "d.h5")
    with h5py.File(d, "a") as f:
        f.attrs["format_version"] = 7
    check(["inspect", d], "d.h5", "format_version 7")


def test_montage_must_be_a_png_name(check, tmp_path):
    d = _dataset(tmp_path / "d.h5")
    check(["inspect", d, "--montage", check.out / "m.jpg"], "--montage", "m.jpg", ".png")


def test_existing_montage_is_kept_without_force(check, tmp_path):
    d = _dataset(tmp_path / "d.h5")
    (check.out / "m.png").write_bytes(b"old picture")
    check(["inspect", d, "--montage", check.out / "m.png"], "m.png", "already exists")
