"""The process environment glorot runs in: checked and prepared once, by an explicit call.

``prepare()`` runs at start-up, before Numba starts its thread pool (the CLI calls it first
thing; a notebook may call ``glorotcli.prepare_environment()``). Importing any glorot module
leaves ``os.environ`` alone. It does two things:

- **Checks the variables that break Numba or OpenMP** and repairs what it can, with a one-line
  warning each: ``NUMBA_NUM_THREADS`` or ``OMP_NUM_THREADS`` that is not a positive integer is
  dropped (all cores are used); a ``NUMBA_CACHE_DIR`` that cannot be written is replaced by a
  folder in the temporary directory (otherwise every run would compile the kernels again,
  about 30 s, without a word).
- **Sets the OpenMP wait policy**, unless the user set ``OMP_WAIT_POLICY`` or
  ``GOMP_SPINCOUNT``: ``GOMP_SPINCOUNT=3000`` (libgomp: an idle worker spins about 30
  microseconds, then sleeps) and ``OMP_WAIT_POLICY=PASSIVE`` (other runtimes: sleep at once).
  Measured in docs/performance.md ("Waiting between parallel regions"): sleeping at once costs
  about 50 microseconds per parallel region on 2 vCPUs, which held the 2-thread speed-up at
  batch 10 to 1.3x; the 30-microsecond spin gives 1.7x; spinning without bound (libgomp's
  default, about 3 ms) starves a descheduled partner on a busy machine.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

SPIN_COUNT = 3000
"""Spin iterations of an idle OpenMP worker before it sleeps (libgomp; about 30 microseconds)."""

SET_HERE: dict[str, str] = {}
"""The variables ``prepare`` put in the environment (for ``foreign_environment``)."""


def _positive_int(text: str) -> bool:
    return text.strip().isdigit() and int(text) >= 1


def prepare(warn: Callable[[str], None] = lambda message: None) -> dict[str, str]:
    """Check and prepare ``os.environ`` (see the module docstring); ``warn`` hears one line per
    repaired variable. Returns the variables it set. Safe to call more than once."""
    for name in ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS"):
        value = os.environ.get(name)
        if value is not None and not _positive_int(value):
            del os.environ[name]
            warn(f"{name}={value!r} is not a positive whole number; ignoring it (all cores)")
    cache = os.environ.get("NUMBA_CACHE_DIR")
    if cache and not _writable(Path(cache)):
        fallback = Path(tempfile.gettempdir()) / f"glorot-numba-cache-{os.getuid()}"
        os.environ["NUMBA_CACHE_DIR"] = str(fallback)
        SET_HERE["NUMBA_CACHE_DIR"] = str(fallback)
        warn(f"NUMBA_CACHE_DIR={cache} cannot be written; caching compiled kernels in "
             f"{fallback} instead")
    if "OMP_WAIT_POLICY" not in os.environ and "GOMP_SPINCOUNT" not in os.environ:
        policy = {"OMP_WAIT_POLICY": "PASSIVE", "GOMP_SPINCOUNT": str(SPIN_COUNT)}
        os.environ.update(policy)
        SET_HERE.update(policy)
    return dict(SET_HERE)


def _writable(folder: Path) -> bool:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return False
    return os.access(folder, os.W_OK | os.X_OK)


def foreign_environment() -> dict[str, str]:
    """``os.environ`` without the settings ``prepare`` added: for child processes that run
    other programs (the benchmark's NumPy, PyTorch and JAX workers), which should meet the
    environment the user gave, not glorot's choices."""
    env = dict(os.environ)
    for k, v in SET_HERE.items():
        if env.get(k) == v:
            del env[k]
    return env


TICK = 1 / os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 0.01
"""Seconds per tick of /proc/stat (USER_HZ, 100 on Linux)."""


def cpu_ticks() -> dict[int, tuple[int, int]] | None:
    """Per CPU: (idle + iowait ticks, all ticks) from /proc/stat, in ``TICK`` seconds; None where
    there is no /proc/stat. Used to see how busy the machine is (``nn.threads.default_threads``,
    the benchmark's load by other processes)."""
    try:
        with open("/proc/stat") as f:
            return parse_proc_stat(f.read())
    except OSError:
        return None


def parse_proc_stat(text: str) -> dict[int, tuple[int, int]] | None:
    """Per CPU of /proc/stat's ``cpuN`` lines: {N: (idle + iowait ticks, all ticks)}, ints in
    the kernel's clock ticks (USER_HZ, usually 10 ms), counted since boot; None when ``text``
    has no such line. A CPU waiting for I/O is free to run us; time stolen by the hypervisor
    (steal) counts as busy. Only the first 8 fields (user .. steal) are summed."""
    out = {}
    for line in text.splitlines():
        name, *fields = line.split() or [""]
        if name.startswith("cpu") and name[3:].isdigit():
            ticks = [int(v) for v in fields[:8]]  # user nice system idle iowait irq softirq steal
            out[int(name[3:])] = (ticks[3] + ticks[4], sum(ticks))
    return out or None
