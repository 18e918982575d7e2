"""Cells a spreadsheet would run as formulas (OWASP CSV injection), neutralised and restored.

A cell that starts with = + - @ tab or CR, after any apostrophes, gets one more apostrophe in front: what
spreadsheets take as "text, not a formula". The importer removes exactly one from a cell of that shape
(restore), so every value survives an export and an import unchanged: `+33612345678` travels as
`'+33612345678`, a name really written `'=x` as `''=x`. The rule itself is storage's (storage/columns.py): it applies it in SQL
to the columns an export reads.
"""

from __future__ import annotations

import re

from ...storage.api import neutralise

__all__ = ["neutralise", "restore"]
_NEUTRALISED = re.compile(r"'+[=+\-@\t\r]")


def restore(cell: str) -> str:
    """The value of a cell neutralise() wrote (any other cell is returned as it is)."""
    return cell[1:] if cell[:1] == "'" and _NEUTRALISED.match(cell) else cell
