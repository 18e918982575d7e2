"""The cells of XLSX rows: the patterns of xlsxfile's fast paths, and the parser of every other row (cells in
any shape, sparse or out of the usual attribute order, formulas, rich text, rows without numbers)."""

from __future__ import annotations

import re
from collections.abc import Callable

from ...errors import InvalidInput
from .xlsxbook import SharedStrings, attrs
from .xlsxplans import Shapes
from .xlsxtext import COLUMNS, column_of, date_text, excel_column, iso_text, number_text, rich_text, t_text, xml_text

_REF = re.compile(r"\$?([A-Za-z]{1,7})\$?([0-9]{0,10})")
_CELL_ATTRS = r'<{p}c r="([A-Z]{{1,3}})[0-9]{{1,7}}"(?: s="([0-9]{{1,6}})")?(?: t="([a-zA-Z]{{1,9}})")?'


class RowParser:
    def __init__(self, p: str, strings: SharedStrings, book, offset: int, max_cols: int,
                 too_wide: Callable[[int, int, str], Exception], name: str) -> None:
        self.p = p
        self._name = name
        self._strings = strings
        self._kinds = book.kinds
        self._is_1904 = book.is_1904
        self._offset = offset
        self._max_cols = max_cols
        self._too_wide = too_wide
        attrs_ = _CELL_ATTRS.format(p=p)
        text = r"((?![ \t\r\n])[^<]*(?<![ \t\r\n]))"  # a text calamine would not trim (no space at either end)
        # One group, so findall gives the row's values: "" for an empty cell, the text of an inline string
        # (calamine reads <is> whatever the cell's type). Anything else does not match: xlsxfile then sees
        # fewer values than the row's last column says, and reads the row cell by cell.
        self.fast_inline = re.compile(rf'<{p}c r="[^"]*"[^>/]*(?:/>|><{p}is><{p}t>{text}</{p}t></{p}is></{p}c>)')
        # One group: "" for an empty cell, the index of a shared string (the lookbehind: only of a t="s").
        self.fast_shared = re.compile(
            rf'<{p}c r="[^"]*"[^>/]*(?:/>|(?<= t="s")><{p}v>([0-9]{{1,10}})</{p}v></{p}c>)')
        # (column, style, type, value, inline text): cells written the usual way, of any kind.
        self._mixed = re.compile(
            rf"{attrs_}(?: ?/>|>(?:<{p}v>([^<]*)</{p}v>|<{p}is><{p}t>{text}</{p}t></{p}is>)</{p}c>)")
        self.shapes = Shapes(p, strings, book, offset, max_cols)
        self._cell = re.compile(rf"""<{p}c\b((?:[^>"']|"[^"]*"|'[^']*')*?)\s*(?:/>|>(.*?)</{p}c\s*>)""", re.S)
        self._v = re.compile(rf"<{p}v\b[^>]*?(?:/>|>([^<]*)</{p}v\s*>)")
        self._is = re.compile(rf"<{p}is\b[^>]*?(?:/>|>(.*?)</{p}is\s*>)", re.S)
        self._row = re.compile(rf"<{p}row\b((?:[^>\"']|\"[^\"]*\"|'[^']*')*?)\s*(/?)>")

    # -- rows of the usual shape, cell by cell

    def cells(self, piece: str, pos: int, line: int) -> list[str]:
        """The values of the row whose cells start at piece[pos:] (up to its end)."""
        found = self._mixed.findall(piece, pos)
        if found and len(found) == piece.count(f"<{self.p}c", pos):
            offset, columns, value = self._offset, COLUMNS, self.value
            row: list[str] = []
            for letters, s, t, v, text in found:
                i = columns[letters] - offset
                if t == "s" and v:
                    val = self._shared(v, line)
                elif text or t in ("inlineStr", "is"):
                    val = t_text(text, False) if text else ""
                else:
                    val = value(t, s, v, line, letters) if v else ""
                if i == len(row):
                    row.append(val)
                else:
                    self._place(row, i, val, line, letters)
            return row
        return self._general(piece[pos:], line)

    def _place(self, row: list[str], i: int, val: str, line: int, ref: str) -> None:
        if not val:
            return
        if i < 0:
            raise InvalidInput("file", f"{self._name} row {line} has a value in column {ref}, left of the range "
                                       "the sheet declares (its <dimension>); re-save the workbook")
        if i >= self._max_cols:
            raise self._too_wide(line, i + 1, f"{ref}{line}")
        if i < len(row):
            row[i] = val
        else:
            row.extend([""] * (i - len(row)))
            row.append(val)

    def _shared(self, v: str, line: int) -> str:
        try:
            return self._strings.get(int(v) if v.isdigit() else 0)  # calamine reads a bad index as 0
        except IndexError:
            raise InvalidInput("file", f"{self._name} row {line} refers to shared string {v}, which the workbook "
                                       "does not have; re-save the workbook") from None

    def value(self, t: str, s: str, v: str, line: int, ref: str) -> str:
        """A `<v>` cell's value, as calamine reads it for its type `t` and style `s`."""
        if not t or t == "n":
            kinds = self._kinds
            kind = (kinds[int(s)] if int(s) < len(kinds) else 0) if s.isdigit() else (
                (kinds[0] if kinds else 0) if s else 0)
            text = number_text(v) if not kind else date_text(v, kind, self._is_1904)
            if text is not None:
                return text
            if not t:
                return xml_text(v)  # calamine keeps a typeless non-number as text
            raise InvalidInput("file", f"{self._name} cell {ref}{line} is typed a number but holds {v[:40]!r}; "
                                       "re-save the workbook")
        if t == "s":
            return self._shared(v, line)
        if t == "b":
            return "true" if v != "0" else "false"
        if t == "str":
            return xml_text(v)
        if t == "d":
            return iso_text(xml_text(v))
        if t in ("e", "inlineStr", "is"):
            return ""  # an error (calamine gives no value), or an inline string's stray <v>
        raise InvalidInput("file", f"{self._name} cell {ref}{line} has an unknown type {t!r}; re-save the workbook")

    # -- anything else

    def _general(self, xml: str, line: int) -> list[str]:
        row: list[str] = []
        col = self._offset - 1
        for attr_text, body in self._cell.findall(xml):
            a = attrs(attr_text)
            ref = a.get("r")
            if ref is not None:
                m = _REF.fullmatch(ref)
                if m is None:
                    raise InvalidInput("file", f"{self._name} row {line} has a cell named {ref[:20]!r}; "
                                               "re-save the workbook")
                col = column_of(m.group(1).upper())
            else:
                col += 1
            letters = excel_column(col)
            val = ""
            inline = self._is.search(body) if body else None
            if inline is not None:
                val = rich_text(inline.group(1) or "", self.p)
            elif body:
                v = self._v.search(body)
                if v is not None and v.group(1):
                    val = self.value(a.get("t", ""), a.get("s", ""), v.group(1), line, letters)
            self._place(row, col - self._offset, val, line, letters)
        return row

    def first_value(self, piece: str) -> int | None:
        """The column of the first cell of `piece` (a row's XML) that holds a value for calamine (an inline
        string, even empty; a `<v>` with something in it), None when none does."""
        col = -1
        for m in self._cell.finditer(piece):
            ref = _REF.fullmatch(attrs(m.group(1)).get("r", ""))
            col = column_of(ref.group(1).upper()) if ref else col + 1
            body = m.group(2)
            if body:
                v = self._v.search(body)
                if self._is.search(body) or (v is not None and v.group(1)):
                    return col
        return None

    def rows(self, piece: str, line: int) -> tuple[list[tuple[int, list[str]]], int]:
        """Every row in `piece` (XML holding one `</row>`-ended row, maybe after empty `<row/>`s), numbered
        by their r="" or, without one, as the row after the previous; with the last row number."""
        out = []
        tags = list(self._row.finditer(piece))
        for k, tag in enumerate(tags):
            number = attrs(tag.group(1)).get("r", "")
            line = int(number) if number.isdigit() else line + 1
            if tag.group(2):  # <row/>
                continue
            end = tags[k + 1].start() if k + 1 < len(tags) else len(piece)
            body = piece[tag.end():end]
            if not number.isdigit():  # no row number: its first cell's, where calamine places it
                cell = self._cell.search(body)
                ref = _REF.fullmatch(attrs(cell.group(1)).get("r", "")) if cell else None
                if ref and ref.group(2):
                    line = int(ref.group(2))
            out.append((line, self._general(body, line)))
        return out, line
