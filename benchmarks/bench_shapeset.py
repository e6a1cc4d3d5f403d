"""Shapeset-3x2 generator throughput (target P8: >= 50,000 images/s on one thread).

Run:  python benchmarks/bench_shapeset.py [--images N] [--rounds R]

Times ``generate`` (sampling + rasterising) on 1 and 2 threads in interleaved rounds and prints
the best round of each, plus the reference measured in the same run: the plain-Python scanline
fill of tests/reference.py rendering a few hundred scenes, as a ratio.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

import reference  # noqa: E402

from glorotcli.data import shapeset as S  # noqa: E402


def scenes(n: int, seed: int) -> list[tuple[int, list[tuple[np.ndarray, int]]]]:
    """``n`` images' worth of generator geometry: (background, [(vertices, grey), ...])."""
    rng = np.random.default_rng(seed)
    state = np.random.SeedSequence(seed).generate_state(4, np.uint64)
    vx, vy, c = np.empty(20), np.empty(20), np.empty(2)
    out = []
    for _ in range(n):
        polys = []
        for _ in range(rng.integers(1, 3)):
            t = int(rng.integers(0, 3))
            nv = int(S._NV[t])
            half = 255 // (2 * nv)
            S._place(state, t, int(rng.integers(-half, half + 1)), int(rng.integers(0, 255)),
                     S._BASE, S._COS, S._SIN, vx, vy, c, S.SETTINGS)
            polys.append((np.stack([vx[:nv], vy[:nv]], axis=1), int(rng.integers(140, 256))))
        out.append((int(rng.integers(0, 115)), polys))
    return out


def time_generate(n: int, threads: int) -> float:
    t0 = time.perf_counter()
    S.generate(n, 12345, threads=threads)
    return n / (time.perf_counter() - t0)


def time_reference(sc) -> float:
    t0 = time.perf_counter()
    for bg, polys in sc:
        img = np.full((32, 32), bg, np.uint8)
        for v, grey in polys:
            reference.polygon_fill(img, v, grey)
    return len(sc) / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=200_000, help="images per timed round")
    ap.add_argument("--rounds", type=int, default=5, help="interleaved rounds")
    ap.add_argument("--reference-images", type=int, default=300)
    args = ap.parse_args()

    S.generate(2 * S.CHUNK, 0, threads=2)  # compile / load the JIT cache
    sc = scenes(args.reference_images, 1)
    best = {1: 0.0, 2: 0.0, "ref": 0.0}
    for _ in range(args.rounds):
        best[1] = max(best[1], time_generate(args.images, 1))
        best[2] = max(best[2], time_generate(args.images, 2))
        best["ref"] = max(best["ref"], time_reference(sc))
    print(f"shapeset generate, {args.images} images/round, "
          f"best of {args.rounds} interleaved rounds")
    print(f"  1 thread : {best[1]:12,.0f} images/s   (target >= 50,000: "
          f"{'PASS' if best[1] >= 50_000 else 'FAIL'})")
    print(f"  2 threads: {best[2]:12,.0f} images/s   ({best[2] / best[1]:.2f}x one thread)")
    print(f"  reference: {best['ref']:12,.0f} images/s   (tests/reference.py scanline fill only, "
          f"{args.reference_images} images)")
    print(f"  generate (1 thread, sampling + fill) / reference fill: {best[1] / best['ref']:.0f}x")


if __name__ == "__main__":
    main()
