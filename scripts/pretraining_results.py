"""The pre-training results of docs/reproduction.md (issue 15), from run files on disk.

Run:  python scripts/pretraining_results.py RUNS_DIR [--supervised DIR ...] [--out-json F]
                                            [--pair PLAIN PRETRAINED --figure PNG]

RUNS_DIR holds the pre-training files (``pre-*.h5``) and the fine-tuned runs (``*-pre.h5``, as
``glorot train --init-from`` wrote them); ``--supervised`` folders hold the plain runs of the
same networks (sweep folders: ``online-sigmoid-standard-d4-w1000-lr0.1.h5``...). For every
network (activation, init, depth, data), the run with the lowest best validation error is
selected among its rates (ties: the lower final validation error, then the smaller rate), as
``glorot sweep`` does. Prints and writes (``--out-json``) a summary: each pre-training's
held-out reconstruction cost per layer before and after, each selected run's errors, and for
``--pair`` (two runs of one network, without and with pre-training) the activations'
statistics over training; ``--figure`` draws every layer's mean and the top layer's 98th
percentile for the pair side by side (the paper's Fig. 2 and its claim about pre-trained sigmoid
nets, §3.1). Prints the selected runs' paths, one per line after the summary, for
``glorot report ... --png`` (Fig. 11).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from glorotcli.report import series
from glorotcli.stats.runlog import read_run, run_info
from glorotcli.stats.runlog.pretrained import read_pretrain


def _network(run) -> tuple:
    c = series.config(run)
    return (series.run_label(run, with_depth=True), c["data"])


def select(paths: list[Path]) -> dict[tuple, dict]:
    """Per network: the selected run's summary (lowest best validation error, then the smaller
    rate) and every candidate's rate and best validation error."""
    nets: dict[tuple, list[dict]] = {}
    for p in paths:
        run = read_run(p)
        info = run_info(p)
        if info["status"] != "finished" or info.get("best_valid_error") is None:
            continue
        nets.setdefault(_network(run), []).append({
            "file": str(p), "lr": run.config["lr"], "steps": info["last_step"],
            "best_valid_error": info["best_valid_error"],
            "best_valid_step": info["best_valid_step"],
            "test_error_at_best_valid": info["test_error_at_best_valid"],
            "final_valid_error": info["last_valid_error"],
            "final_test_error": info["last_test_error"]})
    out = {}
    for key, cands in nets.items():
        best = min(cands, key=lambda c: (c["best_valid_error"], c["final_valid_error"],
                                         c["lr"]))
        out[key] = {**best, "candidates": {str(c["lr"]): c["best_valid_error"] for c in cands}}
    return out


def layer_stats(path: str) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Probe steps (M,) and the activations' statistics (M, L) of a run file."""
    run = read_run(path)
    return run.layer_step, run.layers["act"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("runs", type=Path)
    ap.add_argument("--supervised", type=Path, action="append", default=[])
    ap.add_argument("--out-json", type=Path)
    ap.add_argument("--pair", nargs=2, metavar=("PLAIN", "PRETRAINED"))
    ap.add_argument("--figure", type=Path)
    args = ap.parse_args()

    pre_files = sorted(args.runs.glob("pre-*.h5"))
    pretrainings = {}
    for p in pre_files:
        d = read_pretrain(p)
        pretrainings[p.name] = {
            "config": d.config, "status": d.status,
            "wall_seconds": float(d.log["wall_time"][-1]),
            "held_out_cost_first": [float(d.layer_log(k)["valid_cost"][0])
                                    for k in range(1, d.depth + 1)],
            "held_out_cost_last": [float(d.layer_log(k)["valid_cost"][-1])
                                   for k in range(1, d.depth + 1)]}
    fine = select(sorted(args.runs.glob("*-pre.h5")))
    plain = select([p for folder in args.supervised for p in sorted(folder.glob("online-*.h5"))])
    summary = {"pretrainings": pretrainings,
               "selected": {f"{k[0]} ({k[1]})": v for k, v in {**plain, **fine}.items()}}

    # one network without and with pre-training: every layer's mean activation
    pair = dict(zip(("without", "with"), args.pair or (), strict=True))
    top = {}
    for name, path in pair.items():
        steps, act = layer_stats(path)
        top[name] = {"file": path, "steps": steps.tolist(),
                     **{f"{s}_per_layer": act[s].round(4).tolist()
                        for s in ("mean", "std", "p98", "sat")},
                     "top_layer_last": {s: float(act[s][-1, -1])
                                        for s in ("mean", "std", "p2", "p50", "p98", "sat")}}
    summary["activations_without_and_with_pretraining"] = top
    text = json.dumps(summary, indent=1, default=float)
    print(text)
    if args.out_json:
        args.out_json.write_text(text + "\n")
    if args.figure and len(pair) == 2:
        draw(pair, args.figure)
    for v in {**plain, **fine}.values():
        print(v["file"])


def draw(pair: dict[str, str], png: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8), sharey=True)
    for ax, name in zip(axes, ("without", "with"), strict=True):
        steps, act = layer_stats(pair[name])
        mean = act["mean"]
        x = np.maximum(steps, 1)
        for j in range(mean.shape[1]):
            ax.plot(x, mean[:, j], marker="o", ms=3, lw=1.4, color=f"C{j}",
                    label=f"Layer {j + 1} mean")
        top = mean.shape[1] - 1
        ax.plot(x, act["p98"][:, top], ls="--", lw=1.2, color=f"C{top}",
                label=f"Layer {top + 1} 98th percentile")
        ax.set_xscale("log")
        ax.set_xlabel("mini-batch updates (log scale; step 0 drawn at 1)")
        ax.set_title(f"{series.run_label(read_run(pair[name]), with_depth=True)}, lr "
                     f"{read_run(pair[name]).config['lr']:g}", fontsize=10)
        ax.set_ylim(0, 1)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("activation (300 probe images)")
    axes[1].legend(fontsize=7, loc="center left")
    names = ", ".join(Path(p).name for p in pair.values())
    fig.text(0.01, 0.01, f"source: {names}; online Shapeset-3x2, standard init, seed 0",
             fontsize=7, color="0.35")
    fig.tight_layout(rect=(0, 0.04, 1, 1))
    fig.savefig(png, dpi=110)


if __name__ == "__main__":
    main()
