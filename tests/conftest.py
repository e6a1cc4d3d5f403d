"""Shared test fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest

from glorotcli.environment import prepare

prepare()  # as the glorot command does first: before Numba starts its OpenMP pool

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
MNIST_DIR = SHARED / "data" / "mnist"
GOLDEN = SHARED / "data" / "shapeset_golden" / "golden500.npz"


@pytest.fixture
def run_cli(capsys):
    """Run ``glorot ARGS...`` in-process; return (exit status, stdout, stderr)."""
    from glorotcli.cli.app import main

    def run(*args: str) -> tuple[int, str, str]:
        try:
            main([str(a) for a in args])
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        out, err = capsys.readouterr()
        return code, out, err

    return run


def require_shared(path: Path, what: str) -> None:
    """Skip a test whose fixture in ../shared is missing, on a developer's machine; fail it in
    CI (``CI=true``), where a missing fixture means the checkout is broken, not optional."""
    import os

    if path.exists():
        return
    message = f"{what} not found at {path}"
    if os.environ.get("CI") == "true":
        pytest.fail(f"{message} (CI=true: the shared data must be there)")
    pytest.skip(message)


@pytest.fixture
def mnist_dir() -> Path:
    """The official MNIST files in ../shared (skipped without them, failed in CI)."""
    require_shared(MNIST_DIR / "train-images-idx3-ubyte.gz", "real MNIST files")
    return MNIST_DIR
