"""Initial weights: the paper's bounds and variances (eq. 1, 12, 15, 16), plus he and lecun."""

from __future__ import annotations

import numpy as np
import pytest

from glorotcli.errors import GlorotError
from glorotcli.nn.init import INITS, bound, init_mlp

FAN_IN, FAN_OUT = 600, 400


@pytest.mark.parametrize("init, var", [
    ("standard", 1 / (3 * FAN_IN)),               # eq. 15: n Var[W] = 1/3
    ("normalized", 2 / (FAN_IN + FAN_OUT)),       # eq. 12
    ("he", 2 / FAN_IN),
    ("lecun", 1 / FAN_IN),
])
def test_every_init_has_its_bound_and_variance(init, var):
    net = init_mlp((FAN_IN, FAN_OUT, 3), "tanh", init, np.random.default_rng(0), np.float64)
    W = net.W[0]
    a = bound(init, FAN_IN, FAN_OUT)
    assert np.sqrt(3 * var) == pytest.approx(a)  # Var[U[-a, a]] = a^2 / 3
    assert np.abs(W).max() <= a
    assert np.abs(W).max() > 0.999 * a
    assert W.var() == pytest.approx(var, rel=0.02)  # 240k draws: std error of var ~0.3 %
    assert abs(W.mean()) < 0.01 * np.sqrt(var)


def test_standard_init_gives_n_var_one_third_at_every_layer():
    net = init_mlp((300, 500, 200, 9), "tanh", "standard", np.random.default_rng(1), np.float64)
    for W in net.W[:2]:
        assert W.shape[0] * W.var() == pytest.approx(1 / 3, rel=0.03)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_biases_start_at_zero_and_dtype_is_kept(dtype):
    net = init_mlp((5, 4, 3), "sigmoid", "normalized", np.random.default_rng(0), dtype)
    assert all(b.dtype == dtype and not b.any() for b in net.b)
    assert all(W.dtype == dtype and W.flags.c_contiguous for W in net.W)
    assert [W.shape for W in net.W] == [(5, 4), (4, 3)]


def test_same_seed_gives_the_same_net():
    a = init_mlp((7, 6, 3), "tanh", "standard", np.random.default_rng(42))
    b = init_mlp((7, 6, 3), "tanh", "standard", np.random.default_rng(42))
    assert all(np.array_equal(x, y) for x, y in zip(a.W, b.W, strict=True))


def test_normalized_init_keeps_backprop_variance_flatter_than_standard():
    """Paper §4.2.1: with standard init the back-propagated variance shrinks by
    n Var[W] = 1/3 per layer (linear regime); normalized keeps it about constant."""
    ratios = {}
    for init in ("standard", "normalized"):
        net = init_mlp((500,) * 6, "tanh", init, np.random.default_rng(3), np.float64)
        g = np.random.default_rng(4).standard_normal((200, 500))
        var = [g.var()]
        for W in net.W[::-1]:
            g = g @ W.T
            var.append(g.var())
        ratios[init] = var[-1] / var[0]
    assert ratios["standard"] == pytest.approx((1 / 3) ** 5, rel=0.2)
    assert ratios["normalized"] == pytest.approx(1.0, rel=0.2)


def test_bad_arguments_are_user_errors():
    rng = np.random.default_rng(0)
    with pytest.raises(GlorotError, match="init must be one of"):
        init_mlp((5, 3), "tanh", "xavier", rng)
    with pytest.raises(GlorotError, match="activation must be one of"):
        init_mlp((5, 3), "gelu", "standard", rng)
    with pytest.raises(GlorotError, match="dtype"):
        init_mlp((5, 3), "tanh", "standard", rng, np.int32)
    with pytest.raises(GlorotError, match="layer sizes"):
        init_mlp((5,), "tanh", "standard", rng)
    assert set(INITS) == {"standard", "normalized", "he", "lecun"}
