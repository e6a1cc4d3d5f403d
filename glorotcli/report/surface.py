"""Figure 5: the training cost as a function of two weights, cross-entropy versus quadratic.

The paper gives only "two layers, tanh units, a random input and target" (§4.1, Fig. 5). Our
choice: the scalar chain ``x -> h = tanh(W1 x) -> p = sigmoid(W2 h)`` with zero biases, on
a few seeded pairs with ``x ~ N(0, 1)`` and ``t`` in {0, 1}; the cost is the mean over the pairs
of the cross-entropy ``-t log p - (1 - t) log(1 - p)`` or of the quadratic cost ``(p - t)^2``,
evaluated on a square grid of (W1, W2), 41 x 41 on [-4, 4]^2 by default.

The plateau measure (for the paper's §4.1 claim that the cross-entropy has fewer plateaus) is
the share of grid points where the gradient norm
``|dC/d(W1, W2)|`` is below ``flat`` (default 0.01): there SGD barely moves. Gradients are
computed in closed form (chain rule), not by finite differences on the grid.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from glorotcli.errors import GlorotError
from glorotcli.fileio import atomic_output, hdf5_in_memory

FORMAT = "glorot-surface"
"""The ``format`` attribute of a surface-values HDF5 file (and the ``format`` key of
``values_info`` for a ``.npz``)."""

DEFAULT_GRID = 41
DEFAULT_LIMIT = 4.0
DEFAULT_PAIRS = 4
DEFAULT_FLAT = 0.01
_EPS = 1e-12


@dataclass
class Surface:
    """Cost surfaces on the grid ``w1`` x ``w2`` (each (G,) float64): ``cross_entropy``,
    ``quadratic`` (mean costs over the pairs, nats and squared error) and ``grad_ce``,
    ``grad_quad`` (the norms |dC/d(W1, W2)|), all (G, G) float64 indexed [i2, i1] (rows W2);
    ``x`` (P,) float64 inputs and ``t`` (P,) int64 targets in {0, 1}; ``flat`` the gradient-norm
    threshold of a plateau; ``seed`` the pairs' seed. The paper's Fig. 5 (§4.1)."""

    w1: np.ndarray
    w2: np.ndarray
    x: np.ndarray
    t: np.ndarray
    cross_entropy: np.ndarray
    quadratic: np.ndarray
    grad_ce: np.ndarray
    grad_quad: np.ndarray
    flat: float
    seed: int

    @property
    def plateau_ce(self) -> float:
        """Fraction (0..1) of the grid where the cross-entropy gradient norm is below ``flat``."""
        return float(np.mean(self.grad_ce < self.flat))

    @property
    def plateau_quad(self) -> float:
        """Fraction (0..1) of the grid where the quadratic-cost gradient norm is below
        ``flat``."""
        return float(np.mean(self.grad_quad < self.flat))

    def summary(self) -> dict:
        """JSON-ready numbers: settings, the pairs, each cost's min and max, and its plateau
        share (a fraction 0..1)."""
        return {
            "network": "x -> tanh(W1 x) -> sigmoid(W2 h), zero biases",
            "seed": self.seed,
            "pairs": [{"x": float(a), "t": int(b)} for a, b in zip(self.x, self.t, strict=True)],
            "grid": int(len(self.w1)),
            "limit": float(self.w1[-1]),
            "flat": self.flat,
            "cross_entropy": {"min": float(self.cross_entropy.min()),
                              "max": float(self.cross_entropy.max()),
                              "plateau_share": self.plateau_ce},
            "quadratic": {"min": float(self.quadratic.min()), "max": float(self.quadratic.max()),
                          "plateau_share": self.plateau_quad},
        }


def sample_pairs(n_pairs: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``n_pairs`` seeded (x, t): x (n,) float64 ~ N(0, 1), t (n,) int64 in {0, 1} (both
    classes present when n >= 2: the last target is flipped if all are equal), drawn from
    ``default_rng(SeedSequence(seed))``."""
    rng = np.random.default_rng(np.random.SeedSequence(seed))
    x = rng.standard_normal(n_pairs)
    t = rng.integers(0, 2, n_pairs)
    if n_pairs >= 2 and t.min() == t.max():
        t[-1] = 1 - t[-1]
    return x, t


def cost_surface(*, grid: int = DEFAULT_GRID, limit: float = DEFAULT_LIMIT,
                 n_pairs: int = DEFAULT_PAIRS, seed: int = 0,
                 flat: float = DEFAULT_FLAT) -> Surface:
    """Cross-entropy and quadratic cost (mean over the pairs) and their gradient norms on a
    ``grid`` x ``grid`` lattice of (W1, W2) in [-limit, limit]^2, as a ``Surface`` (the
    paper's Fig. 5 and its §4.1 claim; the network is our choice: module docstring).

    Raises GlorotError (naming the flag) for ``grid`` not an integer >= 3, ``limit`` or
    ``flat`` not positive and finite, ``n_pairs`` not an integer >= 1, or ``seed`` < 0.
    """
    if not (isinstance(grid, int | np.integer) and grid >= 3):
        raise GlorotError(f"--grid must be an integer >= 3, got {grid}")
    if not (limit > 0 and np.isfinite(limit)):
        raise GlorotError(f"--limit must be a positive number, got {limit}")
    if not (isinstance(n_pairs, int | np.integer) and n_pairs >= 1):
        raise GlorotError(f"--pairs must be an integer >= 1, got {n_pairs}")
    if not (flat > 0 and np.isfinite(flat)):
        raise GlorotError(f"--flat must be a positive number, got {flat}")
    if seed < 0:
        raise GlorotError(f"--seed must be a non-negative integer, got {seed}")
    x, t = sample_pairs(int(n_pairs), int(seed))
    w = np.linspace(-limit, limit, int(grid))
    W1, W2 = np.meshgrid(w, w)  # (G, G), rows vary W2
    W1 = W1[..., None]
    W2 = W2[..., None]
    h = np.tanh(W1 * x)                        # (G, G, P)
    s = W2 * h
    p = 1.0 / (1.0 + np.exp(-s))
    # cross-entropy via log-sigmoid for stability: -log p = log(1 + e^-s)
    ce = t * np.logaddexp(0.0, -s) + (1 - t) * np.logaddexp(0.0, s)
    quad = (p - t) ** 2
    d_ce = p - t                               # dCE/ds
    d_q = 2.0 * (p - t) * p * (1.0 - p)        # dQ/ds
    ds_dw2 = h
    ds_dw1 = W2 * (1.0 - h ** 2) * x
    n = len(x)

    def gnorm(d):
        g1 = (d * ds_dw1).sum(-1) / n
        g2 = (d * ds_dw2).sum(-1) / n
        return np.hypot(g1, g2)

    return Surface(w1=w, w2=w.copy(), x=x, t=t, cross_entropy=ce.mean(-1), quadratic=quad.mean(-1),
                   grad_ce=gnorm(d_ce), grad_quad=gnorm(d_q), flat=float(flat), seed=int(seed))


def write_values(surface: Surface, path: str | os.PathLike, *, force: bool = False) -> Path:
    """Write the grid to ``path`` atomically: ``.npz`` (NumPy) or ``.h5``/``.hdf5`` (HDF5),
    arrays ``w1`` (G,), ``w2`` (G,), ``cross_entropy``/``quadratic``/``grad_ce``/``grad_quad``
    (G, G) indexed [i2, i1], ``x``/``t`` (P,) and the settings (seed, flat, plateau shares,
    network) as attributes (0-d arrays in a ``.npz``; in HDF5 also format "glorot-surface",
    format_version 1). Returns ``Path(path)``. Raises GlorotError for another suffix, an
    existing file without ``force``, a missing or unwritable folder, or a failed write."""
    arrays = {"w1": surface.w1, "w2": surface.w2, "x": surface.x, "t": surface.t,
              "cross_entropy": surface.cross_entropy, "quadratic": surface.quadratic,
              "grad_ce": surface.grad_ce, "grad_quad": surface.grad_quad}
    meta = {"seed": surface.seed, "flat": surface.flat, "plateau_ce": surface.plateau_ce,
            "plateau_quad": surface.plateau_quad,
            "network": "x -> tanh(W1 x) -> sigmoid(W2 h), zero biases"}
    suffix = values_suffix(path)
    if suffix == ".npz":
        with atomic_output(path, force=force) as tmp, open(tmp, "wb") as f:
            np.savez(f, **arrays, **{k: np.asarray(v) for k, v in meta.items()})
    else:
        with hdf5_in_memory(path, force=force) as f:
            f.attrs["format"] = FORMAT
            f.attrs["format_version"] = 1
            for k, v in meta.items():
                f.attrs[k] = v
            for k, v in arrays.items():
                f.create_dataset(k, data=v)
    return Path(path)


def figure_suffix(path: str | os.PathLike) -> str:
    """The format of the ``-o`` figure path, from its suffix ("png" or "pdf", any case). Raises
    GlorotError for another suffix."""
    suffix = Path(path).suffix.lower()
    if suffix in (".png", ".pdf"):
        return suffix[1:]
    raise GlorotError(f"-o {path}: expected a file name ending in .png or .pdf")


def values_suffix(path: str | os.PathLike) -> str:
    """The file kind of a ``--values`` path, from its suffix (".npz", or ".h5" for .h5 and
    .hdf5, any case). Raises GlorotError for another suffix."""
    suffix = Path(path).suffix.lower()
    if suffix == ".npz":
        return ".npz"
    if suffix in (".h5", ".hdf5"):
        return ".h5"
    raise GlorotError(f"--values {path}: expected a .npz or .h5 file name")


def values_info(path: str | os.PathLike) -> dict:
    """What a ``glorot surface --values`` file holds, ``.npz`` or ``.h5``: its settings and
    the shape of each array (JSON-ready; for ``glorot inspect``). The ``.npz`` is read without
    unpickling. Raises GlorotError for a ``.npz`` that is not readable or lacks w1, w2,
    cross_entropy or quadratic, and for any other file that is not a glorot surface-values HDF5
    file (its ``format`` attribute)."""
    import zipfile

    path = Path(path)
    if path.suffix.lower() != ".npz":
        import h5py

        from glorotcli.fileio import glorot_file_format

        if glorot_file_format(path) != FORMAT:  # GlorotError for a file not glorot's
            raise GlorotError(f"{path}: not a glorot surface-values file")
        with h5py.File(path, "r") as f:
            info: dict = {"path": str(path)}
            for k, v in f.attrs.items():
                info[k] = v.tolist() if isinstance(v, np.ndarray | np.generic) else v
            info["arrays"] = {name: list(f[name].shape) for name in sorted(f)
                              if isinstance(f[name], h5py.Dataset)}
        return info
    try:
        with np.load(path, allow_pickle=False) as z:
            loaded = {name: z[name] for name in z.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        raise GlorotError(f"{path}: not a readable .npz file ({exc})") from None
    missing = sorted({"w1", "w2", "cross_entropy", "quadratic"} - set(loaded))
    if missing:
        raise GlorotError(f"{path}: not a glorot surface-values file ({', '.join(missing)} "
                          f"missing)")
    info = {"path": str(path), "format": FORMAT}
    info.update({k: v.item() for k, v in loaded.items() if v.ndim == 0})
    info["arrays"] = {k: list(v.shape) for k, v in sorted(loaded.items()) if v.ndim > 0}
    return info
