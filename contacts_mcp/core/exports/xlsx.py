"""XLSX streamed: one worksheet written as its rows arrive, memory flat whatever the number of rows.

Every text is an inline string: a shared-string table would hold every distinct text until the end. The
sheet's XML is deflated (level 1) block by block into a temporary file (in TMPDIR, about the final file's
size) copied into `file` by close(): its sizes, known only then, decide whether its headers need Zip64
fields. All in the caller's thread: a second thread deflating measured no faster on 2 cores.

Excel's limits hold: 1,048,576 rows and 16,384 columns (ValueError beyond), 32,767 characters a cell
(longer texts are cut), sheet names of 31 characters without []:*?/\\.
"""

from __future__ import annotations

import html
import io
import math
import re
import struct
import tempfile
import zlib
from collections.abc import Iterable, Sequence
from typing import BinaryIO

MAX_ROWS = 1_048_576
MAX_COLUMNS = 16_384
MAX_TEXT = 32_767  # Excel's characters, which are UTF-16 code units
_SHEET_NAME_MAX = 31
_BLOCK_CHARS = 1 << 20  # XML deflated at a time: few calls into zlib, little memory
_ZIP64_FROM = 0xFFFFFFFF  # a size or offset this big goes in a Zip64 field...
_IN_ZIP64 = 0xFFFFFFFF  # ...and its 32-bit field says so
_EXACT_INT = 2**53  # beyond, a number cell would round the integer: it is written as text

_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")  # not in XML 1.0
# Excel, LibreOffice and calamine read _x0041_ in a text as "A": the underscore of such a run is escaped.
_HEX_ESCAPE = re.compile("_(?=x[0-9A-Fa-f]{4}_)")
_NOT_IN_SHEET_NAME = re.compile(r"[\[\]:*?/\\]")
_CONTROL = re.compile("[\x00-\x1f\ud800-\udfff\ufffe\uffff]")

_XML = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_RELS = "http://schemas.openxmlformats.org/package/2006/relationships"
_DOC_RELS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml"
_CONTENT_TYPES = (
    f'{_XML}<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    f'<Override PartName="/xl/workbook.xml" ContentType="{_TYPE}.sheet.main+xml"/>'
    f'<Override PartName="/xl/worksheets/sheet1.xml" ContentType="{_TYPE}.worksheet+xml"/>'
    f'<Override PartName="/xl/styles.xml" ContentType="{_TYPE}.styles+xml"/></Types>')
_PACKAGE_RELS = (f'{_XML}<Relationships xmlns="{_RELS}"><Relationship Id="rId1" '
                 f'Type="{_DOC_RELS}/officeDocument" Target="xl/workbook.xml"/></Relationships>')
_WORKBOOK = (f'{_XML}<workbook xmlns="{_MAIN}" xmlns:r="{_DOC_RELS}"><bookViews><workbookView/></bookViews>'
             '<sheets><sheet name="{name}" sheetId="1" r:id="rId1"/></sheets></workbook>')
_WORKBOOK_RELS = (f'{_XML}<Relationships xmlns="{_RELS}">'
                  f'<Relationship Id="rId1" Type="{_DOC_RELS}/worksheet" Target="worksheets/sheet1.xml"/>'
                  f'<Relationship Id="rId2" Type="{_DOC_RELS}/styles" Target="styles.xml"/></Relationships>')
_STYLES = (f'{_XML}<styleSheet xmlns="{_MAIN}"><fonts count="1"><font><sz val="11"/><name val="Calibri"/></font>'
           '</fonts><fills count="2"><fill><patternFill patternType="none"/></fill><fill>'
           '<patternFill patternType="gray125"/></fill></fills><borders count="1"><border><left/><right/><top/>'
           '<bottom/><diagonal/></border></borders><cellStyleXfs count="1"><xf numFmtId="0" fontId="0" '
           'fillId="0" borderId="0"/></cellStyleXfs><cellXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" '
           'borderId="0" xfId="0"/></cellXfs><cellStyles count="1"><cellStyle name="Normal" xfId="0" '
           'builtinId="0"/></cellStyles></styleSheet>')
_SHEET_HEAD = f'{_XML}<worksheet xmlns="{_MAIN}"><sheetData>'.encode()
_SHEET_TAIL = "</sheetData></worksheet>"

Cell = str | int | float | bool | None


class XlsxWriter:
    """Streams one worksheet to an .xlsx file: memory flat whatever the number of rows."""

    def __init__(self, file: BinaryIO, sheet_name: str = "contacts") -> None:
        self._zip = _Zip(file)
        parts = {"[Content_Types].xml": _CONTENT_TYPES, "_rels/.rels": _PACKAGE_RELS,
                 "xl/workbook.xml": _WORKBOOK.replace("{name}", html.escape(_sheet_title(sheet_name))),
                 "xl/_rels/workbook.xml.rels": _WORKBOOK_RELS, "xl/styles.xml": _STYLES}
        for name, xml in parts.items():
            part = _Deflated(io.BytesIO())
            part.write(xml.encode())
            self._zip.add(name, part)
        self._sheet = _Deflated(tempfile.TemporaryFile())
        self._sheet.write(_SHEET_HEAD)
        self._rows = 0
        self._letters: list[str] = []
        self._block: list[str] = []  # rows' XML not yet deflated
        self._block_chars = 0

    def write_rows(self, rows: Iterable[Sequence[Cell]]) -> None:
        block, row_xml = self._block, self._row_xml
        for row in rows:
            xml = row_xml(row)
            block.append(xml)
            self._block_chars += len(xml)
            if self._block_chars >= _BLOCK_CHARS:
                self._deflate_block()

    def close(self) -> None:
        """Finishes the zip; does not close the file."""
        self._block.append(_SHEET_TAIL)
        self._deflate_block()
        self._zip.add("xl/worksheets/sheet1.xml", self._sheet)  # last: every part starts below 4 GiB
        self._zip.close()

    def _deflate_block(self) -> None:
        self._sheet.write("".join(self._block).encode())
        self._block.clear()
        self._block_chars = 0

    def _row_xml(self, row: Sequence[Cell]) -> str:
        if self._rows == MAX_ROWS:
            raise ValueError(f"an XLSX sheet holds {MAX_ROWS:,} rows at most")
        if len(row) > len(self._letters):
            self._letters = _column_letters(len(row))
        r = str(self._rows + 1)
        pairs = zip(self._letters, row)
        if _plain([v for v in row if type(v) is str]):
            cells = [f'<c r="{c}{r}" t="inlineStr"><is><t>{v}</t></is></c>' if type(v) is str else _cell(c + r, v)
                     for c, v in pairs if v is not None]
        else:  # the same, text by text
            cells = [f'<c r="{c}{r}" t="inlineStr"><is><t>{v}</t></is></c>' if type(v) is str and _plain((v,))
                     else _cell(c + r, v) for c, v in pairs if v is not None]
        self._rows += 1
        return f'<row r="{r}">{"".join(cells)}</row>'


def _plain(texts: Sequence[str]) -> bool:
    """Whether the texts go into the XML as they are: nothing to escape or drop, no space at either end, none
    too long. Searching the texts joined by "<" (a "<" of their own makes one too many) is C-fast."""
    joined = "<".join(texts)
    return (len(joined) <= MAX_TEXT // 2 and joined.isprintable()
            and joined.count("<") == max(len(texts) - 1, 0) and "&" not in joined and ">" not in joined
            and "_x" not in joined and " <" not in joined and "< " not in joined
            and joined[:1] != " " and joined[-1:] != " ")


def _cell(ref: str, value: Cell) -> str:
    if isinstance(value, str):
        return f'<c r="{ref}" t="inlineStr">{_inline_string(value)}</c>'
    if isinstance(value, bool):
        return f'<c r="{ref}" t="b"><v>{value:d}</v></c>'
    if isinstance(value, int) and -_EXACT_INT <= value <= _EXACT_INT:
        return f'<c r="{ref}"><v>{int(value)}</v></c>'  # int(): an IntEnum's str() is its name
    if isinstance(value, float) and math.isfinite(value):
        return f'<c r="{ref}"><v>{float(value)!r}</v></c>'
    if isinstance(value, (int, float)):  # no cell number holds them exactly (or at all: inf, nan)
        return f'<c r="{ref}" t="inlineStr">{_inline_string(repr(value))}</c>'
    raise TypeError(f"cell {ref}: a {type(value).__name__} is not a text, number, boolean or None")


def _inline_string(text: str) -> str:
    text = _cut(_ILLEGAL.sub("", text), MAX_TEXT)
    # A raw \r would be read as \n by any XML parser; &#13; is not.
    xml = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\r", "&#13;")
    xml = _HEX_ESCAPE.sub("_x005F_", xml)
    space = ' xml:space="preserve"' if text[:1].isspace() or text[-1:].isspace() else ""  # else trimmed
    return f"<is><t{space}>{xml}</t></is>"


def _cut(text: str, units: int) -> str:
    """The text cut to `units` UTF-16 code units (Excel's characters), never inside a surrogate pair."""
    if len(text) * 2 <= units:
        return text
    data = text.encode("utf-16-le")
    return text if len(data) <= 2 * units else data[:2 * units].decode("utf-16-le", "ignore")


def _sheet_title(name: str) -> str:
    """The name as Excel takes it: []:*?/\\ replaced by _, control characters dropped, no apostrophe at
    either end, 31 characters at most, not empty, not History (a name Excel keeps for itself)."""
    title = _NOT_IN_SHEET_NAME.sub("_", _CONTROL.sub("", name))
    title = _cut(title.strip("'"), _SHEET_NAME_MAX).strip("'")
    if not title.strip():
        return "Sheet1"
    return "History_" if title.casefold() == "history" else title


def _column_letters(count: int) -> list[str]:
    """The letters of the first `count` columns: A, B, ... Z, AA, AB ..."""
    if count > MAX_COLUMNS:
        raise ValueError(f"an XLSX sheet holds {MAX_COLUMNS:,} columns at most, not {count:,}")
    letters = []
    for n in range(1, count + 1):
        name = ""
        while n:
            n, rest = divmod(n - 1, 26)
            name = chr(65 + rest) + name
        letters.append(name)
    return letters


class _Deflated:
    """Bytes deflated into `spool` as they come, with their CRC and size: a ZIP entry's header holds them."""

    def __init__(self, spool: BinaryIO) -> None:
        self.spool, self.crc, self.size = spool, 0, 0
        self._packer = zlib.compressobj(1, zlib.DEFLATED, -15)  # level 1: a third of level 6's time

    def write(self, data: bytes) -> None:
        self.crc = zlib.crc32(data, self.crc)
        self.size += len(data)
        self.spool.write(self._packer.compress(data))

    def finish(self) -> int:
        """The deflated size; the spool is rewound to be read."""
        self.spool.write(self._packer.flush())
        packed = self.spool.tell()
        self.spool.seek(0)
        return packed


class _Zip:
    """A ZIP of deflated entries with Zip64 fields only where a size needs them: Excel has been seen to
    refuse workbooks whose small parts carry them, as zipfile's force_zip64 writes. A sheet's size is
    known at its end only, hence its spool, copied here once deflated."""

    def __init__(self, file: BinaryIO) -> None:
        self._file = file
        self._offset = 0
        self._directory: list[bytes] = []

    def add(self, name: str, part: _Deflated) -> None:
        packed, path = part.finish(), name.encode()
        zip64 = max(part.size, packed) >= _ZIP64_FROM
        version, sizes = (45, (_IN_ZIP64, _IN_ZIP64)) if zip64 else (20, (packed, part.size))
        extra = struct.pack("<HHQQ", 1, 16, part.size, packed) if zip64 else b""
        # (version, flags, deflated, date, crc, sizes) of both headers; a fixed date: same rows, same file
        common = struct.pack("<HHHHHIII", version, 0, 8, 0, 0x21, part.crc, *sizes)
        self._directory.append(struct.pack("<IH", 0x02014B50, version) + common + struct.pack(
            "<HHHHHII", len(path), len(extra), 0, 0, 0, 0, self._offset) + path + extra)
        self._write(struct.pack("<I", 0x04034B50) + common + struct.pack("<HH", len(path), len(extra)) + path + extra)
        while chunk := part.spool.read(1 << 20):
            self._write(chunk)
        part.spool.close()

    def close(self) -> None:
        start, directory, count = self._offset, b"".join(self._directory), len(self._directory)
        self._write(directory)
        if start >= _ZIP64_FROM:  # the central directory itself starts beyond 4 GiB: the Zip64 end records
            self._write(struct.pack("<IQHHIIQQQQ", 0x06064B50, 44, 45, 45, 0, 0, count, count, len(directory), start)
                        + struct.pack("<IIQI", 0x07064B50, 0, start + len(directory), 1))
            start = _IN_ZIP64
        self._write(struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, count, count, len(directory), start, 0))
        self._file.flush()

    def _write(self, data: bytes) -> None:
        self._file.write(data)
        self._offset += len(data)
