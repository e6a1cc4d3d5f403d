"""Check the paper's claims (docs/results.md; listed in docs/choices.md) on a folder of runs.

Usage: python scripts/claims.py RUNS_DIR  (run files named as in scripts/reproduce.sh)
Prints one line per claim with the measured numbers; missing runs are skipped.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from glorotcli.config import UPDATES_PER_EPOCH_ONLINE as EPOCH
from glorotcli.stats.runlog import read_run


def load(folder: Path, name: str):
    path = folder / f"{name}.h5"
    return read_run(path) if path.exists() else None


def ratios(v: np.ndarray) -> str:
    return ", ".join(f"{b / a:.2f}" for a, b in zip(v[:-1], v[1:], strict=True))


def fmt(v) -> str:
    return ", ".join(f"{x:.3g}" for x in v)


def at_init(run, q: str, stat: str = "std") -> np.ndarray:
    return run.layers[q][stat][0]


def main(folder: Path) -> None:
    tanh, tanhN = load(folder, "tanh"), load(folder, "tanhN")
    for label, run in (("Tanh", tanh), ("Tanh N", tanhN)):
        if run is None:
            continue
        print(f"Fig. 6 {label}: activation std at init L1..L5 = {fmt(at_init(run, 'act'))}; "
              f"ratio up = {ratios(at_init(run, 'act'))}")
        print(f"Fig. 7 {label}: back-prop gradient std at init L1..L5 = "
              f"{fmt(at_init(run, 'bgrad'))}; "
              f"ratio down = {ratios(at_init(run, 'bgrad')[::-1])}")
        w = at_init(run, "wgrad")
        print(f"Fig. 8 {label}: weight-gradient std at init L1..L5 = {fmt(w)}; "
              f"max/min = {w.max() / w.min():.2f}")
        if run.jacobian:
            sv = run.jacobian["sv_mean"][0]
            print(f"§4.2.2 {label}: mean Jacobian singular value at init, pairs 1-2..4-5 = "
                  f"{fmt(sv)}; "
                  f"mean {np.mean(sv):.3f}")
        wl = run.layers["wgrad"]["std"][-1]
        print(f"Fig. 9 {label}: weight-gradient std at step {run.layer_step[-1]} L1..L5 = "
              f"{fmt(wl)}; "
              f"L1/L5 = {wl[0] / wl[-1]:.2f}")
    for label, name in (("Tanh", "tanh"), ("Tanh N", "tanhN"), ("Softsign", "softsign"),
                        ("Softsign N", "softsignN")):
        run = load(folder, name)
        if run is None:
            continue
        p98 = run.layers["act"]["p98"]
        ep = run.layer_step / EPOCH
        first = []
        for j in range(p98.shape[1]):
            hit = np.nonzero(p98[:, j] > 0.97)[0]
            first.append(f"{ep[hit[0]]:.2f}" if len(hit) else "never")
        print(f"Figs. 3 and 10 {label}: first epoch with p98 > 0.97, L1..L5 = {', '.join(first)}; "
              f"final p98 = {fmt(p98[-1])}; final std = {fmt(run.layers['act']['std'][-1])}; "
              f"final sat = {fmt(run.layers['act']['sat'][-1])}")
    for name in ("sig4", "sig4lr01"):
        run = load(folder, name)
        if run is None:
            continue
        mean = run.layers["act"]["mean"]
        ep = run.layer_step / EPOCH
        top = mean[:, -1]
        below = np.nonzero(top < 0.05)[0]
        when = f"{ep[below[0]]:.2f}" if len(below) else "never"
        print(f"Fig. 2 {name} (lr {run.config['lr']}): top-layer mean {top[0]:.3f} -> "
              f"{top[-1]:.3f}, "
              f"first < 0.05 at epoch {when}; final means L1..L4 = {fmt(mean[-1])}")
    print("Test error (last evaluation, %):")
    for name in ("sig5", "sig4", "sig4lr01", "tanh", "tanhN", "softsign", "softsignN",
                 "mnist_sigmoid", "mnist_tanh", "mnist_tanhN", "mnist_softsign",
                 "mnist_softsignN"):
        run = load(folder, name)
        if run is None:
            continue
        te = run.log["test_error"]
        te = te[np.isfinite(te)]
        va = run.log["valid_error"]
        va = va[np.isfinite(va)]
        print(f"  {name:16s} steps {int(run.log['step'][-1]):>7d}  test {100 * te[-1]:6.2f}  "
              f"best valid {100 * va.min():6.2f}  status {run.status}")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "runs"))
