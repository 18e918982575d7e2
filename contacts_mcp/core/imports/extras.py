"""An export's own columns, read back by an import so that a file exported by this server imports back to the
same contacts (core/exports/columns.py writes them).

- `status`, `lists`, `segments`, `optout_email` / `_sms` / `_voice` / `_voicemail`: a line's *extras*, read with
  the line (`line_reader`: plain tuples, they may come from the reader child) and applied with its contact, in
  the batch's transaction (`BatchExtras`). An empty cell changes nothing: no import leaves a list or lifts an
  opt-out. A bad value makes the line invalid as a whole, before anything of it is applied.
- `id`, `source`, `created_at`, `updated_at`, `deleted_at`: this database's records of a contact, recognised
  so that they are neither imported nor reported as unknown columns (the job says so in one note).

Groups are named exactly as stored (an export writes them so, and "VIP" and "vip" may be two lists); a name
no list (static segment) has yet makes one. Names are resolved once a batch, in its transaction: a list
created, renamed or deleted meanwhile is seen as it is now.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any, get_args

from ...storage.api import Writer
from ..errors import InvalidInput, all_invalid
from ..exports.columns import ESCAPE, GROUPS, OPTOUTS, RECORDS, SEPARATOR
from ..groups import memberships
from ..models import Status
from ..normalize import clean_text
from ..optouts import REASONS, block
from ..upsert import BatchOptions, ItemResult

STATUSES: tuple[str, ...] = get_args(Status)
ROLES = ("status", *GROUPS, *OPTOUTS)            # the columns applied with a line
RECORD_COLUMNS = (*RECORDS, "deleted_at")         # the columns left out on purpose
_NAMES = frozenset((*ROLES, *RECORD_COLUMNS))
_APPLIED = ("created", "updated", "unchanged")    # the outcomes of lines whose contact was written
_CACHED_CELLS = 10_000                            # group cells parsed, per job (most lines repeat a few)

# A line's extras: (status or None, list names, static segment names, ((channel, reason), ...)).
Extras = tuple[str | None, tuple[str, ...], tuple[str, ...], tuple[tuple[str, str], ...]]


def export_column(header: str) -> str | None:
    """The export column a header names, None for any other. Only as an export spells it: a CRM's "Status"
    ("Active", "Lead") or "Source" stays an unknown column, as before, instead of failing every line."""
    name = header.strip()
    return name if name in _NAMES else None


def records_note(headers: Sequence[str]) -> str:
    one = len(headers) == 1
    return (f"column{'' if one else 's'} {', '.join(headers)} {'is' if one else 'are'} this server's own "
            f"record{'' if one else 's'} of a contact (from an export): not imported")


# ---------------------------------------------------------------------------------- reading a line


def line_reader(extras: dict[str, list[int]], *, arrays: bool) -> Callable[[Sequence[str]], Extras | None] | None:
    """How to read a line's extras from its cells (None when the file has no such column): the tuple, None
    when every such cell is empty, or InvalidInput naming every bad one. `arrays`: a JSON file, whose
    `lists` and `segments` may be arrays of names (read as the JSON text of the array)."""
    if not extras:
        return None
    status_at = extras.get("status", [])
    groups_at = [extras.get(name, []) for name in GROUPS]
    optouts_at = [(OPTOUTS[name], name, extras[name]) for name in OPTOUTS if name in extras]
    parsed: dict[tuple[str, str], tuple[str, ...] | InvalidInput] = {}

    def names(column: str, cell: str) -> tuple[str, ...]:
        key = (column, cell)
        got = parsed.get(key)
        if got is None:
            try:
                got = _names(column, cell, arrays)
            except InvalidInput as exc:
                got = exc
            if len(parsed) < _CACHED_CELLS:
                parsed[key] = got
        if got.__class__ is tuple:
            return got  # type: ignore[return-value]
        raise got  # type: ignore[misc]

    def read(cells: Sequence[str]) -> Extras | None:
        status = _cell(cells, status_at)
        groups = [_cell(cells, at) for at in groups_at]
        optouts = [(channel, column, reason) for channel, column, at in optouts_at if (reason := _cell(cells, at))]
        if not (status or any(groups) or optouts):
            return None
        errors: list[InvalidInput] = []
        if status:
            status = status.lower()
            if status not in STATUSES:
                errors.append(InvalidInput("status", f"{_cell(cells, status_at)!r} is not a status; use "
                                                     f"{' or '.join(STATUSES)} (empty: unchanged)"))
        found: list[tuple[str, ...]] = []
        for column, cell in zip(GROUPS, groups):
            try:
                found.append(names(column, cell) if cell else ())
            except InvalidInput as exc:
                errors.append(exc)
        reasons = []
        for channel, column, reason in optouts:
            if reason.lower() in REASONS:
                reasons.append((channel, reason.lower()))
            else:
                errors.append(InvalidInput(column, f"{reason!r} is not an opt-out reason; use {', '.join(REASONS)} "
                                                   "(empty: no opt-out on this channel)"))
        if errors:
            raise all_invalid(errors)
        return status, found[0], found[1], tuple(reasons)

    return read


def _cell(cells: Sequence[str], at: list[int]) -> str:
    """The column's value on this line, trimmed; of several columns for one (JSON keys), the last non-empty."""
    value = ""
    for i in at:
        if i < len(cells) and (text := cells[i].strip()):
            value = text
    return value


def _names(column: str, cell: str, arrays: bool) -> tuple[str, ...]:
    """The group names of a cell: `a|b\\|c` (a \\ escapes the next | or \\), or in JSON an array of names."""
    if arrays and cell[0] == "[":
        try:
            items = json.loads(cell)
        except ValueError:
            items = None  # a name that starts with "[": text
        if isinstance(items, list):
            if not all(isinstance(n, str) for n in items):
                raise InvalidInput(column, f"is an array of {json.dumps(items)[:80]}; give names (text), e.g. "
                                           "[\"Clients\", \"VIP\"]")
            return _cleaned(column, items)
    if ESCAPE not in cell:
        return _cleaned(column, cell.split(SEPARATOR))
    parts, part, escaped = [], [], False
    for ch in cell:
        if escaped:
            part.append(ch if ch in (SEPARATOR, ESCAPE) else ESCAPE + ch)  # a lone \ stays as written
            escaped = False
        elif ch == ESCAPE:
            escaped = True
        elif ch == SEPARATOR:
            parts.append("".join(part))
            part = []
        else:
            part.append(ch)
    parts.append("".join(part) + (ESCAPE if escaped else ""))
    return _cleaned(column, parts)


def _cleaned(column: str, names: list[str]) -> tuple[str, ...]:
    """Each name as manage_lists / manage_segments would store it (trimmed, at most 255 characters), once;
    empty ones (`a||b`) dropped."""
    return tuple(dict.fromkeys(n for name in names if (n := clean_text(column, name))))


# ---------------------------------------------------------------------------------- applying a batch


class BatchExtras:
    """A batch's extras, its group names resolved once for the batch (in its transaction)."""

    def __init__(self, w: Writer, extras: list[Extras | None]) -> None:
        self.extras = extras
        wanted = {kind: {n for e in extras if e for n in e[i]} for i, kind in ((1, "list"), (2, "segment"))}
        self.ids: dict[str, dict[str, int]] = {"list": {}, "segment": {}}
        self.dynamic: set[str] = set()
        if wanted["list"] or wanted["segment"]:
            for kind, group_id, name in w.groups_named([*wanted["list"], *wanted["segment"]]):
                if name in wanted[kind]:  # matched ignoring case: only the exact name is this group
                    self.ids[kind].setdefault(name, group_id)  # lists may share a name: the oldest
            segments = self.ids["segment"]
            static = w.static_segment_ids(list(segments.values())) if segments else set()
            self.dynamic = {name for name, i in segments.items() if i not in static}

    def refuse(self, items: list[Any]) -> list[Any]:
        """The batch's items, those of lines naming a dynamic segment made their error (nothing of them applied)."""
        if not self.dynamic:
            return items
        out = list(items)
        for i, e in enumerate(self.extras):
            if e and (named := [n for n in e[2] if n in self.dynamic]):
                what = "is a dynamic segment" if len(named) == 1 else "are dynamic segments"
                out[i] = InvalidInput("segments", f"{', '.join(map(repr, named))} {what} (members are whoever its "
                                                  "filter matches): no import joins one; leave it out of the line, "
                                                  "or name a static segment")
        return out

    def apply(self, w: Writer, results: list[ItemResult], opts: BatchOptions) -> list[ItemResult]:
        """Each written line's extras on its contact: groups joined (made when missing), status set, opt-outs
        recorded from the job (the path every opt-out takes). A contact they change counts as updated."""
        lines = [(i, r.id, e) for i, (r, e) in enumerate(zip(results, self.extras))
                 if e is not None and r.outcome in _APPLIED]
        if not lines:
            return results
        created = {cid for i, cid, _ in lines if results[i].outcome == "created"}
        changed: set[int] = set()  # contacts these extras changed that the batch had not created
        for at, kind in ((1, "list"), (2, "segment")):
            named = [(cid, e[at]) for _, cid, e in lines if e[at]]
            if not named:
                continue
            ids = self._made(w, kind, dict.fromkeys(n for _, names in named for n in names), opts.now)
            # A new contact is in no group yet, nor unsubscribed from any list: its pairs are added as they are
            # (as apply_batch adds a new line's), the others' checked against what they are in.
            if fresh := [(cid, ids[n]) for cid, names in named if cid in created for n in names]:
                w.add_memberships(fresh, opts.now, kind)
            if known := [(cid, names) for cid, names in named if cid not in created]:
                groups = memberships(w, kind, list({cid for cid, _ in known}),
                                     list({ids[n] for _, names in known for n in names}))
                for cid, names in known:
                    if groups.change(cid, [ids[n] for n in names], ()):
                        changed.add(cid)
                groups.flush(w, kind, opts.now)
        # Rows are read for what needs them: a status or opt-outs to compare, a changed contact's updated_at.
        new_status = opts.new_status
        wanted = [cid for _, cid, (status, _, _, optouts) in lines
                  if optouts or (status and (status != new_status or cid not in created)) or cid in changed]
        rows = {row["id"]: row for row in w.contacts_by_ids(wanted)} if wanted else {}
        records: list = []
        for _, cid, (status, _, _, optouts) in lines:
            row = rows.get(cid)
            if row is None:  # nothing to compare or write for this line
                continue
            # Double opt-in: an import may make an existing contact unconfirmed, never confirm one (only
            # confirm_subscription does); a contact it creates takes the status as written.
            if status and row["status"] != status and (cid in created or status != "confirmed"):
                row["status"] = status
                changed.add(cid)
            for channel, reason in optouts:
                if new := block(row, [channel], reason, opts.source):
                    records += new
                    changed.add(cid)
        dirty = [rows[cid] for cid in sorted(changed) if cid in rows]
        for row in dirty:
            row["updated_at"] = opts.now
        if dirty:
            w.update_contacts(dirty)
        if records:
            w.insert_optouts(records, opts.now)
        return [ItemResult("updated", r.id) if r.outcome == "unchanged" and r.id in changed else r for r in results]

    def _made(self, w: Writer, kind: str, names: dict[str, None], now: str) -> dict[str, int]:
        """These names' ids, a group made for each name none has yet (a list without folder, a static segment)."""
        known = self.ids[kind]
        for name in names:
            if name not in known:
                known[name] = (w.insert_list(name=name, description=None, folder_id=None, now=now) if kind == "list"
                               else w.insert_segment(name, None, now))
        return {name: known[name] for name in names}

