"""Figs. 7-8 at initialization, re-measured on edges fitted to the data (report.remeasure)."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import make_data, make_run
from reference import ref_probe_values

from glorotcli.config import TrainConfig
from glorotcli.data.pixels import scale_inputs
from glorotcli.report import figures, remeasure
from glorotcli.report.series import Unavailable
from glorotcli.run import train as core
from glorotcli.stats.runlog import read_initial_weights, read_run


def _run(tmp_path, activation, depth=4, width=32):
    data = make_data(tmp_path / f"d{activation}.h5", d=64)
    cfg = TrainConfig(data=str(data), activation=activation, init="standard", depth=depth,
                      width=width, steps=1, threads=1, eval_every=1000, log_every=1000,
                      checkpoint_seconds=3600.0, probe_size=100)
    core.train(cfg, tmp_path / f"{activation}.h5")
    return read_run(tmp_path / f"{activation}.h5")


def test_linear_edges_within_the_spread_limit():
    edges, log = remeasure.fitted_edges(np.array([0.01, 0.05]))
    assert not log and len(edges) == 2
    for e, sd in zip(edges, (0.01, 0.05), strict=True):
        assert np.all(np.diff(e) > 0) and np.isclose(e[0], -0.2) and np.isclose(e[-1], 0.2)
        assert (len(e) - 1) % 2 == 1  # odd: 0 is the centre of a bin
        assert e[1] - e[0] <= sd / 4 * (1 + 1e-9)  # four bins per std of each layer
    assert len(edges[0]) > len(edges[1])  # the narrow layer gets finer bins


def test_log_edges_beyond_the_spread_limit():
    edges, log = remeasure.fitted_edges(np.array([1e-5, 4e-3]))
    assert log
    e = edges[0]
    assert all(np.array_equal(e, other) for other in edges)
    assert np.all(np.diff(e) > 0) and np.allclose(e, -e[::-1])
    small = e[len(e) // 2]  # the middle bin is (-small, small)
    assert small <= 1e-8 * (1 + 1e-9) and e[-1] >= 4e-2


@pytest.mark.parametrize("std", [[0.0, 1.0], [np.nan, 1.0], []])
def test_edges_need_positive_finite_stds(std):
    with pytest.raises(Unavailable):
        remeasure.fitted_edges(np.array(std))


@pytest.mark.parametrize("activation, q", [("tanh", "bgrad"), ("sigmoid", "bgrad"),
                                           ("sigmoid", "wgrad"), ("tanh", "wgrad")])
def test_histograms_match_numpy_on_the_initial_net(tmp_path, activation, q):
    run = _run(tmp_path, activation)
    h = remeasure.init_gradient_hist(run, q)
    # The same, from scratch: per-example gradients of the stored initial net, one by one.
    W, b = read_initial_weights(run.path)
    W = [w.astype(np.float64) for w in W]
    b = [v.astype(np.float64) for v in b]
    x = scale_inputs(run.probe_x, np.float64, "0,1")
    _, bgrads, wgrads, _ = ref_probe_values(W, b, activation, x, run.probe_y, "nll")
    values = bgrads if q == "bgrad" else wgrads
    std = np.array([v.std() for v in values])
    np.testing.assert_allclose(h.std, std, rtol=1e-4)
    edges, log = remeasure.fitted_edges(std)
    assert log == h.log == (std.max() / std.min() > remeasure.LOG_SPREAD)
    for j, (v, e) in enumerate(zip(values, edges, strict=True)):
        v = v.ravel()
        if not log:
            want = np.histogram(v, e)[0] / v.size / np.diff(e)
            np.testing.assert_allclose(h.density[j], want, atol=2.0 / v.size / np.diff(e)[0])
            np.testing.assert_allclose(h.centers[j], 0.5 * (e[1:] + e[:-1]), atol=1e-12)
        else:
            pos = e[len(e) // 2:]  # small .. big
            want = np.histogram(np.abs(v), pos)[0] / v.size / np.diff(np.log10(pos))
            np.testing.assert_allclose(h.density[j], want,
                                       atol=2.0 / v.size / np.diff(np.log10(pos))[0])
            # the density per decade integrates to the fraction of values on the axis
            assert np.isclose((h.density[j] * np.diff(np.log10(pos))).sum(), 1 - h.outside[j])


def test_sigmoid_init_figures_use_a_log_axis_and_tanh_a_linear_one(tmp_path):
    for activation, scale in (("sigmoid", "log"), ("tanh", "linear")):
        run = _run(tmp_path, activation)
        for q in ("bgrad", "wgrad"):
            ax = figures.fig_histograms([figures._init_panel(run, q, "Gradients dC/ds")],
                                        xlabel="Gradients dC/ds", title="t").axes[0]
            assert ax.get_xscale() == scale


def test_run_without_initial_weights_falls_back_to_the_stored_histograms(tmp_path):
    import h5py

    path = make_run(tmp_path / "r.h5", steps=(0, 100))
    with h5py.File(path, "a") as f:
        del f["weights/init"]
    run = read_run(path)
    with pytest.raises(Unavailable, match="initial weights"):
        remeasure.init_gradient_hist(run, "bgrad")
    panel = figures._init_panel(run, "bgrad", "Back-propagated gradients dC/ds")
    assert not panel.log_x and np.shape(panel.density) == (5, 40)
