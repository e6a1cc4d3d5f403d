"""The run file: writer (SWMR, append-only), reader, summary."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time

import h5py
import numpy as np
import pytest

from glorotcli.errors import GlorotError
from glorotcli.stats.runlog import (
    LOG_SERIES,
    QUANTITIES,
    STATS,
    RunWriter,
    read_run,
    run_info,
)

SIZES = (16, 8, 8, 8, 3)
L = 3
B = 10


def _params(seed=0):
    rng = np.random.default_rng(seed)
    pairs = zip(SIZES[:-1], SIZES[1:], strict=True)
    W = [rng.normal(size=(a, b)).astype(np.float32) for a, b in pairs]
    b = [np.zeros(n, np.float32) for n in SIZES[1:]]
    return W, b


def _writer(path, *, edges=True, jacobian_k=8, force=False, flush_seconds=5.0):
    W, b = _params()
    e = {q: np.linspace(-1, 1, B + 1) for q in QUANTITIES} if edges else None
    return RunWriter.create(
        path, config={"depth": L, "lr": 0.1}, sizes=SIZES, activation="tanh",
        init="normalized", seed=3, dataset={"kind": "shapeset", "n_classes": 3},
        input_scale="0,1", probe_x=np.arange(5 * 16, dtype=np.uint8).reshape(5, 16),
        probe_y=np.arange(5, dtype=np.uint8) % 3, init_W=W, init_b=b, edges=e,
        jacobian_k=jacobian_k, force=force, flush_seconds=flush_seconds)


def _layer_row(w, step):
    stats = {q: {s: np.full(L, step + k) for k, s in enumerate(STATS)} for q in QUANTITIES}
    hist = {q: np.full((L, B), step) for q in QUANTITIES}
    w.layers(step=step, examples_seen=10 * step, stats=stats, hist=hist,
             grad_ratio=np.full(L, step), update_ratio=np.full(L, -step))


def test_rows_written_come_back_in_order_with_their_shapes(tmp_path):
    p = tmp_path / "run.h5"
    w = _writer(p)
    for step in (0, 5, 10):
        w.log(step=step, examples_seen=10 * step, train_loss=step / 10, valid_error=0.5,
              wall_time=float(step))
        _layer_row(w, step)
    w.jacobian(step=0, sv_mean=np.ones(L - 1), sv_std=np.zeros(L - 1), sv=np.ones((L - 1, 4)))
    w.close("finished")
    run = read_run(p)
    assert run.status == "finished"
    assert run.config == {"depth": L, "lr": 0.1}
    assert run.sizes == SIZES and run.n_hidden == L
    np.testing.assert_array_equal(run.log["step"], [0, 5, 10])
    np.testing.assert_array_equal(run.log["train_loss"], [0, 0.5, 1.0])
    assert np.isnan(run.log["test_error"]).all()
    assert set(LOG_SERIES) <= set(run.log)
    np.testing.assert_array_equal(run.layer_step, [0, 5, 10])
    np.testing.assert_array_equal(run.layer_examples_seen, [0, 50, 100])
    assert run.layers["act"]["mean"].shape == (3, L)
    np.testing.assert_array_equal(run.layers["bgrad"]["p98"][:, 0], [4, 9, 14])
    assert run.layers["wgrad"]["hist"].shape == (3, L, B)
    np.testing.assert_array_equal(run.layers["wgrad"]["update_ratio"][:, 1], [0, -5, -10])
    np.testing.assert_array_equal(run.edges["act"], np.linspace(-1, 1, B + 1))
    assert run.jacobian["sv"].shape == (1, L - 1, 8)
    assert np.isnan(run.jacobian["sv"][0, :, 4:]).all()  # padded past the 4 values given
    np.testing.assert_array_equal(run.probe_y, [0, 1, 2, 0, 1])
    assert run.missing == []


def test_every_series_has_chunks_between_10kib_and_1mib(tmp_path):
    p = tmp_path / "run.h5"
    _writer(p).close()
    sizes = []

    def visit(name, obj):
        if isinstance(obj, h5py.Dataset) and obj.maxshape and obj.maxshape[0] is None:
            sizes.append((name, int(np.prod(obj.chunks)) * obj.dtype.itemsize))

    with h5py.File(p, "r") as f:
        f.visititems(visit)
    assert len(sizes) > 30
    for name, nbytes in sizes:
        assert 10 * 1024 <= nbytes <= 1024 * 1024, (name, nbytes)


def test_existing_run_file_is_refused_without_force(tmp_path):
    p = tmp_path / "run.h5"
    _writer(p).close()
    with pytest.raises(GlorotError, match="already exists"):
        _writer(p)
    _writer(p, force=True).close()


def test_run_that_never_logged_a_row_leaves_no_file(tmp_path):
    p = tmp_path / "run.h5"
    _writer(p).close(remove_if_empty=True)
    assert not p.exists()


def test_resume_drops_rows_logged_after_the_checkpoint(tmp_path):
    p = tmp_path / "run.h5"
    W, b = _params()
    w = _writer(p)
    for step in (0, 5):
        w.log(step=step, examples_seen=step)
        _layer_row(w, step)
    w.checkpoint(step=5, W=[x + 1 for x in W], b=b, rng={"pcg": 2**100},
                 state={"loss_sum": 1.5})
    w.log(step=10, examples_seen=10)  # lost by the "crash" below
    _layer_row(w, 10)
    w.close("interrupted")
    assert len(read_run(p).log["step"]) == 3
    w = RunWriter.resume(p)
    ck = w.read_checkpoint()
    assert ck.step == 5 and ck.rng == {"pcg": 2**100} and ck.state["loss_sum"] == 1.5
    np.testing.assert_array_equal(ck.W[1], W[1] + 1)
    assert w.n_log_rows == 2 and w.n_layer_rows == 2
    assert read_run(p).status == "running"
    w.log(step=7, examples_seen=7)
    w.close("finished")
    run = read_run(p)
    np.testing.assert_array_equal(run.log["step"], [0, 5, 7])
    np.testing.assert_array_equal(run.layer_step, [0, 5])


def test_resume_without_checkpoint_is_refused(tmp_path):
    p = tmp_path / "run.h5"
    w = _writer(p)
    w.log(step=0, examples_seen=0)
    w.close("interrupted")
    with pytest.raises(GlorotError, match="no checkpoint"):
        RunWriter.resume(p)


def test_reader_refuses_files_that_are_not_runs(tmp_path):
    text = tmp_path / "notes.h5"
    text.write_text("hello")
    with pytest.raises(GlorotError, match="not a readable HDF5"):
        read_run(text)
    other = tmp_path / "other.h5"
    with h5py.File(other, "w") as f:
        f.attrs["format"] = "glorot-dataset"
    with pytest.raises(GlorotError, match="not a glorot run file"):
        read_run(other)
    with pytest.raises(GlorotError, match="no such file"):
        read_run(tmp_path / "missing.h5")


def test_reader_tolerates_a_run_without_statistics_and_names_what_is_missing(tmp_path):
    p = tmp_path / "run.h5"
    w = _writer(p, edges=False)
    w.log(step=0, examples_seen=0, valid_error=0.8)
    w.close("finished")
    run = read_run(p)
    assert run.layers == {} and run.jacobian == {} and len(run.layer_step) == 0
    assert "/layers" in run.missing and "/layers/jacobian" in run.missing


def test_run_info_is_json_ready_and_reports_errors_and_probe_cost(tmp_path):
    p = tmp_path / "run.h5"
    w = _writer(p)
    w.log(step=0, examples_seen=0, valid_error=0.9, test_error=0.95, wall_time=1.0,
          probe_seconds=0.0)
    w.log(step=100, examples_seen=1000, train_loss=1.2, valid_error=0.4, test_error=0.45,
          wall_time=10.0, probe_seconds=0.3)
    w.log(step=200, examples_seen=2000, train_loss=1.1, valid_error=0.5, test_error=0.44,
          wall_time=20.0, probe_seconds=0.5)
    _layer_row(w, 0)
    w.close("finished")
    info = json.loads(json.dumps(run_info(p)))
    assert info["status"] == "finished" and info["log_rows"] == 3 and info["last_step"] == 200
    assert info["last_test_error"] == 0.44 and info["last_train_loss"] == 1.1
    assert info["best_valid_error"] == 0.4 and info["best_valid_step"] == 100
    assert info["test_error_at_best_valid"] == 0.45
    assert info["probe_fraction"] == pytest.approx(0.025)
    assert info["statistics"]["probe_rows"] == 1
    assert "hist" in info["statistics"]["quantities"]["act"]


_WRITER = textwrap.dedent("""
    import sys, time
    import numpy as np
    sys.path.insert(0, {tests!r})
    from test_runlog import _writer, _layer_row
    w = _writer({path!r}, flush_seconds=0.0)
    print("ready", flush=True)
    for step in range(120):
        w.log(step=step, examples_seen=10 * step, train_loss=float(step), wall_time=float(step))
        _layer_row(w, step)
        time.sleep(0.002)
    w.close("finished")
""")


def test_reader_sees_a_consistent_prefix_while_the_writer_appends(tmp_path):
    p = tmp_path / "live.h5"
    tests = str(__import__("pathlib").Path(__file__).parent)
    proc = subprocess.Popen([sys.executable, "-c", _WRITER.format(tests=tests, path=str(p))],
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "ready"
        seen = []
        deadline = time.monotonic() + 60
        while proc.poll() is None and time.monotonic() < deadline:
            run = read_run(p)
            n = len(run.log["step"])
            for k in ("examples_seen", "train_loss", "wall_time"):
                assert len(run.log[k]) == n
            np.testing.assert_array_equal(run.log["step"], np.arange(n))
            np.testing.assert_array_equal(run.log["train_loss"], np.arange(n))
            m = len(run.layer_step)
            np.testing.assert_array_equal(run.layer_step, np.arange(m))
            assert run.layers["act"]["hist"].shape == (m, L, B)
            np.testing.assert_array_equal(run.layers["act"]["hist"][:, 0, 0], np.arange(m))
            np.testing.assert_array_equal(run.layers["wgrad"]["grad_ratio"][:, 2], np.arange(m))
            seen.append(n)
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    assert any(0 < n < 120 for n in seen), seen  # really read mid-run
    assert read_run(p).status == "finished" and len(read_run(p).log["step"]) == 120


def test_superblock_checksum_matches_what_hdf5_wrote(tmp_path):
    from glorotcli.superblock import lookup3 as _lookup3

    p = tmp_path / "run.h5"
    _writer(p).close()
    head = p.read_bytes()[:48]
    assert int.from_bytes(head[44:48], "little") == _lookup3(head[:44])


_KILLED = textwrap.dedent("""
    import sys, time
    sys.path.insert(0, {tests!r})
    from test_runlog import _writer, _layer_row, _params
    w = _writer({path!r}, flush_seconds=0.0)
    W, b = _params()
    for step in range(3):
        w.log(step=step, examples_seen=step)
    w.checkpoint(step=2, W=W, b=b, rng={{}}, state={{}})
    w.log(step=3, examples_seen=3)
    w.flush()
    print("ready", flush=True)
    time.sleep(120)
""")


def test_resume_refuses_a_live_writer_and_recovers_a_killed_one(tmp_path):
    p = tmp_path / "killed.h5"
    tests = str(__import__("pathlib").Path(__file__).parent)
    proc = subprocess.Popen([sys.executable, "-c", _KILLED.format(tests=tests, path=str(p))],
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "ready"
        assert read_run(p).status == "running"
        with pytest.raises(GlorotError, match=f"still being written by process {proc.pid}"):
            RunWriter.resume(p)
        with pytest.raises(GlorotError, match=f"being written by glorot train .process "
                                              f"{proc.pid}. right now"):
            _writer(p, force=True)  # --force must not pull the file from under a live run
    finally:
        proc.kill()
        proc.wait(timeout=30)
    np.testing.assert_array_equal(read_run(p).log["step"], [0, 1, 2, 3])
    w = RunWriter.resume(p)
    assert w.read_checkpoint().step == 2 and w.n_log_rows == 3
    w.close("finished")
    run = read_run(p)
    assert run.status == "finished" and run.log["step"].tolist() == [0, 1, 2]


def test_run_file_that_cannot_be_created_is_a_one_line_error(tmp_path, monkeypatch):
    import h5py

    def refuse(*args, **kwargs):
        raise FileNotFoundError(2, "Unable to synchronously create file (long HDF5 text)")

    monkeypatch.setattr(h5py, "File", refuse)
    with pytest.raises(GlorotError, match=r"run.h5: cannot create the run file \(No such file"):
        _writer(tmp_path / "run.h5")


def test_close_never_closes_a_file_hdf5_failed_to_write(tmp_path, monkeypatch):
    from glorotcli.errors import WriteFailed
    from glorotcli.stats.runlog import writer as W

    w = _writer(tmp_path / "run.h5")
    w.log(step=0, examples_seen=0, train_loss=1.0, wall_time=0.0)

    def failing(*args, **kwargs):
        raise OSError("Can't write data (simulated)")

    monkeypatch.setattr(W, "_append", failing)
    with pytest.raises(WriteFailed, match="writing failed"):
        w.close("finished")
    assert w._f.id.valid  # left open: closing it could crash the process (h5py issue #914)
