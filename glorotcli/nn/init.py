"""Weight initialisations (paper §4.2 and eq. 1, 16). Biases always start at 0."""

from __future__ import annotations

import numpy as np

from glorotcli.config import INITS
from glorotcli.errors import GlorotError
from glorotcli.nn.activations import code
from glorotcli.nn.mlp import MLP


def bound(init: str, fan_in: int, fan_out: int) -> float:
    """Half-width a of U[-a, a] for each scheme.

    standard   (eq. 1):  a = 1/sqrt(fan_in)                 -> n Var[W] = 1/3
    normalized (eq. 16): a = sqrt(6 / (fan_in + fan_out))   -> Var[W] = 2/(fan_in + fan_out)
    he:                  a = sqrt(6 / fan_in)               -> Var[W] = 2/fan_in
    lecun:               a = sqrt(3 / fan_in)               -> Var[W] = 1/fan_in
    """
    if init == "standard":
        return 1.0 / np.sqrt(fan_in)
    if init == "normalized":
        return np.sqrt(6.0 / (fan_in + fan_out))
    if init == "he":
        return np.sqrt(6.0 / fan_in)
    if init == "lecun":
        return np.sqrt(3.0 / fan_in)
    raise GlorotError(f"init must be one of {', '.join(INITS)}, got {init!r}")


def init_mlp(sizes: tuple[int, ...], activation: str, init: str, rng: np.random.Generator,
             dtype=np.float32) -> MLP:
    """A new net with layer sizes ``sizes`` (input, hidden..., classes): W[i] ~ U[-a, a] with
    ``a = bound(init, fan_in, fan_out)``, drawn in float64 from ``rng`` layer by layer from the
    input, then cast to ``dtype``; biases 0."""
    sizes = tuple(int(n) for n in sizes)
    if len(sizes) < 2 or min(sizes) < 1:
        raise GlorotError(f"layer sizes must be at least (inputs, classes), all >= 1, got {sizes}")
    if np.dtype(dtype) not in (np.float32, np.float64):
        raise GlorotError(f"dtype must be float32 or float64, got {np.dtype(dtype)}")
    code(activation)  # validates the name
    W, b = [], []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:], strict=False):
        a = bound(init, fan_in, fan_out)
        W.append(np.ascontiguousarray(rng.uniform(-a, a, size=(fan_in, fan_out)), dtype=dtype))
        b.append(np.zeros(fan_out, dtype=dtype))
    return MLP(sizes, activation, W, b)
