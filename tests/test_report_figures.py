"""The paper's figures as PNG: which are made from which runs, and that each is a real image."""

from __future__ import annotations

import matplotlib.image as mpimg
import numpy as np
import pytest
from test_report_fixtures import make_run

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
    paths = [make_run(d / f"{a}_{i}_{k}.h5", activation=a, init=i, kind=k, final_error=e,
                      seed=n, steps=(0, 50, 500, 4000))
             for n, (a, i, k, e) in enumerate(specs)]
    return [read_run(p) for p in paths]


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
