"""Which format a file is: declared, by extension, or sniffed from its first bytes."""

from __future__ import annotations

import csv
import json
import zipfile
import zlib
from pathlib import Path

from ...errors import InvalidInput
from ._base import FORMATS, _ALLOWED, _EXTENSIONS, _ODS_MIMETYPE, _OLE_MAGIC


# --------------------------------------------------------------------------------------------------
# Format detection


def detect_format(path: Path, declared: str | None = None, name_hint: str | None = None) -> str:
    """The format to read `path` as: the declared one (validated), else the extension of `name_hint`
    or of `path`, else what the first bytes show (ZIP/XLSX/ODS, XLS, JSON array or lines, else CSV)."""
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
    if head.lstrip(b"\xef\xbb\xbf").lstrip(b" \t\r\n").startswith((b"[", b"{")):  # an array, or JSON lines
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
