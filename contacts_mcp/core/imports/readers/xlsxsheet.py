"""The XML of an XLSX worksheet part: what is known of it before its rows (its declared rectangle, and what
the container check saw of it), and its rows' XML, a block of whole rows at a time."""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterator
from typing import IO

from ...errors import InvalidInput
from .xlsxbook import ZIP_ERRORS
from .xlsxtext import column_of

_BLOCK = 1024 * 1024
_MAX_ROW_BYTES = 32 * 1024 * 1024  # a row's XML (200 cells of 32,767 characters fit)
_HEAD = re.compile(rb"<(\w+:)?sheetData\b[^>]*?(/?)>")
_DIMENSION = re.compile(
    rb'<(?:\w+:)?dimension\s+ref="\$?([A-Za-z]{1,3})\$?([0-9]{1,7})(?::\$?([A-Za-z]{1,3})\$?([0-9]{1,7}))?"')
_ROW_TAG = re.compile(rb"<(?:\w+:)?row\b([^>]*?)(/?)>")
_ROW_NUMBER = re.compile(rb'\br="([0-9]{1,7})"')
_VALUE = re.compile(rb"<(?:\w+:)?(?:v>[^<]|is\b)")  # a cell holding a value (for calamine, even "")


class PartScan:
    """What _check_container saw of a worksheet part while counting its bytes: its shared-string references
    and its last row number (in its last 64 KB, kept only while the part is read)."""

    def __init__(self, count_refs: bool = True) -> None:
        self.refs = 0
        self._count = count_refs
        self.last_row: int | None = None
        self._tail = b""
        self._carry = b""
        self._size = 0

    def feed(self, chunk: bytes) -> None:
        if self._count:
            self.refs += (self._carry + chunk).count(b't="s"')
            self._carry = chunk[-4:]  # shorter than a reference: none is counted twice
        self._tail = chunk[-65536:] if len(chunk) >= 65536 else (self._tail + chunk)[-65536:]
        self._size += len(chunk)

    def finish(self) -> None:
        """The number of the last row holding a value (calamine's row count), None when the tail cannot
        tell (a row without a number)."""
        tags = list(_ROW_TAG.finditer(self._tail))
        for k in range(len(tags) - 1, -1, -1):
            number = _ROW_NUMBER.search(tags[k].group(1))
            if number is None:
                break
            end = tags[k + 1].start() if k + 1 < len(tags) else len(self._tail)
            if not tags[k].group(2) and _VALUE.search(self._tail, tags[k].end(), end):
                self.last_row = int(number.group(1))
                break
        else:
            if self._size <= len(self._tail):  # the whole part, and no value in it
                self.last_row = 0
        self._tail = self._carry = b""


def part_head(zf: zipfile.ZipFile, part: str) -> bytes:
    """The first 64 KB of a part (where a sheet's <dimension> and a string table's counts are)."""
    try:
        with zf.open(part) as f:
            return f.read(64 * 1024)
    except ZIP_ERRORS:
        return b""  # the container check has refused a damaged part already


def declared(head: bytes) -> tuple[int, int, int | None]:
    """The sheet's declared first column (0-based), width and last row, from its <dimension>: (0, 0, None)
    without one."""
    dim = _DIMENSION.search(head)
    if not dim:
        return 0, 0, None
    first = column_of(dim.group(1).upper().decode())
    last = column_of((dim.group(3) or dim.group(1)).upper().decode())
    return first, last - first + 1, int(dim.group(4) or dim.group(2))


def sheet_blocks(f: IO[bytes], name: str, sheet: str, done: list[int] | None = None) -> Iterator[str]:
    """The namespace prefix of the sheet's elements, then its rows' XML, a block of whole rows at a time;
    done[0] (when given) counts the part's bytes handed over."""
    buf = b""
    while True:  # up to <sheetData>
        more = _read(f, name, sheet)
        buf += more
        m = _HEAD.search(buf)
        if m:
            if m.group(2):  # <sheetData/>
                return
            p = (m.group(1) or b"").decode()
            buf = buf[m.end():]
            break
        if not more:
            return
        buf = buf[-4096:]
    yield p
    end_row, end_data = f"</{p}row>".encode(), f"</{p}sheetData".encode()
    while True:
        cut = buf.rfind(end_row)
        if cut >= 0:
            cut += len(end_row)
            try:
                text = buf[:cut].decode("utf-8")
            except UnicodeDecodeError as e:
                raise InvalidInput("file", f"{name} could not be read as XLSX: sheet {sheet!r} is "
                                           f"not UTF-8 text ({e.reason}); re-save the workbook") from None
            buf = buf[cut:]
            if done is not None:
                done[0] += cut
            yield text
        if end_data in buf:
            return
        more = _read(f, name, sheet)
        if not more:
            return
        buf += more
        if len(buf) > _MAX_ROW_BYTES + _BLOCK and buf.rfind(end_row) < 0:
            raise InvalidInput("file", f"{name} sheet {sheet!r} has a row of more than "
                                       f"{_MAX_ROW_BYTES // 2**20} MB of XML; delete what is not needed in it, "
                                       "or save the sheet as CSV")


def _read(f: IO[bytes], name: str, sheet: str) -> bytes:
    try:
        return f.read(_BLOCK)
    except ZIP_ERRORS as e:
        raise InvalidInput("file", f"{name} could not be read as XLSX: sheet {sheet!r} is damaged ({e}); "
                                   "re-save the workbook") from None
