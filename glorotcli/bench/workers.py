"""The benchmark's worker processes: one implementation each, answering timing requests.

A worker prints one JSON line on start (``{"version": ...}``, or ``{"skip": reason}`` when its
library is missing), then for every request line ``{"batch", "threads", "seconds"}`` it steps
the net for that long and answers ``{"steps_per_s", "steps"}``. Every implementation trains the
same net (1024-1000xDEPTH-9, tanh, softmax + NLL, plain SGD) on the same 16 random minibatches
per batch size, with the thread count of the request:

- ``glorot``: ``Trainer.step`` (``threads`` Numba threads), after ``environment.prepare`` as the
  ``glorot`` command does;
- ``numpy``: plain NumPy, ``@`` with fresh arrays each step (threadpoolctl limits BLAS);
- ``torch``: PyTorch eager, ``nn.Sequential``, ``CrossEntropyLoss``, ``optim.SGD``
  (``torch.set_num_threads``);
- ``jax``: ``jax.jit`` of the whole step (value_and_grad and the update, weights donated). JAX
  sizes its thread pool once, from the CPUs the process may use at start-up, so a JAX worker
  serves one thread count: it starts on that many CPUs, builds its CPU client, and then gives
  every thread back all CPUs (so its threads float like everyone else's). Steps are dispatched
  asynchronously and waited for at the end of each measurement (JAX's best case);
- ``sgemm``: the step's matrix products alone, NumPy ``@`` into preallocated arrays (the floor
  at BLAS speed); batch 0: one large product (the machine's peak sgemm rate).
"""

from __future__ import annotations

import json
import os
import sys
import time

from glorotcli.bench.core import PEAK_ROWS, BenchSettings


def _data(settings: BenchSettings, B: int, dtype, n: int = 16):
    import numpy as np

    rng = np.random.default_rng(B)
    return [(rng.random((B, settings.sizes[0])).astype(dtype),
             rng.integers(0, settings.sizes[-1], B)) for _ in range(n)]


def _uniform_init(settings: BenchSettings):
    """Normalized initialisation (eq. 16) drawn with NumPy, zero biases."""
    import numpy as np

    rng = np.random.default_rng(0)
    sizes, dtype = settings.sizes, np.dtype(settings.dtype)
    W = [rng.uniform(-a, a, (m, n)).astype(dtype)
         for m, n, a in ((m, n, np.sqrt(6 / (m + n)))
                         for m, n in zip(sizes[:-1], sizes[1:], strict=False))]
    b = [np.zeros(n, dtype) for n in sizes[1:]]
    return W, b


def _glorot_impl(settings: BenchSettings, threads: int | None):
    from glorotcli.environment import prepare

    prepare()  # glorot's OpenMP wait policy, as the glorot command sets it first thing
    import numpy as np

    from glorotcli.nn.init import init_mlp
    from glorotcli.nn.mlp import Trainer

    net = init_mlp(settings.sizes, settings.activation, "normalized",
                   np.random.default_rng(0), settings.dtype)
    trainers: dict[int, Trainer] = {}

    def make(B, n):
        tr = trainers.get(n)
        if tr is None:
            tr = trainers[n] = Trainer(net, "nll", n)
        return lambda x, y: tr.step(x, y, settings.lr)

    return make, np.dtype(settings.dtype), "glorot"


def _numpy_impl(settings: BenchSettings, threads: int | None):
    """The plain NumPy way: ``@`` for the products, fresh arrays every step."""
    import numpy as np
    from threadpoolctl import threadpool_limits

    W, b = _uniform_init(settings)
    dtype = np.dtype(settings.dtype)
    lr = dtype.type(settings.lr)
    limits: dict[int, object] = {}

    def step(x, y):
        zs = [x]
        for i in range(len(W) - 1):
            zs.append(np.tanh(zs[-1] @ W[i] + b[i]))
        s = zs[-1] @ W[-1] + b[-1]
        e = np.exp(s - s.max(axis=1, keepdims=True))
        p = e / e.sum(axis=1, keepdims=True)
        loss = -np.log(p[np.arange(len(y)), y]).mean()
        ds = p
        ds[np.arange(len(y)), y] -= 1
        ds /= len(y)
        for i in range(len(W) - 1, -1, -1):
            dW = zs[i].T @ ds
            db = ds.sum(axis=0)
            if i > 0:
                ds = (ds @ W[i].T) * (1 - zs[i] * zs[i])
            W[i] -= lr * dW
            b[i] -= lr * db
        return loss

    def make(B, n):
        if n not in limits:  # switch BLAS threads once per request, not per step
            limits.clear()
            limits[n] = threadpool_limits(limits=n, user_api="blas")
        return step

    return make, dtype, "numpy " + np.__version__


def _sgemm_impl(settings: BenchSettings, threads: int | None):
    """The matrix products of one step, as glorot's BLAS path and NumPy make them, into
    preallocated arrays: forward ``z W``, then per layer from the top ``dC/ds W^T`` (all but the
    first) and ``z^T dC/ds``. Values are random; only the speed matters. Batch 0 asks for the
    peak instead: one (PEAK_ROWS x width) @ (width x width) product."""
    import numpy as np
    from threadpoolctl import threadpool_limits

    W, _ = _uniform_init(settings)
    dtype = np.dtype(settings.dtype)
    sizes = settings.sizes
    rng = np.random.default_rng(1)
    limits: dict[int, object] = {}
    bufs: dict[int, tuple] = {}
    dW = np.empty(max(w.size for w in W), dtype)

    def make(B, n):
        if n not in limits:
            limits.clear()
            limits[n] = threadpool_limits(limits=n, user_api="blas")
        if B == 0:  # the peak: one large product, PEAK_ROWS x width @ width x width
            a = rng.random((PEAK_ROWS, settings.width)).astype(dtype)
            w = rng.random((settings.width, settings.width)).astype(dtype)
            out = np.empty((PEAK_ROWS, settings.width), dtype)
            return lambda x, y: np.matmul(a, w, out=out)
        if B not in bufs:
            z = [rng.random((B, k)).astype(dtype) for k in sizes[:-1]]
            s = [np.empty((B, k), dtype) for k in sizes[1:]]
            ds = [rng.random((B, k)).astype(dtype) for k in sizes[1:]]
            bufs[B] = (z, s, ds)
        z, s, ds = bufs[B]

        def products(x, y):
            for i in range(len(W)):
                np.matmul(z[i], W[i], out=s[i])
            for i in range(len(W) - 1, -1, -1):
                if i > 0:
                    np.matmul(ds[i], W[i].T, out=z[i])
                np.matmul(z[i].T, ds[i], out=dW[:W[i].size].reshape(W[i].shape))
            return 0.0

        return products

    return make, dtype, "sgemm (numpy " + np.__version__ + ")"


def _torch_impl(settings: BenchSettings, threads: int | None):
    import numpy as np
    import torch

    torch.manual_seed(0)
    sizes = settings.sizes
    tdtype = torch.float32 if settings.dtype == "float32" else torch.float64
    layers = []
    for m, n in zip(sizes[:-1], sizes[1:], strict=False):
        layers += [torch.nn.Linear(m, n, dtype=tdtype), torch.nn.Tanh()]
    model = torch.nn.Sequential(*layers[:-1])
    opt = torch.optim.SGD(model.parameters(), lr=settings.lr)
    loss_fn = torch.nn.CrossEntropyLoss()
    cache: dict[int, tuple] = {}

    def step(x, y):
        xt, yt = cache[id(x)]
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(xt), yt)
        loss.backward()
        opt.step()
        return loss.item()

    def make(B, n):
        torch.set_num_threads(n)
        return step

    def convert(batches):
        for x, y in batches:
            cache[id(x)] = (torch.from_numpy(x), torch.from_numpy(y))
        return batches

    make.convert = convert
    return make, np.dtype(settings.dtype), f"torch {torch.__version__}"


def _all_threads_on(cpus: set[int]) -> None:
    """Let every thread of this process run on ``cpus`` (Linux: one affinity per thread)."""
    try:
        tids = [int(t) for t in os.listdir("/proc/self/task")]
    except OSError:
        tids = [0]
    for tid in tids:
        try:
            os.sched_setaffinity(tid, cpus)
        except OSError:
            pass


def _jax_impl(settings: BenchSettings, threads: int | None):
    import numpy as np

    allowed = set(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else set()
    pinned = threads is not None and allowed and threads < len(allowed)
    if pinned:  # XLA sizes its CPU thread pool from the CPUs it may use at start-up
        os.sched_setaffinity(0, set(sorted(allowed)[:threads]))
    import jax
    import jax.numpy as jnp

    jax.devices("cpu")  # build the CPU client (and its thread pool) now
    if pinned:
        _all_threads_on(allowed)
    W, b = _uniform_init(settings)
    params = [(jnp.asarray(w), jnp.asarray(c)) for w, c in zip(W, b, strict=True)]
    lr = settings.lr

    def cost(params, x, y):
        z = x
        for w, c in params[:-1]:
            z = jnp.tanh(z @ w + c)
        w, c = params[-1]
        logp = jax.nn.log_softmax(z @ w + c)
        return -jnp.mean(jnp.take_along_axis(logp, y[:, None], axis=1))

    def sgd(params, x, y):
        loss, grads = jax.value_and_grad(cost)(params, x, y)
        return jax.tree_util.tree_map(lambda p, g: p - lr * g, params, grads), loss

    step_jit = jax.jit(sgd, donate_argnums=0)
    state = {"params": params, "loss": None}
    cache: dict[int, tuple] = {}

    def step(x, y):
        xj, yj = cache[id(x)]
        state["params"], state["loss"] = step_jit(state["params"], xj, yj)
        return state["loss"]

    def make(B, n):
        if n != threads:
            raise ValueError(f"this JAX worker serves {threads} thread(s), not {n}")
        return step

    def convert(batches):
        for x, y in batches:
            cache[id(x)] = (jnp.asarray(x), jnp.asarray(y))
        return batches

    def sync():
        if state["loss"] is not None:
            state["loss"].block_until_ready()

    make.convert = convert
    make.sync = sync
    version = f"jax {jax.__version__}"
    return make, np.dtype(settings.dtype), version


IMPLEMENTATIONS = {"glorot": _glorot_impl, "numpy": _numpy_impl, "torch": _torch_impl,
                   "jax": _jax_impl, "sgemm": _sgemm_impl}


def worker(impl: str, settings: BenchSettings, threads: int | None = None) -> None:
    """Serve timing requests on stdin/stdout (see the module docstring)."""
    try:
        make, dtype, version = IMPLEMENTATIONS[impl](settings, threads)
    except ImportError as exc:
        print(json.dumps({"skip": f"{impl} not installed ({exc.name}); "
                                  f"pip install {exc.name or impl}"}), flush=True)
        return
    print(json.dumps({"version": version}), flush=True)
    sync = getattr(make, "sync", lambda: None)
    data: dict[int, list] = {}
    for line in sys.stdin:
        req = json.loads(line)
        cpu0 = time.process_time()
        B, n, seconds = req["batch"], req["threads"], req["seconds"]
        if B not in data:
            data[B] = _data(settings, B, dtype)
            if hasattr(make, "convert"):
                make.convert(data[B])
        batches = data[B]
        step = make(B, n)
        for i in range(3):  # settle caches and thread pools (and compile, for JAX)
            step(*batches[i % len(batches)])
        sync()
        k = 0
        t0, c0 = time.perf_counter(), time.process_time()
        while True:
            step(*batches[k % len(batches)])
            k += 1
            if time.perf_counter() - t0 >= seconds:
                break
        sync()
        elapsed = time.perf_counter() - t0
        cores = (time.process_time() - c0) / elapsed  # CPU time of all its threads / wall
        print(json.dumps({"steps_per_s": k / elapsed, "steps": k, "cores": cores,
                          "cpu_s": time.process_time() - cpu0}), flush=True)


def first_step(settings: BenchSettings) -> None:
    """Child of ``first_step_latency``: import, build the net, one step, print the time."""
    from glorotcli.environment import prepare

    prepare()
    import numpy as np

    from glorotcli.nn.init import init_mlp
    from glorotcli.nn.mlp import Trainer

    net = init_mlp(settings.sizes, settings.activation, "normalized",
                   np.random.default_rng(0), settings.dtype)
    x, y = _data(settings, 10, np.dtype(settings.dtype), n=1)[0]
    Trainer(net, "nll").step(x, y, settings.lr)
    print(json.dumps({"done": time.time()}), flush=True)
