"""Segments: static ones, hand-managed groups of contacts attached and detached by id or external id; and
dynamic ones, a saved filter (core/filters.py) whose members are whoever matches it when read."""

from __future__ import annotations

import json
from typing import Any, Literal

from ..storage.api import Reader, Writer
from .errors import Conflict, ContactsError, InvalidInput, LimitExceeded, NotFound
from .filters import Filters, filters_of
from .lists import _name, _read_by_ids
from .references import refuse_if_named
from .models import Filter, MembershipChange, Segment, SegmentPage, SegmentsChange
from .normalize import clean_text, normalize_ext_id, utc_now
from .pagination import decode_cursor, page
from .scope import SMALL_WRITE, Scope

ATTACH_MAX = 500
IDS_MAX = 100
FILTER_CHARS_MAX = 20_000


def _render(r: Reader, rows: list[dict[str, Any]], compiler: Filters) -> list[Segment]:
    sizes = r.segment_sizes([row["id"] for row in rows if not row["filter_json"]])
    notes: dict[int, str] = {}
    for row in rows:
        if row["filter_json"]:  # counted now, from the rows
            try:
                sizes[row["id"]] = sum(r.filter_profiles(compiler.segment(r, row)).values())
            except ContactsError as exc:  # it names a list, segment or field deleted since: say so, list the rest
                notes[row["id"]] = f"{exc}; change its filter with manage_segments update"
    return [Segment(id=row["id"], name=row["name"], description=row["description"], size=sizes.get(row["id"], 0),
                    filter=json.loads(row["filter_json"]) if row["filter_json"] else None, note=notes.get(row["id"]),
                    created_at=row["created_at"], updated_at=row["updated_at"]) for row in rows]


def _require(r: Reader, segment_id: int) -> dict[str, Any]:
    rows = r.segments_by_ids([segment_id])
    if not rows:
        raise NotFound("segment id", [segment_id], "Find segments with get_segments, or create one with "
                                                   "manage_segments.")
    return rows[0]


def require_static(r: Reader, segment_id: int) -> None:
    """The segment exists and is static: its members are joined and left by hand."""
    if _require(r, segment_id)["filter_json"]:
        raise InvalidInput("segment_id", f"segment {segment_id} is dynamic: its members are the contacts matching "
                                         "its filter; change the filter (manage_segments update) instead")


def _unique_name(r: Reader, name: str, segment_id: int | None = None) -> None:
    other = r.segment_by_name(name)
    if other is not None and other["id"] != segment_id:
        raise Conflict(f"a segment named {name!r} already exists (id {other['id']}); choose another name or use it.")


async def manage(scope: Scope, action: str, *, segment_id: int | None, segment_ids: list[int] | None,
                 name: str | None, description: str | None, filter: Filter | None = None) -> SegmentsChange:  # noqa: A002
    now = utc_now()
    text = clean_text("description", description, 1000)
    compiler = await filters_of(scope)
    saved = json.dumps(filter.dump(), ensure_ascii=False, separators=(",", ":")) if filter is not None else None
    if saved is not None and len(saved) > FILTER_CHARS_MAX:
        raise LimitExceeded("filter's length in characters", FILTER_CHARS_MAX, len(saved))
    if action == "delete":
        if not segment_ids or len(segment_ids) > IDS_MAX:
            raise InvalidInput("segment_ids", f"delete needs 1 to {IDS_MAX} segment ids")

        def delete(w: Writer) -> SegmentsChange:
            known = w.existing_segment_ids(segment_ids)
            refuse_if_named(w, "segment", known, also_deleted=known)
            return SegmentsChange(deleted=w.delete_segments(sorted(known)),
                                  not_found=[i for i in dict.fromkeys(segment_ids) if i not in known])

        return await scope.write(delete)
    if action == "create":
        clean = _name(name)

        def create(w: Writer) -> SegmentsChange:
            _unique_name(w, clean)
            if filter is not None:
                compiler.compile(w, filter)  # refused now, naming the node, rather than when read
            new_id = w.insert_segment(clean, text, now, saved)
            return SegmentsChange(segment=_render(w, w.segments_by_ids([new_id]), compiler)[0])

        return await scope.write(create)
    if segment_id is None:
        raise InvalidInput("segment_id", "is required for action 'update'")
    clean_name = _name(name) if name is not None else None
    if clean_name is None and text is None and filter is None:
        raise InvalidInput("update", "nothing to change: give name, description or (a dynamic segment's) filter")

    def update(w: Writer) -> SegmentsChange:
        row = _require(w, segment_id)
        if clean_name:
            _unique_name(w, clean_name, segment_id)
        if filter is not None:
            if not row["filter_json"]:
                raise InvalidInput("filter", f"segment {segment_id} is static (hand-picked members); create a "
                                             "dynamic segment with a filter instead")
            compiler.compile(w, filter)
            # A filter naming this very segment would loop: checked as it will be read.
            compiler.segment(w, {**row, "filter_json": saved})
        w.update_segment(segment_id, clean_name, text, now, saved)
        return SegmentsChange(segment=_render(w, w.segments_by_ids([segment_id]), compiler)[0])

    return await scope.write(update)


async def get_segments(scope: Scope, *, ids: list[int] | None, limit: int, cursor: str | None) -> SegmentPage:
    compiler = await filters_of(scope)
    if ids:
        kept, _, not_found = await _read_by_ids(scope, "segment", ids, lambda r: r.segments_by_ids(ids),
                                                lambda r, rows: _render(r, rows, compiler))
        return SegmentPage(segments=kept, not_found=not_found)
    query = {"segments": True}
    after = decode_cursor(cursor, query)
    items = await scope.read(lambda r: _render(r, r.list_segments(after_id=after, limit=limit + 1), compiler))
    kept, next_cursor = page(items, limit=limit, key=lambda s: s.id, query=query)
    return SegmentPage(segments=kept, next_cursor=next_cursor)


async def change(scope: Scope, action: Literal["attach", "detach"], segment_id: int, *,
                 contact_ids: list[int] | None, ext_ids: list[str] | None) -> MembershipChange:
    """Attach or detach contacts given by id or by ext_id (one kind per call, at most 500). Ids that match
    no contact come back in not_found. Emptying a segment is a mass action (core/bulk.py, in two steps)."""
    if contact_ids and ext_ids:
        raise InvalidInput("ext_ids", "give contact_ids or ext_ids, not both in one call")
    given: list[Any] = list(contact_ids or ext_ids or [])
    if len(given) > ATTACH_MAX:
        raise LimitExceeded(f"{'contact_ids' if contact_ids else 'ext_ids'} per call", ATTACH_MAX, len(given),
                            "Split them into several calls.")
    if not given:
        raise InvalidInput("contact_ids", f"{action} needs 1 to 500 contact_ids or ext_ids" + (
            "" if action == "attach" else "; to empty the segment, use apply_to_contacts (action detach_from_segment, "
            f"filter {{\"field\": \"segment\", \"op\": \"eq\", \"value\": {segment_id}}})"))
    keys = [normalize_ext_id(e) for e in ext_ids] if ext_ids else []
    now = utc_now()

    def unit(w: Writer) -> MembershipChange:
        require_static(w, segment_id)
        if ext_ids:
            by_key = {r["ext_id"]: r["id"] for r in w.contacts_by_key("ext_id", keys)}
            ids = [by_key[k] for k in keys if k in by_key]
            missing: list[int | str] = [e for e, k in zip(ext_ids, keys) if k not in by_key]
        else:
            known = w.existing_contact_ids(given)
            ids = [i for i in given if i in known]
            missing = [i for i in dict.fromkeys(given) if i not in known]
        changed = w.attach(segment_id, ids, now) if action == "attach" else w.detach(segment_id, ids)
        return MembershipChange(changed=changed, not_found=missing)

    return await scope.write(unit, small=0 < len(given) <= SMALL_WRITE)
