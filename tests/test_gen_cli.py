"""``glorot gen-data shapeset``: writes a valid dataset, refuses bad input before working."""

from __future__ import annotations

import os

import numpy as np
import pytest

from glorotcli.data import shapeset as S
from glorotcli.data.store import read_dataset


def test_gen_data_writes_a_dataset_and_prints_its_path(run_cli, tmp_path):
    out = tmp_path / "s.h5"
    code, stdout, _ = run_cli("gen-data", "shapeset", "-o", out, "--train", 300, "--valid", 40,
                              "--test", 50, "--seed", 3, "--threads", 2)
    assert code == 0 and stdout.strip() == str(out)
    ds = read_dataset(out)
    assert ds.kind == "shapeset" and ds.image_shape == (32, 32, 1)
    assert ds.class_names == S.CLASS_NAMES and ds.input_size == 1024
    assert {k: len(v) for k, v in ds.splits.items()} == {"train": 300, "valid": 40, "test": 50}
    assert ds.params["seed"] == 3 and ds.params["splits"]["train"] == 300
    assert ds.params["rejection_budget"] == S.PARAMS["rejection_budget"]
    splits = S.make_splits(300, 40, 50, seed=3)
    for name, (x, y) in splits.items():
        assert np.array_equal(ds.splits[name].x, x) and np.array_equal(ds.splits[name].y, y)


def test_valid_or_test_of_zero_leaves_the_split_out(run_cli, tmp_path):
    out = tmp_path / "s.h5"
    code, _, _ = run_cli("gen-data", "shapeset", "-o", out, "--train", 20, "--valid", 0,
                         "--test", 0)
    assert code == 0 and set(read_dataset(out).splits) == {"train"}


@pytest.mark.parametrize("flag, value", [("--train", 0), ("--train", -3), ("--valid", -1),
                                         ("--test", -10), ("--threads", 0), ("--seed", -1)])
def test_bad_counts_exit_2_with_a_message_naming_the_flag(run_cli, tmp_path, flag, value):
    out = tmp_path / "s.h5"
    code, stdout, stderr = run_cli("gen-data", "shapeset", "-o", out, flag, value)
    assert code == 2 and flag in stderr and "Traceback" not in stderr
    assert stdout == "" and not out.exists()


def test_existing_output_is_not_touched_without_force(run_cli, tmp_path):
    out = tmp_path / "s.h5"
    out.write_bytes(b"keep me")
    code, _, stderr = run_cli("gen-data", "shapeset", "-o", out, "--train", 10)
    assert code == 2 and "--force" in stderr and out.read_bytes() == b"keep me"
    code, _, _ = run_cli("gen-data", "shapeset", "-o", out, "--train", 10, "--test", 5,
                         "--force")
    assert code == 0 and len(read_dataset(out).splits["train"]) == 10


def test_output_path_is_checked_before_generating(run_cli, tmp_path, monkeypatch):
    def boom(*a, **k):
        raise AssertionError("generated before checking the output path")

    monkeypatch.setattr(S, "make_splits", boom)
    code, _, stderr = run_cli("gen-data", "shapeset", "-o", tmp_path / "no" / "s.h5")
    assert code == 2 and "does not exist" in stderr


def test_unwritable_folder_exits_2(run_cli, tmp_path, monkeypatch):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    if os.geteuid() == 0:  # root writes anywhere: make the permission check see what a user would
        import glorotcli.fileio

        monkeypatch.setattr(glorotcli.fileio.os, "access", lambda p, mode: False)
    try:
        code, _, stderr = run_cli("gen-data", "shapeset", "-o", folder / "s.h5", "--train", 5)
    finally:
        folder.chmod(0o700)
    assert code == 2 and "not writable" in stderr


def test_help_ends_with_an_example(run_cli):
    code, stdout, _ = run_cli("gen-data", "shapeset", "--help")
    assert code == 0 and "glorot gen-data shapeset -o" in stdout


def test_ctrl_c_exits_130_saying_so_and_writes_nothing(run_cli, tmp_path, monkeypatch):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(S, "make_splits", interrupted)
    code, out, err = run_cli("gen-data", "shapeset", "-o", tmp_path / "s.h5", "--train", "10")
    assert code == 130 and out == "" and err == "glorot: interrupted\n"
    assert list(tmp_path.iterdir()) == []
