"""Slow, obvious NumPy twins of every fast function in glorot.

Tests compare the fast code with these. Keep them short and plainly correct: loops over pixels,
examples and layers are welcome here; speed is not.
"""

from __future__ import annotations

import numpy as np  # noqa: F401

# ---------------------------------------------------------------- shapeset: polygon fill ----


def _c_div(a: int, b: int) -> int:
    """Integer division rounding toward zero, as C does (Python's // rounds down)."""
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b > 0) else -q


def polygon_fill(img: np.ndarray, vertices_xy, grey: int) -> np.ndarray:
    """The 2010 scanline fill of docs/shapeset.md, one row at a time, in plain Python.

    Truncate vertices; for each row between the lowest and highest vertex row, collect the
    crossing column of every non-horizontal edge (ends ordered y1 < y2) with y1 <= r < y2, or
    y1 < r <= y2 on the last row; sort; fill consecutive pairs, ends included.
    """
    pts = [(int(x), int(y)) for x, y in vertices_xy]
    miny = min(p[1] for p in pts)
    maxy = max(p[1] for p in pts)
    for r in range(miny, maxy + 1):
        cols = []
        for (xa, ya), (xb, yb) in zip(pts[-1:] + pts[:-1], pts, strict=True):
            if ya == yb:
                continue
            if ya > yb:
                xa, ya, xb, yb = xb, yb, xa, ya
            if ya <= r < yb or (r == maxy and ya < r <= yb):
                cols.append(xa + _c_div((r - ya) * (xb - xa), yb - ya))
        cols.sort()
        for left, right in zip(cols[0::2], cols[1::2], strict=False):
            for c in range(left, right + 1):
                if 0 <= r < img.shape[0] and 0 <= c < img.shape[1]:
                    img[r, c] = grey
    return img


def lattice_inside(shape: tuple[int, int], vertices_xy) -> np.ndarray:
    """Per pixel: is the point (col, row) inside the polygon with truncated vertices?

    Even-odd ray casting to the right, half-open in y; the obvious geometric meaning of the fill.
    """
    pts = [(int(x), int(y)) for x, y in vertices_xy]
    inside = np.zeros(shape, dtype=bool)
    for r in range(shape[0]):
        for c in range(shape[1]):
            odd = False
            for (xa, ya), (xb, yb) in zip(pts[-1:] + pts[:-1], pts, strict=True):
                if (ya <= r) != (yb <= r):
                    xcross = xa + (r - ya) * (xb - xa) / (yb - ya)
                    odd ^= xcross > c
            inside[r, c] = odd
    return inside


def near_edge(shape: tuple[int, int], vertices_xy) -> np.ndarray:
    """Per pixel: does the horizontal segment from (col - 1, row) to (col + 1, row) touch the
    boundary of the truncated polygon? Only there may the fill and ``lattice_inside`` differ:
    the fill moves each crossing by less than one column (integer truncation)."""
    pts = [(int(x), int(y)) for x, y in vertices_xy]
    band = np.zeros(shape, dtype=bool)
    for (xa, ya), (xb, yb) in zip(pts[-1:] + pts[:-1], pts, strict=True):
        for r in range(max(min(ya, yb), 0), min(max(ya, yb), shape[0] - 1) + 1):
            if ya == yb:
                lo, hi = min(xa, xb), max(xa, xb)
            else:
                lo = hi = xa + (r - ya) * (xb - xa) / (yb - ya)
            for c in range(shape[1]):
                if c - 1 <= hi and lo <= c + 1:
                    band[r, c] = True
    return band


# ---------------------------------------------------------------- nn: forward, backprop, SGD ----

def ref_act(name, s):
    """f(s) straight from the definitions (paper §1.3), elementwise."""
    s = np.asarray(s)
    if name == "sigmoid":
        return 1.0 / (1.0 + np.exp(-s))
    if name == "tanh":
        return np.tanh(s)
    if name == "softsign":
        return s / (1.0 + np.abs(s))
    if name == "relu":
        return np.where(s > 0, s, 0 * s)
    raise ValueError(name)


def ref_act_grad(name, s):
    """f'(s) from s alone (the derived column of the paper's table)."""
    f = ref_act(name, s)
    if name == "sigmoid":
        return f * (1 - f)
    if name == "tanh":
        return 1 - f * f
    if name == "softsign":
        return 1.0 / (1.0 + np.abs(s)) ** 2
    if name == "relu":
        return (np.asarray(s) > 0).astype(np.asarray(s).dtype)
    raise ValueError(name)


def ref_example(W, b, activation, x, y, cost):
    """One example, one layer at a time: cost C and its gradients dC/dW, dC/db (lists)."""
    z, s = [x], []
    for i in range(len(W)):
        s.append(z[-1] @ W[i] + b[i])
        if i < len(W) - 1:
            z.append(ref_act(activation, s[-1]))
    e = np.exp(s[-1] - s[-1].max())
    p = e / e.sum()
    t = np.zeros_like(p)
    t[y] = 1
    if cost == "nll":
        C = -np.log(p[y])
        delta = p - t
    else:  # quadratic: C = sum_k (p_k - t_k)^2; dC/ds_k = sum_j 2(p_j - t_j) dp_j/ds_k
        C = ((p - t) ** 2).sum()
        jac = np.diag(p) - np.outer(p, p)  # dp_j/ds_k
        delta = jac.T @ (2 * (p - t))
    dW, db = [None] * len(W), [None] * len(W)
    for i in range(len(W) - 1, -1, -1):
        dW[i] = np.outer(z[i], delta)
        db[i] = delta
        if i > 0:
            delta = (W[i] @ delta) * ref_act_grad(activation, s[i - 1])
    return C, dW, db


def ref_gradients(W, b, activation, X, Y, cost):
    """Mean cost over the batch and its gradients, by looping over the examples."""
    C = 0.0
    dW = [np.zeros_like(w) for w in W]
    db = [np.zeros_like(v) for v in b]
    for x, y in zip(X, Y, strict=True):
        c, gw, gb = ref_example(W, b, activation, x, int(y), cost)
        C += c
        for i in range(len(W)):
            dW[i] += gw[i]
            db[i] += gb[i]
    B = len(Y)
    return C / B, [g / B for g in dW], [g / B for g in db]


def ref_sgd_step(W, b, activation, X, Y, lr, cost):
    """Plain SGD on the mean gradient, in place; returns the cost before the update."""
    C, dW, db = ref_gradients(W, b, activation, X, Y, cost)
    for i in range(len(W)):
        W[i] -= W[i].dtype.type(lr) * dW[i]
        b[i] -= b[i].dtype.type(lr) * db[i]
    return C


# ---------------------------------------------------------------- stats: probe statistics ----


# ---------------------------------------------------------------- data: IDX and CIFAR-10 files ----
# Obvious writers and readers of the two real-data formats, straight from their specifications,
# for the importer tests (glorotcli/data/mnist.py, glorotcli/data/cifar.py).


def idx_bytes(array, magic=None) -> bytes:
    """An IDX file holding uint8 ``array``: magic (0x0800 + ndim), one big-endian uint32 per
    dimension, then the values row-major."""
    import struct

    a = np.asarray(array, dtype=np.uint8)
    magic = 0x0800 + a.ndim if magic is None else magic
    return struct.pack(">I", magic) + b"".join(struct.pack(">I", n) for n in a.shape) + a.tobytes()


def read_idx_gz(path):
    """Parse an IDX file (gzipped or plain) with the standard library and numpy only."""
    import gzip
    import struct

    with open(path, "rb") as f:
        raw = f.read()
    data = gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw
    (magic,) = struct.unpack(">I", data[:4])
    ndim = magic & 0xFF
    dims = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
    return np.frombuffer(data, np.uint8, offset=4 + 4 * ndim).reshape(dims)


def cifar_bytes(labels, images_hwc) -> bytes:
    """CIFAR-10 binary records: per image one label byte, then the whole red plane, the whole
    green plane and the whole blue plane, each row-major 32x32 (images given as (N, 32, 32, 3))."""
    out = bytearray()
    for label, img in zip(labels, np.asarray(images_hwc, dtype=np.uint8), strict=True):
        out.append(int(label))
        for c in range(3):
            for row in range(32):
                for col in range(32):
                    out.append(int(img[row, col, c]))
    return bytes(out)
