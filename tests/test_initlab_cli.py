"""``glorot init-lab`` (glorotcli/cli/initlab.py over glorotcli/report/initlab.py): its JSON,
its figures and the numbers they draw, and its one-line errors."""

from __future__ import annotations

import json

import numpy as np
import pytest
from helpers import make_data

from glorotcli.report import initlab as IL

SMALL = ("--depth", "3", "--width", "200", "--examples", "60")
TINY = ("--depth", "3", "--width", "64", "--examples", "30")


def _json(run_cli, *args):
    code, out, err = run_cli("init-lab", *args, "--json")
    assert code == 0, err
    return json.loads(out)


def test_json_has_measured_and_both_predictions_per_layer(run_cli):
    d = _json(run_cli, *SMALL, "-a", "tanh", "-i", "normalized", "--input-moment", "0.3")
    assert set(d) >= {"network", "inputs", "layers", "measured", "predicted"}
    assert d["network"]["widths"] == [1024, 200, 200, 200, 9]  # Shapeset-3x2's sizes
    assert [row["layer"] for row in d["layers"]] == [1, 2, 3]
    assert set(d["predicted"]) == {"linear", "mean_field"}
    for part in (d["measured"], d["predicted"]["linear"], d["predicted"]["mean_field"]):
        for key in ("act_std", "bgrad_std", "wgrad_std"):
            assert len(part[key]) == 3 and all(v > 0 for v in part[key]), key
        assert len(part["jacobian_mean_sv"]) == 2
    assert len(d["measured"]["sat"]) == len(d["predicted"]["mean_field"]["sat"]) == 3
    # n Var[W] of the normalized init: 2 n_in / (n_in + n_out) (eq. 16), per layer
    assert d["layers"][0]["n_var_w"] == pytest.approx(2 * 1024 / (1024 + 200))
    assert d["layers"][1]["n_var_w"] == pytest.approx(1.0)
    assert d["inputs"]["second_moment"] == pytest.approx(0.3, rel=0.02)
    # the numbers are the lab's: measured within a few percent of the mean field at width 200
    np.testing.assert_allclose(d["measured"]["act_std"], d["predicted"]["mean_field"]["act_std"],
                               rtol=0.05)
    np.testing.assert_allclose(d["measured"]["jacobian_mean_sv"],
                               d["predicted"]["mean_field"]["jacobian_mean_sv"], atol=0.02)


def test_uniform_inputs_have_the_stated_second_moment(run_cli):
    d = _json(run_cli, *TINY, "--inputs", "uniform", "--input-moment", "0.3",
              "--examples", "200")
    assert d["inputs"]["source"] == "uniform"
    assert d["inputs"]["second_moment"] == pytest.approx(0.3, rel=0.01)
    # every example's E[x^2] over 1024 inputs: uniform's spread (var of x^2 = 4 m^2 / 5)
    lo, hi = d["inputs"]["second_moment_range"]
    assert 0.3 - 5 * 0.3 * (0.8 / 1024) ** 0.5 < lo < hi < 0.3 + 5 * 0.3 * (0.8 / 1024) ** 0.5


def test_same_seed_same_numbers_and_another_seed_other_weights(run_cli):
    a = _json(run_cli, *TINY, "--jacobian-examples", "0")
    b = _json(run_cli, *TINY, "--jacobian-examples", "0")
    c = _json(run_cli, *TINY, "--jacobian-examples", "0", "--seed", "1")
    assert a == b
    assert a["measured"]["act_std"] != c["measured"]["act_std"]
    assert a["measured"]["jacobian_mean_sv"] == []


def test_data_file_gives_the_input_and_output_sizes(run_cli, tmp_path):
    path = make_data(tmp_path / "d.h5", d=64, k=3)
    d = _json(run_cli, "--data", str(path), "--depth", "2", "--width", "50")
    assert d["network"]["widths"] == [64, 50, 50, 3]
    assert d["inputs"]["source"] == "data" and d["inputs"]["split"] == "test"
    assert d["inputs"]["examples"] == 100  # the test split holds 100 (fewer than --examples)
    from glorotcli.data.store import read_dataset

    x = read_dataset(path).splits["test"].x / 255.0
    assert d["inputs"]["second_moment"] == pytest.approx(float(np.mean(x * x)), rel=1e-5)
    d = _json(run_cli, "--data", str(path), "--widths", "64,30,20,3")
    assert d["network"]["widths"] == [64, 30, 20, 3]


def test_depth_50_works(run_cli):
    d = _json(run_cli, "--depth", "50", "--width", "40", "--examples", "30",
              "--jacobian-examples", "1")
    assert len(d["measured"]["act_std"]) == len(d["predicted"]["mean_field"]["act_std"]) == 50
    assert len(d["measured"]["jacobian_mean_sv"]) == 49


def test_terminal_tables_show_measured_and_predicted(run_cli):
    code, out, err = run_cli("init-lab", *TINY, "-a", "relu", "-i", "he")
    assert code == 0, err
    assert "mean field" in out and "eqs. 5-7" in out and "chi" in out
    assert "50.0%" in out  # relu's predicted saturated fraction (its zeros): one half
    assert "at the edge of chaos" in " ".join(out.split())  # He: n Var[W] E[f'^2] = 2 / 2
    code, out, err = run_cli("init-lab", *TINY, "-a", "tanh", "-i", "standard")
    assert "(ordered, chi < 1)" in " ".join(out.split())  # n Var[W] = 1/3, f' <= 1


def test_png_writes_the_figures_and_refuses_to_overwrite(run_cli, tmp_path, monkeypatch):
    out_dir = tmp_path / "figs"
    code, out, err = run_cli("init-lab", *TINY, "--png", str(out_dir))
    assert code == 0, err
    paths = out.split()
    stem = "tanh-normalized-1024-64x3-9"
    assert sorted(paths) == sorted(str(out_dir / f"{stem}_{n}.png") for n in IL.FIGURES)
    for p in paths:
        with open(p, "rb") as f:
            assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    def refuse(*a, **k):
        raise AssertionError("the clash must be found before the lab runs")

    monkeypatch.setattr(IL, "run_lab", refuse)
    code, out, err = run_cli("init-lab", *TINY, "--png", str(out_dir))
    assert code == 2 and "already exists" in err and len(err.strip().splitlines()) == 1
    monkeypatch.undo()
    code, out, err = run_cli("init-lab", *TINY, "--png", str(out_dir), "--force", "--json")
    assert code == 0, err
    assert sorted(json.loads(out)["written"]) == sorted(paths)


@pytest.mark.parametrize("args, message", [
    (("--widths", "10,abc,3"), "--widths must be integers"),
    (("--widths", "10,3"), "--widths must list"),
    (("--widths", "10,5,3", "--depth", "2"), "not both"),
    (("--input-moment", "-1"), "--input-moment must be a positive number"),
    (("--data", "nothere.h5"), "no such file"),
    (("--data", "nothere.h5", "--inputs", "uniform"), "leave them out with --data"),
    (("-a", "swish"), "swish"),
    (("--examples", "0"), "--examples"),
])
def test_bad_flags_exit_2_with_one_line(run_cli, args, message):
    code, out, err = run_cli("init-lab", *args)
    assert code == 2
    assert message in err and len(err.strip().splitlines()) == 1, err
    assert out == ""


def test_widths_that_do_not_fit_the_data_exit_2(run_cli, tmp_path):
    path = make_data(tmp_path / "d.h5", d=64, k=3)
    code, _, err = run_cli("init-lab", "--data", str(path), "--widths", "100,20,3")
    assert code == 2 and "does not fit" in err


def test_png_into_a_file_exits_2(run_cli, tmp_path):
    f = tmp_path / "file"
    f.write_text("x")
    code, _, err = run_cli("init-lab", *TINY, "--png", str(f))
    assert code == 2 and "not a folder" in err


# ------------------------------------------------------ the numbers the figures draw ----

@pytest.fixture(scope="module")
def lab():
    return IL.run_lab(IL.LabSettings(activation="tanh", init="normalized", depth=3, width=400,
                                     examples=100, input_moment=1.0))


def test_predicted_histograms_match_the_measured_ones(lab):
    hist = IL.histograms(lab)
    for q, h in hist.items():
        assert h.layers == [1, 2, 3]
        width = np.gradient(h.centers)
        for k in range(3):
            meas = h.measured[k] * width
            pred = h.predicted[k] * width
            assert pred.sum() == pytest.approx(meas.sum(), abs=0.01)
            # Kolmogorov distance between the two (binned) distributions
            assert np.abs(np.cumsum(meas) - np.cumsum(pred)).max() < 0.03, (q, k)
            if q == "act":  # the whole range of tanh: the histogram holds every value
                assert np.sum(h.centers ** 2 * meas) == pytest.approx(
                    lab.measured.act_std[k] ** 2 + lab.measured.act_mean[k] ** 2, rel=0.01)


def test_figures_draw_the_lab_numbers(lab):
    fig = IL.fig_stds(lab)
    ax = fig.axes[0]
    mf_line, lin_line, meas_line = ax.lines[:3]
    np.testing.assert_allclose(mf_line.get_ydata(), lab.mean_field.act_std)
    np.testing.assert_allclose(lin_line.get_ydata(), lab.linear.act_std)
    np.testing.assert_allclose(meas_line.get_ydata(), lab.measured.act_std)
    np.testing.assert_allclose(lab.linear.act_std[1:] / lab.linear.act_std[:-1],
                               1.0)  # eq. 5 with eq. 12 on equal widths: n Var[W] = 1
    jac = IL.fig_jacobian(lab)
    ys = [line.get_ydata() for line in jac.axes[0].lines]
    np.testing.assert_allclose(ys[0], lab.mean_field.jacobian_mean_sv)
    np.testing.assert_allclose(ys[3], lab.measured.jacobian_mean_sv)
    assert any(np.allclose(y, 0.8) for y in ys)  # the paper's 0.8 for tanh, normalized init


def test_model_samples_have_the_predicted_moments(lab):
    rng = np.random.default_rng(0)
    for q in ("act", "bgrad", "wgrad"):
        for j in range(3):
            v = IL.model_samples(lab, q, j, 200_000, rng)
            assert np.std(v) == pytest.approx(getattr(lab.mean_field, f"{q}_std")[j], rel=0.02)


def test_input_scale_without_data_is_refused_not_ignored(run_cli):
    code, out, err = run_cli("init-lab", "--depth", "2", "--width", "20", "--input-scale", "-1,1")
    assert code == 2 and out == "" and err.count("\n") == 1
    assert "--input-scale scales the pixels of --data" in err
