"""Weight initialisations: the paper's standard (eq. 1, §2.3) and normalized (eq. 16, §4.2.1)
uniform laws, and two extras with the variances of He et al. 2015 ("he") and LeCun et al. 1998
("lecun"), drawn uniform too. Biases always start at 0 (§2.3). Which n eq. 1 means, and how the
first and last matrices are treated: docs/choices.md, "Networks"."""

from __future__ import annotations

import numpy as np

from glorotcli.config import INITS
from glorotcli.errors import GlorotError
from glorotcli.nn.activations import code
from glorotcli.nn.mlp import MLP


def bound(init: str, fan_in: int, fan_out: int) -> float:
    """Half-width a of U[-a, a] for a (fan_in, fan_out) matrix (a NumPy float64 scalar).

    standard   (eq. 1, §2.3):   a = 1/sqrt(fan_in)                -> fan_in Var[W] = 1/3 (eq. 15)
    normalized (eq. 16, §4.2.1): a = sqrt(6 / (fan_in + fan_out)) -> Var[W] = 2/(fan_in + fan_out)
                                                                     (eq. 12)
    he:    a = sqrt(6 / fan_in)  -> Var[W] = 2/fan_in (He et al. 2015, §2.2, eq. 10; they draw
           a Gaussian, this is the uniform law of the same variance)
    lecun: a = sqrt(3 / fan_in)  -> Var[W] = 1/fan_in (LeCun et al. 1998, "Efficient BackProp",
           §4.6: std fan_in^(-1/2); uniform here)

    ``fan_in``, ``fan_out``: positive layer widths n_i, n_{i+1} (not checked here). The n of
    eq. 1 is read as the fan-in (docs/choices.md, "Eq. 1's n is the fan-in"). Raises
    GlorotError for an unknown ``init``.
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
    """A new net with layer sizes ``sizes`` (n_0 inputs, hidden widths..., classes).

    W[i] (n_i, n_{i+1}) ~ U[-a, a] with ``a = bound(init, n_i, n_{i+1})``, drawn in float64 from
    ``rng`` layer by layer from the input (the softmax layer included, with the same scheme:
    docs/choices.md, "The output layer's initialisation"), then cast to ``dtype``; b[i]
    (n_{i+1},) zeros (§2.3). Every array is C-contiguous of ``dtype`` (float32 or float64).

    Raises GlorotError for fewer than 2 sizes or a size below 1, another dtype, an unknown
    ``activation`` or ``init``.
    """
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
