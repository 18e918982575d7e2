"""What every reader shares: limits, the Table row contract, cell conversion, the registry of openers."""

from __future__ import annotations

import csv
import datetime as dt
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ...errors import InvalidInput, LimitExceeded
from ...exports.cells import restore


FORMATS = ("csv", "xlsx", "xls", "ods", "json", "zip")


@dataclass(frozen=True)
class Limits:
    max_file_bytes: int = 20 * 1024 * 1024  # the file as given (also each zip entry once extracted)
    max_zip_entries: int = 100
    max_zip_total_bytes: int = 100 * 1024 * 1024  # sum of uncompressed sizes actually read
    max_zip_ratio: int = 100  # uncompressed/compressed, per entry
    max_columns: int = 200
    max_cell_chars: int = 10_000
    max_reader_bytes: int = 1024 * 1024 * 1024  # the reader child's memory cap: a sheet needing more is refused


# File extension -> format. "txt"/"tsv" are delimited text, read as CSV with a sniffed delimiter.
_EXTENSIONS = {
    "csv": "csv",
    "txt": "csv",
    "tsv": "csv",
    "xlsx": "xlsx",
    "xls": "xls",
    "ods": "ods",
    "json": "json",
    "jsonl": "json",  # JSON lines (an export's format): the JSON reader takes both shapes
    "ndjson": "json",
    "zip": "zip",
}
_INNER_EXTENSIONS = {ext: fmt for ext, fmt in _EXTENSIONS.items() if fmt != "zip"}
_ALLOWED = ", ".join(FORMATS)
_INNER_ALLOWED = ", ".join("." + ext for ext in _INNER_EXTENSIONS)
_FIX_FORMAT = f"check the file, or give format= one of {_ALLOWED}"

_CHUNK = 1024 * 1024  # read / extract / scan granularity
_SNIFF_BYTES = 64 * 1024  # binary check and delimiter sniffing look at this much
_SNIFF_RECORDS = 1000
_DELIMITERS = (",", ";", "\t", "|")
_MAX_SHEET_CELLS = 5_000_000
_ZIP_RATIO_FLOOR = 1024 * 1024  # entries smaller than this once extracted are not ratio-checked
_ODS_MIMETYPE = b"application/vnd.oasis.opendocument.spreadsheet"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_CP1252_UNDEFINED = (b"\x81", b"\x8d", b"\x8f", b"\x90", b"\x9d")
_MB = 1024 * 1024


# --------------------------------------------------------------------------------------------------
# Tables

_UNSET: Any = object()


class Table:
    """Rows of one opened contact file. Use as a context manager, or call close()."""

    format: str
    name: str
    encoding: str | None = None
    delimiter: str | None = None
    total_rows: int | None = None
    header_from_keys: bool = False  # True for JSON: first_row() is the union of the objects' keys
    sheet: str | None = None  # spreadsheets: the sheet read

    def __init__(self, fmt: str, name: str, limits: Limits) -> None:
        self.format = fmt
        self.name = name
        self._limits = limits
        self._first: Any = _UNSET
        self._first_line: int | None = None
        self._cleanups: list[Callable[[], None]] = []
        self._closed = False

    # -- public

    def first_row(self) -> list[str] | None:
        """The first non-blank row (header candidate), None when the file has no non-blank row.
        For JSON it is the ordered union of the objects' keys (`header_from_keys` is True)."""
        if self._first is _UNSET:
            self._first, self._first_line = None, None
            for line, cells in self._iter(0, track=False):
                self._first, self._first_line = cells, line
                break
        return self._first

    @property
    def first_row_line(self) -> int | None:
        """The line number of first_row() (0 for JSON, whose header is derived), None when empty.
        Data rows after the header are `rows(skip=first_row_line)`."""
        self.first_row()
        return self._first_line

    def rows(self, skip: int = 0) -> Iterator[tuple[int, list[str]]]:
        """(line_number, cells) for every non-blank row after the first `skip` rows (blank ones count)."""
        if not isinstance(skip, int) or isinstance(skip, bool) or skip < 0:
            raise InvalidInput("skip", f"{skip!r} is not a row count; use an integer >= 0")
        if self._closed:
            raise InvalidInput("file", f"{self.name} is closed; open it again to read its rows")
        return self._iter(skip, track=True)

    def progress(self) -> float | None:
        """Fraction 0..1 of the source consumed by the latest rows() iteration, None if unknown."""
        return None

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._close()
        while self._cleanups:
            self._cleanups.pop()()

    def __enter__(self) -> Table:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.format} {self.name!r}>"

    # -- for subclasses

    def _iter(self, skip: int, track: bool) -> Iterator[tuple[int, list[str]]]:
        raise NotImplementedError

    def _close(self) -> None:
        pass

    def _too_wide(self, line: int, cells: list[str]) -> list[str]:
        """`cells` without trailing empty cells, or InvalidInput when still more than max_columns."""
        end = len(cells)
        while end and not cells[end - 1]:
            end -= 1
        if end > self._limits.max_columns:
            hint = (
                f" when split on {self.delimiter!r}; if that is the wrong delimiter declare the right one "
                "(delimiter=), else remove the extra columns"
                if self.format == "csv"
                else "; remove the extra columns"
            )
            raise InvalidInput(
                "file",
                f"{self.name} row {line} has {end} cells; at most {self._limits.max_columns} columns are "
                f"allowed{hint}",
            )
        return cells[:end]


def _unguarded(row: list[str]) -> list[str]:
    """The row with an export's formula guard taken off its cells: a cell of the shape `'+33612345678`,
    `'=SUM(A1)` or `''=x` loses its first apostrophe, every other cell stays as it is (core/exports/cells.py),
    so a file exported by this server imports back to the same values. CSV and spreadsheets only: JSON
    values are typed, never guarded."""
    if "'" not in "".join(row):  # nearly every row: one scan in C (a check per cell costs 7x more)
        return row
    return [restore(c) if c[:1] == "'" else c for c in row]


def _truncate(cells: list[str], limit: int) -> list[str]:
    return [c if len(c) <= limit else c[:limit] for c in cells]


class _CountedTable(Table):
    """A table whose rows are all known once it is open (a sheet, a JSON array): progress is rows done."""

    _pos = 0
    _done = False

    def progress(self) -> float | None:
        if self._done or not self.total_rows:
            return 1.0 if self._done else 0.0
        return min(self._pos / self.total_rows, 1.0)

    def _emit(self, rows: Iterable[tuple[int, list[str]]], skip: int, track: bool,
              wide: bool = False) -> Iterator[tuple[int, list[str]]]:
        """Numbered rows as read, blank ones dropped (their numbers kept), over-long cells cut."""
        max_chars = self._limits.max_cell_chars
        if track:
            self._pos, self._done = skip, False
        for line, row in rows:
            if track:
                self._pos = line
            if not any(row):
                continue
            if wide:
                row = self._too_wide(line, row)
            if max(map(len, row)) > max_chars:
                row = _truncate(row, max_chars)
            yield line, row
        if track:
            self._done = True


# --------------------------------------------------------------------------------------------------
# Cell values


def _cell(v: Any) -> str:
    """A spreadsheet or JSON value as text."""
    t = type(v)
    if t is str:
        return v
    if v is None:
        return ""
    if t is float:
        return _float(v)
    if t is bool:
        return "true" if v else "false"
    if t is int:
        return str(v)
    if t is dt.datetime:
        return _datetime(v)
    if t is dt.date:
        return v.isoformat()
    if t in (dict, list):
        return json.dumps(v, ensure_ascii=False)
    # subclasses and anything else (time, timedelta, calamine error values)
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(int(v))
    if isinstance(v, float):
        return _float(float(v))
    if isinstance(v, dt.datetime):
        return _datetime(v)
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, (dict, list, tuple)):
        return json.dumps(v, ensure_ascii=False, default=str)
    return str(v)


def _float(v: float) -> str:
    # integral floats (spreadsheets store every number as a float) lose their ".0": 612345678.0 ->
    # "612345678"; beyond 1e16 a float is not an exact integer anyway, so it keeps its float form.
    if v.is_integer() and abs(v) < 1e16:
        return str(int(v))
    return str(v)


def _datetime(v: dt.datetime) -> str:
    if v.hour == v.minute == v.second == v.microsecond == 0 and v.tzinfo is None:
        return v.date().isoformat()
    return v.replace(microsecond=0).isoformat()


def _checked_size(path: Path, display: str, limits: Limits) -> int:
    try:
        st = path.stat()
    except OSError as e:
        raise InvalidInput("file", f"{display} cannot be read ({e.strerror or e}); give an existing file") from None
    if not path.is_file():
        raise InvalidInput("file", f"{display} is not a regular file; give a CSV/XLSX/XLS/ODS/JSON/ZIP file")
    if st.st_size > limits.max_file_bytes:
        raise LimitExceeded(
            "file size",
            _mb(limits.max_file_bytes),
            _mb(st.st_size),
            "Split the file into smaller ones, or remove unneeded columns and rows.",
        )
    return st.st_size


def _mb(n: int) -> str:
    if n and n % _MB == 0:
        return f"{n // _MB} MB"
    if n < 100 * 1024:
        return f"{n} bytes"
    return f"{n / _MB:.2f} MB ({n} bytes)"


def _reraise_if_not_failure(e: BaseException) -> None:
    if isinstance(e, Exception) or type(e).__name__ == "PanicException":
        return
    raise e


def _unreadable(name: str, label: str, e: BaseException, where: str = "") -> str:
    reason = " ".join(str(e).split())[:200] or type(e).__name__
    lowered = reason.lower()
    if "password" in lowered or "encrypt" in lowered:
        return f"{name} is password-protected{where}; remove the password in the spreadsheet app and upload it again"
    return f"{name} could not be read as {label}{where}: {reason}; {_FIX_FORMAT}"


def _names(names: list[str], shown: int = 10) -> str:
    more = f" and {len(names) - shown} more" if len(names) > shown else ""
    return ", ".join(map(repr, names[:shown])) + more


Opener = Callable[..., "Table"]
# format -> its opener(path, fmt, display, size, encoding, delimiter, sheet, limits); each reader module
# registers its formats when imported (the package imports them all).
OPENERS: dict[str, Opener] = {}


def open_inner(path: Path, fmt: str, display: str, size: int, encoding: str | None, delimiter: str | None,
               sheet: str | None, limits: Limits) -> "Table":
    """Open a file whose format is known (not a ZIP: see archive.py) with its registered reader."""
    return OPENERS[fmt](path, fmt, display, size, encoding, delimiter, sheet, limits)
