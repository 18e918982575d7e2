"""What reading an XLSX sheet will cost, told before its first row.

The sheet is streamed (readers/xlsxfile.py): its rows cost nothing that grows with the sheet. What does:
  * the shared-string table, held whole (compactly: see readers/xlsxbook.py); refused while it is read
    once it would take more than half of what the reader may use beyond its own base;
  * the text those strings expand to once every reference is a cell of its own: one 100 KB string
    referenced by 40,000 cells is 4 GB of cell text from a ~200 KB file (each cell is cut at
    max_cell_chars, still 400 MB flowing through the import). The references are counted in the sheet's
    XML while the container is checked, so an estimate (references x the table's average length) refuses
    the file before its first row, and the reader stops at the same budget should a skewed table slip by;
  * the declared rectangle (`<dimension ref=...>`) costs nothing, but a sheet declaring more than
    _MAX_SHEET_CELLS cells (two cells at A1 and XFD1048576 declare 2^34) is refused at once, as no real
    sheet within the container's size limit spans that many; without a declaration, a value that far out
    is found by the reader as a row too wide.
The reader child's memory cap (see sandbox) still stops whatever slips through all of these.
"""

from __future__ import annotations

import re
from typing import Any

from ..errors import ContactsError, LimitExceeded

BASE_BYTES = 256 * 1024 * 1024  # the reader process itself: interpreter, libraries, a block of XML, rows
_DIMENSION = re.compile(rb'<(?:\w+:)?dimension\s+ref="\$?([A-Z]{1,3})\$?(\d{1,7})(?::\$?([A-Z]{1,3})\$?(\d{1,7}))?"')
_SST = re.compile(rb"<(?:\w+:)?sst\b[^>]*>")
_COUNT = re.compile(rb'\b(count|uniqueCount)="(\d{1,12})"')
_MB = 1024 * 1024


class SheetTooBig(ContactsError):
    """The spreadsheet needs more memory to read than the reader may use."""


def _column(letters: bytes) -> int:
    n = 0
    for c in letters:
        n = n * 26 + (c - 64)
    return n


def check_declared(head: bytes, name: str, sheet: str, max_cells: int) -> None:
    """Refuse a sheet whose declared rectangle (the `<dimension>` in `head`, the start of its part) spans more
    than `max_cells` cells."""
    found = _DIMENSION.search(head)
    if not found:
        return
    c1, r1, c2, r2 = found.groups()
    c2, r2 = c2 or c1, r2 or r1
    rows = abs(int(r2) - int(r1)) + 1
    cols = abs(_column(c2) - _column(c1)) + 1
    if rows * cols > max_cells:
        rect = found.group(0).split(b'"')[1].decode()
        raise LimitExceeded(f"cells in sheet {sheet!r} of {name}", f"{max_cells:,}",
                            f"{rows:,} rows x {cols:,} columns = {rows * cols:,} ({rect})",
                            "Delete unused rows and columns (or stray formatting far from the data), or split "
                            "the sheet.")


def declared_references(head: bytes) -> int:
    """The reference count the shared-string table declares at its start (`head`), 0 without one."""
    tag = _SST.search(head)
    return int(dict(_COUNT.findall(tag.group(0))).get(b"count", 0)) if tag else 0


def check_text(name: str, cap: int, strings: Any, refs: int, max_cell_chars: int) -> int:
    """Refuse a sheet whose shared strings (`strings`: a readers.xlsxbook.SharedStrings) would expand, over
    `refs` references, to more text than the reader may hold beside its base and the table; returns the
    estimate in bytes."""
    unique = len(strings)
    if not unique or not refs:
        return 0
    expanded = int(refs * min(strings.chars / unique, max_cell_chars))
    if BASE_BYTES + strings.bytes + expanded > cap:
        raise SheetTooBig(f"the spreadsheet needs more than {cap // _MB:,} MB to read: its {refs:,} text cells share "
                          f"{unique:,} strings that expand to {expanded // _MB:,} MB of text once each is a cell "
                          f"({name}). Save it as CSV, or delete repeated long texts")
    return expanded
