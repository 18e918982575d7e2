"""Static segments: hand-managed groups of contacts, attached and detached by id or external id."""

from __future__ import annotations

from typing import Any, Literal

from ..storage.api import Reader, Writer
from .errors import Conflict, InvalidInput, LimitExceeded, NotFound
from .lists import _name, _read_by_ids
from .models import MembershipChange, Segment, SegmentPage, SegmentsChange
from .normalize import clean_text, normalize_ext_id, utc_now
from .pagination import decode_cursor, page
from .scope import SMALL_WRITE, Scope

ATTACH_MAX = 500
IDS_MAX = 100


def _render(r: Reader, rows: list[dict[str, Any]]) -> list[Segment]:
    sizes = r.segment_sizes([row["id"] for row in rows])
    return [Segment(id=row["id"], name=row["name"], description=row["description"], size=sizes.get(row["id"], 0),
                    created_at=row["created_at"], updated_at=row["updated_at"]) for row in rows]


def _require(r: Reader, segment_id: int) -> None:
    if not r.existing_segment_ids([segment_id]):
        raise NotFound("segment id", [segment_id], "Find segments with get_segments, or create one with "
                                                   "manage_segments.")


def _unique_name(r: Reader, name: str, segment_id: int | None = None) -> None:
    other = r.segment_by_name(name)
    if other is not None and other["id"] != segment_id:
        raise Conflict(f"a segment named {name!r} already exists (id {other['id']}); choose another name or use it.")


async def manage(scope: Scope, action: str, *, segment_id: int | None, segment_ids: list[int] | None,
                 name: str | None, description: str | None) -> SegmentsChange:
    now = utc_now()
    text = clean_text("description", description, 1000)
    if action == "delete":
        if not segment_ids or len(segment_ids) > IDS_MAX:
            raise InvalidInput("segment_ids", f"delete needs 1 to {IDS_MAX} segment ids")

        def delete(w: Writer) -> SegmentsChange:
            known = w.existing_segment_ids(segment_ids)
            return SegmentsChange(deleted=w.delete_segments(sorted(known)),
                                  not_found=[i for i in dict.fromkeys(segment_ids) if i not in known])

        return await scope.write(delete)
    if action == "create":
        clean = _name(name)

        def create(w: Writer) -> SegmentsChange:
            _unique_name(w, clean)
            new_id = w.insert_segment(clean, text, now)
            return SegmentsChange(segment=_render(w, w.segments_by_ids([new_id]))[0])

        return await scope.write(create)
    if segment_id is None:
        raise InvalidInput("segment_id", "is required for action 'update'")
    clean_name = _name(name) if name is not None else None
    if clean_name is None and text is None:
        raise InvalidInput("update", "nothing to change: give name or description")

    def update(w: Writer) -> SegmentsChange:
        _require(w, segment_id)
        if clean_name:
            _unique_name(w, clean_name, segment_id)
        w.update_segment(segment_id, clean_name, text, now)
        return SegmentsChange(segment=_render(w, w.segments_by_ids([segment_id]))[0])

    return await scope.write(update)


async def get_segments(scope: Scope, *, ids: list[int] | None, limit: int, cursor: str | None) -> SegmentPage:
    if ids:
        kept, _, not_found = await _read_by_ids(scope, "segment", ids, lambda r: r.segments_by_ids(ids), _render)
        return SegmentPage(segments=kept, not_found=not_found)
    query = {"segments": True}
    after = decode_cursor(cursor, query)
    items = await scope.read(lambda r: _render(r, r.list_segments(after_id=after, limit=limit + 1)))
    kept, next_cursor = page(items, limit=limit, key=lambda s: s.id, query=query)
    return SegmentPage(segments=kept, next_cursor=next_cursor)


async def change(scope: Scope, action: Literal["attach", "detach"], segment_id: int, *,
                 contact_ids: list[int] | None, ext_ids: list[str] | None, everyone: bool = False) -> MembershipChange:
    """Attach or detach contacts given by id or by ext_id (one kind per call, at most 500); detach with
    `everyone` empties the segment (only ever on that explicit flag: a forgotten or misspelt ids argument
    must not read as "all"). Ids that match no contact come back in not_found."""
    if contact_ids and ext_ids:
        raise InvalidInput("ext_ids", "give contact_ids or ext_ids, not both in one call")
    if everyone and (contact_ids or ext_ids):
        raise InvalidInput("all", "give either contact_ids / ext_ids or all: true, not both")
    if action == "detach" and not everyone and not (contact_ids or ext_ids):
        raise InvalidInput("contact_ids", "detach needs 1 to 500 contact_ids or ext_ids, or all: true to empty "
                                          "the whole segment")
    given: list[Any] = list(contact_ids or ext_ids or [])
    if len(given) > ATTACH_MAX:
        raise LimitExceeded(f"{'contact_ids' if contact_ids else 'ext_ids'} per call", ATTACH_MAX, len(given),
                            "Split them into several calls.")
    if not given and action == "attach":
        raise InvalidInput("contact_ids", "attach needs 1 to 500 contact_ids or ext_ids")
    keys = [normalize_ext_id(e) for e in ext_ids] if ext_ids else []
    now = utc_now()

    def unit(w: Writer) -> MembershipChange:
        _require(w, segment_id)
        if not given:
            return MembershipChange(changed=w.detach(segment_id, None))
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
