"""Rows mixing kinds of cells (shared strings, numbers, dates, booleans...), as Excel writes them: read by
one C-level `split` of the row into its cells' columns, attributes and values, then by a function made for
that shape of row (which column holds what kind of value, at which place), kept for the next row shaped alike.

A shape's function is one list display, e.g. `[S(v[0]), "", NUM(v[1]), DATE(v[2], 1)]`, compiled once: a
row of 16 cells then costs one `split` and one call instead of a loop over tuples. The source holds only
column numbers and the names below, never text from the file. A value the function cannot read
(a bad number, a missing shared string) raises ValueError or IndexError and the row is read cell by cell
(xlsxcells), which gives calamine's value or a clear error.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from .xlsxbook import attrs
from .xlsxtext import COLUMNS, date_text, iso_text, number_text, xml_text

_MAX_SHAPES = 4096
_MAX_CACHED = 65_536  # numbers and dates converted, kept for the next cell holding the same
Plan = Callable[[list], list]


def _cached(convert: Callable[[str], str | None]) -> Callable[[str], str]:
    cache: dict[str, str] = {}

    def cached(v: str) -> str:
        text = cache.get(v)
        if text is None:
            text = convert(v)
            if text is None:
                raise ValueError(v)  # not a number: the cell-by-cell reader decides
            if len(cache) >= _MAX_CACHED:
                cache.clear()
            cache[v] = text
        return text
    return cached


class Shapes:
    def __init__(self, p: str, strings, book, offset: int, max_cols: int) -> None:
        self._offset, self._max_cols = offset, max_cols
        self._kinds = book.kinds
        self._plans: dict[str, tuple[Plan, int] | None] = {}
        self._strings = strings
        is_1904 = book.is_1904
        self._names = {**strings.names, "NUM": _cached(number_text), "XML": xml_text,
                       "ISO": lambda v: iso_text(xml_text(v)),
                       **{f"DATE{kind}": _cached(lambda v, kind=kind: date_text(v, kind, is_1904)) for kind in (1, 2)}}
        text = r"((?![ \t\r\n])[^<]*(?<![ \t\r\n]))"  # nothing calamine would trim
        # groups: column letters; the rest of the tag (attributes, then /> or <v> or <is><t>); the value
        self._split = re.compile(rf'<{p}c r="([A-Z]{{1,3}})[0-9]{{1,7}}("[^>/]*(?:/>|><{p}v>|><{p}is><{p}t>))'
                                 rf"(?:{text}(?:</{p}v>|</{p}t></{p}is>)</{p}c>)?").split
        self._cell = f"<{p}c"
        self._ends = (f"><{p}v>", f"><{p}is><{p}t>")

    def read(self, body: str) -> list[str] | None:
        """The row whose cells are `body`, None when it is not a row of usual cells (or its shape has no
        plan); ValueError or IndexError for a value the plan cannot read."""
        parts = self._split(body)
        letters = parts[1::4]
        if not letters or len(letters) != body.count(self._cell):
            return None  # no cell, or a cell of another shape
        shapes = parts[2::4]
        key = "|".join(letters) + "".join(shapes)
        plan = self._plans.get(key, False)
        if plan is False:
            if len(self._plans) >= _MAX_SHAPES:
                return None
            plan = self._plans[key] = self._plan(letters, shapes)
        if plan is None:
            return None
        values = parts[3::4]
        if values.count(None) != plan[1]:
            return None  # a value of another shape (e.g. a text with spaces to trim) in a cell that matched
        return plan[0](values)

    def _plan(self, letters: list[str], shapes: list[str]) -> tuple[Plan, int] | None:
        """The function reading rows of this shape, and the number of its cells without a value (<c/>)."""
        cols = [COLUMNS[c] - self._offset for c in letters]
        if cols[0] < 0 or cols[-1] >= self._max_cols or any(a >= b for a, b in zip(cols, cols[1:])):
            return None  # out of order, or a column the cell-by-cell reader must judge
        v_end, is_end = self._ends
        exprs = ['""'] * (cols[-1] + 1)
        for k, (col, shape) in enumerate(zip(cols, shapes)):
            if shape.endswith("/>"):
                continue  # <c/>: no value
            a = attrs(shape)
            t, s, v = a.get("t", ""), a.get("s", ""), f"v[{k}]"
            if shape.endswith(is_end):
                exprs[col] = v  # <is> whatever the type, as calamine reads it
            elif t == "s":
                exprs[col] = f'({self._strings.source(v)} if {v} else "")'
            elif t in ("", "n"):
                kind = 0
                if s:
                    if not s.isdigit():
                        return None
                    kind = self._kinds[int(s)] if int(s) < len(self._kinds) else 0
                exprs[col] = f'(NUM({v}) if {v} else "")' if not kind else f'(DATE{kind}({v}) if {v} else "")'
            elif t == "b":
                exprs[col] = f'(("true" if {v} != "0" else "false") if {v} else "")'
            elif t == "str":
                exprs[col] = f"XML({v})"
            elif t == "d":
                exprs[col] = f'(ISO({v}) if {v} else "")'
            elif t not in ("e", "inlineStr", "is"):
                return None  # an unknown type: the cell-by-cell reader refuses it
        namespace = dict(self._names)
        exec(f"def plan(v):\n    return [{', '.join(exprs)}]", namespace)  # noqa: S102 - numbers and names only
        return namespace["plan"], sum(shape.endswith("/>") for shape in shapes)
