"""An XLSX workbook's parts other than its sheets, read as calamine reads them: the sheets listed in
workbook.xml (name, part, type, visibility), the 1904 date system, each cell style's date format
(styles.xml), and the shared strings, kept compactly (blocks of joined text and two offset arrays)."""

from __future__ import annotations

import posixpath
import re
import sys
import zipfile
import zlib
from array import array
from collections.abc import Iterator
from itertools import accumulate
from dataclasses import dataclass, field

from ...errors import InvalidInput
from ..sheet_budget import SheetTooBig
from .xlsxtext import builtin_kind, custom_kind, rich_text, t_text, unescape

_ATTR = re.compile(r"""([\w:.-]+)\s*=\s*(?:"([^"]*)"|'([^']*)')""")
_PART_LIMIT = 16 * 1024 * 1024  # workbook.xml, its relationships, styles.xml: read whole
_BLOCK = 1024 * 1024
_SHIFT = 12  # shared strings joined 4,096 at a time: an emoji widens (x4) its block only
_LIST_MAX = 500_000  # a table of at most this many strings is made a list (~30 MB more at most, measured)
ZIP_ERRORS = (KeyError, zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError, OSError)


def attrs(tag: str) -> dict[str, str]:
    """A tag's attributes (values unescaped)."""
    return {k: unescape(a if a or not b else b) for k, a, b in _ATTR.findall(tag)}


@dataclass
class SheetInfo:
    name: str
    part: str | None  # the zip member, None when the workbook names a part the file lacks
    typ: str  # WorkSheet, ChartSheet or DialogSheet
    visible: bool


@dataclass
class Book:
    sheets: list[SheetInfo] = field(default_factory=list)
    is_1904: bool = False
    kinds: list[int] = field(default_factory=list)  # cell style index -> 0, DATETIME or DURATION
    shared_part: str | None = None


class Members:
    """Zip member names looked up as calamine does: case-insensitively, `\\` as `/`."""

    def __init__(self, zf: zipfile.ZipFile) -> None:
        self.zf = zf
        self._names = {n.replace("\\", "/").lower(): n for n in zf.namelist()}

    def get(self, path: str) -> str | None:
        return self._names.get(path.replace("\\", "/").lower())

    def read(self, path: str | None, what: str, name: str) -> str:
        member = self.get(path) if path else None
        if member is None:
            return ""
        try:
            with self.zf.open(member) as f:
                data = f.read(_PART_LIMIT + 1)
        except ZIP_ERRORS as e:
            raise InvalidInput("file", f"{name} could not be read as XLSX: its {what} is damaged ({e})") from None
        if len(data) > _PART_LIMIT:
            raise InvalidInput("file", f"{name} could not be read as XLSX: its {what} is over "
                                       f"{_PART_LIMIT // 1024 // 1024} MB; re-save the workbook")
        return data.decode("utf-8", "replace")


def _relationships(xml: str) -> list[dict[str, str]]:
    return [attrs(tag) for tag in re.findall(r"<(?:\w+:)?Relationship\b[^>]*>", xml)]


def _target(base: str, target: str) -> str:
    return target.lstrip("/") if target.startswith("/") else posixpath.normpath(base + target)


def read_book(members: Members, name: str) -> Book:
    book = Book()
    base = "xl/"
    for rel in _relationships(members.read("_rels/.rels", "package relationships", name)):
        if rel.get("Type", "").endswith("/relationships/officeDocument") and rel.get("Target"):
            target = _target("", rel["Target"])
            base = target[: target.rfind("/") + 1]
    xml = members.read(base + "workbook.xml", "workbook", name)
    if not xml:
        raise InvalidInput("file", f"{name} could not be read as XLSX: it has no workbook part ({base}workbook.xml)"
                                   "; check the file, or give format= one of csv, xlsx, xls, ods, json, zip")
    rels = {r.get("Id"): r for r in _relationships(members.read(base + "_rels/workbook.xml.rels",
                                                                "workbook relationships", name))}
    for tag in re.findall(r"<(?:\w+:)?sheet\b[^>]*>", xml):
        a = attrs(tag)
        rid = next((v for k, v in a.items() if k == "id" or k.endswith(":id")), None)
        rel = rels.get(rid, {})
        kind = rel.get("Type", "").rsplit("/", 1)[-1]
        typ = {"chartsheet": "ChartSheet", "dialogsheet": "DialogSheet"}.get(kind, "WorkSheet")
        part = members.get(_target(base, rel["Target"])) if rel.get("Target") else None
        book.sheets.append(SheetInfo(a.get("name", ""), part, typ, a.get("state", "visible") == "visible"))
    pr = re.search(r"<(?:\w+:)?workbookPr\b[^>]*>", xml)
    book.is_1904 = pr is not None and attrs(pr.group(0)).get("date1904") in ("1", "true")
    by_type = {r.get("Type", "").rsplit("/", 1)[-1]: r.get("Target", "") for r in rels.values()}
    styles = _target(base, by_type["styles"]) if by_type.get("styles") else base + "styles.xml"
    book.kinds = _style_kinds(members.read(styles, "styles", name))
    shared = _target(base, by_type["sharedStrings"]) if by_type.get("sharedStrings") else base + "sharedStrings.xml"
    book.shared_part = members.get(shared)
    return book


def _style_kinds(xml: str) -> list[int]:
    custom = {}
    for tag in re.findall(r"<(?:\w+:)?numFmt\b[^>]*>", xml):
        a = attrs(tag)
        if "numFmtId" in a and "formatCode" in a:
            custom[a["numFmtId"]] = custom_kind(a["formatCode"])
    xfs = re.search(r"<((?:\w+:)?)cellXfs\b[^>]*>(.*?)</\1cellXfs\s*>", xml, re.S)
    kinds = []
    for tag in re.findall(r"<(?:\w+:)?xf\b[^>]*>", xfs.group(2) if xfs else ""):
        fmt = attrs(tag).get("numFmtId")
        kinds.append(0 if fmt is None else custom[fmt] if fmt in custom else builtin_kind(fmt))
    return kinds


class SharedStrings:
    """The shared-string table: a plain list while it has at most _LIST_MAX strings (about 60 bytes a string
    besides its text, looked up 3-4x faster), else blocks of joined text, string i being
    blocks[i >> _SHIFT][starts[i]:ends[i]] (about 1 byte a character and 8 a string). `get(i)` either way;
    `source(x)` is the expression of string int(x) in a compiled row plan (xlsxplans), over `names`."""

    def __init__(self) -> None:
        self.items: list[str] | None = []
        self.blocks: list[str] = []
        self.starts = array("I")
        self.ends = array("I")
        self.chars = 0  # total length, for the expanded-text estimate
        self.guarded = False  # whether a string starts with an apostrophe (an export's formula guard?)
        self.bytes = 0  # memory held
        self.get = self.items.__getitem__

    def __len__(self) -> int:
        return len(self.starts) if self.items is None else len(self.items)

    def _get(self, i: int) -> str:
        return self.blocks[i >> _SHIFT][self.starts[i]:self.ends[i]]

    @property
    def names(self) -> dict[str, object]:
        return {"B": self.blocks, "S": self.starts, "E": self.ends, "L": self.items}

    def source(self, x: str) -> str:
        if self.items is not None:
            return f"L[int({x})]"
        return f"B[(i := int({x})) >> {_SHIFT}][S[i]:E[i]]"

    def add(self, strings: list[str]) -> None:
        self.chars += sum(map(len, strings))
        self.guarded = self.guarded or any(s[:1] == "'" for s in strings if "'" in s)
        if self.items is not None:
            self.items += strings
            self.bytes += sum(map(sys.getsizeof, strings)) + 8 * len(strings)
            if len(self.items) <= _LIST_MAX:
                return
            strings, self.items, self.bytes = self.items, None, 0  # too many: joined from now on
            self.get = self._get
        if self.blocks and len(self.ends) % (1 << _SHIFT):  # fill up the last block first
            room = (1 << _SHIFT) - len(self.ends) % (1 << _SHIFT)
            self._join(strings[:room], into_last=True)
            strings = strings[room:]
        for at in range(0, len(strings), 1 << _SHIFT):
            self._join(strings[at:at + (1 << _SHIFT)])

    def _join(self, strings: list[str], into_last: bool = False) -> None:
        if not strings:
            return
        base = 0
        if into_last:
            last = self.blocks.pop()
            self.bytes -= sys.getsizeof(last)
            base = len(last)
            strings = [last, *strings]
        text = "".join(strings)
        ends = array("I", accumulate(map(len, strings)))
        if into_last:
            ends = ends[1:]
        else:
            self.starts.append(0)
        self.starts += ends[:-1] if not into_last else array("I", [base]) + ends[:-1]
        self.ends += ends
        self.blocks.append(text)
        self.bytes += sys.getsizeof(text) + 8 * len(ends)


def read_shared_strings(members: Members, part: str | None, name: str, budget: int) -> SharedStrings:
    """The table, refused with SheetTooBig once it holds more than `budget` bytes."""
    table = SharedStrings()
    if part is None:
        return table
    info = members.zf.getinfo(part)
    if info.file_size > 2 * budget:  # text takes at least ~1 byte a character
        raise _too_big(name, budget, info.file_size)
    for strings in _si_blocks(members, part, name):
        table.add(strings)
        if table.bytes > budget:
            raise _too_big(name, budget, info.file_size)
    return table


def _too_big(name: str, budget: int, size: int) -> SheetTooBig:
    return SheetTooBig(f"the spreadsheet needs more than {budget // 2**20:,} MB for its shared strings alone "
                       f"({size // 2**20:,} MB of XML in {name}). Save it as CSV, or split it")


def _si_blocks(members: Members, part: str, name: str) -> Iterator[list[str]]:
    """The strings of the table, a block of XML at a time (cut after an `</si>`)."""
    try:
        f = members.zf.open(part)
    except ZIP_ERRORS as e:
        raise InvalidInput("file", f"{name} could not be read as XLSX: its shared strings are damaged ({e})") from None
    with f:
        head = f.read(64 * 1024)
        m = re.search(rb"<(\w+:)?sst\b", head)
        p = (m.group(1) or b"").decode() if m else ""
        end = f"</{p}si>".encode()
        plain = re.compile(rf"<{p}si>(?:<{p}t>([^<]*)</{p}t>|(.*?))</{p}si>|<{p}si\s*/>", re.S)
        edges = [f"<{p}t>{w}" for w in " \t\n"] + [f"{w}</{p}t>" for w in " \t\n"]  # spaces to trim
        buf = head
        while True:
            try:
                more = f.read(_BLOCK)
            except ZIP_ERRORS as e:
                raise InvalidInput("file", f"{name} could not be read as XLSX: its shared strings are "
                                           f"damaged ({e})") from None
            buf += more
            cut = buf.rfind(end)
            if cut < 0 and more:
                continue
            cut = len(buf) if cut < 0 else cut + len(end)
            text = buf[:cut].decode("utf-8", "replace")
            buf = buf[cut:]
            pairs = plain.findall(text)
            if pairs:
                clean = not ("&" in text or "\r" in text or "_x00" in text or any(w in text for w in edges))
                yield [(s if clean else t_text(s, False)) if not rich else rich_text(rich, p)
                       for s, rich in pairs]
            if not more:
                return
