"""XLSX cell values as text, the way calamine reads them and `_cell` then writes them (see xlsxfile).

Texts: XML line ends normalized (a raw CR or CRLF is LF), entities resolved, a `<t>` without
xml:space="preserve" trimmed of ASCII white space, then Excel's `_x00HH_` escapes decoded. Numbers: floats
written by `_float` (integral ones without ".0"). A number whose cell style is a date format becomes a
date, a datetime, a time or a duration as python-calamine returns them, written as `_cell` writes those.
"""

from __future__ import annotations

import datetime as dt
import math
import re

from itertools import product
from string import ascii_uppercase

from ._base import _datetime, _float

# -- text

_ENTITY = re.compile(r"&(amp|lt|gt|quot|apos|#[0-9]{1,7}|#x[0-9A-Fa-f]{1,6});")
_NAMED = {"amp": "&", "lt": "<", "gt": ">", "quot": '"', "apos": "'"}
# calamine's unescape_xml: "_x00" and two hex digits (Rust's from_str_radix also takes "+" and one digit).
_EXCEL_ESCAPE = re.compile(r"_x00([0-9A-Fa-f]{2}|\+[0-9A-Fa-f])_")
_TRIM = " \t\r\n"


def _entity(m: re.Match[str]) -> str:
    name = m.group(1)
    if name[0] != "#":
        return _NAMED[name]
    try:
        code = int(name[2:], 16) if name[1] == "x" else int(name[1:])
        return chr(code) if code else m.group(0)
    except (ValueError, OverflowError):
        return m.group(0)


def unescape(text: str) -> str:
    """XML entities and character references resolved (an unknown one is left as it is)."""
    return _ENTITY.sub(_entity, text) if "&" in text else text


def excel_unescape(text: str) -> str:
    """Excel's `_x000D_`-style escapes decoded, as calamine does (only `_x00HH_`: one byte's character)."""
    return _EXCEL_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), text) if "_x00" in text else text


def xml_text(raw: str) -> str:
    """Character data as an XML parser hands it over: line ends normalized, entities resolved."""
    if "\r" in raw:
        raw = raw.replace("\r\n", "\n").replace("\r", "\n")
    return unescape(raw) if "&" in raw else raw


def t_text(raw: str, preserve: bool) -> str:
    """The text of one `<t>` element (shared or inline string, or one rich-text run)."""
    text = xml_text(raw)
    if not preserve:
        text = text.strip(_TRIM)
    return excel_unescape(text)


_CDATA = re.compile(r"<!\[CDATA\[(.*?)\]\]>", re.S)
_PRESERVE = re.compile(r"""\bxml:space\s*=\s*["']preserve["']""")
_T_ELEMENTS: dict[str, re.Pattern[str]] = {}


def rich_text(xml: str, p: str) -> str:
    """The text of an `<si>` or `<is>` element's content: every `<t>` joined, phonetic runs (`<rPh>`) left
    out. `p` is the namespace prefix of the part's elements ("" or "x:")."""
    if f"<{p}rPh" in xml:
        xml = re.sub(rf"<{p}rPh\b.*?</{p}rPh\s*>", "", xml, flags=re.S)
    elements = _T_ELEMENTS.get(p)
    if elements is None:
        elements = _T_ELEMENTS[p] = re.compile(
            rf"<{p}t(\s[^>]*?)?(?:/>|>((?:[^<]|<!\[CDATA\[.*?\]\]>)*)</{p}t\s*>)", re.S)
    out = []
    for m in elements.finditer(xml):
        attrs, body = m.group(1), m.group(2)
        if not body:  # <t/> or <t></t>
            continue
        preserve = attrs is not None and _PRESERVE.search(attrs) is not None
        if "<![CDATA[" in body:
            parts = _CDATA.split(body)  # text, cdata, text, ...
            body = "".join(xml_text(s) if i % 2 == 0 else s for i, s in enumerate(parts))
            out.append(excel_unescape(body if preserve else body.strip(_TRIM)))
        else:
            out.append(t_text(body, preserve))
    return "".join(out)


# -- numbers

_FLOAT = re.compile(r"[+-]?(?:(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|inf(?:inity)?|nan)", re.I)


def parse_float(v: str) -> float | None:
    """The number of a `<v>`, as calamine's float parser takes it (no spaces, no underscores), else None."""
    if _FLOAT.fullmatch(v) is None:
        return None
    return float(v)


def number_text(v: str) -> str | None:
    """A number cell without a date format as text; None when `v` is no number."""
    if v.isdigit() and v.isascii() and len(v) < 16 and (v[0] != "0" or len(v) == 1):
        return v  # what _float(float(v)) gives, faster
    f = parse_float(v)
    return None if f is None else _float(f)


# -- dates (calamine's ExcelDateTime, python-calamine's choice of date, datetime, time or timedelta)

DATETIME, DURATION = 1, 2
_EPOCH = dt.datetime(1899, 12, 30)
_DAY_MS = 86_400_000
_CHRONO_DAYS = 95_000_000  # beyond, chrono cannot hold the date: calamine gives the float back


def _round(x: float) -> int:
    """Rust's f64::round (half away from zero), then `as i64`."""
    if math.isnan(x):
        return 0
    r = math.floor(abs(x))
    if abs(x) - r >= 0.5:
        r += 1
    return int(math.copysign(r, x))


def _serial_datetime(v: float, is_1904: bool) -> dt.datetime | None:
    f = v + 1462 if is_1904 else v
    f = f if f >= 60 else f + 1  # Excel's 1900-02-29
    if math.isinf(f) or abs(f) > _CHRONO_DAYS:
        return None
    try:
        return _EPOCH + dt.timedelta(milliseconds=_round(f * _DAY_MS))
    except OverflowError:
        return None


def _time_of(v: float, is_1904: bool) -> str | None:
    f = v + 1462 if is_1904 else v
    f = f if f >= 60 else f + 1
    if math.isinf(f) or abs(f) > _CHRONO_DAYS:
        return None
    ms = _round(f * _DAY_MS) % _DAY_MS
    return str(dt.time(ms // 3_600_000, ms // 60_000 % 60, ms // 1000 % 60, ms % 1000 * 1000))


def date_text(v: str, kind: int, is_1904: bool) -> str | None:
    """A number cell with a date (kind DATETIME) or duration (kind DURATION) format, as text; None when
    `v` is no number."""
    f = parse_float(v)
    if f is None:
        return None
    if kind == DURATION:
        try:
            return str(dt.timedelta(milliseconds=_round(f * _DAY_MS)))
        except OverflowError:
            return _float(f)
    if f < 1.0:
        text = _time_of(f, is_1904)
    else:
        d = _serial_datetime(f, is_1904)
        if d is None:
            text = None
        elif f.is_integer():
            text = d.date().isoformat()
        else:
            text = _datetime(d)
    return _float(f) if text is None else text


_ISO_DATETIME = re.compile(r"\s*([0-9]{4})\s*-\s*([0-9]{1,2})\s*-\s*([0-9]{1,2})\s*T([0-9]{1,2})\s*:\s*([0-9]{1,2})"
                           r"\s*:\s*([0-9]{1,2})(?:\.([0-9]+))?\s*")
_ISO_TIME = re.compile(r"\s*([0-9]{1,2})\s*:\s*([0-9]{1,2})\s*:\s*([0-9]{1,2})(?:\.([0-9]+))?\s*")
_ISO_DATE = re.compile(r"\s*([0-9]{4})\s*-\s*([0-9]{1,2})\s*-\s*([0-9]{1,2})\s*")


def _micro(frac: str | None) -> int:
    return int((frac or "")[:6].ljust(6, "0"))


def iso_text(v: str) -> str:
    """A `t="d"` cell (an ISO 8601 date, time or datetime), as text."""
    try:
        if "T" in v:
            m = _ISO_DATETIME.fullmatch(v)
            if m:
                y, mo, d, h, mi, s = map(int, m.groups()[:6])
                return _datetime(dt.datetime(y, mo, d, h, mi, s, _micro(m.group(7))))
        elif ":" in v:
            m = _ISO_TIME.fullmatch(v)
            if m:
                h, mi, s = map(int, m.groups()[:3])
                return str(dt.time(h, mi, s, _micro(m.group(4))))
        else:
            m = _ISO_DATE.fullmatch(v)
            if m:
                return dt.date(*map(int, m.groups())).isoformat()
    except ValueError:
        pass
    return v


# -- number formats (calamine's detect_custom_number_format and builtin_format_by_id)

_BUILTIN = {"14": DATETIME, "15": DATETIME, "16": DATETIME, "17": DATETIME, "18": DATETIME, "19": DATETIME,
            "20": DATETIME, "21": DATETIME, "22": DATETIME, "45": DATETIME, "47": DATETIME, "46": DURATION}


def builtin_kind(num_fmt_id: str) -> int:
    return _BUILTIN.get(num_fmt_id, 0)


def custom_kind(fmt: str) -> int:
    """0 for a plain number format, DATETIME or DURATION: calamine's reading of a format code."""
    escaped = is_quote = ap = hms = False
    brackets = 0
    prev = " "
    for s in fmt:
        if escaped:
            escaped = False
        elif s in "_\\*":
            escaped = True
        elif is_quote:
            if s == '"':
                is_quote = False
        elif s == '"':
            is_quote = True
        elif s == ";":
            return 0
        elif s == "[":
            brackets = min(brackets + 1, 255)
        elif s == "]" and brackets == 1 and hms:
            return DURATION
        elif s == "]":
            brackets = max(brackets - 1, 0)
        elif s in "aA" and not ap and brackets == 0:
            ap = True
        elif s in "pm/PM" and ap and brackets == 0:
            return DATETIME
        elif s in "dmhysDMHYS" and not ap and brackets == 0:
            return DATETIME
        elif not (hms and s.lower() == prev.lower()):
            hms = prev == "[" and s in "mhsMHS"
        prev = s
    return 0


# -- cell references

DIGITS = "0123456789"
# Column letters -> 0-based index, for A..ZZZ (beyond XFD only a hostile file goes).
COLUMNS = {"".join(t): i for i, t in enumerate(
    t for n in (1, 2, 3) for t in product(ascii_uppercase, repeat=n))}


def column_of(letters: str) -> int:
    n = COLUMNS.get(letters)
    if n is not None:
        return n
    n = 0
    for c in letters.upper():
        n = n * 26 + ord(c) - 64
    return n - 1


def excel_column(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, r = divmod(index - 1, 26)
        letters = chr(65 + r) + letters
    return letters
