"""Slow, obvious NumPy twins of every fast function in glorot.

Tests compare the fast code with these. Keep them short and plainly correct: loops over pixels,
examples and layers are welcome here; speed is not.
"""

from __future__ import annotations

import numpy as np  # noqa: F401

# ---------------------------------------------------------------- shapeset: polygon fill ----

# ---------------------------------------------------------------- nn: forward, backprop, SGD ----

# ---------------------------------------------------------------- stats: probe statistics ----
