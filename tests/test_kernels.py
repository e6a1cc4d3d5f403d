"""The fast training step (fused Numba kernels and the BLAS path) against the slow reference."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from reference import ref_act, ref_gradients, ref_sgd_step

from glorotcli.errors import GlorotError
from glorotcli.nn import mlp
from glorotcli.nn.activations import ACTIVATIONS
from glorotcli.nn.init import init_mlp

SIZES = (12, 10, 10, 4)


def _net(activation, dtype, seed=0, sizes=SIZES, init="normalized"):
    net = init_mlp(sizes, activation, init, np.random.default_rng(seed), dtype)
    rng = np.random.default_rng(seed + 1)
    for b in net.b:  # non-zero biases exercise the bias gradient too
        b[...] = rng.uniform(-0.2, 0.2, b.shape)
    return net


def _batches(n, B, sizes=SIZES, dtype=np.float64, seed=2):
    rng = np.random.default_rng(seed)
    return [(rng.uniform(-1, 1, (B, sizes[0])).astype(dtype), rng.integers(0, sizes[-1], B))
            for _ in range(n)]


def _cost(net, x, y, cost):
    return ref_gradients(net.W, net.b, net.activation, x, y, cost)[0]


@pytest.mark.parametrize("cost", mlp.COSTS)
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_gradients_match_central_differences(activation, cost):
    net = _net(activation, np.float64, sizes=(5, 4, 4, 3))
    (x, y), = _batches(1, 3, sizes=net.sizes)
    bwd = mlp.backward(net, mlp.forward(net, x), y, cost)
    # the fused step with lr = 1 subtracts exactly the gradient
    stepped = net.copy()
    mlp.Trainer(stepped, cost, threads=1, path="fused").step(x, y, 1.0)
    h = 1e-6
    for i in range(len(net.W)):
        for params, grad, new in ((net.W, bwd.dW, stepped.W), (net.b, bwd.db, stepped.b)):
            fd = np.zeros_like(params[i])
            for idx in np.ndindex(params[i].shape):
                old = params[i][idx]
                params[i][idx] = old + h
                up = _cost(net, x, y, cost)
                params[i][idx] = old - h
                down = _cost(net, x, y, cost)
                params[i][idx] = old
                fd[idx] = (up - down) / (2 * h)
            np.testing.assert_allclose(grad[i], fd, atol=1e-8)
            np.testing.assert_allclose(params[i] - new[i], fd, atol=1e-8)


def _train(net, batches, lr, cost, path, threads=1):
    trainer = mlp.Trainer(net, cost, threads=threads, path=path)
    return [trainer.step(x, y, lr) for x, y in batches]


@pytest.mark.parametrize("path", ["fused", "blas"])
@pytest.mark.parametrize("dtype, tol", [(np.float32, 1e-5), (np.float64, 1e-10)])
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_100_sgd_steps_match_the_reference(activation, dtype, tol, path):
    net = _net(activation, dtype)
    batches = _batches(5, 7, dtype=dtype) * 20  # 100 steps, 5 batches seen 20 times each
    ref_W, ref_b = [w.copy() for w in net.W], [b.copy() for b in net.b]
    ref_losses = [ref_sgd_step(ref_W, ref_b, activation, x, y, 0.1, "nll") for x, y in batches]
    losses = _train(net, batches, 0.1, "nll", path)
    for i in range(len(net.W)):
        np.testing.assert_allclose(net.W[i], ref_W[i], rtol=0, atol=tol)
        np.testing.assert_allclose(net.b[i], ref_b[i], rtol=0, atol=tol)
    np.testing.assert_allclose(losses, ref_losses, rtol=10 * tol)
    assert np.mean(ref_losses[-5:]) < np.mean(ref_losses[:5]), "the test must actually train"


@pytest.mark.parametrize("path", ["fused", "blas"])
def test_quadratic_cost_steps_match_the_reference(path):
    net = _net("tanh", np.float64)
    batches = _batches(30, 5)
    ref_W, ref_b = [w.copy() for w in net.W], [b.copy() for b in net.b]
    for x, y in batches:
        ref_sgd_step(ref_W, ref_b, "tanh", x, y, 0.5, "quadratic")
    _train(net, batches, 0.5, "quadratic", path)
    for i in range(len(net.W)):
        np.testing.assert_allclose(net.W[i], ref_W[i], rtol=0, atol=1e-10)


@settings(max_examples=25, deadline=None)
@given(n_in=st.integers(1, 40), hidden=st.lists(st.integers(1, 40), min_size=0, max_size=3),
       n_out=st.integers(2, 6), B=st.integers(1, 70), threads=st.sampled_from([1, 2]),
       seed=st.integers(0, 2**16))
def test_any_shape_and_batch_size_matches_the_reference(n_in, hidden, n_out, B, threads, seed):
    sizes = (n_in, *hidden, n_out)
    net = _net("tanh", np.float64, seed, sizes)
    (x, y), = _batches(1, B, sizes, seed=seed)
    ref_W, ref_b = [w.copy() for w in net.W], [b.copy() for b in net.b]
    ref_loss = ref_sgd_step(ref_W, ref_b, "tanh", x, y, 0.3, "nll")
    for path in ("auto", "fused", "blas"):
        trained = net.copy()
        loss = mlp.Trainer(trained, threads=threads, path=path).step(x, y, 0.3)
        assert loss == pytest.approx(ref_loss, rel=1e-12)
        for i in range(len(sizes) - 1):
            np.testing.assert_allclose(trained.W[i], ref_W[i], rtol=0, atol=1e-12)
            np.testing.assert_allclose(trained.b[i], ref_b[i], rtol=0, atol=1e-12)
    fwd = mlp.forward(net, x, threads=threads)
    z = x
    for i in range(len(sizes) - 2):
        z = ref_act("tanh", z @ net.W[i] + net.b[i])
        np.testing.assert_allclose(fwd.z[i + 1], z, rtol=0, atol=1e-12)


# The backward (glorotcli/nn/simd.py backward_pass): examples in 1-4 passes of at most six (only,
# first, middle and last passes all occur among B = 1-20), rows in pairs with an unpaired last row
# (odd fan-ins), full vectors of columns and a masked tail (150 and 37 columns), 2 threads; from
# PRODUCTS_MIN_B (40) on, the two products with their partial tiles (examples not a multiple of
# 4, rows not a multiple of 6 or 4, 150 = 96 + 54 columns)
@pytest.mark.parametrize("B", [*range(1, 21), 39, 40, 41, 47, 64])
def test_every_pass_of_the_backward_matches_the_reference(B):
    sizes = (41, 150, 37, 5)
    net = _net("tanh", np.float64, sizes=sizes)
    (x, y), = _batches(1, B, sizes)
    ref_W, ref_b = [w.copy() for w in net.W], [b.copy() for b in net.b]
    ref_sgd_step(ref_W, ref_b, "tanh", x, y, 0.3, "nll")
    mlp.Trainer(net, threads=2, path="fused").step(x, y, 0.3)
    for i in range(len(sizes) - 1):
        np.testing.assert_allclose(net.W[i], ref_W[i], rtol=0, atol=1e-12)
        np.testing.assert_allclose(net.b[i], ref_b[i], rtol=0, atol=1e-12)


@pytest.mark.parametrize("path", ["fused", "blas"])
def test_same_seed_and_threads_give_bit_identical_weights(path):
    runs = []
    for _ in range(2):
        net = _net("tanh", np.float32, sizes=(64, 48, 48, 5))
        _train(net, _batches(20, 10, net.sizes, np.float32), 0.1, "nll", path, threads=2)
        runs.append(net)
    for a, b in zip(runs[0].W + runs[0].b, runs[1].W + runs[1].b, strict=True):
        assert np.array_equal(a, b)


# one to six blocks of the forward's tiles, one to three passes of the backward or its two products
# (B=41); odd fan-ins put an unpaired row where a 2-thread split could cut a pair
@pytest.mark.parametrize("B", [1, 2, 3, 5, 10, 16, 41])
@pytest.mark.parametrize("sizes", [(64, 48, 48, 5), (67, 47, 33, 5)])
def test_fused_path_does_not_depend_on_the_thread_count(B, sizes):
    nets = []
    for threads in (1, 2):
        net = _net("softsign", np.float32, sizes=sizes)
        _train(net, _batches(10, B, net.sizes, np.float32), 0.1, "nll", "fused", threads)
        nets.append(net)
    for a, b in zip(nets[0].W, nets[1].W, strict=True):
        assert np.array_equal(a, b)


def test_matches_pytorch():
    torch = pytest.importorskip("torch")
    net = _net("tanh", np.float64)
    batches = _batches(20, 6)
    layers = []
    for W, b in zip(net.W, net.b, strict=True):
        lin = torch.nn.Linear(*W.shape, dtype=torch.float64)
        with torch.no_grad():
            lin.weight.copy_(torch.from_numpy(W.T.copy()))
            lin.bias.copy_(torch.from_numpy(b))
        layers += [lin, torch.nn.Tanh()]
    model = torch.nn.Sequential(*layers[:-1])
    opt = torch.optim.SGD(model.parameters(), lr=0.2)
    for x, y in batches:
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(torch.from_numpy(x)), torch.from_numpy(y))
        loss.backward()
        opt.step()
    _train(net, batches, 0.2, "nll", "fused")
    for W, lin in zip(net.W, layers[::2], strict=True):
        np.testing.assert_allclose(W, lin.weight.detach().numpy().T, rtol=0, atol=1e-12)


def test_diverged_net_reports_nan_loss():
    net = _net("tanh", np.float32)
    net.W[0][0, 0] = np.nan
    (x, y), = _batches(1, 4, dtype=np.float32)
    assert np.isnan(mlp.sgd_step(net, x, y, 0.1))


def test_bad_batches_are_user_errors():
    net = _net("tanh", np.float32)
    x = np.zeros((3, SIZES[0]), np.float32)
    with pytest.raises(GlorotError, match="inputs must have shape"):
        mlp.sgd_step(net, x[:, 1:], np.zeros(3, int), 0.1)
    with pytest.raises(GlorotError, match="labels must be in 0..3"):
        mlp.sgd_step(net, x, np.array([0, 1, 4]), 0.1)
    with pytest.raises(GlorotError, match="cost must be one of"):
        mlp.sgd_step(net, x, np.zeros(3, int), 0.1, cost="hinge")
    with pytest.raises(GlorotError, match="threads must be"):
        mlp.Trainer(net, threads=0)


@settings(max_examples=200, deadline=None)
@given(n=st.integers(0, 3000), n_chunks=st.integers(1, 8), align=st.sampled_from([1, 8, 16]))
def test_chunks_partition_the_range_evenly_at_aligned_starts(n, n_chunks, align):
    from glorotcli.nn.kernels import _chunk_bounds

    bounds = [_chunk_bounds(n, n_chunks, c, align) for c in range(n_chunks)]
    assert bounds[0][0] == 0 and bounds[-1][1] == n
    for (_, hi), (lo2, _) in zip(bounds, bounds[1:], strict=False):
        assert hi == lo2  # contiguous, in order, no overlap
    sizes = [hi - lo for lo, hi in bounds]
    assert min(sizes) >= 0 and all(lo % align == 0 for lo, _ in bounds if lo < n)
    full = [s for s, (lo, hi) in zip(sizes, bounds, strict=True) if hi < n]  # all but the tail
    assert max(sizes) - min(full or sizes) <= align  # as even as the alignment allows


# Register tiles of the forward (glorotcli/nn/simd.py): every block shape (batches 1-24 cover all
# eleven), full tiles and the masked last tile (150 columns: 128 + 22 in float32, 64 + 64 + 22 or
# 48 + 48 + 48 + 6 in float64 tiles), and a 2-thread split of the columns at a vector boundary
@pytest.mark.parametrize("B", range(1, 25))
@pytest.mark.parametrize("dtype, tol", [(np.float32, 1e-6), (np.float64, 1e-14)])
def test_forward_tiles_match_the_reference_at_every_batch_size(B, dtype, tol):
    sizes = (40, 150, 37, 5)
    net = _net("tanh", dtype, sizes=sizes)
    (x, _), = _batches(1, B, sizes, dtype)
    outs = []
    for threads in (1, 2):
        trainer = mlp.Trainer(net, threads=threads, path="fused")
        outs.append(trainer.forward(x, copy=True))
    for i, (W, b) in enumerate(zip(net.W, net.b, strict=True)):  # each layer from its input
        z, W = outs[0].z[i].astype(np.float64), W.astype(np.float64)
        scale = (np.abs(z) @ np.abs(W)).max() + np.abs(b).max()
        np.testing.assert_allclose(outs[0].s[i], z @ W + b, rtol=0, atol=tol * scale)
    for a, b in zip(outs[0].s, outs[1].s, strict=True):  # each column summed by one lane
        assert np.array_equal(a, b)


def test_every_tile_shape_a_batch_can_ask_for_is_compiled():
    from glorotcli.nn import simd

    for B in range(1, 600):
        assert simd._shapes(B) <= set(simd._TILES), B
        blocks, nv = simd.tile_blocks(B)
        sizes = [B // blocks + (i < B % blocks) for i in range(blocks)]
        assert sum(sizes) == B and max(sizes) <= simd.MAX_BLOCK
        rb = max(sizes)
        assert rb * nv + nv + 1 <= 32  # accumulators, W vectors and a broadcast fit in registers
