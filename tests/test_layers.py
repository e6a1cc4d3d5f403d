"""The package ladder of the house style ("layers that only point down"): a module imports only
modules of its own package or of packages below it, at module level and inside functions alike,
so no two packages import each other."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "glorotcli"

LADDER = {
    "cli": 7,
    "api": 6,
    "run": 5, "bench": 5,
    "report": 4,
    "stats": 3,
    "nn": 2,
    "data": 1,
    "config": 0, "fileio": 0, "environment": 0,
    "errors": -1, "progress": -1, "superblock": -1,
}
"""Rank of each package (or top-level module); higher ranks may import lower ones."""


def _unit(module: str) -> str | None:
    """``glorotcli.stats.probes`` -> ``stats``; ``glorotcli`` itself -> None."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == "glorotcli" else None


def _imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text())
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "glorotcli":
                found += [(node.lineno, f"glorotcli.{a.name}") for a in node.names]
            else:
                found.append((node.lineno, node.module))
        elif isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
    return [(line, m) for line, m in found if m.startswith("glorotcli")]


MODULES = sorted(p for p in ROOT.rglob("*.py") if p.name != "__main__.py")


def test_every_package_has_a_rank():
    units = {p.relative_to(ROOT).parts[0].removesuffix(".py") for p in MODULES}
    assert units - {"__init__"} <= set(LADDER), units - set(LADDER)


@pytest.mark.parametrize("path", MODULES, ids=[str(p.relative_to(ROOT)) for p in MODULES])
def test_imports_point_down_the_ladder(path):
    unit = path.relative_to(ROOT).parts[0].removesuffix(".py")
    if unit == "__init__":
        return  # the package root re-exports the API
    wrong = []
    for line, module in _imports(path):
        other = _unit(module)
        if other is None:
            if module == "glorotcli" or module.startswith("glorotcli.__"):
                continue  # __version__
            wrong.append((line, module))
        elif other in ("__version__",):
            continue
        elif other != unit and LADDER.get(other, 99) >= LADDER[unit]:
            wrong.append((line, module))
    assert not wrong, f"{path.relative_to(ROOT)} imports upwards or sideways: {wrong}"


def test_no_test_module_imports_another():
    """Shared test code lives in conftest.py, helpers.py or reference.py, never in a test_ module
    another one imports (importing one runs its module-level set-up and hides its tests' needs)."""
    tests = Path(__file__).resolve().parent
    wrong = []
    for path in sorted(tests.glob("test_*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            names = ([node.module or ""] if isinstance(node, ast.ImportFrom)
                     else [a.name for a in node.names] if isinstance(node, ast.Import) else [])
            wrong += [(path.name, n) for n in names if n.startswith("test_")]
    assert not wrong, wrong
