"""Sweep recipes: TOML files that describe a grid (``glorot sweep --recipe NAME|FILE``).

A recipe file::

    description = "one line, shown by --list-recipes"
    note = "a paragraph, printed before the sweep starts"     # optional
    optional_data = ["cifar10"]     # dataset kinds left out, with a note, when not given
    [defaults]                      # settings of every block (a value or a list)
    depth = 5
    lr = [0.01, 0.03, 0.1]
    [[grid]]                        # one or more blocks; the sweep is their union
    data = "mnist"                  # "online", a dataset kind, or a dataset file
    activation = ["tanh", "softsign"]
    init = ["normalized", "standard"]
    [pretrain]                      # optional: settings of the sweep's pre-trainings
    steps_per_layer = 20000
    [[grid]]
    data = "online"
    activation = "sigmoid"
    pretrain = true                 # fine-tune from a pre-training of each network

Keys are the long names of ``glorot train``'s options with ``_`` for ``-`` (``batch_size``);
``[pretrain]`` takes ``glorot pretrain``'s own options (``grid.PRETRAIN_OWN``).
The recipes shipped with glorot live beside this module in ``recipes/``.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from glorotcli.errors import GlorotError
from glorotcli.run.grid import AXES, DATA_KINDS, PRETRAIN_OWN

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.10
    import tomli as tomllib

TOP_KEYS = ("description", "note", "optional_data", "defaults", "grid", "pretrain")


@dataclass(frozen=True)
class Recipe:
    """A parsed recipe: ``blocks`` are the grid blocks with the defaults merged in."""

    name: str
    description: str
    note: str
    blocks: list[dict] = field(default_factory=list)
    optional_data: tuple[str, ...] = ()
    pretrain: dict = field(default_factory=dict)
    """Settings of the pre-trainings of blocks with ``pretrain = true``."""


def shipped() -> dict[str, Path]:
    """The recipes that come with glorot: name -> file."""
    folder = resources.files("glorotcli.run") / "recipes"
    return {Path(str(p)).stem: Path(str(p)) for p in folder.iterdir()
            if str(p).endswith(".toml")}


def load(name_or_path: str) -> Recipe:
    """A shipped recipe by name, or a recipe file by path. Raises GlorotError naming the file
    and key for anything wrong."""
    known = shipped()
    if name_or_path in known:
        path = known[name_or_path]
    else:
        path = Path(name_or_path)
        if not path.suffix and not path.exists():
            raise GlorotError(f"--recipe: no recipe named {name_or_path!r} (shipped: "
                              f"{', '.join(sorted(known))}; or give a .toml file)")
        if not path.is_file():
            raise GlorotError(f"{path}: no such recipe file")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise GlorotError(f"{path}: cannot read the recipe ({exc})") from None
    return parse(text, where=str(path), name=path.stem)


def parse(text: str, *, where: str, name: str) -> Recipe:
    """Parse recipe TOML text; ``where`` names it in messages."""
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise GlorotError(f"{where}: not valid TOML ({exc})") from None
    unknown = sorted(set(doc) - set(TOP_KEYS))
    if unknown:
        raise GlorotError(f"{where}: unknown key {unknown[0]!r} (a recipe has "
                          f"{', '.join(TOP_KEYS)}; settings go under [defaults] or [[grid]])")
    defaults = doc.get("defaults", {})
    if not isinstance(defaults, Mapping):
        raise GlorotError(f"{where}: defaults must be a table ([defaults])")
    _check_keys(defaults, f"{where}: [defaults]")
    grid = doc.get("grid")
    if grid is None:
        raise GlorotError(f"{where}: no [[grid]] block")
    if not isinstance(grid, list) or not all(isinstance(b, Mapping) for b in grid):
        raise GlorotError(f"{where}: grid must be an array of tables ([[grid]] blocks)")
    blocks = []
    for k, b in enumerate(grid):
        _check_keys(b, f"{where}: [[grid]] block {k + 1}")
        blocks.append({**defaults, **b})
    optional = doc.get("optional_data", [])
    if not isinstance(optional, list) or any(v not in DATA_KINDS for v in optional):
        raise GlorotError(f"{where}: optional_data must be a list of dataset kinds "
                          f"({', '.join(DATA_KINDS)}), got {optional!r}")
    for key in ("description", "note"):
        if not isinstance(doc.get(key, ""), str):
            raise GlorotError(f"{where}: {key} must be a string")
    pretrain = doc.get("pretrain", {})
    if not isinstance(pretrain, Mapping):
        raise GlorotError(f"{where}: pretrain must be a table ([pretrain])")
    unknown = sorted(set(pretrain) - set(PRETRAIN_OWN))
    if unknown:
        raise GlorotError(f"{where}: [pretrain]: unknown setting {unknown[0]!r} (it takes "
                          f"{', '.join(PRETRAIN_OWN)})")
    return Recipe(name=name, description=doc.get("description", ""),
                  note=" ".join(doc.get("note", "").split()), blocks=blocks,
                  optional_data=tuple(optional), pretrain=dict(pretrain))


def _check_keys(table: Mapping, where: str) -> None:
    for key in table:
        if key not in AXES:
            raise GlorotError(f"{where}: unknown setting {key!r} (settings are the long names "
                              f"of glorot train's options with '_' for '-', e.g. batch_size)")
