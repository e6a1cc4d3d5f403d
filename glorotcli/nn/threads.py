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
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator

import numba

from glorotcli.errors import GlorotError


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
