"""An export's columns: which ones by default, which ones a caller may name, and how each value is shown.

The default is everything a contact holds, importable columns first: the built-in fields, the custom
fields, the lists and static segments it is a member of (by name), its opt-out reason per channel, its
status, then this database's own records of it (id, source, created_at, updated_at; deleted_at when deleted
contacts are written). The importer reads every column back (core/imports): the records as information only.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from ...storage.api import ExportColumn
from ..errors import InvalidInput
from ..fields import ALL_BUILTINS, Registry
from .cells import neutralise

GROUPS = {"lists": "list", "segments": "segment"}
OPTOUTS = {f"optout_{c}": c for c in ("email", "sms", "voice", "voicemail")}
RECORDS = ("id", "source", "created_at", "updated_at")
SEPARATOR, ESCAPE = "|", "\\"  # between the names of a contact's groups in a sheet's cell; before a | or \ in one
CACHED_CELLS = 10_000  # group cells kept made (most contacts share a few sets of groups)


def default_columns(reg: Registry, deleted: str) -> list[str]:
    custom = [name for name, f in reg.fields.items() if not f.builtin]
    return [*ALL_BUILTINS, *custom, *GROUPS, *OPTOUTS, "status", *RECORDS,
            *(["deleted_at"] if deleted != "no" else [])]


def storage_columns(names: Sequence[str], reg: Registry) -> list[ExportColumn]:
    """The columns as storage reads them; a name that is no column is refused, naming the accepted ones."""
    out = []
    for name in names:
        field = reg.fields.get(name)
        if name in GROUPS:
            out.append(ExportColumn(group=GROUPS[name]))  # type: ignore[arg-type]
        elif name in OPTOUTS:
            out.append(ExportColumn(channel=OPTOUTS[name]))
        elif field is not None and not field.builtin:
            out.append(ExportColumn(attribute=name, kind=field.type if field.type in ("number", "boolean") else "text"))
        elif field is not None or name in (*RECORDS, "status", "deleted_at"):
            out.append(ExportColumn(column=name))
        else:
            custom = [n for n, f in reg.fields.items() if not f.builtin]
            raise InvalidInput("columns", f"{name!r} is not a column; accepted: {', '.join(ALL_BUILTINS)}, "
                                          f"{', '.join(GROUPS)}, {', '.join(OPTOUTS)}, status, "
                                          f"{', '.join(RECORDS)}, deleted_at"
                                          + (f", or a custom field: {', '.join(custom[:30])}" if custom else
                                             " (no custom fields yet)"))
    return out


def check_names(names: list[str]) -> list[str]:
    if not names:
        raise InvalidInput("columns", "is empty; leave it out for every column, or name the ones wanted")
    if len(set(names)) != len(names):
        twice = sorted({n for n in names if names.count(n) > 1})
        raise InvalidInput("columns", f"names {', '.join(twice)} more than once; name each column once")
    return names


def shapers(columns: Sequence[ExportColumn], names: dict[str, dict[int, str]], *, text: bool
            ) -> list[tuple[int, Callable[[Any], Any]]]:
    """(position, function) for each column whose stored value is not yet what the file holds: a contact's
    group ids become their names (code-point order): in a sheet one cell, joined by | with a | or \\ in a
    name escaped by a backslash, and neutralised (storage/columns.py); in a JSON line a list. Booleans of a
    JSON line become true / false (a sheet's come as text from storage), whole numbers integers."""
    out: list[tuple[int, Callable[[Any], Any]]] = []
    for i, col in enumerate(columns):
        if col.group is not None:
            by_id = names[col.group]

            def listed(ids: str, by_id: dict[int, str] = by_id) -> list[str]:
                return sorted(by_id[int(g)] for g in ids.split(",") if int(g) in by_id)

            if text:
                cells: dict[str, str] = {}  # few distinct sets of groups: each cell is made once

                def cell(ids: str | None, cells: dict[str, str] = cells, listed: Callable = listed) -> str | None:
                    if ids is None:
                        return None
                    got = cells.get(ids)
                    if got is None:
                        if len(cells) >= CACHED_CELLS:  # memory stays flat however varied the memberships
                            cells.clear()
                        got = cells[ids] = neutralise(SEPARATOR.join(map(_escape, listed(ids))))
                    return got
                out.append((i, cell))
            else:
                out.append((i, lambda ids, listed=listed: None if ids is None else listed(ids)))
        elif col.kind == "boolean" and not text:
            out.append((i, lambda v: None if v is None else bool(v)))
        elif col.kind == "number" and not text:  # 21.0 and 21 are one number: written the way an import keeps it
            out.append((i, lambda v: int(v) if v.__class__ is float and v.is_integer() else v))
    return out


def _escape(name: str) -> str:
    return name.replace(ESCAPE, ESCAPE * 2).replace(SEPARATOR, ESCAPE + SEPARATOR)
