"""One threading runtime in the hot loop.

Numba's worker pool and OpenBLAS's each spin-wait after a parallel region; on a 2-core machine two
pools that run one after the other starve each other (one measured case fell from 59 to 10
steps/s, see docs/performance.md). So the training code runs each phase in one runtime:

- fused Numba kernels (small batches): Numba uses ``n`` threads, BLAS is limited to 1;
- BLAS path (large batches): NumPy ``@`` uses ``n`` BLAS threads, the Numba kernels around it are
  serial.

``use_threads(n)`` sets both for a block of code and restores the previous settings afterwards.

Importing this module sets the OpenMP wait policy, unless the user set ``OMP_WAIT_POLICY`` or
``GOMP_SPINCOUNT``: ``GOMP_SPINCOUNT=3000`` (libgomp, Linux: a thread that finishes its share of a
parallel region spins for about 30 microseconds, then sleeps) and ``OMP_WAIT_POLICY=PASSIVE``
(other OpenMP runtimes: sleep at once). The bounded spin is a measured compromise
(docs/performance.md, "Waiting between parallel regions"):

- sleeping at once costs about 50 microseconds per parallel region on 2 vCPUs (waking a
  sleeping worker); a B=10 step has a dozen regions, which held the 2-thread speed-up to 1.3x;
  a 30-microsecond spin bridges the gap between the regions of one step: 1.7x;
- spinning without bound (libgomp's default, about 3 ms) burns the time slice a descheduled
  partner needs on a busy machine: 4-14 instead of 55-69 steps/s at load 4. The short spin
  costs about 30 % there; ``OMP_WAIT_POLICY=PASSIVE`` in the environment restores the
  no-spin behaviour, and concurrent runs do best with ``--threads 1`` each.

It takes effect only if Numba's OpenMP pool has not started yet, so ``glorotcli.nn.mlp`` and
``kernels`` import this module first.
"""

from __future__ import annotations

import contextlib
import functools
import os
from collections.abc import Iterator

#: Spin iterations of an idle OpenMP worker before it sleeps (libgomp; about 30 microseconds).
SPIN_COUNT = 3000

#: The variables this module put in the environment (none when the user set either).
SET_HERE: dict[str, str] = {}

if "OMP_WAIT_POLICY" not in os.environ and "GOMP_SPINCOUNT" not in os.environ:
    # before Numba's OpenMP pool starts: libgomp reads them once, when it is loaded
    SET_HERE = {"OMP_WAIT_POLICY": "PASSIVE", "GOMP_SPINCOUNT": str(SPIN_COUNT)}
    os.environ.update(SET_HERE)


def foreign_environment() -> dict[str, str]:
    """``os.environ`` without the settings this module added: for child processes that run
    other programs (the benchmark's NumPy and PyTorch workers), which should meet the
    environment the user gave, not glorot's choices."""
    env = dict(os.environ)
    for k, v in SET_HERE.items():
        if env.get(k) == v:
            del env[k]
    return env

import numba  # noqa: E402

from glorotcli.errors import GlorotError  # noqa: E402


def max_threads() -> int:
    """The most threads Numba can use in this process (NUMBA_NUM_THREADS, default: all cores)."""
    return int(numba.config.NUMBA_NUM_THREADS)


def check_threads(n: int | None) -> int:
    """Validate a thread count; ``None`` means the calling thread's current Numba setting."""
    if n is None:
        return int(numba.get_num_threads())
    if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= max_threads():
        raise GlorotError(f"threads must be an integer from 1 to {max_threads()}, got {n!r}")
    return n


@functools.cache
def _blas():
    """threadpoolctl controller for the BLAS libraries loaded by NumPy (built once: ~1 ms)."""
    import numpy  # noqa: F401  (BLAS must be loaded before the scan)
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController().select(user_api="blas")


@contextlib.contextmanager
def use_threads(n: int, blas: int = 1) -> Iterator[int]:
    """Run the block with ``n`` Numba threads and at most ``blas`` BLAS threads.

    The default ``blas=1`` keeps BLAS out of the way of parallel Numba kernels. Entering and
    leaving costs about 10 microseconds, so it can wrap every training step.
    """
    n = check_threads(n)
    blas = check_threads(blas)
    old = numba.get_num_threads()
    numba.set_num_threads(n)
    try:
        with _blas().limit(limits=blas):
            yield n
    finally:
        numba.set_num_threads(old)
