"""Run files -> the numbers the reports draw (glorotcli/report/series.py, paper.py)."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import make_run

from glorotcli.report import paper, series
from glorotcli.report.series import Unavailable
from glorotcli.stats.runlog import read_run


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    d = tmp_path_factory.mktemp("runs")
    specs = {
        "tanh": dict(activation="tanh", init="standard", final_error=0.30),
        "tanhN": dict(activation="tanh", init="normalized", final_error=0.16),
        "softsign": dict(activation="softsign", init="standard", final_error=0.17),
        "sigmoid4": dict(activation="sigmoid", init="standard", depth=4, final_error=0.35),
        "mnist_sigmoid": dict(activation="sigmoid", init="standard", kind="mnist",
                              final_error=0.0221),
        "cifar_tanhN": dict(activation="tanh", init="normalized", kind="cifar10",
                            final_error=0.53),
        "bare": dict(layers=False, jacobian=False, depth=3),
    }
    return {k: read_run(make_run(d / f"{k}.h5", seed=i, **v))
            for i, (k, v) in enumerate(specs.items())}


def test_budgets_are_shares_of_the_papers_2_5_million_updates():
    assert series.paper_share(25_000) == pytest.approx(1.0)
    assert [series.share_text(s) for s in (1_500, 40_000, 600_000, 2_500_000)] == [
        "0.06 %", "1.6 %", "24 %", "100 %"]
    assert series.budget_text(40_000) == "40,000 updates (1.6 % of the paper's 2.5 M updates)"


def test_counts_are_singular_for_one():
    assert [series.plural(n, "probe") for n in (0, 1, 2, 1000)] == [
        "0 probes", "1 probe", "2 probes", "1,000 probes"]


def test_layer_series_are_against_updates(runs):
    steps, mean = series.layer_stat(runs["tanh"], "act", "mean")
    np.testing.assert_array_equal(steps, [0, 100, 1000, 5000, 20000, 40000])
    assert steps.dtype == np.int64
    assert mean.shape == (len(steps), 5)


def test_normalized_histograms_integrate_to_one(runs):
    for which in ("init", "last"):
        for q in ("act", "bgrad", "wgrad"):
            h = series.hist_at(runs["tanh"], q, which)
            area = (h.density * np.diff(h.edges)).sum(axis=1)
            np.testing.assert_allclose(area, 1.0, rtol=1e-12)


def test_density_ignores_values_off_the_scale_and_reports_them():
    edges = np.array([0.0, 0.5, 1.0])
    hist = np.array([[0.2, 0.6], [0.0, 0.0]])  # first row: 20 % off scale
    d = series.density(hist, edges)
    np.testing.assert_allclose(d[0], [0.25 / 0.5, 0.75 / 0.5])
    np.testing.assert_array_equal(d[1], [0, 0])
    np.testing.assert_allclose(series.off_scale(hist), [0.2, 1.0])


def test_histogram_at_init_is_the_step_zero_row(runs):
    r = runs["tanh"]
    h = series.hist_at(r, "act", "init")
    assert h.step == 0
    raw = r.layers["act"]["hist"][0]
    np.testing.assert_allclose(h.density, raw / raw.sum(1, keepdims=True) / np.diff(h.edges))
    assert series.hist_at(r, "act", "last").step == r.layer_step[-1]


def test_stat_at_init_and_last(runs):
    r = runs["tanhN"]
    np.testing.assert_array_equal(series.stat_at(r, "act", "std", "init"),
                                  r.layers["act"]["std"][0])
    np.testing.assert_array_equal(series.stat_at(r, "act", "std", "last"),
                                  r.layers["act"]["std"][-1])


def test_error_curve_is_in_percent_against_examples_seen(runs):
    r = runs["tanh"]
    x, y = series.error_curve(r, "test")
    np.testing.assert_array_equal(x, r.log["examples_seen"])
    np.testing.assert_allclose(y, 100 * r.log["test_error"])
    assert series.final_test_error(r) == pytest.approx(30.0)


def test_run_without_layers_or_jacobian_says_what_is_missing(runs):
    r = runs["bare"]
    with pytest.raises(Unavailable, match="no per-layer statistics"):
        series.layer_stat(r, "act", "mean")
    with pytest.raises(Unavailable, match="no per-layer statistics"):
        series.hist_at(r, "act", "init")
    with pytest.raises(Unavailable, match="Jacobian"):
        series.jacobian(r)
    s = series.summary(r)
    assert s["probe_rows"] == 0 and s["jacobian_rows"] == 0
    assert "/layers" in s["missing"]


def test_labels_follow_the_paper():
    assert paper.row_label("tanh", "normalized") == "Tanh N"
    assert paper.row_label("softsign", "standard") == "Softsign"
    assert paper.row_label("tanh", "he") == "Tanh (he)"


def test_label_names_depth_when_not_five(runs):
    assert series.run_label(runs["tanhN"]) == "Tanh N"
    assert series.run_label(runs["sigmoid4"]) == "Sigmoid depth 4"


def test_online_shapeset_counts_as_the_shapeset_column(runs):
    r = runs["tanh"]
    r2 = type(r)(**{**r.__dict__, "dataset": {**r.dataset, "kind": "shapeset-online"}})
    assert series.data_kind(r2) == "shapeset"
    assert series.data_label(r2) == "Shapeset-3x2 (online)"


def test_table1_puts_each_measured_error_in_its_cell(runs):
    tab = series.table1(list(runs.values()))
    cell = tab.cells
    assert cell[("Tanh", "shapeset")].measured == [pytest.approx(30.0)]
    assert cell[("Tanh", "shapeset")].paper == 27.15
    assert cell[("Tanh N", "shapeset")].measured == [pytest.approx(16.0)]
    assert cell[("Softsign", "shapeset")].measured == [pytest.approx(17.0)]
    assert cell[("Sigmoid", "mnist")].measured == [pytest.approx(2.21)]
    assert cell[("Sigmoid", "mnist")].paper == 2.21
    assert cell[("Tanh N", "cifar10")].measured == [pytest.approx(53.0)]
    assert cell[("Tanh N", "cifar10")].paper == 52.92
    # nothing measured where no run was given, but the paper's number is there
    assert cell[("Softsign N", "shapeset")].measured == []
    assert cell[("Softsign N", "shapeset")].paper == 16.06
    assert cell[("Sigmoid", "shapeset")].measured == []
    # a depth-4 run gets its own row, without a paper value
    assert "Sigmoid depth 4" in tab.rows
    assert cell[("Sigmoid depth 4", "shapeset")].measured == [pytest.approx(35.0)]
    assert cell[("Sigmoid depth 4", "shapeset")].paper is None
    placed = sum(len(c.measured) for c in cell.values())
    assert placed == len(runs)  # the bare run has a test error too (depth 3 row)


def test_table1_averages_repeated_runs_of_one_cell(tmp_path):
    rs = [read_run(make_run(tmp_path / f"s{i}.h5", seed=i, final_error=e))
          for i, e in enumerate((0.20, 0.30))]
    c = series.table1(rs).cells[("Tanh", "shapeset")]
    assert c.mean == pytest.approx(25.0)
    assert len(c.runs) == 2


def test_summary_shows_the_paper_value_only_for_the_paper_config(runs):
    assert series.summary(runs["tanh"])["paper_test_error"] == 27.15
    assert series.summary(runs["sigmoid4"])["paper_test_error"] is None
    s = series.summary(runs["tanh"])
    assert s["steps"] == 40_000 and s["examples_seen"] == 400_000
    assert s["paper_budget_percent"] == pytest.approx(1.6)
    assert "epochs" not in s
    assert s["majority_error"] == pytest.approx(100 * 5 / 6)  # online Shapeset


def test_unique_labels_add_the_file_name_only_for_duplicates(runs):
    labels = series.unique_labels([runs["tanhN"], runs["cifar_tanhN"], runs["tanh"]])
    assert labels == ["Tanh N (tanhN)", "Tanh N (cifar_tanhN)", "Tanh"]


def test_percentages_print_without_float_noise():
    import json

    from glorotcli.report.series import percent

    assert json.dumps(percent(0.916)) == "91.6"
    assert json.dumps(percent(np.array([0.916, 0.0175])).tolist()) == "[91.6, 1.75]"


def _labels_file(path, train, test):
    """A dataset file with the given label arrays (images all zero)."""
    from glorotcli.data.store import write_dataset

    def split(y):
        y = np.asarray(y, np.uint8)
        return np.zeros((len(y), 4), np.uint8), y

    return write_dataset(path, kind="mnist", image_shape=(2, 2, 1),
                         class_names=["a", "b", "c"],
                         splits={"train": split(train), "valid": split([0, 1]),
                                 "test": split(test)})


def test_majority_baseline_answers_the_training_splits_most_frequent_class(tmp_path):
    # train: class 0 most frequent; test: class 1 most frequent (its own majority error
    # would be 1 - 5/10 = 50 %; answering the training majority, class 0, is wrong 80 %)
    data = _labels_file(tmp_path / "d.h5", train=[0] * 6 + [1] * 3 + [2],
                        test=[0] * 2 + [1] * 5 + [2] * 3)
    run = read_run(make_run(tmp_path / "r.h5", kind="mnist", majority_error=0.5,
                            data_path=str(data), layers=False))
    base = series.majority_baseline(run)
    assert base.error == pytest.approx(80.0)
    assert "training split's most frequent class, 0, scored on the test split of d.h5" in \
        base.basis
    assert series.summary(run)["majority_error"] == pytest.approx(80.0)


def test_majority_baseline_says_when_it_falls_back_to_the_recorded_value(tmp_path):
    run = read_run(make_run(tmp_path / "r.h5", kind="mnist", majority_error=0.5,
                            data_path=str(tmp_path / "moved.h5"), layers=False))
    base = series.majority_baseline(run)
    assert base.error == pytest.approx(50.0)
    assert "test split's own" in base.basis and "not found" in base.basis
    online = read_run(make_run(tmp_path / "o.h5", majority_error=0.81, layers=False))
    assert series.majority_baseline(online).error == pytest.approx(100 * 5 / 6)


def test_table1_of_runs_of_different_lengths_gives_the_range_of_updates(tmp_path):
    short = read_run(make_run(tmp_path / "a.h5", steps=(0, 100, 600)))
    long_ = read_run(make_run(tmp_path / "b.h5", init="normalized", steps=(0, 100, 1500)))
    tab = series.table1([short, long_])
    assert tab.budget["shapeset"] == 1500 and tab.shortest["shapeset"] == 600
    assert tab.column_label("shapeset") == "Shapeset-3x2, 600 to 1,500 updates (0.024 to 0.06 %)"
    assert tab.budget_note() == ("after 600 to 1,500 updates on Shapeset-3x2 (0.024 to 0.06 % of "
                                 "the paper's 2.5 M updates)")
    same = series.table1([short])
    assert same.column_label("shapeset") == "Shapeset-3x2, 600 updates (0.024 %)"
