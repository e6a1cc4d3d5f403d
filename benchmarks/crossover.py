"""Measure the batch size where the BLAS path overtakes the fused Numba kernels.

    python benchmarks/crossover.py [--threads 1,2] [--batches 16,24,32,48,64,100] [--rounds 3]
        [--cpu-time]

For every thread count and batch size, times ``Trainer(path="fused")`` and ``Trainer(path="blas")``
on the paper's net (1024-1000x5-9, tanh, NLL, float32) in one process, alternating the two paths
round by round, and prints the median steps/s of each and their ratio. ``CROSSOVER`` in
glorotcli/nn/mlp.py is the largest batch size where fused still wins (docs/performance.md).
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from glorotcli.nn.init import init_mlp
from glorotcli.nn.mlp import Trainer


def steps_per_s(trainer, batches, seconds, clock=time.perf_counter):
    for i in range(2):
        trainer.step(*batches[i], 1e-3)
    n, t0 = 0, clock()
    while clock() - t0 < seconds:
        trainer.step(*batches[n % len(batches)], 1e-3)
        n += 1
    return n / (clock() - t0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--batches", default="16,24,32,48,64,100")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=0.7)
    ap.add_argument("--cpu-time", action="store_true",
                    help="count this thread's CPU time, not wall time (1 thread only: less "
                         "sensitive to other processes on a shared machine)")
    args = ap.parse_args()
    net = init_mlp((1024, *[1000] * 5, 9), "tanh", "normalized", np.random.default_rng(0),
                   np.float32)
    rng = np.random.default_rng(1)
    print(f"{'thr':>3} {'batch':>5} {'fused':>8} {'blas':>8} {'fused/blas':>10}")
    for threads in map(int, args.threads.split(",")):
        for B in map(int, args.batches.split(",")):
            batches = [(rng.random((B, 1024), dtype=np.float32), rng.integers(0, 9, B))
                       for _ in range(8)]
            runs = {"fused": [], "blas": []}
            for r in range(args.rounds):
                for path in (("fused", "blas") if r % 2 == 0 else ("blas", "fused")):
                    tr = Trainer(net, "nll", threads, path)
                    clock = time.thread_time if args.cpu_time else time.perf_counter
                    runs[path].append(steps_per_s(tr, batches, args.seconds, clock))
            f, b = statistics.median(runs["fused"]), statistics.median(runs["blas"])
            print(f"{threads:>3} {B:>5} {f:8.1f} {b:8.1f} {f / b:10.2f}", flush=True)


if __name__ == "__main__":
    main()
