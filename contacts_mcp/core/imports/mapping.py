"""Which field each column of an import file goes to.

With a header line, each header is matched to a field by name or alias (see fields.fold); without one,
columns follow the canonical order (spec §2: the built-in fields, then custom fields by creation).
An explicit mapping, by header text or by column number ("1" is the first column), wins over both.
A header no field takes may be one of an export's own columns (see extras.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import InvalidInput
from ..fields import IDENTITY_FIELDS, Registry, fold
from ..models import BUILTIN_FIELDS
from .extras import RECORD_COLUMNS, export_column, records_note
from .readers import ATTRIBUTES_PREFIX

IGNORE = ("", "ignore", "skip", "-")


@dataclass
class Mapping:
    has_header: bool
    fields: list[str | None]          # the field of each column, None when ignored
    headers: list[str]                # column names as shown in reports ("column 3" without a header)
    unknown: list[str]                # columns matched to no field
    notes: list[str] = field(default_factory=list)  # what the job tells about its columns
    extras: dict[str, list[int]] = field(default_factory=dict)  # an export's status, lists... -> their columns

    def described(self) -> dict[str, str]:
        roles = {i: role for role, columns in self.extras.items() for i in columns}
        return {h: f or roles[i] for i, (h, f) in enumerate(zip(self.headers, self.fields)) if f or i in roles}


def check_explicit(mapping: dict[str, str] | None, reg: Registry) -> None:
    """Refuse, before a job starts, a mapping naming a field that does not exist."""
    for column, target in (mapping or {}).items():
        if target.strip().lower() not in IGNORE and target not in reg.fields:
            raise InvalidInput(f"mapping[{column!r}]", f"{target!r} is not a field; use a field name from get_fields "
                                                       "(e.g. 'email', 'mobile', 'first_name') or 'ignore'")


def looks_like_header(first_row: list[str], reg: Registry) -> bool:
    """A first line is a header when some cell names a field and none holds an email address."""
    return any(reg.resolve(c) for c in first_row if c) and not any("@" in c for c in first_row)


def resolve(first_row: list[str], reg: Registry, *, has_header: bool | None, explicit: dict[str, str] | None,
            keys_are_header: bool = False) -> Mapping:
    if keys_are_header:
        has_header = True
    elif has_header is None:
        has_header = looks_like_header(first_row, reg)
    width = len(first_row)
    order = [*BUILTIN_FIELDS, *(f.name for f in reg.custom)]
    if has_header:
        headers = [c.strip() or f"column {i + 1}" for i, c in enumerate(first_row)]
        # JSON's nested attributes ("attributes.FNAME") are matched by their own name, as headers are.
        fields = [reg.resolve(h[len(ATTRIBUTES_PREFIX):] if keys_are_header and h.startswith(ATTRIBUTES_PREFIX)
                              else h) for h in headers]
    else:
        headers = [f"column {i + 1}" for i in range(width)]
        fields = [order[i] if i < len(order) else None for i in range(width)]
    by_fold = {fold(h): i for i, h in enumerate(headers)}
    if keys_are_header:  # a nested attribute may also be named without its "attributes." prefix
        for i, h in enumerate(headers):
            if h.startswith(ATTRIBUTES_PREFIX):
                by_fold.setdefault(fold(h[len(ATTRIBUTES_PREFIX):]), i)
    ignored: set[int] = set()
    chosen: set[int] = set()
    for column, target in (explicit or {}).items():
        key = column.strip()
        if key.isdigit() and 1 <= int(key) <= width:
            i = int(key) - 1
        elif fold(key) in by_fold:
            i = by_fold[fold(key)]
        else:
            raise InvalidInput(f"mapping[{column!r}]", f"matches no column of the file; columns are: "
                                                       f"{', '.join(headers[:50])} (or numbers 1 to {width})")
        fields[i] = None if target.strip().lower() in IGNORE else target
        chosen.add(i)
        if fields[i] is None:
            ignored.add(i)
    # Headers matched to one field share it (an export's "Phone" and "Home Phone"): on each line the last
    # non-empty one wins, as with JSON keys. A column the caller mapped explicitly must be alone on its field.
    seen: dict[str, int] = {}
    for i, f in enumerate(fields):
        if f is None or keys_are_header:  # JSON objects may each name a field their own way
            continue
        if f in seen and (i in chosen or seen[f] in chosen):
            raise InvalidInput("mapping", f"columns {headers[seen[f]]!r} and {headers[i]!r} both go to field '{f}'; "
                                          "map one of them to another field or to 'ignore'")
        seen.setdefault(f, i)
    # An export's own columns, where no field (or explicit mapping) takes the header: its status, lists,
    # segments and opt-outs are applied with each line; its records of the contact are left out, on purpose.
    extras: dict[str, list[int]] = {}
    records: list[int] = []
    for i, h in enumerate(headers if has_header else ()):
        if fields[i] is None and i not in chosen and (role := export_column(h)):
            ignored.add(i)  # read, or left out on purpose: not an unknown column
            if role in RECORD_COLUMNS:
                records.append(i)
            else:
                extras.setdefault(role, []).append(i)
    if not any(f in IDENTITY_FIELDS for f in fields):
        shown = ", ".join(headers[:20])
        raise InvalidInput("mapping", f"no column is an email, mobile or ext_id (columns: {shown}); name one with "
                                      "mapping, e.g. {\"Courriel\": \"email\"}, or add an alias with set_field_alias")
    # Without a header, only columns beyond the canonical order have no field (unless mapped or ignored).
    extra = [i for i, f in enumerate(fields) if f is None and i not in ignored]
    notes = [] if has_header or not extra else [
        f"{_spans([i + 1 for i in extra])} {'has' if len(extra) == 1 else 'have'} no field in the canonical order "
        f"(the {len(order)} fields of get_fields) and {'was' if len(extra) == 1 else 'were'} ignored; to keep "
        "them, create fields (manage_fields) or map them, e.g. mapping {\"%d\": \"<field>\"}" % (extra[0] + 1)]
    if records:
        notes.append(records_note([headers[i] for i in records]))
    return Mapping(has_header=has_header, fields=fields, headers=headers, unknown=[headers[i] for i in extra],
                   notes=notes, extras=extras)


def _spans(numbers: list[int]) -> str:
    """'column 18', 'columns 18–20' or 'columns 17, 19–20': column numbers as runs."""
    runs: list[list[int]] = []
    for n in numbers:
        if runs and n == runs[-1][1] + 1:
            runs[-1][1] = n
        else:
            runs.append([n, n])
    text = ", ".join(str(a) if a == b else f"{a}–{b}" for a, b in runs)
    return f"column{'s' if len(numbers) > 1 else ''} {text}"
