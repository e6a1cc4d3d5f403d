"""Cost of one probe measurement (target P6: <= 30 ms without gradients, <= 60 ms with).

Run:  python benchmarks/bench_probes.py [--rounds R] [--threads N] [--jacobian N] [--cpu-time]

On the paper's net (1024-1000x5-9, tanh, standard init, float32) and 300 probes in [0, 1], on
``--threads`` BLAS threads (default 1), times in interleaved rounds: ``measure`` with gradients,
``measure`` without, and two references measured in the same run: a plain NumPy forward pass over
the same 300 probes (``np.tanh(z @ W + b)`` layer by layer), and the matrix products a measurement
with gradients cannot avoid (that forward pass plus the back-propagation products ``g @ W.T``
through the hidden layers: 5.4 GFLOP, the floor of the P6 target). Prints the best and median
round of each and the ratios to both references. ``--jacobian N`` also times
``jacobian_singular_values`` on N probes (about 0.1 s per example per layer pair; 20 examples take
several seconds). ``--cpu-time`` uses process CPU time instead of wall time (steadier on a shared
machine).
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
from threadpoolctl import threadpool_limits

from glorotcli.nn.init import init_mlp
from glorotcli.stats import probes as P
from glorotcli.stats.jacobian import jacobian_singular_values


def numpy_forward(net, x):
    """The reference: a plain NumPy forward pass, softmax included."""
    z = x
    for W, b in zip(net.W[:-1], net.b[:-1], strict=True):
        z = np.tanh(z @ W + b)
    s = z @ net.W[-1] + net.b[-1]
    e = np.exp(s - s.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def required_products(net, x, y):
    """The second reference: the forward pass and the back-propagation products, nothing else."""
    p = numpy_forward(net, x)
    g = p.copy()
    g[np.arange(len(y)), y] -= 1
    for W in net.W[:0:-1]:
        g = g @ W.T
    return g


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--threads", type=int, default=1, help="BLAS threads (default 1)")
    ap.add_argument("--jacobian", type=int, default=0, metavar="N",
                    help="also time jacobian_singular_values on N probes")
    ap.add_argument("--cpu-time", action="store_true", help="time CPU, not wall clock")
    args = ap.parse_args()
    clock = time.process_time if args.cpu_time else time.perf_counter

    rng = np.random.default_rng(0)
    net = init_mlp((1024,) + (1000,) * 5 + (9,), "tanh", "standard", rng, np.float32)
    x = rng.random((300, 1024), dtype=np.float32)
    y = rng.integers(0, 9, 300)
    edges = P.default_edges("tanh", init="standard")
    jobs = {
        "numpy forward (reference)": lambda: numpy_forward(net, x),
        "forward + backprop products": lambda: required_products(net, x, y),
        "measure, no gradients": lambda: P.measure(net, x, y, cost="nll", lr=0.01,
                                                   edges=edges, gradients=False,
                                                   threads=args.threads),
        "measure, all statistics": lambda: P.measure(net, x, y, cost="nll", lr=0.01,
                                                     edges=edges, threads=args.threads),
    }
    times = {k: [] for k in jobs}
    with threadpool_limits(args.threads):
        for f in jobs.values():  # warm up: JIT cache, BLAS buffers
            f()
        for _ in range(args.rounds):
            for name, f in jobs.items():
                t = clock()
                f()
                times[name].append(clock() - t)
        ref = min(times["numpy forward (reference)"])
        floor = min(times["forward + backprop products"])
        print(f"one probe measurement: 1024-1000x5-9 tanh float32, 300 probes, "
              f"{args.threads} thread(s), "
              f"{args.rounds} interleaved rounds ({'CPU' if args.cpu_time else 'wall'} time)")
        for name, ts in times.items():
            print(f"  {name:28s} best {min(ts) * 1e3:7.1f} ms  median "
                  f"{statistics.median(ts) * 1e3:7.1f} ms  = {min(ts) / ref:4.2f} x forward, "
                  f"{min(ts) / floor:4.2f} x products")
        if args.jacobian:
            t = clock()
            jacobian_singular_values(net, x, n_examples=args.jacobian, threads=args.threads)
            dt = clock() - t
            print(f"  jacobian_singular_values, {args.jacobian} probes x 4 layer pairs: "
                  f"{dt:.2f} s ({dt / args.jacobian / 4 * 1e3:.0f} ms per matrix)")


if __name__ == "__main__":
    main()
