"""Training-step benchmark: glorot against plain NumPy and PyTorch eager, side by side.

Each implementation runs in its own worker process (``python -m glorotcli.bench --worker IMPL``)
that builds the same net once and answers timing requests on stdin/stdout, one JSON line each. The
parent interleaves the requests (round after round, every batch size and thread count, every
implementation in turn, the order rotated each round), so slow phases of a shared machine hit all
implementations alike; the reported figure is the median over rounds. First-step latency is the
wall time from launching a fresh ``python`` until its first training step has returned, with the
JIT cache already warm.

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

from glorotcli.environment import foreign_environment
from glorotcli.errors import GlorotError

IMPLS = ("glorot", "numpy", "torch")

#: docs/performance.md targets, as (batch, threads) -> minimum glorot/torch ratio
TARGETS = {(10, 1): 1.3, (10, 2): 1.2, (1, 1): 3.0, (100, 1): 0.75}
SPEEDUP_TARGET = 1.6  # glorot, B=10: 2 threads / 1 thread
FIRST_STEP_TARGET = 1.0  # seconds


@dataclass(frozen=True)
class BenchSettings:
    """What to measure. The net is the paper's: 1024-1000xDEPTH-9, tanh, softmax + NLL."""

    batches: tuple[int, ...] = (1, 10, 100)
    threads: tuple[int, ...] = (1, 2)
    impls: tuple[str, ...] = IMPLS
    rounds: int = 3
    seconds: float = 1.0
    first_step_runs: int = 3
    depth: int = 5
    width: int = 1000
    activation: str = "tanh"
    dtype: str = "float32"
    lr: float = 1e-3

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
            raise GlorotError(f"--impl must name some of {', '.join(IMPLS)}, got {bad or '()'}")
        if self.rounds < 1:
            raise GlorotError(f"--rounds must be at least 1, got {self.rounds}")
        if not 0.05 <= self.seconds <= 600:
            raise GlorotError(f"--seconds must be between 0.05 and 600, got {self.seconds}")
        if self.first_step_runs < 0:
            raise GlorotError(f"--first-step-runs must be >= 0, got {self.first_step_runs}")
        if self.dtype not in ("float32", "float64"):
            raise GlorotError(f"--dtype must be float32 or float64, got {self.dtype!r}")
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
    first_step: list[float] = field(default_factory=list)
    skipped: dict = field(default_factory=dict)  # impl -> reason
    machine: dict = field(default_factory=dict)

    def median(self, impl: str, batch: int, threads: int) -> float | None:
        runs = self.rounds.get((impl, batch, threads))
        return statistics.median(runs) if runs else None

    def rows(self) -> list[dict]:
        """One row per (batch, threads): median steps/s and ratios glorot/reference."""
        out = []
        for B in self.settings.batches:
            for n in self.settings.threads:
                row = {"batch": B, "threads": n}
                for impl in self.settings.impls:
                    row[impl] = self.median(impl, B, n)
                for ref in ("numpy", "torch"):
                    g, r = row.get("glorot"), row.get(ref)
                    row[f"x_{ref}"] = g / r if g and r else None
                target = TARGETS.get((B, n)) if self.settings.is_papers_net else None
                row["target_x_torch"] = target
                row["met"] = (None if target is None or row["x_torch"] is None
                              else row["x_torch"] >= target)
                out.append(row)
        return out

    def speedup(self, batch: int = 10) -> float | None:
        one, two = self.median("glorot", batch, 1), self.median("glorot", batch, 2)
        return two / one if one and two else None

    def to_json(self) -> dict:
        fs = self.first_step
        return {
            "settings": asdict(self.settings),
            "machine": self.machine,
            "rows": self.rows(),
            "rounds": [{"impl": k[0], "batch": k[1], "threads": k[2], "steps_per_s": v}
                       for k, v in self.rounds.items()],
            "speedup_2_threads_b10": self.speedup(),
            "first_step_s": {"runs": fs, "median": statistics.median(fs) if fs else None,
                             "target": FIRST_STEP_TARGET},
            "skipped": self.skipped,
        }


def format_result(result: BenchResult) -> str:
    """The plain-text table ``glorot bench`` prints."""
    st = result.settings
    impls = st.impls
    lines = [f"net {'-'.join(map(str, st.sizes[:2]))}x{st.depth}-{st.sizes[-1]} {st.activation}, "
             f"softmax + NLL, SGD, {st.dtype}; median steps/s over {st.rounds} interleaved "
             f"round(s) of {st.seconds:g} s, each implementation in its own process"]
    head = f"{'batch':>5} {'thr':>3} " + " ".join(f"{i:>8}" for i in impls)
    refs = [r for r in ("numpy", "torch") if r in impls and "glorot" in impls]
    head += "".join(f" {'x ' + r:>8}" for r in refs) + "  target (x torch)"
    lines += ["", head]
    for row in result.rows():
        cells = [f"{row['batch']:>5} {row['threads']:>3} "]
        cells.append(" ".join(f"{row[i]:8.1f}" if row[i] else f"{'-':>8}" for i in impls))
        cells.append("".join(f" {row['x_' + r]:8.2f}" if row["x_" + r] else f" {'-':>8}"
                             for r in refs))
        if row["target_x_torch"] is not None:
            verdict = "" if row["met"] is None else ("  met" if row["met"] else "  MISSED")
            cells.append(f"  >= {row['target_x_torch']:g}{verdict}")
        lines.append("".join(cells))
    sp = result.speedup()
    if sp is not None:
        ok = "met" if sp >= SPEEDUP_TARGET else "MISSED"
        lines.append(f"\nglorot 2-thread speed-up at batch 10: {sp:.2f}x "
                     f"(target >= {SPEEDUP_TARGET:g}: {ok})")
    if result.first_step:
        med = statistics.median(result.first_step)
        lines.append(f"first training step after process start (warm JIT cache): {med:.2f} s "
                     f"median of {len(result.first_step)} (target <= {FIRST_STEP_TARGET:g} s: "
                     f"{'met' if med <= FIRST_STEP_TARGET else 'MISSED'})")
    if not st.is_papers_net:
        lines.append("(targets apply to the paper's net in float32 only: 1024-1000x5-9 tanh)")
    for impl, why in result.skipped.items():
        lines.append(f"note: {impl} skipped: {why}")
    load = result.machine.get("load_avg_1min")
    lines.append(f"machine: {result.machine.get('cpus')} CPUs, load average {load:.2f} at start"
                 if load is not None else f"machine: {result.machine.get('cpus')} CPUs")
    return "\n".join(lines)


# ---------------------------------------------------------------- parent ----

class _Worker:
    def __init__(self, impl: str, settings: BenchSettings):
        self.impl = impl
        cmd = [sys.executable, "-m", "glorotcli.bench", "--worker", impl,
               json.dumps(asdict(settings))]
        # Every worker starts from the user's environment: the reference implementations must
        # not inherit glorot's OpenMP wait settings (the glorot worker sets its own on import).
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True, bufsize=1,
                                     env=foreign_environment())
        self.hello = self._read()

    def _read(self) -> dict:
        line = self.proc.stdout.readline()
        if not line:
            err = self.proc.stderr.read().strip().splitlines()
            raise GlorotError(f"benchmark worker {self.impl} died: "
                              f"{err[-1] if err else 'no message'}")
        return json.loads(line)

    def ask(self, **request) -> dict:
        self.proc.stdin.write(json.dumps(request) + "\n")
        self.proc.stdin.flush()
        return self._read()

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                self.proc.stdin.close()
                self.proc.wait(timeout=10)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()


def _machine() -> dict:
    import platform

    import numba
    import numpy

    info = {"cpus": os.cpu_count(), "python": platform.python_version(),
            "numpy": numpy.__version__, "numba": numba.__version__,
            "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
    try:
        info["load_avg_1min"] = os.getloadavg()[0]
    except OSError:
        pass
    return info


def run_bench(settings: BenchSettings,
              progress: Callable[..., None] = lambda *a, **k: None) -> BenchResult:
    """Run the benchmark described by ``settings``; see the module docstring."""
    settings.validate()
    result = BenchResult(settings, machine=_machine())
    configs = [(B, n) for B in settings.batches for n in settings.threads]
    total = len(configs) * len(settings.impls) * (settings.rounds + 1) + \
        (settings.first_step_runs + 1 if "glorot" in settings.impls and
         settings.first_step_runs else 0)
    done = 0
    workers: list[_Worker] = []
    try:
        for impl in settings.impls:
            w = _Worker(impl, settings)
            if "skip" in w.hello:
                result.skipped[impl] = w.hello["skip"]
                w.close()
            else:
                result.machine.setdefault("versions", {})[impl] = w.hello.get("version")
                workers.append(w)
        # round 0 warms up: JIT compile or cache load, buffers, allocator
        for r in range(settings.rounds + 1):
            order = workers[r % len(workers):] + workers[:r % len(workers)] if workers else []
            for B, n in configs:
                for w in order:
                    secs = min(0.2, settings.seconds) if r == 0 else settings.seconds
                    answer = w.ask(batch=B, threads=n, seconds=secs)
                    if r > 0:
                        result.rounds.setdefault((w.impl, B, n), []).append(
                            answer["steps_per_s"])
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
    return result


def first_step_latency(settings: BenchSettings) -> float:
    """Seconds from launching a fresh Python until its first glorot training step returned."""
    cmd = [sys.executable, "-m", "glorotcli.bench", "--first-step", json.dumps(asdict(settings))]
    t0 = time.time()
    out = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        err = out.stderr.strip().splitlines()
        raise GlorotError(f"first-step worker failed: {err[-1] if err else out.returncode}")
    return json.loads(out.stdout.strip().splitlines()[-1])["done"] - t0


# ---------------------------------------------------------------- workers ----

def _data(settings: BenchSettings, B: int, dtype, n: int = 16):
    import numpy as np

    rng = np.random.default_rng(B)
    return [(rng.random((B, settings.sizes[0])).astype(dtype),
             rng.integers(0, settings.sizes[-1], B)) for _ in range(n)]


def _glorot_impl(settings: BenchSettings):
    import numpy as np

    from glorotcli.nn.init import init_mlp
    from glorotcli.nn.mlp import Trainer

    net = init_mlp(settings.sizes, settings.activation, "normalized",
                   np.random.default_rng(0), settings.dtype)
    trainers: dict[int, Trainer] = {}

    def make(B, threads):
        tr = trainers.get(threads)
        if tr is None:
            tr = trainers[threads] = Trainer(net, "nll", threads)
        return lambda x, y: tr.step(x, y, settings.lr)

    return make, np.dtype(settings.dtype), "glorot"


def _numpy_impl(settings: BenchSettings):
    """The plain NumPy way: ``@`` for the products, fresh arrays every step."""
    import numpy as np
    from threadpoolctl import threadpool_limits

    rng = np.random.default_rng(0)
    sizes = settings.sizes
    dtype = np.dtype(settings.dtype)
    W = [rng.uniform(-a, a, (m, n)).astype(dtype)
         for m, n, a in ((m, n, np.sqrt(6 / (m + n))) for m, n in zip(sizes[:-1], sizes[1:],
                                                                         strict=False))]
    b = [np.zeros(n, dtype) for n in sizes[1:]]
    lr = dtype.type(settings.lr)
    limits: dict[int, object] = {}

    def step(x, y):
        zs = [x]
        for i in range(len(W) - 1):
            zs.append(np.tanh(zs[-1] @ W[i] + b[i]))
        s = zs[-1] @ W[-1] + b[-1]
        e = np.exp(s - s.max(axis=1, keepdims=True))
        p = e / e.sum(axis=1, keepdims=True)
        loss = -np.log(p[np.arange(len(y)), y]).mean()
        ds = p
        ds[np.arange(len(y)), y] -= 1
        ds /= len(y)
        for i in range(len(W) - 1, -1, -1):
            dW = zs[i].T @ ds
            db = ds.sum(axis=0)
            if i > 0:
                ds = (ds @ W[i].T) * (1 - zs[i] * zs[i])
            W[i] -= lr * dW
            b[i] -= lr * db
        return loss

    def make(B, threads):
        if threads not in limits:  # switch BLAS threads once per request, not per step
            limits.clear()
            limits[threads] = threadpool_limits(limits=threads, user_api="blas")
        return step

    return make, dtype, "numpy " + np.__version__


def _torch_impl(settings: BenchSettings):
    import numpy as np
    import torch

    torch.manual_seed(0)
    sizes = settings.sizes
    tdtype = torch.float32 if settings.dtype == "float32" else torch.float64
    layers = []
    for m, n in zip(sizes[:-1], sizes[1:], strict=False):
        layers += [torch.nn.Linear(m, n, dtype=tdtype), torch.nn.Tanh()]
    model = torch.nn.Sequential(*layers[:-1])
    opt = torch.optim.SGD(model.parameters(), lr=settings.lr)
    loss_fn = torch.nn.CrossEntropyLoss()
    cache: dict[int, tuple] = {}

    def step(x, y):
        xt, yt = cache[id(x)]
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(xt), yt)
        loss.backward()
        opt.step()
        return loss.item()

    def make(B, threads):
        torch.set_num_threads(threads)
        return step

    def convert(batches):
        for x, y in batches:
            cache[id(x)] = (torch.from_numpy(x), torch.from_numpy(y))
        return batches

    make.convert = convert
    return make, np.dtype(settings.dtype), f"torch {torch.__version__}"


def _worker(impl: str, settings: BenchSettings) -> None:
    try:
        make, dtype, version = {"glorot": _glorot_impl, "numpy": _numpy_impl,
                                "torch": _torch_impl}[impl](settings)
    except ImportError as exc:
        print(json.dumps({"skip": f"{impl} not installed ({exc.name})"}), flush=True)
        return
    print(json.dumps({"version": version}), flush=True)
    data: dict[int, list] = {}
    for line in sys.stdin:
        req = json.loads(line)
        B, threads, seconds = req["batch"], req["threads"], req["seconds"]
        if B not in data:
            data[B] = _data(settings, B, dtype)
            if hasattr(make, "convert"):
                make.convert(data[B])
        batches = data[B]
        step = make(B, threads)
        for i in range(3):  # settle caches and thread pools
            step(*batches[i % len(batches)])
        n = 0
        t0 = time.perf_counter()
        while True:
            step(*batches[n % len(batches)])
            n += 1
            elapsed = time.perf_counter() - t0
            if elapsed >= seconds:
                break
        print(json.dumps({"steps_per_s": n / elapsed, "steps": n}), flush=True)


def _first_step(settings: BenchSettings) -> None:
    """Child of ``first_step_latency``: import, build the net, one step, print the time."""
    import numpy as np

    from glorotcli.nn.init import init_mlp
    from glorotcli.nn.mlp import Trainer

    net = init_mlp(settings.sizes, settings.activation, "normalized",
                   np.random.default_rng(0), settings.dtype)
    x, y = _data(settings, 10, np.dtype(settings.dtype), n=1)[0]
    Trainer(net, "nll").step(x, y, settings.lr)
    print(json.dumps({"done": time.time()}), flush=True)


def _main(argv: list[str]) -> None:
    if len(argv) == 3 and argv[0] == "--worker":
        _worker(argv[1], BenchSettings(**_tuples(json.loads(argv[2]))))
    elif len(argv) == 2 and argv[0] == "--first-step":
        _first_step(BenchSettings(**_tuples(json.loads(argv[1]))))
    else:
        sys.exit("usage: python -m glorotcli.bench (--worker IMPL | --first-step) SETTINGS_JSON")


def _tuples(d: dict) -> dict:
    return {k: tuple(v) if isinstance(v, list) else v for k, v in d.items()}


if __name__ == "__main__":
    _main(sys.argv[1:])
