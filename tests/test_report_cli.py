"""`glorot report`: terminal, --json, --png, --follow (while another process writes the run)."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import h5py
import pytest
from helpers import make_run

from glorotcli.stats.runlog import read_run


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    d = tmp_path_factory.mktemp("cli")
    return [make_run(d / "tanh.h5", activation="tanh", init="standard", final_error=0.3,
                     steps=(0, 100, 2000)),
            make_run(d / "tanhN.h5", activation="tanh", init="normalized", final_error=0.16,
                     steps=(0, 100, 2000), seed=1)]


def test_terminal_report_shows_summary_charts_histograms_and_table1(run_cli, two_runs):
    code, out, err = run_cli("report", *two_runs)
    assert code == 0, err
    for text in ("tanh.h5", "tanhN.h5", "Tanh N", "finished", "2,000 updates", "test 30.00",
                 "paper 27.15", "majority 83.33", "activations over training",
                 "back-propagated gradients", "weight gradients", "Jacobians",
                 "Table 1", "30.00 / 27.15", "16.00 / 15.60"):
        assert text in out, text
    assert any(ch in out for ch in "▁▂▃▄▅▆▇█")


def test_json_report_has_the_same_numbers_in_the_right_cells(run_cli, two_runs):
    code, out, _ = run_cli("report", *two_runs, "--json")
    assert code == 0
    d = json.loads(out)
    assert [r["label"] for r in d["runs"]] == ["Tanh", "Tanh N"]
    assert d["runs"][0]["test_error"] == pytest.approx(30.0)
    assert d["runs"][0]["paper_test_error"] == 27.15
    assert len(d["runs"][0]["layers"]["act"]["init"]["std"]) == 5
    cells = {(c["row"], c["column"]): c for c in d["table1"]["cells"]}
    assert cells[("Tanh", "Shapeset-3x2")]["measured"] == pytest.approx(30.0)
    assert cells[("Tanh N", "Shapeset-3x2")]["measured"] == pytest.approx(16.0)
    assert cells[("Tanh N", "Shapeset-3x2")]["paper"] == 15.6
    assert cells[("Tanh", "MNIST")]["measured"] is None


def test_report_of_a_run_without_statistics_says_what_is_missing(run_cli, tmp_path):
    p = make_run(tmp_path / "bare.h5", layers=False)
    code, out, err = run_cli("report", p)
    assert code == 0, err
    assert "missing: no per-layer statistics (/layers)" in out
    assert "Jacobian" in out


def test_png_writes_figures_prints_paths_and_notes_skipped(run_cli, tmp_path):
    p = make_run(tmp_path / "bare.h5", layers=False)
    out_dir = tmp_path / "figs"
    code, out, err = run_cli("report", p, "--png", out_dir)
    assert code == 0, err
    paths = [Path(x) for x in out.split()]
    assert {x.name for x in paths} == {"fig11_test_error.png", "table1.png"}
    assert all(x.exists() for x in paths)
    assert "fig02_sigmoid_activations: skipped" in err
    code, out, err = run_cli("report", p, "--png", out_dir)
    assert code == 2 and "already exists" in err and "--force" in err
    code, out, err = run_cli("report", p, "--png", out_dir, "--force")
    assert code == 0


def test_bad_inputs_are_one_line_errors(run_cli, tmp_path):
    code, _, err = run_cli("report", tmp_path / "nope.h5")
    assert code == 2 and "no such file" in err
    (tmp_path / "x.h5").write_bytes(b"not hdf5")
    code, _, err = run_cli("report", tmp_path / "x.h5")
    assert code == 2 and err.count("\n") == 1
    code, _, err = run_cli("report", tmp_path / "nope.h5", "--follow", "--json")
    assert code == 2 and "--follow" in err


WRITER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    sys.path.insert(0, {tests!r})
    import numpy as np
    from helpers import DIM, N_CLASSES, edges_for
    from glorotcli.stats.runlog import RunWriter
    sizes = (DIM, 4, 4, N_CLASSES)
    rng = np.random.default_rng(0)
    W = [rng.normal(size=(a, b)) for a, b in zip(sizes[:-1], sizes[1:])]
    b = [np.zeros(n) for n in sizes[1:]]
    w = RunWriter.create({path!r}, config={{"activation": "tanh", "init": "normalized",
                         "depth": 2, "online": True}}, sizes=sizes, activation="tanh",
                         init="normalized", seed=0, dataset={{"kind": "shapeset-online"}},
                         input_scale="0,1", probe_x=np.zeros((3, DIM), np.uint8),
                         probe_y=np.zeros(3, np.uint8), init_W=W, init_b=b, edges=None,
                         flush_seconds=0.0)
    Path({ready!r}).write_text("ready")
    for k in range(6):
        w.log(step=100 * k, examples_seen=1000 * k, test_error=0.5, train_loss=1.0)
        w.flush()
        time.sleep(0.15)
    w.close("finished")
""")


def test_follow_redraws_while_another_process_writes_and_stops_when_finished(run_cli,
                                                                              tmp_path):
    path = tmp_path / "live.h5"
    ready = tmp_path / "ready"
    script = WRITER.format(tests=str(Path(__file__).parent), path=str(path), ready=str(ready))
    proc = subprocess.Popen([sys.executable, "-c", script], stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while not ready.exists():
            assert proc.poll() is None, proc.stderr.read().decode()
            assert time.monotonic() < deadline
            time.sleep(0.05)
        t0 = time.monotonic()
        code, out, err = run_cli("report", path, "--follow", "--interval", "0.1")
        elapsed = time.monotonic() - t0
    finally:
        proc.wait(timeout=60)
    assert proc.returncode == 0, proc.stderr.read().decode()
    assert code == 0, err
    assert "stopped following (live.h5: finished)" in err
    assert "500 updates" in out  # the last row was drawn
    assert elapsed < 60
    with h5py.File(path, "r") as f:
        assert f["status"][()].rstrip(b"\0") == b"finished"


def test_follow_of_a_finished_run_draws_once_and_returns(run_cli, two_runs):
    code, out, err = run_cli("report", two_runs[0], "--follow", "--interval", "0.1")
    assert code == 0
    assert "stopped following (tanh.h5: finished)" in err
    assert out.count("Runs") == 1


def test_png_folder_that_cannot_be_created_is_a_one_line_error(run_cli, tmp_path, two_runs):
    blocker = tmp_path / "notes.txt"
    blocker.write_text("a file, not a folder")
    code, out, err = run_cli("report", two_runs[0], "--png", blocker / "figs")
    assert code == 2 and out == ""
    assert "cannot create the figure folder" in err and err.count("\n") == 1
    assert blocker.read_text() == "a file, not a folder"


def test_empty_run_name_from_a_failed_substitution_is_explained(run_cli):
    code, out, err = run_cli("report", "")
    assert code == 2 and out == ""
    assert "empty" in err and "$(...)" in err and err.count("\n") == 1


def test_jacobian_caption_quotes_the_paper_only_for_tanh(run_cli, tmp_path, two_runs):
    sig = make_run(tmp_path / "sig.h5", activation="sigmoid", init="standard",
                   steps=(0, 100, 2000))
    code, out, err = run_cli("report", sig)
    assert code == 0, err
    assert "mean over layers at the first: " in out and "§4.2.2" not in out
    code, out, err = run_cli("report", two_runs[0])
    assert code == 0, err
    assert "§4.2.2" in out


def test_skip_note_names_the_missing_init(run_cli, tmp_path, two_runs):
    code, _, err = run_cli("report", two_runs[1], "--png", tmp_path / "figs")
    assert code == 0, err
    assert "fig03_tanh_activations: skipped (no tanh run with the standard init)" in err
    assert "fig04_activation_hist_end: skipped (no tanh or softsign run with the standard " \
           "init" in err


@pytest.mark.parametrize("width", [60, 72, 80, 100, 160])
def test_terminal_report_fits_the_console_without_cutting_anything(tmp_path, width):
    from rich.cells import cell_len
    from rich.console import Console

    from glorotcli.report import terminal

    runs = [read_run(make_run(tmp_path / f"{a}.h5", activation=a, steps=(0, 100, 20000, 100000)))
            for a in ("tanh", "sigmoid")]
    runs.append(read_run(make_run(tmp_path / "mnist-tanhN-long-file-name.h5", kind="mnist",
                                  init="normalized", depth=4, steps=(0, 100, 3000))))  # Table 1
    console = Console(width=width, record=True, file=io.StringIO())
    console.print(terminal.render(runs, console_width=width))
    lines = console.export_text().splitlines()
    assert max(cell_len(line) for line in lines) <= width
    assert not [line for line in lines if "…" in line]
    assert sum(line.lstrip("│ ").startswith("L1 ") for line in lines) >= 2  # layer names kept


def test_terminal_report_signs_means_but_never_stds_and_counts_in_singular(tmp_path):
    from rich.console import Console

    from glorotcli.report import terminal

    run = read_run(make_run(tmp_path / "one.h5", steps=(0,), jacobian=False))
    console = Console(width=100, record=True, file=io.StringIO())
    console.print(terminal.render([run], console_width=100))
    text = console.export_text()
    assert "1 probe)" in text and "1 probes" not in text
    assert "+" not in text.split("activations over training")[1].split("histograms")[0]
    assert "epoch" not in text  # budgets in updates, and shares of the paper's 2.5 M
    assert "share of the paper's 2.5 M updates" in text


def test_inspect_shows_error_rates_in_percent_as_report_does(run_cli, two_runs):
    code, out, err = run_cli("inspect", two_runs[0])
    assert code == 0, err
    row = next(line for line in out.splitlines() if "last_test_error " in line)
    assert "30.00 %" in row
    code, out, _ = run_cli("report", two_runs[0])
    assert "test 30.00" in out


def test_closing_line_of_train_shows_no_zero_percent_shares():
    from types import SimpleNamespace

    from glorotcli.cli.train import _measurement_share

    def result(probe, jac, ev):
        return SimpleNamespace(wall_seconds=100.0, probe_seconds=probe, jacobian_seconds=jac,
                               eval_seconds=ev)

    assert _measurement_share(result(0.0, 0.0, 0.0)) == "no measurements taken"
    assert _measurement_share(result(0.0, 0.0, 5.0)) == \
        "measurements took 5 % of the time (evaluation 5 %)"
    assert _measurement_share(result(0.2, 50.0, 5.0)) == \
        "measurements took 55 % of the time (probes <1 %, Jacobians 50 %, evaluation 5 %)"


def test_json_report_counts_time_in_updates(run_cli, two_runs):
    code, out, _ = run_cli("report", two_runs[0], "--json")
    assert code == 0
    run = json.loads(out)["runs"][0]
    assert "epochs" not in run and "epochs" not in run["jacobian"]
    assert run["jacobian"]["steps"] == [0, 2000]
    assert run["paper_budget_percent"] == pytest.approx(100 * 2000 / 2_500_000)
    assert "most frequent" in run["majority_basis"]


@pytest.fixture(scope="module")
def real_run(tmp_path_factory):
    """A real (tiny) trained run: tanh, 3 x 256, standard init, on a small dataset file."""
    from helpers import make_data

    from glorotcli.config import TrainConfig
    from glorotcli.run import train as core

    folder = tmp_path_factory.mktemp("theory")
    data = make_data(folder / "d.h5", d=256)
    run = folder / "r.h5"
    core.train(TrainConfig(data=str(data), activation="tanh", init="standard", depth=3,
                           width=256, steps=20, eval_every=0, threads=1, probe_size=100), run)
    return run


def test_report_sets_the_mean_field_prediction_beside_the_step_0_measurement(run_cli, real_run):
    import numpy as np

    from glorotcli.data.pixels import scale_inputs
    from glorotcli.stats import theory

    code, out, err = run_cli("report", real_run, "--json")
    assert code == 0, err
    th = json.loads(out)["runs"][0]["theory_at_init"]
    run = read_run(real_run)
    for q in ("act", "bgrad", "wgrad"):  # measured: the run's own step-0 row
        np.testing.assert_array_equal(th["measured"][f"{q}_std"], run.layers[q]["std"][0])
    np.testing.assert_array_equal(th["measured"]["jacobian_mean_sv"], run.jacobian["sv_mean"][0])
    # predicted: the theory module for this net, init and these probe inputs (not another init)
    x = scale_inputs(run.probe_x, np.float64, "0,1")
    want = theory.predict(run.sizes, "tanh", "standard", theory.input_second_moments(x),
                          jacobian_examples=20)
    for k in ("act_std", "bgrad_std", "wgrad_std", "jacobian_mean_sv"):
        assert th["predicted"]["mean_field"][k] == pytest.approx(want["mean_field"][k])
        assert th["predicted"]["linear"][k] == pytest.approx(want["linear"][k])
        # and, at width 256, the prediction is near the measurement
        np.testing.assert_allclose(th["predicted"]["mean_field"][k], th["measured"][k],
                                   rtol=0.1)
    code, out, err = run_cli("report", real_run)
    assert code == 0, err
    assert "std at init: measured / predicted" in out
    a, b = th["measured"]["act_std"][0], th["predicted"]["mean_field"]["act_std"][0]
    lines = out.splitlines()
    at = next(i for i, line in enumerate(lines) if " L1 " in line and f" {a:.3g} " in line)
    assert f" {b:.3g} " in lines[at + 1]  # the prediction right under the measurement


def test_step_0_figures_give_the_predicted_stds_under_the_measured(real_run):
    from glorotcli.report import figures, series

    run = read_run(real_run)
    th = series.init_theory(run)
    for q in ("act", "bgrad", "wgrad"):
        title = figures._init_panel(run, q, "x").title
        assert "predicted (mean field): " + ", ".join(
            f"{v:.3g}" for v in th.mean_field[f"{q}_std"]) in title
