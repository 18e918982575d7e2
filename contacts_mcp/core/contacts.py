"""Contacts: creation with deduplication, updates, bulk upserts, lookups, listing, soft deletion.

Writes go through `prepare` (normalisation) and `upsert.apply_batch` (matching, merging, opt-outs),
the path imports use too, so every way in stores the same values the same way.
"""

from __future__ import annotations

from typing import Any, Literal

from ..storage.api import All, Reader, Writer
from .errors import ContactsError, InvalidInput, LimitExceeded, NotFound
from .events import check_event_key
from .fields import create_text_fields, registry
from .filters import filters_of
from .models import (Contact, ContactInput, ContactPage, ContactResult, DeleteResult, Filter, UpsertItem, UpsertResult,
                     channels_of)
from .normalize import email_key, normalize_email, normalize_ext_id, normalize_phone, parse_ts, utc_now
from .pagination import by_ids, page, start
from .prepare import IDENTITIES, Prepared, missing_identity, prepare
from .scope import SMALL_WRITE, Scope
from .upsert import BatchOptions, apply_batch

BULK_MAX = 3000
LOOKUP_MAX = 100
ITEMS_SHOWN_MAX = 200
DedupeKey = Literal["email", "mobile", "ext_id"]

_KEY_COLUMN = {"ext_id": "ext_id", "email": "email_key", "mobile": "mobile"}


def match_order(dedupe_on: DedupeKey | None) -> tuple[str, ...]:
    """The identity columns tried, in order: ext_id first, then the chosen key (or email, then mobile)."""
    if dedupe_on is None:
        return ("ext_id", "email_key", "mobile")
    return tuple(dict.fromkeys(("ext_id", _KEY_COLUMN[dedupe_on])))


async def _prepare(scope: Scope, data: ContactInput) -> Prepared:
    values = data.model_dump(exclude_unset=True)
    reg = await registry(scope)
    return prepare(values, scope.settings.default_region, reg)


def _single(w: Writer, p: Prepared, opts: BatchOptions) -> tuple[str, int]:
    """Apply one contact; its failure fails the call (and so rolls back the transaction)."""
    result = apply_batch(w, [p], opts)[0]
    if result.exception is not None:
        raise result.exception
    return result.outcome, result.id


def to_contacts(r: Reader, rows: list[dict[str, Any]]) -> list[Contact]:
    """Contacts as returned, with the lists they are in and the lists they unsubscribed from."""
    ids = [row["id"] for row in rows]
    memberships, unsubscribed = r.memberships(ids), r.list_unsubscribes(ids)
    return [Contact(**{k: row[k] for k in Contact.model_fields if k in row and k not in ("opted_out", "list_ids")},
                    opted_out=channels_of(row["optout_mask"]), list_ids=memberships.get(row["id"], []),
                    list_unsubscribed=unsubscribed.get(row["id"], [])) for row in rows]


def _load(reader: Reader, contact_id: int) -> Contact:
    return to_contacts(reader, reader.contacts_by_ids([contact_id]))[0]


# ---------------------------------------------------------------- operations


async def create_contact(scope: Scope, data: ContactInput, *, update_enabled: bool = True,
                         empty_values_erase: bool = False, restore_deleted: bool = False,
                         source: str = "api") -> ContactResult:
    p = await _prepare(scope, data)
    if not p.has_identity():
        raise InvalidInput("contact", f"needs at least one identity: {IDENTITIES} (blank values count as missing)")
    opts = BatchOptions(match_keys=match_order(None), update_enabled=update_enabled, erase=empty_values_erase,
                        source=source, now=utc_now(), restore_deleted=restore_deleted)

    def unit(w: Writer) -> ContactResult:
        outcome, contact_id = _single(w, p, opts)
        return ContactResult(outcome=outcome, contact=_load(w, contact_id))

    return await scope.write(unit, small=True)


async def update_contact(scope: Scope, contact_id: int, data: ContactInput, *,
                         empty_values_erase: bool = False, restore_deleted: bool = False) -> ContactResult:
    p = await _prepare(scope, data)
    p.target_id = contact_id
    opts = BatchOptions(match_keys=(), update_enabled=True, erase=empty_values_erase, source="api", now=utc_now(),
                        restore_deleted=restore_deleted)

    def unit(w: Writer) -> ContactResult:
        outcome, _ = _single(w, p, opts)  # refused if it would leave the contact with no identity
        return ContactResult(outcome=outcome, contact=_load(w, contact_id))

    return await scope.write(unit, small=True)


async def upsert_contacts(scope: Scope, items: list[ContactInput], *, dedupe_on: DedupeKey = "email",
                          update_enabled: bool = True, empty_values_erase: bool = False,
                          event_key: str | None = None, restore_deleted: bool = False,
                          create_fields: bool = False) -> UpsertResult:
    """Create or update up to 3,000 contacts; one bad contact never fails the others."""
    if not 1 <= len(items) <= BULK_MAX:
        raise LimitExceeded("contacts per call", f"1 to {BULK_MAX}", len(items),
                            "Split the contacts into several calls, or use import_file for big files.")
    region = scope.settings.default_region
    if create_fields:
        reg = await create_text_fields(scope, list(dict.fromkeys(n for item in items for n in item.attributes or {})))
    else:
        reg = await registry(scope)
    match_keys = match_order(dedupe_on)
    prepared: list[Prepared | ContactsError] = []
    for index, data in enumerate(items):
        try:
            p = prepare(data.model_dump(exclude_unset=True), region, reg)
            if wanted := missing_identity(p, match_keys):
                raise InvalidInput(f"contacts[{index}]", f"has no {wanted}, the key chosen by dedupe_on='{dedupe_on}'")
            prepared.append(p)
        except InvalidInput as exc:
            prepared.append(exc)
    opts = BatchOptions(match_keys=match_keys, update_enabled=update_enabled, erase=empty_values_erase,
                        source="bulk", now=utc_now(), event_key=check_event_key(event_key),
                        restore_deleted=restore_deleted)
    batch = await scope.write(lambda w: apply_batch(w, prepared, opts), small=len(items) <= SMALL_WRITE)
    if event_key:
        scope.wake_sender()
    results = [UpsertItem(index=i, outcome=r.outcome, id=r.id, error=r.error) for i, r in enumerate(batch)]
    counts = {k: sum(r.outcome == k for r in results) for k in ("created", "updated", "unchanged", "failed")}
    shown = results if len(results) <= ITEMS_SHOWN_MAX else [r for r in results if r.outcome == "failed"]
    note = None
    if len(shown) > ITEMS_SHOWN_MAX:
        note = f"showing the first {ITEMS_SHOWN_MAX} of {len(shown)} failures"
        shown = shown[:ITEMS_SHOWN_MAX]
    elif len(results) > ITEMS_SHOWN_MAX:
        note = "only failed contacts are itemised above 200 contacts; look others up with get_contacts"
    return UpsertResult(**counts, items=shown, note=note)


async def set_deleted(scope: Scope, ids: list[int], *, restore: bool) -> DeleteResult:
    """Soft-delete or restore contacts. Opt-outs are untouched either way."""
    now = utc_now()

    def unit(w: Writer) -> DeleteResult:
        known = w.existing_contact_ids(ids)
        changed = w.set_deleted(sorted(known), None if restore else now, now)
        return DeleteResult(changed=changed, not_found=[i for i in dict.fromkeys(ids) if i not in known])

    return await scope.write(unit)


async def get_contacts(scope: Scope, *, ids: list[int] | None = None, ext_ids: list[str] | None = None,
                       emails: list[str] | None = None, mobiles: list[str] | None = None,
                       list_id: int | None = None, segment_id: int | None = None, search: str | None = None,
                       created_since: str | None = None,
                       modified_since: str | None = None, deleted: str = "exclude", sort: str = "desc",
                       limit: int = 25, cursor: str | None = None, offset: int = 0,
                       with_total: bool = False, filter: Filter | None = None) -> ContactPage:  # noqa: A002
    identifiers = [*(ids or []), *(ext_ids or []), *(emails or []), *(mobiles or [])]
    if identifiers:
        if len(identifiers) > LOOKUP_MAX:
            raise LimitExceeded("identifiers per lookup", LOOKUP_MAX, len(identifiers))
        return await _lookup(scope, ids or [], ext_ids or [], emails or [], mobiles or [])
    query = {"list_id": list_id, "segment_id": segment_id, "search": search, "created_since": created_since,
             "modified_since": modified_since, "deleted": deleted, "sort": sort,
             "filter": filter.dump() if filter else None}
    after = start(cursor, offset, query)
    compiler = await filters_of(scope) if filter is not None or segment_id is not None else None
    terms = _search_terms(search, scope.settings.default_region) if search else []
    created = parse_ts("created_since", created_since) if created_since else None
    modified = parse_ts("modified_since", modified_since) if modified_since else None

    def unit(r: Reader) -> tuple[list[Contact], int | None]:
        if list_id is not None and not r.existing_list_ids([list_id]):
            raise NotFound("list id", [list_id], "Find list ids with get_lists.")
        trees = []
        if segment_id is not None:  # static or dynamic alike: as a condition
            segment = r.segments_by_ids([segment_id])
            if not segment:
                raise NotFound("segment id", [segment_id], "Find segment ids with get_segments.")
            trees.append(compiler.segment(r, segment[0]))
        if filter is not None:
            trees.append(compiler.compile(r, filter))
        filters = {"list_id": list_id, "segment_id": None, "search": terms, "deleted": deleted,
                   "created_since": created, "modified_since": modified,
                   "where_tree": (trees[0] if len(trees) == 1 else All(tuple(trees))) if trees else None}
        rows = r.list_contacts(descending=sort == "desc", after_id=after, limit=limit + 1, offset=offset, **filters)
        return to_contacts(r, rows), r.count_contacts(**filters) if with_total else None

    rows, total = await scope.read(unit)
    kept, next_cursor = page(rows, limit=limit, key=lambda c: c.id, query=query)
    return ContactPage(contacts=kept, next_cursor=next_cursor, total=total)


def _search_terms(search: str, region: str) -> list[str]:
    terms = [search.strip()]
    try:
        phone = normalize_phone(search, region, "search")
    except InvalidInput:
        phone = None
    if phone and phone not in terms:
        terms.append(phone)
    return [t for t in terms if t]


async def _lookup(scope: Scope, ids: list[int], ext_ids: list[str], emails: list[str],
                  mobiles: list[str]) -> ContactPage:
    region = scope.settings.default_region
    wanted: list[tuple[str, Any, Any]] = [("id", i, i) for i in ids]
    wanted += [("ext_id", raw, _quiet(normalize_ext_id, raw)) for raw in ext_ids]
    wanted += [("email_key", raw, _quiet(lambda v: email_key(normalize_email(v)), raw)) for raw in emails]
    wanted += [("mobile", raw, _quiet(normalize_phone, raw, region)) for raw in mobiles]

    def unit(r: Reader) -> tuple[dict[int, Contact], dict[tuple[str, Any], int]]:
        rows: dict[int, dict[str, Any]] = {}
        index: dict[tuple[str, Any], int] = {}
        for column in ("id", "ext_id", "email_key", "mobile"):
            values = [key for col, _, key in wanted if col == column and key is not None]
            if values:
                for row in r.contacts_by_ids(values) if column == "id" else r.contacts_by_key(column, values):
                    rows[row["id"]] = row
                    index[(column, row[column])] = row["id"]
        return dict(zip(rows, to_contacts(r, list(rows.values())))), index

    found, index = await scope.read(unit)
    order: list[int] = []
    not_found: list[Any] = []
    for column, raw, key in wanted:
        contact_id = index.get((column, key))
        if contact_id is None:
            not_found.append(raw)
        elif contact_id not in order:
            order.append(contact_id)
    contacts, note = by_ids([found[i] for i in order], key=lambda c: c.id)
    return ContactPage(contacts=contacts, not_found=not_found, note=note)


def _quiet(fn: Any, *args: Any) -> Any:
    """fn(*args), or None when the value is not valid (a lookup then reports it as not found)."""
    try:
        return fn(*args)
    except InvalidInput:
        return None
