"""The rows `omctl show` prints, built by each kind's model as plain data.

A row is a label and a value, each a sequence of pieces: plain text, or a ``Mark`` (text with
the state it tells: ok, warning, failed, error). The models decide the words and the states;
omctl/cli/evidence.py only lays the rows out and styles each state.
"""

from __future__ import annotations

from typing import Literal, NamedTuple

State = Literal["ok", "warning", "failed", "error", "changed"]


class Mark(NamedTuple):
    """Text shown in the style of its state (a verdict, a FAILED, a warning)."""

    text: str
    state: State


Piece = str | Mark


class Row(NamedTuple):
    """One label/value row of a record's table; an empty label continues the row above."""

    label: tuple[Piece, ...]
    value: tuple[Piece, ...]


def row(label: Piece | tuple[Piece, ...], *value: Piece) -> Row:
    # A Mark is a tuple too: only a tuple of pieces is a label of several.
    pieces = (label,) if isinstance(label, str | Mark) else label
    return Row(pieces, value)


def listed(label: Piece, items: list[str], *, empty: str | None = None) -> list[Row]:
    """One row per item, the label on the first only; ``empty`` as the row when none."""
    rows = [row(label if index == 0 else "", item) for index, item in enumerate(items)]
    return rows if rows or empty is None else [row(label, empty)]
