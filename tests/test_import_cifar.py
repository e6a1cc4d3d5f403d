"""`glorot import cifar10` on small files in the official binary format, written here."""

from __future__ import annotations

import gzip

import numpy as np
import pytest
from reference import cifar_bytes

from glorotcli.data.cifar import CLASS_NAMES, COMMITTED_BLOB_SHA1, import_cifar10, parse_batch
from glorotcli.data.store import read_dataset
from glorotcli.fileio import read_input

BATCHES = [f"data_batch_{i}.bin" for i in range(1, 6)] + ["test_batch.bin"]


def write_tiny_cifar(folder, per_file=20, seed=0, gz=False):
    """Six batch files of ``per_file`` random records; returns {name: (labels, images_hwc)}."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    made = {}
    for name in BATCHES:
        y = rng.integers(0, 10, per_file, dtype=np.uint8)
        x = rng.integers(0, 256, (per_file, 32, 32, 3), dtype=np.uint8)
        data = cifar_bytes(y, x)
        if gz:
            (folder / (name + ".gz")).write_bytes(gzip.compress(data))
        else:
            (folder / name).write_bytes(data)
        made[name] = (y, x)
    return made


def test_planes_become_channels_last_pixel_triples(tmp_path):
    rec = bytes([3]) + bytes([1] * 1024 + [2] * 1024 + [3] * 1024)
    (tmp_path / "b.bin").write_bytes(rec * 2)
    x, y = parse_batch(read_input(tmp_path / "b.bin"))
    assert y.tolist() == [3, 3] and x.shape == (2, 3072)
    assert (x.reshape(2, 32 * 32, 3) == [1, 2, 3]).all()


def test_pixel_positions_survive_the_layout_change(tmp_path):
    # Red = row, green = column, blue = row + column: a wrong transpose changes every value.
    r, c = np.mgrid[0:32, 0:32]
    img = np.stack([r, c, r + c], axis=-1).astype(np.uint8)
    (tmp_path / "b.bin").write_bytes(cifar_bytes([9], img[None]))
    x, _ = parse_batch(read_input(tmp_path / "b.bin"))
    np.testing.assert_array_equal(x.reshape(32, 32, 3), img)


@pytest.mark.parametrize("gz", [False, True])
def test_import_concatenates_batches_and_takes_valid_from_the_end(tmp_path, gz):
    made = write_tiny_cifar(tmp_path / "in", gz=gz)
    res = import_cifar10(tmp_path / "in", tmp_path / "c.h5", valid=30)
    ds = read_dataset(res.path)
    assert res.counts == {"train": 70, "valid": 30, "test": 20}
    assert ds.kind == "cifar10" and ds.image_shape == (32, 32, 3)
    assert ds.class_names == CLASS_NAMES == ["airplane", "automobile", "bird", "cat", "deer",
                                             "dog", "frog", "horse", "ship", "truck"]
    x = np.concatenate([made[n][1] for n in BATCHES[:5]]).reshape(100, 3072)
    y = np.concatenate([made[n][0] for n in BATCHES[:5]])
    np.testing.assert_array_equal(ds.splits["train"].x, x[:70])
    np.testing.assert_array_equal(ds.splits["valid"].x, x[70:])  # batch 4's tail + batch 5
    np.testing.assert_array_equal(ds.splits["valid"].y, y[70:])
    np.testing.assert_array_equal(ds.splits["test"].x, made["test_batch.bin"][1].reshape(20, -1))
    files = sorted(p.name for p in (tmp_path / "in").iterdir())
    assert sorted(ds.sources) == files and all(len(v) == 64 for v in ds.sources.values())


def test_the_tarball_folder_holding_cifar_10_batches_bin_is_accepted(tmp_path):
    write_tiny_cifar(tmp_path / "in" / "cifar-10-batches-bin", per_file=2)
    assert import_cifar10(tmp_path / "in", tmp_path / "c.h5", valid=2).counts["test"] == 2


def test_small_files_warn_about_the_committed_blob_ids_and_strict_refuses(tmp_path, run_cli):
    write_tiny_cifar(tmp_path / "in", per_file=4)
    code, out, err = run_cli("import", "cifar10", tmp_path / "in", "-o", tmp_path / "c.h5",
                             "--valid", "4")
    assert code == 0 and out.strip() == str(tmp_path / "c.h5")
    warnings = [ln for ln in err.splitlines() if ln.startswith("warning:")]
    assert len(warnings) == 6
    assert all("git blob" in w and "public repository" in w and "unconfirmed" in w
               for w in warnings)
    assert "cifar10: train 16, valid 4, test 4" in err
    code, out, err = run_cli("import", "cifar10", tmp_path / "in", "-o", tmp_path / "s.h5",
                             "--valid", "4", "--strict")
    assert code == 2 and "data_batch_1.bin" in err and "--strict" in err and out == ""
    assert not (tmp_path / "s.h5").exists()


def test_files_with_the_committed_blob_ids_are_reported_as_matching(tmp_path, monkeypatch,
                                                                    run_cli):
    made = write_tiny_cifar(tmp_path / "in", per_file=2)
    ids = {n: read_input(tmp_path / "in" / n).git_blob_sha1 for n in made}
    monkeypatch.setattr("glorotcli.data.cifar.COMMITTED_BLOB_SHA1", ids)
    res = import_cifar10(tmp_path / "in", tmp_path / "c.h5", valid=2, strict=True)
    assert not res.mismatches and len(res.checksums) == 6
    code, _, err = run_cli("import", "cifar10", tmp_path / "in", "-o", tmp_path / "d.h5",
                           "--valid", "2", "--strict")
    assert code == 0 and "warning" not in err
    assert ("checksums: all 6 files match the git blob ids of CIFAR-10 as committed in a public "
            "repository (unconfirmed as official)") in err


def test_the_committed_blob_id_table_names_all_six_files():
    assert sorted(COMMITTED_BLOB_SHA1) == sorted(BATCHES)
    assert all(len(v) == 40 for v in COMMITTED_BLOB_SHA1.values())


def test_import_reports_reading_and_writing_through_the_progress_callback(tmp_path):
    write_tiny_cifar(tmp_path / "in", per_file=2)
    seen = {}
    import_cifar10(tmp_path / "in", tmp_path / "c.h5", valid=2,
                   progress=lambda task, done, total, **kw: seen.__setitem__(task, (done, total)))
    assert seen["read data_batch_1.bin"] == (2 * 3073, 2 * 3073)
    assert seen["read test_batch.bin"] == (2 * 3073, 2 * 3073)
    assert seen["write train"] == (8, 8) and seen["write test"] == (2, 2)
