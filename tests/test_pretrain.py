"""Pre-training by stacked denoising auto-encoders (issue 15): the layer's gradients against
finite differences and the slow reference, the masking noise, the reconstruction error falling
on Shapeset and MNIST, determinism, interruption and resume, the pre-training file, and
``glorot train --init-from``."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time

import h5py
import numpy as np
import pytest
from helpers import file_contents, make_data
from reference import ref_dae_batch

from glorotcli.config import PretrainConfig, TrainConfig
from glorotcli.errors import GlorotError
from glorotcli.nn import dae
from glorotcli.run import pretrain as core
from glorotcli.run import train as train_core
from glorotcli.stats.runlog import read_run
from glorotcli.stats.runlog.pretrained import read_pretrain

# What may differ between identical pre-trainings: timings, and the writer's process id.
VARIES = {"log/wall_time", "checkpoint/state", "checkpoint_b/state", "writer"}
CASES = [  # (activation, reconstruction as the reference names it, input range)
    ("sigmoid", ("ce",), (0.0, 1.0)),
    ("tanh", ("ce",), (0.0, 1.0)),
    ("tanh", ("se", -1.0, 1.0), (-1.0, 1.0)),
    ("softsign", ("se", -1.0, 1.0), (-1.0, 1.0)),
    ("relu", ("linear",), (0.0, np.inf)),
    ("sigmoid", ("se", -2.0, 3.0), (-2.0, 3.0)),
]


@pytest.fixture(scope="module")
def data_file(tmp_path_factory):
    return make_data(tmp_path_factory.mktemp("data") / "tiny.h5")


def cfg(data_file, **kw) -> PretrainConfig:
    base = dict(data=str(data_file), activation="sigmoid", init="standard", depth=2, width=12,
                steps_per_layer=150, lr=0.05, log_every=50, eval_size=60, threads=1,
                checkpoint_seconds=3600.0)
    base.update(kw)
    return PretrainConfig(**base)


def layer_problem(activation, recon, rng, n_in=9, n_hid=6, batch=4, dtype=np.float64):
    """Weights, clean inputs in the reconstruction's range and a masked copy."""
    W = rng.normal(0, 0.6, (n_in, n_hid)).astype(dtype)
    b = rng.normal(0, 0.3, n_hid).astype(dtype)
    c = rng.normal(0, 0.3, n_in).astype(dtype)
    if recon[0] == "ce":
        x = rng.uniform(0.02, 0.98, (batch, n_in))
    elif recon[0] == "se":
        x = rng.uniform(recon[1], recon[2], (batch, n_in))
    else:
        x = rng.uniform(0, 3, (batch, n_in))
    x = x.astype(dtype)
    xt = x * (rng.random(x.shape) > 0.3)
    return W, b, c, x, xt


def product_layer(W, b, c, activation, recon):
    lo, hi = (0.0, 1.0) if recon[0] == "ce" else (
        (recon[1], recon[2]) if recon[0] == "se" else (0.0, np.inf))
    return dae.DAELayer(W, b, c, activation, dae.reconstruction_for(lo, hi))


# ------------------------------------------------------------------ the layer ----

def test_each_layer_reconstructs_as_documented():
    ce = dae.Reconstruction(dae.CROSS_ENTROPY, 0.0, 1.0)
    se = dae.Reconstruction(dae.SQUARED_SIGMOID, -1.0, 1.0)
    lin = dae.Reconstruction(dae.SQUARED_LINEAR, 0.0, np.inf)
    assert dae.layer_reconstructions("sigmoid", "0,1", 3) == [ce, ce, ce]
    assert dae.layer_reconstructions("tanh", "0,1", 3) == [ce, se, se]
    assert dae.layer_reconstructions("softsign", "-1,1", 2) == [se, se]
    assert dae.layer_reconstructions("relu", "0,1", 2) == [ce, lin]


@pytest.mark.parametrize("activation, recon, _", CASES, ids=[f"{a}-{r[0]}" for a, r, _ in CASES])
def test_gradients_match_finite_differences_in_float64(activation, recon, _):
    rng = np.random.default_rng(3)
    W, b, c, x, xt = layer_problem(activation, recon, rng)
    cost, dW, db, dc = product_layer(W, b, c, activation, recon).gradients(x, xt)

    def f(W_, b_, c_):
        return product_layer(W_.copy(), b_.copy(), c_.copy(), activation, recon).gradients(
            x, xt)[0]

    h = 1e-6
    for arr, grad in ((W, dW), (b, db), (c, dc)):
        num = np.zeros_like(arr)
        for idx in np.ndindex(arr.shape):
            old = arr[idx]
            arr[idx] = old + h
            up = f(W, b, c)
            arr[idx] = old - h
            down = f(W, b, c)
            arr[idx] = old
            num[idx] = (up - down) / (2 * h)
        np.testing.assert_allclose(grad, num, rtol=1e-6, atol=1e-8)
    assert np.isfinite(cost)


@pytest.mark.parametrize("activation, recon, _", CASES, ids=[f"{a}-{r[0]}" for a, r, _ in CASES])
def test_cost_gradients_and_step_match_the_slow_reference(activation, recon, _):
    rng = np.random.default_rng(5)
    W, b, c, x, xt = layer_problem(activation, recon, rng, n_in=11, n_hid=7, batch=10)
    C, dW, db, dc = ref_dae_batch(W, b, c, activation, x, xt, recon)
    layer = product_layer(W.copy(), b.copy(), c.copy(), activation, recon)
    cost, gW, gb, gc = layer.gradients(x, xt)
    np.testing.assert_allclose(cost, C, rtol=1e-12)
    for g, r in ((gW, dW), (gb, db), (gc, dc)):
        np.testing.assert_allclose(g, r, rtol=1e-10, atol=1e-13)
    lr = 0.07
    assert layer.step(x, xt, lr) == pytest.approx(C, rel=1e-12)
    for new, old, g in ((layer.W, W, dW), (layer.b, b, db), (layer.c, c, dc)):
        np.testing.assert_allclose(new, old - lr * g, rtol=1e-10, atol=1e-13)
    # the clean reconstruction cost is the reference's with x~ = x
    np.testing.assert_allclose(layer.cost(x), ref_dae_batch(layer.W, layer.b, layer.c,
                                                            activation, x, x, recon)[0],
                               rtol=1e-10)


def test_float32_layer_follows_the_float64_reference():
    rng = np.random.default_rng(8)
    W, b, c, x, xt = layer_problem("tanh", ("ce",), rng, n_in=30, n_hid=20, batch=10)
    C, dW, _, _ = ref_dae_batch(W, b, c, "tanh", x, xt, ("ce",))
    f32 = [a.astype(np.float32) for a in (W, b, c)]
    cost, gW, _, _ = product_layer(*f32, "tanh", ("ce",)).gradients(x.astype(np.float32),
                                                                     xt.astype(np.float32))
    assert cost == pytest.approx(C, rel=1e-5)
    np.testing.assert_allclose(gW, dW, rtol=1e-3, atol=1e-5)


def test_masking_noise_zeroes_exactly_the_stated_fraction_uniformly():
    rng = np.random.default_rng(0)
    n, rows, fraction = 40, 4000, 0.25
    x = rng.uniform(0.5, 1.0, (rows, n))  # no zeros of its own
    out = dae.corrupt(x, fraction, np.random.default_rng(1))
    zeros = out == 0
    assert (zeros.sum(axis=1) == 10).all()  # round(0.25 x 40) in every example
    np.testing.assert_array_equal(out[~zeros], x[~zeros])
    # each input is masked with probability 1/4: within 5 standard deviations of rows/4
    per_input = zeros.sum(axis=0)
    sd = np.sqrt(rows * fraction * (1 - fraction))
    assert np.abs(per_input - rows * fraction).max() < 5 * sd
    # the choices differ between examples (not one fixed set of inputs)
    assert len({tuple(np.flatnonzero(z)) for z in zeros[:50]}) == 50
    assert (dae.corrupt(x[:5], 0.0, rng) == x[:5]).all()
    assert dae.masked_count(1024, 0.25) == 256 and dae.masked_count(10, 0.26) == 3
    with pytest.raises(GlorotError, match="--corruption"):
        dae.corrupt(x, 1.0, rng)


# ---------------------------------------------------------- learning on real data ----

def test_reconstruction_error_falls_on_shapeset(tmp_path):
    r = core.pretrain(PretrainConfig(online=True, activation="sigmoid", init="standard",
                                     depth=2, width=40, steps_per_layer=1500, lr=0.01,
                                     log_every=500, eval_size=200, threads=1),
                      tmp_path / "pre.h5")
    data = read_pretrain(r.path)
    for k in (1, 2):
        v = data.layer_log(k)["valid_cost"]
        assert np.all(np.diff(v) < 0), (k, v)  # falls at every log row
    first, last = r.first_valid_cost, r.valid_cost
    assert last[0] < 0.9 * first[0] and last[1] < 0.6 * first[1], (first, last)


def test_reconstruction_error_falls_on_mnist(tmp_path, mnist_dir):
    from glorotcli.api import import_mnist

    mnist_file = import_mnist(mnist_dir, tmp_path / "mnist.h5").path
    r = core.pretrain(PretrainConfig(data=str(mnist_file), activation="tanh", init="normalized",
                                     depth=2, width=40, steps_per_layer=1500, lr=0.01,
                                     log_every=500, eval_size=300, threads=1),
                      tmp_path / "pre.h5")
    data = read_pretrain(r.path)
    for k in (1, 2):
        v = data.layer_log(k)["valid_cost"]
        assert np.all(np.diff(v) < 0), (k, v)
    assert r.valid_cost[0] < 0.7 * r.first_valid_cost[0], (r.first_valid_cost, r.valid_cost)
    assert r.valid_cost[1] < 0.5 * r.first_valid_cost[1], (r.first_valid_cost, r.valid_cost)


# ---------------------------------------------------------------- the loop ----

def contents(path) -> dict:
    """Every dataset and attribute of a file but ``VARIES`` (``helpers.file_contents``)."""
    return file_contents(path, VARIES)


def assert_same_contents(a, b) -> None:
    ca, cb = contents(a), contents(b)
    assert sorted(ca) == sorted(cb)
    for k in ca:
        va, vb = np.asarray(ca[k]), np.asarray(cb[k])
        assert va.dtype == vb.dtype and va.tobytes() == vb.tobytes(), k


def test_the_same_seed_gives_the_same_file_and_another_seed_another(tmp_path, data_file):
    core.pretrain(cfg(data_file), tmp_path / "a.h5")
    core.pretrain(cfg(data_file), tmp_path / "b.h5")
    assert_same_contents(tmp_path / "a.h5", tmp_path / "b.h5")
    core.pretrain(cfg(data_file, seed=1), tmp_path / "c.h5")
    a, c = read_pretrain(tmp_path / "a.h5"), read_pretrain(tmp_path / "c.h5")
    assert not np.array_equal(a.W[0], c.W[0]) and not np.array_equal(a.W[1], c.W[1])


def test_the_file_holds_weights_log_and_settings(tmp_path, data_file):
    c = cfg(data_file)
    core.pretrain(c, tmp_path / "p.h5")
    p = read_pretrain(tmp_path / "p.h5")
    assert p.status == "finished" and p.layers_done == 2 and p.sizes == (64, 12, 12)
    assert PretrainConfig.from_dict(p.config) == c
    assert json.loads(p.attrs["choices"])["corruption"] == 0.25
    # a row at every layer's step 0, every log_every updates and its end, layer after layer
    np.testing.assert_array_equal(p.log["layer"], [1] * 4 + [2] * 4)
    np.testing.assert_array_equal(p.log["step"], [0, 50, 100, 150] * 2)
    # the start: what glorot train draws with the same seed and init
    train = train_core.seed_streams(0)["init"]
    from glorotcli.nn.init import init_mlp

    net = init_mlp((64, 12, 12, 3), "sigmoid", "standard", np.random.default_rng(train))
    with h5py.File(tmp_path / "p.h5") as f:
        for i in range(2):
            np.testing.assert_array_equal(f[f"weights/init/W{i}"][()], net.W[i])
        # the pre-trained weights are the checkpoint's at the end, and moved from the start
        for i in range(2):
            np.testing.assert_array_equal(f[f"weights/pretrained/W{i}"][()], p.W[i])
        assert not np.array_equal(p.W[0], net.W[0])
    # layer 2's clean held-out cost at its end is the cost of its stored weights on the codes
    # of layer 1 (stored) for the held-out examples (the first 60 of the valid split)
    from glorotcli.data.store import read_dataset

    held = read_dataset(data_file).splits["valid"].x[:60] / np.float32(255)
    codes = 1 / (1 + np.exp(-(held.astype(np.float64) @ p.W[0] + p.b[0])))
    recon = dae.reconstruction_for(0.0, 1.0)
    layer = dae.DAELayer(*(np.array(a, np.float64) for a in (p.W[1], p.b[1], p.c[1])),
                         "sigmoid", recon)
    assert layer.cost(codes) == pytest.approx(p.layer_log(2)["valid_cost"][-1], rel=1e-4)


def test_a_file_missing_a_log_series_reads_it_as_nan_not_as_a_cost_of_zero(tmp_path, data_file):
    core.pretrain(cfg(data_file), tmp_path / "p.h5")
    with h5py.File(tmp_path / "p.h5", "a") as f:
        del f["log/valid_cost"], f["log/layer"]
    p = read_pretrain(tmp_path / "p.h5")
    assert len(p.log["step"]) == 8 and np.isnan(p.log["valid_cost"]).all()
    np.testing.assert_array_equal(p.log["layer"], np.zeros(8))  # 0: unknown (layers count from 1)
    assert np.isfinite(p.log["train_cost"][p.log["step"] > 0]).all()  # the rest reads as before


def test_inspect_shows_a_pretraining_file(tmp_path, data_file, run_cli):
    core.pretrain(cfg(data_file), tmp_path / "p.h5")
    code, out, _ = run_cli("inspect", tmp_path / "p.h5", "--json")
    assert code == 0
    info = json.loads(out)
    p = read_pretrain(tmp_path / "p.h5")
    assert info["format"] == "glorot-pretrain" and info["status"] == "finished"
    assert info["sizes"] == [64, 12, 12] and info["layers_done"] == 2
    assert [x["held_out_cost_last"] for x in info["layers"]] == [
        float(p.layer_log(k)["valid_cost"][-1]) for k in (1, 2)]
    assert info["choices"]["corruption"] == 0.25
    code, _, err = run_cli("inspect", tmp_path / "p.h5", "--montage", tmp_path / "m.png")
    assert code == 2 and "a pre-training file" in err


def test_an_eval_size_beyond_the_held_out_split_is_said_and_recorded(tmp_path, data_file,
                                                                     run_cli):
    base = ("pretrain", "--data", data_file, "--depth", "1", "--width", "6",
            "--steps-per-layer", "20", "--no-progress")
    code, _, err = run_cli(*base, "--eval-size", "100000", "-o", tmp_path / "a.h5")
    n = read_pretrain(tmp_path / "a.h5").dataset["n_held_out"]
    assert code == 0 and n < 100000
    assert f"warning: --eval-size 100000: the held-out split has {n:,} examples" in err
    code, _, err = run_cli(*base, "-o", tmp_path / "b.h5")  # the default is not the user's ask
    assert code == 0 and "warning" not in err


def test_report_shows_every_layers_reconstruction_costs(tmp_path, data_file, run_cli):
    core.pretrain(cfg(data_file), tmp_path / "p.h5")
    p = read_pretrain(tmp_path / "p.h5")
    code, out, err = run_cli("report", tmp_path / "p.h5")
    assert code == 0, err
    assert "2 of 2 layers done" in out and "masking noise 0.25" in out
    for k in (1, 2):
        v = p.layer_log(k)["valid_cost"]
        assert f"{v[0]:.4g} → {v[-1]:.4g}" in out
    from glorotcli.report.pretraining import _spread

    v = np.arange(100.0)
    assert _spread(v, 8)[0] == 0 and _spread(v, 8)[-1] == 99 and len(_spread(v, 8)) == 8
    code, out, _ = run_cli("report", tmp_path / "p.h5", "--json")
    (info,) = json.loads(out)
    for k, layer in zip((1, 2), info["layers"], strict=True):
        rows = p.layer_log(k)
        assert layer["series"]["step"] == rows["step"].tolist()
        np.testing.assert_array_equal(layer["series"]["valid_cost"], rows["valid_cost"])
        assert layer["series"]["train_cost"][0] is None  # no training cost before an update


def test_report_draws_each_layers_costs_against_its_own_updates(tmp_path, data_file, run_cli):
    from helpers import drawn

    from glorotcli.report import pretraining

    core.pretrain(cfg(data_file), tmp_path / "a.h5")
    core.pretrain(cfg(data_file, depth=1, seed=3), tmp_path / "b.h5")
    a, b = pretraining.load([tmp_path / "a.h5", tmp_path / "b.h5"])
    fig = pretraining.figure([a, b])
    for f, d in enumerate((a, b)):
        for k in range(1, d.depth + 1):
            rows = d.layer_log(k)
            x, y = drawn(fig, f"valid-{f}-{k}")
            np.testing.assert_array_equal(x, rows["step"])
            np.testing.assert_array_equal(y, rows["valid_cost"])
            np.testing.assert_array_equal(drawn(fig, f"train-{f}-{k}")[1], rows["train_cost"])
    figs = tmp_path / "figs"
    code, out, _ = run_cli("report", tmp_path / "a.h5", "--png", figs)
    assert code == 0 and out.strip() == str(figs / "pretraining.png")
    before = (figs / "pretraining.png").read_bytes()
    code, _, err = run_cli("report", tmp_path / "a.h5", "--png", figs)
    assert code == 2 and "already exists" in err and err.count("\n") == 1
    assert (figs / "pretraining.png").read_bytes() == before


def test_report_refuses_pretraining_and_run_files_together_and_follow(tmp_path, data_file,
                                                                        run_cli):
    from glorotcli.config import TrainConfig

    core.pretrain(cfg(data_file), tmp_path / "p.h5")
    train_core.train(TrainConfig(data=str(data_file), depth=1, width=8, steps=5,
                                 probe_every="none", jacobian_every="none", threads=1),
                     tmp_path / "r.h5")
    for args in (("report", tmp_path / "p.h5", tmp_path / "r.h5"),
                 ("report", tmp_path / "p.h5", "--follow")):
        code, out, err = run_cli(*args)
        assert code == 2 and out == "" and err.startswith("glorot: error: ")
        assert err.count("\n") == 1


@pytest.mark.parametrize("cut", [70, 150, 233], ids=["mid-layer-1", "boundary", "mid-layer-2"])
def test_ctrl_c_checkpoints_and_resume_equals_the_uninterrupted_run(tmp_path, data_file,
                                                                      monkeypatch, cut):
    core.pretrain(cfg(data_file), tmp_path / "full.h5")
    monkeypatch.setattr(core, "REPORT_SECONDS", 0.0)
    sent = []

    def progress(task, done, total, **info):
        if task == "pretrain" and done >= cut and not sent:
            sent.append(done)
            os.kill(os.getpid(), signal.SIGINT)

    out = tmp_path / "cut.h5"
    with pytest.raises(core.Interrupted) as exc:
        core.pretrain(cfg(data_file), out, progress=progress)
    assert exc.value.checkpointed and exc.value.step == cut
    p = read_pretrain(out)
    assert p.status == "interrupted" and p.checkpoint_step == cut
    assert p.layers_done == cut // 150
    from rich.console import Console

    from glorotcli.report import pretraining

    console = Console(width=100, record=True)
    console.print(pretraining.render([p]))  # the report says where a resume goes on from
    assert f"interrupted: checkpoint at update {cut:,} of 300" in console.export_text()
    result = core.resume(out)
    assert result.status == "finished" and result.steps == 300
    assert_same_contents(tmp_path / "full.h5", out)


def _checkpoint_step(path) -> int:
    try:
        return read_pretrain(path).checkpoint_step
    except GlorotError:
        return -1


@pytest.mark.parametrize("how", ["SIGTERM", "SIGKILL"])
def test_a_killed_pretraining_resumes_to_the_uninterrupted_result(tmp_path, data_file, how):
    args = ["--data", str(data_file), "-a", "sigmoid", "-i", "standard", "--depth", "2",
            "--width", "12", "--steps-per-layer", "8000", "--lr", "0.05", "--log-every",
            "1000", "--eval-size", "60", "--threads", "1", "--no-progress"]
    out = tmp_path / "cut.h5"
    proc = subprocess.Popen([sys.executable, "-m", "glorotcli", "pretrain", *args,
                             "--checkpoint-seconds", "0.2", "-o", str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while _checkpoint_step(out) < 2000 and time.monotonic() < deadline:
            time.sleep(0.1)
        proc.send_signal(getattr(signal, how))
        _, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    if how == "SIGTERM":
        assert proc.returncode == 143 and "glorot pretrain --resume" in err
    else:
        assert proc.returncode == -signal.SIGKILL
    assert 2000 <= read_pretrain(out).checkpoint_step < 16000
    done = subprocess.run([sys.executable, "-m", "glorotcli", "pretrain", "--resume", str(out),
                           "--no-progress"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(out)
    full = subprocess.run([sys.executable, "-m", "glorotcli", "pretrain", *args,
                           "--checkpoint-seconds", "0.2", "-o", str(tmp_path / "full.h5")],
                          capture_output=True, text=True, timeout=300)
    assert full.returncode == 0, full.stderr
    assert_same_contents(tmp_path / "full.h5", out)


# ------------------------------------------------------------ train --init-from ----

def test_init_from_starts_from_exactly_the_stored_weights(tmp_path, data_file):
    core.pretrain(cfg(data_file), tmp_path / "pre.h5")
    tc = dict(data=str(data_file), activation="sigmoid", init="standard", depth=2, width=12,
              steps=30, threads=1, probe_every="none", jacobian_every="none")
    train_core.train(TrainConfig(**tc, init_from=str(tmp_path / "pre.h5")),
                     tmp_path / "ft.h5")
    train_core.train(TrainConfig(**tc), tmp_path / "plain.h5")
    with h5py.File(tmp_path / "pre.h5") as fp, h5py.File(tmp_path / "ft.h5") as ft, \
            h5py.File(tmp_path / "plain.h5") as fq:
        stored = [fp[f"weights/pretrained/{n}{i}"][()] for n in "Wb" for i in range(2)]
        started = [ft[f"weights/init/{n}{i}"][()] for n in "Wb" for i in range(2)]
        for a, b in zip(stored, started, strict=True):
            assert a.dtype == b.dtype and a.tobytes() == b.tobytes()
        # the output layer: drawn as without --init-from
        for n in "Wb":
            assert ft[f"weights/init/{n}2"][()].tobytes() == fq[f"weights/init/{n}2"][()].tobytes()
        assert not np.array_equal(ft["weights/init/W0"][()], fq["weights/init/W0"][()])
        recorded = json.loads(ft.attrs["pretrained"])
    digest = hashlib.sha256(b"".join(a.tobytes() for a in stored)).hexdigest()
    assert recorded["weights_sha256"] == digest
    assert recorded["path"] == str((tmp_path / "pre.h5").resolve())
    run = read_run(tmp_path / "ft.h5")
    assert run.config["init_from"] == str(tmp_path / "pre.h5")
    assert run.status == "finished"


def test_reports_name_a_pretrained_run_pre_training(tmp_path, data_file):
    from glorotcli.report import figures, series

    core.pretrain(cfg(data_file, activation="tanh", init="normalized", depth=5),
                  tmp_path / "pre.h5")
    tc = dict(data=str(data_file), depth=5, width=12, steps=40, eval_every=20, threads=1,
              probe_every="none", jacobian_every="none")
    train_core.train(TrainConfig(**tc, init_from=str(tmp_path / "pre.h5")), tmp_path / "ft.h5")
    train_core.train(TrainConfig(**tc), tmp_path / "plain.h5")
    ft, plain = read_run(tmp_path / "ft.h5"), read_run(tmp_path / "plain.h5")
    assert series.run_label(ft) == "Pre-training (Tanh N)"
    assert series.run_label(plain) == "Tanh N"
    tab = series.table1([ft, plain])
    assert "Pre-training (Tanh N)" in tab.rows
    assert tab.cells[("Pre-training (Tanh N)", "mnist")].runs == ["ft.h5"]
    assert tab.cells[("Tanh N", "mnist")].runs == ["plain.h5"]
    assert series.summary(ft)["paper_test_error"] is None  # no Table 1 value for it
    spec = next(s for s in figures.FIGURES if s.name == "fig12_test_error")
    fig = figures.DRAW[spec.draw](spec, [ft, plain], None)
    gids = {line.get_gid() for ax in fig.axes for line in ax.get_lines()}
    assert {"error Pre-training (Tanh N) depth 5", "error Tanh N depth 5"} <= gids


def _one_error_line(err: str) -> bool:
    lines = [ln for ln in err.strip().splitlines() if ln.strip()]
    return len(lines) == 1 and lines[0].startswith("glorot: error: ")


def test_bad_files_and_mismatched_sizes_give_one_line_and_exit_2(tmp_path, data_file,
                                                                 run_cli, monkeypatch):
    core.pretrain(cfg(data_file), tmp_path / "pre.h5")
    monkeypatch.setattr(core, "REPORT_SECONDS", 0.0)

    sent = []

    def stop(task, done, total, **info):
        if done >= 20 and not sent:
            sent.append(done)
            os.kill(os.getpid(), signal.SIGINT)

    with pytest.raises(core.Interrupted):
        core.pretrain(cfg(data_file), tmp_path / "unfinished.h5", progress=stop)
    (tmp_path / "junk.h5").write_bytes(b"not hdf5 at all")
    base = ["train", "--data", data_file, "-a", "sigmoid", "-i", "standard", "--steps", "10",
            "--threads", "1", "--no-progress"]
    cases = {
        "missing": (base + ["--depth", "2", "--width", "12"], tmp_path / "nope.h5",
                    "no such file"),
        "junk": (base + ["--depth", "2", "--width", "12"], tmp_path / "junk.h5",
                 "not a readable HDF5 file"),
        "dataset": (base + ["--depth", "2", "--width", "12"], data_file,
                    "not a glorot pre-training file"),
        "unfinished": (base + ["--depth", "2", "--width", "12"], tmp_path / "unfinished.h5",
                       "not finished"),
        "depth": (base + ["--depth", "3", "--width", "12"], tmp_path / "pre.h5",
                  "64-12-12, but this run's are 64-12-12-12"),
        "width": (base + ["--depth", "2", "--width", "13"], tmp_path / "pre.h5",
                  "but this run's are 64-13-13"),
        "activation": (base + ["--depth", "2", "--width", "12", "-a", "tanh"],
                       tmp_path / "pre.h5", "-a/--activation sigmoid, but this run uses tanh"),
        "scale": (base + ["--depth", "2", "--width", "12", "--input-scale", "-1,1"],
                  tmp_path / "pre.h5", "--input-scale 0,1"),
    }
    for name, (args, init_from, message) in cases.items():
        out = tmp_path / f"run-{name}.h5"
        code, stdout, err = run_cli(*args, "--init-from", init_from, "-o", out)
        assert code == 2 and stdout == "", (name, code, err)
        assert _one_error_line(err) and message in err, (name, err)
        assert not out.exists(), name
    # and glorot pretrain's own bad input
    code, _, err = run_cli("pretrain", "--data", data_file, "--corruption", "0.5", "--lr", "-1",
                           "-o", tmp_path / "p.h5")
    assert code == 2 and _one_error_line(err) and "--lr" in err
    code, _, err = run_cli("pretrain", "--resume", tmp_path / "pre.h5")
    assert code == 2 and _one_error_line(err) and "already finished" in err
    code, _, err = run_cli("pretrain", "--resume", tmp_path / "unfinished.h5", "--depth", "3")
    assert code == 2 and _one_error_line(err) and "--depth cannot change" in err


# ------------------------------------------------------------------- sweeps ----

RECIPE = """
description = "a pre-trained network and its plain twin, two rates each"
[defaults]
depth = 2
width = 8
steps = 60
eval_every = 20
probe_every = "none"
jacobian_every = "none"
lr = [0.01, 0.1]
threads = 1
[pretrain]
steps_per_layer = 40
log_every = 20
eval_size = 50
[[grid]]
data = "mnist"
activation = "sigmoid"
init = "standard"
pretrain = [true, false]
"""


def test_a_recipe_block_with_pretrain_starts_every_rate_from_one_pretraining(tmp_path):
    from glorotcli.run import grid, recipes

    rec = recipes.parse(RECIPE, where="r.toml", name="r")
    runs = grid.expand(rec.blocks, {"mnist": "/data/m.h5"}, pretrain=rec.pretrain,
                       folder=tmp_path)
    pre = [r for r in runs if r.pretrain is not None]
    plain = [r for r in runs if r.pretrain is None]
    assert len(pre) == 2 and len(plain) == 2
    (p,) = grid.pretrainings(runs)
    assert p.name == "pretrain-m-sigmoid-standard-d2-w8-spl40"
    assert p.config == PretrainConfig(data="/data/m.h5", activation="sigmoid", init="standard",
                                      depth=2, width=8, threads=1, steps_per_layer=40,
                                      log_every=20, eval_size=50)
    for r in pre:
        assert r.name.endswith("-pre") and r.config.init_from == str(tmp_path / f"{p.name}.h5")
    assert all(r.config.init_from is None and not r.name.endswith("-pre") for r in plain)
    assert {r.network for r in pre}.isdisjoint({r.network for r in plain})
    with pytest.raises(GlorotError, match=r"\[pretrain\]: unknown setting 'depth'"):
        recipes.parse(RECIPE.replace("[pretrain]", "[pretrain]\ndepth = 3"), where="r.toml",
                      name="r")
    paper = recipes.load("paper")
    shipped = grid.pretrainings(grid.expand(paper.blocks, {"mnist": "m.h5", "cifar10": "c.h5"},
                                            pretrain=paper.pretrain, folder=tmp_path))
    assert {(q.config.activation, q.config.depth, q.config.online) for q in shipped} == {
        ("sigmoid", 4, True), ("sigmoid", 5, True)}


def test_a_sweep_pre_trains_first_then_fine_tunes_and_a_second_has_nothing_to_do(
        tmp_path, data_file):
    from glorotcli.run import sweep

    recipe = tmp_path / "r.toml"
    recipe.write_text(RECIPE)
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "glorotcli", "sweep", "--recipe", str(recipe), "--data",
           str(data_file), "-o", str(out), "--jobs", "2", "--no-progress"]
    first = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert first.returncode == 0, first.stderr
    assert "first 1 pre-training (1 new" in first.stderr
    pre = read_pretrain(out / "pretrain-tiny-sigmoid-standard-d2-w8-spl40.h5")
    assert pre.status == "finished" and pre.layers_done == 2
    for lr in ("0.01", "0.1"):
        run = read_run(out / f"tiny-sigmoid-standard-d2-w8-lr{lr}-pre.h5")
        assert run.status == "finished" and run.config["init_from"] == str(pre.path)
        with h5py.File(run.path) as f:  # started from the pre-trained layers
            assert f["weights/init/W1"][()].tobytes() == pre.W[1].tobytes()
        assert read_run(out / f"tiny-sigmoid-standard-d2-w8-lr{lr}.h5").config[
            "init_from"] is None
    labels = {n["network"] for n in sweep.read_summary(out)["networks"]}
    assert labels == {"Pre-training (Sigmoid), 2 x 8, tiny", "Sigmoid, 2 x 8, tiny"}
    stamps = {p.name: p.stat().st_mtime_ns for p in out.glob("*.h5")}
    again = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    assert "4 runs (4 finished)" in again.stderr and "(1 finished;" in again.stderr
    assert stamps == {p.name: p.stat().st_mtime_ns for p in out.glob("*.h5")}
