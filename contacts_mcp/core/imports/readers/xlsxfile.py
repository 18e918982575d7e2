"""XLSX read as a stream: the sheet's XML is inflated a block at a time (cut after a `</row>`, see xlsxsheet)
and its rows parsed with compiled patterns, so rows come out as they are read, in memory that does not grow
with the sheet (calamine, which reads XLS and ODS, holds the whole sheet as a dense grid first).

Each row takes the cheapest way that reads it whole, checked by its cell count against its last column:
  * all inline strings (openpyxl, our own export) or all shared strings: one C-level `findall` of the values;
  * cells of mixed kinds written the usual way (Excel, LibreOffice, pandas): one `split`, then a function
    compiled for that shape of row (xlsxplans);
  * anything else (other attribute orders, formulas, rich text, sparse or unnumbered rows, entities in
    inline strings): cell by cell (xlsxcells).
Values are what calamine gives and `_cell` writes (see xlsxtext). Rows start at the sheet's first column
holding a value and are as wide as the sheet declares, as calamine's. What the reading costs in memory
(shared strings, and the text they expand to once every reference is a cell) is checked before the first
row (see sheet_budget).
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from pathlib import Path

from ...errors import InvalidInput
from ..sheet_budget import BASE_BYTES, SheetTooBig, check_declared, check_text, declared_references
from ._base import Limits, _CountedTable, _truncate, _unguarded
from .xlsxbook import ZIP_ERRORS, Book, Members, SharedStrings, SheetInfo, read_book, read_shared_strings
from .xlsxcells import RowParser
from .xlsxsheet import PartScan, declared, part_head, sheet_blocks
from .xlsxtext import COLUMNS, DIGITS, t_text


class XlsxTable(_CountedTable):
    def __init__(self, name: str, limits: Limits, zf: zipfile.ZipFile, book: Book, strings: SharedStrings,
                 sheet: SheetInfo, first_column: int, width: int, total_rows: int | None, max_cells: int,
                 text_budget: int) -> None:
        super().__init__("xlsx", name, limits)
        self.sheet = sheet.name
        self.total_rows = total_rows
        self._zf = zf
        self._book = book
        self._strings = strings
        self._part = sheet.part
        self._offset = first_column
        self._width = width
        self._max_cells = max_cells
        self._text_budget = text_budget
        self._read = [0]  # bytes of the part's XML read by the latest tracked rows()
        self._size = zf.getinfo(sheet.part).file_size if sheet.part else 0

    def progress(self) -> float | None:
        if self.total_rows or self._done or not self._size:
            return super().progress()
        return min(self._read[0] / self._size, 1.0)  # no row count: the part's bytes read

    def _close(self) -> None:
        self._zf.close()

    def _first_column(self, declared: int) -> int:
        """The sheet's first column holding a value (calamine's rows start there): the declared one (the
        <dimension>'s) once a row has a value in it, else found by reading on (a rare sheet whose declared
        first column is empty everywhere: stray formatting)."""
        if self._part is None:
            return declared
        first = None
        try:
            f = self._zf.open(self._part)
        except ZIP_ERRORS as e:
            raise self._damaged(e) from None
        with f:
            blocks = sheet_blocks(f, self.name, self.sheet)
            p = next(blocks, None)
            if p is None:
                return declared
            parser = RowParser(p, self._strings, self._book, 0, self._limits.max_columns, self._row_error, self.name)
            end_row = f"</{p}row>"
            for text in blocks:
                for piece in text.split(end_row):
                    col = parser.first_value(piece)
                    if col is not None and (first is None or col < first):
                        first = col
                        if first == declared or first == 0:
                            return first
        return declared if first is None else first

    def _iter(self, skip: int, track: bool) -> Iterator[tuple[int, list[str]]]:
        if track:
            self._pos, self._done = skip, False
        if self._part is None:
            if track:
                self._done = True
            return iter(())
        return self._stream(skip, track)

    def _stream(self, skip: int, track: bool) -> Iterator[tuple[int, list[str]]]:  # noqa: C901 - the hot loop
        limits = self._limits
        max_chars, max_cols = limits.max_cell_chars, limits.max_columns
        try:
            f = self._zf.open(self._part)
        except ZIP_ERRORS as e:
            raise self._damaged(e) from None
        if track:
            self._read = [0]
        text_left = self._text_budget
        with f:
            blocks = sheet_blocks(f, self.name, self.sheet, self._read if track else None)
            p = next(blocks, None)
            if p is None:  # no sheetData: a chart or an empty sheet
                if track:
                    self._done = True
                return
            parser = RowParser(p, self._strings, self._book, self._offset, max_cols, self._row_error, self.name)
            row_open, cell_open = f"<{p}row r=\"", f"<{p}c r=\""
            row_skip, cell_skip = len(row_open), len(cell_open)
            end_row = f"</{p}row>"
            tag_v, tag_is = f"<{p}v>", f"<{p}is>"
            fast_inline, fast_shared, shapes = parser.fast_inline, parser.fast_shared, parser.shapes.read
            offset, columns, get = self._offset, COLUMNS, self._strings.get
            guard, guarded = f"<{p}t>'", self._strings.guarded
            # Rows are as wide as the sheet declares (as calamine's, as wide as its used range), or, wider than
            # a row may be or not declared, as wide as their last value.
            width = self._width if self._width <= max_cols else 0
            padding = [""] * width
            line = 0

            def finish(line: int, row: list[str]) -> list[str] | None:
                """A row as the hot loop below leaves it (for the rows it does not read itself)."""
                nonlocal text_left
                n = sum(map(len, row))
                if not n:
                    return None
                if len(row) < width:
                    row += padding[len(row):]
                while len(row) > width and not row[-1]:
                    row.pop()
                if len(row) > max_cols:
                    raise self._row_error(line, len(row), "")
                text_left -= n
                if text_left < 0:
                    raise self._text_error()
                return _truncate(_unguarded(row), max_chars)

            shared_rows = len(self._strings) > 0  # until a row mixes kinds: then rows go to `shapes`
            for text in blocks:
                amp, cr, x00 = "&" in text, "\r" in text, "_x00" in text
                if tag_v not in text:
                    fast = fast_inline
                elif shared_rows and tag_is not in text:
                    fast = fast_shared
                else:
                    fast = None
                for piece in text.split(end_row):
                    row = None
                    if piece.startswith(row_open):
                        q = piece.find('"', row_skip)
                        gt = piece.find(">", q)
                        number = piece[row_skip:q]
                        if gt > 0 and piece[gt - 1] != "/" and number.isdigit():
                            line = int(number)
                            if line <= skip:
                                continue
                            if fast is not None:
                                vals = fast.findall(piece, gt)
                                k = piece.rfind(cell_open) + cell_skip
                                if vals and columns.get(piece[k:k + 3].rstrip(DIGITS), -9) - offset + 1 == len(vals):
                                    if fast is fast_shared:
                                        try:
                                            row = [get(int(v)) if v else "" for v in vals]
                                        except IndexError:
                                            raise self._no_string(line) from None
                                        if guarded:
                                            row = _unguarded(row)
                                    elif (amp and "&" in piece) or (cr and "\r" in piece) or (
                                            x00 and "_x00" in piece):
                                        row = _unguarded([t_text(c, False) for c in vals])
                                    elif guard in piece:  # a text starting with an apostrophe
                                        row = _unguarded(vals)
                                    else:
                                        row = vals
                                elif not vals and piece.find("<", gt) < 0:
                                    continue  # a row without cells
                                elif fast is fast_shared:  # sparse, or mixing kinds: the shapes' way from now on
                                    fast = shared_rows = None
                            if row is None and not (tag_is in piece and (
                                    (amp and "&" in piece) or (cr and "\r" in piece) or (x00 and "_x00" in piece))):
                                try:
                                    row = shapes(piece[gt + 1:])
                                except (ValueError, IndexError):
                                    row = None  # read cell by cell below: calamine's value, or a clear error
                                if row is not None and (guarded or "'" in piece or (amp and "&" in piece)):
                                    row = _unguarded(row)
                            if row is None:
                                row = _unguarded(parser.cells(piece, gt + 1, line))
                            if track:
                                self._pos = line
                            n = sum(map(len, row))
                            if not n:
                                continue  # blank
                            if len(row) != width:
                                if len(row) < width:
                                    row += padding[len(row):]
                                else:
                                    while len(row) > width and not row[-1]:
                                        row.pop()
                                    if len(row) > max_cols:
                                        raise self._row_error(line, len(row), "")
                            text_left -= n
                            if text_left < 0:
                                raise self._text_error()
                            if n > max_chars and max(map(len, row)) > max_chars:
                                row = _truncate(row, max_chars)
                            yield line, row
                            continue
                    if not piece or piece.isspace():
                        continue
                    found, line = parser.rows(piece, line)
                    for line, row in found:
                        if line > skip:
                            if track:
                                self._pos = line
                            row = finish(line, row)
                            if row is not None:
                                yield line, row
        if track:
            self._done = True

    def _damaged(self, e: Exception) -> InvalidInput:
        return InvalidInput("file", f"{self.name} could not be read as XLSX: sheet {self.sheet!r} is damaged ({e}); "
                                    "re-save the workbook")

    def _row_error(self, line: int, width: int, ref: str) -> Exception:
        """A row wider than max_columns: refused like any too-wide row, or, when the cells it spans make a
        grid no spreadsheet app could hold (a value far from the data), as the memory it would take there."""
        cap = self._limits.max_reader_bytes // 2**20
        if line * width > self._max_cells:
            return SheetTooBig(
                f"the spreadsheet needs more than {cap:,} MB to read as a grid: its cells span {line:,} rows x "
                f"{width:,} columns ({ref or f'row {line}'} holds a value far from the data), more than "
                f"{self._limits.max_columns} columns a row may have. Delete unused rows and columns, or save it as CSV")
        return InvalidInput("file", f"{self.name} row {line} has {width} cells; at most {self._limits.max_columns} "
                                    "columns are allowed; remove the extra columns")

    def _no_string(self, line: int) -> InvalidInput:
        return InvalidInput("file", f"{self.name} row {line} refers to a shared string the workbook does not have; "
                                    "re-save the workbook")

    def _text_error(self) -> SheetTooBig:
        cap = self._limits.max_reader_bytes // 2**20
        return SheetTooBig(f"the spreadsheet needs more than {cap:,} MB to read: its shared strings expand to more "
                           "text than that once every cell holds its copy. Save it as CSV, or delete repeated long "
                           "texts")


def open_xlsx(path: Path, name: str, wanted: str | None, limits: Limits, scans: dict[str, PartScan],
              max_cells: int, choose) -> XlsxTable:
    """The table of the sheet named (else the first visible worksheet); `choose(names, meta)` picks it as for
    the other spreadsheets. Refuses what would need more memory than the reader may use."""
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as e:  # _check_container has already vouched for it
        raise InvalidInput("file", f"{name} could not be read as XLSX ({e})") from None
    try:
        members = Members(zf)
        book = read_book(members, name)
        chosen = choose([s.name for s in book.sheets], [(s.name, s.typ, s.visible) for s in book.sheets])
        sheet = next(s for s in book.sheets if s.name == chosen)
        if sheet.part is None and sheet.typ == "WorkSheet":
            raise InvalidInput("file", f"{name} could not be read as XLSX (sheet {chosen!r}): its part is missing; "
                                       "re-save the workbook")
        first_column, declared_width, declared_rows = 0, 0, None
        if sheet.part is not None:
            head = part_head(zf, sheet.part)
            check_declared(head, name, chosen, max_cells)
            first_column, declared_width, declared_rows = declared(head)
        scan = scans.get(sheet.part or "")
        total_rows = scan.last_row if scan and scan.last_row is not None else declared_rows
        cap = limits.max_reader_bytes
        strings = read_shared_strings(members, book.shared_part, name, (cap - BASE_BYTES) // 2)
        refs = scan.refs if scan else declared_references(part_head(zf, book.shared_part)) if book.shared_part else 0
        check_text(name, cap, strings, refs, limits.max_cell_chars)
        # The text rows may carry in all: what the reader may hold, and never less than an uncompressed
        # container may be (inline text is bounded by that already).
        budget = max(cap - BASE_BYTES - strings.bytes, limits.max_zip_total_bytes)
        table = XlsxTable(name, limits, zf, book, strings, sheet, 0, 0, total_rows, max_cells, budget)
        table._offset = table._first_column(first_column)
        if declared_width:
            table._width = first_column + declared_width - table._offset
        return table
    except BaseException:
        zf.close()
        raise


__all__ = ["PartScan", "XlsxTable", "open_xlsx"]
