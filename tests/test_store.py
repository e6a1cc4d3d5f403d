"""The dataset file (glorotcli/data/store.py) and the file helpers (glorotcli/fileio.py)."""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import tempfile

import h5py
import numpy as np
import pytest

from glorotcli.data.store import (
    dataset_info,
    read_dataset,
    split_valid_from_end,
    write_dataset,
)
from glorotcli.errors import GlorotError
from glorotcli.fileio import atomic_output, glorot_file_format, read_input


def _tiny(n=12, shape=(4, 5, 1), seed=0):
    rng = np.random.default_rng(seed)
    d = int(np.prod(shape))
    x = rng.integers(0, 256, size=(n, d), dtype=np.uint8)
    y = (np.arange(n) % 3).astype(np.uint8)
    return x, y


def _write(path, **kw):
    x, y = _tiny()
    args = dict(kind="mnist", image_shape=(4, 5, 1), class_names=["a", "b", "c"],
                splits={"train": (x, y), "test": (x[:5], y[:5])},
                params={"p": 1}, sources={"f.gz": "00"})
    args.update(kw)
    return write_dataset(path, **args), x, y


def test_dataset_round_trip_keeps_pixels_labels_and_attributes(tmp_path):
    path, x, y = _write(tmp_path / "d.h5")
    ds = read_dataset(path)
    assert ds.kind == "mnist" and ds.image_shape == (4, 5, 1) and ds.n_classes == 3
    assert ds.class_names == ["a", "b", "c"] and ds.input_size == 20
    assert ds.params == {"p": 1} and ds.sources == {"f.gz": "00"}
    np.testing.assert_array_equal(ds.splits["train"].x, x)
    np.testing.assert_array_equal(ds.splits["train"].y, y)
    np.testing.assert_array_equal(ds.splits["test"].x, x[:5])
    assert list(ds.splits) == ["train", "test"]


def test_write_reports_progress_per_split_and_compresses_in_chunks(tmp_path):
    seen = []
    x = np.zeros((3000, 784), np.uint8)
    y = np.zeros(3000, np.uint8)
    write_dataset(tmp_path / "d.h5", kind="mnist", image_shape=(28, 28, 1),
                  class_names=list("0123456789"), splits={"train": (x, y)},
                  progress=lambda task, done, total, **kw: seen.append((task, done, total)))
    assert seen[-1] == ("write train", 3000, 3000)
    assert all(t == "write train" for t, _, _ in seen) and len(seen) >= 1
    with h5py.File(tmp_path / "d.h5") as f:
        assert f["train/x"].compression == "gzip" and f["train/x"].chunks[1] == 784


def test_output_file_gets_the_usual_permissions_not_mkstemp_0600(tmp_path):
    path, _, _ = _write(tmp_path / "d.h5")
    mask = os.umask(0)
    os.umask(mask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~mask


def test_write_refuses_to_overwrite_without_force_and_leaves_file_untouched(tmp_path):
    path = tmp_path / "d.h5"
    path.write_bytes(b"keep me")
    with pytest.raises(GlorotError, match="already exists"):
        _write(path)
    assert path.read_bytes() == b"keep me"
    _write(path, force=True)
    assert read_dataset(path).kind == "mnist"


def test_failed_write_leaves_neither_output_nor_temporary_file(tmp_path):
    class Boom(Exception):
        pass

    with pytest.raises(Boom), atomic_output(tmp_path / "out.h5") as tmp:
        tmp.write_bytes(b"half")
        raise Boom
    assert list(tmp_path.iterdir()) == []


def test_temp_file_creation_failure_is_a_one_line_glorot_error(tmp_path, monkeypatch):
    def refuse(*a, **k):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(tempfile, "mkstemp", refuse)
    with pytest.raises(GlorotError, match="cannot create a file there"):
        _write(tmp_path / "d.h5")


def test_split_valid_from_end_takes_the_last_examples():
    x = np.arange(10, dtype=np.uint8).reshape(10, 1)
    y = np.arange(10, dtype=np.uint8)
    s = split_valid_from_end(x, y, 3)
    np.testing.assert_array_equal(s["train"][1], np.arange(7))
    np.testing.assert_array_equal(s["valid"][1], [7, 8, 9])
    assert list(split_valid_from_end(x, y, 0)) == ["train"]
    for bad in (-1, 10, 11):
        with pytest.raises(GlorotError, match="--valid"):
            split_valid_from_end(x, y, bad)


def test_dataset_info_counts_classes_and_pixel_range(tmp_path):
    path, x, y = _write(tmp_path / "d.h5")
    info = dataset_info(path)
    json.dumps(info)  # JSON-ready
    tr = info["splits"]["train"]
    assert tr["n"] == 12 and tr["class_counts"] == [4, 4, 4]
    assert tr["pixel_min"] == int(x.min()) and tr["pixel_max"] == int(x.max())
    assert tr["pixel_mean"] == pytest.approx(x.mean())
    assert tr["majority_error"] == pytest.approx(8 / 12)
    assert info["splits"]["test"]["class_counts"] == [2, 2, 1]


@pytest.mark.parametrize("attr, value, message", [
    ("format", "other", "not a glorot dataset"),
    ("format_version", 99, "newer than this glorot"),
    ("n_classes", 7, "n_classes=7"),
    ("image_shape", np.array([4, 5]), "image_shape"),
    ("class_names", "[not json", "JSON attribute is corrupt"),
])
def test_read_dataset_names_the_bad_attribute(tmp_path, attr, value, message):
    path, _, _ = _write(tmp_path / "d.h5")
    with h5py.File(path, "a") as f:
        f.attrs[attr] = value
    with pytest.raises(GlorotError, match=message):
        read_dataset(path)


def test_read_dataset_rejects_labels_beyond_the_classes(tmp_path):
    path, _, _ = _write(tmp_path / "d.h5")
    with h5py.File(path, "a") as f:
        f["train/y"][0] = 3
    with pytest.raises(GlorotError, match="label 3"):
        read_dataset(path)


def test_read_input_gunzips_by_content_and_gives_digests(tmp_path):
    content = bytes(range(256)) * 5
    plain, gz = tmp_path / "a.bin", tmp_path / "a.weird-name"
    plain.write_bytes(content)
    gz.write_bytes(gzip.compress(content))
    p, g = read_input(plain), read_input(gz)
    assert not p.gzipped and g.gzipped and p.data == g.data == content
    assert p.sha256 == hashlib.sha256(content).hexdigest() == g.content_sha256
    assert g.sha256 == hashlib.sha256(gz.read_bytes()).hexdigest()
    blob = hashlib.sha1(b"blob %d\0" % len(content) + content).hexdigest()
    assert p.git_blob_sha1 == g.git_blob_sha1 == blob


def test_git_blob_sha1_matches_git_for_a_known_file(tmp_path):
    # `printf 'hello\n' | git hash-object --stdin` = ce01362503...
    (tmp_path / "h").write_bytes(b"hello\n")
    assert read_input(tmp_path / "h").git_blob_sha1 == "ce013625030ba8dba906f756967f9e9ca394464a"


def test_read_input_reports_truncated_and_corrupt_gzip(tmp_path):
    gz = gzip.compress(b"x" * 10000)
    (tmp_path / "t.gz").write_bytes(gz[: len(gz) // 2])
    with pytest.raises(GlorotError, match="t.gz: truncated gzip"):
        read_input(tmp_path / "t.gz")
    bad = bytearray(gz)
    bad[-6] ^= 0xFF  # inside the CRC32 / size trailer
    (tmp_path / "c.gz").write_bytes(bytes(bad))
    with pytest.raises(GlorotError, match="c.gz: not a valid gzip file"):
        read_input(tmp_path / "c.gz")


def test_glorot_file_format_tells_dataset_from_run_from_foreign(tmp_path):
    path, _, _ = _write(tmp_path / "d.h5")
    assert glorot_file_format(path) == "glorot-dataset"
    with h5py.File(tmp_path / "r.h5", "w") as f:
        f.attrs["format"] = "glorot-run"
    assert glorot_file_format(tmp_path / "r.h5") == "glorot-run"
    (tmp_path / "t.txt").write_text("hello")
    with pytest.raises(GlorotError, match="not a glorot file .not an HDF5 file"):
        glorot_file_format(tmp_path / "t.txt")
    with h5py.File(tmp_path / "bare.h5", "w") as f:
        f["a"] = 1
    with pytest.raises(GlorotError, match="HDF5 without a 'format' attribute"):
        glorot_file_format(tmp_path / "bare.h5")


def test_glorot_file_format_finds_the_signature_after_a_user_block(tmp_path):
    with h5py.File(tmp_path / "ub.h5", "w", userblock_size=512) as f:
        f.attrs["format"] = "glorot-dataset"
    assert glorot_file_format(tmp_path / "ub.h5") == "glorot-dataset"


def test_glorot_file_format_reads_a_run_file_while_its_writer_holds_it_open(tmp_path):
    import subprocess
    import sys

    path = tmp_path / "live.h5"
    f = h5py.File(path, "w", libver="latest")
    f.attrs["format"] = "glorot-run"
    f.create_dataset("step", shape=(0,), maxshape=(None,), dtype="i8")
    f.swmr_mode = True  # as the run writer does while training
    try:
        code = ("import sys; from glorotcli.fileio import glorot_file_format; "
                "print(glorot_file_format(sys.argv[1]))")
        r = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True,
                           text=True, timeout=60)
    finally:
        f.close()
    assert r.returncode == 0 and r.stdout.strip() == "glorot-run", r.stderr


def test_ctrl_c_during_a_dataset_write_is_not_lost_and_leaves_no_file(tmp_path):
    # A SIGINT that lands inside HDF5's C code surfaces in one of h5py's weakref callbacks,
    # where Python drops it ("Exception ignored"). The progress callback plays that part here:
    # it receives the signal and swallows the KeyboardInterrupt. The write must stop anyway.
    import signal
    import time

    def progress(task, done, total, **kw):
        try:
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.05)
        except KeyboardInterrupt:
            pass

    path = tmp_path / "d.h5"
    with pytest.raises(KeyboardInterrupt):
        _write(path, progress=progress)
    assert list(tmp_path.iterdir()) == []
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_sigterm_during_a_dataset_write_removes_the_temporary_file(tmp_path):
    import subprocess
    import sys
    import textwrap

    script = textwrap.dedent(f"""
        import os, signal, time
        import numpy as np
        from glorotcli.data.store import write_dataset
        x = np.zeros((4000, 784), np.uint8)
        def progress(task, done, total, **kw):
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(0.05)
        try:
            write_dataset({str(tmp_path / "d.h5")!r}, kind="mnist", image_shape=(28, 28, 1),
                          class_names=list("0123456789"),
                          splits={{"train": (x, np.zeros(4000, np.uint8))}}, progress=progress)
        except KeyboardInterrupt:
            raise SystemExit(130)
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=60)
    assert done.returncode == 130, done.stderr.decode()[-500:]
    assert list(tmp_path.iterdir()) == []
