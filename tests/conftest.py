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
