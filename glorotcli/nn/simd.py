"""Register-blocked tiles of the fused kernels, written in LLVM IR with explicit vector types:
the forward's tiles (``forward_tile``), the backward's passes over pairs of rows
(``backward_pass``) and, for batches of ``PRODUCTS_MIN_B`` and more, the backward as two products
(``dot_products_tile``, ``gradient_update_tile``).

The forward product of a small batch, ``s = z @ W`` with z (B, n_in) and B <= 16, is fastest when
a block of ``rb`` examples times ``nv`` vectors of columns is accumulated in registers while the
kernel walks down all n_in rows of W once: per row it loads ``nv`` vectors of W, broadcasts the
``rb`` inputs and does ``rb * nv`` fused multiply-adds, and nothing else touches memory. Numba's
own loops keep such accumulators in memory (a NumPy array cannot live in registers), so the tile
is generated here as LLVM IR through ``numba.extending.intrinsic``, with ``<lanes x float>``
vectors the width of one AVX-512 register (64 bytes; LLVM splits them on narrower hardware).
Measured on one 1000 x 1000 layer with its weights streamed as in a step, against the
eight-rows-per-pass Numba loop it replaced: 1.1x at B=1, 1.3-1.6x at B=2-6, 2.0x at B=10, 1.8x at
B=16 (``docs/performance.md``, "What was tried").

Each output element is summed by one lane in one order, k = 0, 1, ..., n_in - 1 (one FMA per
row), whatever tile, block or thread computes it: results do not depend on the thread count or on
where a tile starts. The last tile of a range may be narrower than ``nv`` vectors; it uses masked
loads and stores (``llvm.masked.load``/``store``), so nothing outside the range is read or written.
"""

from __future__ import annotations

import numba
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

VECTOR_BYTES = 64  # one AVX-512 register

_I32 = ir.IntType(32)


def _vector_type(context, dtype):
    """(LLVM element type, lanes, vector type) for a Numba float dtype."""
    element = context.get_value_type(dtype)
    lanes = VECTOR_BYTES // (dtype.bitwidth // 8)
    return element, lanes, ir.VectorType(element, lanes)


def _suffix(vec: ir.VectorType) -> str:
    return f"v{vec.count}{'f32' if isinstance(vec.element, ir.FloatType) else 'f64'}"


def _splat(builder, vec_type, x):
    """A vector whose every lane is x."""
    undef = ir.Constant(vec_type, ir.Undefined)
    one = builder.insert_element(undef, x, ir.Constant(_I32, 0))
    zeros = ir.Constant(ir.VectorType(_I32, vec_type.count), [0] * vec_type.count)
    return builder.shuffle_vector(one, undef, zeros)


def _fma(builder, vec, a, b, c):
    """a * b + c, one rounding (``llvm.fma``)."""
    fn = cgutils.get_or_insert_function(builder.module, ir.FunctionType(vec, [vec, vec, vec]),
                                        "llvm.fma." + _suffix(vec))
    return builder.call(fn, [a, b, c])


def _pointer(builder, vec, base, index):
    return builder.bitcast(builder.gep(base, [index]), vec.as_pointer())


def _load(builder, vec, base, index):
    return builder.load(_pointer(builder, vec, base, index), align=4)


def _store(builder, vec, value, base, index):
    builder.store(value, _pointer(builder, vec, base, index), align=4)


def _masked_load(builder, vec, base, index, mask):
    """Lanes where ``mask`` is false read nothing and give 0."""
    fnty = ir.FunctionType(vec, [vec.as_pointer(), _I32, mask.type, vec])
    fn = cgutils.get_or_insert_function(builder.module, fnty, f"llvm.masked.load.{_suffix(vec)}.p0")
    return builder.call(fn, [_pointer(builder, vec, base, index), ir.Constant(_I32, 4), mask,
                             ir.Constant(vec, None)])


def _masked_store(builder, vec, value, base, index, mask):
    """Lanes where ``mask`` is false write nothing."""
    fnty = ir.FunctionType(ir.VoidType(), [vec, vec.as_pointer(), _I32, mask.type])
    name = f"llvm.masked.store.{_suffix(vec)}.p0"
    fn = cgutils.get_or_insert_function(builder.module, fnty, name)
    builder.call(fn, [value, _pointer(builder, vec, base, index), ir.Constant(_I32, 4), mask])


def _prefetch_for_write(builder, base, index):
    """Ask for the cache line of base[index] in a writable state (``llvm.prefetch``, rw=1,
    locality 3, data). A hint: it never faults, also past the end of an array."""
    i8p = ir.IntType(8).as_pointer()
    fnty = ir.FunctionType(ir.VoidType(), [i8p, _I32, _I32, _I32])
    fn = cgutils.get_or_insert_function(builder.module, fnty, "llvm.prefetch.p0")
    ptr = builder.bitcast(builder.gep(base, [index]), i8p)
    builder.call(fn, [ptr, ir.Constant(_I32, 1), ir.Constant(_I32, 3), ir.Constant(_I32, 1)])


def _horizontal_sum(builder, v):
    """The sum of a vector's lanes, halving it log2(lanes) times (a fixed order)."""
    n = v.type.count
    while n > 1:
        half = n // 2
        lo = builder.shuffle_vector(v, v, ir.Constant(ir.VectorType(_I32, half), list(range(half))))
        hi = builder.shuffle_vector(v, v, ir.Constant(ir.VectorType(_I32, half),
                                                      list(range(half, n))))
        v = builder.fadd(lo, hi)
        n = half
    return builder.extract_element(v, ir.Constant(_I32, 0))


def _lane_mask(builder, intp, lanes, offset, width):
    """<lanes x i1>: lane i is on when offset + i < width."""
    ivec = ir.VectorType(intp, lanes)
    return builder.icmp_signed("<", ir.Constant(ivec, [offset + i for i in range(lanes)]),
                               _splat(builder, ivec, width))


def _arrays(context, builder, signature, args, n: int) -> list:
    """The first ``n`` arguments of an intrinsic, as Numba array structures (``.data``,
    ``.shape``)."""
    return [context.make_array(t)(context, builder, a)
            for t, a in zip(signature.args[:n], args[:n], strict=True)]


def _minus_lr(context, builder, vec, lr, lr_type, dtype):
    """A vector of -lr in the arrays' dtype (lr arrives as ``lr_type``)."""
    return _splat(builder, vec, builder.fneg(context.cast(builder, lr, lr_type, dtype)))


def _whole_or_masked(builder, intp, vec, nv: int, width, emit) -> None:
    """Emit a tile of ``nv`` vectors twice, as ``emit(load, store)`` with ``load(v, base, at)``
    and ``store(v, value, base, at)`` for its vector v: with plain vector loads and stores, run
    when ``width`` is the whole tile, and with masked ones (lanes at or past ``width`` neither read
    nor written), run otherwise."""
    lanes = vec.count
    full = builder.icmp_signed("==", width, ir.Constant(intp, nv * lanes))
    with builder.if_else(full) as (whole, partial):
        with whole:
            emit(lambda v, base, at: _load(builder, vec, base, at),
                 lambda v, value, base, at: _store(builder, vec, value, base, at))
        with partial:
            masks = [_lane_mask(builder, intp, lanes, v * lanes, width) for v in range(nv)]
            emit(lambda v, base, at: _masked_load(builder, vec, base, at, masks[v]),
                 lambda v, value, base, at: _masked_store(builder, vec, value, base, at,
                                                          masks[v]))


def forward_tile(rb: int, nv: int):
    """An intrinsic ``tile(zT, W, out, j, width, r0)`` for blocks of ``rb`` examples and tiles of
    ``nv`` vectors of columns.

    zT (n_in, B) and W (n_in, n_out) are C-contiguous arrays of one float dtype, out (B, n_out)
    of the same dtype. It writes ``out[r0:r0+rb, j:j+width] = zT[:, r0:r0+rb].T @ W[:, j:j+width]``
    for ``1 <= width <= nv * lanes`` (lanes = 16 for float32, 8 for float64); nothing else is read
    or written. Nothing is checked: the caller guarantees the bounds. ``rb * nv + nv + 1`` vector
    registers must fit in the 32 of AVX-512 or the accumulators spill.
    """

    @intrinsic
    def tile(typingctx, zT, W, out, j, width, r0):
        sig = types.void(zT, W, out, types.intp, types.intp, types.intp)

        def codegen(context, builder, signature, args):
            z_arr, w_arr, o_arr = _arrays(context, builder, signature, args, 3)
            j, width, r0 = args[3:]
            _, lanes, vec = _vector_type(context, signature.args[1].dtype)
            intp = context.get_value_type(types.intp)

            def const(x):
                return ir.Constant(intp, x)

            n_in, n_out = cgutils.unpack_tuple(builder, w_arr.shape)
            batch = cgutils.unpack_tuple(builder, z_arr.shape)[1]
            acc = [[cgutils.alloca_once(builder, vec) for _ in range(nv)] for _ in range(rb)]

            def emit(load, store):
                for row in acc:
                    for a in row:
                        builder.store(ir.Constant(vec, None), a)
                with cgutils.for_range(builder, n_in) as loop:
                    k = loop.index
                    w_at = builder.add(builder.mul(k, n_out), j)
                    w = [load(v, w_arr.data, builder.add(w_at, const(v * lanes)))
                         for v in range(nv)]
                    z_at = builder.add(builder.mul(k, batch), r0)
                    for r in range(rb):
                        x = builder.load(builder.gep(z_arr.data, [builder.add(z_at, const(r))]))
                        xs = _splat(builder, vec, x)
                        for v in range(nv):
                            builder.store(_fma(builder, vec, xs, w[v], builder.load(acc[r][v])),
                                          acc[r][v])
                for r in range(rb):
                    o_at = builder.add(builder.mul(builder.add(r0, const(r)), n_out), j)
                    for v in range(nv):
                        store(v, builder.load(acc[r][v]), o_arr.data,
                              builder.add(o_at, const(v * lanes)))

            _whole_or_masked(builder, intp, vec, nv, width, emit)
            return context.get_dummy_value()

        return sig, codegen

    return tile


#: Vectors of columns per tile for a block of rb examples (index rb, 1-8): as wide as the 32
#: registers allow (rb * nv + nv + 1 <= 32), measured best among the fitting shapes at B = 1, 2,
#: 3, 4, 6, 8, 10, 12 and 16 (docs/performance.md).
TILE_VECTORS = (0, 8, 8, 6, 6, 5, 4, 3, 3)

#: Largest block of examples one tile accumulates; larger batches go in several blocks.
MAX_BLOCK = 8


@numba.njit(cache=True)
def tile_blocks(batch):
    """(number of blocks, vectors per tile) for a batch of ``batch`` >= 1 examples.

    Up to 8 examples make one block; more go in ceil(batch / 8) blocks as even as possible, the
    first ``batch % blocks`` one example larger (10: 5 + 5; 9: 5 + 4), all with the tile width of
    the largest block, so the blocks walk the same tile of W one after the other and the later
    ones find it in L2.
    """
    blocks = (batch + MAX_BLOCK - 1) // MAX_BLOCK
    return blocks, TILE_VECTORS[(batch + blocks - 1) // blocks]


def _shapes(batch: int) -> set[tuple[int, int]]:
    """The (rb, nv) tiles a batch uses."""
    blocks, nv = tile_blocks.py_func(batch)
    return {(batch // blocks + (i < batch % blocks), nv) for i in range(blocks)}


_TILES = {shape: forward_tile(*shape) for B in range(1, 65) for shape in _shapes(B)}
_T1_8, _T2_8, _T3_6, _T4_6, _T5_5, _T6_4, _T7_3, _T8_3 = (
    _TILES[1, 8], _TILES[2, 8], _TILES[3, 6], _TILES[4, 6], _TILES[5, 5], _TILES[6, 4],
    _TILES[7, 3], _TILES[8, 3])
_T4_5, _T5_4, _T6_3 = _TILES[4, 5], _TILES[5, 4], _TILES[6, 3]  # every key of _TILES (tested)


@numba.njit(cache=True, inline="always")
def tile(zT, W, out, j, width, r0, rb, nv):
    """``out[r0:r0+rb, j:j+width] = zT[:, r0:r0+rb].T @ W[:, j:j+width]`` with the tile of
    ``tile_blocks``'s (rb, nv), one of ``_TILES``; see ``forward_tile``."""
    if rb == 1:
        _T1_8(zT, W, out, j, width, r0)
    elif rb == 2:
        _T2_8(zT, W, out, j, width, r0)
    elif rb == 3:
        _T3_6(zT, W, out, j, width, r0)
    elif rb == 4 and nv == 6:
        _T4_6(zT, W, out, j, width, r0)
    elif rb == 4:
        _T4_5(zT, W, out, j, width, r0)
    elif rb == 5 and nv == 5:
        _T5_5(zT, W, out, j, width, r0)
    elif rb == 5:
        _T5_4(zT, W, out, j, width, r0)
    elif rb == 6 and nv == 4:
        _T6_4(zT, W, out, j, width, r0)
    elif rb == 6:
        _T6_3(zT, W, out, j, width, r0)
    elif rb == 7:
        _T7_3(zT, W, out, j, width, r0)
    else:
        _T8_3(zT, W, out, j, width, r0)


#: Modes of a backward pass (``backward_pass``): how it treats the weight gradient of its rows.
ONLY, FIRST, MIDDLE, LAST = 0, 1, 2, 3

#: Largest block of examples one backward pass takes (two rows: 2 x 6 dot products, 2 x 6 inputs
#: and 5 more vectors fit in 32 registers); larger batches go in several passes.
MAX_PASS_EXAMPLES = 6

#: Rows ahead of the current pair whose cache lines the first pass asks for (write intent):
#: 1.1x without it, 1.5x with 2-8 rows ahead at B=10, weights streamed (docs/performance.md).
PREFETCH_ROWS = 4


def backward_pass(rb: int):
    """An intrinsic ``bpass(zT, W, ds, g, dots, k, r0, lr, mode, nr)``: one pass along rows
    k..k+nr-1 of W (nr = 1 or 2) for the examples r0..r0+rb-1 of a back-propagation with SGD
    update.

    zT (n_in, B), W (n_in, n_out), ds (B, n_out) dC/ds of this layer, g (2, n_out) the weight
    gradient carried between passes, dots (2, B): C-contiguous, one float dtype; lr a scalar.
    With G_r = sum_b zT[k+r, r0+b] * ds[r0+b, :] (b in order) it writes, for r < nr,
    ``dots[r, r0+b] = ds[r0+b, :] . W[k+r, :]`` (the old row: lanes summed in order, then
    ``_horizontal_sum``) and, by ``mode``: ONLY ``W[k+r] -= lr * G_r``; FIRST ``g[r] = G_r``;
    MIDDLE ``g[r] += G_r``; LAST ``W[k+r] -= lr * (g[r] + G_r)``. The first pass over a row
    (ONLY, FIRST) asks for the rows ``PREFETCH_ROWS`` ahead. Nothing is checked; an ``nr`` or
    ``mode`` outside those values does nothing.
    """

    @intrinsic
    def bpass(typingctx, zT, W, ds, g, dots, k, r0, lr, mode, nr):
        sig = types.void(zT, W, ds, g, dots, types.intp, types.intp, lr, types.intp, types.intp)

        def codegen(context, builder, signature, args):
            z_arr, w_arr, d_arr, g_arr, o_arr = _arrays(context, builder, signature, args, 5)
            k, r0, lr, mode, n_rows = args[5:]
            dtype = signature.args[1].dtype
            element, lanes, vec = _vector_type(context, dtype)
            intp = context.get_value_type(types.intp)

            def const(x):
                return ir.Constant(intp, x)

            n_out = cgutils.unpack_tuple(builder, w_arr.shape)[1]
            batch = cgutils.unpack_tuple(builder, z_arr.shape)[1]
            minus_lr = _minus_lr(context, builder, vec, lr, signature.args[7], dtype)
            rows = [builder.mul(builder.add(k, const(r)), n_out) for r in range(2)]
            ahead = builder.mul(const(PREFETCH_ROWS), n_out)
            g_rows = [builder.mul(const(r), n_out) for r in range(2)]
            acc = [[cgutils.alloca_once(builder, vec) for _ in range(rb)] for _ in range(2)]
            whole = builder.mul(builder.udiv(n_out, const(lanes)), const(lanes))

            def emit(nr, mode):
                for row in acc:
                    for a in row:
                        builder.store(ir.Constant(vec, None), a)
                x = [[_splat(builder, vec, builder.load(builder.gep(z_arr.data, [builder.add(
                    builder.mul(builder.add(k, const(r)), batch), builder.add(r0, const(b)))])))
                      for b in range(rb)] for r in range(nr)]

                def column(j, load, store, prefetch):
                    w = [load(w_arr.data, builder.add(rows[r], j)) for r in range(nr)]
                    if prefetch and mode in (ONLY, FIRST):
                        for r in range(nr):
                            _prefetch_for_write(builder, w_arr.data,
                                                builder.add(builder.add(rows[r], ahead), j))
                    grad = [None] * nr
                    for b in range(rb):
                        e = load(d_arr.data, builder.add(
                            builder.mul(builder.add(r0, const(b)), n_out), j))
                        for r in range(nr):
                            builder.store(_fma(builder, vec, e, w[r], builder.load(acc[r][b])),
                                          acc[r][b])
                            grad[r] = (builder.fmul(x[r][b], e) if b == 0
                                       else _fma(builder, vec, x[r][b], e, grad[r]))
                    for r in range(nr):
                        at_g = builder.add(g_rows[r], j)
                        at_w = builder.add(rows[r], j)
                        if mode == ONLY:
                            store(_fma(builder, vec, minus_lr, grad[r], w[r]), w_arr.data, at_w)
                        elif mode == FIRST:
                            store(grad[r], g_arr.data, at_g)
                        elif mode == MIDDLE:
                            store(builder.fadd(load(g_arr.data, at_g), grad[r]), g_arr.data, at_g)
                        else:
                            total = builder.fadd(load(g_arr.data, at_g), grad[r])
                            store(_fma(builder, vec, minus_lr, total, w[r]), w_arr.data, at_w)

                step = const(lanes)
                with cgutils.for_range_slice(builder, const(0), whole, step, inc=True) as (j, _):
                    column(j, lambda base, at: _load(builder, vec, base, at),
                           lambda value, base, at: _store(builder, vec, value, base, at), True)
                rest = builder.sub(n_out, whole)
                with builder.if_then(builder.icmp_signed(">", rest, const(0))):
                    mask = _lane_mask(builder, intp, lanes, 0, rest)
                    column(whole,
                           lambda base, at: _masked_load(builder, vec, base, at, mask),
                           lambda value, base, at: _masked_store(builder, vec, value, base, at,
                                                                 mask), False)
                for r in range(nr):
                    for b in range(rb):
                        at = builder.add(builder.mul(const(r), batch), builder.add(r0, const(b)))
                        builder.store(_horizontal_sum(builder, builder.load(acc[r][b])),
                                      builder.gep(o_arr.data, [at]))

            done = builder.append_basic_block("pass_done")
            key = builder.add(builder.mul(n_rows, const(4)), mode)
            switch = builder.switch(key, done)
            for nr in (1, 2):
                for m in (ONLY, FIRST, MIDDLE, LAST):
                    block = builder.append_basic_block(f"pass_rows_{nr}_mode_{m}")
                    switch.add_case(const(4 * nr + m), block)
                    builder.position_at_end(block)
                    emit(nr, m)
                    builder.branch(done)
            builder.position_at_end(done)
            return context.get_dummy_value()

        return sig, codegen

    return bpass


_P1, _P2, _P3, _P4, _P5, _P6 = (backward_pass(rb) for rb in range(1, MAX_PASS_EXAMPLES + 1))


@numba.njit(cache=True)
def pass_blocks(batch):
    """Number of backward passes over a pair of rows for ``batch`` >= 1 examples: blocks of at
    most ``MAX_PASS_EXAMPLES``, as even as possible (10: 5 + 5; 16: 6 + 5 + 5)."""
    return (batch + MAX_PASS_EXAMPLES - 1) // MAX_PASS_EXAMPLES


@numba.njit(cache=True, inline="always")
def backward(zT, W, ds, g, dots, k, r0, lr, mode, nr, rb):
    """``backward_pass(rb)`` for rb in 1-MAX_PASS_EXAMPLES, on nr = 1 or 2 rows."""
    if rb == 1:
        _P1(zT, W, ds, g, dots, k, r0, lr, mode, nr)
    elif rb == 2:
        _P2(zT, W, ds, g, dots, k, r0, lr, mode, nr)
    elif rb == 3:
        _P3(zT, W, ds, g, dots, k, r0, lr, mode, nr)
    elif rb == 4:
        _P4(zT, W, ds, g, dots, k, r0, lr, mode, nr)
    elif rb == 5:
        _P5(zT, W, ds, g, dots, k, r0, lr, mode, nr)
    else:
        _P6(zT, W, ds, g, dots, k, r0, lr, mode, nr)


# --------------------------------------------------- large batches: two products ----

#: Smallest batch whose backward runs as two register-blocked products (``dot_products_tile``
#: for dC/ds W^T, then ``gradient_update_tile`` for W -= lr z^T dC/ds) instead of passes over
#: pairs of rows, which re-read dC/ds once per pass of six examples (docs/performance.md).
PRODUCTS_MIN_B = 40

DOT_EXAMPLES, DOT_ROWS = 4, 6  # dot-product tile: 4 x 6 accumulators, 4 + 1 vectors loaded
UPDATE_ROWS, UPDATE_VECTORS = 4, 6  # update tile: 4 x 6 accumulators, 6 + 1 loaded


def _clamped(builder, intp, base, i: int, count):
    """base + min(i, count - 1): a tile's i-th row, or its last real one past ``count`` (the
    tile then computes a copy it never stores)."""
    ci = ir.Constant(intp, i)
    last = builder.sub(count, ir.Constant(intp, 1))
    return builder.add(base, builder.select(builder.icmp_signed("<", ci, count), ci, last))


@intrinsic
def dot_products_tile(typingctx, ds, W, out, b0, nb, k0, nk):
    """``out[b0+i, k0+r] = ds[b0+i, :] . W[k0+r, :]`` for i < nb <= DOT_EXAMPLES and
    r < nk <= DOT_ROWS: ds (B, n_out), W (n_in, n_out), out (B, n_in), C-contiguous, one float
    dtype. Each dot product is summed lane by lane along the row, then ``_horizontal_sum``: the
    same order as ``backward_pass``. Nothing is checked."""
    sig = types.void(ds, W, out, types.intp, types.intp, types.intp, types.intp)

    def codegen(context, builder, signature, args):
        d_arr, w_arr, o_arr = _arrays(context, builder, signature, args, 3)
        b0, nb, k0, nk = args[3:]
        _, lanes, vec = _vector_type(context, signature.args[1].dtype)
        intp = context.get_value_type(types.intp)

        def const(x):
            return ir.Constant(intp, x)

        n_out = cgutils.unpack_tuple(builder, w_arr.shape)[1]
        n_in = cgutils.unpack_tuple(builder, o_arr.shape)[1]
        d_rows = [builder.mul(_clamped(builder, intp, b0, i, nb), n_out)
                  for i in range(DOT_EXAMPLES)]
        w_rows = [builder.mul(_clamped(builder, intp, k0, r, nk), n_out) for r in range(DOT_ROWS)]
        acc = [[cgutils.alloca_once(builder, vec) for _ in range(DOT_ROWS)]
               for _ in range(DOT_EXAMPLES)]
        for row in acc:
            for a in row:
                builder.store(ir.Constant(vec, None), a)
        whole = builder.mul(builder.udiv(n_out, const(lanes)), const(lanes))

        def column(j, load):
            e = [load(d_arr.data, builder.add(d_rows[i], j)) for i in range(DOT_EXAMPLES)]
            for r in range(DOT_ROWS):
                w = load(w_arr.data, builder.add(w_rows[r], j))
                for i in range(DOT_EXAMPLES):
                    builder.store(_fma(builder, vec, e[i], w, builder.load(acc[i][r])), acc[i][r])

        with cgutils.for_range_slice(builder, const(0), whole, const(lanes), inc=True) as (j, _):
            column(j, lambda base, at: _load(builder, vec, base, at))
        rest = builder.sub(n_out, whole)
        with builder.if_then(builder.icmp_signed(">", rest, const(0))):
            mask = _lane_mask(builder, intp, lanes, 0, rest)
            column(whole, lambda base, at: _masked_load(builder, vec, base, at, mask))
        for i in range(DOT_EXAMPLES):
            for r in range(DOT_ROWS):
                real = builder.and_(builder.icmp_signed("<", const(i), nb),
                                    builder.icmp_signed("<", const(r), nk))
                with builder.if_then(real):
                    at = builder.add(builder.mul(builder.add(b0, const(i)), n_in),
                                     builder.add(k0, const(r)))
                    builder.store(_horizontal_sum(builder, builder.load(acc[i][r])),
                                  builder.gep(o_arr.data, [at]))
        return context.get_dummy_value()

    return sig, codegen


@intrinsic
def gradient_update_tile(typingctx, zT, ds, W, k0, nk, j0, width, lr):
    """``W[k0+r, j0:j0+width] -= lr * sum_b zT[k0+r, b] * ds[b, j0:j0+width]`` for
    r < nk <= UPDATE_ROWS and 1 <= width <= UPDATE_VECTORS * lanes, the sum over all B examples
    in order, in registers: zT (n_in, B), ds (B, n_out), W (n_in, n_out), C-contiguous, one
    float dtype. Nothing else is written; nothing is checked."""
    sig = types.void(zT, ds, W, types.intp, types.intp, types.intp, types.intp, lr)

    def codegen(context, builder, signature, args):
        z_arr, d_arr, w_arr = _arrays(context, builder, signature, args, 3)
        k0, nk, j0, width, lr = args[3:]
        dtype = signature.args[2].dtype
        _, lanes, vec = _vector_type(context, dtype)
        intp = context.get_value_type(types.intp)

        def const(x):
            return ir.Constant(intp, x)

        n_out = cgutils.unpack_tuple(builder, w_arr.shape)[1]
        batch = cgutils.unpack_tuple(builder, z_arr.shape)[1]
        minus_lr = _minus_lr(context, builder, vec, lr, signature.args[7], dtype)
        z_rows = [builder.mul(_clamped(builder, intp, k0, r, nk), batch)
                  for r in range(UPDATE_ROWS)]
        acc = [[cgutils.alloca_once(builder, vec) for _ in range(UPDATE_VECTORS)]
               for _ in range(UPDATE_ROWS)]

        def emit(load, store):
            for row in acc:
                for a in row:
                    builder.store(ir.Constant(vec, None), a)
            with cgutils.for_range(builder, batch) as loop:
                b = loop.index
                at = builder.add(builder.mul(b, n_out), j0)
                e = [load(v, d_arr.data, builder.add(at, const(v * lanes)))
                     for v in range(UPDATE_VECTORS)]
                for r in range(UPDATE_ROWS):
                    x = _splat(builder, vec, builder.load(
                        builder.gep(z_arr.data, [builder.add(z_rows[r], b)])))
                    for v in range(UPDATE_VECTORS):
                        builder.store(_fma(builder, vec, x, e[v], builder.load(acc[r][v])),
                                      acc[r][v])
            for r in range(UPDATE_ROWS):
                with builder.if_then(builder.icmp_signed("<", const(r), nk)):
                    w_at = builder.add(builder.mul(builder.add(k0, const(r)), n_out), j0)
                    for v in range(UPDATE_VECTORS):
                        at = builder.add(w_at, const(v * lanes))
                        new = _fma(builder, vec, minus_lr, builder.load(acc[r][v]),
                                   load(v, w_arr.data, at))
                        store(v, new, w_arr.data, at)

        _whole_or_masked(builder, intp, vec, UPDATE_VECTORS, width, emit)
        return context.get_dummy_value()

    return sig, codegen
