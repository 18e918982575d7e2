"""Open an uploaded or downloaded contact file and stream its rows as lists of strings.

One entry point, `open_table`, turns a CSV, XLSX, XLS, ODS or JSON file (or a ZIP holding exactly one
of those) into a `Table` whose `rows()` yields `(line_number, cells)` with bounded memory, so a
background import job can process rows in batches and resume after a crash with `rows(skip=n)`.

Every refusal is an `InvalidInput` or `LimitExceeded` whose message says what is wrong and how to fix it.

Row contract (all formats):
  * cells are `str`; spreadsheet and JSON values are converted (see `_cell`): None -> "", bools ->
    "true"/"false", integral numbers without ".0", dates as ISO 8601;
  * line numbers are 1-based: the physical sheet row, the CSV record index, or the JSON array index;
  * rows whose cells are all empty are not yielded but still count in line numbers;
  * `rows(skip=n)` passes over the first n rows (blank ones included), so it yields only lines > n:
    a job that has processed up to line N resumes with `rows(skip=N)`;
  * a row with more than `Limits.max_columns` cells (trailing empty cells not counted) is refused;
  * cells longer than `Limits.max_cell_chars` are truncated to that length (not refused).

Memory: CSV is parsed incrementally (`open(newline="")` + `csv.reader`); a spreadsheet sheet is loaded
by calamine (bounded by the file size, the container's uncompressed size and a cell-count limit) and
converted row by row; JSON (at most `max_file_bytes`) is loaded whole.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import json
import shutil
import tempfile
import weakref
import zipfile
import zlib
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Any

from ..errors import InvalidInput, LimitExceeded
from .sheet_budget import check_xlsx

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
# Format detection


def detect_format(path: Path, declared: str | None = None, name_hint: str | None = None) -> str:
    """The format to read `path` as: the declared one (validated), else the extension of `name_hint`
    or of `path`, else what the first bytes show (ZIP/XLSX/ODS, XLS, JSON array, else CSV)."""
    if declared is not None:
        fmt = str(declared).strip().lower().lstrip(".")
        if fmt not in FORMATS:
            raise InvalidInput(
                "format",
                f"{declared!r} is not a supported format; use one of {_ALLOWED}, or omit format to detect it",
            )
        return fmt
    for name in (name_hint, Path(path).name):
        if name:
            fmt = _EXTENSIONS.get(_extension(name))
            if fmt:
                return fmt
    return _sniff_format(Path(path))


def _extension(name: str) -> str:
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    return base.rsplit(".", 1)[-1].lower() if "." in base else ""


def _sniff_format(path: Path) -> str:
    try:
        with open(path, "rb") as f:
            head = f.read(4096)
    except OSError:
        return "csv"  # open_table reports unreadable files itself
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return _zip_kind(path)
    if head.startswith(_OLE_MAGIC[:4]):
        return "xls"
    if head.lstrip(b"\xef\xbb\xbf").lstrip(b" \t\r\n").startswith(b"["):
        return "json"
    return "csv"


def _zip_kind(path: Path) -> str:
    """"xlsx" or "ods" when the ZIP is a spreadsheet container, else "zip"."""
    try:
        with zipfile.ZipFile(path) as zf:
            names = set(zf.namelist())
            if "xl/workbook.xml" in names:
                return "xlsx"
            if "mimetype" in names and zf.getinfo("mimetype").file_size < 200:
                if zf.read("mimetype").strip() == _ODS_MIMETYPE:
                    return "ods"
    except (zipfile.BadZipFile, OSError, RuntimeError, NotImplementedError, zlib.error, KeyError):
        pass
    return "zip"


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


def _truncate(cells: list[str], limit: int) -> list[str]:
    return [c if len(c) <= limit else c[:limit] for c in cells]


class _CsvTable(Table):
    def __init__(self, path: Path, name: str, encoding: str, delimiter: str, size: int, limits: Limits) -> None:
        super().__init__("csv", name, limits)
        self._path = path
        self._size = size
        self.encoding = encoding
        self.delimiter = delimiter
        self._files: set[Any] = set()
        self._tracked: Any = None  # the binary buffer under the latest tracked rows() iteration
        self._done = False

    def progress(self) -> float | None:
        if self._done:
            return 1.0
        buf = self._tracked
        if buf is None or self._size == 0:
            return 0.0
        try:
            return min(buf.tell() / self._size, 1.0)
        except (ValueError, OSError):  # closed meanwhile
            return 1.0

    def _iter(self, skip: int, track: bool) -> Iterator[tuple[int, list[str]]]:
        f = open(self._path, newline="", encoding=self.encoding)
        self._files.add(f)
        if track:
            self._tracked, self._done = f.buffer, False
        counted = [0]  # characters handed to the csv reader so far
        max_cols = self._limits.max_columns
        max_chars = self._limits.max_cell_chars
        max_line = max_cols * (max_chars + 3) + 2  # every cell at its longest, quoted, plus the newline
        reader = csv.reader(_counting(f, counted, max_line), delimiter=self.delimiter)
        line = skip
        try:
            rows = islice(reader, skip, None) if skip else reader
            seen = 0
            for line, row in enumerate(rows, skip + 1):
                if not any(row):
                    seen = counted[0]
                    continue
                if len(row) > max_cols:
                    row = self._too_wide(line, row)
                now = counted[0]
                if now - seen > max_chars:  # only a record this long can hold an over-long cell
                    row = _truncate(row, max_chars)
                seen = now
                yield line, row
            if track:
                self._done = True
        except csv.Error as e:
            raise InvalidInput("file", _csv_problem(self.name, reader.line_num, str(e))) from None
        except _LineTooLong as e:
            raise InvalidInput(
                "file",
                f"{self.name} line {reader.line_num + 1} is {e.args[0]:,} characters long, more than a row of "
                f"{max_cols} cells of {max_chars:,} characters can be; check that this is a CSV file with "
                "line breaks between rows",
            ) from None
        except UnicodeDecodeError as e:  # the file changed since it was scanned
            raise InvalidInput(
                "encoding",
                f"{self.encoding!r} does not decode {self.name} near record {line + 1} ({e.reason}); "
                "omit encoding to detect it, or declare the right one",
            ) from None
        finally:
            f.close()
            self._files.discard(f)

    def _close(self) -> None:
        for f in list(self._files):
            f.close()
        self._files.clear()


class _LineTooLong(Exception):
    pass


def _counting(f: Any, counted: list[int], max_line: int) -> Iterator[str]:
    """The file's lines, keeping the count of characters read in counted[0]; refuses a line longer
    than any valid row could be, before csv.reader turns it into millions of cells."""
    n = 0
    for text in f:
        k = len(text)
        if k > max_line:
            raise _LineTooLong(k)
        n += k
        counted[0] = n
        yield text


def _csv_problem(name: str, physical_line: int, message: str) -> str:
    if "field larger than field limit" in message:
        return (
            f"{name} line {physical_line}: a field is longer than {csv.field_size_limit()} characters, "
            "usually a double quote that is never closed; fix the quoting, or declare the right delimiter"
        )
    if "NUL" in message:
        return (
            f"{name} line {physical_line} contains a NUL byte, so this is not a text CSV; "
            f"give a CSV/XLSX/XLS/ODS/JSON/ZIP file, or the right format= ({_ALLOWED})"
        )
    return f"{name} line {physical_line} could not be parsed as CSV ({message}); fix the quoting or the delimiter"


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


class _SheetTable(_CountedTable):
    def __init__(self, fmt: str, name: str, workbook: Any, sheet: Any, limits: Limits) -> None:
        super().__init__(fmt, name, limits)
        self._workbook = workbook
        self._sheet = sheet
        self.sheet = sheet.name
        start = sheet.start
        self.width = sheet.width
        # iter_rows() yields every physical row from row 1 (leading blank rows included), so the
        # 1-based index of a yielded row is its sheet row number; leading blank columns are dropped.
        self.total_rows = (start[0] if start else 0) + sheet.height

    def _iter(self, skip: int, track: bool) -> Iterator[tuple[int, list[str]]]:
        it = self._sheet.iter_rows()
        if skip:
            it = islice(it, skip, None)
        cell = _cell
        rows = ((line, [c if type(c) is str else cell(c) for c in raw]) for line, raw in enumerate(it, skip + 1))
        return self._emit(rows, skip, track, wide=self.width > self._limits.max_columns)

    def _close(self) -> None:
        try:
            self._workbook.close()
        except Exception:  # noqa: BLE001 - closing twice or after a failure is harmless
            pass


class _JsonTable(_CountedTable):
    """The objects' keys as columns. A nested `attributes` object (the v3-style body) gives a column per
    name, "attributes.NAME", placed before the top-level keys: where both name one field, the top-level
    value wins (the last non-empty key does, see mapping)."""

    header_from_keys = True

    def __init__(self, name: str, keys: list[str], nested: list[str], items: list[dict], limits: Limits) -> None:
        super().__init__("json", name, limits)
        self._keys = keys
        self._nested = nested
        self._items = items
        self.total_rows = len(items)
        header = [f"{ATTRIBUTES_PREFIX}{k}" for k in nested] + keys
        self._first, self._first_line = (header if header else None), (0 if header else None)

    def _iter(self, skip: int, track: bool) -> Iterator[tuple[int, list[str]]]:
        keys, nested = self._keys, self._nested
        items = enumerate(islice(self._items, skip, None), skip + 1)
        if not nested:
            rows = ((line, [_cell(item.get(k)) for k in keys]) for line, item in items)
        else:
            rows = ((line, _nested_cells(item, nested, keys)) for line, item in items)
        return self._emit(rows, skip, track)

    def _close(self) -> None:
        self._items = []


ATTRIBUTES_PREFIX = "attributes."


def _nested_cells(item: dict, nested: list[str], keys: list[str]) -> list[str]:
    attributes = item.get("attributes")
    if attributes.__class__ is not dict:
        return [""] * len(nested) + [_cell(item.get(k)) for k in keys]
    return [_cell(attributes.get(k)) for k in nested] + [_cell(item.get(k)) if k != "attributes" else ""
                                                        for k in keys]


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


# --------------------------------------------------------------------------------------------------
# Opening


def open_table(
    path: Path,
    *,
    format: str | None = None,  # noqa: A002 - public keyword
    name_hint: str | None = None,
    encoding: str | None = None,
    delimiter: str | None = None,
    sheet: str | None = None,
    limits: Limits = Limits(),
    workdir: Path | None = None,
) -> Table:
    """Open `path` as a table of rows. `format` overrides detection; `name_hint` is the original file
    name (used for detection and messages); `encoding`/`delimiter` apply to CSV, `sheet` to
    spreadsheets (default: the first visible worksheet); a ZIP is extracted into a temporary
    directory under `workdir` (default: the system temp dir) that close() removes."""
    path = Path(path)
    display = name_hint or path.name
    size = _checked_size(path, display, limits)
    fmt = detect_format(path, format, name_hint)
    if fmt == "zip":
        return _open_zip(path, display, encoding, delimiter, sheet, limits, workdir)
    return _open_inner(path, fmt, display, size, encoding, delimiter, sheet, limits)


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


def _open_inner(
    path: Path,
    fmt: str,
    display: str,
    size: int,
    encoding: str | None,
    delimiter: str | None,
    sheet: str | None,
    limits: Limits,
) -> Table:
    if fmt == "csv":
        return _open_csv(path, display, size, encoding, delimiter, limits)
    if fmt == "json":
        return _open_json(path, display, limits)
    return _open_sheet(path, fmt, display, sheet, limits)


# -- CSV


def _open_csv(
    path: Path, name: str, size: int, encoding: str | None, delimiter: str | None, limits: Limits
) -> Table:
    with open(path, "rb") as f:
        head = f.read(_SNIFF_BYTES)
    bom8 = head.startswith(codecs.BOM_UTF8)
    if encoding is not None:
        enc = _declared_encoding(encoding)
        canonical = codecs.lookup(enc).name
        if not canonical.startswith(("utf-16", "utf-32")):
            _refuse_binary(path, name, head)
        if canonical == "utf-8" and bom8:
            enc = "utf-8-sig"  # strip the marker rather than leave it in the first header
        bad = _scan(path, enc)
        if bad:
            raise InvalidInput(
                "encoding",
                f"{encoding!r} does not decode line {bad[0]} of {name} ({bad[1]}); "
                "omit encoding to detect it, or declare the right one (e.g. utf-8, cp1252, latin-1)",
            )
    elif head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) and not head.startswith(codecs.BOM_UTF32_LE):
        enc = "utf-16"  # Excel's "Unicode text" export; the BOM gives the byte order
        bad = _scan(path, enc)
        if bad:
            raise InvalidInput(
                "file",
                f"{name} starts with a UTF-16 marker but line {bad[0]} is not valid UTF-16 ({bad[1]}); "
                "re-save it as UTF-8 CSV, or declare its encoding",
            )
    else:
        _refuse_binary(path, name, head)
        if bom8:
            enc = "utf-8-sig"
            bad = _scan(path, enc)
            if bad:
                raise InvalidInput(
                    "file",
                    f"{name} starts with a UTF-8 marker (BOM) but line {bad[0]} is not valid UTF-8 ({bad[1]}); "
                    "re-save it as UTF-8, or declare its encoding (e.g. encoding='cp1252')",
                )
        else:
            bad, undefined = _scan_detect(path)
            enc = "utf-8" if not bad else ("latin-1" if undefined else "cp1252")
    if delimiter is not None:
        delim = _declared_delimiter(delimiter)
    else:
        delim = _sniff_delimiter(path, enc)
    return _CsvTable(path, name, enc, delim, size, limits)


def _declared_encoding(encoding: str) -> str:
    enc = str(encoding).strip()
    try:
        info = codecs.lookup(enc)
    except (LookupError, TypeError, ValueError):
        info = None
    if info is None or not getattr(info, "_is_text_encoding", True):
        raise InvalidInput(
            "encoding",
            f"{encoding!r} is not a known encoding; use utf-8, cp1252 (Windows-1252) or latin-1",
        )
    return enc


def _refuse_binary(path: Path, name: str, head: bytes) -> None:
    if b"\x00" not in head:
        return
    kind = _sniff_format(path)
    seems = f" (it looks like {kind.upper()}: give format={kind!r})" if kind not in ("csv", "json") else ""
    raise InvalidInput(
        "file",
        f"{name} looks binary, not CSV{seems}; give format=... ({_ALLOWED}) or a CSV/XLSX/XLS/ODS/JSON/ZIP file",
    )


def _scan(path: Path, encoding: str) -> tuple[int, str] | None:
    """(line, reason) of the first undecodable bytes, None when the whole file decodes."""
    decoder = codecs.getincrementaldecoder(encoding)("strict")
    lines = 0
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as e:
                return lines + chunk.count(b"\n", 0, max(e.start, 0)) + 1, e.reason
            lines += chunk.count(b"\n")
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError as e:
        return lines + 1, f"{e.reason} at the end of the file"
    return None


def _scan_detect(path: Path) -> tuple[tuple[int, str] | None, bool]:
    """One pass: where UTF-8 decoding fails (None if never) and whether bytes undefined in cp1252 occur."""
    decoder = codecs.getincrementaldecoder("utf-8")("strict")
    lines = 0
    bad: tuple[int, str] | None = None
    undefined = False
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            if not undefined:
                undefined = any(b in chunk for b in _CP1252_UNDEFINED)
            if bad is None:
                try:
                    decoder.decode(chunk)
                except UnicodeDecodeError as e:
                    bad = (lines + chunk.count(b"\n", 0, max(e.start, 0)) + 1, e.reason)
                lines += chunk.count(b"\n")
            elif undefined:
                break
    if bad is None:
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError as e:
            bad = (lines + 1, e.reason)
    return bad, undefined


def _declared_delimiter(delimiter: str) -> str:
    d = {"tab": "\t", "\\t": "\t"}.get(str(delimiter).lower(), str(delimiter))
    if len(d) != 1 or d in "\"\r\n":
        raise InvalidInput(
            "delimiter",
            f"{delimiter!r} is not a usable delimiter; use one character such as ',', ';', '\\t' (tab) or '|'",
        )
    return d


def _sniff_delimiter(path: Path, encoding: str) -> str:
    """The candidate (, ; tab |) that splits the first records into the most consistent number of
    fields (>= 2), parsing quotes properly; ties go to more fields, then to the order above; "," when
    no candidate splits anything."""
    with open(path, newline="", encoding=encoding) as f:
        sample = f.read(_SNIFF_BYTES)
        if len(sample) == _SNIFF_BYTES and f.read(1):
            cut = sample.rfind("\n")
            if cut > 0:
                sample = sample[: cut + 1]
    best: tuple[float, int, int] | None = None
    choice = ","
    for rank, d in enumerate(_DELIMITERS):
        if d not in sample:
            continue
        try:
            counts = [len(r) for r in islice(csv.reader(sample.splitlines(True), delimiter=d), _SNIFF_RECORDS) if r]
        except csv.Error:
            continue
        if not counts:
            continue
        fields, freq = Counter(counts).most_common(1)[0]
        if fields < 2:
            continue
        score = (freq / len(counts), fields, -rank)
        if best is None or score > best:
            best, choice = score, d
    return choice


# -- JSON


def _open_json(path: Path, name: str, limits: Limits) -> Table:
    shape = 'JSON imports are an array of objects like [{"email": "ann@example.com", "name": "Ann"}, ...]'
    try:
        with open(path, "rb") as f:
            data = json.load(f)
    except UnicodeDecodeError as e:
        raise InvalidInput("file", f"{name} is not UTF-8 encoded JSON ({e.reason}); re-save it as UTF-8") from None
    except json.JSONDecodeError as e:
        raise InvalidInput(
            "file", f"{name} is not valid JSON ({e.msg} at line {e.lineno} column {e.colno}); {shape}"
        ) from None
    except RecursionError:
        raise InvalidInput("file", f"{name} nests too deeply to be read; {shape}") from None
    if not isinstance(data, list):
        got = f"an object with keys {', '.join(map(repr, list(data)[:10]))}" if isinstance(data, dict) else _kind(data)
        raise InvalidInput("file", f"{shape}; {name} holds {got} instead (give the array itself)")
    keys: dict[str, None] = {}
    nested: dict[str, None] = {}
    for i, item in enumerate(data, 1):
        if not isinstance(item, dict):
            raise InvalidInput("file", f"{shape}; item {i} of {name} is {_kind(item)}")
        attributes = item.get("attributes")
        if isinstance(attributes, dict):  # the v3-style body: {"email": ..., "attributes": {"FNAME": ...}}
            if any(k not in nested for k in attributes):
                nested.update(dict.fromkeys(attributes))
            new = any(k not in keys and k != "attributes" for k in item)
            if new:
                keys.update(dict.fromkeys(k for k in item if k != "attributes"))
        elif len(item) > len(keys) or any(k not in keys for k in item):
            keys.update(dict.fromkeys(item))
        else:
            continue
        if len(keys) + len(nested) > limits.max_columns:
            raise InvalidInput(
                "file",
                f"the objects of {name} use {len(keys) + len(nested)} different keys by item {i}; at most "
                f"{limits.max_columns} columns are allowed, so keep only the contact fields",
            )
    return _JsonTable(name, list(keys), list(nested), data, limits)


def _kind(v: Any) -> str:
    if v is None:
        return "null"
    kinds = {bool: "a boolean", int: "a number", float: "a number", str: "a string", list: "an array"}
    return kinds.get(type(v), "an object" if isinstance(v, dict) else type(v).__name__)


# -- spreadsheets


def _open_sheet(path: Path, fmt: str, name: str, sheet: str | None, limits: Limits) -> Table:
    label = fmt.upper()
    if fmt in ("xlsx", "ods"):
        _check_container(path, fmt, name, limits, sheet)
    import python_calamine

    try:
        workbook = python_calamine.CalamineWorkbook.from_path(str(path))
    except BaseException as e:  # noqa: BLE001 - pyo3 panics derive from BaseException
        _reraise_if_not_failure(e)
        raise InvalidInput("file", _unreadable(name, label, e)) from None
    try:
        names = list(workbook.sheet_names)
        chosen = _choose_sheet(workbook, names, sheet, name)
        try:
            ws = workbook.get_sheet_by_name(chosen)
        except BaseException as e:  # noqa: BLE001
            _reraise_if_not_failure(e)
            raise InvalidInput("file", _unreadable(name, label, e, f" (sheet {chosen!r})")) from None
        table = _SheetTable(fmt, name, workbook, ws, limits)
        cells = (table.total_rows or 0) * table.width
        if cells > _MAX_SHEET_CELLS:
            raise LimitExceeded(
                f"cells in sheet {chosen!r} of {name}",
                f"{_MAX_SHEET_CELLS:,}",
                f"{table.total_rows:,} rows x {table.width:,} columns = {cells:,}",
                "Delete unused rows and columns (or stray formatting far from the data), or split the sheet.",
            )
        return table
    except BaseException:
        try:
            workbook.close()
        except Exception:  # noqa: BLE001
            pass
        raise


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


def _choose_sheet(workbook: Any, names: list[str], wanted: str | None, name: str) -> str:
    if not names:
        raise InvalidInput("file", f"{name} has no sheets; {_FIX_FORMAT}")
    if wanted is not None:
        if wanted in names:
            return wanted
        folded = [n for n in names if n.strip().casefold() == str(wanted).strip().casefold()]
        if len(folded) == 1:
            return folded[0]
        raise InvalidInput(
            "sheet",
            f"{wanted!r} is not a sheet of {name}; its sheets are: {', '.join(map(repr, names))}",
        )
    try:  # the first visible worksheet (not a chart sheet), as the spreadsheet app would show it
        meta = list(workbook.sheets_metadata)
        for want_visible in (True, False):
            for m in meta:
                typ = str(getattr(m, "typ", "WorkSheet"))
                visible = str(getattr(m, "visible", "Visible"))
                if typ.endswith("WorkSheet") and (visible.endswith(".Visible") or not want_visible):
                    return m.name
    except Exception:  # noqa: BLE001 - metadata is a nicety
        pass
    return names[0]


def _check_container(path: Path, fmt: str, name: str, limits: Limits, sheet: str | None = None) -> None:
    """Decompress the XLSX/ODS ZIP container once, counting bytes, before calamine loads it: refuses
    damaged, password-protected or oversized (zip bomb) spreadsheets with a clear message, and an XLSX
    whose sheet would need more memory to load than the reader may use (see sheet_budget)."""
    label = fmt.upper()
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as e:
        with open(path, "rb") as f:
            ole = f.read(8) == _OLE_MAGIC
        if ole:
            raise InvalidInput(
                "file",
                f"{name} is not an {label} container but an OLE file: either a password-protected "
                f"spreadsheet (remove the password and upload it again) or an old .xls file (give format='xls')",
            ) from None
        raise InvalidInput(
            "file", f"{name} could not be read as {label}: not a valid ZIP container ({e}); {_FIX_FORMAT}"
        ) from None
    total = 0
    with zf:
        infos = zf.infolist()
        if len(infos) > 10_000:
            raise LimitExceeded(f"parts in the {label} container", 10_000, len(infos), "Re-save the spreadsheet.")
        for info in infos:
            if info.is_dir():
                continue
            if info.flag_bits & 0x1:
                raise InvalidInput(
                    "file",
                    f"{name} is password-protected; remove the password in the spreadsheet app and upload it again",
                )
            try:
                with zf.open(info) as part:
                    while chunk := part.read(_CHUNK):
                        total += len(chunk)
                        if total > limits.max_zip_total_bytes:
                            raise LimitExceeded(
                                f"uncompressed size of {label} {name}",
                                _mb(limits.max_zip_total_bytes),
                                f"more than that (the file is {_mb(path.stat().st_size)} compressed)",
                                "Delete unused rows, columns and images, split the sheet, or save it as CSV.",
                            )
            except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError) as e:
                raise InvalidInput(
                    "file",
                    f"{name} could not be read as {label}: part {info.filename!r} is damaged ({e}); {_FIX_FORMAT}",
                ) from None
        if fmt == "xlsx":
            check_xlsx(zf, name, sheet, limits.max_reader_bytes, _MAX_SHEET_CELLS)


# -- ZIP


def _open_zip(
    path: Path,
    display: str,
    encoding: str | None,
    delimiter: str | None,
    sheet: str | None,
    limits: Limits,
    workdir: Path | None,
) -> Table:
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as e:
        raise InvalidInput("file", f"{display} is not a readable ZIP archive ({e}); {_FIX_FORMAT}") from None
    with zf:
        infos = zf.infolist()
        if len(infos) > limits.max_zip_entries:
            raise LimitExceeded(
                f"entries in ZIP {display}", limits.max_zip_entries, len(infos), "Put only the contact file in the ZIP."
            )
        candidates, nested, others = [], [], []
        for info in infos:
            base = info.filename.rsplit("/", 1)[-1]
            if info.is_dir() or info.filename.startswith("__MACOSX/") or base.startswith("."):
                continue
            ext = _extension(base)
            if ext in _INNER_EXTENSIONS:
                candidates.append(info)
            elif ext == "zip":
                nested.append(info.filename)
            else:
                others.append(info.filename)
        if not candidates:
            if nested:
                raise InvalidInput(
                    "file",
                    f"{display} holds only ZIP archives ({_names(nested)}); a ZIP inside a ZIP is not opened, "
                    "so extract the inner archive and give it directly",
                )
            found = _names(others) if others else "no files"
            raise InvalidInput(
                "file",
                f"{display} holds no contact file (found {found}); the ZIP must hold one {_INNER_ALLOWED} file",
            )
        if len(candidates) > 1:
            raise InvalidInput(
                "file",
                f"{display} holds {len(candidates)} importable files ({_names([i.filename for i in candidates])}); "
                "put one file per ZIP, or give the file itself",
            )
        info = candidates[0]
        entry = f"{display}/{info.filename}"
        if info.flag_bits & 0x1:
            raise InvalidInput(
                "file",
                f"{entry} is password-protected; encrypted ZIPs are not supported, re-create it without a password",
            )
        _check_ratio(entry, info.file_size, info.compress_size, limits)
        if info.file_size > limits.max_file_bytes:
            raise LimitExceeded(
                f"file size of {entry}", _mb(limits.max_file_bytes), _mb(info.file_size),
                "Split the file into smaller ones.",
            )
        ext = _extension(info.filename)
        tmpdir = tempfile.mkdtemp(prefix="contacts-import-", dir=str(workdir) if workdir is not None else None)
        try:
            target = Path(tmpdir) / f"entry.{ext}"
            written = _extract(zf, info, target, entry, limits)
            table = _open_inner(target, _INNER_EXTENSIONS[ext], entry, written, encoding, delimiter, sheet, limits)
        except BaseException:
            shutil.rmtree(tmpdir, ignore_errors=True)
            raise
    finalizer = weakref.finalize(table, shutil.rmtree, tmpdir, True)
    table._cleanups.append(finalizer)
    return table


def _check_ratio(entry: str, size: int, compressed: int, limits: Limits) -> None:
    if size <= _ZIP_RATIO_FLOOR:
        return
    ratio = size / max(compressed, 1)
    if ratio > limits.max_zip_ratio:
        raise LimitExceeded(
            f"compression ratio of {entry}",
            limits.max_zip_ratio,
            f"{ratio:.0f} ({_mb(size)} from {compressed} bytes)",
            "This looks like a ZIP bomb; give the contact file itself or a normally compressed ZIP.",
        )


def _extract(zf: zipfile.ZipFile, info: zipfile.ZipInfo, target: Path, entry: str, limits: Limits) -> int:
    """Stream the entry to `target`, counting the bytes really produced (headers can lie)."""
    written = 0
    try:
        with zf.open(info) as src, open(target, "wb") as out:
            while chunk := src.read(_CHUNK):
                written += len(chunk)
                if written > limits.max_file_bytes:
                    raise LimitExceeded(
                        f"file size of {entry}", _mb(limits.max_file_bytes), "more than that once extracted",
                        "Split the file into smaller ones.",
                    )
                _check_ratio(entry, written, info.compress_size, limits)
                out.write(chunk)
    except (zipfile.BadZipFile, zlib.error, EOFError) as e:
        raise InvalidInput("file", f"{entry} is damaged and cannot be extracted ({e}); re-create the ZIP") from None
    except NotImplementedError as e:
        raise InvalidInput(
            "file",
            f"{entry} uses an unsupported compression ({e}); re-create the ZIP with standard (Deflate) compression",
        ) from None
    except RuntimeError as e:  # e.g. an encrypted entry not flagged as such
        raise InvalidInput("file", f"{entry} cannot be extracted ({e}); re-create the ZIP without a password") from None
    return written


def _names(names: list[str], shown: int = 10) -> str:
    more = f" and {len(names) - shown} more" if len(names) > shown else ""
    return ", ".join(map(repr, names[:shown])) + more
