"""``glorot train``'s options checked through what they do to the run file, against values
computed here from the stored weights and data with the slow twins of tests/reference.py.

The runs are tiny (one or two hidden layers of 8 units, float64 so the reference agrees to
rounding) and the files are read with h5py as docs/formats.md describes them.
"""

from __future__ import annotations

import json

import h5py
import numpy as np
import pytest
import reference as R
from helpers import make_data

BASE = ["--depth", "2", "--width", "8", "--threads", "1", "--dtype", "float64", "--lr", "0.3",
        "--batch-size", "10"]


@pytest.fixture(scope="module")
def data_file(tmp_path_factory):
    # low contrast: the validation error moves up and down, so the best is not the last
    return make_data(tmp_path_factory.mktemp("flags") / "d.h5", contrast=12)


def _split(data_file, name):
    with h5py.File(data_file, "r") as f:
        return f[f"{name}/x"][()], f[f"{name}/y"][()]


def _pixels(x, scale):
    """uint8 pixels as the net must see them (docs/training.md, --input-scale)."""
    x = np.asarray(x, np.float64)
    return x / 255 if scale == "0,1" else 2 * x / 255 - 1


def _weights(path, where="init"):
    """(W, b) lists: the initial weights, or the resume point's (the checkpoint slot with the
    larger step)."""
    with h5py.File(path, "r") as f:
        if where == "init":
            g = f["weights/init"]
        else:
            g = max((f[s] for s in ("checkpoint", "checkpoint_b") if s in f),
                    key=lambda s: s["step"][()])
        L = len(f.attrs["sizes"]) - 1
        return [g[f"W{i}"][()] for i in range(L)], [g[f"b{i}"][()] for i in range(L)]


def _log(path):
    with h5py.File(path, "r") as f:
        n = len(f["log/step"])
        return {k: f[f"log/{k}"][:n] for k in f["log"]}


def _config(path):
    with h5py.File(path, "r") as f:
        return json.loads(f.attrs["config"]), f.attrs["input_scale"]


def _train(run_cli, data_file, out, *flags, seed=4):
    code, stdout, err = run_cli("train", "--data", data_file, *BASE, "--seed", seed, *flags,
                                "-o", out)
    assert code == 0, err
    return stdout


# ------------------------------------------------------------------ --json summary ----

def test_json_summary_fields_are_the_runs_own_numbers(run_cli, tmp_path, data_file):
    out = tmp_path / "r.h5"
    # seed 1: the lowest validation error comes twice, at steps 54 and 58, neither the last
    s = json.loads(_train(run_cli, data_file, out, "--steps", "60", "--eval-every", "2",
                          "--log-every", "2", "--json", seed=1))
    assert set(s) == {"path", "status", "steps", "total_steps", "examples_seen", "train_loss",
                      "valid_error", "test_error", "best_valid_error", "best_valid_step",
                      "test_error_at_best_valid", "majority_error", "wall_seconds",
                      "probe_seconds", "jacobian_seconds", "eval_seconds", "probe_fraction",
                      "steps_per_second", "threads"}
    assert s["path"] == str(out) and s["status"] == "finished"
    assert s["steps"] == s["total_steps"] == 60 and s["examples_seen"] == 600
    log = _log(out)
    assert s["train_loss"] == log["train_loss"][-1]
    # the final errors: the final weights evaluated here, one example at a time
    W, b = _weights(out, "last")
    vx, vy = _split(data_file, "valid")
    tx, ty = _split(data_file, "test")
    assert s["valid_error"] == R.ref_error_rate(W, b, "tanh", _pixels(vx, "0,1"), vy)
    assert s["test_error"] == R.ref_error_rate(W, b, "tanh", _pixels(tx, "0,1"), ty)
    # the best validation error is the lowest logged one (the first of equal ones, as glorot
    # inspect reports it), with its step and the test error measured at that step
    valid = np.where(np.isfinite(log["valid_error"]), log["valid_error"], np.inf)
    lowest = np.flatnonzero(valid == valid.min())
    assert len(lowest) == 2 and lowest[-1] < len(valid) - 1  # the run this test needs
    i = lowest[0]
    assert s["best_valid_error"] == log["valid_error"][i]
    assert s["best_valid_step"] == log["step"][i]
    assert s["test_error_at_best_valid"] == log["test_error"][i]
    assert len({log["test_error"][j] for j in (*lowest, -1)}) == 3  # so the choice shows
    # ... and a run stopped at that step (the same minibatches) has exactly those errors
    cut = tmp_path / "cut.h5"
    _train(run_cli, data_file, cut, "--steps", str(s["best_valid_step"]), seed=1)
    Wc, bc = _weights(cut, "last")
    assert R.ref_error_rate(Wc, bc, "tanh", _pixels(vx, "0,1"), vy) == s["best_valid_error"]
    assert R.ref_error_rate(Wc, bc, "tanh", _pixels(tx, "0,1"), ty) == \
        s["test_error_at_best_valid"]
    # the majority-class error of the test split (where the probes come from)
    assert s["majority_error"] == 1 - np.bincount(ty).max() / len(ty)
    # the timers are the log's at its last row; the wall clock ran on to the final checkpoint
    for key in ("probe_seconds", "jacobian_seconds", "eval_seconds"):
        assert s[key] == log[key][-1] and s[key] > 0, key
    assert s["wall_seconds"] >= log["wall_time"][-1] > 0
    assert s["probe_fraction"] == s["probe_seconds"] / s["wall_seconds"]
    training = s["wall_seconds"] - s["probe_seconds"] - s["jacobian_seconds"] - s["eval_seconds"]
    assert s["steps_per_second"] == pytest.approx(60 / training, rel=0.05)  # two clock reads
    with h5py.File(out, "r") as f:
        assert s["threads"] == f.attrs["threads"] == 1


# ---------------------------------------------------------------- --input-scale ----

def _replay(W, b, data_file, steps, scale, lr=0.3, B=10, seed=4):
    """SGD as docs/training.md defines the data order: minibatch k is positions [kB, (k+1)B)
    of the stream whose pass e is the permutation drawn from child e of the `order` stream,
    the second of SeedSequence(seed).spawn(5); each step with reference.ref_sgd_step."""
    x, y = _split(data_file, "train")

    def child(e):  # spawn() counts the children it made: start from the seed each time
        return np.random.SeedSequence(seed).spawn(5)[1].spawn(e + 1)[e]

    W, b = [w.copy() for w in W], [v.copy() for v in b]
    for k in range(steps):
        pos = np.arange(k * B, (k + 1) * B)
        passes = {e: np.random.default_rng(child(e)).permutation(len(y))
                  for e in set(pos // len(y))}
        idx = np.array([passes[p // len(y)][p % len(y)] for p in pos])
        R.ref_sgd_step(W, b, "tanh", _pixels(x[idx], scale), y[idx], lr, "nll")
    return W, b


def test_input_scale_minus_one_one_is_what_the_net_trains_and_is_probed_on(run_cli, tmp_path,
                                                                            data_file):
    out = tmp_path / "r.h5"
    _train(run_cli, data_file, out, "--steps", "45", "--input-scale", "-1,1")  # 1.1 passes
    config, scale = _config(out)
    assert config["input_scale"] == scale == "-1,1"
    W0, b0 = _weights(out, "init")
    W, b = _weights(out, "last")
    for scale, same in (("-1,1", True), ("0,1", False)):
        Wr, br = _replay(W0, b0, data_file, 45, scale)
        close = all(np.allclose(u, v, rtol=0, atol=1e-11) for u, v in zip(W + b, Wr + br,
                                                                          strict=True))
        assert close == same, scale
    # the probes at step 0 saw 2x/255 - 1 too
    with h5py.File(out, "r") as f:
        px = f["probe/x"][()]
        mean0 = f["layers/act/mean"][0]
    z1 = R.ref_act("tanh", _pixels(px, "-1,1") @ W0[0] + b0[0])
    assert mean0[0] == pytest.approx(z1.mean(), rel=1e-12)
    assert z1.mean() != pytest.approx(R.ref_act("tanh", _pixels(px, "0,1") @ W0[0]
                                                + b0[0]).mean(), rel=1e-3)


# ------------------------------------------------------------------ --eval-size ----

def test_eval_size_evaluates_the_first_n_examples_of_valid_and_test(run_cli, tmp_path,
                                                                    data_file):
    out = tmp_path / "r.h5"
    _train(run_cli, data_file, out, "--steps", "20", "--eval-every", "20", "--eval-size", "37")
    assert _config(out)[0]["eval_size"] == 37
    log = _log(out)
    assert log["step"].tolist() == [0, 20]
    differs = False
    for row, where in ((0, "init"), (-1, "last")):
        W, b = _weights(out, where)
        for split in ("valid", "test"):
            x, y = _split(data_file, split)
            first = R.ref_error_rate(W, b, "tanh", _pixels(x[:37], "0,1"), y[:37])
            assert log[f"{split}_error"][row] == first, (split, where)
            differs |= first != R.ref_error_rate(W, b, "tanh", _pixels(x, "0,1"), y)
    assert differs  # the whole split would have given another number


# ------------------------------------------------------------------ --probe-size ----

def test_probe_size_keeps_and_measures_the_first_n_test_examples(run_cli, tmp_path, data_file):
    out = tmp_path / "r.h5"
    _train(run_cli, data_file, out, "--steps", "10", "--probe-size", "23")
    assert _config(out)[0]["probe_size"] == 23
    tx, ty = _split(data_file, "test")
    W0, b0 = _weights(out, "init")
    with h5py.File(out, "r") as f:
        np.testing.assert_array_equal(f["probe/x"][()], tx[:23])
        np.testing.assert_array_equal(f["probe/y"][()], ty[:23])
        std0 = f["layers/act/std"][0]
    z = _pixels(tx[:23], "0,1")
    for j in range(2):  # the statistics at step 0 pool exactly those 23 examples
        z = R.ref_act("tanh", z @ W0[j] + b0[j])
        assert std0[j] == pytest.approx(z.std(), rel=1e-12)


# ------------------------------------------------------------------ --probe-bins ----

def test_probe_bins_sets_the_histogram_edges_and_bins(run_cli, tmp_path, data_file):
    out = tmp_path / "r.h5"
    _train(run_cli, data_file, out, "--steps", "10", "--probe-bins", "17")
    assert _config(out)[0]["probe_bins"] == 17
    W0, b0 = _weights(out, "init")
    with h5py.File(out, "r") as f:
        edges = {q: f[f"layers/{q}/hist"].attrs["edges"] for q in ("act", "bgrad", "wgrad")}
        hist = f["layers/act/hist"][()]
        px = f["probe/x"][()]
    # docs/training.md: activations on [-1, 1] for tanh, back-propagated gradients +-0.3 and
    # weight gradients +-0.15 under the normalized init
    np.testing.assert_allclose(edges["act"], np.linspace(-1, 1, 18), rtol=0, atol=1e-15)
    np.testing.assert_allclose(edges["bgrad"], np.linspace(-0.3, 0.3, 18), rtol=0, atol=1e-15)
    np.testing.assert_allclose(edges["wgrad"], np.linspace(-0.15, 0.15, 18), rtol=0, atol=1e-15)
    assert hist.shape == (2, 2, 17)  # (probes at steps 0 and 10, layers, bins)
    z = _pixels(px, "0,1")
    for j in range(2):
        z = R.ref_act("tanh", z @ W0[j] + b0[j])
        counts = np.histogram(z, np.linspace(-1, 1, 18))[0]
        np.testing.assert_allclose(hist[0, j], counts / z.size, rtol=0, atol=1e-15)


# ------------------------------------------------------------ --jacobian-examples ----

def test_jacobian_examples_averages_over_the_first_n_probe_examples(run_cli, tmp_path,
                                                                   data_file):
    out = tmp_path / "r.h5"
    _train(run_cli, data_file, out, "--steps", "10", "--jacobian-examples", "3")
    assert _config(out)[0]["jacobian_examples"] == 3
    W0, b0 = _weights(out, "init")
    with h5py.File(out, "r") as f:
        assert f["layers/jacobian/step"][()].tolist() == [0]
        sv_mean, sv_std, sv = (f[f"layers/jacobian/{k}"][0] for k in ("sv_mean", "sv_std", "sv"))
        px = f["probe/x"][()]
    x = _pixels(px, "0,1")
    ref_mean, ref_std, ref_sv = R.ref_singular_values(W0, b0, "tanh", x[:3])
    np.testing.assert_allclose(sv_mean, ref_mean, rtol=1e-9)
    np.testing.assert_allclose(sv_std, ref_std, rtol=1e-7)
    np.testing.assert_allclose(sv[0], ref_sv[0], rtol=1e-9)
    all_mean = R.ref_singular_values(W0, b0, "tanh", x[:20])[0]  # the default, 20 examples
    assert not np.allclose(all_mean, ref_mean, rtol=1e-3)
