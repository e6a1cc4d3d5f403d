"""The denoising auto-encoder step beside the supervised step of the same layer, in one run.

Run:  python benchmarks/bench_dae.py [--rounds R] [--threads N] [--sizes 1024x1000,1000x1000]

For each layer size n_in x n_hid, on minibatches of 10 in float32, times in interleaved rounds:

- ``dae step``: one SGD step of ``glorotcli.nn.dae.DAELayer`` on inputs already corrupted
  (four BLAS products of the batch with W: x~ W, h W^T, dL/da W, and [x~; dL/da]^T [dL/ds; h]
  for the weight gradient, then the update);
- ``dae update``: what pre-training does per update on top of that: masking noise
  (``dae.corrupt``) and the step;
- ``supervised``: one SGD step of ``glorotcli.nn.mlp.Trainer`` on the net n_in -> n_hid -> 10
  (the layer plus a 10-class softmax), on the path training takes at this batch size (the fused
  Numba kernels), and on the BLAS path (``path="blas"``) for reference.

and prints the median times and the ratio dae update / supervised (fused). The auto-encoder
reads W four times and writes and reads a gradient; the fused supervised step passes over W
twice (forward; back-propagation with the update): a ratio of 2-3 is what the memory traffic
predicts. (A fused Numba variant of the auto-encoder step, three passes over W, measured no
faster than these BLAS products: docs/pretraining.md, "Speed".)
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from glorotcli.environment import prepare
from glorotcli.nn import dae, mlp
from glorotcli.nn.init import init_mlp
from glorotcli.nn.threads import use_threads

B = 10


def per_call(fn, n: int) -> float:
    t = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - t) / n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--calls", type=int, default=100, help="steps per timing")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--sizes", default="1024x1000,1000x1000")
    args = ap.parse_args()
    prepare()
    rng = np.random.default_rng(0)
    print(f"minibatch {B}, float32, {args.threads} thread(s), median of {args.rounds} rounds "
          f"of {args.calls} steps; ms per step")
    print(f"{'layer':>11}  {'dae step':>8}  {'dae update':>10}  {'supervised':>10}  "
          f"{'sup. BLAS':>9}  ratio dae update / supervised")
    for size in args.sizes.split(","):
        n_in, n_hid = (int(v) for v in size.split("x"))
        med = time_layer(n_in, n_hid, args, rng)
        print(f"{size:>11}  {med['dae step']:8.3f}  {med['dae update']:10.3f}  "
              f"{med['supervised']:10.3f}  {med['sup. BLAS']:9.3f}  "
              f"{med['dae update'] / med['supervised']:.2f}")

def time_layer(n_in: int, n_hid: int, args, rng) -> dict[str, float]:
    """Median ms per step of each job for one layer size."""
    net = init_mlp((n_in, n_hid, 10), "sigmoid", "standard", rng)
    fused = mlp.Trainer(net.copy(), "nll", args.threads)
    blas = mlp.Trainer(net.copy(), "nll", args.threads, path="blas")
    W, b = net.W[0].copy(), net.b[0].copy()
    recon = dae.reconstruction_for(0.0, 1.0)
    layer = dae.DAELayer(W, b, np.zeros(n_in, np.float32), "sigmoid", recon)
    noise = np.random.default_rng(1)
    x = rng.random((B, n_in), dtype=np.float32)
    y = rng.integers(0, 10, B)
    xt = dae.corrupt(x, 0.25, noise)
    out = np.empty_like(x)
    lr = 1e-4  # small: the weights barely move over the rounds

    def dae_update() -> None:
        layer.step(x, dae.corrupt(x, 0.25, noise, out=out), lr)

    jobs = {"dae step": lambda: layer.step(x, xt, lr), "dae update": dae_update,
            "supervised": lambda: fused.step(x, y, lr),
            "sup. BLAS": lambda: blas.step(x, y, lr)}
    times: dict[str, list[float]] = {k: [] for k in jobs}
    with use_threads(args.threads, blas=args.threads):
        for fn in jobs.values():  # compile and warm up
            per_call(fn, 5)
        for _ in range(args.rounds):
            for k, fn in jobs.items():
                times[k].append(per_call(fn, args.calls))
    return {k: 1e3 * statistics.median(v) for k, v in times.items()}

if __name__ == "__main__":
    main()
