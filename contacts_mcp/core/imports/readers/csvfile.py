"""CSV: encodings detected or declared, delimiters sniffed, records streamed with line numbers."""

from __future__ import annotations

import codecs
import csv
import json
from collections import Counter
from collections.abc import Iterator
from itertools import islice
from pathlib import Path
from typing import Any

from ...errors import InvalidInput
from ._base import (
    Limits, OPENERS, Table, _ALLOWED, _CHUNK, _CP1252_UNDEFINED, _DELIMITERS, _SNIFF_BYTES, _SNIFF_RECORDS,
    _truncate, _unguarded,
)
from .detect import _sniff_format


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
        counted = [0, -1]  # characters handed to the csv reader so far; where the last line with a ' ended
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
                if counted[1] > seen:  # an apostrophe in the record's text (a scan per line, cheaper than a join)
                    row = _unguarded(row)
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
        if "'" in text:
            counted[1] = n
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


OPENERS["csv"] = lambda path, fmt, display, size, encoding, delimiter, sheet, limits: _open_csv(
    path, display, size, encoding, delimiter, limits)
