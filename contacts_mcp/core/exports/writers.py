"""The file formats an export writes, streamed: each writer takes the header, then batches of rows.

Rows arrive shaped (core/exports/columns.py) and, for CSV and XLSX, neutralised (storage and cells.py):
a writer only encodes them. None is an empty cell (CSV, XLSX) or a key left out (JSON lines).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from typing import Any, BinaryIO, Protocol

EXTENSIONS = {"csv": "csv", "xlsx": "xlsx", "jsonl": "jsonl"}
MEDIA_TYPES = {"csv": "text/csv; charset=utf-8", "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
               "jsonl": "application/x-ndjson"}
_BOM = "\ufeff"


class Writer(Protocol):
    def header(self, names: Sequence[str]) -> None: ...
    def rows(self, batch: Sequence[Sequence[Any]]) -> None: ...
    def close(self) -> None: ...


class CsvWriter:
    """CSV in UTF-8 (with a byte order mark if asked: Excel then reads accents right), fields quoted when they
    hold the delimiter, a quote or a line break, lines ended by LF: what PostgreSQL's COPY writes, so that
    lines the database made (`raw`) and lines made here are the same."""

    def __init__(self, file: BinaryIO, *, delimiter: str = ",", bom: bool = False) -> None:
        self._file = file
        self._text = io.TextIOWrapper(file, encoding="utf-8", newline="", write_through=False)
        if bom:
            self._text.write(_BOM)
        self._buffer = io.StringIO()
        self._csv = csv.writer(self._buffer, delimiter=delimiter, lineterminator="\n")
        # Python's writer quotes a CR only when it is in the line terminator: rows holding one go through
        # this one, whose "\r\n" ending is then made "\n" again.
        self._crlf = csv.writer(self._buffer, delimiter=delimiter, lineterminator="\r\n")

    def header(self, names: Sequence[str]) -> None:
        self.rows([names])

    def rows(self, batch: Sequence[Sequence[Any]]) -> None:
        self._buffer.seek(0)
        self._buffer.truncate()
        self._csv.writerows(batch)
        text = self._buffer.getvalue()
        if "\r" in text:  # rare: one scan of the batch's text settles it
            text = "".join(self._crlf_row(row) for row in batch)
        self._text.write(text)

    def _crlf_row(self, row: Sequence[Any]) -> str:
        self._buffer.seek(0)
        self._buffer.truncate()
        self._crlf.writerow(row)
        return self._buffer.getvalue()[:-2] + "\n"

    def raw(self, data: bytes) -> None:
        """Lines the database wrote as CSV, in UTF-8."""
        self._text.flush()
        self._file.write(data)

    def close(self) -> None:
        self._text.flush()
        self._text.detach()  # the caller closes the file


class JsonLinesWriter:
    """One JSON object a line, keyed by column; empty values left out."""

    def __init__(self, file: BinaryIO) -> None:
        self._file = file
        self._names: Sequence[str] = ()

    def header(self, names: Sequence[str]) -> None:
        self._names = list(names)

    def rows(self, batch: Sequence[Sequence[Any]]) -> None:
        names, dumps = self._names, json.dumps
        lines = [dumps({k: v for k, v in zip(names, row) if v is not None}, ensure_ascii=False) for row in batch]
        self._file.write(("\n".join(lines) + "\n").encode("utf-8"))

    def close(self) -> None:
        pass


class XlsxFileWriter:
    """One worksheet, streamed (core/exports/xlsx.py); every text a text cell, never a formula."""

    def __init__(self, file: BinaryIO) -> None:
        from .xlsx import XlsxWriter

        self._xlsx = XlsxWriter(file, sheet_name="contacts")

    def header(self, names: Sequence[str]) -> None:
        self._xlsx.write_rows([list(names)])

    def rows(self, batch: Sequence[Sequence[Any]]) -> None:
        self._xlsx.write_rows(batch)

    def close(self) -> None:
        self._xlsx.close()


def open_writer(fmt: str, file: BinaryIO, *, delimiter: str, bom: bool) -> Writer:
    if fmt == "csv":
        return CsvWriter(file, delimiter=delimiter, bom=bom)
    if fmt == "jsonl":
        return JsonLinesWriter(file)
    return XlsxFileWriter(file)
