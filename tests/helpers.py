"""Helpers shared by several test modules (fixtures live in conftest.py).

``make_run`` writes small run files for the report tests with the real ``RunWriter``, filling the
statistics from samples drawn per layer (tanh of a Gaussian whose std shrinks with the layer for
the standard init), so histograms and statistics agree with each other the way a real run's do,
at a tiny size.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from glorotcli.data.store import write_dataset
from glorotcli.stats.runlog import QUANTITIES, STATS, RunWriter


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


def file_contents(path, skip=()) -> dict:
    """Every dataset and attribute of a glorot HDF5 file, as arrays, but those named in ``skip``
    (timings) and the ``created`` attribute. The two checkpoint slots are compared through the
    one a resume would use (``checkpoint/NAME``): which slot holds it depends on how many
    checkpoints were written, not on what was computed."""
    import h5py

    from glorotcli.stats.runlog import CHECKPOINT_SLOTS, active_checkpoint

    out = {}
    with h5py.File(path, "r") as f:
        def visit(name, obj):
            if isinstance(obj, h5py.Dataset) and name not in skip \
                    and name.split("/")[0] not in CHECKPOINT_SLOTS:
                out[name] = obj[()]
        f.visititems(visit)
        slot = active_checkpoint(f)
        for k in f[slot]:
            if k != "state":
                out[f"checkpoint/{k}"] = f[slot][k][()]
        for k, v in f.attrs.items():
            if k != "created":
                out[f"@{k}"] = v
    return out


# ------------------------------------------------------------- run files for reports ----

DIM = 16
N_CLASSES = 9
B = 40


def edges_for(activation: str) -> dict[str, np.ndarray]:
    lo = 0.0 if activation == "sigmoid" else -1.0
    return {"act": np.linspace(lo, 1.0, B + 1), "bgrad": np.linspace(-0.2, 0.2, B + 1),
            "wgrad": np.linspace(-0.05, 0.05, B + 1)}


def _stats(values: np.ndarray, edges: np.ndarray) -> tuple[dict, np.ndarray]:
    """(stats per layer, hist (L, B)) of values (L, n)."""
    out = {s: [] for s in STATS}
    hist = []
    for v in values:
        out["mean"].append(v.mean())
        out["std"].append(v.std())
        p2, p50, p98 = np.percentile(v, [2, 50, 98])
        out["p2"].append(p2)
        out["p50"].append(p50)
        out["p98"].append(p98)
        out["sat"].append(np.mean(np.abs(v) > 0.97))
        hist.append(np.histogram(v, edges)[0] / v.size)
    return {k: np.asarray(x) for k, x in out.items()}, np.asarray(hist)


def make_run(path: Path, *, activation: str = "tanh", init: str = "standard", depth: int = 5,
             width: int = 8, kind: str = "shapeset", steps=(0, 100, 1000, 5000, 20000, 40000),
             test_errors=None, final_error: float = 0.3, layers: bool = True,
             jacobian: bool = True, status: str | None = "finished", seed: int = 0,
             majority_error: float = 0.8333, batch_size: int = 10, lr: float = 0.01,
             wgrad_scale: float = 1.0, data_path: str | None = None) -> Path:
    """Write a small finished run file and return its path. ``wgrad_scale`` multiplies the
    weight gradients' spread; ``data_path`` is recorded as the run's dataset file."""
    rng = np.random.default_rng(seed)
    sizes = (DIM,) + (width,) * depth + (N_CLASSES,)
    W = [rng.uniform(-0.5, 0.5, (a, b)).astype(np.float32)
         for a, b in zip(sizes[:-1], sizes[1:], strict=True)]
    b = [np.zeros(n, np.float32) for n in sizes[1:]]
    config = {"activation": activation, "init": init, "depth": depth, "width": width,
              "batch_size": batch_size, "lr": lr, "cost": "nll", "seed": seed,
              "online": kind == "shapeset", "data": None if kind == "shapeset" else "d.h5"}
    edges = edges_for(activation)
    w = RunWriter.create(
        path, config=config, sizes=sizes, activation=activation, init=init, seed=seed,
        dataset={"kind": kind, "n_classes": N_CLASSES, "majority_error": majority_error,
                 "path": data_path,
                 "class_names": [str(i) for i in range(N_CLASSES)]},
        input_scale="0,1", probe_x=rng.integers(0, 255, (20, DIM), dtype=np.uint8),
        probe_y=rng.integers(0, N_CLASSES, 20).astype(np.uint8), init_W=W, init_b=b,
        edges=edges if layers else None, jacobian_k=width if (jacobian and layers) else 0,
        flush_seconds=1e9)
    steps = list(steps)
    if test_errors is None:
        test_errors = np.linspace(0.85, final_error, len(steps))
    for k, step in enumerate(steps):
        w.log(step=step, examples_seen=step * batch_size, train_loss=2.0 / (1 + k),
              valid_error=test_errors[k] + 0.01, test_error=test_errors[k],
              wall_time=float(k))
        if not layers:
            continue
        t = step / 40000
        factor = 0.577 if init == "standard" else 1.0
        sd = np.array([0.5 * factor ** j * (1 + 2 * t) for j in range(depth)])
        s = rng.standard_normal((depth, 2000)) * sd[:, None]
        z = 1 / (1 + np.exp(-s)) if activation == "sigmoid" else np.tanh(s)
        bg = rng.standard_normal((depth, 2000)) * (0.02 * factor ** -np.arange(depth))[::-1,
                                                                                        None]
        wg = rng.standard_normal((depth, 2000)) * 0.004 * wgrad_scale
        stats, hist = {}, {}
        for q, v in zip(QUANTITIES, (z, bg, wg), strict=True):
            stats[q], hist[q] = _stats(v, edges[q])
        w.layers(step=step, examples_seen=step * batch_size, stats=stats, hist=hist,
                 grad_ratio=np.full(depth, 1e-3), update_ratio=np.full(depth, 1e-5))
        if jacobian and step in (0, steps[-1]):
            sv = np.sort(rng.uniform(0, 1, (depth - 1, width)))[:, ::-1]
            # mean sv near the paper's 0.5 / 0.8, differing between layer pairs and over time
            target = (0.5 if init == "standard" else 0.8) * (1 + 0.05 * np.arange(depth - 1)
                                                             - 0.2 * t)
            sv *= target[:, None] / sv.mean(axis=1, keepdims=True)
            w.jacobian(step=step, sv_mean=sv.mean(axis=1), sv_std=sv.std(axis=1), sv=sv)
    w.close(status)
    return path
