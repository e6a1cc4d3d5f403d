"""Activation functions: values, derivatives, and the float32 tanh approximation."""

from __future__ import annotations

import numpy as np
import pytest
from reference import ref_act, ref_act_grad

from glorotcli.errors import GlorotError
from glorotcli.nn import activations as A
from glorotcli.nn import kernels as K

S = np.linspace(-9, 9, 2001)
S = S[np.abs(S) > 1e-3]  # keep relu's kink out of the finite differences


def _kernel_values(name, s, approx):
    """z = f(s) through the kernels' scalar forms (via _bias_act)."""
    s2 = np.ascontiguousarray(s.reshape(1, -1))
    z = np.empty_like(s2)
    K._bias_act(s2, np.zeros(s2.shape[1], s2.dtype), z, A.code(name), approx)
    return z[0]


@pytest.mark.parametrize("name", A.ACTIVATIONS)
def test_reference_derivatives_are_the_finite_differences_of_the_reference_values(name):
    # the closed forms in reference.py against its own values: neither is taken from the product
    h = 1e-6
    fd = (ref_act(name, S + h) - ref_act(name, S - h)) / (2 * h)
    np.testing.assert_allclose(ref_act_grad(name, S), fd, rtol=0, atol=1e-8)


def test_reference_values_at_known_points():
    s = np.array([-np.inf, -800.0, np.log(3), 0.0, 800.0, np.inf])
    np.testing.assert_allclose(ref_act("sigmoid", s), [0, 0, 0.75, 0.5, 1, 1], rtol=1e-15)
    np.testing.assert_allclose(ref_act("tanh", s), [-1, -1, 0.8, 0, 1, 1], rtol=1e-15)
    np.testing.assert_allclose(ref_act("tanh", S), np.tanh(S), rtol=1e-15, atol=0)
    np.testing.assert_allclose(ref_act("softsign", [-3.0, 1.0]), [-0.75, 0.5], rtol=1e-15)
    np.testing.assert_array_equal(ref_act("relu", [-2.0, 0.0, 1.5]), [0.0, 0.0, 1.5])
    np.testing.assert_allclose(ref_act_grad("tanh", [np.log(3)]), [1 - 0.8**2], rtol=1e-15)
    np.testing.assert_allclose(ref_act_grad("sigmoid", [np.log(3)]), [0.75 * 0.25], rtol=1e-15)


@pytest.mark.parametrize("name", A.ACTIVATIONS)
def test_numpy_forms_match_the_reference_values_and_derivatives(name):
    # values agree to a few ulp (the two compute them by different formulas); f'(s) from z
    # loses accuracy where f saturates (1 - z^2 near |z| = 1): absolute, not relative, there
    np.testing.assert_allclose(A.act(name, S), ref_act(name, S), rtol=1e-15, atol=1e-15)
    np.testing.assert_allclose(A.act_grad(name, S, A.act(name, S)), ref_act_grad(name, S),
                               rtol=1e-14, atol=1e-15)


@pytest.mark.parametrize("name", A.ACTIVATIONS)
def test_kernel_forms_match_exact_math_in_float64(name):
    np.testing.assert_allclose(_kernel_values(name, S, False), ref_act(name, S), rtol=1e-15,
                               atol=1e-16)
    z = _kernel_values(name, S, False).reshape(1, -1)
    g = np.ones_like(z)
    K._grad_act(g, S.reshape(1, -1).copy(), z, A.code(name))
    np.testing.assert_allclose(g[0], ref_act_grad(name, S), rtol=1e-14, atol=1e-15)


def test_tanh_approximation_error_is_below_the_documented_bound():
    x = np.linspace(-12, 12, 400_001).astype(np.float32)
    approx = _kernel_values("tanh", x, True)
    err = np.abs(approx.astype(np.float64) - np.tanh(x.astype(np.float64))).max()
    assert err < A.TANH_APPROX_MAX_ERROR
    assert np.all(np.abs(approx) <= 1)
    # float32 rounding makes it wobble by a few ulp near +-1, never more
    assert np.diff(approx).min() > -4e-7


def test_sigmoid_approximation_via_tanh_is_close_to_exact():
    x = np.linspace(-30, 30, 100_001).astype(np.float32)
    approx = _kernel_values("sigmoid", x, True)
    exact = 1 / (1 + np.exp(-x.astype(np.float64)))
    assert np.abs(approx - exact).max() < A.TANH_APPROX_MAX_ERROR


def test_derivatives_at_zero_are_the_papers():
    zero = np.zeros(1)
    got = {n: float(A.act_grad(n, zero, A.act(n, zero))[0]) for n in ("sigmoid", "tanh",
                                                                         "softsign")}
    assert got == {"sigmoid": 0.25, "tanh": 1.0, "softsign": 1.0}


def test_unknown_activation_is_a_user_error():
    with pytest.raises(GlorotError, match="activation must be one of"):
        A.code("swish")
    with pytest.raises(GlorotError):
        A.act("swish", S)
