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
