"""The paper's instruments (glorotcli/stats/probes.py) against the slow twins in reference.py,
plus checks that they measure the paper's effects at initialization (§4.2.1-4.2.2, Figs. 6-8)."""

from __future__ import annotations

import random

import numpy as np
import pytest
import reference as R
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from glorotcli.errors import GlorotError
from glorotcli.nn.init import init_mlp
from glorotcli.stats import jacobian as JAC
from glorotcli.stats import probes as P
from glorotcli.stats import summary as S

COSTS = ("nll", "quadratic")


def small_net(activation="tanh", init="normalized", sizes=(12, 9, 8, 7, 4), seed=0,
              dtype=np.float64, scale=1.0):
    net = init_mlp(sizes, activation, init, np.random.default_rng(seed), dtype)
    for w in net.W:
        w *= dtype(scale)
    rng = np.random.default_rng(seed + 100)
    for v in net.b:
        v[...] = rng.normal(0, 0.1, v.shape)
    return net


def probes(net, n=23, seed=1):
    rng = np.random.default_rng(seed)
    x = rng.random((n, net.sizes[0])).astype(net.dtype)
    return x, rng.integers(0, net.sizes[-1], n)


def assert_matches_reference(net, x, y, cost, edges, rtol=1e-9, atol=1e-12):
    r = P.measure(net, x, y, cost=cost, lr=0.05, edges=edges)
    stats, hist, grad_ratio, update_ratio, example, batch_std = R.ref_measure(
        net.W, net.b, net.activation, x, y, cost, 0.05, edges)
    for q in P.QUANTITIES:
        for s in P.STATS:
            np.testing.assert_allclose(r.stats[q][s], stats[q][s], rtol=rtol, atol=atol,
                                       err_msg=f"{q} {s}")
        np.testing.assert_allclose(r.hist[q], hist[q], rtol=0, atol=1e-15, err_msg=q)
    np.testing.assert_allclose(r.grad_ratio, grad_ratio, rtol=1e-7)
    np.testing.assert_allclose(r.update_ratio, update_ratio, rtol=1e-7)
    np.testing.assert_allclose(r.example_grad_ratio, example, rtol=1e-7)
    np.testing.assert_allclose(r.batch_wgrad_std, batch_std, rtol=1e-6, atol=1e-12)
    return r


# ------------------------------------------------------------- against the reference ----

@pytest.mark.parametrize("activation", ["tanh", "sigmoid", "softsign", "relu"])
@pytest.mark.parametrize("cost", COSTS)
def test_every_statistic_matches_the_loop_over_examples_reference(activation, cost):
    net = small_net(activation, scale=3.0)  # large weights: some saturation, wide gradients
    x, y = probes(net)
    # odd bin counts put 0 inside a bin: a gradient that is 0 up to rounding (relu, quadratic
    # cost) could otherwise land on either side of the edge at 0 in the two computations
    edges = {"act": P.default_edges(activation, 40)["act"],
             "bgrad": np.linspace(-0.3, 0.3, 32), "wgrad": np.linspace(-0.2, 0.2, 42)}
    r = assert_matches_reference(net, x, y, cost, edges)
    assert r.stats["act"]["std"].shape == (3,) and r.hist["wgrad"].shape == (3, 41)


def test_histograms_are_fractions_and_gradient_sat_is_the_off_scale_fraction():
    net = small_net(scale=3.0)
    x, y = probes(net)
    edges = {"act": np.linspace(-1, 1, 21), "bgrad": np.linspace(-0.02, 0.02, 11),
             "wgrad": np.linspace(-0.01, 0.01, 11)}  # narrow: much of each gradient off scale
    r = assert_matches_reference(net, x, y, "nll", edges)
    np.testing.assert_allclose(r.hist["act"].sum(axis=1), 1.0)
    for q in ("bgrad", "wgrad"):
        assert np.all(r.stats[q]["sat"] > 0.05)
        np.testing.assert_allclose(r.hist[q].sum(axis=1), 1.0 - r.stats[q]["sat"], atol=1e-12)


def test_non_uniform_edges_count_like_np_histogram():
    net = small_net(scale=2.0)
    x, y = probes(net)
    e = np.sort(np.random.default_rng(5).uniform(-1, 1, 17))
    edges = {"act": e, "bgrad": np.array([-1, -0.1, -1e-3, 0, 1e-3, 0.1, 1]),
             "wgrad": np.array([-1, -0.01, 0, 1e-4, 0.01, 1.0])}
    assert_matches_reference(net, x, y, "nll", edges)


def test_float32_net_agrees_with_the_float64_reference():
    net = small_net(dtype=np.float32, scale=2.0)
    x, y = probes(net)
    r = P.measure(net, x, y, cost="nll", lr=0.1, edges=P.default_edges("tanh"))
    W64 = [w.astype(np.float64) for w in net.W]
    b64 = [v.astype(np.float64) for v in net.b]
    stats, *_ = R.ref_measure(W64, b64, "tanh", x.astype(np.float64), y, "nll", 0.1,
                              P.default_edges("tanh"))
    for q in P.QUANTITIES:
        for s in ("mean", "std", "p2", "p50", "p98"):
            np.testing.assert_allclose(r.stats[q][s], stats[q][s], rtol=1e-4, atol=1e-6,
                                       err_msg=f"{q} {s}")


def test_backpropagated_and_weight_gradients_are_per_example_not_probe_set_means():
    # Repeating the probe set changes the mean cost's gradient by nothing and the pooled
    # per-example values not at all; a /E convention would halve every gradient statistic.
    net = small_net()
    x, y = probes(net, n=11)
    edges = P.default_edges("tanh", 50)
    once = P.measure(net, x, y, cost="nll", lr=0.1, edges=edges)
    twice = P.measure(net, np.vstack([x, x]), np.concatenate([y, y]), cost="nll", lr=0.1,
                      edges=edges)
    for q in P.QUANTITIES:  # (interpolated percentiles do move when every value is doubled)
        for s in ("mean", "std", "sat"):
            np.testing.assert_allclose(twice.stats[q][s], once.stats[q][s], rtol=1e-9,
                                       atol=1e-14)
        np.testing.assert_allclose(twice.hist[q], once.hist[q], atol=1e-14)
    np.testing.assert_allclose(twice.grad_ratio, once.grad_ratio, rtol=1e-9)
    # and the output layer's back-propagated gradient for NLL is p - onehot(y), per example:
    _, bgrads, _, _ = R.ref_probe_values(net.W, net.b, "tanh", x, y, "nll")
    np.testing.assert_allclose(once.stats["bgrad"]["std"][-1], bgrads[-1].std(), rtol=1e-9)


@pytest.mark.slow  # fast with the JIT; minutes under NUMBA_DISABLE_JIT
def test_large_layers_use_the_fixed_weight_gradient_sample():
    # 30 examples x 100 x 100 = 300,000 entries > WGRAD_SAMPLE: percentiles and histogram come
    # from the published sample; mean and std stay exact over all entries.
    net = small_net(sizes=(100, 100, 5), scale=2.0)
    x, y = probes(net, n=30)
    edges = P.default_edges("tanh", 64)
    r = P.measure(net, x, y, cost="nll", lr=0.1, edges=edges)
    _, _, wgrads, _ = R.ref_probe_values(net.W, net.b, "tanh", x, y, "nll")
    full = wgrads[0]  # (30, 100, 100)
    e, rows, cols = P.wgrad_sample_indices(30, 100, 100)
    assert len(e) == 30 * -(-P.WGRAD_SAMPLE // 30) and np.all(np.bincount(e) == len(e) // 30)
    sample = full[e, rows, cols]
    ref, hist = R.ref_pooled_stats(sample, edges["wgrad"],
                                   lambda v: (v < edges["wgrad"][0]) | (v > edges["wgrad"][-1]))
    for s in ("p2", "p50", "p98", "sat"):
        np.testing.assert_allclose(r.stats["wgrad"][s][0], ref[s], rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(r.hist["wgrad"][0], hist, atol=1e-15)
    np.testing.assert_allclose(r.stats["wgrad"]["mean"][0], full.mean(), rtol=1e-9, atol=1e-15)
    np.testing.assert_allclose(r.stats["wgrad"]["std"][0], full.std(), rtol=1e-9)
    # the sample estimates the population percentiles closely
    np.testing.assert_allclose(r.stats["wgrad"]["p98"][0], np.percentile(full, 98), rtol=0.02)


@pytest.mark.slow  # fast with the JIT; minutes under NUMBA_DISABLE_JIT
def test_weight_gradient_sample_is_fixed_and_covers_the_layer():
    a = P.wgrad_sample_indices(300, 1000, 1000)
    b = P.wgrad_sample_indices(300, 1000, 1000)
    for u, v in zip(a, b, strict=True):
        np.testing.assert_array_equal(u, v)
    e, rows, cols = a
    assert len(e) == 262_200
    assert e.min() == 0 and e.max() == 299 and rows.max() == 999 and cols.max() == 999
    counts = np.bincount(rows, minlength=1000)  # uniform rows: ~262 per row
    assert counts.min() > 180 and counts.max() < 360
    small = P.wgrad_sample_indices(2, 3, 4)  # few entries: every one, in C order
    np.testing.assert_array_equal(small[2], np.tile(np.arange(4), 6))


@settings(max_examples=150, deadline=None)
@given(hnp.arrays(np.float64, st.integers(1, 400),
                  elements=st.one_of(st.floats(-3, 3, width=32),
                                     st.sampled_from([-1.0, -0.5, 0.0, 0.25, 0.97, 1.0]))),
       st.sampled_from([np.float32, np.float64]))
def test_summarize_is_exact_for_any_values_ties_and_values_on_edges(values, dtype):
    v = values.astype(dtype)
    edges = np.linspace(-1, 1, 9)
    stats, hist = S.summarize(v, edges, (-0.97, 0.97))
    ref, ref_hist = R.ref_pooled_stats(v, edges, R.REF_SAT["tanh"])
    for s in P.STATS:
        np.testing.assert_allclose(stats[s], ref[s], rtol=1e-6, atol=1e-9, err_msg=s)
    np.testing.assert_array_equal(np.round(hist * v.size), np.round(ref_hist * v.size))


def test_percentiles_stay_exact_when_values_pile_up_or_spread_over_decades():
    rng = np.random.default_rng(3)
    cases = [
        np.concatenate([np.zeros(20000), rng.random(9000)]),  # relu-like: a spike at 0
        rng.standard_normal(30000) ** 7 * 1e-3,  # extremely heavy tails
        np.full(5000, 0.25),
        np.concatenate([rng.random(10000) * 1e-12, [1e6]]),  # one outlier far away
    ]
    for v in cases:
        stats, _ = S.summarize(v, np.linspace(-1, 1, 11), (-0.97, 0.97))
        np.testing.assert_allclose([stats["p2"], stats["p50"], stats["p98"]],
                                   np.percentile(v, [2, 50, 98]), rtol=1e-12, atol=0)


def test_non_finite_values_give_nan_statistics_not_a_crash():
    stats, hist = S.summarize(np.array([0.1, np.nan, 0.3]), np.linspace(-1, 1, 5), (-1, 1))
    assert all(np.isnan(stats[s]) for s in P.STATS) and hist.sum() == 0
    net = small_net()
    net.W[1][0, 0] = np.inf  # a diverged weight between layers 1 and 2
    x, y = probes(net)
    r = P.measure(net, x, y, cost="nll", lr=0.1, edges=P.default_edges("tanh"))
    assert np.isfinite(r.stats["act"]["mean"][0]) and np.isfinite(r.stats["act"]["std"][2])
    assert all(np.isnan(r.stats["bgrad"][s][0]) for s in P.STATS)  # inf * 0 upstream
    assert r.hist["bgrad"][0].sum() == 0 and np.isnan(r.grad_ratio[1])


@pytest.mark.parametrize("activation,values,expected", [
    # the threshold is the real number 0.97: float32(0.97) = 0.97000003 is saturated
    ("tanh", [-1.0, -0.975, -0.97, 0.0, 0.97, 0.9700001, 0.99], 4 / 7),
    ("softsign", [-0.98, 0.5, 0.98, 0.1], 0.5),
    ("sigmoid", [0.0, 0.0299, 0.03, 0.5, 0.97, 0.971], 3 / 6),
    ("relu", [0.0, 0.0, 1e-30, 3.0], 0.5),
])
def test_saturation_means_within_003_of_an_asymptote(activation, values, expected):
    assert S.saturation_fraction(np.array(values), activation) == pytest.approx(expected)
    assert S.saturation_fraction(np.array(values, np.float32), activation) == \
        pytest.approx(np.mean(R.REF_SAT[activation](np.array(values, np.float32))))


def test_measure_never_touches_the_weights_or_any_random_generator():
    net = small_net(dtype=np.float32, sizes=(30, 20, 20, 5))
    before = [a.copy() for a in net.W + net.b]
    x, y = probes(net)
    np_state = np.random.get_state()
    py_state = random.getstate()
    P.measure(net, x, y, cost="nll", lr=0.1, edges=P.default_edges("tanh"))
    JAC.jacobian_singular_values(net, x, n_examples=3)
    for a, b in zip(before, net.W + net.b, strict=True):
        assert a.tobytes() == b.tobytes()
    assert random.getstate() == py_state
    after = np.random.get_state()
    assert after[0] == np_state[0] and np.array_equal(after[1], np_state[1])
    assert after[2:] == np_state[2:]


def test_measure_without_gradients_gives_the_same_activation_statistics():
    net = small_net()
    x, y = probes(net)
    edges = P.default_edges("tanh", 30)
    full = P.measure(net, x, y, cost="nll", lr=0.1, edges=edges)
    act = P.measure(net, x, y, cost="nll", lr=0.1, edges={"act": edges["act"]}, gradients=False)
    assert set(act.stats) == {"act"} and np.all(np.isnan(act.grad_ratio))
    for s in P.STATS:
        np.testing.assert_array_equal(act.stats["act"][s], full.stats["act"][s])
    assert act.loss == full.loss and act.error == full.error


def test_probe_loss_and_error_are_those_of_the_net_on_the_probes():
    net = small_net()
    x, y = probes(net)
    r = P.measure(net, x, y, cost="nll", lr=0.1, edges=P.default_edges("tanh"))
    costs = [R.ref_example(net.W, net.b, "tanh", xe, int(ye), "nll")[0]
             for xe, ye in zip(x, y, strict=True)]
    assert r.loss == pytest.approx(np.mean(costs), rel=1e-9)
    error = R.ref_error_rate(net.W, net.b, "tanh", x, y)
    assert error not in (0, 0.5, 1) and r.error == error  # 1 - error (accuracy) would differ


@pytest.mark.parametrize("bad,match", [
    (dict(x=np.zeros((5, 3))), "probe inputs must be"),
    (dict(x=np.zeros((5, 12), np.uint8)), "scaled floats"),
    (dict(y=np.array([0, 1])), "probe labels must be"),
    (dict(y=np.full(23, 9)), r"lie in \[0, 4\)"),
    (dict(cost="hinge"), "cost must be one of"),
    (dict(lr=-1.0), "learning rate"),
    (dict(edges={"act": np.linspace(-1, 1, 5)}), "edges must be a dict"),
    (dict(edges={"act": [1, 0], "bgrad": [0, 1], "wgrad": [0, 1]}), "increasing"),
])
def test_measure_explains_bad_arguments(bad, match):
    net = small_net()
    x, y = probes(net)
    args = dict(x=x, y=y, cost="nll", lr=0.1, edges=P.default_edges("tanh"))
    args.update(bad)
    with pytest.raises(GlorotError, match=match):
        P.measure(net, args.pop("x"), args.pop("y"), **args)


def test_default_edges_cover_each_activation_range_and_the_papers_gradient_axes():
    e = P.default_edges("tanh")
    assert set(e) == set(P.QUANTITIES) and all(len(v) == 201 for v in e.values())
    assert (e["act"][0], e["act"][-1]) == (-1.0, 1.0)
    assert (P.default_edges("sigmoid")["act"][[0, -1]] == [0.0, 1.0]).all()
    assert P.default_edges("relu")["act"][0] == 0.0
    std, norm = P.default_edges("tanh", init="standard"), P.default_edges("tanh", init="normalized")
    # Fig. 7 and Fig. 8 axes must fit inside the default ranges
    assert std["bgrad"][-1] >= 0.2 and norm["bgrad"][-1] >= 0.3
    assert std["wgrad"][-1] >= 0.025 and norm["wgrad"][-1] >= 0.15
    for edges in (std, norm):
        for q in ("bgrad", "wgrad"):
            np.testing.assert_allclose(edges[q], -edges[q][::-1])
    assert len(P.default_edges("tanh", 50)["act"]) == 51
    with pytest.raises(GlorotError, match="activation"):
        P.default_edges("swish")


# ------------------------------------------------------------------------- Jacobians ----

@pytest.mark.parametrize("activation", ["tanh", "softsign", "sigmoid"])
def test_jacobian_singular_values_match_explicit_matrices(activation):
    net = small_net(activation, sizes=(10, 8, 8, 6, 3), scale=2.0)
    x, _ = probes(net, n=7)
    sv_mean, sv_std, sv = JAC.jacobian_singular_values(net, x, n_examples=5)
    ref_mean, ref_std, ref_sv = R.ref_singular_values(net.W, net.b, activation, x[:5])
    np.testing.assert_allclose(sv_mean, ref_mean, rtol=1e-9)
    np.testing.assert_allclose(sv_std, ref_std, rtol=1e-7)
    assert sv.shape == (2, 8)  # pairs 8 -> 8 and 8 -> 6: the second is padded with NaN
    np.testing.assert_allclose(sv[0], ref_sv[0], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(sv[1, :6], ref_sv[1], rtol=1e-9, atol=1e-12)
    assert np.isnan(sv[1, 6:]).all() and np.all(np.diff(sv[0]) <= 0)


def test_jacobian_convention_matches_finite_differences():
    net = small_net(sizes=(6, 5, 4, 3), scale=2.0)
    x, _ = probes(net, n=1)
    for j, J in enumerate(R.ref_jacobians(net.W, net.b, "tanh", x[0]), start=1):
        np.testing.assert_allclose(J, R.ref_jacobian_fd(net.W, net.b, "tanh", x[0], j),
                                   atol=1e-8)


def test_jacobian_pads_narrower_layer_pairs_with_nan():
    net = small_net(sizes=(6, 8, 4, 8, 3))
    x, _ = probes(net, n=2)
    sv_mean, sv_std, sv = JAC.jacobian_singular_values(net, x)
    assert sv.shape == (2, 4) and not np.isnan(sv).any()
    net = small_net(sizes=(6, 8, 6, 3, 3))
    sv_mean, _, sv = JAC.jacobian_singular_values(net, x)
    assert sv.shape == (2, 6) and np.isnan(sv[1, 3:]).all() and np.isfinite(sv_mean).all()
    assert JAC.jacobian_singular_values(small_net(sizes=(6, 5, 3)), x)[2].shape == (0, 0)


# ----------------------------------------------- the paper's effects at initialization ----
# A real 1024-1000x5-9 tanh net, 300 random probes in [0, 1]: the instrument must see
# what Figs. 6-8 and §4.2.2 show. (Marked slow only to keep them out of the no-JIT coverage run.)

@pytest.fixture(scope="module")
def at_init():
    rng = np.random.default_rng(2010)
    x = rng.random((300, 1024), dtype=np.float32)
    y = rng.integers(0, 9, 300)
    out = {}
    for init in ("standard", "normalized"):
        net = init_mlp((1024,) + (1000,) * 5 + (9,), "tanh", init, np.random.default_rng(7))
        out[init] = (net, x, P.measure(net, x, y, cost="nll", lr=0.01, threads=1,
                                       edges=P.default_edges("tanh", init=init)))
    return out


@pytest.mark.slow  # fast with the JIT; minutes under NUMBA_DISABLE_JIT
def test_standard_init_shrinks_activations_going_up_normalized_keeps_them(at_init):
    # Fig. 6: With inputs in [0, 1] the first layer has std ~0.45 under the normalized
    # init, where tanh compresses a little: measured ratios 0.87-0.92, not quite 1.
    up = {k: v[2].stats["act"]["std"][1:] / v[2].stats["act"]["std"][:-1]
          for k, v in at_init.items()}
    assert np.all((up["standard"] > 0.5) & (up["standard"] < 0.65)), up
    assert np.all((up["normalized"] > 0.85) & (up["normalized"] < 1.05)), up


@pytest.mark.slow  # fast with the JIT; minutes under NUMBA_DISABLE_JIT
def test_standard_init_shrinks_backpropagated_gradients_going_down(at_init):
    # Fig. 7: the reverse direction.
    down = {k: v[2].stats["bgrad"]["std"][:-1] / v[2].stats["bgrad"]["std"][1:]
            for k, v in at_init.items()}
    assert np.all((down["standard"] > 0.5) & (down["standard"] < 0.65)), down
    assert np.all((down["normalized"] > 0.8) & (down["normalized"] < 1.05)), down


@pytest.mark.slow  # fast with the JIT; minutes under NUMBA_DISABLE_JIT
def test_weight_gradient_std_is_about_equal_across_layers(at_init):
    # Fig. 8, eq. 14: within 25 % under both inits; per-example sizes like the paper's
    # (std ~0.0015 standard, ~0.01 normalized): the normalized ones are several times larger.
    w = {k: v[2].stats["wgrad"]["std"] for k, v in at_init.items()}
    for std in w.values():
        assert std.max() / std.min() < 1.25, w
    assert 5 < w["normalized"].mean() / w["standard"].mean() < 20
    assert 3e-4 < w["standard"].mean() < 3e-3 and 3e-3 < w["normalized"].mean() < 3e-2


@pytest.mark.slow  # fast with the JIT; minutes under NUMBA_DISABLE_JIT
def test_mean_jacobian_singular_value_at_init_is_half_standard_and_08_normalized(at_init):
    # §4.2.2: ≈ 0.5 standard vs ≈ 0.8 normalized, within 0.1 (two probes suffice: the
    # spread between examples is small at init).
    for init, target in (("standard", 0.5), ("normalized", 0.8)):
        net, x, _ = at_init[init]
        sv_mean, _, _ = JAC.jacobian_singular_values(net, x, n_examples=2, threads=1)
        assert np.all(np.abs(sv_mean - target) < 0.1), (init, sv_mean)


def test_jacobians_of_a_diverged_net_are_nan_not_an_error():
    net = small_net(sizes=(6, 5, 4, 3, 2))
    net.W[2][0, 0] = np.nan  # layer pair 2->3 and above see it
    x, _ = probes(net, n=3)
    sv_mean, sv_std, sv = JAC.jacobian_singular_values(net, x)
    assert np.isfinite(sv_mean[0]) and np.isnan(sv_mean[1:]).all() and np.isnan(sv_std[1:]).all()
