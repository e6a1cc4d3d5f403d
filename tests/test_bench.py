"""glorot bench (the step benchmark, its roof and its report), the busy-machine benchmark, and the
default thread count it checks (``threads.default_threads``)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from glorotcli.bench import core as C
from glorotcli.nn import threads as T

HAS_JAX = subprocess.run([sys.executable, "-c", "import jax"], capture_output=True).returncode == 0


# ------------------------------------------------------------- step flops ----

def test_step_flops_count_every_product_of_the_step():
    # the products of one step, written out by shape (m x k times k x n: 2 m k n FLOP):
    # forward z[i] (B x n_i) @ W[i] (n_i x n_i+1); weight gradient z[i]^T (n_i x B) @ ds[i];
    # back-propagation ds[i] (B x n_i+1) @ W[i]^T, for every layer above the first
    sizes, B = (7, 5, 3, 2), 4
    shapes = []
    for i in range(3):
        shapes.append((B, sizes[i], sizes[i + 1]))
        shapes.append((sizes[i], B, sizes[i + 1]))
        if i > 0:
            shapes.append((B, sizes[i + 1], sizes[i]))
    assert C.step_flops(sizes, B) == sum(2 * m * k * n for m, k, n in shapes)
    assert C.step_flops((1024, *[1000] * 5, 9), 1) == 28_150_000  # docs/performance.md


# --------------------------------------------------------------- results ----

def _result(rates: dict, **settings) -> C.BenchResult:
    st = C.BenchSettings(**{"batches": (1, 10, 100), "threads": (1, 2), **settings})
    r = C.BenchResult(st)
    for (impl, B, n), v in rates.items():
        r.rounds[(impl, B, n)] = v if isinstance(v, list) else [v]
    return r


def test_ratios_shares_and_target_verdicts_come_from_the_medians_of_the_same_run():
    r = _result({("glorot", 10, 1): [100, 300, 200], ("jax", 10, 1): [150, 160, 170],
                 ("sgemm", 10, 1): [250, 250, 250], ("glorot", 10, 2): 400,
                 ("jax", 10, 2): 300, ("glorot", 1, 1): 900, ("jax", 1, 1): 400})
    row = next(x for x in r.rows() if x["batch"] == 10 and x["threads"] == 1)
    assert row["glorot"] == 200 and row["x_jax"] == pytest.approx(200 / 160)
    assert row["share_glorot"] == pytest.approx(200 / 250)
    assert row["share_jax"] == pytest.approx(160 / 250)
    assert row["sgemm_gflops"] == pytest.approx(250 * 281.5e6 / 1e9)
    verdicts = {(t["name"], t["batch"], t["threads"], t["ref"]): t["met"] for t in r.targets()}
    assert verdicts == {("P1", 10, 1, "jax"): False,  # 1.25 < 1.3
                        ("P1", 10, 2, "jax"): True,  # 1.33
                        ("P1", 10, 1, "sgemm"): True,  # 0.8 >= 0.7
                        ("P2", 1, 1, "jax"): True}  # 2.25
    text = C.format_result(r)
    assert "P1 batch 10, 1 thr: glorot / jax 1.25 (>= 1.3): MISSED" in text
    assert "P1 batch 10, 1 thr: share of the sgemm floor 0.80 (>= 0.7): met" in text
    assert r.speedup() == pytest.approx(2.0)


def test_targets_are_only_judged_on_the_papers_net():
    r = _result({("glorot", 10, 1): 300, ("jax", 10, 1): 100}, depth=2)
    assert r.targets() == []
    assert "targets apply to the paper's net" in C.format_result(r)


# ------------------------------------------------------------------ BLAS ----

def _fake_blas(arch_with_env: str, arch_native: str):
    def run(env):
        arch = arch_with_env if "OPENBLAS_CORETYPE" in env else arch_native
        return {"internal_api": "openblas", "version": "0.3.31", "architecture": arch,
                "threading_layer": "pthreads", "num_threads": 2}
    return run


def test_a_variable_forcing_an_older_blas_kernel_is_reported_and_warned(monkeypatch):
    monkeypatch.setenv("OPENBLAS_CORETYPE", "Haswell")
    monkeypatch.delenv("OPENBLAS_L2_SIZE", raising=False)
    report = C.blas_report(_fake_blas("Haswell", "SkylakeX"))
    assert report["older_kernel"] and report["forcing"]["OPENBLAS_CORETYPE"] == "Haswell"
    r = _result({})
    r.blas = report
    text = C.format_result(r)
    assert "kernel Haswell (OPENBLAS_CORETYPE=Haswell); this CPU's own: SkylakeX" in text
    assert "warning: OPENBLAS_CORETYPE=Haswell makes OpenBLAS run its Haswell kernels" in text


def test_no_warning_when_the_variable_names_the_cpus_own_kernel_or_is_absent(monkeypatch):
    monkeypatch.setenv("OPENBLAS_CORETYPE", "SkylakeX")
    assert not C.blas_report(_fake_blas("SkylakeX", "SkylakeX"))["older_kernel"]
    monkeypatch.delenv("OPENBLAS_CORETYPE")
    monkeypatch.delenv("OPENBLAS_L2_SIZE", raising=False)
    report = C.blas_report(_fake_blas("Haswell", "SkylakeX"))
    assert not report["older_kernel"] and "warning" not in C.format_result(_result({}))


def test_blas_report_reads_numpys_blas_through_threadpoolctl():
    report = C.blas_report()
    assert report["env"]["internal_api"] in ("openblas", "mkl", "blis", "accelerate")
    assert report["env"]["architecture"] is not None or report["env"]["internal_api"] != "openblas"


def test_workers_start_from_the_users_environment_and_only_the_roof_drops_blas_forcing(
        monkeypatch):
    from glorotcli import environment

    monkeypatch.setenv("OPENBLAS_CORETYPE", "Haswell")
    monkeypatch.setitem(environment.SET_HERE, "GOMP_SPINCOUNT", "3000")
    monkeypatch.setenv("GOMP_SPINCOUNT", "3000")
    st = C.BenchSettings()
    for impl in ("glorot", "numpy", "torch", "jax"):
        env = C.worker_environment(impl, st)
        assert env.get("OPENBLAS_CORETYPE") == "Haswell" and "GOMP_SPINCOUNT" not in env
    assert "OPENBLAS_CORETYPE" not in C.worker_environment("sgemm", st)
    native = C.BenchSettings(native_blas=True)
    assert "OPENBLAS_CORETYPE" not in C.worker_environment("glorot", native)
    assert C.worker_environment("torch", native).get("OPENBLAS_CORETYPE") == "Haswell"


# ------------------------------------------------- load by other processes ----

class _FakeWorker:
    def __init__(self, cpu_s):
        self.cpu_s = cpu_s

    def ask(self, **request):
        return {"steps_per_s": 1.0, "cores": 1.0, "cpu_s": self.cpu_s}


def test_others_load_is_the_machines_busy_time_minus_the_workers_own(monkeypatch):
    # two CPUs over 1 s of wall time: CPU 0 busy 0.9 s, CPU 1 busy 0.1 s, the worker used 0.6 s
    ticks = iter([{0: (100, 200), 1: (100, 200)}, {0: (110, 300), 1: (190, 300)}])
    monkeypatch.setattr(C, "cpu_ticks", lambda: next(ticks))
    monkeypatch.setattr(C, "TICK", 0.01)
    clock = iter([5.0, 6.0])
    monkeypatch.setattr(C.time, "perf_counter", lambda: next(clock))
    answer, others = C._measure(_FakeWorker(0.6), 10, 1, 0.5)
    assert others == pytest.approx(0.4) and answer["cpu_s"] == 0.6


def test_a_measurement_is_taken_again_while_other_processes_are_busy():
    st = C.BenchSettings(max_others=0.3, retries=3)
    result = C.BenchResult(st)
    seen = iter([0.9, 0.5, 0.2, 0.0])
    measure = lambda w, B, n, s: ({"steps_per_s": 1.0}, next(seen))  # noqa: E731
    _, others = C._measure_quietly(None, 10, 1, 0.1, st, result, measure=measure,
                                   sleep=lambda s: None)
    assert others == 0.2 and result.retried == 2
    seen = iter([0.9, 0.9, 0.9, 0.9, 0.9])
    _, others = C._measure_quietly(None, 10, 1, 0.1, st, result, measure=measure,
                                   sleep=lambda s: None)
    assert others == 0.9 and result.retried == 5  # gives up after three more
    seen = iter([0.9])
    no_limit = C.BenchResult(C.BenchSettings())
    C._measure_quietly(None, 10, 1, 0.1, C.BenchSettings(), no_limit, measure=measure)
    assert no_limit.retried == 0


# --------------------------------------------------------------- the CLI ----

def test_bench_compares_glorot_with_numpy_and_the_sgemm_roof(run_cli, tmp_path, monkeypatch):
    # run from a folder holding another glorotcli/ (an old checkout): the workers must still
    # import the installed one (a new user's report: "worker glorot died: TypeError ...")
    (tmp_path / "glorotcli").mkdir()
    (tmp_path / "glorotcli" / "__init__.py").write_text("raise ImportError('the decoy')\n")
    monkeypatch.chdir(tmp_path)
    code, out, err = run_cli("bench", "--impl", "glorot,numpy,sgemm", "--batch", "2",
                             "--threads", "1", "--rounds", "1", "--seconds", "0.05",
                             "--first-step-runs", "0", "--depth", "1", "-q", "--json")
    assert code == 0, err
    result = json.loads(out)
    (row,) = result["rows"]
    assert row["batch"] == 2 and row["glorot"] > 0 and row["numpy"] > 0 and row["sgemm"] > 0
    assert row["x_numpy"] == pytest.approx(row["glorot"] / row["numpy"])
    assert row["share_glorot"] == pytest.approx(row["glorot"] / row["sgemm"])
    assert row["sgemm_gflops"] == pytest.approx(
        row["sgemm"] * C.step_flops((1024, 1000, 9), 2) / 1e9)
    assert row["peak_gflops"] > 0 and row["peak_share_glorot"] == pytest.approx(
        row["glorot"] * C.step_flops((1024, 1000, 9), 2) / 1e9 / row["peak_gflops"])
    assert result["blas"]["env"]["internal_api"]
    (cores,) = [r["cores"] for r in result["rounds"] if r["impl"] == "glorot"]
    assert 0 < cores[0] < 4


@pytest.mark.skipif(not HAS_JAX, reason="JAX not installed (optional: pip install jax)")
def test_bench_measures_jax_one_process_per_thread_count(run_cli):
    code, out, err = run_cli("bench", "--impl", "glorot,jax", "--batch", "3", "--threads", "1",
                             "--rounds", "1", "--seconds", "0.05", "--first-step-runs", "0",
                             "--depth", "1", "-q", "--json")
    assert code == 0, err
    (row,) = json.loads(out)["rows"]
    assert row["jax"] > 0 and row["x_jax"] == pytest.approx(row["glorot"] / row["jax"])


def test_a_missing_library_skips_its_worker_with_a_note(monkeypatch, capsys):
    from glorotcli.bench import workers

    def missing(settings, threads):
        raise ModuleNotFoundError("No module named 'jax'", name="jax")

    monkeypatch.setitem(workers.IMPLEMENTATIONS, "jax", missing)
    workers.worker("jax", C.BenchSettings(), 1)
    hello = json.loads(capsys.readouterr().out)
    assert hello == {"skip": "jax not installed (jax); pip install jax"}


def test_jax_worker_computes_the_same_sgd_step_as_numpy():
    pytest.importorskip("jax", reason="JAX not installed (optional: pip install jax)")
    import numpy as np

    from glorotcli.bench import workers

    st = C.BenchSettings(depth=2, width=8)
    make, dtype, _ = workers._jax_impl(st, None)
    x, y = workers._data(st, 3, dtype, n=1)[0]
    make.convert([(x, y)])
    losses_jax = [float(make(3, None)(x, y)) for _ in range(3)]
    make_np, _, _ = workers._numpy_impl(st, None)
    losses_np = [float(make_np(3, 1)(x.copy(), y)) for _ in range(3)]
    np.testing.assert_allclose(losses_jax, losses_np, rtol=1e-5)
    assert losses_jax[2] < losses_jax[0]


def test_bench_rejects_bad_options(run_cli):
    code, _, err = run_cli("bench", "--batch", "0")
    assert code == 2 and "--batch" in err
    code, _, err = run_cli("bench", "--impl", "tensorflow")
    assert code == 2 and "--impl" in err
    code, _, err = run_cli("bench", "--dtype", "float16")
    assert code == 2 and "--dtype" in err
    code, _, err = run_cli("bench", "--busy", "--spinners", "99")
    assert code == 2 and "--spinners" in err


# ------------------------------------------------------------ busy bench ----

def test_busy_bench_starts_its_busy_process_and_compares_the_default_with_one_thread():
    from glorotcli.bench.busy import BusySettings, format_busy, run_busy

    st = BusySettings(widths=(16,), depth=2, rounds=1, seconds=0.05, probes=20,
                      spinners=1 if (os.cpu_count() or 1) >= 2 else 0)
    r = run_busy(st)
    assert r.threads["1"] == 1 and r.threads["all"] == T.max_threads()
    if st.spinners and (os.cpu_count() or 1) == 2 and os.path.exists("/proc/stat"):
        assert r.threads["default"] == 1  # one of the two cores was kept busy
    rows = {x["measure"]: x for x in r.rows()}
    assert set(rows) == {"step", "probe", "jacobian"}
    for x in rows.values():
        assert x["default_vs_1"] == pytest.approx(x["default"] / x["1"])
    text = format_busy(r)
    assert "training steps/s" in text and "P9" in text
