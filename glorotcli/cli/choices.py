"""Enum choices for Typer options, built from the one definition of each name list in
``glorotcli.config`` (so ``--help`` lists them and shells can complete them)."""

from __future__ import annotations

import enum

from glorotcli.config import ACTIVATIONS, COSTS, DTYPES, INITS, INPUT_SCALES


def _choices(name: str, values: tuple[str, ...]) -> type[enum.Enum]:
    return enum.Enum(name, [(v, v) for v in values], type=str)


Activation = _choices("Activation", ACTIVATIONS)
Init = _choices("Init", INITS)
Cost = _choices("Cost", COSTS)
Dtype = _choices("Dtype", DTYPES)
InputScale = _choices("InputScale", INPUT_SCALES)


def value(choice):
    """The plain string of an Enum choice (``None`` stays ``None``)."""
    return None if choice is None else getattr(choice, "value", choice)
