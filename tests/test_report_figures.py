"""The paper's figures as PNG: which are made from which runs, that each is a real image, and
that each draws the right numbers.

The numbers are checked through the artists a figure draws (``helpers.drawn``, by the gid each
data artist carries) against the run file read directly with h5py, or against the slow NumPy
reference (``tests/reference.py``) for the gradients re-measured at initialization: plotting
another statistic, layer or probe row fails these tests.
"""

from __future__ import annotations

import h5py
import matplotlib.image as mpimg
import numpy as np
import pytest
from helpers import drawn, make_run

from glorotcli.errors import GlorotError
from glorotcli.report import figures, series
from glorotcli.stats.runlog import read_run

ALL = {"fig02_sigmoid_activations", "fig03_tanh_activations", "fig03_softsign_activations",
       "fig04_activation_hist_end", "fig06_activation_hist_init", "fig07_bgrad_hist_init",
       "fig08_wgrad_hist_init", "fig09_wgrad_std", "fig10_tanhN_activations",
       "fig11_test_error", "fig12_test_error", "jacobian_sv", "table1"}


@pytest.fixture(scope="module")
def paper_runs(tmp_path_factory):
    d = tmp_path_factory.mktemp("runs")
    specs = [("tanh", "standard", "shapeset", 0.3), ("tanh", "normalized", "shapeset", 0.16),
             ("softsign", "standard", "shapeset", 0.17), ("sigmoid", "standard", "shapeset", 0.8),
             ("tanh", "normalized", "mnist", 0.0166)]
    # the default probe schedule's shape (log-spaced, then sparse); the standard init's weight
    # gradients a fifth of the normalized init's (Fig. 9 must give each its own scale)
    paths = [make_run(d / f"{a}_{i}_{k}.h5", activation=a, init=i, kind=k, final_error=e,
                      seed=n, steps=(0, 10, 20, 50, 100, 500, 2000, 20000, 40000),
                      wgrad_scale=0.2 if i == "standard" else 1.0)
             for n, (a, i, k, e) in enumerate(specs)]
    return [read_run(p) for p in paths]


def _file(run, name: str) -> np.ndarray:
    """A series of the run file as stored, read with h5py (not through glorot's reader)."""
    with h5py.File(run.path, "r") as f:
        return f[name][()]


def _planned(runs, name):
    planned, _ = figures.plan(runs)
    return next(p for p in planned if p.name == name)


def _check_png(path, min_w=600, min_h=300):
    img = mpimg.imread(path)
    h, w = img.shape[:2]
    assert w >= min_w and h >= min_h, f"{path.name}: {w}x{h}"
    assert w <= 2000 and h <= 2000, f"{path.name}: {w}x{h}"
    rgb = img[..., :3]
    assert rgb.std() > 0.02, f"{path.name} looks blank"
    dark = (rgb.mean(axis=2) < 0.5).mean()
    assert 0.002 < dark < 0.5, f"{path.name}: {dark:.3%} dark pixels"


@pytest.mark.slow
def test_full_run_set_makes_every_figure_as_a_sensible_png(paper_runs, tmp_path):
    written, notes = figures.write_figures(paper_runs, tmp_path / "figs")
    names = {p.stem for p in written}
    assert names == ALL, notes
    assert all(p.suffix == ".png" for p in written)
    for p in written:
        _check_png(p)
    # no temporary files left behind
    assert sorted(x.name for x in (tmp_path / "figs").iterdir()) == sorted(
        p.name for p in written)


def test_single_run_gets_only_the_figures_it_supports_and_notes_the_rest(tmp_path):
    r = read_run(make_run(tmp_path / "tanhN.h5", activation="tanh", init="normalized",
                          steps=(0, 100, 1000)))
    planned, skipped = figures.plan([r])
    names = {p.name for p in planned}
    assert {"fig10_tanhN_activations", "fig06_activation_hist_init", "fig11_test_error",
            "jacobian_sv", "table1"} <= names
    assert "fig02_sigmoid_activations" not in names
    assert any(s.startswith("fig02_sigmoid_activations: skipped (no Sigmoid run")
               for s in skipped)
    assert all("\n" not in s for s in skipped)
    fig6 = next(p for p in planned if p.name == "fig06_activation_hist_init")
    assert len(fig6.make().axes) == 1  # one panel: only the normalized run


def test_standard_and_normalized_runs_give_two_panel_init_histograms(paper_runs):
    planned, _ = figures.plan(paper_runs)
    for name in ("fig06_activation_hist_init", "fig07_bgrad_hist_init",
                 "fig08_wgrad_hist_init", "fig09_wgrad_std"):
        p = next(p for p in planned if p.name == name)
        assert [series.config(r)["init"] for r in p.runs] == ["standard", "normalized"]
        assert len(p.make().axes) == 2


def test_run_without_statistics_still_gives_error_figures(tmp_path):
    r = read_run(make_run(tmp_path / "bare.h5", layers=False))
    written, notes = figures.write_figures([r], tmp_path / "out")
    assert {p.stem for p in written} == {"fig11_test_error", "table1"}
    assert any("fig06" in n and "per-layer" in n for n in notes)
    assert any("jacobian_sv" in n for n in notes)


def test_existing_figures_are_not_overwritten_without_force(tmp_path):
    bare = read_run(make_run(tmp_path / "bare.h5", layers=False))
    out = tmp_path / "figs"
    out.mkdir()
    (out / "table1.png").write_bytes(b"old")
    with pytest.raises(GlorotError, match="already exists"):
        figures.write_figures([bare], out)
    assert (out / "table1.png").read_bytes() == b"old"
    assert [x.name for x in out.iterdir()] == ["table1.png"]  # nothing else written first
    written, _ = figures.write_figures([bare], out, force=True, formats=("png", "pdf"))
    assert len(written) == 4
    assert (out / "table1.png").read_bytes()[:4] == b"\x89PNG"
    assert (out / "table1.pdf").read_bytes()[:4] == b"%PDF"


def test_figure_functions_take_plain_arrays(tmp_path):
    ep = np.linspace(0, 5, 30)
    mean = np.tile(np.linspace(0.5, 0.1, 4), (30, 1))
    fig = figures.fig_mean_std(ep, mean, np.full_like(mean, 0.1), title="t", source="s")
    axes = fig.axes
    assert axes[0].get_xlabel().startswith("mini-batch updates")
    assert [t.get_text() for t in axes[0].get_legend().get_texts()] == [
        "Layer 1", "Layer 2", "Layer 3", "Layer 4"]
    p = figures.save(fig, tmp_path / "x.png")
    _check_png(p)
    err = figures.fig_test_error([("Shapeset-3x2", [
        figures.Curve("A", np.array([0, 1e5]), np.array([80.0, 20.0])),
        figures.Curve("B", np.array([0, 1e5]), np.array([80.0, 40.0]))])],
        title="t")
    labels = [t.get_text() for t in err.axes[0].get_legend().get_texts()]
    assert labels == ["B (40.00%)", "A (20.00%)"]  # highest final error first, as the paper
    assert err.axes[0].get_xlabel() == "# examples seen"


def test_zoomed_error_figure_says_when_the_majority_line_is_off_the_axis():
    x = np.array([0, 1e4, 2e4, 3e4, 4e4, 5e4])
    curve = figures.Curve("A", x, np.array([90.0, 10.0, 8.0, 6.0, 5.0, 4.0]))
    zoomed = figures.fig_test_error([("MNIST", [curve])], title="t", baselines=[88.6],
                                    zoom=True)
    labels = [t.get_text() for t in zoomed.axes[0].get_legend().get_texts()]
    assert labels[0] == "majority class (88.6%, off the zoomed axis)"
    whole = figures.fig_test_error([("MNIST", [curve])], title="t", baselines=[88.6])
    labels = [t.get_text() for t in whole.axes[0].get_legend().get_texts()]
    assert labels[0] == "majority class (88.6%)"


def test_zoom_leaves_out_a_curve_stuck_at_chance_and_says_so():
    x = np.array([0, 1e4, 2e4, 3e4, 4e4, 5e4])
    learned = figures.Curve("Tanh N", x, np.array([90.0, 10.0, 8.0, 6.0, 5.0, 4.0]))
    stuck = figures.Curve("Sigmoid", x, np.full(6, 89.9))
    fig = figures.fig_test_error([("MNIST", [learned, stuck])], title="t", baselines=[88.6],
                                 zoom=True)
    ax = fig.axes[0]
    assert ax.get_ylim()[1] < 20  # the axis follows the curve that learned
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "Sigmoid (89.90%, off the zoomed axis)" in labels
    assert "Tanh N (4.00%)" in labels


def test_a_run_that_supports_no_figure_leaves_no_empty_folder(tmp_path):
    path = make_run(tmp_path / "r.h5", layers=False, jacobian=False, test_errors=[np.nan] * 6)
    written, notes = figures.write_figures([read_run(path)], tmp_path / "figs")
    assert written == [] and len(notes) > 5
    assert not (tmp_path / "figs").exists()


def test_jacobian_figure_leaves_room_above_the_papers_08_line():
    import numpy as np

    from glorotcli.report import figures

    first = [("Tanh N", np.array([0.74, 0.76, 0.78, 0.79]), 0.0)]
    over = [("Tanh N", np.array([0.0]), np.array([0.77]))]
    fig = figures.fig_jacobian(first, over, {"normalized": 0.8, "standard": 0.5}, title="t",
                               source="s")
    ax = fig.axes[0]
    assert ax.get_ylim()[1] >= 0.85  # the 0.8 reference is drawn inside the frame


# ------------------------------------------------------- the numbers each figure draws ----

def test_fig2_draws_each_layers_mean_and_std_bars_at_every_probe(paper_runs):
    p = _planned(paper_runs, "fig02_sigmoid_activations")
    (run,) = p.runs
    assert series.config(run)["activation"] == "sigmoid"
    fig = p.make()
    steps = _file(run, "layers/step")
    mean, std = _file(run, "layers/act/mean"), _file(run, "layers/act/std")
    for j in range(mean.shape[1]):
        x, y = drawn(fig, f"mean L{j + 1}")
        np.testing.assert_array_equal(x, steps)
        np.testing.assert_allclose(y, mean[:, j])
        xb, ends = drawn(fig, f"std L{j + 1}")
        np.testing.assert_allclose(ends, np.c_[mean[:, j] - std[:, j], mean[:, j] + std[:, j]])
        np.testing.assert_allclose(xb, steps, rtol=0.2, atol=2.0)  # bars side by side


@pytest.mark.parametrize("name, init", [("fig03_tanh_activations", "standard"),
                                        ("fig10_tanhN_activations", "normalized")])
def test_percentile_figures_draw_p2_p98_markers_and_mean_pm_std_lines(paper_runs, name, init):
    p = _planned(paper_runs, name)
    (run,) = p.runs
    assert (series.config(run)["activation"], series.config(run)["init"]) == ("tanh", init)
    fig = p.make()
    steps = _file(run, "layers/step")
    act = {s: _file(run, f"layers/act/{s}") for s in ("p2", "p98", "mean", "std")}
    for j in range(act["mean"].shape[1]):
        n = f"L{j + 1}"
        for s in ("p2", "p98"):
            x, y = drawn(fig, f"{s} {n}")
            np.testing.assert_array_equal(x, steps)
            np.testing.assert_allclose(y, act[s][:, j])
        for sign, gid in ((1, "mean+std"), (-1, "mean-std")):
            x, y = drawn(fig, f"{gid} {n}")
            np.testing.assert_array_equal(x, steps)
            np.testing.assert_allclose(y, act["mean"][:, j] + sign * act["std"][:, j])


def _density(hist_row: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Fractions per bin -> a density with unit area over the edges."""
    return hist_row / hist_row.sum() / np.diff(edges)


def test_fig4_draws_the_activation_histograms_of_the_last_probe(paper_runs):
    p = _planned(paper_runs, "fig04_activation_hist_end")
    assert [series.config(r)["activation"] for r in p.runs] == ["tanh", "softsign"]
    fig = p.make()
    for k, run in enumerate(p.runs):
        hist = _file(run, "layers/act/hist")[-1]
        with h5py.File(run.path, "r") as f:
            edges = f["layers/act/hist"].attrs["edges"]
        last = int(_file(run, "layers/step")[-1])
        assert f"after {last:,} updates" in fig.axes[k].get_title()
        for j in range(hist.shape[0]):
            x, y = drawn(fig, f"density L{j + 1}", panel=k)
            np.testing.assert_allclose(x, 0.5 * (edges[1:] + edges[:-1]))
            np.testing.assert_allclose(y, _density(hist[j], edges))


def test_fig6_draws_the_activation_histograms_at_step_0(paper_runs):
    p = _planned(paper_runs, "fig06_activation_hist_init")
    fig = p.make()
    for k, run in enumerate(p.runs):
        row = int(np.flatnonzero(_file(run, "layers/step") == 0)[0])
        hist = _file(run, "layers/act/hist")[row]
        with h5py.File(run.path, "r") as f:
            edges = f["layers/act/hist"].attrs["edges"]
        std = _file(run, "layers/act/std")[row]
        assert ", ".join(f"{v:.3g}" for v in std) in fig.axes[k].get_title()
        for j in range(hist.shape[0]):
            _, y = drawn(fig, f"density L{j + 1}", panel=k)
            np.testing.assert_allclose(y, _density(hist[j], edges))


def _reference_init_gradients(run, q: str) -> list[np.ndarray]:
    """Per layer, every value of ``q`` ("bgrad": dC/ds per example, "wgrad": dC/dW per example)
    of the run's initial net on its probe examples, from the slow NumPy reference."""
    from reference import ref_probe_values

    with h5py.File(run.path, "r") as f:
        n = len(run.sizes) - 1
        W = [f[f"weights/init/W{i}"][()].astype(np.float64) for i in range(n)]
        b = [f[f"weights/init/b{i}"][()].astype(np.float64) for i in range(n)]
        x = f["probe/x"][()].astype(np.float64) / 255.0
        y = f["probe/y"][()]
    _, bgrads, wgrads, _ = ref_probe_values(W, b, series.config(run)["activation"], x, y, "nll")
    return [g.ravel() for g in (bgrads if q == "bgrad" else wgrads)]


@pytest.mark.parametrize("name, q", [("fig07_bgrad_hist_init", "bgrad"),
                                     ("fig08_wgrad_hist_init", "wgrad")])
def test_init_gradient_figures_draw_the_initial_nets_gradients(paper_runs, name, q):
    p = _planned(paper_runs, name)
    fig = p.make()
    for k, run in enumerate(p.runs):
        values = _reference_init_gradients(run, q)
        title = fig.axes[k].get_title()
        assert ", ".join(f"{v.std():.3g}" for v in values) in title, title
        for j, v in enumerate(values):
            x, y = drawn(fig, f"density L{j + 1}", panel=k)
            half = 0.5 * (x[1] - x[0])
            edges = np.r_[x - half, x[-1] + half]
            ref = np.histogram(v, edges)[0] / v.size
            # float32 product against float64 reference: a value on a bin edge may flip
            np.testing.assert_allclose(y * np.diff(edges), ref, atol=2.5 / v.size)


def test_fig9_draws_each_runs_weight_gradient_std_on_its_own_scale(paper_runs):
    p = _planned(paper_runs, "fig09_wgrad_std")
    assert [series.config(r)["init"] for r in p.runs] == ["standard", "normalized"]
    fig = p.make()
    assert "each panel has its own y scale" in fig.get_suptitle()
    for k, run in enumerate(p.runs):
        steps = _file(run, "layers/step")
        std = _file(run, "layers/wgrad/std")
        for j in range(std.shape[1]):
            x, y = drawn(fig, f"+std L{j + 1}", panel=k)
            np.testing.assert_array_equal(x, steps)
            np.testing.assert_allclose(y, std[:, j])
            _, y = drawn(fig, f"-std L{j + 1}", panel=k)
            np.testing.assert_allclose(y, -std[:, j])
        lo, hi = fig.axes[k].get_ylim()
        assert std.max() <= hi <= 1.5 * std.max() and lo == -hi  # the panel's own range
        ratio = std[-1, 0] / std[-1, -1]
        assert f"Layer 1 / Layer 5 after {int(steps[-1]):,} updates: {ratio:.2g}" in \
            fig.axes[k].get_title()


def test_fig11_draws_test_error_in_percent_against_examples_seen(paper_runs):
    p = _planned(paper_runs, "fig11_test_error")
    assert all(series.data_kind(r) == "shapeset" for r in p.runs) and len(p.runs) == 4
    fig = p.make()
    for run, label in zip(p.runs, series.unique_labels(p.runs, with_depth=True), strict=True):
        err = _file(run, "log/test_error")
        ok = np.isfinite(err)
        x, y = drawn(fig, f"error {label}")
        np.testing.assert_array_equal(x, _file(run, "log/examples_seen")[ok])
        np.testing.assert_allclose(y, 100 * err[ok])
    _, base = drawn(fig, "majority")
    np.testing.assert_allclose(base, 100 * 5 / 6)  # online Shapeset: 3 classes at 1/6 each


def test_jacobian_figure_draws_the_first_measurement_and_the_mean_over_training(paper_runs):
    p = _planned(paper_runs, "jacobian_sv")
    assert len(p.runs) == len(paper_runs)
    fig = p.make()
    for run, label in zip(p.runs, series.unique_labels(p.runs), strict=True):
        sv = _file(run, "layers/jacobian/sv_mean")
        steps = _file(run, "layers/jacobian/step")
        x, y = drawn(fig, f"first {label}")
        np.testing.assert_array_equal(x, np.arange(1, sv.shape[1] + 1))
        np.testing.assert_allclose(y, sv[0])
        x, y = drawn(fig, f"over time {label}")
        np.testing.assert_array_equal(x, steps)
        np.testing.assert_allclose(y, sv.mean(axis=1))
    _, y = drawn(fig, "paper normalized")
    np.testing.assert_allclose(y, 0.8)


def test_table1_figure_puts_each_final_test_error_in_its_cell(paper_runs):
    fig = _planned(paper_runs, "table1").make()
    cells = {(r, c): cell.get_text().get_text()
             for (r, c), cell in fig.axes[0].tables[0].get_celld().items()}
    header = [cells[(0, c)].split("\n")[0] for c in range(4)]
    assert header == ["", "Shapeset-3x2", "MNIST", "CIFAR-10"]
    rows = {cells[(r, 0)]: r for r in range(1, 6)}
    for run in paper_runs:
        err = _file(run, "log/test_error")
        col = 1 + ["shapeset", "mnist"].index(series.data_kind(run))
        text = cells[(rows[series.run_label(run)], col)]
        assert text.startswith(f"{100 * err[np.isfinite(err)][-1]:.2f} / "), text


# ------------------------------------------------------------------ time axes ----

def test_early_probes_spread_out_on_the_time_axis(paper_runs):
    """The default schedule probes at 0, 10, 20, 50, ... then every 20k updates: on a linear
    axis the first six of nine probes would share 2 % of its width."""
    fig = _planned(paper_runs, "fig03_tanh_activations").make()
    ax = fig.axes[0]
    steps = _file(paper_runs[0], "layers/step")
    px = ax.transData.transform(np.c_[steps, np.zeros(len(steps))])[:, 0]
    width = ax.bbox.width
    assert np.diff(px).min() > 0.03 * width  # every probe stands apart
    assert "log scale" in ax.get_xlabel() and "20k updates" in ax.get_xlabel()


def test_evenly_spaced_probes_keep_a_linear_time_axis():
    steps = np.arange(0, 20_001, 1000)
    mean = np.tile(np.linspace(0.5, 0.1, 3), (len(steps), 1))
    fig = figures.fig_mean_std(steps, mean, 0.1 * mean, title="t")
    assert fig.axes[0].get_xscale() == "linear"
    assert "log scale" not in fig.axes[0].get_xlabel()


# ------------------------------------------------------ which runs each figure names ----

def test_every_figure_names_the_qualifying_runs_it_does_not_draw(paper_runs, tmp_path):
    extra = [read_run(make_run(tmp_path / f"more_{a}_{i}.h5", activation=a, init=i, seed=9,
                               steps=(0, 50, 500, 4000)))
             for a, i in (("tanh", "standard"), ("tanh", "normalized"),
                          ("softsign", "standard"), ("sigmoid", "standard"))]
    planned, _ = figures.plan(paper_runs + extra)
    for p in planned:
        if p.spec.select.how == "all":
            assert p.note == "", p.name
            continue
        drawn_names = {r.path.name for r in p.runs}
        undrawn = [r.path.name for r in extra if r.path.name not in drawn_names
                   and figures._lacks(p.spec.select, r) is None
                   and (not p.spec.select.activations
                        or series.config(r)["activation"] in p.spec.select.activations)
                   and (not p.spec.select.inits
                        or series.config(r)["init"] in p.spec.select.inits)]
        assert undrawn, p.name  # each non-"all" figure has an extra run that fits it
        for name in undrawn:
            assert name in p.note, (p.name, p.note)


def test_figure_table_names_every_figure_once():
    names = [s.name for s in figures.FIGURES]
    assert sorted(names) == sorted(ALL) and len(set(names)) == len(names)
    assert all(s.draw in figures.DRAW for s in figures.FIGURES)


def test_learning_rates_are_written_one_way_in_every_source_note(tmp_path):
    r = read_run(make_run(tmp_path / "big.h5", lr=1e6, layers=False))
    assert "lr 1e+06 " in series.source_note([r])
    from glorotcli.report import terminal

    tab = terminal.summary_table([r])
    assert "lr 1e+06" in str(tab.columns[1]._cells[0])


def test_runs_on_different_data_get_one_majority_line_each(tmp_path):
    from glorotcli.data.store import write_dataset

    def data(path, train, test):
        def split(y):
            return np.zeros((len(y), 4), np.uint8), np.asarray(y, np.uint8)
        return write_dataset(path, kind="mnist", image_shape=(2, 2, 1),
                             class_names=["a", "b", "c"],
                             splits={"train": split(train), "test": split(test)})

    d1 = data(tmp_path / "d1.h5", [0, 0, 1], [0, 1, 1, 2])  # answers 0: 75 % wrong
    d2 = data(tmp_path / "d2.h5", [2, 2, 1], [0, 1, 2, 2])  # answers 2: 50 % wrong
    runs = [read_run(make_run(tmp_path / f"r{k}.h5", kind="mnist", data_path=str(d),
                              layers=False, seed=k)) for k, d in enumerate((d1, d2))]
    fig = _planned(runs, "fig12_test_error").make()
    np.testing.assert_allclose(drawn(fig, "majority d1.h5")[1], 75.0)
    np.testing.assert_allclose(drawn(fig, "majority d2.h5")[1], 50.0)
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert any(t.startswith("majority class, d1.h5 (75.0%") for t in labels), labels
