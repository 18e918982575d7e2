"""Preparing an import file's lines: a plan compiled once per file, then applied to every line.

The generic path (row_values + prepare + missing_identity) looks each value's field up by name and
builds a dict and a Prepared per line. A file's mapping fixes all of that up front, so the plan
resolves each field's cell index and normaliser once and, per line, only runs the normalisers.

Results are those of the generic path by construction: each field goes through the same normaliser
(with inline fast paths that return only what that normaliser would return), and a line that any
normaliser refuses is prepared again by the generic path, which raises the error naming every bad
field. Mappings with a rare or odd field (a custom field named like a tool argument, an unknown
field) use the generic path for every line.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from operator import itemgetter
from typing import Any, NamedTuple

from ..errors import ContactsError, InvalidInput
from ..fastpath import fast_email, fast_phone
from ..fields import Registry, coerce
from ..models import PHONE_FIELDS, TEXT_FIELDS
from ..normalize import (
    TEXT_MAX,
    clean_text,
    normalize_date,
    normalize_email,
    normalize_ext_id,
    normalize_phone,
)
from ..prepare import (
    _COLUMN_SETTERS,
    ARGUMENT_NAMES,
    identity_wanted,
    missing_identity,
    prepare,
)
from .mapping import Mapping

Cells = Sequence[str]
Convert = Callable[[str], Any]


def row_values(mapping: Mapping, cells: Cells) -> dict[str, str]:
    """A line's cells by field, as the generic path takes them."""
    values: dict[str, str] = {}
    for i, f in enumerate(mapping.fields):
        if f is not None:
            cell = cells[i] if i < len(cells) else ""
            # Two keys for one field (JSON): a non-empty cell replaces an earlier one, so the last wins.
            if cell or f not in values:
                values[f] = cell
    return values


def no_identity(wanted: str) -> InvalidInput:
    return InvalidInput("line", f"has no {wanted}, the identity this import deduplicates on")


class LinePlan(NamedTuple):
    """How to prepare one file's lines. `prepare(cells)` is a line's prepared tuple: its values in `names`
    order, then its custom attributes (None when no custom field is mapped); it raises ContactsError
    with the generic path's message."""

    names: tuple[str, ...]
    prepare: Callable[[Cells], tuple]


def line_plan(mapping: Mapping, region: str, reg: Registry, match_keys: tuple[str, ...]) -> LinePlan:
    generic = _generic(mapping, region, reg, match_keys)
    order = _field_order(mapping)
    names = _names(order)
    kinds = {f: _kind(f, reg) for f in order}
    if None in kinds.values():
        return LinePlan(names, generic)
    return LinePlan(names, _compiled(order, kinds, names, region, reg, match_keys, generic))


# ---------------------------------------------------------------------------------- the generic path


def _generic(mapping: Mapping, region: str, reg: Registry, match_keys: tuple[str, ...]) -> Callable[[Cells], tuple]:
    """What read_chunks did for every line before plans: the reference for results and messages."""
    def prepare_line(cells: Cells) -> tuple:
        p = prepare(row_values(mapping, cells), region, reg)
        if wanted := missing_identity(p, match_keys):
            raise no_identity(wanted)
        return (*p.columns.values(), p.attributes)
    return prepare_line


# ---------------------------------------------------------------------------------- the compiled path


def _field_order(mapping: Mapping) -> dict[str, list[int]]:
    """Mapped fields in first-column order (row_values' dict order), each with its columns."""
    order: dict[str, list[int]] = {}
    for i, f in enumerate(mapping.fields):
        if f is not None:
            order.setdefault(f, []).append(i)
    return order


def _kind(name: str, reg: Registry) -> str | None:
    """How prepare() treats the field (mirroring its dispatch order); None for what plans leave to it."""
    if name in _COLUMN_SETTERS:
        if name in TEXT_FIELDS:
            return "text"
        if name in PHONE_FIELDS:
            return "phone"
        return {"email": "email", "ext_id": "ext_id", "birth_date": "date"}.get(name)  # blocked_senders: None
    if name in ARGUMENT_NAMES:
        return None
    f = reg.fields.get(name)
    return "custom" if f is not None and not f.builtin else None


def _names(order: dict[str, list[int]]) -> tuple[str, ...]:
    """The columns prepare() fills, in its order: custom fields go to the attributes instead."""
    names: list[str] = []
    for f in order:
        if f in _COLUMN_SETTERS:
            names.append(f)
            if f == "email":
                names.append("email_key")
    return tuple(names)


def _tuple_getter(indices: Sequence[int]) -> Callable[[Sequence[Any]], tuple]:
    """itemgetter that returns a tuple whatever the number of indices (itemgetter(i) returns the item)."""
    if len(indices) >= 2:
        return itemgetter(*indices)
    if len(indices) == 1:
        i = indices[0]
        return lambda items: (items[i],)
    return lambda items: ()


def _merger(order: dict[str, list[int]]) -> Callable[[list[str]], list[str]] | None:
    """For a field read from several columns (JSON keys), puts row_values' choice in its first column."""
    shared = [cols for cols in order.values() if len(cols) > 1]
    if not shared:
        return None

    def merge(cells: list[str]) -> list[str]:
        cells = list(cells)
        for cols in shared:
            value = cells[cols[0]]
            for i in cols[1:]:
                if cells[i]:
                    value = cells[i]
            cells[cols[0]] = value
        return cells
    return merge


def _compiled(order: dict[str, list[int]], kinds: dict[str, str | None], names: tuple[str, ...], region: str,
              reg: Registry, match_keys: tuple[str, ...], generic: Callable[[Cells], tuple]) -> Callable[[Cells], tuple]:
    width = max((cols[-1] for cols in order.values()), default=-1) + 1
    padding = [""] * width
    merge = _merger(order)
    cell_of = {f: cols[0] for f, cols in order.items()}

    # A line's values are computed in this order: text columns, email, phones / date / ext_id, email_key,
    # attributes; `arrange` then puts them in `names` order with the attributes last.
    texts = [f for f in order if kinds[f] == "text"]
    get_texts = _tuple_getter([cell_of[f] for f in texts])
    email = "email" in order
    email_at = len(texts)
    others = [f for f in order if kinds[f] in ("phone", "date", "ext_id")]
    steps = [(cell_of[f], _converter(f, kinds[f], region)) for f in (["email"] if email else []) + others]
    custom = [(f, cell_of[f], reg.fields[f]) for f in order if kinds[f] == "custom"]
    computed = [*texts, *(["email"] if email else []), *others, *(["email_key"] if email else [])]
    arrange = _tuple_getter([computed.index(n) for n in names] + [len(computed)])
    wanted = identity_wanted(match_keys)
    keys = _tuple_getter([names.index(k) for k in match_keys if k in names])

    def prepare_line(line: Cells) -> tuple:
        cells = line
        if len(cells) < width:
            cells = [*cells, *padding[len(cells):]]  # row_values reads missing cells as ""
        if merge is not None:
            cells = merge(cells)  # type: ignore[arg-type]
        try:
            raw = get_texts(cells)
            joined = "".join(raw)  # one check for all: no NUL, and no cell can be longer than the lot
            if "\x00" in joined or (len(joined) > TEXT_MAX and max(map(len, raw)) > TEXT_MAX):
                vals = [clean_text(n, c) for n, c in zip(texts, raw)]  # NULs to drop, or a length to refuse
            else:
                vals = [c.strip() or None for c in raw]  # what clean_text returns for such cells
            for i, convert in steps:
                vals.append(convert(cells[i]))
            if email:
                e = vals[email_at]
                vals.append(e.lower() if e else None)  # normalize.email_key
            vals.append({f: coerce(fd, cells[i], f) for f, i, fd in custom} if custom else None)
        except ContactsError:
            return generic(line)  # raises, naming every bad field of the line
        out = arrange(vals)
        if wanted and not any(keys(out)):
            raise no_identity(wanted)
        return out
    return prepare_line


def _converter(name: str, kind: str | None, region: str) -> Convert:
    """The column's normaliser, with the common case inline: what prepare()'s setter would store."""
    if kind == "email":
        return _email
    if kind == "phone":
        mobile = name == "mobile"

        def phone(cell: str) -> str | None:
            text = cell.strip()
            # fast_phone accepts only short text without NULs, which clean_text returns unchanged.
            return (fast_phone(text, region, mobile) or normalize_phone(cell, region, name)) if text else None
        return phone
    if kind == "date":
        return _date
    return normalize_ext_id


def _email(cell: str) -> str | None:
    text = cell.strip()
    # fast_email accepts only short ASCII text without NULs, which clean_text returns unchanged.
    return (fast_email(text) or normalize_email(cell)) if text else None


def _date(cell: str) -> str | None:
    text = cell.strip()
    if len(text) == 10 and text[4] == "-" and text[7] == "-":
        # normalize_date's own fast path. A text date.fromisoformat accepts in this shape is ASCII digits
        # and dashes, which isoformat() would print back unchanged (tested).
        try:
            date.fromisoformat(text)
        except ValueError:
            pass
        else:
            return text
    return normalize_date(cell)
