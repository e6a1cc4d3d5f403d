"""Make the numbers and the montage of docs/shapeset.md from the generator itself.

Run:  python scripts/shapeset_docs.py [--n 100000] [--seed 2010] [--png FILE]

Prints a markdown table of the measured class frequencies, rejection rate, budget hits and
polarity next to the original generator's numbers, and draws a montage: one column per class,
``--rows`` examples each, grey as stored (0 black, 255 white).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from glorotcli.data import shapeset as S

ORIGINAL = {  # docs/shapeset.md, measured on 20,000 images of the 2010 generator
    "class_freq": [0.170, 0.168, 0.162, 0.114, 0.111, 0.112, 0.056, 0.055, 0.052],
    "rejections": 0.93,
    "budget_hits": 0,
    "light_share": 0.498,
}


def table(n: int, seed: int) -> str:
    st = S.generator_stats(n, seed)
    se_rej = st.rejections.std() / np.sqrt(len(st.rejections))
    expected = [1 / 6] * 3 + [1 / 9] * 3 + [1 / 18] * 3
    lines = [f"Measured on {n:,} images (seed {seed}); original: 20,000 images.", "",
             "| what | expected | original (2010) | this generator |", "|---|---|---|---|"]
    for c, name in enumerate(S.CLASS_NAMES):
        lines.append(f"| class {c} ({name}) | {expected[c]:.3f} | "
                     f"{ORIGINAL['class_freq'][c]:.3f} | {st.class_freq[c]:.3f} |")
    lines += [
        f"| majority-class error | {1 - 1 / 6:.3f} | 0.830 | {1 - st.class_freq.max():.3f} |",
        f"| rejections per two-shape image | | about {ORIGINAL['rejections']} | "
        f"{st.rejections_per_two_shape_image:.3f} ± {se_rej:.3f} |",
        f"| images hitting the budget | | none | {st.budget_hits} |",
        f"| light background share | 0.500 | {ORIGINAL['light_share']:.3f} | "
        f"{st.light_share:.3f} |",
        f"| most grey levels in one image | 3 | 3 | {st.grey_levels_max} |",
    ]
    return "\n".join(lines)


def montage(path: Path, rows: int, seed: int) -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    x, y = S.generate(4000, seed)
    fig = Figure(figsize=(9 * 1.0, rows * 1.0 + 0.6), dpi=110)
    FigureCanvasAgg(fig)
    for c, name in enumerate(S.CLASS_NAMES):
        idx = np.flatnonzero(y == c)[:rows]
        for r, i in enumerate(idx):
            ax = fig.add_subplot(rows, 9, r * 9 + c + 1)
            ax.imshow(x[i].reshape(32, 32), cmap="gray", vmin=0, vmax=255,
                      interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            if r == 0:
                ax.set_title(f"{c} {name}", fontsize=9)
    fig.suptitle(f"Shapeset-3x2, glorotcli generator (seed {seed}): {rows} examples per class",
                 fontsize=10)
    fig.subplots_adjust(left=0.01, right=0.99, bottom=0.01, top=1 - 0.5 / fig.get_figheight(),
                        wspace=0.08, hspace=0.08)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="png")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100_000, help="images for the statistics")
    ap.add_argument("--seed", type=int, default=2010)
    ap.add_argument("--png", type=Path, default=Path("docs/img/shapeset_montage.png"))
    ap.add_argument("--rows", type=int, default=6, help="examples per class in the montage")
    args = ap.parse_args()
    print(table(args.n, args.seed))
    montage(args.png, args.rows, args.seed)
    print(f"\nmontage: {args.png}")


if __name__ == "__main__":
    main()
