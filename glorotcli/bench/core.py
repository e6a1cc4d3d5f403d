"""Training-step benchmark: glorot against NumPy, PyTorch eager and JAX jit, and against sgemm.

Each implementation runs in its own worker process (``python -m glorotcli.bench --worker IMPL``,
see ``workers.py``) that builds the same net once and answers timing requests on stdin/stdout,
one JSON line each. The parent interleaves the requests (round after round, every batch size and
thread count, every implementation in turn, the order rotated each round), so slow phases of a
shared machine hit all implementations alike; the reported figure is the median over rounds.

``sgemm`` is not an implementation but the roof: the matrix products of one step (forward
``z W``, backward ``dC/ds W^T`` and ``z^T dC/ds``, the step's shapes) with NumPy ``@``, in the
same rounds. Its steps/s is the step's floor at BLAS speed, its GFLOP/s the machine's rate for
those shapes; every implementation's steps/s divided by the floor is its share of that roof. It
always runs with OpenBLAS's own kernel choice for this CPU (variables that force another kernel,
``BLAS_FORCING``, removed), because the roof is the machine's, not the environment's.

First-step latency is the wall time from launching a fresh ``python`` until its first training
step has returned, with the JIT cache already warm.

The core never prints; ``glorotcli/cli/bench.py`` renders ``run_bench``'s result.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

from glorotcli.environment import TICK, cpu_ticks, foreign_environment
from glorotcli.errors import GlorotError

IMPLS = ("glorot", "numpy", "torch", "jax", "sgemm")
REFERENCES = ("numpy", "torch", "jax")
"""Implementations glorot is compared with (ratio glorot / reference)."""

BLAS_FORCING = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
"""Variables that make OpenBLAS use another kernel (or blocking) than it picks for this CPU."""
KERNEL_VARIABLES = (*BLAS_FORCING, "NUMBA_CPU_NAME", "NUMBA_CPU_FEATURES",
                    "NPY_DISABLE_CPU_FEATURES", "MKL_ENABLE_INSTRUCTIONS", "ONEDNN_MAX_CPU_ISA",
                    "DNNL_MAX_CPU_ISA", "XLA_FLAGS")
"""Variables that may hold an implementation to older instructions than the CPU has (noted)."""


@dataclass(frozen=True)
class Target:
    """A target of docs/performance.md: glorot / ``ref`` >= ``minimum`` at (batch, threads).
    ``ref`` "sgemm" means glorot's steps/s over the sgemm floor (its share of the roof)."""

    name: str
    batch: int
    threads: int
    ref: str
    minimum: float


TARGETS = (
    Target("P1", 10, 1, "jax", 1.3), Target("P1", 10, 2, "jax", 1.3),
    Target("P1", 10, 1, "sgemm", 0.7),
    Target("P2", 1, 1, "jax", 2.0),
    Target("P3", 100, 1, "jax", 1.0), Target("P3", 100, 2, "jax", 1.0),
    # the earlier targets against PyTorch eager stay
    Target("P1", 10, 1, "torch", 1.3), Target("P1", 10, 2, "torch", 1.2),
    Target("P2", 1, 1, "torch", 3.0), Target("P3", 100, 1, "torch", 0.75),
)
SPEEDUP_TARGET = 1.6  # P4, glorot at batch 10: 2 threads / 1 thread
SETTLE = 0.12
"""Seconds of pause before a worker measures after another did: OpenBLAS's idle threads spin
(yielding) for 2^28 cycles, about 0.1 s, after their last call (THREAD_TIMEOUT in its
blas_server.c), and would take CPU from the next worker; in a fixed rotation the same worker
always came next and paid for it (its probes ran 0.84-0.92x an identical worker's)."""
PEAK_ROWS = 512
"""Rows of the product that measures the peak sgemm rate: (512 x width) @ (width x width)."""
FIRST_STEP_TARGET = 1.0  # P5, seconds


def step_flops(sizes: tuple[int, ...], batch: int) -> int:
    """Floating-point operations of the matrix products of one SGD step (2 per multiply-add):
    forward ``z W`` for every layer, ``z^T dC/ds`` for every weight gradient, and ``dC/ds W^T``
    for every layer but the first (nothing back-propagates into the inputs). Elementwise work
    (bias, tanh, softmax, the update itself) is left out. 1024-1000x5-9: 28.15 MFLOP per
    example."""
    mn = [m * n for m, n in zip(sizes[:-1], sizes[1:], strict=False)]
    return 2 * batch * (2 * sum(mn) + sum(mn[1:]))


@dataclass(frozen=True)
class BenchSettings:
    """What to measure. The net is the paper's: 1024-1000xDEPTH-9, tanh, softmax + NLL.

    ``native_blas``: run the glorot and NumPy workers without ``BLAS_FORCING`` too (the sgemm
    roof always runs without them). ``max_others``: measure again (at most ``retries`` more
    times) when other processes used more than this many cores during a measurement.
    """

    batches: tuple[int, ...] = (1, 10, 100)
    threads: tuple[int, ...] = (1, 2)
    impls: tuple[str, ...] = IMPLS
    rounds: int = 5
    seconds: float = 1.0
    first_step_runs: int = 3
    depth: int = 5
    width: int = 1000
    activation: str = "tanh"
    dtype: str = "float32"
    lr: float = 1e-3
    native_blas: bool = False
    max_others: float | None = None
    retries: int = 3

    def validate(self) -> BenchSettings:
        def show(v: tuple) -> str:
            return ",".join(map(str, v)) or "nothing"

        if not self.batches or min(self.batches) < 1:
            raise GlorotError(f"--batch needs batch sizes >= 1, got {show(self.batches)}")
        ncpu = os.cpu_count() or 1
        if not self.threads or min(self.threads) < 1 or max(self.threads) > ncpu:
            raise GlorotError(f"--threads needs thread counts from 1 to {ncpu}, "
                              f"got {show(self.threads)}")
        if self.depth < 1 or self.width < 1:
            raise GlorotError(f"--depth must be at least 1, got {self.depth}")
        bad = [i for i in self.impls if i not in IMPLS]
        if bad or not self.impls:
            raise GlorotError(f"--impl must name some of {', '.join(IMPLS)}, "
                              f"got {', '.join(bad) or 'nothing'}")
        if self.rounds < 1:
            raise GlorotError(f"--rounds must be at least 1, got {self.rounds}")
        if not 0.05 <= self.seconds <= 600:
            raise GlorotError(f"--seconds must be between 0.05 and 600, got {self.seconds}")
        if self.first_step_runs < 0:
            raise GlorotError(f"--first-step-runs must be >= 0, got {self.first_step_runs}")
        if self.dtype not in ("float32", "float64"):
            raise GlorotError(f"--dtype must be float32 or float64, got {self.dtype!r}")
        if self.max_others is not None and self.max_others < 0:
            raise GlorotError(f"--max-others must be >= 0 cores, got {self.max_others}")
        return self

    @property
    def is_papers_net(self) -> bool:
        """The net the targets of docs/performance.md are stated for."""
        return (self.depth, self.width, self.activation, self.dtype) == (5, 1000, "tanh",
                                                                          "float32")

    @property
    def sizes(self) -> tuple[int, ...]:
        return (1024, *([self.width] * self.depth), 9)


@dataclass
class BenchResult:
    settings: BenchSettings
    #: (impl, batch, threads) -> steps/s of every round
    rounds: dict = field(default_factory=dict)
    #: (impl, batch, threads) -> CPU time / wall time of the worker in every round
    cores: dict = field(default_factory=dict)
    #: (impl, batch, threads) -> cores other processes used during each kept measurement
    others: dict = field(default_factory=dict)
    retried: int = 0  # measurements taken again because others were busy
    first_step: list[float] = field(default_factory=list)
    skipped: dict = field(default_factory=dict)  # impl -> reason
    machine: dict = field(default_factory=dict)
    blas: dict = field(default_factory=dict)  # see blas_report
    notes: list[str] = field(default_factory=list)

    def median(self, impl: str, batch: int, threads: int) -> float | None:
        runs = self.rounds.get((impl, batch, threads))
        return statistics.median(runs) if runs else None

    def peak_gflops(self, threads: int) -> float | None:
        """The sgemm worker's rate on one large product, (PEAK_ROWS x width) @ (width x width):
        the machine's peak for these shapes (median over rounds)."""
        rate = self.median("sgemm", 0, threads)
        w = self.settings.width
        return rate * 2 * PEAK_ROWS * w * w / 1e9 if rate else None

    def spread(self, impl: str, batch: int, threads: int) -> tuple[float, float] | None:
        runs = self.rounds.get((impl, batch, threads))
        return (min(runs), max(runs)) if runs else None

    def ratio(self, batch: int, threads: int, ref: str) -> float | None:
        """glorot / ``ref`` (medians); for "sgemm", glorot's share of the sgemm floor."""
        g, r = self.median("glorot", batch, threads), self.median(ref, batch, threads)
        return g / r if g and r else None

    def rows(self) -> list[dict]:
        """One row per (batch, threads): median steps/s, the sgemm roof, ratios and shares."""
        st = self.settings
        out = []
        for B in st.batches:
            for n in st.threads:
                row: dict = {"batch": B, "threads": n}
                for impl in st.impls:
                    row[impl] = self.median(impl, B, n)
                floor = row.get("sgemm")
                row["step_mflop"] = step_flops(st.sizes, B) / 1e6
                row["sgemm_gflops"] = floor * step_flops(st.sizes, B) / 1e9 if floor else None
                for ref in REFERENCES:
                    row[f"x_{ref}"] = self.ratio(B, n, ref)
                peak = self.peak_gflops(n)
                for impl in st.impls:
                    if impl != "sgemm":
                        row[f"share_{impl}"] = (row[impl] / floor if row[impl] and floor
                                                else None)
                        gflops = row[impl] * row["step_mflop"] / 1e3 if row[impl] else None
                        row[f"peak_share_{impl}"] = gflops / peak if gflops and peak else None
                row["peak_gflops"] = peak
                out.append(row)
        return out

    def targets(self) -> list[dict]:
        """Every target of TARGETS this run measured, with the ratio and the verdict."""
        if not self.settings.is_papers_net:
            return []
        out = []
        for t in TARGETS:
            value = self.ratio(t.batch, t.threads, t.ref)
            if value is not None:
                out.append({**asdict(t), "value": value, "met": value >= t.minimum})
        return out

    def others_median(self) -> float | None:
        """Median over all kept measurements of the cores other processes used meanwhile."""
        vals = [v for vs in self.others.values() for v in vs if v is not None]
        return statistics.median(vals) if vals else None

    def speedup(self, batch: int = 10) -> float | None:
        one, two = self.median("glorot", batch, 1), self.median("glorot", batch, 2)
        return two / one if one and two else None

    def to_json(self) -> dict:
        fs = self.first_step
        return {
            "settings": asdict(self.settings),
            "machine": self.machine,
            "blas": self.blas,
            "rows": self.rows(),
            "targets": self.targets(),
            "rounds": [{"impl": k[0], "batch": k[1], "threads": k[2], "steps_per_s": v,
                        "cores": self.cores.get(k), "others": self.others.get(k)}
                       for k, v in self.rounds.items()],
            "others_median": self.others_median(), "retried": self.retried,
            "speedup_2_threads_b10": self.speedup(),
            "first_step_s": {"runs": fs, "median": statistics.median(fs) if fs else None,
                             "target": FIRST_STEP_TARGET},
            "skipped": self.skipped,
            "notes": self.notes,
        }


def _cell(v: float | None, fmt: str, width: int) -> str:
    return f"{v:{width}{fmt}}" if v is not None else f"{'-':>{width}}"


def format_result(result: BenchResult) -> str:
    """The plain-text tables ``glorot bench`` prints."""
    st = result.settings
    impls = [i for i in st.impls if i != "sgemm" and i not in result.skipped]
    has_roof = "sgemm" in st.impls and "sgemm" not in result.skipped
    m = result.machine
    lines = [f"net {'-'.join(map(str, st.sizes[:2]))}x{st.depth}-{st.sizes[-1]} {st.activation}, "
             f"softmax + NLL, SGD, {st.dtype}; median steps/s over {st.rounds} interleaved "
             f"round(s) of {st.seconds:g} s, each implementation in its own process"]
    lines += _blas_lines(result)
    head = f"{'batch':>5} {'thr':>3} " + " ".join(f"{i:>8}" for i in impls)
    if has_roof:
        head += f" | {'sgemm':>8} {'GFLOP/s':>8}"
    refs = [r for r in REFERENCES if r in impls and "glorot" in impls]
    head += " |" + "".join(f" {'x ' + r:>8}" for r in refs)
    lines += ["", head]
    for row in result.rows():
        cells = f"{row['batch']:>5} {row['threads']:>3} "
        cells += " ".join(_cell(row[i], ".1f", 8) for i in impls)
        if has_roof:
            cells += f" | {_cell(row['sgemm'], '.1f', 8)} {_cell(row['sgemm_gflops'], '.1f', 8)}"
        cells += " |" + "".join(" " + _cell(row["x_" + r], ".2f", 8) for r in refs)
        lines.append(cells)
    if has_roof:
        lines += ["", "share of the sgemm floor (steps/s / sgemm steps/s: the step's matrix "
                      "products at BLAS speed, same shapes, same rounds) | share of the peak "
                      f"(GFLOP/s / sgemm GFLOP/s on a {PEAK_ROWS}x{st.width}x{st.width} "
                      "product)",
                  f"{'batch':>5} {'thr':>3} {'MFLOP':>7} " + " ".join(f"{i:>8}" for i in impls)
                  + f" | {'peak':>7} " + " ".join(f"{i:>8}" for i in impls)]
        for row in result.rows():
            lines.append(f"{row['batch']:>5} {row['threads']:>3} {row['step_mflop']:7.1f} "
                         + " ".join(_cell(row.get("share_" + i), ".2f", 8) for i in impls)
                         + f" | {_cell(row['peak_gflops'], '.0f', 7)} "
                         + " ".join(_cell(row.get("peak_share_" + i), ".2f", 8)
                                    for i in impls))
    targets = result.targets()
    if targets:
        lines += ["", "targets (docs/performance.md; ratios of medians in this run):"]
        for t in targets:
            what = ("share of the sgemm floor" if t["ref"] == "sgemm"
                    else f"glorot / {t['ref']}")
            lines.append(f"  {t['name']} batch {t['batch']}, {t['threads']} thr: {what} "
                         f"{t['value']:.2f} (>= {t['minimum']:g}): "
                         f"{'met' if t['met'] else 'MISSED'}")
    sp = result.speedup()
    if sp is not None:
        ok = "met" if sp >= SPEEDUP_TARGET else "MISSED"
        lines.append(f"  P4 glorot 2-thread speed-up at batch 10: {sp:.2f}x "
                     f"(>= {SPEEDUP_TARGET:g}): {ok}")
    if result.first_step:
        med = statistics.median(result.first_step)
        lines.append(f"  P5 first training step after process start (warm JIT cache): "
                     f"{med:.2f} s median of {len(result.first_step)} "
                     f"(<= {FIRST_STEP_TARGET:g} s): "
                     f"{'met' if med <= FIRST_STEP_TARGET else 'MISSED'}")
    if not st.is_papers_net:
        lines.append("(targets apply to the paper's net in float32 only: 1024-1000x5-9 tanh)")
    for impl, why in result.skipped.items():
        lines.append(f"note: {impl} skipped: {why}")
    lines += [f"note: {n}" for n in result.notes]
    om = result.others_median()
    if om is not None:
        worst = max((v for vs in result.others.values() for v in vs if v is not None),
                    default=0.0)
        lines.append(f"other processes used {om:.2f} cores (median; at most {worst:.2f}) during "
                     f"the measurements" + (f"; {result.retried} measurement(s) taken again "
                                            f"because they used more than "
                                            f"{st.max_others:g}" if st.max_others is not None
                                            else ""))
    lines.append(_machine_line(m))
    return "\n".join(lines)


def _machine_line(m: dict) -> str:
    load = m.get("load_avg_1min")
    end = m.get("load_avg_1min_end")
    text = f"machine: {m.get('cpus', '?')} CPUs"
    if m.get("cpu_model"):
        text += f" ({m['cpu_model']})"
    if load is not None:
        text += f", load average {load:.2f} at the start"
        if end is not None:
            text += f", {end:.2f} at the end"
    return text + f"; {m.get('date', '')}"


def _blas_lines(result: BenchResult) -> list[str]:
    b = result.blas
    env, native = b.get("env"), b.get("native")
    if not env:
        return []
    lib = f"{env.get('internal_api')} {env.get('version')} ({env.get('threading_layer')})"
    text = f"BLAS: {lib}, kernel {env.get('architecture')}"
    forced = {k: v for k, v in b.get("forcing", {}).items() if k in BLAS_FORCING}
    if forced:
        text += " (" + ", ".join(f"{k}={v}" for k, v in forced.items()) + ")"
    if native and native.get("architecture") != env.get("architecture"):
        text += f"; this CPU's own: {native.get('architecture')}"
    lines = [text]
    if b.get("older_kernel"):
        ran = ("the glorot and NumPy workers ran without it (--native-blas)"
               if result.settings.native_blas else
               "the glorot and NumPy workers kept it (as glorot train would); --native-blas "
               "measures without it")
        lines.append(f"warning: {', '.join(f'{k}={v}' for k, v in forced.items())} makes "
                     f"OpenBLAS run its {env.get('architecture')} kernels on a CPU whose own "
                     f"are {native.get('architecture')}: slower matrix products for glorot's "
                     f"BLAS path (batches above the crossover), probes and NumPy; {ran}; the "
                     f"sgemm roof always uses the CPU's own kernel")
    others = {k: v for k, v in b.get("forcing", {}).items() if k not in BLAS_FORCING}
    for k, v in others.items():
        lines.append(f"note: {k}={v} is set; it may hold an implementation to older "
                     f"instructions than this CPU has")
    return lines


# ---------------------------------------------------------------- parent ----

def worker_environment(impl: str, settings: BenchSettings) -> dict[str, str]:
    """The environment of a worker process: the user's (never glorot's OpenMP settings, see
    ``environment.foreign_environment``), without ``BLAS_FORCING`` for the sgemm roof, and for
    the glorot and NumPy workers with ``native_blas``."""
    env = foreign_environment()
    if impl == "sgemm" or (settings.native_blas and impl in ("glorot", "numpy")):
        for k in BLAS_FORCING:
            env.pop(k, None)
    if impl == "jax":
        env.setdefault("JAX_PLATFORMS", "cpu")  # no accelerator probing
    return env


def safe_path(env: dict[str, str]) -> dict[str, str]:
    """``env`` for a ``python -m glorotcli...`` child that must import the installed glorot: with
    ``PYTHONSAFEPATH=1`` (Python 3.11+) the current folder is not put first on ``sys.path``, so a
    ``glorotcli/`` folder there (an old checkout) is not imported instead."""
    return {**env, "PYTHONSAFEPATH": "1"}


class JsonLinesWorker:
    """A benchmark worker process spoken to in JSON lines: one request on its stdin, one answer
    on its stdout. ``name`` appears in the error when it dies; ``close_timeout`` seconds are
    given to it to exit once its stdin closes, then it is killed."""

    close_timeout = 10.0

    def __init__(self, name: str, cmd: list[str], env: dict[str, str]) -> None:
        self.name = name
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True, bufsize=1,
                                     env=safe_path(env))

    def read(self) -> dict:
        """The worker's next JSON line; GlorotError with its last stderr line if it died."""
        line = self.proc.stdout.readline()
        if not line:
            err = self.proc.stderr.read().strip().splitlines()
            raise GlorotError(f"{self.name} died: {err[-1] if err else 'no message'}")
        return json.loads(line)

    def ask(self, **request) -> dict:
        """Send one request, return the answer."""
        self.proc.stdin.write(json.dumps(request) + "\n")
        self.proc.stdin.flush()
        return self.read()

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                self.proc.stdin.close()
                self.proc.wait(timeout=self.close_timeout)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()


class _Worker(JsonLinesWorker):
    def __init__(self, impl: str, settings: BenchSettings, threads: int | None = None):
        self.impl = impl
        self.threads = threads  # None: answers every thread count
        cmd = [sys.executable, "-m", "glorotcli.bench", "--worker", impl,
               json.dumps(asdict(settings))]
        if threads is not None:
            cmd.append(str(threads))
        super().__init__(f"benchmark worker {impl}", cmd, worker_environment(impl, settings))
        self.hello = self.read()

    def serves(self, threads: int) -> bool:
        return self.threads is None or self.threads == threads


def load_average() -> float | None:
    """The 1-minute load average, or None where the system has none."""
    try:
        return os.getloadavg()[0]
    except (AttributeError, OSError):
        return None


def _cpu_model() -> str | None:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return None


def _machine() -> dict:
    import platform

    info = {"cpus": os.cpu_count(), "cpu_model": _cpu_model(),
            "python": platform.python_version(),
            "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            "load_avg_1min": load_average()}
    return {k: v for k, v in info.items() if v is not None}


def blas_report(run: Callable[[dict], dict | None] | None = None) -> dict:
    """The BLAS NumPy loads, as threadpoolctl sees it (internal_api, version, architecture,
    threading_layer), in the user's environment ("env") and with ``BLAS_FORCING`` removed
    ("native", OpenBLAS's own choice for this CPU); ``forcing``: which of KERNEL_VARIABLES are
    set; ``older_kernel``: a forcing variable makes OpenBLAS pick another kernel than its own.
    Each probe is a fresh ``python`` (OpenBLAS picks its kernel once, when it is loaded)."""
    run = run or _blas_info_child
    env = foreign_environment()
    native_env = {k: v for k, v in env.items() if k not in BLAS_FORCING}
    out: dict = {"forcing": {k: env[k] for k in KERNEL_VARIABLES if env.get(k)}}
    out["env"] = run(env)
    out["native"] = run(native_env) if any(k in env for k in BLAS_FORCING) else out["env"]
    out["older_kernel"] = bool(
        out["env"] and out["native"] and any(k in env for k in BLAS_FORCING)
        and out["env"].get("architecture") != out["native"].get("architecture"))
    return out


def _blas_info_child(env: dict) -> dict | None:
    code = ("import json, numpy; from threadpoolctl import threadpool_info; "
            "print(json.dumps([i for i in threadpool_info() if i.get('user_api') == 'blas']))")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=False)
    try:
        infos = json.loads(out.stdout.strip().splitlines()[-1])
    except (IndexError, ValueError):
        return None
    keys = ("internal_api", "version", "architecture", "threading_layer", "num_threads")
    return {k: infos[0].get(k) for k in keys} if infos else None


def _start_workers(settings: BenchSettings, result: BenchResult) -> list[_Worker]:
    workers: list[_Worker] = []
    for impl in settings.impls:
        # JAX sizes its thread pool once, at start-up: one process per thread count
        for n in (settings.threads if impl == "jax" else (None,)):
            w = _Worker(impl, settings, n)
            if "skip" in w.hello:
                result.skipped[impl] = w.hello["skip"]
                w.close()
                break
            result.machine.setdefault("versions", {})[impl] = w.hello.get("version")
            if w.hello.get("note"):
                result.notes.append(w.hello["note"])
            workers.append(w)
    return workers


def run_bench(settings: BenchSettings,
              progress: Callable[..., None] = lambda *a, **k: None) -> BenchResult:
    """Run the benchmark described by ``settings``; see the module docstring."""
    settings.validate()
    result = BenchResult(settings, machine=_machine())
    result.blas = blas_report()
    configs = [(B, n) for B in settings.batches for n in settings.threads]
    workers: list[_Worker] = []
    done = 0
    try:
        workers = _start_workers(settings, result)
        per_round = sum(1 for B, n in configs for w in workers if w.serves(n)) + (
            len(settings.threads) if any(w.impl == "sgemm" for w in workers) else 0)
        total = per_round * (settings.rounds + 1) + (
            settings.first_step_runs + 1 if "glorot" in settings.impls and
            settings.first_step_runs else 0)
        # round 0 warms up: JIT compile or cache load, buffers, allocator; batch 0 is the
        # sgemm worker's peak (one large product), once per thread count and round
        roof = [(0, n) for n in settings.threads] if "sgemm" in settings.impls else []
        last = None
        for r in range(settings.rounds + 1):
            k = r % len(workers) if workers else 0
            order = workers[k:] + workers[:k]
            for B, n in configs + roof:
                for w in order:
                    if not w.serves(n) or (B == 0 and w.impl != "sgemm"):
                        continue
                    secs = min(0.2, settings.seconds) if r == 0 else settings.seconds
                    if w is not last:
                        time.sleep(SETTLE)
                        last = w
                    answer, others = _measure_quietly(w, B, n, secs, settings, result,
                                                      warm_up=r == 0)
                    if r > 0:
                        key = (w.impl, B, n)
                        result.rounds.setdefault(key, []).append(answer["steps_per_s"])
                        result.cores.setdefault(key, []).append(answer["cores"])
                        result.others.setdefault(key, []).append(others)
                    done += 1
                    progress("bench", done, total, round=r, batch=B, threads=n)
            if not workers:
                break
    finally:
        for w in workers:
            w.close()
    if "glorot" in settings.impls and settings.first_step_runs:
        for i in range(settings.first_step_runs + 1):  # the first run warms the cache
            t = first_step_latency(settings)
            if i:
                result.first_step.append(t)
            done += 1
            progress("first step", done, total, seconds=t)
    end = load_average()
    if end is not None:
        result.machine["load_avg_1min_end"] = end
    return result


def _measure(w: _Worker, batch: int, threads: int, seconds: float) -> tuple[dict, float | None]:
    """One timing request, and the cores other processes used meanwhile: the machine's busy
    CPU time (/proc/stat) over the request minus the worker's own, per second of wall time
    (None without /proc/stat; resolution one tick, 10 ms, per CPU)."""
    t0, w0 = cpu_ticks(), time.perf_counter()
    answer = w.ask(batch=batch, threads=threads, seconds=seconds)
    t1, wall = cpu_ticks(), time.perf_counter() - w0
    if t0 is None or t1 is None or wall <= 0:
        return answer, None
    busy = sum((t1[c][1] - t1[c][0]) - (t0[c][1] - t0[c][0]) for c in t1 if c in t0) * TICK
    return answer, max(0.0, (busy - answer.get("cpu_s", 0.0)) / wall)


def _measure_quietly(w: _Worker, batch: int, threads: int, seconds: float,
                     settings: BenchSettings, result: BenchResult, warm_up: bool = False,
                     measure: Callable | None = None,
                     sleep: Callable[[float], None] = time.sleep
                     ) -> tuple[dict, float | None]:
    """``_measure``, repeated (at most ``settings.retries`` more times, half a second apart)
    while other processes used more than ``settings.max_others`` cores; counts the repeats in
    ``result.retried`` and returns the last measurement."""
    measure = measure or _measure
    answer, others = measure(w, batch, threads, seconds)
    if warm_up or settings.max_others is None:
        return answer, others
    for _ in range(settings.retries):
        if others is None or others <= settings.max_others:
            break
        result.retried += 1
        sleep(0.5)  # let the other process finish or move on
        answer, others = measure(w, batch, threads, seconds)
    return answer, others


def first_step_latency(settings: BenchSettings) -> float:
    """Seconds from launching a fresh Python until its first glorot training step returned."""
    cmd = [sys.executable, "-m", "glorotcli.bench", "--first-step", json.dumps(asdict(settings))]
    t0 = time.time()
    out = subprocess.run(cmd, capture_output=True, text=True, check=False,
                         env=safe_path(worker_environment("glorot", settings)))
    if out.returncode != 0:
        err = out.stderr.strip().splitlines()
        raise GlorotError(f"first-step worker failed: {err[-1] if err else out.returncode}")
    return json.loads(out.stdout.strip().splitlines()[-1])["done"] - t0
