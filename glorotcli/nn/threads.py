"""One threading runtime in the hot loop.

Numba's worker pool and OpenBLAS's each spin-wait after a parallel region; on a 2-core machine two
pools that run one after the other starve each other (one measured case fell from 59 to 10
steps/s, see docs/performance.md). So the training code runs each phase in one runtime:

- fused Numba kernels (small batches): Numba uses ``n`` threads, BLAS is limited to 1;
- BLAS path (large batches): NumPy ``@`` uses ``n`` BLAS threads, the Numba kernels around it are
  serial.

``use_threads(n)`` sets both for a block of code and restores the previous settings afterwards.

The OpenMP wait policy that makes this work is set at start-up by
``glorotcli.environment.prepare`` (not by importing this module).

``default_threads()`` is the thread count a training run takes when the user gives none: the
cores that are idle when it starts. Two threads on a 2-core machine whose other core is kept busy
by another process ran 4x slower than one at width 200 (docs/performance.md, "Busy machine"): the
thread that shares a core with the busy process finishes its half of every parallel region late,
and the whole region waits for it.
"""

from __future__ import annotations

import contextlib
import functools
import math
import os
import time
from collections.abc import Callable, Iterator

import numba

from glorotcli.environment import cpu_ticks
from glorotcli.errors import GlorotError


def max_threads() -> int:
    """The most threads Numba can use in this process, an int >= 1 (NUMBA_NUM_THREADS, fixed at
    start-up; default: all cores)."""
    return int(numba.config.NUMBA_NUM_THREADS)


def check_threads(n: int | None) -> int:
    """A validated thread count (int): ``n`` itself, or for ``None`` the calling thread's current
    Numba setting (``numba.get_num_threads()``). Raises GlorotError unless ``n`` is an int (not
    a bool) from 1 to ``max_threads()``."""
    if n is None:
        return int(numba.get_num_threads())
    if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= max_threads():
        raise GlorotError(f"threads must be an integer from 1 to {max_threads()}, got {n!r}")
    return n


@functools.cache
def _blas():
    """threadpoolctl controller for the BLAS libraries of this process (built once: ~1 ms):
    NumPy's, and SciPy's when SciPy is installed (Numba loads it for its own np.dot the first
    time it compiles or loads a kernel; the scan must see it, or ``use_threads`` would leave its
    thread pool alone)."""
    import numpy  # noqa: F401  (BLAS must be loaded before the scan)
    from threadpoolctl import ThreadpoolController

    try:
        import numba.np.arraymath  # noqa: F401  (loads SciPy's BLAS, as Numba would anyway)
    except ImportError:
        pass

    return ThreadpoolController().select(user_api="blas")


@contextlib.contextmanager
def use_threads(n: int, blas: int = 1) -> Iterator[int]:
    """Run the block with ``n`` Numba threads and ``blas`` BLAS threads (every BLAS library of
    the process, through threadpoolctl); yields ``n``. Both settings are restored on leaving,
    also after an exception. Raises GlorotError (``check_threads``) for an ``n`` or ``blas``
    outside 1..``max_threads()``.

    The default ``blas=1`` keeps BLAS out of the way of parallel Numba kernels. Entering and
    leaving costs about 3 microseconds (each BLAS library is asked its thread count and set only
    when it differs; threadpoolctl's ``limit`` took 10-20), so it can wrap every training step.
    """
    n = check_threads(n)
    blas = check_threads(blas)
    old = numba.get_num_threads()
    numba.set_num_threads(n)
    libs = _blas().lib_controllers
    before = [lib.get_num_threads() for lib in libs]
    try:
        for lib, b in zip(libs, before, strict=True):
            if b != blas:
                lib.set_num_threads(blas)
        yield n
    finally:
        for lib, b in zip(libs, before, strict=True):
            if b != blas:
                lib.set_num_threads(b)
        numba.set_num_threads(old)


IDLE_WINDOW = 0.05
"""Seconds over which ``default_threads`` watches how idle the cores are."""

IDLE_MARGIN = 0.4
"""``default_threads`` uses n threads when at least n - IDLE_MARGIN cores were idle (a core
counts when it was idle 60 % of the window; /proc/stat counts in 10 ms ticks, so a 50 ms window
reads an idle 2-core machine as 1.8-2.0 idle cores and one busy core as 0.8-1.2)."""


def idle_cores(cpus: set[int], window: float = IDLE_WINDOW,
               read: Callable[[], dict | None] = cpu_ticks,
               sleep: Callable[[float], None] = time.sleep,
               own_cpu: Callable[[], float] = time.process_time) -> float | None:
    """How many of the CPUs ``cpus`` (ids as in /proc/stat) were idle over the next ``window``
    seconds: a float in CPUs, 0..len(cpus). Blocks for ``window`` seconds.

    From the idle ticks of /proc/stat (Linux), plus the CPU time this process itself used in the
    window (its own threads are not competitors); a CPU without a tick in the window counts as
    idle, a CPU /proc/stat does not list as busy. None when /proc/stat cannot be read. ``read``,
    ``sleep`` and ``own_cpu`` are seams for tests.
    """
    t0, c0, own0 = read(), time.perf_counter(), own_cpu()
    if t0 is None:
        return None
    sleep(window)
    t1, elapsed, own1 = read(), time.perf_counter() - c0, own_cpu()
    if t1 is None:
        return None
    return _idle_between(t0, t1, cpus, (own1 - own0) / elapsed if elapsed > 0 else 0.0)


def _idle_between(t0: dict, t1: dict, cpus: set[int], own: float) -> float:
    """Idle CPUs between two /proc/stat readings (``cpu_ticks``), plus ``own`` (CPUs this
    process used meanwhile, which are not taken from it), at most len(cpus)."""
    idle = 0.0
    for cpu in cpus:
        if cpu not in t0 or cpu not in t1:
            continue
        d_idle, d_all = t1[cpu][0] - t0[cpu][0], t1[cpu][1] - t0[cpu][1]
        if d_all > 0:
            idle += min(1.0, max(0.0, d_idle / d_all))
        else:  # no tick in the window (a tickless idle CPU): idle
            idle += 1.0
    return min(float(len(cpus)), idle + max(0.0, own))


def usable_cpus() -> set[int]:
    """The ids of the CPUs this process may run on (``taskset``, cgroup cpusets), a set of
    ints; ``range(os.cpu_count())`` where the affinity mask cannot be read."""
    try:
        return set(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return set(range(os.cpu_count() or 1))


def default_threads(window: float = IDLE_WINDOW,
                    idle: Callable[[set[int], float], float | None] = idle_cores,
                    load: Callable[[], tuple[float, float, float]] = os.getloadavg) -> int:
    """Threads for a run that was given none: the cores idle right now, an int >= 1. Blocks for
    about ``window`` seconds (0.05) unless only one thread is possible.

    Watches the CPUs this process may use for ``window`` seconds (``idle_cores``) and takes
    n threads when at least n - ``IDLE_MARGIN`` of them were idle; without /proc/stat it uses the
    1-minute load average instead (idle = CPUs - load). Never more than Numba's current thread
    setting (NUMBA_NUM_THREADS, ``numba.set_num_threads``) or the CPUs in the affinity mask. An
    idle 2-core machine gives 2; one core kept busy by another process gives 1 (measured in
    docs/performance.md, "Busy machine").
    """
    cpus = usable_cpus()
    cap = max(1, min(int(numba.get_num_threads()), len(cpus)))
    if cap == 1:
        return 1
    free = idle(cpus, window)
    if free is None:
        try:
            free = len(cpus) - load()[0]
        except (AttributeError, OSError):
            return cap
    return max(1, min(cap, math.floor(free + IDLE_MARGIN)))


FOLLOW_SECONDS = 1.0
"""How often ``LoadFollower`` re-reads how idle the cores are, in seconds of wall time."""


class LoadFollower:
    """The fused training steps' thread count for a run given no ``--threads``: it follows the
    cores other processes leave idle *during* the run, not only at its start.

    Call it after every step; every ``interval`` seconds (``FOLLOW_SECONDS``) it reads /proc/stat
    and this process's CPU time, counts the cores that were idle or used by this process since
    the last reading (``_idle_between``), and wants n threads when at least n - ``IDLE_MARGIN``
    were, between 1 and ``cap``. Fewer threads are taken at once (a busy core makes every parallel
    region wait for the thread that shares it: 0.15-0.49x one thread, docs/performance.md);
    more only after two readings in a row ask for them, so a short pause of another program does
    not make it flap. Returns the thread count to use, an int. Without /proc/stat it keeps the
    count it was given. ``read``, ``own_cpu`` and ``clock`` are seams for tests.

    Only for the fused kernels, whose results do not depend on the thread count (tested): a run
    that changes its count stays bit-identical to one that never does.
    """

    def __init__(self, threads: int, cap: int | None = None, interval: float = FOLLOW_SECONDS,
                 read: Callable[[], dict | None] = cpu_ticks,
                 own_cpu: Callable[[], float] = time.process_time,
                 clock: Callable[[], float] = time.perf_counter) -> None:
        self.cpus = usable_cpus()
        self.cap = cap or max(1, min(max_threads(), len(self.cpus)))
        self.threads = max(1, min(self.cap, threads))
        self.interval = interval
        self._read, self._own_cpu, self._clock = read, own_cpu, clock
        self._asked_more = 0
        self._mark(self._clock())

    def _mark(self, now: float) -> None:
        self._ticks, self._own, self._t = self._read(), self._own_cpu(), now

    def __call__(self) -> int:
        now = self._clock()
        if now - self._t < self.interval:
            return self.threads
        before, own0, t0 = self._ticks, self._own, self._t
        self._mark(now)
        if before is None or self._ticks is None:
            return self.threads
        own = (self._own - own0) / max(self._t - t0, 1e-9)
        free = _idle_between(before, self._ticks, self.cpus, own)
        want = max(1, min(self.cap, math.floor(free + IDLE_MARGIN)))
        if want < self.threads:
            self.threads, self._asked_more = want, 0
        elif want > self.threads:
            self._asked_more += 1
            if self._asked_more >= 2:
                self.threads, self._asked_more = want, 0
        else:
            self._asked_more = 0
        return self.threads
