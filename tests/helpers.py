"""Helpers shared by several test modules (fixtures live in conftest.py)."""

from __future__ import annotations

import numpy as np

from glorotcli.data.store import write_dataset


def make_data(path, n_train=400, d=64, k=3, seed=0, contrast=120):
    """A small learnable dataset: class c brightens every third pixel starting at c by
    ``contrast`` over noise in [0, 80) (lower contrast: harder)."""
    rng = np.random.default_rng(seed)

    def split(n):
        y = rng.integers(0, k, n).astype(np.uint8)
        x = rng.integers(0, 80, (n, d))
        x = x + contrast * (np.arange(d)[None, :] % k == y[:, None])
        return x.astype(np.uint8), y

    side = int(np.sqrt(d))
    return write_dataset(path, kind="mnist", image_shape=(side, side, 1),
                         class_names=[f"c{i}" for i in range(k)],
                         splits={"train": split(n_train), "valid": split(100),
                                 "test": split(100)})


def checkpoint_arrays(path) -> list[np.ndarray]:
    """The resume point's W0, W1, ..., b0, b1, ... of a run file (its active slot)."""
    from glorotcli.stats.runlog import read_checkpoint

    ck = read_checkpoint(path)
    return [*ck.W, *ck.b]


def drawn(fig, gid: str, panel: int | None = None):
    """The data a matplotlib artist of ``fig`` draws, found by its ``gid`` (in axes ``panel``
    when given; glorot's figures tag every data artist): (x, y) of a line, or for error bars
    (x (K,), bar ends (K, 2)). Fails unless exactly one artist has that gid."""
    axes = fig.axes if panel is None else [fig.axes[panel]]
    found = [a for ax in axes for a in ax.get_children() if a.get_gid() == gid]
    assert len(found) == 1, f"{len(found)} artists with gid {gid!r}"
    a = found[0]
    if hasattr(a, "get_xdata"):
        return np.asarray(a.get_xdata(), float), np.asarray(a.get_ydata(), float)
    segs = a.get_segments()
    return (np.array([sg[0][0] for sg in segs]),
            np.array([[sg[0][1], sg[1][1]] for sg in segs]))
