"""Figure 5 (`glorot surface`): cross-entropy versus quadratic cost over two weights (§4.1)."""

from __future__ import annotations

import json

import h5py
import matplotlib.image as mpimg
import numpy as np
import pytest
from reference import ref_surface_costs

from glorotcli.errors import GlorotError
from glorotcli.report.surface import cost_surface, sample_pairs


def test_costs_match_the_slow_forward_pass_and_have_the_right_ranges():
    s = cost_surface(grid=9, n_pairs=3, seed=1)
    assert s.cross_entropy.shape == (9, 9)
    for i2 in (0, 3, 8):
        for i1 in (0, 4, 7):
            ce, q = ref_surface_costs(s.w1[i1], s.w2[i2], s.x, s.t)
            assert s.cross_entropy[i2, i1] == pytest.approx(ce, rel=1e-12)
            assert s.quadratic[i2, i1] == pytest.approx(q, rel=1e-12)
    assert (s.cross_entropy >= 0).all()
    assert (s.quadratic >= 0).all() and (s.quadratic <= 1).all()


def test_gradient_norms_match_finite_differences():
    s = cost_surface(grid=5, limit=2.0, n_pairs=2, seed=3)
    eps = 1e-6
    for i2, i1 in ((1, 1), (2, 4), (4, 0)):
        w1, w2 = s.w1[i1], s.w2[i2]
        for k, grad in ((0, s.grad_ce), (1, s.grad_quad)):
            d1 = (ref_surface_costs(w1 + eps, w2, s.x, s.t)[k]
                  - ref_surface_costs(w1 - eps, w2, s.x, s.t)[k]) / (2 * eps)
            d2 = (ref_surface_costs(w1, w2 + eps, s.x, s.t)[k]
                  - ref_surface_costs(w1, w2 - eps, s.x, s.t)[k]) / (2 * eps)
            assert grad[i2, i1] == pytest.approx(np.hypot(d1, d2), rel=1e-5, abs=1e-9)


def test_plateau_shares_count_the_grid_points_whose_gradient_is_below_flat():
    # every grid point's gradient norm by finite differences of the slow costs, then counted
    s = cost_surface(grid=11, seed=0, flat=0.02)  # several norms between flat/2 and flat
    eps = 1e-6
    below = [0, 0]
    for w2 in s.w2:
        for w1 in s.w1:
            for k in (0, 1):
                d1 = (ref_surface_costs(w1 + eps, w2, s.x, s.t)[k]
                      - ref_surface_costs(w1 - eps, w2, s.x, s.t)[k]) / (2 * eps)
                d2 = (ref_surface_costs(w1, w2 + eps, s.x, s.t)[k]
                      - ref_surface_costs(w1, w2 - eps, s.x, s.t)[k]) / (2 * eps)
                norm = np.hypot(d1, d2)
                assert abs(norm - s.flat) > 1e-6  # no point so close to flat that it is unsure
                below[k] += norm < s.flat
    assert min(below) > 0  # neither share is 0 here, so a wrong count shows
    assert s.plateau_ce == below[0] / 121 and s.plateau_quad == below[1] / 121


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_cross_entropy_has_fewer_plateaus_than_the_quadratic_cost(seed):
    s = cost_surface(seed=seed)
    assert s.plateau_ce < s.plateau_quad


def test_pairs_are_seeded_and_hold_both_targets():
    x1, t1 = sample_pairs(4, 7)
    x2, t2 = sample_pairs(4, 7)
    np.testing.assert_array_equal(x1, x2)
    np.testing.assert_array_equal(t1, t2)
    assert set(t1) == {0, 1}


def test_bad_settings_are_refused():
    with pytest.raises(GlorotError, match="--grid"):
        cost_surface(grid=2)
    with pytest.raises(GlorotError, match="--limit"):
        cost_surface(limit=0)


def test_cli_writes_png_and_values_and_prints_plateaus(run_cli, tmp_path):
    png = tmp_path / "fig05.png"
    npz = tmp_path / "grid.npz"
    code, out, err = run_cli("surface", "-o", png, "--values", npz, "--grid", "21")
    assert code == 0, err
    assert out.split() == [str(png), str(npz)]
    assert "cross-entropy" in err and "quadratic" in err
    img = mpimg.imread(png)
    assert img.shape[1] >= 800 and img.shape[0] >= 400 and img[..., :3].std() > 0.02
    z = np.load(npz)
    assert z["cross_entropy"].shape == (21, 21) and z["w1"][0] == -4.0
    h5 = tmp_path / "grid.h5"
    code, out, err = run_cli("surface", "-o", png, "--values", h5, "--grid", "11", "--json")
    assert code == 2 and "already exists" in err  # the PNG is there
    code, out, err = run_cli("surface", "-o", png, "--values", h5, "--grid", "11", "--json",
                             "--force")
    assert code == 0, err
    d = json.loads(out)
    assert d["grid"] == 11 and d["values"] == str(h5)
    assert d["cross_entropy"]["plateau_share"] < d["quadratic"]["plateau_share"]
    with h5py.File(h5, "r") as f:
        assert f.attrs["format"] == "glorot-surface"
        assert f["quadratic"].shape == (11, 11)
        for cost, grad in (("cross_entropy", "grad_ce"), ("quadratic", "grad_quad")):
            assert d[cost]["plateau_share"] == np.mean(f[grad][()] < f.attrs["flat"])
    code, _, err = run_cli("surface", "-o", tmp_path / "a.png", "--values", tmp_path / "a.txt")
    assert code == 2 and ".npz or .h5" in err


@pytest.mark.parametrize("name", ["fig.txt", "fig", "fig.jpg"])
def test_figure_name_without_png_or_pdf_is_refused_before_any_work(run_cli, tmp_path, name):
    code, out, err = run_cli("surface", "-o", tmp_path / name, "--grid", "5")
    assert code == 2 and out == ""
    assert ".png or .pdf" in err and err.count("\n") == 1 and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []


def test_inspect_reads_the_npz_surface_file_that_surface_values_writes(run_cli, tmp_path):
    import json

    npz = tmp_path / "s.npz"
    code, _, err = run_cli("surface", "-o", tmp_path / "s.png", "--values", npz, "--grid", "9")
    assert code == 0, err
    code, out, err = run_cli("inspect", npz, "--json")
    assert code == 0, err
    info = json.loads(out)
    assert info["format"] == "glorot-surface" and info["arrays"]["cross_entropy"] == [9, 9]
    with np.load(npz) as z:
        assert info["plateau_ce"] == pytest.approx(float(z["plateau_ce"]))
    other = tmp_path / "other.npz"
    np.savez(other, a=np.zeros(3))
    code, _, err = run_cli("inspect", other)
    assert code == 2 and "not a glorot surface-values file" in err
