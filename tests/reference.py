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
    """f(s) from the definitions (paper §2.3 and §3), elementwise, written independently of
    glorotcli/nn/activations.py: each in a form that never overflows, through e = exp(-|s|).

    sigmoid 1 / (1 + e^-s) = 1 / (1 + e) for s >= 0 and e / (1 + e) for s < 0;
    tanh (e^s - e^-s) / (e^s + e^-s) = sign(s) (1 - e^2) / (1 + e^2), with 1 - e^2 taken as
    -expm1(-2|s|) so that it stays exact near 0; softsign s / (1 + |s|); relu (s + |s|) / 2.
    """
    s = np.asarray(s)
    a = np.abs(s)
    if name == "sigmoid":
        e = np.exp(-a)
        return np.where(s >= 0, 1 / (1 + e), e / (1 + e))
    if name == "tanh":
        m = -np.expm1(-2 * a)  # 1 - e^-2|s|
        return np.sign(s) * m / (2 - m)  # (1 - e^2) / (1 + e^2), e^2 = 1 - m
    if name == "softsign":
        return s / (1 + a)
    if name == "relu":
        return (s + a) / 2
    raise ValueError(name)


def ref_act_grad(name, s):
    """f'(s) from the closed forms in s (not from f(s)): sigmoid e / (1 + e)^2 with
    e = exp(-|s|); tanh 1 / cosh^2 s = 4 e^2 / (1 + e^2)^2; softsign 1 / (1 + |s|)^2; relu the
    Heaviside step H(s) (0 at the kink). tests/test_activations.py checks each against finite
    differences of ``ref_act``."""
    s = np.asarray(s)
    a = np.abs(s)
    if name == "sigmoid":
        e = np.exp(-a)
        return e / (1 + e) ** 2
    if name == "tanh":
        e2 = np.exp(-2 * a)
        return 4 * e2 / (1 + e2) ** 2
    if name == "softsign":
        return 1 / (1 + a) ** 2
    if name == "relu":
        return np.heaviside(s, 0).astype(s.dtype)
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


def ref_error_rate(W, b, activation, X, Y):
    """Fraction of the examples whose largest output (logit, so also softmax) is not the label,
    one example at a time (the first of equal outputs wins, as with np.argmax)."""
    wrong = 0
    for x, y in zip(X, Y, strict=True):
        z = np.asarray(x)
        for i in range(len(W)):
            s = z @ W[i] + b[i]
            z = ref_act(activation, s) if i < len(W) - 1 else s
        wrong += int(np.argmax(z)) != int(y)
    return wrong / len(Y)


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
# The definitions of glorotcli/stats/probes.py, computed the obvious way: per-example gradients
# by looping over the probe examples (ref_example above), np.percentile, np.histogram, and
# explicit Jacobian matrices with np.linalg.svd.

REF_SAT = {  # saturated when True: within 0.03 of an asymptote, compared as real numbers
    "tanh": lambda z: np.abs(np.asarray(z, np.float64)) > 0.97,
    "softsign": lambda z: np.abs(np.asarray(z, np.float64)) > 0.97,
    "sigmoid": lambda z: (np.asarray(z, np.float64) < 0.03) | (np.asarray(z, np.float64) > 0.97),
    "relu": lambda z: np.asarray(z) == 0,
}


def ref_pooled_stats(values, edges, saturated):
    """mean, std, p2, p50, p98, sat (fraction where ``saturated(values)``) and the histogram as
    the fraction of all values in each bin of ``edges``."""
    v = np.asarray(values, dtype=np.float64).ravel()
    p2, p50, p98 = np.percentile(v, [2, 50, 98])
    stats = {"mean": v.mean(), "std": v.std(), "p2": p2, "p50": p50, "p98": p98,
             "sat": np.mean(saturated(v))}
    return stats, np.histogram(v, edges)[0] / v.size


def ref_probe_values(W, b, activation, X, Y, cost):
    """Per hidden layer j (0-based): activations z^{j+1} (E, n), per-example back-propagated
    gradients dC_e/ds^j (E, n), per-example weight gradients dC_e/dW^j (E, n_in, n_out), from
    one example at a time; and the gradient of the mean cost over the examples."""
    L = len(W) - 1
    acts = [[] for _ in range(L)]
    bgrads = [[] for _ in range(L)]
    wgrads = [[] for _ in range(L)]
    for x, y in zip(X, Y, strict=True):
        z = x
        for j in range(L):
            z = ref_act(activation, z @ W[j] + b[j])
            acts[j].append(z)
        _, dW, db = ref_example(W, b, activation, x, int(y), cost)
        for j in range(L):
            bgrads[j].append(db[j])
            wgrads[j].append(dW[j])
    _, mean_dW, _ = ref_gradients(W, b, activation, X, Y, cost)
    return ([np.array(a) for a in acts], [np.array(g) for g in bgrads],
            [np.array(g) for g in wgrads], mean_dW[:L])


def ref_measure(W, b, activation, X, Y, cost, lr, edges):
    """Everything ``measure`` reports, with every per-example weight-gradient entry pooled
    (feasible for small nets only). Returns (stats[q][s] (L,), hist[q] (L, B), grad_ratio,
    update_ratio, example_grad_ratio, batch_wgrad_std)."""
    acts, bgrads, wgrads, mean_dW = ref_probe_values(W, b, activation, X, Y, cost)
    L = len(acts)
    off_scale = {q: (lambda v, e=edges[q]: (v < e[0]) | (v > e[-1])) for q in ("bgrad", "wgrad")}
    sat = {"act": REF_SAT[activation], **off_scale}
    stats, hist = {}, {}
    for q, per_layer in (("act", acts), ("bgrad", bgrads), ("wgrad", wgrads)):
        rows = [ref_pooled_stats(per_layer[j], edges[q], sat[q]) for j in range(L)]
        stats[q] = {s: np.array([r[0][s] for r in rows]) for s in rows[0][0]}
        hist[q] = np.array([r[1] for r in rows])
    w_norm = np.array([np.linalg.norm(np.asarray(W[j], np.float64)) for j in range(L)])
    grad_ratio = np.array([np.linalg.norm(mean_dW[j]) for j in range(L)]) / w_norm
    example = np.array([np.sqrt(np.mean([np.sum(g ** 2) for g in wgrads[j]]))
                        for j in range(L)]) / w_norm
    batch_std = np.array([np.std(mean_dW[j]) for j in range(L)])
    return stats, hist, grad_ratio, lr * grad_ratio, example, batch_std


def ref_jacobians(W, b, activation, x):
    """J^j = dz^{j+1}/dz^j for one example x, j = 1 .. L-1, as explicit matrices
    diag(f'(s^j)) (W^j)^T, s^j the pre-activation of hidden layer j+1."""
    L = len(W) - 1
    z = x
    s = []
    for j in range(L):
        s.append(z @ W[j] + b[j])
        z = ref_act(activation, s[-1])
    return [np.diag(ref_act_grad(activation, s[j])) @ np.asarray(W[j]).T for j in range(1, L)]


def ref_jacobian_fd(W, b, activation, x, j, h=1e-6):
    """J^j by central finite differences of z^{j+1} with respect to z^j (float64)."""
    assert 0 < j < len(W) - 1, "j must name a hidden-to-hidden pair"
    z = np.asarray(x, np.float64)
    for i in range(j):
        z = ref_act(activation, z @ W[i] + b[i])
    J = np.empty((W[j].shape[1], W[j].shape[0]))
    for t in range(len(z)):
        dz = np.zeros_like(z)
        dz[t] = h
        up = ref_act(activation, (z + dz) @ W[j] + b[j])
        down = ref_act(activation, (z - dz) @ W[j] + b[j])
        J[:, t] = (up - down) / (2 * h)
    return J


def ref_singular_values(W, b, activation, X):
    """(sv_mean, sv_std, sv) over the examples X with np.linalg.svd of each explicit J."""
    per_layer = None
    for x in X:
        svs = [np.linalg.svd(J, compute_uv=False) for J in ref_jacobians(W, b, activation, x)]
        per_layer = [[s] for s in svs] if per_layer is None else \
            [acc + [s] for acc, s in zip(per_layer, svs, strict=True)]
    vals = [np.array(v) for v in per_layer]  # each (examples, K)
    return (np.array([v.mean() for v in vals]), np.array([v.std() for v in vals]),
            [v.mean(axis=0) for v in vals])


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


# ---------------------------------------------------------------- report: Fig. 5 cost surface ----
# The scalar chain x -> tanh(W1 x) -> sigmoid(W2 h) of glorotcli/report/surface.py, one
# grid point and one pair at a time.

def ref_surface_costs(w1, w2, x, t):
    """(mean cross-entropy, mean quadratic cost) over the pairs (x, t) at weights (w1, w2)."""
    ce = quad = 0.0
    for xi, ti in zip(x, t, strict=True):
        h = np.tanh(w1 * xi)
        p = 1 / (1 + np.exp(-w2 * h))
        ce += -(ti * np.log(p) + (1 - ti) * np.log(1 - p))
        quad += (p - ti) ** 2
    return ce / len(x), quad / len(x)


# ---------------------------------------------------------------- nn: denoising auto-encoder ----
# One tied-weight layer of Vincent et al. (2008), one example at a time, from the formulas of
# docs/pretraining.md: h = f(x~ W + b), r = out(W h + c), the cost against the clean x.

def ref_dae_example(W, b, c, activation, x, x_tilde, recon):
    """Cost and gradients (dW, db, dc) of one example. ``recon`` is ("ce",), ("se", lo, hi)
    (sigmoid output stretched to [lo, hi]) or ("linear",). Written with r itself (log r,
    log(1 - r)), not with the kernel's softplus form."""
    s = x_tilde @ W + b
    h = ref_act(activation, s)
    a = np.array([sum(W[j, k] * h[k] for k in range(len(h))) for j in range(len(x))]) + c
    sig = 1 / (1 + np.exp(-a))
    if recon[0] == "ce":
        r = sig
        C = -np.sum(x * np.log(r) + (1 - x) * np.log(1 - r))
        dC_dr = -(x / r) + (1 - x) / (1 - r)
        dr_da = sig * (1 - sig)
    elif recon[0] == "se":
        lo, hi = recon[1], recon[2]
        r = lo + (hi - lo) * sig
        C = np.sum((r - x) ** 2)
        dC_dr = 2 * (r - x)
        dr_da = (hi - lo) * sig * (1 - sig)
    else:
        r = a
        C = np.sum((r - x) ** 2)
        dC_dr = 2 * (r - x)
        dr_da = np.ones_like(a)
    da = dC_dr * dr_da                                  # dC/da_j
    dh = np.array([sum(W[j, k] * da[j] for j in range(len(x))) for k in range(len(h))])
    ds = dh * ref_act_grad(activation, s)               # dC/ds_k
    dW = np.outer(x_tilde, ds) + np.outer(da, h)        # encoder's share + decoder's share
    return C, dW, ds, da


def ref_dae_batch(W, b, c, activation, X, X_tilde, recon):
    """Mean cost over the examples and the gradients of that mean: (C, dW, db, dc)."""
    C, dW, db, dc = 0.0, np.zeros_like(W), np.zeros_like(b), np.zeros_like(c)
    for x, xt in zip(X, X_tilde, strict=True):
        Ci, dWi, dbi, dci = ref_dae_example(W, b, c, activation, x, xt, recon)
        C, dW, db, dc = C + Ci, dW + dWi, db + dbi, dc + dci
    n = len(X)
    return C / n, dW / n, db / n, dc / n
