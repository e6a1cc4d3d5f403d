"""``glorot sweep``: grid expansion and names, recipes, learning-rate selection, skip/resume,
divergence, the local pool (with a killed worker) and Dask on a LocalCluster, and the report of a
sweep folder."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import h5py
import numpy as np
import pytest
from helpers import checkpoint_arrays, make_data
from hypothesis import given, settings
from hypothesis import strategies as st

from glorotcli.config import TrainConfig
from glorotcli.errors import GlorotError
from glorotcli.run import grid, recipes, sweep
from glorotcli.run import train as core
from glorotcli.stats.runlog import active_checkpoint, read_run

TINY = ["--depth", "2", "--width", "16", "--steps", "120", "--eval-every", "40",
        "--jacobian-every", "none", "--probe-every", "60"]


@pytest.fixture(scope="module")
def data_file(tmp_path_factory):
    return make_data(tmp_path_factory.mktemp("sweep") / "tiny.h5", contrast=12)


def _mtimes(folder: Path) -> dict[str, int]:
    return {p.name: p.stat().st_mtime_ns for p in folder.glob("*.h5")}


def _weights(path: Path) -> list[np.ndarray]:
    return checkpoint_arrays(path)


def _best_valid(path: Path) -> tuple[float, float]:
    """(lowest validation error, test error at that row), read straight from the file."""
    with h5py.File(path, "r") as f:
        v, t = f["log/valid_error"][()], f["log/test_error"][()]
    i = int(np.nanargmin(np.where(np.isfinite(v), v, np.inf)))
    return float(v[i]), float(t[i])


# --------------------------------------------------------------------- names ----

def test_run_name_is_readable_and_leaves_defaults_out():
    c = TrainConfig(online=True, activation="tanh", init="normalized", depth=5, width=1000,
                    lr=0.01)
    assert grid.run_name(c) == "online-tanh-normalized-d5-w1000-lr0.01"
    c2 = TrainConfig(data="/some/where/mnist.h5", activation="softsign", init="standard",
                     depth=3, width=200, lr=3e-5, batch_size=20, seed=7, cost="quadratic")
    assert grid.run_name(c2) == \
        "mnist-softsign-standard-d3-w200-lr3e-05-b20-s7-quadratic"


NAMED = {"activation": st.sampled_from(["tanh", "sigmoid", "softsign", "relu"]),
         "init": st.sampled_from(["standard", "normalized", "he", "lecun"]),
         "depth": st.integers(1, 9), "width": st.integers(1, 2000),
         "lr": st.sampled_from([1e-4, 3e-4, 0.001, 0.003, 0.01, 0.02, 0.03, 0.1, 0.3]),
         "batch_size": st.integers(1, 100), "seed": st.integers(0, 99),
         "cost": st.sampled_from(["nll", "quadratic"]),
         "dtype": st.sampled_from(["float32", "float64"]),
         "input_scale": st.sampled_from(["0,1", "-1,1"])}


@settings(max_examples=200, deadline=None)
@given(a=st.fixed_dictionaries(NAMED), b=st.fixed_dictionaries(NAMED),
       steps=st.integers(1, 10**6), threads=st.integers(1, 2))
def test_names_differ_exactly_when_the_network_or_rate_differs(a, b, steps, threads):
    ca = TrainConfig(online=True, **a)
    cb = TrainConfig(online=True, steps=steps, threads=threads, **b)
    assert (grid.run_name(ca) == grid.run_name(cb)) == (a == b)


def test_settings_resume_may_change_keep_the_name(data_file, tmp_path):
    c = TrainConfig(data=str(data_file), steps=100)
    moved = TrainConfig(data=str(tmp_path / "tiny.h5"), steps=5000, threads=2,
                        checkpoint_seconds=5.0)
    assert grid.run_name(c) == grid.run_name(moved)
    assert grid.network_key(c) == grid.network_key(c.replace(lr=0.5))
    assert grid.network_key(c) != grid.network_key(c.replace(width=7))


# --------------------------------------------------------------------- grids ----

def test_grid_is_the_union_of_each_blocks_product_with_the_last_key_fastest():
    runs = grid.expand([
        {"data": "online", "activation": ["tanh", "softsign"], "init": ["standard", "normalized"],
         "lr": [0.1, 0.01, 0.03], "steps": 10},
        {"data": "online", "activation": "sigmoid", "init": "standard", "lr": [0.1, 0.01, 0.03],
         "steps": 10},
        {"data": "online", "activation": "tanh", "init": "standard", "lr": 0.1, "steps": 10},
    ])
    assert len(runs) == 2 * 2 * 3 + 3  # the third block repeats a configuration of the first
    assert [r.config.lr for r in runs[:3]] == [0.1, 0.01, 0.03]
    assert [(r.config.activation, r.config.init) for r in runs[::3]][:4] == [
        ("tanh", "standard"), ("tanh", "normalized"), ("softsign", "standard"),
        ("softsign", "normalized")]
    assert len({r.name for r in runs}) == len(runs)
    assert len({r.network for r in runs}) == 5


@pytest.mark.parametrize("block, message", [
    ({"data": "online", "depht": 3}, "unknown setting 'depht'"),
    ({"data": "online", "depth": "5"}, "depth must be an integer"),
    ({"data": "online", "lr": []}, "lr is an empty list"),
    ({"data": "online", "lr": "fast"}, "lr must be a number"),
    ({"activation": "tanh"}, "no data"),
    ({"data": "online", "activation": "cosine"}, "--activation must be one of"),
    ({"data": "mnist"}, "needs a mnist dataset file: make one with `glorot import mnist"),
])
def test_bad_grid_values_name_the_key(block, message):
    with pytest.raises(GlorotError, match=message.replace("(", r"\(").replace("`", ".")):
        grid.expand([block], where="test")


def test_two_blocks_that_give_one_name_two_settings_are_refused():
    with pytest.raises(GlorotError, match="share the run name .* differ in --probe-every"):
        grid.expand([{"data": "online", "probe_every": "100"},
                     {"data": "online", "probe_every": "200"}])


def test_dataset_kinds_resolve_to_the_given_files(data_file):
    runs = grid.expand([{"data": ["mnist", "online"]}], {"mnist": str(data_file)})
    assert [r.config.data for r in runs] == [str(data_file), None]
    assert [r.name.split("-")[0] for r in runs] == ["tiny", "online"]
    only = grid.expand([{"data": ["mnist", "online"]}], {}, skip_data=["mnist"])
    assert [r.config.online for r in only] == [True]


# ------------------------------------------------------------------- recipes ----

@pytest.mark.parametrize("name", sorted(recipes.shipped()))
def test_every_shipped_recipe_expands_into_valid_runs(name, data_file):
    rec = recipes.load(name)
    assert rec.description
    runs = grid.expand(rec.blocks, {"mnist": str(data_file), "cifar10": str(data_file)},
                       where=name)
    assert runs and all(r.config.threads == 1 for r in runs)


def test_quick_and_paper_recipes_keep_the_papers_networks_and_select_among_3_rates_or_more():
    for name in ("quick", "paper"):
        runs = grid.expand(recipes.load(name).blocks, {"mnist": "m.h5", "cifar10": "c.h5"})
        nets: dict[tuple, list[float]] = {}
        for r in runs:
            nets.setdefault(r.network, []).append(r.config.lr)
            assert r.config.width == 1000 and r.config.batch_size == 10
        assert all(len(v) >= 3 for v in nets.values())
        rows = {(r.config.activation, r.config.init) for r in runs if r.config.depth == 5}
        assert rows == {("tanh", "standard"), ("tanh", "normalized"), ("softsign", "standard"),
                        ("softsign", "normalized"), ("sigmoid", "standard")}
    paper_runs = grid.expand(recipes.load("paper").blocks, {"mnist": "m.h5", "cifar10": "c.h5"})
    assert {r.config.total_steps(None) for r in paper_runs} == {2_500_000}


@pytest.mark.parametrize("text, message", [
    ("[defaults\ndepth = 5", "not valid TOML"),
    ("colour = 'red'\n[[grid]]\ndata = 'online'", "unknown key 'colour'"),
    ("[[grid]]\ndata = 'online'\n[[grid]]\ndata = 'online'\nwidht = 3",
     r"\[\[grid\]\] block 2: unknown setting 'widht'"),
    ("[defaults]\ndata = 'online'", r"no \[\[grid\]\] block"),
    ("optional_data = ['imagenet']\n[[grid]]\ndata = 'online'", "optional_data must be"),
    ("[defaults]\nlr = 'fast'\n[[grid]]\ndata = 'online'", "lr must be a number"),
])
def test_a_bad_recipe_is_one_line_naming_the_file_and_key(run_cli, tmp_path, text, message):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    code, out, err = run_cli("sweep", "--recipe", path, "-o", tmp_path / "out")
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "Traceback" not in err
    assert str(path) in err or "recipe bad" in err
    import re
    assert re.search(message, err), err
    assert not (tmp_path / "out").exists()


def test_unknown_recipe_name_lists_the_shipped_ones(run_cli, tmp_path):
    code, _, err = run_cli("sweep", "--recipe", "qiuck", "-o", tmp_path / "o")
    assert code == 2 and "no recipe named 'qiuck'" in err and "quick" in err


def test_list_recipes_names_each_with_its_description(run_cli):
    code, out, _ = run_cli("sweep", "--list-recipes")
    assert code == 0
    for name in recipes.shipped():
        assert any(line.startswith(name + " ") for line in out.splitlines())


# ----------------------------------------------------------------- selection ----

def _cand(lr, best, final=None, status="finished", test=0.5):
    return {"name": f"r{lr}", "lr": lr, "status": status, "best_valid_error": best,
            "final_valid_error": best if final is None else final,
            "test_error_at_best_valid": test}


def test_selection_takes_the_lowest_best_validation_error():
    best, why = sweep.select([_cand(0.1, 0.30), _cand(0.01, 0.20), _cand(0.03, 0.25)])
    assert best["lr"] == 0.01 and why == "lowest validation error"


def test_selection_ties_go_to_lower_final_validation_error_then_the_smaller_rate():
    best, why = sweep.select([_cand(0.1, 0.2, final=0.3), _cand(0.03, 0.2, final=0.25)])
    assert best["lr"] == 0.03 and "tied" in why
    best, _ = sweep.select([_cand(0.1, 0.2), _cand(0.03, 0.2), _cand(0.3, 0.2)])
    assert best["lr"] == 0.03


def test_diverged_and_unfinished_candidates_are_never_selected():
    best, _ = sweep.select([_cand(1.0, 0.05, status="diverged"), _cand(0.5, 0.01,
                                                                     status="interrupted"),
                            _cand(0.1, 0.4)])
    assert best["lr"] == 0.1
    assert sweep.select([_cand(1.0, 0.05, status="diverged"),
                         _cand(3.0, None, status="diverged")]) == \
        (None, "every learning rate diverged")
    assert sweep.select([_cand(1.0, 0.05, status="running")])[0] is None


# ------------------------------------------------------------ the local pool ----

@pytest.fixture(scope="module")
def swept(tmp_path_factory, data_file):
    """One sweep on the local pool: 2 activations x 2 rates, one rate diverges for both."""
    from glorotcli.cli.app import main

    folder = tmp_path_factory.mktemp("pool") / "sw"
    args = ["sweep", "--data", str(data_file), "-a", "tanh", "-a", "sigmoid", "-i", "standard",
            "--lr", "0.1", "--lr", "1000", *TINY, "-o", str(folder), "--jobs", "2"]
    with pytest.raises(SystemExit) as exc:
        main(args)
    assert exc.value.code == 0
    return folder, args


def test_sweep_writes_one_file_per_configuration_and_a_summary(swept):
    folder, _ = swept
    names = {p.stem for p in folder.glob("*.h5")}
    assert names == {f"tiny-{a}-standard-d2-w16-lr{lr}" for a in ("tanh", "sigmoid")
                     for lr in ("0.1", "1000")}
    summary = sweep.read_summary(folder)
    assert summary["format"] == "glorot-sweep" and len(summary["grid"]) == 4
    assert not list(folder.glob(".*tmp"))  # written atomically, nothing left behind


def test_the_diverging_rate_is_recorded_and_the_others_selected_by_validation(swept):
    folder, _ = swept
    summary = sweep.read_summary(folder)
    for net in summary["networks"]:
        assert net["complete"]
        diverged = [n for n in net["candidates"] if n.endswith("lr1000")]
        assert summary["runs"][diverged[0]]["status"] == "diverged"
        with h5py.File(folder / f"{diverged[0]}.h5", "r") as f:
            assert f["status"][()].decode() == "diverged"
        good = [n for n in net["candidates"] if not n.endswith("lr1000")][0]
        assert net["selected"] == good and net["lr"] == 0.1
        valid, test = _best_valid(folder / f"{good}.h5")
        assert net["valid_error"] == pytest.approx(valid)
        assert net["test_error"] == pytest.approx(test)


def test_rerun_skips_finished_runs_and_a_changed_grid_adds_only_the_missing(swept, run_cli):
    folder, args = swept
    before = _mtimes(folder)
    code, out, err = run_cli(*args[:args.index("-o")], "-o", folder, "--jobs", "2")
    assert code == 0, err
    assert _mtimes(folder) == before and "2 finished, 2 diverged" in err
    code, _, err = run_cli(*args[:args.index("-o")], "--lr", "0.03", "-o", folder)
    assert code == 0, err
    after = _mtimes(folder)
    assert set(after) - set(before) == {"tiny-tanh-standard-d2-w16-lr0.03.h5",
                                        "tiny-sigmoid-standard-d2-w16-lr0.03.h5"}
    assert {k: after[k] for k in before} == before
    summary = sweep.read_summary(folder)
    assert all(len(n["candidates"]) == 3 for n in summary["networks"])
    for net in summary["networks"]:  # independent check of the selection over 3 rates
        finished = [n for n in net["candidates"] if not n.endswith("lr1000")]
        best = min(finished, key=lambda n: (_best_valid(folder / f"{n}.h5")[0],
                                            summary["runs"][n]["lr"]))
        assert net["selected"] == best


def test_a_longer_budget_extends_finished_runs_to_what_a_fresh_run_gives(tmp_path, data_file,
                                                                        run_cli):
    folder = tmp_path / "sw"
    base = ["sweep", "--data", data_file, "-a", "tanh", "--lr", "0.1", "--depth", "2",
            "--width", "16", "--eval-every", "40", "--jacobian-every", "none", "-o", folder,
            "--jobs", "1"]
    assert run_cli(*base, "--steps", "80")[0] == 0
    code, _, err = run_cli(*base, "--steps", "200")
    assert code == 0 and "1 extend" in err
    name = "tiny-tanh-normalized-d2-w16-lr0.1.h5"
    fresh = tmp_path / "fresh.h5"
    cfg = TrainConfig(data=str(data_file), activation="tanh", lr=0.1, depth=2, width=16,
                      eval_every=40, jacobian_every="none", steps=200, threads=1)
    core.train(cfg, fresh)
    for a, b in zip(_weights(folder / name), _weights(fresh), strict=True):
        np.testing.assert_array_equal(a, b)


def test_a_file_with_the_same_name_and_other_settings_is_refused(tmp_path, data_file, run_cli):
    folder = tmp_path / "sw"
    base = ["sweep", "--data", data_file, "-a", "tanh", "--lr", "0.1", *TINY, "-o", folder]
    assert run_cli(*base)[0] == 0
    before = _mtimes(folder)
    code, out, err = run_cli(*base, "--probe-every", "30")
    assert code == 2 and "exists with other settings (--probe-every differ)" in err
    assert _mtimes(folder) == before


def _wait_for(predicate, timeout: float = 120.0) -> None:
    t = time.monotonic()
    while not predicate():
        if time.monotonic() - t > timeout:
            raise AssertionError("timed out")
        time.sleep(0.05)


def _writer_pid(path: Path) -> int | None:
    try:
        with h5py.File(path, "r", libver="latest", swmr=True) as f:
            if f["status"][()].decode().strip("\x00") != "running" or \
                    active_checkpoint(f) is None:
                return None
            return int(f["writer"][()].decode().rpartition(":")[2])
    except (OSError, KeyError, ValueError):
        return None


@pytest.mark.slow
def test_a_killed_worker_is_restarted_and_its_run_ends_as_if_never_killed(tmp_path, data_file):
    folder = tmp_path / "sw"
    name = "tiny-tanh-normalized-d2-w32-lr0.05"
    cmd = [sys.executable, "-m", "glorotcli", "sweep", "--data", str(data_file), "-a", "tanh",
           "--lr", "0.05", "--depth", "2", "--width", "32", "--steps", "4000",
           "--eval-every", "500", "--jacobian-every", "none", "--probe-every", "1000",
           "-o", str(folder), "--jobs", "1", "--no-progress"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    path = folder / f"{name}.h5"
    try:
        _wait_for(lambda: _writer_pid(path) is not None)
        os.kill(_writer_pid(path), signal.SIGKILL)  # the worker, right after step 0
        out, err = proc.communicate(timeout=300)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    assert "restarting" in err and out.strip() == str(folder)
    info = sweep.read_summary(folder)["runs"][name]
    assert info["status"] == "finished" and info["steps"] == 4000
    fresh = tmp_path / "fresh.h5"
    core.train(TrainConfig(data=str(data_file), activation="tanh", lr=0.05, depth=2, width=32,
                           steps=4000, eval_every=500, jacobian_every="none",
                           probe_every="1000", threads=1), fresh)
    for a, b in zip(_weights(path), _weights(fresh), strict=True):
        np.testing.assert_array_equal(a, b)
    with h5py.File(path, "r") as f, h5py.File(fresh, "r") as g:
        np.testing.assert_array_equal(f["log/step"][()], g["log/step"][()])
        np.testing.assert_array_equal(f["layers/step"][()], g["layers/step"][()])


@pytest.mark.slow
@pytest.mark.parametrize("sig, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_ctrl_c_checkpoints_every_running_run_and_the_same_command_finishes(tmp_path,
                                                                           data_file, sig,
                                                                           code):
    folder = tmp_path / "sw"
    cmd = [sys.executable, "-m", "glorotcli", "sweep", "--data", str(data_file), "-a", "tanh",
           "--lr", "0.05", "--lr", "0.02", "--depth", "2", "--width", "32", "--steps",
           "20000", "--eval-every", "5000", "--jacobian-every", "none", "--probe-every",
           "none", "-o", str(folder), "--jobs", "2", "--no-progress"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    files = [folder / f"tiny-tanh-normalized-d2-w32-lr{lr}.h5" for lr in ("0.05", "0.02")]
    try:
        _wait_for(lambda: all(_writer_pid(p) for p in files))
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert proc.returncode == code and "run the same command again" in err, err
    for p in files:
        with h5py.File(p, "r") as f:
            assert f["status"][()].decode().strip("\x00") == "interrupted"
    done = subprocess.run(cmd[:-1] + ["--no-progress"], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    assert "2 resume" in done.stderr
    runs = sweep.read_summary(folder)["runs"]
    assert all(r["status"] == "finished" and r["steps"] == 20000 for r in runs.values())


@pytest.mark.slow
def test_a_sweep_killed_outright_stops_its_workers_and_the_same_command_finishes(
        tmp_path, data_file):
    folder = tmp_path / "sw"
    cmd = [sys.executable, "-m", "glorotcli", "sweep", "--data", str(data_file), "-a", "tanh",
           "--lr", "0.05", "--lr", "0.02", "--depth", "2", "--width", "32", "--steps",
           "100000", "--eval-every", "5000", "--jacobian-every", "none",
           "--probe-every", "none", "-o", str(folder), "--jobs", "2", "--no-progress"]
    log = open(tmp_path / "sweep.log", "w")  # not a pipe: orphans would hold a pipe open
    proc = subprocess.Popen(cmd, stdout=log, stderr=log)
    files = [folder / f"tiny-tanh-normalized-d2-w32-lr{lr}.h5" for lr in ("0.05", "0.02")]
    try:
        _wait_for(lambda: all(_writer_pid(p) for p in files), timeout=240)
        workers = [_writer_pid(p) for p in files]
        proc.kill()  # SIGKILL: no handler runs in the sweep itself
        proc.wait(timeout=30)
        # a worker still compiling the kernels (cold cache) handles its SIGTERM once done
        _wait_for(lambda: not any(_alive(pid) for pid in workers), timeout=300)
    finally:
        proc.kill()
        log.close()
    for p in files:  # each worker stopped: it checkpointed on its SIGTERM and marked the file,
        # or (SIGTERM before its handler was in place, e.g. while compiling) died with the file
        # at its last checkpoint, which every reader shows as interrupted (writer gone)
        assert read_run(p).live_status == "interrupted"
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "2 resume" in done.stderr
    runs = sweep.read_summary(folder)["runs"]
    assert all(r["status"] == "finished" and r["steps"] == 100000 for r in runs.values())


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie (exited, not yet reaped by init) counts as gone
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rpartition(")")[2].split()[0] != "Z"
    except OSError:
        return False


# ---------------------------------------------------------------------- Dask ----

def test_dask_on_a_local_cluster_gives_the_same_run_files_as_the_local_pool(tmp_path,
                                                                            data_file,
                                                                            run_cli):
    distributed = pytest.importorskip("distributed") if os.environ.get("CI") != "true" \
        else __import__("distributed")
    args = ["sweep", "--data", data_file, "-a", "tanh", "--lr", "0.1", "--lr", "0.02", *TINY]
    assert run_cli(*args, "-o", tmp_path / "pool", "--jobs", "2")[0] == 0
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        code, out, err = run_cli(*args, "-o", tmp_path / "dask", "--scheduler",
                                 cluster.scheduler_address)
    assert code == 0, err
    pool, dask = sweep.read_summary(tmp_path / "pool"), sweep.read_summary(tmp_path / "dask")
    assert [n["selected"] for n in pool["networks"]] == [n["selected"] for n in dask["networks"]]
    for p in (tmp_path / "pool").glob("*.h5"):
        for a, b in zip(_weights(p), _weights(tmp_path / "dask" / p.name), strict=True):
            np.testing.assert_array_equal(a, b)


def test_scheduler_without_the_dask_extra_is_one_line(run_cli, tmp_path, data_file,
                                                      monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)  # as if not installed
    code, out, err = run_cli("sweep", "--data", data_file, *TINY, "-o", tmp_path / "o",
                             "--scheduler", "tcp://127.0.0.1:1")
    assert code == 2 and "pip install 'glorot[dask]'" in err and err.count("\n") == 1


def test_an_unreachable_scheduler_is_one_line(run_cli, tmp_path, data_file):
    pytest.importorskip("distributed")
    code, out, err = run_cli("sweep", "--data", data_file, *TINY, "-o", tmp_path / "o",
                             "--scheduler", "tcp://127.0.0.1:9")
    assert code == 2 and "cannot connect to a Dask scheduler" in err


# -------------------------------------------------------------------- report ----

def test_report_of_a_sweep_folder_is_table_1_from_the_selection(swept, run_cli):
    folder, _ = swept
    code, out, err = run_cli("report", folder, "--json")
    assert code == 0, err
    doc = json.loads(out)
    summary = sweep.read_summary(folder)
    cells = [c for c in doc["table1"]["cells"] if c["measured"] is not None]
    assert len(cells) == 2
    for net in summary["networks"]:
        _, test = _best_valid(folder / f"{net['selected']}.h5")
        row = "Tanh depth 2" if net["activation"] == "tanh" else "Sigmoid depth 2"
        cell = next(c for c in cells if c["row"] == row)
        assert cell["measured"] == pytest.approx(100 * test) and cell["lr"] == net["lr"]
    assert doc["table1"]["budget_updates"] == {"MNIST": 120}
    code, out, err = run_cli("report", folder)
    assert code == 0 and "after 120 updates on MNIST" in out and "diverged" in out


def test_report_draws_the_selected_runs_and_table_1(swept, run_cli, tmp_path):
    folder, _ = swept
    code, out, err = run_cli("report", folder, "--png", tmp_path / "figs")
    assert code == 0, err
    names = {Path(p).name for p in out.split()}
    assert "table1.png" in names and "fig02_sigmoid_activations.png" in names


def test_report_of_a_folder_without_a_summary_says_so(run_cli, tmp_path):
    code, _, err = run_cli("report", tmp_path)
    assert code == 2 and "not a sweep folder (sweep.json is missing" in err


def test_a_moved_sweep_folder_keeps_its_pre_trained_runs_settings(data_file):
    a = TrainConfig(data=str(data_file), init_from="/old/place/sweep/pre-sigmoid-d4.h5")
    b = TrainConfig(data=str(data_file), init_from="/new/place/sweep/pre-sigmoid-d4.h5")
    assert grid.differing_settings(a, b) == []
    c = TrainConfig(data=str(data_file), init_from="/new/place/sweep/pre-sigmoid-d5.h5")
    assert grid.differing_settings(a, c) != []  # another pre-training is another run
