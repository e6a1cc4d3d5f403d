"""The default thread count of a training run (``threads.default_threads``): the cores idle at
its start, so a busy machine never makes the default slower than ``--threads 1``."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import numpy as np
import pytest

from glorotcli.environment import cpu_ticks, parse_proc_stat
from glorotcli.nn import threads as T


def _stat(idle: dict[int, int], busy: dict[int, int]) -> dict[int, tuple[int, int]]:
    return {c: (idle[c], idle[c] + busy[c]) for c in idle}


def _reader(*snapshots):
    it = iter(snapshots)
    return lambda: next(it)


def _idle(before, after, own=(0.0, 0.0), cpus=(0, 1)):
    clock = iter(own)
    return T.idle_cores(set(cpus), 0.05, read=_reader(before, after), sleep=lambda s: None,
                        own_cpu=lambda: next(clock))


def test_idle_cores_count_idle_ticks_per_cpu():
    t0 = _stat({0: 100, 1: 100}, {0: 50, 1: 50})
    both_idle = _stat({0: 105, 1: 105}, {0: 50, 1: 50})
    one_busy = _stat({0: 105, 1: 100}, {0: 50, 1: 55})
    half_each = _stat({0: 102, 1: 103}, {0: 53, 1: 52})
    assert _idle(t0, both_idle) == pytest.approx(2.0)
    assert _idle(t0, one_busy) == pytest.approx(1.0)
    assert _idle(t0, half_each) == pytest.approx(1.0)
    assert _idle(t0, one_busy, cpus=(1,)) == pytest.approx(0.0)  # only the CPUs we may use


def test_idle_cores_count_this_processs_own_cpu_time_as_available():
    t0 = _stat({0: 100, 1: 100}, {0: 50, 1: 50})
    one_busy = _stat({0: 105, 1: 100}, {0: 50, 1: 55})
    # the busy core was this process's own thread for the whole window
    busy_self = T.idle_cores({0, 1}, 0.05, read=_reader(t0, one_busy),
                             sleep=lambda s: time.sleep(0.02), own_cpu=iter([0.0, 1e6]).__next__)
    assert busy_self == pytest.approx(2.0)  # capped at the CPUs there are
    assert _idle(t0, one_busy) == pytest.approx(1.0)


def test_default_threads_takes_the_idle_cores(monkeypatch):
    monkeypatch.setattr(T, "usable_cpus", lambda: {0, 1})
    monkeypatch.setattr(T.numba, "get_num_threads", lambda: 2)

    def with_idle(v):
        return T.default_threads(idle=lambda cpus, window: v)

    assert [with_idle(v) for v in (2.0, 1.8, 1.6, 1.5, 1.2, 1.0, 0.0)] == [2, 2, 2, 1, 1, 1, 1]


def test_default_threads_never_exceeds_numbas_setting_or_the_affinity(monkeypatch):
    monkeypatch.setattr(T, "usable_cpus", lambda: {0, 1, 2, 3})
    monkeypatch.setattr(T.numba, "get_num_threads", lambda: 3)
    assert T.default_threads(idle=lambda cpus, window: 4.0) == 3
    monkeypatch.setattr(T, "usable_cpus", lambda: {2})
    assert T.default_threads(idle=lambda cpus, window: 4.0) == 1


def test_default_threads_falls_back_to_the_load_average_without_proc_stat(monkeypatch):
    monkeypatch.setattr(T, "usable_cpus", lambda: {0, 1, 2, 3})
    monkeypatch.setattr(T.numba, "get_num_threads", lambda: 4)
    none = lambda cpus, window: None  # noqa: E731
    assert T.default_threads(idle=none, load=lambda: (1.0, 0.0, 0.0)) == 3
    assert T.default_threads(idle=none, load=lambda: (9.0, 0.0, 0.0)) == 1
    assert T.default_threads(idle=none, load=lambda: (0.0, 0.0, 0.0)) == 4


def test_proc_stat_counts_idle_and_iowait_as_free_and_steal_as_busy():
    text = ("cpu  30 0 6 50 4 0 0 10 0 0\n"
            "cpu0 10 0 2 20 3 0 0 5 0 0\n"
            "cpu1 20 0 4 30 1 0 0 5 0 0\n"
            "intr 12345 0 0\nctxt 999\n")
    assert parse_proc_stat(text) == {0: (23, 40), 1: (31, 60)}
    assert parse_proc_stat("intr 1\n") is None


def test_proc_stat_parses_per_cpu_idle_and_total_ticks():
    stat = cpu_ticks()
    if stat is None:
        pytest.skip("no /proc/stat on this system")
    assert set(stat) >= T.usable_cpus()
    assert all(0 <= idle <= total for idle, total in stat.values())


SPIN = "import time\nend = time.time() + 20\nwhile time.time() < end: pass"


@pytest.mark.skipif(not 2 <= (os.cpu_count() or 1) <= 8 or not os.path.exists("/proc/stat"),
                    reason="needs Linux and 2-8 CPUs (one busy process per CPU but one)")
def test_with_all_cores_but_one_kept_busy_the_default_is_one_thread():
    n = len(T.usable_cpus())
    spinners = [subprocess.Popen([sys.executable, "-c", SPIN]) for _ in range(n - 1)]
    try:
        time.sleep(0.3)
        assert T.default_threads() == 1
    finally:
        for p in spinners:
            p.kill()
            p.wait()


def test_training_without_threads_uses_the_default_and_records_it(tmp_path, monkeypatch):
    from helpers import make_data

    from glorotcli.config import TrainConfig
    from glorotcli.run import train as core
    from glorotcli.stats.runlog import read_run

    calls = []
    monkeypatch.setattr(core, "default_threads", lambda: calls.append(1) or 1)
    data = make_data(tmp_path / "d.h5")
    cfg = TrainConfig(data=str(data), depth=2, width=8, steps=3, eval_every=100,
                      probe_every="none", jacobian_every="none", threads=None)
    core.train(cfg, tmp_path / "r.h5")
    assert calls == [1] and read_run(tmp_path / "r.h5").attrs["threads"] == 1
    from glorotcli.stats.runlog import run_info

    info = run_info(tmp_path / "r.h5")  # what glorot inspect shows
    assert info["threads"] == 1 and info["config"]["threads"] is None


def _follower(readings, own, clock, threads=2, cap=2):
    """A LoadFollower on CPUs {0, 1} fed scripted /proc/stat readings, own CPU times and clock
    readings (one of each per reading, the first at construction)."""
    it_r, it_o, it_c = iter(readings), iter(own), iter(clock)
    f = T.LoadFollower.__new__(T.LoadFollower)
    T.LoadFollower.__init__(f, threads, cap=cap, interval=1.0, read=lambda: next(it_r),
                            own_cpu=lambda: next(it_o), clock=lambda: next(it_c))
    f.cpus = {0, 1}
    return f


def test_following_drops_a_thread_at_once_when_another_process_takes_a_core():
    t0 = _stat({0: 0, 1: 0}, {0: 0, 1: 0})
    # over 1 s this process used 1.5 cores, nothing was idle: the other 0.5 went elsewhere
    busy = _stat({0: 0, 1: 0}, {0: 100, 1: 100})
    f = _follower([t0, busy], own=[0.0, 1.5], clock=[0.0, 1.0])
    assert f() == 1


def test_following_keeps_two_threads_while_this_process_uses_both_cores():
    t0 = _stat({0: 0, 1: 0}, {0: 0, 1: 0})
    ours = _stat({0: 0, 1: 0}, {0: 100, 1: 100})
    f = _follower([t0, ours], own=[0.0, 1.95], clock=[0.0, 1.0])
    assert f() == 2


def test_following_takes_a_thread_back_only_after_two_idle_readings_in_a_row():
    t0 = _stat({0: 0, 1: 0}, {0: 0, 1: 0})
    idle1 = _stat({0: 0, 1: 100}, {0: 100, 1: 0})     # one core ours, the other idle
    busy = _stat({0: 0, 1: 100}, {0: 200, 1: 100})    # the other core busy again
    idle2 = _stat({0: 0, 1: 200}, {0: 300, 1: 100})
    idle3 = _stat({0: 0, 1: 300}, {0: 400, 1: 100})
    f = _follower([t0, idle1, busy, idle2, idle3], own=[0.0, 1.0, 2.0, 3.0, 4.0],
                  clock=[0.0, 1.0, 2.0, 3.0, 4.0], threads=1)
    assert [f(), f(), f(), f()] == [1, 1, 1, 2]


def test_following_reads_nothing_between_intervals_and_keeps_the_count_without_proc_stat():
    t0 = _stat({0: 0, 1: 0}, {0: 0, 1: 0})
    f = _follower([t0, None], own=[0.0, 0.0], clock=[0.0, 0.5, 1.2])
    assert f() == 2  # 0.5 s: too early, no reading (a reading would raise StopIteration)
    assert f() == 2  # /proc/stat unreadable
    g = _follower([t0, _stat({0: 100, 1: 100}, {0: 0, 1: 0})], own=[0.0, 0.0],
                  clock=[0.0, 1.0], threads=1, cap=1)
    assert g() == 1  # never above the cap


def test_a_run_whose_steps_change_thread_count_is_bit_identical_to_one_that_never_does(
        tmp_path, monkeypatch):
    from helpers import checkpoint_arrays, make_data

    from glorotcli.config import TrainConfig
    from glorotcli.run import train as core
    from glorotcli.stats.runlog import read_run

    if T.max_threads() < 2:
        pytest.skip("needs 2 threads")
    counts = []

    class Flipping:  # the follower's decisions are tested above; here: every step flips
        def __init__(self, threads):
            self.n = threads

        def __call__(self):
            self.n = 3 - self.n
            counts.append(self.n)
            return self.n

    monkeypatch.setattr(core, "LoadFollower", Flipping)
    monkeypatch.setattr(core, "default_threads", lambda: 2)
    data = make_data(tmp_path / "d.h5", d=49)  # 7 x 7 images: an odd fan-in
    kw = dict(data=str(data), depth=2, width=37, steps=30, batch_size=10, eval_every=10,
              probe_every="none", jacobian_every="none")
    core.train(TrainConfig(threads=None, **kw), tmp_path / "followed.h5")
    core.train(TrainConfig(threads=2, **kw), tmp_path / "fixed.h5")
    assert counts[:4] == [1, 2, 1, 2] and len(counts) == 30
    for a, b in zip(checkpoint_arrays(tmp_path / "followed.h5"),
                    checkpoint_arrays(tmp_path / "fixed.h5"), strict=True):
        assert np.array_equal(a, b)
    followed, fixed = read_run(tmp_path / "followed.h5"), read_run(tmp_path / "fixed.h5")
    assert followed.attrs["threads"] == 2
    np.testing.assert_array_equal(followed.log["train_loss"], fixed.log["train_loss"])
