"""``glorot bench``: how fast glorot trains, against other implementations and the machine's roof.

- ``core``: the training-step benchmark (glorot, NumPy, PyTorch eager, JAX jit, and the sgemm
  roof, interleaved in worker processes) and its report;
- ``workers``: the worker processes, one implementation each;
- ``busy``: the default thread count against ``--threads 1`` with a core kept busy.

Run a worker with ``python -m glorotcli.bench`` (see ``__main__``).
"""

from glorotcli.bench.core import (
    IMPLS,
    TARGETS,
    BenchResult,
    BenchSettings,
    blas_report,
    format_result,
    run_bench,
    step_flops,
)

__all__ = ["IMPLS", "TARGETS", "BenchResult", "BenchSettings", "blas_report", "format_result",
           "run_bench", "step_flops"]
