"""The training loop: determinism, resume, divergence, probes, schedules, data order."""

from __future__ import annotations

import os
import signal

import h5py
import numpy as np
import pytest
from helpers import checkpoint_arrays, file_contents, make_data

from glorotcli.config import TrainConfig
from glorotcli.data.pixels import scale_inputs
from glorotcli.errors import GlorotError, RunFailed
from glorotcli.nn.mlp import MLP
from glorotcli.run import train as core
from glorotcli.stats.runlog import (
    active_checkpoint,
    read_checkpoint,
    read_run,
)

# Timing series and attributes: the only things allowed to differ between identical runs.
TIMING = {"log/wall_time", "log/probe_seconds", "log/jacobian_seconds", "log/eval_seconds",
          "checkpoint/state", "checkpoint_b/state"}


@pytest.fixture(scope="module")
def data_file(tmp_path_factory):
    return make_data(tmp_path_factory.mktemp("data") / "tiny.h5")


def cfg(data_file, **kw):
    base = dict(data=str(data_file), depth=3, width=24, steps=240, lr=0.05, eval_every=100,
                log_every=40, threads=1, checkpoint_seconds=3600.0)
    base.update(kw)
    return TrainConfig(**base)


def contents(path) -> dict:
    """Every dataset and attribute of a file but ``TIMING`` (``helpers.file_contents``)."""
    return file_contents(path, TIMING)


def assert_same_contents(a, b):
    ca, cb = contents(a), contents(b)
    assert sorted(ca) == sorted(cb)
    for k in ca:
        np.testing.assert_array_equal(ca[k], cb[k], err_msg=k)


def test_same_seed_and_threads_give_an_identical_run_file(tmp_path, data_file):
    c = cfg(data_file)
    core.train(c, tmp_path / "a.h5")
    core.train(c, tmp_path / "b.h5")
    assert_same_contents(tmp_path / "a.h5", tmp_path / "b.h5")
    run = read_run(tmp_path / "a.h5")
    assert run.status == "finished" and run.log["step"][-1] == 240
    assert np.isnan(run.log["train_loss"][0]) and np.isfinite(run.log["train_loss"][1:]).all()
    evaluated = np.isfinite(run.log["valid_error"])
    np.testing.assert_array_equal(run.log["step"][evaluated], [0, 100, 200, 240])
    assert run.log["valid_error"][-1] < 0.3  # it learned something


def test_two_threads_also_repeat_bit_for_bit(tmp_path, data_file):
    from glorotcli.nn.threads import max_threads

    if max_threads() < 2:
        pytest.skip("needs 2 threads")
    c = cfg(data_file, threads=2, steps=120)
    core.train(c, tmp_path / "a.h5")
    core.train(c, tmp_path / "b.h5")
    assert_same_contents(tmp_path / "a.h5", tmp_path / "b.h5")


def test_logged_errors_are_those_of_the_final_net_on_valid_and_test(tmp_path, data_file):
    from glorotcli.data.store import read_dataset
    from glorotcli.nn.mlp import evaluate

    calls = []
    core.train(cfg(data_file, steps=150), tmp_path / "r.h5",
               progress=lambda task, done, total, **info: calls.append((task, done, total)))
    assert calls[-1] == ("train", 150, 150)
    run = read_run(tmp_path / "r.h5")
    ck = read_checkpoint(tmp_path / "r.h5")
    net = MLP(run.sizes, "tanh", ck.W, ck.b)
    ds = read_dataset(data_file)
    for split, key in (("valid", "valid_error"), ("test", "test_error")):
        x = ds.splits[split].x.astype(np.float32) / np.float32(255)
        _, err = evaluate(net, x, ds.splits[split].y)
        assert run.log[key][-1] == pytest.approx(err, abs=1e-12)


def test_another_seed_gives_another_run(tmp_path, data_file):
    core.train(cfg(data_file, steps=20), tmp_path / "a.h5")
    core.train(cfg(data_file, steps=20, seed=1), tmp_path / "b.h5")
    with h5py.File(tmp_path / "a.h5") as fa, h5py.File(tmp_path / "b.h5") as fb:
        assert not np.array_equal(fa["weights/init/W0"][()], fb["weights/init/W0"][()])


def test_extended_run_ends_with_the_weights_of_the_uninterrupted_run(tmp_path, data_file):
    core.train(cfg(data_file), tmp_path / "full.h5")
    core.train(cfg(data_file, steps=130), tmp_path / "part.h5")  # stops mid-pass, mid-row
    core.resume(tmp_path / "part.h5", cfg(data_file))
    for a, b in zip(checkpoint_arrays(tmp_path / "full.h5"),
                    checkpoint_arrays(tmp_path / "part.h5"), strict=True):
        np.testing.assert_array_equal(a, b)
    full, part = read_run(tmp_path / "full.h5"), read_run(tmp_path / "part.h5")
    # the extended run also logged, evaluated and probed at its old end, step 130
    assert 130 in part.log["step"] and 130 not in full.log["step"]
    assert 130 in part.layer_step
    keep = part.log["step"] != 130
    np.testing.assert_array_equal(full.log["valid_error"], part.log["valid_error"][keep])


def test_ctrl_c_checkpoints_and_resume_matches_the_uninterrupted_run(tmp_path, data_file,
                                                                       monkeypatch):
    core.train(cfg(data_file), tmp_path / "full.h5")
    monkeypatch.setattr(core, "REPORT_SECONDS", 0.0)
    sent = []

    def progress(task, done, total, **info):
        if task == "train" and done >= 77 and not sent:
            sent.append(done)
            os.kill(os.getpid(), signal.SIGINT)

    with pytest.raises(core.Interrupted) as exc:
        core.train(cfg(data_file), tmp_path / "cut.h5", progress=progress)
    assert exc.value.checkpointed and 77 <= exc.value.step < 240
    run = read_run(tmp_path / "cut.h5")
    assert run.status == "interrupted" and run.checkpoint_step == exc.value.step
    result = core.resume(tmp_path / "cut.h5")
    assert result.status == "finished" and result.steps == 240
    assert_same_contents(tmp_path / "full.h5", tmp_path / "cut.h5")


def test_probing_never_changes_the_training(tmp_path, data_file):
    core.train(cfg(data_file), tmp_path / "probed.h5")
    core.train(cfg(data_file, probe_every="none"), tmp_path / "plain.h5")
    for a, b in zip(checkpoint_arrays(tmp_path / "probed.h5"),
                    checkpoint_arrays(tmp_path / "plain.h5"), strict=True):
        np.testing.assert_array_equal(a, b)
    with h5py.File(tmp_path / "probed.h5") as fa, h5py.File(tmp_path / "plain.h5") as fb:
        np.testing.assert_array_equal(fa["log/train_loss"][()], fb["log/train_loss"][()])
        assert "layers" not in fb


def test_step_zero_statistics_are_measured_on_the_initial_weights(tmp_path, data_file):
    from glorotcli.stats.probes import default_edges, measure

    c = cfg(data_file, steps=30)
    core.train(c, tmp_path / "r.h5")
    run = read_run(tmp_path / "r.h5")
    with h5py.File(tmp_path / "r.h5") as f:
        W = [f[f"weights/init/W{i}"][()] for i in range(4)]
        b = [f[f"weights/init/b{i}"][()] for i in range(4)]
    net = MLP(run.sizes, "tanh", W, b)
    x = scale_inputs(run.probe_x, np.float32, "0,1")
    r = measure(net, x, run.probe_y, cost="nll", lr=c.lr, edges=default_edges("tanh", 200,
                                                                                init=c.init))
    assert run.layer_step[0] == 0
    for q in ("act", "bgrad", "wgrad"):
        np.testing.assert_array_equal(run.layers[q]["std"][0], r.stats[q]["std"])
        np.testing.assert_array_equal(run.layers[q]["hist"][0], r.hist[q])
    assert run.jacobian["step"].tolist() == [0]
    assert run.probe_x.shape == (100, 64)  # the test split has 100 < 300 examples


def test_huge_learning_rate_stops_with_run_failed_naming_step_and_layer(tmp_path, data_file,
                                                                       monkeypatch):
    monkeypatch.setattr(core, "BLOWUP_FACTOR", float("inf"))  # wait for non-finite values
    path = tmp_path / "boom.h5"
    with pytest.raises(RunFailed, match=r"diverged at step \d+: .*layer 1 \(W0\)"):
        core.train(cfg(data_file, activation="relu", init="he", lr=1e6), path)
    run = read_run(path)
    assert run.status == "diverged"
    assert run.log["step"][0] == 0 and len(run.layer_step) >= 1


def test_a_run_failing_before_its_first_row_leaves_no_file(tmp_path, data_file, monkeypatch):
    from glorotcli.stats import probes

    def broken(*a, **k):
        raise RuntimeError("probe exploded")

    monkeypatch.setattr(probes, "measure", broken)
    with pytest.raises(RuntimeError):
        core.train(cfg(data_file), tmp_path / "never.h5")
    assert not (tmp_path / "never.h5").exists()


def test_existing_run_file_is_refused_before_training(tmp_path, data_file):
    (tmp_path / "r.h5").write_text("precious")
    with pytest.raises(GlorotError, match="already exists"):
        core.train(cfg(data_file), tmp_path / "r.h5")
    assert (tmp_path / "r.h5").read_text() == "precious"


def test_resume_refuses_a_finished_run_without_a_longer_length(tmp_path, data_file):
    core.train(cfg(data_file, steps=20), tmp_path / "r.h5")
    with pytest.raises(GlorotError, match="already trained for 20 steps"):
        core.resume(tmp_path / "r.h5")
    core.resume(tmp_path / "r.h5", cfg(data_file, steps=30))
    assert read_run(tmp_path / "r.h5").log["step"][-1] == 30


def test_each_pass_over_the_training_split_sees_every_example_once():
    x = np.arange(23, dtype=np.uint8)[:, None]
    y = np.arange(23, dtype=np.uint8)
    src = core._FileSource(x, y, np.random.SeedSequence(5))
    seen = np.concatenate([src.batch(p, 5)[1] for p in range(0, 46, 5)])[:46]
    assert sorted(seen[:23]) == list(range(23)) and sorted(seen[23:46]) == list(range(23))
    assert not np.array_equal(seen[:23], seen[23:46])  # reshuffled
    np.testing.assert_array_equal(src.batch(20, 5)[1], seen[20:25])  # straddles two passes


def test_default_probe_schedule_is_log_spaced_then_every_20k_updates():
    s = core.schedule_steps("default", 65_000).tolist()
    assert s[:8] == [0, 10, 20, 50, 100, 200, 500, 1000]
    assert s[-5:] == [10_000, 20_000, 40_000, 60_000, 65_000]
    assert core.schedule_steps("100", 250).tolist() == [0, 100, 200, 250]
    assert core.schedule_steps("none", 250).tolist() == []
    assert core.schedule_steps("default", 2_500_000, jacobian=True).tolist() == [
        0, 200_000, 2_000_000]


def test_epochs_mean_passes_over_the_data_or_20k_online_updates(data_file):
    assert cfg(data_file, steps=None, epochs=2.0, batch_size=10).total_steps(400) == 80
    assert TrainConfig(online=True, epochs=1.5).total_steps(None) == 30_000
    assert TrainConfig(online=True).total_steps(None) == 20_000


def test_online_run_resumes_on_the_same_stream(tmp_path):
    c = TrainConfig(online=True, depth=2, width=16, steps=60, lr=0.05, eval_every=30,
                    log_every=30, threads=1, online_valid_size=200, online_test_size=300,
                    jacobian_every="none")
    core.train(c, tmp_path / "full.h5")
    core.train(c.replace(steps=25), tmp_path / "part.h5")
    core.resume(tmp_path / "part.h5", c)
    for a, b in zip(checkpoint_arrays(tmp_path / "full.h5"),
                    checkpoint_arrays(tmp_path / "part.h5"), strict=True):
        np.testing.assert_array_equal(a, b)
    run = read_run(tmp_path / "full.h5")
    assert run.dataset["kind"] == "shapeset-online" and run.sizes == (1024, 16, 16, 9)
    assert run.probe_x.shape == (300, 1024)


def test_a_second_ctrl_c_waits_for_the_checkpoint_being_written():
    flag = core._StopFlag()
    flag.handler(signal.SIGINT, None)
    assert flag.requested()
    with pytest.raises(KeyboardInterrupt):
        with flag.critical():
            flag.handler(signal.SIGINT, None)  # deferred: the block finishes first
            finished = True
    assert finished
    with pytest.raises(KeyboardInterrupt):
        flag.handler(signal.SIGINT, None)


def test_a_torn_checkpoint_is_refused_instead_of_resumed(tmp_path, data_file):
    core.train(cfg(data_file, steps=20), tmp_path / "r.h5")
    with h5py.File(tmp_path / "r.h5", "r+", libver="latest") as f:
        slot = active_checkpoint(f)
        f[f"{slot}/W1"][0, 0] += 1.0  # as if the disk had changed W1 after it was written
    with pytest.raises(GlorotError, match="checkpoint is damaged"):
        core.resume(tmp_path / "r.h5", cfg(data_file, steps=30))
    assert read_run(tmp_path / "r.h5").status == "finished"  # the file was left alone


def test_settings_round_trip_through_json_and_name_the_flag_when_wrong():
    c = TrainConfig(online=True, activation="softsign", lr=0.003, epochs=2.5, threads=2)
    assert TrainConfig.from_json(c.to_json()) == c
    with pytest.raises(GlorotError, match="unknown training settings momentum"):
        TrainConfig.from_json('{"momentum": 0.9}')
    with pytest.raises(GlorotError, match="--batch-size must be an integer >= 1"):
        TrainConfig(online=True, batch_size=0).validate()
    with pytest.raises(GlorotError, match="--jacobian-every must be"):
        TrainConfig(online=True, jacobian_every="sometimes").validate()
    with pytest.raises(GlorotError, match="--lr must be a positive number"):
        TrainConfig(online=True, lr=float("nan")).validate()
