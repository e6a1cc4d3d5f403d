"""From stored pixels to network inputs: the one place where uint8 images become floats."""

from __future__ import annotations

import numpy as np

from glorotcli.config import INPUT_SCALES
from glorotcli.errors import GlorotError


def scale_inputs(x: np.ndarray, dtype, input_scale: str) -> np.ndarray:
    """uint8 pixels to floats of ``dtype``.

    ``x``: uint8 array of any shape (pixels 0-255; not checked: other values are scaled by the
    same formula). ``dtype``: a NumPy scalar type, ``np.float32`` or ``np.float64`` (called as
    ``dtype(255)``, so a ``np.dtype`` instance does not work). ``input_scale`` "0,1" gives
    ``x / 255`` in [0, 1] (the default), "-1,1" gives ``2 x / 255 - 1`` in [-1, 1]. The paper
    states no preprocessing (§2.1, §2.2): both are our choice (docs/choices.md, "Pixel
    scaling"). Returns a new array of the same shape and of ``dtype``. Raises ``GlorotError``
    for any other ``input_scale``.
    """
    if input_scale not in INPUT_SCALES:
        raise GlorotError(f"--input-scale must be one of {', '.join(INPUT_SCALES)}, got "
                          f"{input_scale!r}")
    xf = x.astype(dtype)
    if input_scale == "0,1":
        xf /= dtype(255)
    else:
        xf *= dtype(2.0 / 255.0)
        xf -= dtype(1)
    return xf
