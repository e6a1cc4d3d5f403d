"""The theory module (glorotcli/stats/theory.py) against independent references: Gauss-Hermite
quadrature, Monte Carlo, closed forms, random matrices, and the statistics the probes measure
on nets built here (wide, at initialisation), including the paper's Jacobian values (§4.2.2)
and its eq. 5 in the small-input limit."""

from __future__ import annotations

import dataclasses
import functools
import math

import numpy as np
import pytest
from numpy.polynomial.hermite_e import hermegauss

from glorotcli.errors import GlorotError
from glorotcli.nn.init import init_mlp
from glorotcli.stats import probes
from glorotcli.stats import theory as T
from glorotcli.stats.jacobian import jacobian_singular_values

ACTS = ("tanh", "softsign", "sigmoid", "relu")
INITS = ("standard", "normalized", "he", "lecun")


def _f(name, s):
    """Each activation and its derivative written out here (not the project's)."""
    if name == "tanh":
        return np.tanh(s), 1 - np.tanh(s) ** 2
    if name == "sigmoid":
        z = 0.5 * (1 + np.tanh(s / 2))
        return z, z * (1 - z)
    if name == "softsign":
        return s / (1 + np.abs(s)), 1 / (1 + np.abs(s)) ** 2
    return np.maximum(s, 0), (s > 0).astype(float)


def _phi(x):
    return 0.5 * math.erfc(-x / math.sqrt(2))


# ------------------------------------------------------------ Gaussian expectations ----

@pytest.mark.parametrize("q", [1e-4, 0.3, 1.0])
def test_expectations_match_gauss_hermite_for_smooth_integrands(q):
    x, w = hermegauss(120)
    w = w / math.sqrt(2 * math.pi)
    for fn in (lambda s: np.tanh(s) ** 2, lambda s: 1 / (1 + np.exp(-s)), np.cos,
               lambda s: (1 - np.tanh(s) ** 2) ** 2):
        ref = float(np.sum(w * fn(math.sqrt(q) * x)))
        assert T.gaussian_expectation(fn, q) == pytest.approx(ref, rel=1e-9, abs=1e-14)


@pytest.mark.parametrize("activation", ACTS)
def test_moments_match_monte_carlo(activation):
    rng = np.random.default_rng(7)
    u = rng.standard_normal(2_000_000)
    for q in (0.05, 1.0, 6.0):
        z, fp = _f(activation, math.sqrt(q) * u)
        got = T.moments(activation, q)
        for g, sample in zip(got, (z, z * z, fp * fp), strict=True):
            se = sample.std() / math.sqrt(len(sample))
            assert abs(g - sample.mean()) < 5 * se + 1e-12, (activation, q)


def test_moments_match_closed_forms():
    for q in (1e-3, 0.7, 40.0):
        s = T.gaussian_expectation(lambda s: s * s, q)
        assert s == pytest.approx(q, rel=1e-12)  # linear: E[(sqrt(q) u)^2] = q
        assert T.gaussian_expectation(lambda s: s ** 4, q) == pytest.approx(3 * q * q, rel=1e-12)
        m1, m2, fp2 = T.moments("relu", q)
        assert m2 == pytest.approx(q / 2, rel=1e-12)
        assert m1 == pytest.approx(math.sqrt(q / (2 * math.pi)), rel=1e-10)
        assert fp2 == pytest.approx(0.5, rel=1e-12)
        m1, _, _ = T.moments("tanh", q)
        assert abs(m1) < 1e-14
        m1, _, _ = T.moments("sigmoid", q)
        assert m1 == pytest.approx(0.5, rel=1e-12)  # sigmoid(s) - 1/2 is odd


def test_moments_stay_accurate_for_large_variances():
    # a sharp tanh (q = 400) and softsign's kink at 0, against a fine trapezoid rule
    u = np.linspace(-12, 12, 2_400_001)
    phi = np.exp(-u * u / 2) / math.sqrt(2 * math.pi)
    du = u[1] - u[0]
    for activation in ("tanh", "softsign"):
        _, fp = _f(activation, 20.0 * u)
        ref = float(np.sum(fp * fp * phi) * du)
        assert T.moments(activation, 400.0)[2] == pytest.approx(ref, rel=1e-6)


def test_saturation_mass_is_the_gaussian_mass_beyond_the_probes_bounds():
    for q in (0.2, 1.0, 9.0):
        a = math.atanh(0.97)  # tanh: |z| > 0.97
        assert T.saturation_mass("tanh", q) == pytest.approx(2 * _phi(-a / math.sqrt(q)),
                                                             rel=1e-9)
        b = math.log(0.97 / 0.03)  # sigmoid: z < 0.03 or z > 0.97
        assert T.saturation_mass("sigmoid", q) == pytest.approx(2 * _phi(-b / math.sqrt(q)),
                                                                rel=1e-9)
        c = 0.97 / 0.03  # softsign: |s| / (1 + |s|) > 0.97
        assert T.saturation_mass("softsign", q) == pytest.approx(
            2 * _phi(-c / math.sqrt(q)), rel=1e-9, abs=1e-300)
        assert T.saturation_mass("relu", q) == pytest.approx(0.5, abs=1e-12)
    assert T.saturation_mass("relu", 0.0) == 1.0  # relu(0) = 0 is on the flat side


# ------------------------------------------------------------------ output delta ----

@pytest.mark.parametrize("K", [2, 9])
def test_output_delta_matches_monte_carlo(K):
    rng = np.random.default_rng(3)
    assert T.output_delta_sq(0.0, K) == pytest.approx(1 - 1 / K, rel=1e-12)
    for q in (0.4, 3.0):
        s = rng.standard_normal((400_000, K)) * math.sqrt(q)
        p = np.exp(s - s.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        y = rng.integers(0, K, len(p))
        p[np.arange(len(p)), y] -= 1
        d = (p * p).sum(axis=1)
        assert abs(float(T.output_delta_sq(q, K)) - d.mean()) < 5 * d.std() / math.sqrt(len(d))


def test_quadratic_cost_delta_at_uniform_output():
    # softmax + (p - t)^2 at p = 1/K: dC/ds_c = (2/K)(1/K - t_c), written out
    K = 9
    t = np.eye(K)[0]
    d = (2 / K) * (1 / K - t)
    assert float(T.output_delta_sq(0.5, K, "quadratic")) == pytest.approx((d * d).sum())


# ----------------------------------------------------------------- singular values ----

def _mp_mean_sv(ratio):
    """Mean singular value of a p x N iid matrix of entry variance 1/N, p/N = ratio <= 1, over
    its p singular values: integral of sqrt(x) against the Marchenko-Pastur density."""
    a, b = (1 - math.sqrt(ratio)) ** 2, (1 + math.sqrt(ratio)) ** 2
    t = np.linspace(0, math.pi, 200_001)  # x = (a+b)/2 - (b-a)/2 cos t: no edge singularity
    x = (a + b) / 2 - (b - a) / 2 * np.cos(t)
    dens = np.sqrt(np.maximum((b - x) * (x - a), 0)) / (2 * math.pi * ratio * x)
    dx = (b - a) / 2 * np.sin(t)
    g = np.sqrt(x) * dens * dx
    return float(np.sum(g[1:] + g[:-1]) / 2 * (t[1] - t[0]))


def test_square_iid_jacobian_has_the_quarter_circle_mean():
    one = np.ones(1)
    assert float(T.mean_singular_value(one, one, 1 / 500, 500, 500)) == pytest.approx(
        8 / (3 * math.pi), rel=1e-9)
    assert float(T.mp_mean_singular_value(2.0, 300, 300)) == pytest.approx(
        8 / (3 * math.pi) * math.sqrt(2.0), rel=1e-9)


def test_rectangular_and_relu_jacobians_match_marchenko_pastur():
    one = np.ones(1)
    for n_in, n_out in ((1000, 500), (500, 1000)):  # sv of a 500 x 1000 matrix either way
        v = 1 / 1000
        got = float(T.mean_singular_value(one, one, v, n_in, n_out))
        assert got == pytest.approx(_mp_mean_sv(0.5), rel=1e-6)
    # relu at init: half the rows of a square J are 0; the rest is a (n/2) x n iid matrix,
    # and the zeros count in the mean over n singular values
    got = float(T.mean_singular_value(np.array([0.0, 1.0]), np.array([0.5, 0.5]), 1 / 800,
                                      800, 800))
    assert got == pytest.approx(0.5 * _mp_mean_sv(0.5), rel=1e-6)


def test_jacobian_with_tanh_spread_matches_a_random_matrix():
    rng = np.random.default_rng(11)
    n, q, v = 600, 2.0, 1 / 600
    u = rng.standard_normal(n)
    d = 1 - np.tanh(math.sqrt(q) * u) ** 2
    W = rng.uniform(-math.sqrt(3 * v), math.sqrt(3 * v), (n, n))
    measured = np.linalg.svd(d[:, None] * W.T, compute_uv=False).mean()
    u_, w_ = T._panel_rule(np.array([q]))
    tau = (1 - np.tanh(math.sqrt(q) * u_) ** 2) ** 2
    predicted = float(T.mean_singular_value(tau, w_, v, n, n)[0])
    assert predicted == pytest.approx(measured, abs=0.01)
    iid = 8 / (3 * math.pi) * math.sqrt(n * v * float(np.sum(w_ * tau)))
    assert abs(iid - measured) > 2 * abs(predicted - measured)  # the spread of f' matters


# -------------------------------------------------------------- the paper's eqs 5-7 ----

def test_linear_regime_is_the_papers_eqs_5_to_7_for_the_standard_init():
    n, L, m = 1000, 5, 0.25
    widths = (n,) * (L + 1) + (10,)
    v = T.weight_variances(widths, "standard")
    assert v[:L] == pytest.approx(np.full(L, 1 / (3 * n)))  # n Var[W] = 1/3 (eq. 15)
    lin = T.linear_regime(widths, v, m)
    j = np.arange(1, L + 1)
    np.testing.assert_allclose(lin.act_std, np.sqrt(m * (1 / 3) ** j), rtol=1e-12)  # eq. 5
    top = lin.bgrad_std[-1]
    np.testing.assert_allclose(lin.bgrad_std, top * np.sqrt(1 / 3) ** (L - j), rtol=1e-12)
    assert top ** 2 == pytest.approx(v[L] * float(lin.delta_sq[0]), rel=1e-12)
    np.testing.assert_allclose(lin.wgrad_std, lin.wgrad_std[0], rtol=1e-12)  # eq. 14
    # normalized init on equal widths: every ratio 1 (eqs. 10-12)
    nrm = T.linear_regime(widths[:-1] + (n,), T.weight_variances(widths[:-1] + (n,),
                                                                   "normalized"), m)
    np.testing.assert_allclose(nrm.act_std, math.sqrt(m), rtol=1e-12)
    np.testing.assert_allclose(nrm.bgrad_std, nrm.bgrad_std[0], rtol=1e-12)


def test_mean_field_recovers_eq_5_in_the_small_input_limit():
    widths = (1000,) * 6 + (10,)
    v = T.weight_variances(widths, "standard")
    for activation in ("tanh", "softsign"):  # softsign's correction is O(sqrt(q)): tiny q
        mf = T.mean_field(widths, activation, v, 1e-14)
        ratios = mf.act_std[1:] / mf.act_std[:-1]
        np.testing.assert_allclose(ratios, 1 / math.sqrt(3), rtol=1e-6)
        np.testing.assert_allclose(mf.bgrad_std[:-1] / mf.bgrad_std[1:], 1 / math.sqrt(3),
                                   rtol=1e-6)
    # ... and so does a real net (width 1000): each layer 1/sqrt(3) of the one below
    net = init_mlp(widths, "tanh", "standard", np.random.default_rng(5), np.float64)
    x = np.random.default_rng(6).standard_normal((100, 1000)) * 1e-3
    r = probes.measure(net, x, np.zeros(100, np.int64), cost="nll", lr=0.0,
                       edges=probes.default_edges("tanh"), gradients=False)
    std = r.stats["act"]["std"]
    np.testing.assert_allclose(std[1:] / std[:-1], 1 / math.sqrt(3), rtol=0.03)


# ----------------------------------------------------- prediction against measurement ----

WIDE = (1000, 2000, 2000, 2000, 10)


@functools.lru_cache(maxsize=1)
def _wide_net(init):
    """The weights of a WIDE net (float32) for ``init``; init_mlp draws the same weights for
    every activation, so the four activations of one init share them (cases run init by init)."""
    return init_mlp(WIDE, "tanh", init, np.random.default_rng(4), np.float32)


@pytest.fixture(scope="module")
def wide_inputs():
    rng = np.random.default_rng(21)
    x = (rng.standard_normal((32, WIDE[0])) * math.sqrt(0.5)).astype(np.float32)
    return x, rng.integers(0, WIDE[-1], len(x))


@pytest.mark.parametrize("init, activation", [(i, a) for i in INITS for a in ACTS])
def test_wide_net_at_init_measures_what_mean_field_predicts(activation, init, wide_inputs):
    x, y = wide_inputs
    net = dataclasses.replace(_wide_net(init), activation=activation)
    r = probes.measure(net, x, y, cost="nll", lr=0.0, edges=probes.default_edges(activation))
    mf = T.mean_field(WIDE, activation, T.weight_variances(WIDE, init),
                      T.input_second_moments(x), jacobian_examples=1)
    # Finite width: a layer's pre-activations vary with its 2000 units' weights, so the
    # pooled std carries a relative error of ~1/sqrt(2000) per layer (compounding going up
    # and back down). Sigmoid and relu fluctuate more: their activations' non-zero mean gives
    # each unit an input shared by all examples, so the examples add little to the sample
    # (over 5 seeds: at most 2 % for tanh and softsign, 6 % for sigmoid and relu).
    rtol = 0.03 if activation in ("tanh", "softsign") else 0.07
    for q in ("act", "bgrad", "wgrad"):
        np.testing.assert_allclose(r.stats[q]["std"], getattr(mf, f"{q}_std"), rtol=rtol,
                                   err_msg=q)
    np.testing.assert_allclose(r.stats["act"]["mean"], mf.act_mean, atol=0.01)
    np.testing.assert_allclose(r.stats["act"]["sat"], mf.sat, atol=0.01)


@pytest.fixture(scope="module")
def shapeset_probes():
    from glorotcli.data import shapeset
    from glorotcli.data.pixels import scale_inputs

    x, y = shapeset.generate(40, 0)
    return scale_inputs(x, np.float64, "0,1"), y.astype(np.int64)


@pytest.mark.parametrize("init, paper", [("standard", 0.5), ("normalized", 0.8)])
def test_predicted_jacobian_singular_values_match_the_measured_and_the_papers(
        init, paper, shapeset_probes):
    x, _ = shapeset_probes
    widths = (1024,) + (1000,) * 5 + (9,)
    net = init_mlp(widths, "tanh", init, np.random.default_rng(8), np.float32)
    measured = jacobian_singular_values(net, x, n_examples=2)[0]
    mf = T.mean_field(widths, "tanh", T.weight_variances(widths, init),
                      T.input_second_moments(x), jacobian_examples=2)
    np.testing.assert_allclose(mf.jacobian_mean_sv, measured, atol=0.03)
    assert abs(measured.mean() - paper) < 0.1  # the paper's values (§4.2.2), to their precision
    assert abs(mf.jacobian_mean_sv.mean() - paper) < 0.1


@pytest.mark.parametrize("activation, init", [("tanh", "he"), ("relu", "he"),
                                                ("sigmoid", "normalized")])
def test_predicted_jacobians_follow_the_spread_of_f_prime(activation, init):
    # away from the linear regime (q ~ 2), where f' spreads and relu zeroes half the rows
    widths = (400, 600, 600, 600, 10)
    net = init_mlp(widths, activation, init, np.random.default_rng(9), np.float64)
    x = np.random.default_rng(10).standard_normal((2, 400))
    measured = jacobian_singular_values(net, x, n_examples=2)[0]
    mf = T.mean_field(widths, activation, T.weight_variances(widths, init),
                      T.input_second_moments(x))
    np.testing.assert_allclose(mf.jacobian_mean_sv, measured, rtol=0.03)
    v = T.weight_variances(widths, init)
    ms = [600 * v[j] * _fp2(activation, mf.q[:, j]).mean() for j in (1, 2)]  # n Var[W] E[f'^2]
    np.testing.assert_allclose(mf.jacobian_ms, ms, rtol=1e-8)


def _fp2(activation, qs):
    """E[f'(s)^2], s ~ N(0, q), for each q: a fine midpoint rule with this module's f' (no
    node at relu's step)."""
    u = np.linspace(-10, 10, 200_000)
    phi = np.exp(-u * u / 2) / math.sqrt(2 * math.pi)
    return np.array([float(np.sum(_f(activation, math.sqrt(q) * u)[1] ** 2 * phi)
                           * (u[1] - u[0])) for q in qs])


# ----------------------------------------------------------------------- the API ----

def test_predict_gives_per_layer_lists_for_both_regimes():
    widths = (784, 1000, 500, 10)
    out = T.predict(widths, "tanh", "normalized", np.array([0.1, 0.12, 0.09]),
                    jacobian_examples=2)
    assert set(out) == {"linear", "mean_field"}
    for regime, d in out.items():
        for k in ("act_std", "bgrad_std", "wgrad_std"):
            assert len(d[k]) == 2 and all(isinstance(v, float) and v > 0 for v in d[k])
        assert len(d["jacobian_mean_sv"]) == 1
        assert ("sat" in d) == (regime == "mean_field")
    mf = T.mean_field(widths, "tanh", T.weight_variances(widths, "normalized"),
                      np.array([0.1, 0.12, 0.09]), jacobian_examples=2)
    assert out["mean_field"]["act_std"] == mf.act_std.tolist()


def test_predict_rejects_bad_arguments():
    with pytest.raises(GlorotError, match="activation"):
        T.predict((10, 5, 2), "swish", "standard", 1.0)
    with pytest.raises(GlorotError, match="init"):
        T.predict((10, 5, 2), "tanh", "xavier", 1.0)
    with pytest.raises(GlorotError, match="widths"):
        T.predict((10, 2), "tanh", "standard", 1.0)
    with pytest.raises(GlorotError, match="input_second_moment"):
        T.predict((10, 5, 2), "tanh", "standard", -1.0)
    with pytest.raises(GlorotError, match="variances"):
        T.moments("tanh", float("nan"))
