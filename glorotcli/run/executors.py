"""Where a sweep's runs execute: a local process pool, or a Dask distributed cluster.

Both give ``run_sweep`` the same small interface (``submit``, ``poll``, ``running``,
``interrupt``, ``close``). Each worker runs one training at a time on one thread (concurrent
runs on a shared machine do best that way: docs/performance.md).

Local pool. ``concurrent.futures.ProcessPoolExecutor`` with the *spawn* start method (Numba's
threading layer must not be forked) and workers in their own process group, so a Ctrl-C at the
terminal reaches only the sweep, which forwards exactly one SIGINT to each worker: each run
checkpoints and stops, resumable. A worker killed outright breaks the pool (Python stops the
other workers, which checkpoint on SIGTERM); the sweep starts a new pool and resubmits every
unfinished run, which resumes from its checkpoint. A sweep killed outright takes its workers
with it (each gets SIGTERM, checkpoints and stops): running the same command again resumes.

Dask. ``distributed.Client(address)``; the scheduler reschedules a lost worker's task on
another worker, where it resumes from the shared folder (``take_over``: the writer recorded in
the file is on a host that is gone). Start workers with one thread each (``dask worker ADDRESS
--nthreads 1 --nworkers N``): a worker process runs one training at a time.
"""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
import os
import signal
import sys
import uuid

from glorotcli.errors import GlorotError
from glorotcli.run.sweep import Job, run_job

DASK_EXTRA = "pip install 'glorot[dask]'"


_SWEEP_PID: list[int] = []
"""In a pool worker: the process id of the sweep that started it (set by ``_worker_init``)."""


def _run_in_worker(job: Job) -> dict:
    """``run_job`` in a pool worker; if the sweep died meanwhile (the run then stopped on the
    SIGTERM its death sent), the worker exits instead of waiting for work that cannot come:
    its siblings hold the task queue open, so it would never see the end of it."""
    try:
        return run_job(job)
    finally:
        if _SWEEP_PID and os.getppid() != _SWEEP_PID[0]:
            os._exit(128 + signal.SIGTERM)


def _worker_init(sweep_pid: int) -> None:
    """Runs first in every pool worker: its own process group (see the module docstring), and a
    SIGTERM when the sweep process dies, however it dies (``kill -9`` included), so the run
    checkpoints and stops, resumable by running the same sweep again, instead of going on as an
    orphan that holds its run file (Linux's ``PR_SET_PDEATHSIG``; elsewhere the run goes on to
    its end and a later sweep finds it finished)."""
    os.setpgrp()
    _SWEEP_PID.append(sweep_pid)
    if sys.platform.startswith("linux"):
        import ctypes

        PR_SET_PDEATHSIG = 1
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() != sweep_pid:  # the sweep died before the call above
            os.kill(os.getpid(), signal.SIGTERM)


class LocalExecutor:
    """A pool of ``workers`` processes on this machine."""

    def __init__(self, workers: int) -> None:
        if workers < 1:
            raise GlorotError(f"--jobs must be at least 1, got {workers}")
        self.workers = workers
        self._futures: dict[cf.Future, Job] = {}
        self._pool: cf.ProcessPoolExecutor | None = None

    def _ensure_pool(self) -> cf.ProcessPoolExecutor:
        if self._pool is None:
            self._pool = cf.ProcessPoolExecutor(
                max_workers=self.workers, mp_context=multiprocessing.get_context("spawn"),
                initializer=_worker_init, initargs=(os.getpid(),))
        return self._pool

    def submit(self, job: Job) -> None:
        try:
            fut = self._ensure_pool().submit(_run_in_worker, job)
        except cf.BrokenExecutor:
            self._restart()
            fut = self._ensure_pool().submit(_run_in_worker, job)
        self._futures[fut] = job

    def poll(self) -> list[tuple[Job, dict | BaseException]]:
        out = []
        broken = False
        for fut in [f for f in self._futures if f.done()]:
            job = self._futures.pop(fut)
            exc = fut.exception()
            if isinstance(exc, cf.BrokenExecutor):
                broken = True
            out.append((job, exc if exc is not None else fut.result()))
        if broken:
            self._restart()
        return out

    def _restart(self) -> None:
        """A worker died: drop the broken pool (the next submit makes a new one)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def running(self) -> list[Job]:
        return list(self._futures.values())

    def interrupt(self) -> None:
        """One SIGINT to each worker (they checkpoint and stop), then wait for them."""
        pool = self._pool
        if pool is None:
            return
        for proc in list(getattr(pool, "_processes", {}).values()):  # no public accessor
            try:
                os.kill(proc.pid, signal.SIGINT)
            except (ProcessLookupError, PermissionError):
                pass
        for fut in list(self._futures):
            try:
                fut.result()
            except BaseException:  # noqa: BLE001 - the run file records what happened
                pass
        self._futures.clear()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


class DaskExecutor:
    """Runs on a Dask distributed scheduler at ``address`` (``tcp://host:8786``), or on a
    ``distributed.Client`` given directly (tests, notebooks)."""

    def __init__(self, address, *, workers: int | None = None, timeout: float = 10.0) -> None:
        try:
            import distributed
        except ImportError:
            raise GlorotError(f"--scheduler needs Dask distributed, which is not installed: "
                              f"{DASK_EXTRA}") from None
        if isinstance(address, distributed.Client):
            self.client, self._own = address, False
        else:
            try:
                self.client = distributed.Client(address, timeout=timeout)
            except (OSError, TimeoutError, ValueError) as exc:
                raise GlorotError(f"--scheduler {address}: cannot connect to a Dask scheduler "
                                  f"({exc})") from None
            self._own = True
        n = sum(w.get("nthreads", 1) for w in
                self.client.scheduler_info().get("workers", {}).values())
        self.workers = workers or max(n, 1)
        self._futures: dict = {}

    def submit(self, job: Job) -> None:
        fut = self.client.submit(run_job, job, key=f"glorot-{job.name}-{uuid.uuid4().hex[:8]}",
                                 pure=False)
        self._futures[fut] = job

    def poll(self) -> list[tuple[Job, dict | BaseException]]:
        out = []
        for fut in [f for f in self._futures if f.done()]:
            job = self._futures.pop(fut)
            if fut.status == "finished":
                out.append((job, fut.result()))
            else:
                exc = fut.exception() if fut.status == "error" else None
                out.append((job, exc or RuntimeError(f"task {fut.status}")))
        return out

    def running(self) -> list[Job]:
        return list(self._futures.values())

    def interrupt(self) -> None:
        """Cancel what has not started; running trainings cannot be stopped from here and go
        on writing their files (a later sweep finds them finished, or resumes them)."""
        self.client.cancel(list(self._futures))
        self._futures.clear()

    def close(self) -> None:
        if self._own:
            self.client.close()
