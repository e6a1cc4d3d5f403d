"""`glorot import mnist`: the real files in shared/data/mnist, and small IDX files written here."""

from __future__ import annotations

import contextlib
import gzip
import io
import shutil

import numpy as np
import pytest
from conftest import MNIST_DIR
from reference import idx_bytes, read_idx_gz

from glorotcli.data.mnist import OFFICIAL_SHA256, import_mnist
from glorotcli.data.store import read_dataset

needs_mnist = pytest.mark.usefixtures("mnist_dir")  # conftest: skipped locally, failed in CI

TEST_LABEL_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
NAMES = ["train-images-idx3-ubyte", "train-labels-idx1-ubyte",
         "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"]


def _main(*args):
    """Run the CLI outside a function-scoped fixture: (exit status, stdout, stderr)."""
    from glorotcli.cli.app import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            main([str(a) for a in args])
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 0
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def real(tmp_path_factory):
    """The full real MNIST imported once for this module (a second or two)."""
    out = tmp_path_factory.mktemp("mnist") / "mnist.h5"
    code, stdout, stderr = _main("import", "mnist", MNIST_DIR, "-o", out)
    assert code == 0, stderr
    return out, stdout, stderr, read_dataset(out)


@needs_mnist
def test_real_mnist_splits_are_50k_10k_10k(real):
    path, stdout, _, ds = real
    assert stdout.strip() == str(path)
    assert {k: len(v) for k, v in ds.splits.items()} == {"train": 50000, "valid": 10000,
                                                         "test": 10000}
    assert ds.kind == "mnist" and ds.image_shape == (28, 28, 1)
    assert ds.class_names == [str(d) for d in range(10)]


@needs_mnist
def test_real_mnist_test_labels_have_the_known_histogram(real):
    ds = real[3]
    assert np.bincount(ds.splits["test"].y, minlength=10).tolist() == TEST_LABEL_COUNTS


@needs_mnist
def test_real_mnist_pixels_equal_a_direct_gzip_numpy_parse(real):
    ds = real[3]
    x = read_idx_gz(MNIST_DIR / "train-images-idx3-ubyte.gz").reshape(60000, 784)
    y = read_idx_gz(MNIST_DIR / "train-labels-idx1-ubyte.gz")
    np.testing.assert_array_equal(ds.splits["train"].x, x[:50000])
    np.testing.assert_array_equal(ds.splits["valid"].x, x[50000:])  # valid = END of train
    np.testing.assert_array_equal(ds.splits["valid"].y, y[50000:])
    np.testing.assert_array_equal(ds.splits["test"].x,
                                  read_idx_gz(MNIST_DIR / "t10k-images-idx3-ubyte.gz")
                                  .reshape(10000, 784))


@needs_mnist
def test_real_mnist_checksums_are_reported_as_official_and_recorded(real):
    _, _, stderr, ds = real
    assert "checksums: all 4 files match the official MNIST release" in stderr
    assert "warning" not in stderr
    assert ds.sources == {n + ".gz": OFFICIAL_SHA256[n][0] for n in NAMES}
    assert set(ds.params["checksums"].values()) == {"match"}


@needs_mnist
def test_plain_files_with_dotted_names_match_the_official_content(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    for n in NAMES:
        dotted = n.replace("-idx", ".idx")
        (src / dotted).write_bytes(gzip.decompress((MNIST_DIR / (n + ".gz")).read_bytes()))
    res = import_mnist(src, tmp_path / "m.h5", valid=5000)
    assert res.counts == {"train": 55000, "valid": 5000, "test": 10000}
    assert not res.mismatches and {c.expected for c in res.checksums} == {
        OFFICIAL_SHA256[n][1] for n in NAMES}


@needs_mnist
def test_a_flipped_byte_in_a_real_file_warns_and_strict_refuses(tmp_path, run_cli):
    src = tmp_path / "in"
    src.mkdir()
    for n in NAMES[:3]:
        shutil.copy(MNIST_DIR / (n + ".gz"), src)
    labels = bytearray(gzip.decompress((MNIST_DIR / "t10k-labels-idx1-ubyte.gz").read_bytes()))
    labels[100] = (labels[100] + 1) % 10  # still a valid digit: only the checksum can tell
    (src / "t10k-labels-idx1-ubyte").write_bytes(bytes(labels))
    code, _, err = run_cli("import", "mnist", src, "-o", tmp_path / "s.h5", "--strict")
    assert code == 2 and "t10k-labels-idx1-ubyte" in err and "--strict" in err
    assert not (tmp_path / "s.h5").exists()
    code, out, err = run_cli("import", "mnist", src, "-o", tmp_path / "w.h5")
    assert code == 0 and out.strip() == str(tmp_path / "w.h5")
    warnings = [ln for ln in err.splitlines() if ln.startswith("warning:")]
    assert len(warnings) == 1 and "t10k-labels-idx1-ubyte" in warnings[0]
    assert read_dataset(tmp_path / "w.h5").splits["test"].y[92] == labels[100]


@needs_mnist
def test_real_mnist_inspect_shows_the_test_histogram(real, run_cli):
    code, out, _ = run_cli("inspect", real[0], "--json")
    import json

    info = json.loads(out)
    assert code == 0 and info["splits"]["test"]["class_counts"] == TEST_LABEL_COUNTS
    assert info["splits"]["train"]["pixel_min"] == 0 and info["splits"]["train"]["pixel_max"] == 255


# ---------------------------------------------------------------- small files written here ----

def write_tiny_mnist(folder, n_train=30, n_test=10, gz=False, seed=0):
    """Four small plain (or gzipped) IDX files with random 28x28 images; returns the arrays."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    arrays = {
        "train-images-idx3-ubyte": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "train-labels-idx1-ubyte": rng.integers(0, 10, n_train, dtype=np.uint8),
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "t10k-labels-idx1-ubyte": rng.integers(0, 10, n_test, dtype=np.uint8),
    }
    for name, a in arrays.items():
        data = idx_bytes(a)
        if gz:
            (folder / (name + ".gz")).write_bytes(gzip.compress(data))
        else:
            (folder / name).write_bytes(data)
    return arrays


@pytest.mark.parametrize("gz", [False, True])
def test_small_idx_files_import_with_valid_from_the_end(tmp_path, gz):
    a = write_tiny_mnist(tmp_path / "in", gz=gz)
    res = import_mnist(tmp_path / "in", tmp_path / "m.h5", valid=7)
    ds = read_dataset(res.path)
    x = a["train-images-idx3-ubyte"].reshape(30, 784)
    y = a["train-labels-idx1-ubyte"]
    np.testing.assert_array_equal(ds.splits["train"].x, x[:23])
    np.testing.assert_array_equal(ds.splits["valid"].x, x[23:])
    np.testing.assert_array_equal(ds.splits["valid"].y, y[23:])
    np.testing.assert_array_equal(ds.splits["test"].y, a["t10k-labels-idx1-ubyte"])
    assert len(res.mismatches) == 4  # random files are not the official ones


def test_valid_zero_makes_no_valid_split(tmp_path):
    write_tiny_mnist(tmp_path / "in")
    ds = read_dataset(import_mnist(tmp_path / "in", tmp_path / "m.h5", valid=0).path)
    assert list(ds.splits) == ["train", "test"] and len(ds.splits["train"]) == 30


def test_small_files_warn_once_per_file_and_still_import(tmp_path, run_cli):
    write_tiny_mnist(tmp_path / "in")
    code, out, err = run_cli("import", "mnist", tmp_path / "in", "-o", tmp_path / "m.h5",
                             "--valid", "5")
    assert code == 0 and out.strip() == str(tmp_path / "m.h5")
    warnings = [ln for ln in err.splitlines() if ln.startswith("warning:")]
    assert len(warnings) == 4 and all("does not match the official MNIST" in w for w in warnings)
    assert "--strict" in warnings[0]
    assert "mnist: train 25, valid 5, test 10" in err


def test_bad_magic_is_named(tmp_path, run_cli):
    a = write_tiny_mnist(tmp_path / "in")
    (tmp_path / "in" / "train-images-idx3-ubyte").write_bytes(
        idx_bytes(a["train-images-idx3-ubyte"], magic=0x00000804))
    code, _, err = run_cli("import", "mnist", tmp_path / "in", "-o", tmp_path / "m.h5",
                           "--valid", "5")
    assert code == 2 and "train-images-idx3-ubyte: wrong IDX magic number 0x00000804" in err


def test_truncated_idx_is_named(tmp_path, run_cli):
    write_tiny_mnist(tmp_path / "in")
    f = tmp_path / "in" / "t10k-images-idx3-ubyte"
    f.write_bytes(f.read_bytes()[:-100])
    code, _, err = run_cli("import", "mnist", tmp_path / "in", "-o", tmp_path / "m.h5",
                           "--valid", "5")
    assert code == 2 and "t10k-images-idx3-ubyte: truncated" in err
    assert "7840 bytes" in err and "7740 follow" in err
