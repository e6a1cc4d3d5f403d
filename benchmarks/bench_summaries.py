"""Why ``glorotcli.stats.summary`` has its own percentile and histogram engine.

Run:  python benchmarks/bench_summaries.py [--rounds R]

Times, in interleaved rounds on one thread, the summary of one layer's pooled values (300,000
tanh activations, and the 262,144-entry weight-gradient sample) by ``summary.summarize`` and by
the obvious NumPy code (``np.percentile`` + ``np.histogram`` + mean/std + saturated count), checks
that both give the same numbers, and sets the NumPy cost of the 15 summaries of one probe
measurement on the paper's 5 x 1000 tanh net beside the whole measurement's time, measured in the
same run. The engine stays while NumPy would add more than 10 % to a probe measurement.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
from threadpoolctl import threadpool_limits

from glorotcli.nn.init import init_mlp
from glorotcli.stats import probes, summary

SAT = (-0.97, 0.97)


def numpy_summary(v: np.ndarray, edges: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The same statistics with NumPy alone: (mean, std, p2, p50, p98, sat), histogram."""
    p = np.percentile(v, [2.0, 50.0, 98.0])
    counts, _ = np.histogram(v, edges)
    sat = np.count_nonzero((v < SAT[0]) | (v > SAT[1])) / v.size
    stats = np.array([v.mean(dtype=np.float64), v.std(dtype=np.float64), *p, sat])
    return stats, counts / v.size


def best_of(fn, rounds: int) -> float:
    times = []
    for _ in range(rounds):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=7)
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    edges = np.linspace(-1, 1, 201)
    net = init_mlp((1024,) + (1000,) * 5 + (9,), "tanh", "normalized", rng)
    x = rng.random((300, 1024), dtype=np.float32)
    y = rng.integers(0, 9, 300)
    probe_edges = probes.default_edges("tanh", 200, init="normalized")
    with threadpool_limits(1):
        probes.measure(net, x, y, cost="nll", lr=0.01, edges=probe_edges, threads=1)  # compile
        print(f"{'values':>8}  {'glorot ms':>9}  {'NumPy ms':>8}  ratio  same numbers")
        numpy_ms = []
        for n in (300_000, 262_144):
            v = np.tanh(rng.normal(size=n)).astype(np.float32)
            ours = summary.summarize(v, edges, SAT)
            theirs = numpy_summary(v, edges)
            same = (np.allclose(list(ours[0].values()), theirs[0], rtol=1e-6, atol=0)
                    and np.array_equal(ours[1], theirs[1]))
            t_ours = best_of(lambda v=v: summary.summarize(v, edges, SAT), args.rounds)
            t_np = best_of(lambda v=v: numpy_summary(v, edges), args.rounds)
            numpy_ms.append(t_np * 1e3)
            print(f"{n:>8,}  {t_ours * 1e3:9.2f}  {t_np * 1e3:8.2f}  {t_np / t_ours:5.0f}x  {same}")
        t_measure = best_of(lambda: probes.measure(net, x, y, cost="nll", lr=0.01,
                                                   edges=probe_edges, threads=1), args.rounds)
    extra = 15 * statistics.mean(numpy_ms)
    print(f"one probe measurement (5 x 1000, 300 probes, with gradients): {t_measure * 1e3:.0f} ms")
    print(f"NumPy summaries instead: +{extra:.0f} ms, {100 * extra / (t_measure * 1e3):.0f} % of "
          f"the measurement (keep the engine while this exceeds 10 %)")


if __name__ == "__main__":
    main()
