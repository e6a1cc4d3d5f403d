"""From stored pixels to network inputs: the one place where uint8 images become floats."""

from __future__ import annotations

import numpy as np

from glorotcli.config import INPUT_SCALES
from glorotcli.errors import GlorotError


def scale_inputs(x: np.ndarray, dtype, input_scale: str) -> np.ndarray:
    """uint8 pixels to floats of ``dtype``.

    ``x``: uint8 array of any shape (pixels 0-255). ``input_scale`` "0,1" gives ``x / 255`` (the
    paper's choice, §2.1 and §2.2), "-1,1" gives ``2 x / 255 - 1``. Returns a new array of the
    same shape. Raises ``GlorotError`` for any other ``input_scale``.
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
