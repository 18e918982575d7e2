"""What an XLSX sheet will cost to load, told before calamine loads it.

calamine holds a loaded sheet as a dense grid (every cell of the rectangle from the first to the last
used cell, 32 bytes each, plus each text's own copy), so two cells at A1 and XFD1048576 ask for 512 GiB,
and one 100 KB shared string referenced by 40,000 cells becomes 4 GB of copies. Both are written in the
file's own XML: the sheet's `<dimension ref=...>` and the shared-string table's reference count and size.
Reading them costs a few KB of decompression. A file that lies about them is still stopped by the
reader child's memory cap (see sandbox); this check gives the honest-but-huge file a clear answer at once.
"""

from __future__ import annotations

import posixpath
import re
import zipfile
import zlib

from ..errors import ContactsError, LimitExceeded

CELL_BYTES = 32  # one calamine cell (a Rust enum)
BASE_BYTES = 256 * 1024 * 1024  # the reader process itself: interpreter, libraries, the Python row being built
HEAD_BYTES = 64 * 1024  # the dimension and the table's counts sit at the very start of their parts
_DIMENSION = re.compile(rb'<(?:\w+:)?dimension\s+ref="\$?([A-Z]{1,3})\$?(\d{1,7})(?::\$?([A-Z]{1,3})\$?(\d{1,7}))?"')
_SST = re.compile(rb"<(?:\w+:)?sst\b[^>]*>")
_COUNT = re.compile(rb'\b(count|uniqueCount)="(\d{1,12})"')
_SHEET = re.compile(rb"<(?:\w+:)?sheet\b[^>]*>")
_ATTR = re.compile(rb'([\w:]+)="([^"]*)"')
_MB = 1024 * 1024


class SheetTooBig(ContactsError):
    """The spreadsheet needs more memory to read than the reader may use."""


def _column(letters: bytes) -> int:
    n = 0
    for c in letters:
        n = n * 26 + (c - 64)
    return n


def _head(zf: zipfile.ZipFile, part: str) -> bytes:
    try:
        with zf.open(part) as f:
            return f.read(HEAD_BYTES)
    except (KeyError, zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError):
        return b""  # _check_container reports damaged parts


def _sheet_parts(zf: zipfile.ZipFile) -> list[tuple[str, str, bool]]:
    """(sheet name, part path, hidden) in workbook order."""
    book = _head(zf, "xl/workbook.xml")
    rels = _head(zf, "xl/_rels/workbook.xml.rels")
    targets = {}
    for rel in re.findall(rb"<(?:\w+:)?Relationship\b[^>]*>", rels):
        attrs = dict(_ATTR.findall(rel))
        if b"Id" in attrs and b"Target" in attrs:
            target = attrs[b"Target"].decode("utf-8", "replace")
            targets[attrs[b"Id"]] = target.lstrip("/") if target.startswith("/") else posixpath.normpath(
                posixpath.join("xl", target))
    sheets = []
    for tag in _SHEET.findall(book):
        attrs = dict(_ATTR.findall(tag))
        rid = next((v for k, v in attrs.items() if k.endswith(b":id")), None)
        if rid in targets:
            sheets.append((attrs.get(b"name", b"").decode("utf-8", "replace"), targets[rid],
                           attrs.get(b"state", b"visible") != b"visible"))
    return sheets


def _declared(zf: zipfile.ZipFile, part: str) -> tuple[int, str]:
    """The cell count of the sheet's declared rectangle, and the rectangle described."""
    found = _DIMENSION.search(_head(zf, part))
    if not found:
        return 0, "no declared size"
    c1, r1, c2, r2 = found.groups()
    c2, r2 = c2 or c1, r2 or r1
    rows = abs(int(r2) - int(r1)) + 1
    cols = abs(_column(c2) - _column(c1)) + 1
    rect = found.group(0).split(b'"')[1].decode()
    return rows * cols, f"{rows:,} rows x {cols:,} columns = {rows * cols:,} ({rect})"


def _shared_copies(zf: zipfile.ZipFile) -> tuple[int, int, int]:
    """Bytes of text the shared-string table expands to once every reference holds its own copy, with the
    reference and unique counts."""
    try:
        size = zf.getinfo("xl/sharedStrings.xml").file_size
    except KeyError:
        return 0, 0, 0
    tag = _SST.search(_head(zf, "xl/sharedStrings.xml"))
    counts = dict(_COUNT.findall(tag.group(0))) if tag else {}
    refs, unique = int(counts.get(b"count", 0)), int(counts.get(b"uniqueCount", 0))
    if refs <= unique or unique <= 0:
        return 0, refs, unique
    return refs * (size // unique), refs, unique


def check_xlsx(zf: zipfile.ZipFile, name: str, wanted: str | None, cap: int, max_cells: int) -> None:
    """Refuse the workbook if loading the sheet to be read (the one named, else the first visible) would
    need more than `cap` bytes or more than `max_cells` cells."""
    sheets = _sheet_parts(zf)
    chosen = [s for s in sheets if wanted is not None and s[0].casefold() == wanted.strip().casefold()]
    chosen = chosen or [s for s in sheets if not s[2]][:1] or sheets[:1]
    # Unknown layout: every worksheet is judged, as the one read could be any of them.
    parts = [p for _, p, _ in chosen] or [n for n in zf.namelist() if n.startswith("xl/worksheets/")]
    cells, rect, part = max(((*_declared(zf, p), p) for p in parts), default=(0, "", ""))
    if cells > max_cells:
        raise LimitExceeded(f"cells in {name}", f"{max_cells:,}", rect,
                            "Delete unused rows and columns (or stray formatting far from the data), or split "
                            "the sheet.")
    copies, refs, unique = _shared_copies(zf)
    need = BASE_BYTES + cells * CELL_BYTES + copies
    if need > cap:
        why = (f"its {refs:,} text cells share {unique:,} strings that expand to {copies // _MB:,} MB once loaded"
               if copies * 2 > need else f"its sheet spans {rect} cells")
        raise SheetTooBig(f"the spreadsheet needs more than {cap // _MB:,} MB to read: {why}. Save it as CSV, or "
                          f"delete unused rows, columns and repeated long texts")
