"""Contacts: creation with deduplication, updates, bulk upserts, lookups, listing, soft deletion.

Every write path goes through `prepare` (normalisation) and `apply_contact` (matching and merging),
so create_contact, update_contact, bulk upsert and imports behave the same way.

Matching: a contact whose ext_id, email (case-insensitive) or mobile (E.164) equals the incoming one
is the same person. The caller's `match_keys` say which identities are tried, in order; ext_id, when
given, always comes first. A deleted contact that matches is restored and updated: it is the same
person, and its opt-outs stay with it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from ..storage.store import Reader, Writer
from .errors import Conflict, ContactsError, InvalidInput, LimitExceeded, NotFound
from .models import (
    ALL_CHANNELS_MASK, CHANNEL_BITS, PHONE_FIELDS, Contact, ContactInput, ContactPage, ContactResult, ChangeCount,
    UpsertItem, UpsertResult, channels_of,
)
from .normalize import (
    clean_text, email_key, normalize_attributes, normalize_date, normalize_email, normalize_ext_id,
    normalize_phone, parse_ts, utc_now,
)
from .pagination import by_ids, decode_cursor, page
from .scope import Scope

BULK_MAX = 3000
LOOKUP_MAX = 100
ITEMS_SHOWN_MAX = 200
DedupeKey = Literal["email", "mobile", "ext_id"]

_KEY_COLUMN = {"ext_id": "ext_id", "email": "email_key", "mobile": "mobile"}
_KEY_LABEL = {"ext_id": "ext_id", "email_key": "email", "mobile": "mobile"}
_TEXT_FIELDS = ("civility", "first_name", "last_name", "address_1", "address_2", "postal_code", "city", "state",
                "country", "company", "reference")


@dataclass
class Prepared:
    """A normalised contact: only the fields the caller sent (None means sent empty)."""

    columns: dict[str, Any] = field(default_factory=dict)
    attributes: dict[str, Any] | None = None
    blacklist: list[str] = field(default_factory=list)
    list_ids: list[int] = field(default_factory=list)
    unlink_list_ids: list[int] = field(default_factory=list)

    def key(self, column: str) -> str | None:
        return self.columns.get(column)


def prepare(data: ContactInput, region: str) -> Prepared:
    """Normalise what the caller sent; raises InvalidInput naming the first bad field."""
    sent = data.model_fields_set
    p = Prepared()
    cols = p.columns
    if "ext_id" in sent:
        cols["ext_id"] = normalize_ext_id(data.ext_id)
    if "email" in sent:
        cols["email"] = normalize_email(data.email) if data.email is not None else None
        cols["email_key"] = email_key(cols["email"])
    for name in PHONE_FIELDS:
        if name in sent:
            cols[name] = normalize_phone(getattr(data, name), region, name)
    for name in _TEXT_FIELDS:
        if name in sent:
            cols[name] = clean_text(name, getattr(data, name))
    if "birth_date" in sent:
        cols["birth_date"] = normalize_date(data.birth_date)
    if "blocked_senders" in sent:
        senders = [normalize_email(s, "blocked_senders") for s in data.blocked_senders or []]
        cols["blocked_senders"] = sorted({s.lower() for s in senders if s})
    if data.attributes is not None:
        p.attributes = normalize_attributes(data.attributes)
    if data.email_blacklisted:
        p.blacklist.append("email")
    if data.sms_blacklisted:
        p.blacklist.append("sms")
    p.list_ids = list(dict.fromkeys(data.list_ids or []))
    p.unlink_list_ids = list(dict.fromkeys(data.unlink_list_ids or []))
    return p


def match_order(dedupe_on: DedupeKey | None) -> tuple[str, ...]:
    """The identity columns tried, in order: ext_id first, then the chosen key (or email, then mobile)."""
    if dedupe_on is None:
        return ("ext_id", "email_key", "mobile")
    return tuple(dict.fromkeys(("ext_id", _KEY_COLUMN[dedupe_on])))


def apply_contact(w: Writer, p: Prepared, *, match_keys: tuple[str, ...], update_enabled: bool,
                        erase: bool, source: str, now: str,
                        target_id: int | None = None) -> tuple[str, int]:
    """Create or update one contact inside the caller's transaction. Returns (outcome, contact id).

    With target_id the contact to update is given (update_contact); otherwise it is found by matching.
    Raises Conflict when an identity belongs to another contact, or when a match is found and
    update_enabled is false.
    """
    keys = {c: p.key(c) for c in ("ext_id", "email_key", "mobile") if p.key(c)}
    holders: dict[str, dict[str, Any]] = {}
    if keys:
        for row in w.find_matches(keys.get("ext_id"), keys.get("email_key"), keys.get("mobile")):
            for col, value in keys.items():
                if row[col] == value:
                    holders[col] = row
    if target_id is not None:
        found = w.contacts_by_ids([target_id])
        if not found:
            raise NotFound("contact id", [target_id], "Look contacts up with get_contacts.")
        target: dict[str, Any] | None = found[0]
    else:
        target = next((holders[c] for c in match_keys if c in holders), None)
        if target is not None and not update_enabled:
            col = next(c for c in match_keys if c in holders)
            raise Conflict(f"a contact with {_KEY_LABEL[col]} {keys[col]!r} already exists (id {target['id']}); "
                           "pass update_enabled=true to update it, or update_contact with that id.")
        if target is not None and keys.get("ext_id") and target["ext_id"] and target["ext_id"] != keys["ext_id"]:
            col = next(c for c in match_keys if c in holders)
            raise Conflict(f"{_KEY_LABEL[col]} {keys[col]!r} belongs to contact {target['id']}, whose ext_id is "
                           f"{target['ext_id']!r}, not {keys['ext_id']!r}; fix the ext_id or the {_KEY_LABEL[col]}.")
    for col, holder in holders.items():
        if target is None or holder["id"] != target["id"]:
            raise Conflict(f"{_KEY_LABEL[col]} {keys[col]!r} already belongs to contact {holder['id']}; "
                           "each ext_id, email and mobile identifies one contact. Update that contact instead, "
                           f"or leave the {_KEY_LABEL[col]} out.")
    _check_lists(w, p.list_ids + p.unlink_list_ids)

    if target is None:
        values = {c: v for c, v in p.columns.items() if v is not None}
        values["attributes"] = {k: v for k, v in (p.attributes or {}).items() if v is not None}
        values.update(source=source, created_at=now, updated_at=now)
        values["optout_mask"] = _suppressed_mask(w, values.get("email_key"), values.get("mobile"))
        contact_id = w.insert_contact(values)
        outcome = "created"
        changed_addresses = False
    else:
        contact_id = target["id"]
        changes = _changes(target, p, erase)
        if target["deleted_at"] is not None:
            changes["deleted_at"] = None
        changed_addresses = "email_key" in changes or "mobile" in changes
        if changes:
            changes["updated_at"] = now
            w.update_contact(contact_id, changes)
        outcome = "updated" if changes else "unchanged"

    touched = _apply_side_effects(w, contact_id, p, changed_addresses, source, now)
    if touched and outcome == "unchanged":
        w.update_contact(contact_id, {"updated_at": now})
        outcome = "updated"
    return outcome, contact_id


def _changes(row: dict[str, Any], p: Prepared, erase: bool) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    for col, value in p.columns.items():
        if value is None and not erase:
            continue
        if col == "blocked_senders" and value is None:
            value = []
        if row[col] != value:
            changes[col] = value
    if p.attributes is not None:
        merged = dict(row["attributes"])
        for name, value in p.attributes.items():
            if value is None:
                if erase:
                    merged.pop(name, None)
            else:
                merged[name] = value
        if merged != row["attributes"]:
            changes["attributes"] = merged
    return changes


def _check_lists(w: Writer, list_ids: list[int]) -> None:
    if list_ids:
        missing = sorted(set(list_ids) - w.existing_list_ids(list_ids))
        if missing:
            raise NotFound("list id", missing, "Create the list with manage_lists, or find ids with get_lists.")


def _suppressed_mask(w: Writer, *addresses: str | None) -> int:
    """Channels blocked by opt-outs recorded for these addresses, whoever held them before."""
    channels = w.optout_channels_for_addresses([a for a in addresses if a])
    return mask_of(channels)


def mask_of(channels: set[str] | list[str]) -> int:
    mask = 0
    for channel in channels:
        mask |= ALL_CHANNELS_MASK if channel == "all" else CHANNEL_BITS[channel]
    return mask


def _apply_side_effects(w: Writer, contact_id: int, p: Prepared, changed_addresses: bool,
                              source: str, now: str) -> bool:
    """Lists joined/left, blacklist flags, and suppression entries for new addresses. True if any changed."""
    touched = False
    for list_id in p.list_ids:
        touched |= w.add_members(list_id, [contact_id], now) > 0
    for list_id in p.unlink_list_ids:
        touched |= w.remove_members(list_id, [contact_id]) > 0
    row = None
    if p.blacklist or changed_addresses:
        row = (w.contacts_by_ids([contact_id]))[0]
    if changed_addresses:
        bits = _suppressed_mask(w, row["email_key"], row["mobile"])
        if bits & ~row["optout_mask"]:
            w.raise_optout_mask(contact_id, bits)
            row["optout_mask"] |= bits
    for channel in p.blacklist:
        address = row["email_key"] if channel == "email" else row["mobile"]
        bit = CHANNEL_BITS[channel]
        w.add_optout(contact_id=contact_id, address=address, channel=channel, reason="owner_blocked",
                           source=source, now=now)
        if not row["optout_mask"] & bit:
            w.raise_optout_mask(contact_id, bit)
            row["optout_mask"] |= bit
            touched = True
    return touched


def to_contact(row: dict[str, Any], list_ids: list[int]) -> Contact:
    return Contact(
        **{k: row[k] for k in Contact.model_fields if k in row and k not in ("opted_out", "list_ids")},
        opted_out=channels_of(row["optout_mask"]), list_ids=list_ids)


def _load(reader: Reader, contact_id: int) -> Contact:
    row = (reader.contacts_by_ids([contact_id]))[0]
    memberships = reader.memberships([contact_id])
    return to_contact(row, memberships.get(contact_id, []))


# ---------------------------------------------------------------- operations


async def create_contact(scope: Scope, data: ContactInput, *, update_enabled: bool = True,
                         empty_values_erase: bool = False, source: str = "api") -> ContactResult:
    p = prepare(data, scope.settings.default_region)
    if not any(p.key(c) for c in ("ext_id", "email_key", "mobile")):
        raise InvalidInput("contact", "needs at least one identity: email, mobile or ext_id")
    now = utc_now()

    def unit(w: Writer) -> ContactResult:
        outcome, contact_id = apply_contact(w, p, match_keys=match_order(None), update_enabled=update_enabled,
                                            erase=empty_values_erase, source=source, now=now)
        return ContactResult(outcome=outcome, contact=_load(w, contact_id))

    return await scope.write(unit)


async def update_contact(scope: Scope, contact_id: int, data: ContactInput, *,
                         empty_values_erase: bool = False) -> ContactResult:
    p = prepare(data, scope.settings.default_region)
    now = utc_now()

    def unit(w: Writer) -> ContactResult:
        outcome, _ = apply_contact(w, p, match_keys=(), update_enabled=True, erase=empty_values_erase,
                                   source="api", now=now, target_id=contact_id)
        contact = _load(w, contact_id)
        if not any((contact.ext_id, contact.email, contact.mobile)):
            raise InvalidInput("contact", "would be left with no identity; keep at least one of email, "
                                          "mobile or ext_id")
        return ContactResult(outcome=outcome, contact=contact)

    return await scope.write(unit)


async def upsert_contacts(scope: Scope, items: list[ContactInput], *, dedupe_on: DedupeKey = "email",
                          update_enabled: bool = True, empty_values_erase: bool = False) -> UpsertResult:
    """Create or update up to 3,000 contacts; one bad contact never fails the others."""
    if not 1 <= len(items) <= BULK_MAX:
        raise LimitExceeded("contacts per call", f"1 to {BULK_MAX}", len(items),
                            "Split the contacts into several calls, or use import_file for big files.")
    region = scope.settings.default_region
    match_keys = match_order(dedupe_on)
    now = utc_now()
    prepared: list[Prepared | ContactsError] = []
    for index, data in enumerate(items):
        try:
            p = prepare(data, region)
            if not any(p.key(c) for c in match_keys):
                raise InvalidInput(f"contacts[{index}]", f"has no {dedupe_on}"
                                   + (" or ext_id" if dedupe_on != "ext_id" else "")
                                   + f", the key chosen by dedupe_on='{dedupe_on}'")
            prepared.append(p)
        except InvalidInput as exc:
            prepared.append(exc)

    def unit(w: Writer) -> list[UpsertItem]:
        results = []
        for index, p in enumerate(prepared):
            if isinstance(p, ContactsError):
                results.append(UpsertItem(index=index, outcome="failed", error=str(p)))
                continue
            try:
                with w.savepoint():
                    outcome, contact_id = apply_contact(w, p, match_keys=match_keys, update_enabled=update_enabled,
                                                        erase=empty_values_erase, source="bulk", now=now)
                results.append(UpsertItem(index=index, outcome=outcome, id=contact_id))
            except (NotFound, Conflict) as exc:
                results.append(UpsertItem(index=index, outcome="failed", error=str(exc)))
        return results

    results = await scope.write(unit)
    counts = {k: sum(r.outcome == k for r in results) for k in ("created", "updated", "unchanged", "failed")}
    shown = results if len(results) <= ITEMS_SHOWN_MAX else [r for r in results if r.outcome == "failed"]
    note = None
    if len(shown) > ITEMS_SHOWN_MAX:
        note = f"showing the first {ITEMS_SHOWN_MAX} of {len(shown)} failures"
        shown = shown[:ITEMS_SHOWN_MAX]
    elif len(results) > ITEMS_SHOWN_MAX:
        note = "only failed contacts are itemised above 200 contacts; look others up with get_contacts"
    return UpsertResult(**counts, items=shown, note=note)


async def set_deleted(scope: Scope, ids: list[int], *, restore: bool) -> ChangeCount:
    """Soft-delete or restore contacts. Opt-outs are untouched either way."""
    now = utc_now()

    def unit(w: Writer) -> ChangeCount:
        known = {r["id"] for r in w.contacts_by_ids(ids)}
        changed = w.set_deleted(sorted(known), None if restore else now, now)
        return ChangeCount(changed=changed, not_found=[i for i in dict.fromkeys(ids) if i not in known])

    return await scope.write(unit)


async def get_contacts(scope: Scope, *, ids: list[int] | None = None, ext_ids: list[str] | None = None,
                       emails: list[str] | None = None, mobiles: list[str] | None = None,
                       list_id: int | None = None, search: str | None = None, created_since: str | None = None,
                       modified_since: str | None = None, deleted: str = "exclude", sort: str = "desc",
                       limit: int = 25, cursor: str | None = None) -> ContactPage:
    identifiers = [*(ids or []), *(ext_ids or []), *(emails or []), *(mobiles or [])]
    if identifiers:
        if len(identifiers) > LOOKUP_MAX:
            raise LimitExceeded("identifiers per lookup", LOOKUP_MAX, len(identifiers))
        return await _lookup(scope, ids or [], ext_ids or [], emails or [], mobiles or [])
    query = {"list_id": list_id, "search": search, "created_since": created_since,
             "modified_since": modified_since, "deleted": deleted, "sort": sort}
    after = decode_cursor(cursor, query)
    terms = _search_terms(search, scope.settings.default_region) if search else []
    created = parse_ts("created_since", created_since) if created_since else None
    modified = parse_ts("modified_since", modified_since) if modified_since else None

    def unit(r: Reader) -> list[Contact]:
        if list_id is not None and not r.existing_list_ids([list_id]):
            raise NotFound("list id", [list_id], "Find list ids with get_lists.")
        rows = r.list_contacts(list_id=list_id, search=terms, deleted=deleted, descending=sort == "desc",
                               after_id=after, created_since=created, modified_since=modified, limit=limit + 1)
        memberships = r.memberships([row["id"] for row in rows])
        return [to_contact(row, memberships.get(row["id"], [])) for row in rows]

    kept, next_cursor = page(await scope.read(unit), limit=limit, key=lambda c: c.id, query=query)
    return ContactPage(contacts=kept, next_cursor=next_cursor)


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
    wanted: list[tuple[str, Any, Any]] = [("id", i, i) for i in ids] + [("ext_id", e, e.strip()) for e in ext_ids]
    for raw in emails:
        wanted.append(("email_key", raw, _quiet(lambda: email_key(normalize_email(raw)))))
    for raw in mobiles:
        wanted.append(("mobile", raw, _quiet(lambda: normalize_phone(raw, region))))

    def unit(r: Reader) -> tuple[dict[int, Contact], dict[tuple[str, Any], int]]:
        rows: dict[int, dict[str, Any]] = {}
        index: dict[tuple[str, Any], int] = {}
        for column in ("id", "ext_id", "email_key", "mobile"):
            values = [key for col, _, key in wanted if col == column and key is not None]
            if values:
                for row in r.contacts_by_ids(values) if column == "id" else r.contacts_by_key(column, values):
                    rows[row["id"]] = row
                    index[(column, row[column])] = row["id"]
        memberships = r.memberships(list(rows))
        return {i: to_contact(row, memberships.get(i, [])) for i, row in rows.items()}, index

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


def _quiet(fn: Any) -> Any:
    try:
        return fn()
    except InvalidInput:
        return None
