"""A labelled grid of sample images from a dataset file (``glorot inspect --montage``).

Drawn with matplotlib's object API on an Agg canvas (no pyplot, no global backend switch).
Single-channel images are drawn with their stored greys, 0 black and 255 white (so Shapeset's
two polarities show as generated, and MNIST digits as white ink on black); three-channel images
are drawn in colour as stored. Each tile is titled with its class name; the figure title names
the file, the split and the sample.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np

from glorotcli.data.store import read_dataset
from glorotcli.errors import GlorotError
from glorotcli.fileio import atomic_output, check_output_path


def pick_examples(n: int, count: int, seed: int, y: np.ndarray) -> np.ndarray:
    """``min(count, n)`` distinct indices into 0..n-1 (int64), drawn without replacement by
    ``numpy.random.default_rng(seed)``, ordered by class ``y[idx]`` then index. ``y``: (n,)
    labels."""
    rng = np.random.default_rng(seed)
    idx = rng.choice(n, size=min(count, n), replace=False)
    return idx[np.lexsort((idx, y[idx]))]


def draw_montage(images: np.ndarray, labels: list[str], title: str, out: Path) -> None:
    """Draw ``images`` (K, H, W, C) uint8 in a grid, tile k titled ``labels[k]``, as PNG ``out``
    (written directly; ``montage`` passes a temporary name). One channel: greys 0 black to 255
    white; three: colour as stored. Up to 100 tiles 10 a row, more in a square grid."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    k = len(images)
    cols = min(k, 10) if k <= 100 else math.ceil(math.sqrt(k))
    rows = math.ceil(k / cols)
    fig = Figure(figsize=(max(cols * 1.0, 4.0), rows * 1.15 + 0.7), dpi=100)
    FigureCanvasAgg(fig)
    grey = images.shape[-1] == 1
    for i in range(rows * cols):
        ax = fig.add_subplot(rows, cols, i + 1)
        if i >= k:
            ax.set_axis_off()
            continue
        ax.set_xticks([])
        ax.set_yticks([])
        for spine in ax.spines.values():
            spine.set_color("0.75")
        if grey:
            ax.imshow(images[i, :, :, 0], cmap="gray", vmin=0, vmax=255,
                      interpolation="nearest")
        else:
            ax.imshow(images[i], interpolation="nearest")
        ax.set_title(labels[i], fontsize=8, pad=2)
    # Title and top margin in inches, not figure fractions, so that a tall grid (--count
    # above 100) keeps its title clear of the first row's labels.
    h = fig.get_figheight()
    fig.suptitle(title, fontsize=10, y=1 - 0.08 / h, va="top")
    fig.subplots_adjust(left=0.02, right=0.98, bottom=0.02, top=1 - 0.6 / h,
                        wspace=0.1, hspace=0.35)
    fig.savefig(out, format="png")


def montage(
    dataset: str | os.PathLike,
    out: str | os.PathLike,
    *,
    split: str | None = None,
    count: int = 50,
    seed: int = 0,
    force: bool = False,
) -> Path:
    """Draw ``count`` examples of ``split`` (default: train, else the first split present) of a
    dataset file as a labelled grid into the PNG ``out``, written atomically; return ``out``.
    The examples are ``pick_examples(N, count, seed, y)``: the same ``seed`` draws the same
    ones (a grid of samples, like the paper's Fig. 1).

    Raises GlorotError for an ``out`` not ending in .png, ``count`` < 1, ``seed`` < 0, an
    existing ``out`` without ``force`` or an unwritable folder, a dataset file that
    ``read_dataset`` refuses or that lacks ``split``, or an empty split.
    """
    out = Path(out)
    if out.suffix.lower() != ".png":
        raise GlorotError(f"--montage {out}: expected a file name ending in .png")
    if count < 1:
        raise GlorotError(f"--count must be 1 or more, got {count}")
    if seed < 0:
        raise GlorotError(f"--seed must be 0 or more, got {seed}")
    check_output_path(out, force)
    if split is None:
        present = read_dataset(dataset, splits=()).present  # validates, loads no pixels
        split = "train" if "train" in present else present[0]
    ds = read_dataset(dataset, splits=(split,))
    data = ds.splits[split]
    if len(data) == 0:
        raise GlorotError(f"{dataset}: the {split} split is empty, nothing to draw")
    idx = pick_examples(len(data), count, seed, data.y)
    images = data.x[idx].reshape(len(idx), *ds.image_shape)
    labels = [ds.class_names[int(c)] for c in data.y[idx]]
    made = f", made with seed {ds.params['seed']}" if "seed" in ds.params else ""
    title = (f"{Path(dataset).name}: {split} split{made}; {len(idx)} of {len(data):,} "
             f"images ({ds.kind}), chosen with --seed {seed}")
    with atomic_output(out, force=force) as tmp:
        draw_montage(images, labels, title, tmp)
    return out
