"""``glorot bench --busy``: the default thread count against ``--threads 1``, with cores kept busy.

A user's laptop is rarely idle (a browser, an indexer). This benchmark starts its own busy
processes (``spinners`` pure-Python loops, ``while True: pass``, optionally pinned to the last
CPUs), then three worker processes that each run glorot with one thread setting, as
``glorot train`` would:

- ``default``: the thread count ``glorot train`` takes when given none
  (``glorotcli.nn.threads.default_threads``, chosen when the worker starts, spinners running);
- ``1``: ``--threads 1``;
- ``all``: every core (what the default was before it looked at idle cores).

Each worker times the three things a training run does, at every width: SGD steps (batch
``batch``), probe measurements with gradients (``probes`` examples; ``stats.probes.measure``) and
Jacobian measurements (``jacobian_examples`` probes; ``stats.jacobian``), with Numba and BLAS
threads set as the training loop sets them. The parent interleaves the requests (rounds, widths,
measures, the workers' order rotated each round) and reports medians and the ratios default / 1
(target P9: >= 0.9) in the same run.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace

from glorotcli.bench.core import SETTLE, JsonLinesWorker, load_average
from glorotcli.environment import foreign_environment
from glorotcli.errors import GlorotError

MEASURES = ("step", "probe", "jacobian")
SETTINGS = ("default", "1", "all")
BUSY_TARGET = 0.9  # P9: default / --threads 1 with one core busy
LABELS = {"step": "training steps/s", "probe": "probe measurements/s",
          "jacobian": "Jacobian measurements/s"}


@dataclass(frozen=True)
class BusySettings:
    widths: tuple[int, ...] = (200, 1000)
    depth: int = 5
    batch: int = 10
    measures: tuple[str, ...] = MEASURES
    rounds: int = 3
    seconds: float = 0.5
    spinners: int = 1
    pin: bool = False
    probes: int = 300
    jacobian_examples: int = 1
    lr: float = 1e-3
    threads: str = "default"  # the worker's setting (one of SETTINGS)

    def validate(self) -> BusySettings:
        ncpu = os.cpu_count() or 1
        if not self.widths or min(self.widths) < 1:
            raise GlorotError(f"--widths needs widths >= 1, got {self.widths}")
        if not 0 <= self.spinners < max(ncpu, 2):
            raise GlorotError(f"--spinners must be from 0 to {max(ncpu - 1, 1)} (this machine "
                              f"has {ncpu} CPUs), got {self.spinners}")
        if self.rounds < 1:
            raise GlorotError(f"--rounds must be at least 1, got {self.rounds}")
        if not 0.05 <= self.seconds <= 600:
            raise GlorotError(f"--seconds must be between 0.05 and 600, got {self.seconds}")
        bad = [m for m in self.measures if m not in MEASURES]
        if bad or not self.measures:
            raise GlorotError(f"measures must be some of {', '.join(MEASURES)}, got {bad}")
        return self

    def sizes(self, width: int) -> tuple[int, ...]:
        return (1024, *([width] * self.depth), 9)


@dataclass
class BusyResult:
    settings: BusySettings
    rounds: dict = field(default_factory=dict)  # (setting, width, measure) -> rates
    threads: dict = field(default_factory=dict)  # setting -> thread count used
    idle: float | None = None  # cores the default worker found idle at its start
    machine: dict = field(default_factory=dict)

    def median(self, setting: str, width: int, measure: str) -> float | None:
        runs = self.rounds.get((setting, width, measure))
        return statistics.median(runs) if runs else None

    def rows(self) -> list[dict]:
        out = []
        for w in self.settings.widths:
            for m in self.settings.measures:
                row = {"width": w, "measure": m}
                for s in SETTINGS:
                    row[s] = self.median(s, w, m)
                one = row["1"]
                row["default_vs_1"] = row["default"] / one if one and row["default"] else None
                row["all_vs_1"] = row["all"] / one if one and row["all"] else None
                row["met"] = (None if row["default_vs_1"] is None
                              else row["default_vs_1"] >= BUSY_TARGET)
                out.append(row)
        return out

    def to_json(self) -> dict:
        return {"settings": asdict(self.settings), "machine": self.machine,
                "threads": self.threads, "idle_cores_at_start": self.idle, "rows": self.rows(),
                "rounds": [{"setting": k[0], "width": k[1], "measure": k[2], "per_s": v}
                           for k, v in self.rounds.items()]}


def format_busy(result: BusyResult) -> str:
    st = result.settings
    m = result.machine
    busy = (f"{st.spinners} busy process{'es' if st.spinners > 1 else ''} (a pure-Python loop"
            f"{', pinned to CPU ' + ','.join(map(str, m.get('pinned', []))) if st.pin else ''})"
            if st.spinners else "no busy process started")
    th = result.threads
    idle = f"{result.idle:.1f}" if result.idle is not None else "?"
    lines = [f"{busy}; net 1024-Wx{st.depth}-9 tanh, batch {st.batch}, {st.probes} probes, "
             f"Jacobians on {st.jacobian_examples} probe(s); median per second over "
             f"{st.rounds} interleaved round(s) of {st.seconds:g} s, each setting in its own "
             f"process",
             f"the default chose {th.get('default')} thread(s) ({idle} of "
             f"{m.get('cpus')} cores idle at its start); 'all' is {th.get('all')}", "",
             f"{'width':>5} {'measure':<25} {'default':>9} {'1 thread':>9} "
             f"{'all':>9} {'default/1':>9} {'all/1':>7}"]
    for r in result.rows():
        def c(v, fmt=".1f", w=9):
            return f"{v:{w}{fmt}}" if v is not None else f"{'-':>{w}}"
        verdict = "" if r["met"] is None else ("  met" if r["met"] else "  MISSED")
        lines.append(f"{r['width']:>5} {LABELS[r['measure']]:<25} {c(r['default'])} "
                     f"{c(r['1'])} {c(r['all'])} {c(r['default_vs_1'], '.2f')} "
                     f"{c(r['all_vs_1'], '.2f', 7)}{verdict}")
    lines.append(f"\nP9: the default runs >= {BUSY_TARGET:g}x the speed of --threads 1 "
                 f"(default/1 column)")
    if th.get("default") == th.get("1"):
        lines.append("the default took one thread: its column and the next run the same "
                     "configuration in two processes, so their ratio shows this run's noise")
    elif th.get("default") == th.get("all"):
        lines.append("the default took every core: its column and 'all' run the same "
                     "configuration in two processes, so their ratio shows this run's noise")
    load, end = m.get("load_avg_1min"), m.get("load_avg_1min_end")
    if load is not None:
        lines.append(f"machine: {m.get('cpus')} CPUs, load average {load:.2f} at the start"
                     + (f", {end:.2f} at the end" if end is not None else "")
                     + f" (the busy processes count); {m.get('date', '')}")
    return "\n".join(lines)


# ---------------------------------------------------------------- parent ----

def start_spinners(n: int, pin: bool) -> tuple[list[subprocess.Popen], list[int]]:
    """Start ``n`` busy processes (``while True: pass``); pinned to the last CPUs with ``pin``.
    Returns the processes and the CPUs they are pinned to."""
    cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    procs, pinned = [], []
    for i in range(n):
        code = "while True: pass"
        if pin and cpus:
            cpu = cpus[-1 - i % len(cpus)]
            pinned.append(cpu)
            code = f"import os; os.sched_setaffinity(0, {{{cpu}}})\n{code}"
        procs.append(subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.DEVNULL,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    return procs, pinned


def stop_spinners(procs: list[subprocess.Popen]) -> None:
    for p in procs:
        if p.poll() is None:
            p.kill()
        p.wait()


class _BusyWorker(JsonLinesWorker):
    close_timeout = 30.0

    def __init__(self, settings: BusySettings):
        self.setting = settings.threads
        cmd = [sys.executable, "-m", "glorotcli.bench", "--busy-worker",
               json.dumps(asdict(settings))]
        super().__init__(f"busy benchmark worker {self.setting}", cmd, foreign_environment())
        self.hello: dict = {}


def run_busy(settings: BusySettings,
             progress: Callable[..., None] = lambda *a, **k: None) -> BusyResult:
    """Run the busy-machine benchmark (see the module docstring)."""
    settings.validate()
    result = BusyResult(settings, machine={
        "cpus": os.cpu_count(), "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())})
    spinners, pinned = start_spinners(settings.spinners, settings.pin)
    result.machine["pinned"] = pinned
    workers: list[_BusyWorker] = []
    try:
        time.sleep(0.3)  # let the spinners get going before anyone looks at idle cores
        load = load_average()
        if load is not None:
            result.machine["load_avg_1min"] = load
        # the default worker first, alone: it looks at the idle cores when it starts, and the
        # others' start-up (imports) would count as load
        for s in SETTINGS:
            workers.append(_BusyWorker(replace(settings, threads=s)))
            if s == "default":
                workers[0].hello = workers[0].read()
        for w in workers[1:]:
            w.hello = w.read()
        for w in workers:
            result.threads[w.setting] = w.hello["threads"]
        result.idle = workers[0].hello.get("idle")
        jobs = [(wd, m) for wd in settings.widths for m in settings.measures]
        total = len(jobs) * len(workers) * (settings.rounds + 1)
        done = 0
        last = None
        for r in range(settings.rounds + 1):  # round 0 warms up
            k = r % len(workers)
            order = workers[k:] + workers[:k]
            for width, measure in jobs:
                for w in order:
                    secs = min(0.1, settings.seconds) if r == 0 else settings.seconds
                    if w is not last:
                        time.sleep(SETTLE)  # the previous worker's BLAS threads go to sleep
                        last = w
                    answer = w.ask(width=width, measure=measure, seconds=secs)
                    if r:
                        result.rounds.setdefault((w.setting, width, measure), []).append(
                            answer["per_s"])
                    done += 1
                    progress("busy bench", done, total, round=r, width=width, measure=measure)
    finally:
        for w in workers:
            w.close()
        stop_spinners(spinners)
    end = load_average()
    if end is not None:
        result.machine["load_avg_1min_end"] = end
    return result


# ---------------------------------------------------------------- worker ----

def busy_worker(settings: BusySettings) -> None:
    """One thread setting; answers ``{"width", "measure", "seconds"}`` with ``{"per_s"}``."""
    from glorotcli.environment import prepare

    prepare()  # as the glorot command does first
    import numpy as np

    from glorotcli.nn import threads as T
    from glorotcli.nn.init import init_mlp
    from glorotcli.nn.mlp import Trainer
    from glorotcli.stats.jacobian import jacobian_singular_values
    from glorotcli.stats.probes import default_edges, measure

    idle = None
    if settings.threads == "default":
        idle = T.idle_cores(T.usable_cpus())
        n = T.default_threads(idle=lambda cpus, window: idle)
    elif settings.threads == "all":
        n = T.max_threads()
    else:
        n = int(settings.threads)
    print(json.dumps({"threads": n, "idle": idle}), flush=True)
    rng = np.random.default_rng(1)
    x = rng.random((settings.probes, 1024)).astype(np.float32)
    y = rng.integers(0, 9, settings.probes)
    edges = default_edges("tanh", 200, init="normalized")
    nets: dict[int, tuple] = {}

    def setup(width):
        if width not in nets:
            net = init_mlp(settings.sizes(width), "tanh", "normalized",
                           np.random.default_rng(0), "float32")
            nets[width] = (net, Trainer(net, "nll", n))
        return nets[width]

    def caller(width: int, what: str):
        """The call a request times: one step, one probe measurement or one Jacobian."""
        net, trainer = setup(width)
        B = settings.batch
        if what == "step":
            def call(i):
                a = (i * B) % (settings.probes - B + 1)
                trainer.step(x[a:a + B], y[a:a + B], settings.lr)
        elif what == "probe":
            def call(i):
                with T.use_threads(n, blas=n):  # as the training loop runs a probe
                    measure(net, x, y, cost="nll", lr=settings.lr, edges=edges)
        else:
            def call(i):
                with T.use_threads(n, blas=n):
                    jacobian_singular_values(net, x, n_examples=settings.jacobian_examples)
        return call

    for line in sys.stdin:
        req = json.loads(line)
        call = caller(req["width"], req["measure"])
        k = 0
        t0 = time.perf_counter()
        while True:
            call(k)
            k += 1
            if time.perf_counter() - t0 >= req["seconds"]:
                break
        elapsed = time.perf_counter() - t0
        print(json.dumps({"per_s": k / elapsed, "calls": k}), flush=True)
