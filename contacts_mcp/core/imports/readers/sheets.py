"""Spreadsheets: XLS and ODS through calamine, checked before loading and converted row by row; XLSX streamed
by xlsxfile once its container is checked here."""

from __future__ import annotations

import zipfile
import zlib
from collections.abc import Iterator
from itertools import islice
from pathlib import Path
from typing import Any

from ...errors import InvalidInput, LimitExceeded
from ._base import (
    Limits, OPENERS, Table, _CHUNK, _CountedTable, _FIX_FORMAT, _MAX_SHEET_CELLS, _OLE_MAGIC, _cell, _mb,
    _reraise_if_not_failure, _unguarded, _unreadable,
)
from .xlsxfile import PartScan, open_xlsx


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
        rows = ((line, _unguarded([c if type(c) is str else cell(c) for c in raw]))
                for line, raw in enumerate(it, skip + 1))
        return self._emit(rows, skip, track, wide=self.width > self._limits.max_columns)

    def _close(self) -> None:
        try:
            self._workbook.close()
        except Exception:  # noqa: BLE001 - closing twice or after a failure is harmless
            pass


def _open_sheet(path: Path, fmt: str, name: str, sheet: str | None, limits: Limits) -> Table:
    label = fmt.upper()
    if fmt == "xlsx":
        scans = _check_container(path, fmt, name, limits)
        # _MAX_SHEET_CELLS read here, at each call: a test may lower it
        return open_xlsx(path, name, sheet, limits, scans, _MAX_SHEET_CELLS,
                         lambda names, meta: _choose_sheet(names, meta, sheet, name))
    if fmt == "ods":
        _check_container(path, fmt, name, limits)
    import python_calamine

    try:
        workbook = python_calamine.CalamineWorkbook.from_path(str(path))
    except BaseException as e:  # noqa: BLE001 - pyo3 panics derive from BaseException
        _reraise_if_not_failure(e)
        raise InvalidInput("file", _unreadable(name, label, e)) from None
    try:
        names = list(workbook.sheet_names)
        chosen = _choose_sheet(names, _metadata(workbook), sheet, name)
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


def _metadata(workbook: Any) -> list[tuple[str, str, bool]]:
    """(name, type, visible) of a calamine workbook's sheets; [] when calamine cannot tell."""
    try:
        return [(m.name, str(getattr(m, "typ", "WorkSheet")).rsplit(".", 1)[-1],
                 str(getattr(m, "visible", "Visible")).endswith(".Visible")) for m in workbook.sheets_metadata]
    except Exception:  # noqa: BLE001 - metadata is a nicety
        return []


def _choose_sheet(names: list[str], meta: list[tuple[str, str, bool]], wanted: str | None, name: str) -> str:
    """The sheet named `wanted` (exactly, else the one equal case-insensitively), else the first visible
    worksheet; `meta` holds each sheet's (name, type, visible)."""
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
    # the first visible worksheet (not a chart sheet), as the spreadsheet app would show it
    for want_visible in (True, False):
        for sheet, typ, visible in meta:
            if typ.endswith("WorkSheet") and (visible or not want_visible):
                return sheet
    return names[0]


def _check_container(path: Path, fmt: str, name: str, limits: Limits) -> dict[str, PartScan]:
    """Decompress the XLSX/ODS ZIP container once, counting bytes, before it is read: refuses damaged,
    password-protected or oversized (zip bomb) spreadsheets with a clear message. Returns, for an XLSX, what
    was seen of each worksheet part on the way (its shared-string references and last row: see xlsxfile)."""
    scans: dict[str, PartScan] = {}
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
        shared = any(i.filename.lower().endswith("sharedstrings.xml") for i in infos)  # else no t="s" to count
        for info in infos:
            if info.is_dir():
                continue
            if info.flag_bits & 0x1:
                raise InvalidInput(
                    "file",
                    f"{name} is password-protected; remove the password in the spreadsheet app and upload it again",
                )
            scan = None
            if fmt == "xlsx" and "worksheets/" in info.filename.replace("\\", "/").lower():
                scan = scans[info.filename] = PartScan(count_refs=shared)
            try:
                with zf.open(info) as part:
                    while chunk := part.read(_CHUNK):
                        total += len(chunk)
                        if scan is not None:
                            scan.feed(chunk)
                        if total > limits.max_zip_total_bytes:
                            raise LimitExceeded(
                                f"uncompressed size of {label} {name}",
                                _mb(limits.max_zip_total_bytes),
                                f"more than that (the file is {_mb(path.stat().st_size)} compressed)",
                                "Delete unused rows, columns and images, split the sheet, or save it as CSV.",
                            )
                if scan is not None:
                    scan.finish()
            except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError) as e:
                raise InvalidInput(
                    "file",
                    f"{name} could not be read as {label}: part {info.filename!r} is damaged ({e}); {_FIX_FORMAT}",
                ) from None
    return scans


# -- ZIP


for _fmt in ("xlsx", "xls", "ods"):
    OPENERS[_fmt] = lambda path, fmt, display, size, encoding, delimiter, sheet, limits: _open_sheet(
        path, fmt, display, sheet, limits)
