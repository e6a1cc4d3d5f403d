"""Shapeset-3x2: the synthetic data set of Glorot & Bengio (2010, §2.1, Fig. 1), sampler and
rasteriser.

A 32x32 grey image holds one or two shapes (triangle, parallelogram, "ellipse" = filled 20-gon);
the label says which shapes are present, ignoring order and position (9 classes, ``CLASS_NAMES``).
The algorithm and its parameters (``SETTINGS``, the one definition, which the kernels take as an
argument and dataset files record as ``PARAMS``) follow the author's original generator,
described step by step in ``docs/shapeset.md``; polygons are filled with the exact 2010 scanline
rule (``fill_polygon``), which reproduces the original images pixel for pixel.

Randomness: images are made in fixed chunks of ``CHUNK`` images; chunk ``c`` of a stream seeded by
``seed`` runs its own xoshiro256** generator whose state comes from
``SeedSequence(seed).spawn_key + (c,)``. Chunks are independent, so the bytes do not depend on the
thread count, and ``generate(n, seed)`` is always the first ``n`` images of
``ShapesetStream(seed)``. The kernels use only +, -, *, /, sqrt and exp on float64 (sines and
cosines come from tables built once), so the same seed gives the same bytes on any machine up to
libm's ``exp`` in the overlap test, which could only matter exactly at the rejection threshold.
"""

from __future__ import annotations

import math
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import NamedTuple

import numba
import numpy as np

from glorotcli.errors import GlorotError
from glorotcli.progress import Progress, no_progress

SIZE = 32
"""Images are SIZE x SIZE, one grey channel."""

CHUNK = 1024
"""Images per independently seeded chunk (part of the random stream's definition)."""

CLASS_NAMES = ["tri", "par", "ell", "tri+par", "par+ell", "tri+ell", "2tri", "2par", "2ell"]
"""Class names by label: 0-2 one shape, 3-5 two different shapes, 6-8 two of the same."""

SHAPE_NAMES = ["triangle", "parallelogram", "ellipse"]


class Settings(NamedTuple):
    """The generator's numbers, defined once (``SETTINGS``): the Numba kernels take this record
    as an argument, and ``PARAMS`` (what dataset files record) is built from it. The values are
    those of the author's original generator (docs/shapeset.md, "Parameters"); the paper's
    §2.1 fixes only the 32x32 size, the three shape kinds and the 50 % overlap limit
    (docs/choices.md, "The Shapeset-3x2 generator"). Greys are 0-255 pixel values, scales
    fractions of ``size``."""

    size: int
    """Images are size x size pixels."""
    p_two_shapes: float
    """Probability that an image asks for two shapes (else one)."""
    vertex_counts: tuple[int, int, int]
    """Vertices of a triangle, a parallelogram and an "ellipse" (a filled 20-gon)."""
    scale_min: float
    scale_span: float
    """Each axis scale is ``scale_min + scale_span * U`` (U uniform in [0, 1)), times ``size``."""
    rotation_steps: int
    """Rotations are multiples of 2 pi / rotation_steps."""
    shape_grey: tuple[int, int]
    background_grey: tuple[int, int]
    """Grey ranges (both ends included) of shapes and background, before a polarity swap."""
    p_polarity_swap: float
    """Probability that the two ranges swap (dark shapes on a light background)."""
    max_overlap: float
    """Largest estimated covered fraction x area ratio of a second shape (step 7)."""
    rejection_budget: int
    """Resamples of a second shape before it is dropped."""
    border_margin: int
    """Pixels kept free at the border: vertices lie in [margin, size - margin)."""


SETTINGS = Settings(size=SIZE, p_two_shapes=0.5, vertex_counts=(3, 4, 20), scale_min=0.2,
                    scale_span=0.6, rotation_steps=255, shape_grey=(140, 255),
                    background_grey=(0, 114), p_polarity_swap=0.5, max_overlap=0.5,
                    rejection_budget=50, border_margin=1)

PARAMS = {
    "generator": "shapeset-3x2",
    "generator_version": 1,
    "image_size": SETTINGS.size,
    "p_two_shapes": SETTINGS.p_two_shapes,
    "shape_types": SHAPE_NAMES,
    "vertex_counts": list(SETTINGS.vertex_counts),
    "scale_range": [SETTINGS.scale_min, SETTINGS.scale_min + SETTINGS.scale_span],
    "rotation_steps": SETTINGS.rotation_steps,
    "shape_grey": list(SETTINGS.shape_grey),
    "background_grey": list(SETTINGS.background_grey),
    "p_polarity_swap": SETTINGS.p_polarity_swap,
    "max_overlap": SETTINGS.max_overlap,
    "rejection_budget": SETTINGS.rejection_budget,
    "border_margin": SETTINGS.border_margin,
    "fill_rule": "2010 scanline (truncated vertices, truncating integer crossings)",
    "chunk_size": CHUNK,
    "rng": "xoshiro256** per chunk, state from SeedSequence(seed) spawn_key + (chunk,)",
}
"""The generator's settings (docs/shapeset.md), from ``SETTINGS``; recorded in every dataset
file it makes."""

_NV = np.array(SETTINGS.vertex_counts, dtype=np.int64)  # vertices per shape type
_MAX_NV = int(_NV.max())

# Class of an image with shape types (a, b); type a itself for a single shape.
_LABEL2 = np.array([[6, 3, 5], [3, 7, 4], [5, 4, 8]], dtype=np.uint8)


def _tables() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Unit n-gons (circumradius 0.5, one edge horizontal at the bottom), their areas relative
    to the circle, and cos/sin of the ``SETTINGS.rotation_steps``-step rotation grid."""
    base = np.full((len(_NV), 2, _MAX_NV), np.nan)
    area = np.empty(len(_NV))
    for t, nv in enumerate(_NV):
        for k in range(nv):
            # vertices at -90deg +- 180/n: the edge between vertices n-1 and 0 is the bottom one
            a = -math.pi / 2 + math.pi / nv + 2 * math.pi * k / nv
            base[t, 0, k] = 0.5 * math.cos(a)
            base[t, 1, k] = 0.5 * math.sin(a)
        area[t] = nv * math.sin(2 * math.pi / nv) / (2 * math.pi)
    steps = SETTINGS.rotation_steps
    cos = np.array([math.cos(2 * math.pi * k / steps) for k in range(steps)])
    sin = np.array([math.sin(2 * math.pi * k / steps) for k in range(steps)])
    return base, area, cos, sin


_BASE, _AREA, _COS, _SIN = _tables()


# ------------------------------------------------------------------------------------ RNG ----

@numba.njit(cache=True, nogil=True, inline="always")
def _rotl(x, k):
    return (x << np.uint64(k)) | (x >> np.uint64(64 - k))


@numba.njit(cache=True, nogil=True)
def _next_u64(s):
    """xoshiro256** (Blackman & Vigna): advance the state array ``s`` (4 uint64), return 64 bits."""
    s0, s1, s2, s3 = s[0], s[1], s[2], s[3]
    result = _rotl(s1 * np.uint64(5), 7) * np.uint64(9)
    t = s1 << np.uint64(17)
    s2 ^= s0
    s3 ^= s1
    s1 ^= s2
    s0 ^= s3
    s2 ^= t
    s3 = _rotl(s3, 45)
    s[0], s[1], s[2], s[3] = s0, s1, s2, s3
    return result


@numba.njit(cache=True, nogil=True)
def _uniform(s):
    """A float64 in [0, 1) with 53 random bits."""
    return float(_next_u64(s) >> np.uint64(11)) * (1.0 / 9007199254740992.0)


@numba.njit(cache=True, nogil=True)
def _randint(s, lo, hi):
    """An integer in [lo, hi], both included."""
    return lo + int(_uniform(s) * (hi - lo + 1))


# ----------------------------------------------------------------------------- rasteriser ----

@numba.njit(cache=True, nogil=True)
def _trunc_div(a, b):
    """a / b rounded toward zero (C integer division), for b > 0."""
    if a >= 0:
        return a // b
    return -((-a) // b)


@numba.njit(cache=True, nogil=True)
def _fill_polygon(img, vx, vy, nv, grey, xs):
    """Fill the polygon (vx[:nv], vy[:nv]) into img[row, col] with the 2010 rule.

    Vertices are truncated to integers; for each row from the lowest to the highest vertex row,
    every non-horizontal edge (y1 < y2) crossing it (y1 <= r < y2, or y1 < r <= y2 on the last
    row) gives the column x1 + (r - y1) * (x2 - x1) / (y2 - y1) in truncating integer arithmetic;
    the sorted columns are filled pairwise, ends included. ``xs`` is scratch of length >= nv.
    Pixels outside the image are clipped.
    """
    h, w = img.shape
    miny = int(vy[0])
    maxy = miny
    for i in range(1, nv):
        yi = int(vy[i])
        miny = min(miny, yi)
        maxy = max(maxy, yi)
    for r in range(max(miny, 0), min(maxy, h - 1) + 1):
        m = 0
        for i in range(nv):
            j = i - 1 if i > 0 else nv - 1
            xa, ya = int(vx[j]), int(vy[j])
            xb, yb = int(vx[i]), int(vy[i])
            if ya == yb:
                continue
            if ya > yb:
                xa, ya, xb, yb = xb, yb, xa, ya
            if (ya <= r and r < yb) or (r == maxy and ya < r and r <= yb):
                c = xa + _trunc_div((r - ya) * (xb - xa), yb - ya)
                k = m  # insertion sort: m is at most nv (20)
                while k > 0 and xs[k - 1] > c:
                    xs[k] = xs[k - 1]
                    k -= 1
                xs[k] = c
                m += 1
        for k in range(0, m - 1, 2):
            for c in range(max(xs[k], 0), min(xs[k + 1], w - 1) + 1):
                img[r, c] = grey


def fill_polygon(img: np.ndarray, vertices_xy: np.ndarray, grey: int) -> np.ndarray:
    """Fill a polygon into ``img`` (H, W) uint8 in place with the exact 2010 rule; return img.

    ``vertices_xy`` is (n, 2) float (pixel units, truncated to integers): ``x`` is the column,
    ``y`` the row. ``grey``: the pixel value 0-255 written. Pixels outside the image are
    clipped. See ``_fill_polygon`` and docs/shapeset.md. Raises GlorotError for an ``img`` that
    is not a 2-d uint8 array, vertices not (n >= 3, 2) or not finite or beyond 1e9, or a grey
    outside 0..255.
    """
    if not isinstance(img, np.ndarray) or img.dtype != np.uint8 or img.ndim != 2:
        raise GlorotError("img must be a 2-d uint8 array (rows, columns)")
    v = np.asarray(vertices_xy, dtype=np.float64)
    if v.ndim != 2 or v.shape[1] != 2 or len(v) < 3:
        raise GlorotError(f"vertices_xy must have shape (n >= 3, 2), got {v.shape}")
    if not np.isfinite(v).all() or np.abs(v).max() > 1e9:
        raise GlorotError("vertices_xy must be finite coordinates below 1e9")
    if not 0 <= int(grey) <= 255:
        raise GlorotError(f"grey must be in 0..255, got {grey}")
    vx = np.ascontiguousarray(v[:, 0])
    vy = np.ascontiguousarray(v[:, 1])
    _fill_polygon(img, vx, vy, len(v), np.uint8(grey), np.empty(len(v) + 1, np.int64))
    return img


# -------------------------------------------------------------------------------- sampler ----

@numba.njit(cache=True, nogil=True)
def _place(s, t, k1, k2, base, cos, sin, vx, vy, c, g):
    """Draw scales and a position for a shape of type t with pre-rotation k1 and final rotation
    k2 (grid steps); write its vertices to vx, vy and its centre to c; return its area.
    ``g``: the generator's ``Settings``."""
    nv = g.vertex_counts[t]
    size = float(g.size)
    a = g.scale_min + g.scale_span * _uniform(s)
    b = g.scale_min + g.scale_span * _uniform(s)
    s1 = max(a, b) * size
    s2 = min(a, b) * size
    # step 2: pre-rotation by k1 steps (k1 may be negative)
    kk = k1 % g.rotation_steps
    c1, n1 = cos[kk], sin[kk]
    # step 4: rotate back by atan(s2/s1 * tan(a1)), via cos/sin of atan(u) = (1, u)/sqrt(1+u^2)
    u = (s2 / s1) * (n1 / c1)
    r = math.sqrt(1.0 + u * u)
    c4, n4 = 1.0 / r, -u / r
    # step 5: final rotation
    c5, n5 = cos[k2], sin[k2]
    xmin = 1e300
    xmax = -1e300
    ymin = 1e300
    ymax = -1e300
    for i in range(nv):
        x0, y0 = base[t, 0, i], base[t, 1, i]
        x = (c1 * x0 - n1 * y0) * s1          # rotate by a1, scale x
        y = (n1 * x0 + c1 * y0) * s2          # rotate by a1, scale y
        x, y = c4 * x - n4 * y, n4 * x + c4 * y
        x, y = c5 * x - n5 * y, n5 * x + c5 * y
        vx[i] = x
        vy[i] = y
        xmin = min(xmin, x)
        xmax = max(xmax, x)
        ymin = min(ymin, y)
        ymax = max(ymax, y)
    # step 6: the box with the border margin stays inside: coordinates in [m, size - m)
    m = float(g.border_margin)
    room = size - 2.0 * m
    tx = m - xmin + _uniform(s) * (room - (xmax - xmin))
    ty = m - ymin + _uniform(s) * (room - (ymax - ymin))
    top = (size - m) - 1e-9
    for i in range(nv):
        vx[i] = min(max(vx[i] + tx, m), top)
        vy[i] = min(max(vy[i] + ty, m), top)
    c[0] = tx
    c[1] = ty
    return s1 * s2


@numba.njit(cache=True, nogil=True)
def _reach(vx, vy, nv, cx, cy, ux, uy):
    """How far the polygon reaches from (cx, cy) along (ux, uy)."""
    p = -1e300
    for i in range(nv):
        p = max(p, (vx[i] - cx) * ux + (vy[i] - cy) * uy)
    return p


@numba.njit(cache=True, nogil=True)
def _too_much_overlap(vx, vy, nv, c, area, wx, wy, nw, d0, area0, max_overlap):
    """Step 7: estimated fraction of the new shape covering shape 0, weighted by area ratio."""
    dx = c[0] - d0[0]
    dy = c[1] - d0[1]
    d = math.sqrt(dx * dx + dy * dy)
    if d == 0.0:
        frac = 1.0
    else:
        ux, uy = dx / d, dy / d
        p = _reach(wx, wy, nw, d0[0], d0[1], ux, uy) + _reach(vx, vy, nv, c[0], c[1], -ux, -uy)
        if p < d:
            frac = 0.0
        else:
            frac = 1.0 - math.exp(-(p - d) * math.log(2.0) / d)
    return area * frac / area0 > max_overlap


@numba.njit(cache=True, nogil=True)
def _gen_chunk(state, x, y, info, base, rel_area, cos, sin, label2, g):
    """Fill x (n, size*size), y (n,) and info (n, 4) = (shapes asked, shapes drawn, rejections,
    light background) with n images drawn from the xoshiro state (4 uint64), as the generator's
    ``Settings`` ``g`` say. A second shape overlapping too much (step 7) is placed again; after
    ``g.rejection_budget`` such resamples it is dropped and the label counts only the first."""
    n = x.shape[0]
    max_nv = max(g.vertex_counts)
    vx = np.empty((2, max_nv))
    vy = np.empty((2, max_nv))
    cen = np.empty((2, 2))
    xs = np.empty(max_nv + 1, np.int64)
    types = np.zeros(2, np.int64)
    greys = np.zeros(2, np.int64)
    shape_lo, shape_hi = g.shape_grey
    back_lo, back_hi = g.background_grey
    for i in range(n):
        two = _uniform(state) < g.p_two_shapes
        light = _uniform(state) < g.p_polarity_swap  # swapped: light background, dark shapes
        if light:
            bg = _randint(state, shape_lo, shape_hi)
        else:
            bg = _randint(state, back_lo, back_hi)
        want = 2 if two else 1
        drawn = 0
        rejections = 0
        area0 = 0.0
        for j in range(want):
            t = _randint(state, 0, len(g.vertex_counts) - 1)
            nv = g.vertex_counts[t]
            half = g.rotation_steps // (2 * nv)  # about a 1/n share of the circle around 0
            k1 = _randint(state, -half, half)
            k2 = _randint(state, 0, g.rotation_steps - 1)
            if light:
                grey = _randint(state, back_lo, back_hi)
            else:
                grey = _randint(state, shape_lo, shape_hi)
            while True:
                area = _place(state, t, k1, k2, base, cos, sin, vx[j], vy[j], cen[j], g)
                area *= rel_area[t]
                if j == 0:
                    area0 = area
                    ok = True
                    break
                ok = not _too_much_overlap(vx[j], vy[j], nv, cen[j], area,
                                           vx[0], vy[0], g.vertex_counts[types[0]], cen[0],
                                           area0, g.max_overlap)
                if ok:
                    break
                rejections += 1
                if rejections > g.rejection_budget:  # every resample rejected: drop the shape
                    break
            if ok:
                types[drawn] = t
                greys[drawn] = grey
                drawn += 1
        img = x[i].reshape((g.size, g.size))
        img[:, :] = bg
        for j in range(drawn):
            nv = g.vertex_counts[types[j]]
            _fill_polygon(img, vx[j], vy[j], nv, np.uint8(greys[j]), xs)
        if drawn == 1:
            y[i] = types[0]
        else:
            y[i] = label2[types[0], types[1]]
        info[i, 0] = want
        info[i, 1] = drawn
        info[i, 2] = min(rejections, 127)
        info[i, 3] = 1 if light else 0


# ------------------------------------------------------------------------------ public API ----

def _seed_sequence(seed) -> np.random.SeedSequence:
    if isinstance(seed, np.random.SeedSequence):
        return seed
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise GlorotError(f"seed must be a non-negative integer, got {seed!r}")
    return np.random.SeedSequence(int(seed))


def _chunk_state(root: np.random.SeedSequence, chunk: int) -> np.ndarray:
    child = np.random.SeedSequence(root.entropy, spawn_key=tuple(root.spawn_key) + (chunk,),
                                   pool_size=root.pool_size)
    return child.generate_state(4, np.uint64)


def _threads(threads: int | None) -> int:
    if threads is None:
        try:
            return max(1, len(os.sched_getaffinity(0)))
        except AttributeError:  # not on Linux
            return max(1, os.cpu_count() or 1)
    if isinstance(threads, bool) or not isinstance(threads, (int, np.integer)) or threads < 1:
        raise GlorotError(f"threads must be a positive integer, got {threads!r}")
    return int(threads)


def _run_chunks(root, first: int, n: int, threads: int, progress: Progress, task: str,
                settings: Settings = SETTINGS):
    """Images first*CHUNK .. first*CHUNK+n-1 of the stream ``root``: x, y, info. ``settings``
    other than ``SETTINGS`` are for tests only (the images are Shapeset-3x2 only with those)."""
    if (settings.size, settings.vertex_counts, settings.rotation_steps) != \
            (SIZE, SETTINGS.vertex_counts, SETTINGS.rotation_steps):
        raise ValueError("size, vertex_counts and rotation_steps are fixed by the tables")
    x = np.empty((n, SIZE * SIZE), np.uint8)
    y = np.empty(n, np.uint8)
    info = np.empty((n, 4), np.int8)
    spans = [(lo, min(lo + CHUNK, n)) for lo in range(0, n, CHUNK)]

    def work(k: int) -> int:
        lo, hi = spans[k]
        state = _chunk_state(root, first + k)
        with np.errstate(over="ignore"):  # uint64 wrap-around warns only with NUMBA_DISABLE_JIT
            _gen_chunk(state, x[lo:hi], y[lo:hi], info[lo:hi], _BASE, _AREA, _COS, _SIN,
                       _LABEL2, settings)
        return hi - lo

    progress(task, 0, n)
    done = 0
    if threads == 1 or len(spans) <= 1:
        for k in range(len(spans)):
            done += work(k)
            progress(task, done, n)
    else:
        with ThreadPoolExecutor(max_workers=min(threads, len(spans))) as pool:
            for m in pool.map(work, range(len(spans))):
                done += m
                progress(task, done, n)
    return x, y, info


def _check_n(n, what: str = "n", minimum: int = 0) -> int:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < minimum:
        raise GlorotError(f"{what} must be an integer >= {minimum}, got {n!r}")
    return int(n)


def generate(n: int, seed, *, threads: int | None = None,
             progress: Progress | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``n`` Shapeset-3x2 images (§2.1): x (n, 1024) uint8 row-major 32x32 grey levels 0-255
    (unscaled) and labels y (n,) uint8 in 0..8 (``CLASS_NAMES``).

    ``seed`` is a non-negative int or a ``numpy.random.SeedSequence``. The result depends only on
    the seed (never on ``threads``), and ``generate(n, seed)`` is a prefix of
    ``generate(m, seed)`` for m > n and of ``ShapesetStream(seed)``. ``threads``: worker
    threads (None: the CPUs this process may use); ``progress`` hears ("shapeset", images done,
    n). Raises GlorotError for ``n`` not an integer >= 0, a negative or non-integer seed, or
    ``threads`` not a positive integer.
    """
    x, y, _ = _run_chunks(_seed_sequence(seed), 0, _check_n(n), _threads(threads),
                          progress or no_progress, "shapeset")
    return x, y


@dataclass
class ShapesetStats:
    """What the generator did on a sample of ``n`` images (compare with docs/shapeset.md):
    counts are ints or int64 arrays; ``rejections`` per two-shape image is at most the
    rejection budget + 1 (51: the last one drops the shape)."""

    n: int
    class_counts: np.ndarray         # (9,) images per class
    two_shape_images: int            # images that asked for two shapes
    rejections: np.ndarray           # (two_shape_images,) resamples spent on each
    budget_hits: int                 # images whose second shape was dropped
    light_background: int            # images with dark shapes on a light background
    grey_levels_max: int             # most distinct grey levels in one image

    @property
    def class_freq(self) -> np.ndarray:
        """(9,) float64: the fraction of the images in each class (0..1)."""
        return self.class_counts / max(self.n, 1)

    @property
    def rejections_per_two_shape_image(self) -> float:
        """Mean resamples of the second shape per image that asked for two (0.0 for none)."""
        return float(self.rejections.mean()) if len(self.rejections) else 0.0

    @property
    def light_share(self) -> float:
        """Fraction (0..1) of the images with dark shapes on a light background."""
        return self.light_background / max(self.n, 1)

    def as_dict(self) -> dict:
        """JSON-ready numbers, rounded to 4 decimals: fractions 0..1 (``class_freq``,
        ``light_share``, ``majority_error`` = 1 - the largest class frequency), not percent."""
        return {
            "n": self.n,
            "class_freq": [round(float(f), 4) for f in self.class_freq],
            "rejections_per_two_shape_image": round(self.rejections_per_two_shape_image, 4),
            "budget_hits": self.budget_hits,
            "light_share": round(self.light_share, 4),
            "majority_error": round(1 - float(self.class_freq.max()), 4),
        }


def generator_stats(n: int, seed, *, threads: int | None = None) -> ShapesetStats:
    """Generate ``n`` images (the same as ``generate(n, seed)``) and summarise the process as a
    ``ShapesetStats``. Raises GlorotError for ``n`` not an integer >= 1, a bad seed or
    ``threads`` (as ``generate``)."""
    x, y, info = _run_chunks(_seed_sequence(seed), 0, _check_n(n, minimum=1), _threads(threads),
                             no_progress, "shapeset")
    two = info[:, 0] == 2
    levels = np.sort(x, axis=1)
    n_levels = 1 + (np.diff(levels.astype(np.int16), axis=1) != 0).sum(axis=1)
    return ShapesetStats(
        n=n,
        class_counts=np.bincount(y, minlength=9),
        two_shape_images=int(two.sum()),
        rejections=info[two, 2].astype(np.int64),
        budget_hits=int((info[:, 1] < info[:, 0]).sum()),
        light_background=int(info[:, 3].sum()),
        grey_levels_max=int(n_levels.max()),
    )


class ShapesetStream:
    """An endless deterministic stream of fresh images (the paper's online setting, §2.1: no
    image is seen twice).

    ``next_batch(n)`` returns the next ``n`` images of the stream; the images do not depend on
    how the stream is cut into batches, and the first ``n`` equal ``generate(n, seed)``. Images
    are made ahead ``block`` chunks of CHUNK at a time on ``threads`` threads (1 by default, so
    as not to compete with the training kernels), making a call for 10 images a slice copy.
    ``start`` begins the stream at image ``start`` (to resume a run) without generating the
    whole chunks before it. Raises GlorotError for a bad seed, ``block`` < 1, ``threads`` not
    a positive integer, or ``start`` < 0.
    """

    def __init__(self, seed, *, block: int = 4, threads: int = 1, start: int = 0) -> None:
        self._root = _seed_sequence(seed)
        self._block = _check_n(block, "block", 1)
        self._threads = _threads(threads)
        start = _check_n(start, "start", 0)
        self._next_chunk, skip = divmod(start, CHUNK)
        self._x = np.empty((0, SIZE * SIZE), np.uint8)
        self._y = np.empty(0, np.uint8)
        self._pos = 0
        self.served = 0
        if skip:
            self.next_batch(skip)
        self.served = start
        """Images handed out so far (counting the ``start`` skipped)."""

    def _refill(self) -> None:
        x, y, _ = _run_chunks(self._root, self._next_chunk, self._block * CHUNK, self._threads,
                              no_progress, "shapeset")
        self._next_chunk += self._block
        rest = slice(self._pos, None)
        self._x = np.concatenate([self._x[rest], x]) if self._pos < len(self._y) else x
        self._y = np.concatenate([self._y[rest], y]) if self._pos < len(self._y) else y
        self._pos = 0

    def next_batch(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        """The next ``n`` images: x (n, 1024) uint8 grey levels 0-255 and y (n,) uint8 labels
        0..8 (fresh arrays). Raises GlorotError for ``n`` not an integer >= 0."""
        n = _check_n(n)
        while len(self._y) - self._pos < n:
            self._refill()
        lo, hi = self._pos, self._pos + n
        self._pos = hi
        self.served += n
        return self._x[lo:hi].copy(), self._y[lo:hi].copy()


SPLIT_NAMES = ("train", "valid", "test")


def split_seeds(seed) -> dict[str, np.random.SeedSequence]:
    """One independent ``SeedSequence`` per split, {"train", "valid", "test"} ->
    ``SeedSequence(seed).spawn(3)`` in that order, so the size of one split never changes
    another. Raises GlorotError for a negative or non-integer seed."""
    children = _seed_sequence(seed).spawn(len(SPLIT_NAMES))
    return dict(zip(SPLIT_NAMES, children, strict=True))


def check_split_sizes(train: int, valid: int, test: int) -> None:
    """Raise GlorotError unless train >= 1 and valid, test >= 0 (0 leaves the split out)."""
    _check_n(train, "--train (training examples)", 1)
    _check_n(valid, "--valid (validation examples)", 0)
    _check_n(test, "--test (test examples)", 0)


def make_splits(train: int, valid: int, test: int, seed, threads: int | None = None,
                progress: Progress | None = None) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The train/valid/test splits, each ``generate``d from its own child of ``seed``
    (``split_seeds``): {split: (x (N, 1024) uint8, y (N,) uint8)}.

    Splits of size 0 (valid or test) are left out of the result. ``progress`` hears
    ("SPLIT split", images done, N). Raises GlorotError as ``check_split_sizes``, for a bad
    seed or ``threads``.
    """
    check_split_sizes(train, valid, test)
    threads = _threads(threads)
    progress = progress or no_progress
    seeds = split_seeds(seed)
    out = {}
    for name, n in zip(SPLIT_NAMES, (train, valid, test), strict=True):
        if n > 0:
            x, y, _ = _run_chunks(seeds[name], 0, int(n), threads, progress, f"{name} split")
            out[name] = (x, y)
    return out


def dataset_params(train: int, valid: int, test: int, seed: int) -> dict:
    """What ``gen-data`` records in the dataset file's ``params`` attribute: ``PARAMS``, the
    seed, the split sizes (examples) and how the split seeds derive from it (JSON-ready)."""
    return {**PARAMS, "seed": int(seed), "splits": {"train": train, "valid": valid, "test": test},
            "split_seeds": "SeedSequence(seed).spawn(3) in the order train, valid, test"}
