"""The MLP API contract that training and probes use."""

from __future__ import annotations

import numpy as np
import pytest
from reference import ref_error_rate, ref_gradients, ref_sgd_step

from glorotcli.errors import GlorotError
from glorotcli.nn import mlp
from glorotcli.nn.init import init_mlp

SIZES = (16, 12, 12, 5)


def _setup(dtype=np.float64, B=8, activation="tanh"):
    net = init_mlp(SIZES, activation, "normalized", np.random.default_rng(0), dtype)
    rng = np.random.default_rng(1)
    return net, rng.uniform(0, 1, (B, SIZES[0])).astype(dtype), rng.integers(0, SIZES[-1], B)


def test_forward_returns_every_layer_in_the_papers_notation():
    net, x, y = _setup()
    f = mlp.forward(net, x)
    assert [s.shape for s in f.s] == [(8, 12), (8, 12), (8, 5)]
    assert [z.shape for z in f.z] == [(8, 16), (8, 12), (8, 12)]
    np.testing.assert_array_equal(f.z[0], x)
    np.testing.assert_allclose(f.z[1], np.tanh(x @ net.W[0] + net.b[0]), atol=1e-14)
    np.testing.assert_allclose(f.p.sum(axis=1), 1)


def test_sgd_step_returns_the_cost_before_the_update_and_changes_the_net():
    net, x, y = _setup()
    before = net.copy()
    expected = ref_gradients(before.W, before.b, "tanh", x, y, "nll")[0]
    assert mlp.sgd_step(net, x, y, 0.1) == pytest.approx(expected, rel=1e-12)
    assert not np.array_equal(net.W[0], before.W[0])
    assert mlp.loss(mlp.forward(net, x).p, y) < expected


@pytest.mark.parametrize("dtype, tol", [(np.float32, 1e-6), (np.float64, 1e-13)])
@pytest.mark.parametrize("cost", ["nll", "quadratic"])
def test_sgd_steps_match_the_reference_sgd_step(dtype, tol, cost):
    # Trainer.step is compared with the reference over many steps in test_kernels.py; this is
    # the one-call function, with the weights after each step, not only the returned cost
    net, x, y = _setup(dtype)
    ref_W, ref_b = [w.astype(np.float64) for w in net.W], [v.astype(np.float64) for v in net.b]
    for _ in range(3):
        expected = ref_sgd_step(ref_W, ref_b, "tanh", x.astype(np.float64), y, 0.5, cost)
        assert mlp.sgd_step(net, x, y, 0.5, cost=cost, threads=1) == pytest.approx(
            expected, rel=10 * tol)
        for got, want in zip(net.W + net.b, ref_W + ref_b, strict=True):
            np.testing.assert_allclose(got, want, rtol=0, atol=tol)


def test_trainer_picks_the_fused_path_up_to_the_crossover():
    net, _, _ = _setup()
    trainer = mlp.Trainer(net, threads=1)
    assert trainer.path_for(1) == "fused"
    assert trainer.path_for(mlp.crossover(1)) == "fused"
    assert trainer.path_for(mlp.crossover(1) + 1) == "blas"
    assert mlp.Trainer(net, threads=1, path="blas").path_for(1) == "blas"


def test_evaluate_matches_the_slow_cost_and_counts_errors():
    net, x, y = _setup(B=37)
    loss, err = mlp.evaluate(net, x, y, batch=10)
    assert loss == pytest.approx(ref_gradients(net.W, net.b, "tanh", x, y, "nll")[0], rel=1e-12)
    assert err == ref_error_rate(net.W, net.b, "tanh", x, y) and err not in (0, 0.5, 1)
    qloss, _ = mlp.evaluate(net, x, y, cost="quadratic", batch=1000)
    assert qloss == pytest.approx(ref_gradients(net.W, net.b, "tanh", x, y, "quadratic")[0])


def test_uint8_inputs_are_converted_unscaled():
    net, _, y = _setup()
    x8 = np.random.default_rng(5).integers(0, 2, (8, SIZES[0]), dtype=np.uint8)
    f = mlp.forward(net, x8)
    assert f.z[0].dtype == np.float64
    np.testing.assert_array_equal(f.z[0], x8)


def test_backward_weight_gradients_match_the_reference():
    net, x, y = _setup()
    bwd = mlp.backward(net, mlp.forward(net, x), y, "nll")
    _, dW, db = ref_gradients(net.W, net.b, "tanh", x, y, "nll")
    for i in range(3):
        np.testing.assert_allclose(bwd.dW[i], dW[i], atol=1e-14)
        np.testing.assert_allclose(bwd.db[i], db[i], atol=1e-14)


def test_activation_functions_are_reexported():
    s = np.linspace(-2, 2, 5)
    np.testing.assert_allclose(mlp.act("softsign", s), s / (1 + abs(s)))
    np.testing.assert_allclose(mlp.act_grad("tanh", s, np.tanh(s)), 1 - np.tanh(s) ** 2)


def test_use_threads_sets_numba_and_blas_and_restores_them():
    import numba
    from threadpoolctl import threadpool_info

    from glorotcli.nn.threads import use_threads

    def blas():
        return [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]

    before_numba, before_blas = numba.get_num_threads(), blas()
    with use_threads(1, blas=1):
        assert numba.get_num_threads() == 1
        assert set(blas()) <= {1}
    assert numba.get_num_threads() == before_numba and blas() == before_blas


def test_backward_rejects_labels_out_of_range():
    from glorotcli.errors import GlorotError

    net, x, y = _setup()
    with pytest.raises(GlorotError, match="labels must be in"):
        mlp.backward(net, mlp.forward(net, x), y + SIZES[-1])


@pytest.mark.parametrize("preset, expected", [
    ({}, ("PASSIVE", "3000")),
    ({"OMP_WAIT_POLICY": "ACTIVE"}, ("ACTIVE", None)),
    ({"GOMP_SPINCOUNT": "10"}, (None, "10")),
])
def test_openmp_wait_policy_default_respects_the_users_setting(preset, expected):
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")}
    env.update(preset)
    code = ("import os, glorotcli.environment as e; e.prepare(); "
            "print(os.environ.get('OMP_WAIT_POLICY'), os.environ.get('GOMP_SPINCOUNT'))")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True).stdout.split()
    assert out == [str(v) for v in expected]


def test_child_processes_can_get_the_environment_without_glorots_openmp_settings():
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")}
    code = ("import os, glorotcli.environment as t; assert 'GOMP_SPINCOUNT' not in os.environ; "
            "import glorotcli.run.train; assert 'GOMP_SPINCOUNT' not in os.environ; "
            "t.prepare(); f = t.foreign_environment(); "
            "print(os.environ['GOMP_SPINCOUNT'], 'GOMP_SPINCOUNT' in f, 'OMP_WAIT_POLICY' in f)")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True).stdout.split()
    assert out == ["3000", "False", "False"]
    env["OMP_WAIT_POLICY"] = "ACTIVE"  # the user's own setting is passed on
    code = ("import glorotcli.environment as t; t.prepare(); "
            "print(t.foreign_environment()['OMP_WAIT_POLICY'])")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True).stdout.split()
    assert out == ["ACTIVE"]


def test_an_unknown_cost_raises_instead_of_computing_another():
    p = np.full((2, 3), 1 / 3)
    with pytest.raises(GlorotError, match="cost"):
        mlp.loss(p, np.array([0, 1]), cost="hinge")


def test_an_unknown_input_scale_raises_instead_of_mapping_to_minus_one_one():
    from glorotcli.data.pixels import scale_inputs

    x = np.array([[0, 255]], np.uint8)
    np.testing.assert_array_equal(scale_inputs(x, np.float64, "-1,1"), [[-1.0, 1.0]])
    np.testing.assert_array_equal(scale_inputs(x, np.float64, "0,1"), [[0.0, 1.0]])
    with pytest.raises(GlorotError, match="--input-scale"):
        scale_inputs(x, np.float64, "0,255")
