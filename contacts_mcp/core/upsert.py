"""The one write path for contacts: create_contact (and its update by id), upsert_contacts and imports all
apply a batch of prepared contacts with `apply_batch`, inside the caller's write transaction.

The batch is resolved in memory first (which existing contact each item is, conflicts, list ids,
opt-outs by address), with a handful of set-based queries; then it is written with one executemany
per kind of change. Items are handled in order, as if applied one after the other: a later item
sees what an earlier one created or changed. An item that fails (a conflict, an unknown list) is
reported and changes nothing; the others go on.

Matching: a contact whose ext_id, email key or E.164 mobile equals the item's is the same person;
`match_keys` says which identities are tried, in order (ext_id first). A deleted contact that matches (or
is named by id) is restored and updated only with `restore_deleted` (it is the same person, and its opt-outs
stay with it); otherwise the item fails, saying so. Opt-outs only ever
gain channels here; lifting one is a restore, an audited path of its own. A contact taking an address
an opt-out blocks (email, mobile or fixed phone) is blocked too; an opted-out contact's opt-outs block
the addresses it takes. No identity, no contact: an item that would create or leave a contact without
an ext_id, email or mobile fails (blank values were made missing by `prepare`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple

from ..storage.api import Writer
from .errors import Conflict, ContactsError, InvalidInput, NotFound
from .groups import Memberships, memberships, resolve_group_names
from .optouts import OptoutRecord, address_bits, block, follow_addresses, held_addresses, suppressions
from .prepare import IDENTITIES, KEY_COLUMNS, KEY_LABELS, Prepared

ADDRESS_COLUMNS = ("email_key", "mobile", "fixed_phone")  # what opt-outs block

Outcome = Literal["created", "updated", "unchanged", "failed", "duplicate", "skipped"]


@dataclass(frozen=True)
class BatchOptions:
    match_keys: tuple[str, ...]
    update_enabled: bool
    erase: bool
    source: str
    now: str
    repeats: Literal["merge", "skip"] = "merge"  # skip: a later item for a contact already written is a duplicate
    job_id: str | None = None                   # marks contacts, so repeats are found across batches of a job
    list_ids: tuple[int, ...] = ()              # lists every item joins
    segment_ids: tuple[int, ...] = ()           # segments every item joins...
    unlink_segment_ids: tuple[int, ...] = ()    # ...and leaves
    skip_existing: bool = False                 # update_enabled=false: an existing contact is skipped, not failed
    optout: tuple[str, ...] = ()                # channels every item is opted out of (a suppression list)
    new_status: str = "confirmed"               # of contacts created (a sign-up form's are unconfirmed)
    event_key: str | None = None                # an event of this type for each contact created
    restore_deleted: bool = False               # a match on a deleted contact restores it (else the item fails)


class ItemResult(NamedTuple):  # one per import line: a tuple is cheaper to make than a dataclass
    outcome: Outcome
    id: int | None = None
    error: str | None = None
    exception: ContactsError | None = None


@dataclass
class _Batch:
    w: Writer
    opts: BatchOptions
    rows: dict[int, dict[str, Any]]
    index: dict[str, dict[str, int]]
    suppressed: dict[str, list[tuple[int, str]]]
    hashed: dict[str, str]  # address -> the hash an erased contact's opt-out blocks it as
    lists: Memberships
    segments: Memberships
    ids: Sequence[int]  # reserved for the contacts this batch may create (one per item at most)
    next_id: int
    inserted: dict[int, dict[str, Any]] = field(default_factory=dict)
    dirty: set[int] = field(default_factory=set)
    released: dict[int, set[str]] = field(default_factory=dict)
    written: set[int] = field(default_factory=set)
    optouts: list[OptoutRecord] = field(default_factory=list)
    binds: list[tuple[int, str]] = field(default_factory=list)
    taken: dict[int, dict[str, str]] = field(default_factory=dict)  # opted-out contact -> addresses it took
    positions: dict[str, int] | None = None
    fresh: list[tuple] = field(default_factory=list)

    def apply(self, item: Prepared | tuple, present: dict[str, str]) -> ItemResult:
        """One item: a Prepared contact, or an import line as read (a tuple in `positions` order)."""
        opts = self.opts
        holders = {c: self.index[c][v] for c, v in present.items() if v in self.index[c]}
        if item.__class__ is tuple:
            if not holders and present and opts.repeats == "skip" and not opts.optout:
                return self._create_fresh(item, present)  # a new contact: no Prepared built at all
            item = Prepared.from_wire(item, self.positions)  # type: ignore[arg-type]
        p: Prepared = item  # type: ignore[assignment]
        if p.target_id is not None:
            if p.target_id not in self.rows:
                raise NotFound("contact id", [p.target_id], "Look contacts up with get_contacts.")
            target: int | None = p.target_id
            if self.rows[p.target_id]["deleted_at"] is not None and not opts.restore_deleted:
                raise Conflict(f"contact {p.target_id} is deleted; pass restore_deleted=true to restore and update it.")
        else:
            col = next((c for c in opts.match_keys if c in holders), None)
            target = holders[col] if col is not None else None
            if col is not None:
                if opts.repeats == "skip" and (target in self.written or
                                               (opts.job_id and self.rows[target].get("last_import") == opts.job_id)):
                    return ItemResult("duplicate", target, f"repeats an earlier line for {KEY_LABELS[col]} "
                                                           f"{present[col]!r}")
                row = self.rows[target]
                if row["deleted_at"] is not None and not opts.restore_deleted:
                    raise Conflict(f"{KEY_LABELS[col]} {present[col]!r} is contact {target}, which is deleted; pass "
                                   "restore_deleted=true to restore and update it.")
                if not opts.update_enabled:
                    if opts.skip_existing:
                        return ItemResult("skipped", target)
                    raise Conflict(f"a contact with {KEY_LABELS[col]} {present[col]!r} already exists (id {target}); "
                                   "pass update_enabled=true to update it, or create_contact with that contact_id.")
                if present.get("ext_id") and row["ext_id"] and row["ext_id"] != present["ext_id"]:
                    raise Conflict(f"{KEY_LABELS[col]} {present[col]!r} belongs to contact {target}, whose ext_id is "
                                   f"{row['ext_id']!r}, not {present['ext_id']!r}; fix the ext_id or the "
                                   f"{KEY_LABELS[col]}.")
        for col, holder in holders.items():
            if holder != target:
                raise Conflict(f"{KEY_LABELS[col]} {present[col]!r} already belongs to contact {holder}; each ext_id, "
                               "email and mobile identifies one contact. Update that contact instead, or leave "
                               f"the {KEY_LABELS[col]} out.")
        if target is None and not present:
            raise InvalidInput("contact", f"needs at least one identity: {IDENTITIES} (blank values count as "
                                          "missing)")
        if target is not None and not p.keeps_identity(self.rows[target], opts.erase):
            raise InvalidInput("contact", f"would be left with no identity; keep at least one of {IDENTITIES}")
        missing = sorted({i for i in [*p.list_ids, *p.unlink_list_ids] if i not in self.lists.known})
        if missing:
            raise NotFound("list id", missing, "Create the list with manage_lists, or find ids with get_lists.")
        missing = sorted({i for i in [*p.segment_ids, *p.unlink_segment_ids] if i not in self.segments.known})
        if missing:
            raise NotFound("segment id", missing, "Create a static one with manage_segments, or find ids with get_segments.")
        # Every check passed: from here on the item changes state.
        if target is None:
            contact_id, outcome = self._create(p), "created"
        else:
            contact_id = target
            outcome = "updated" if self._update(self.rows[target], p) else "unchanged"
        row = self.rows[contact_id]
        touched = self._memberships(contact_id, p)
        touched |= self._optouts(row, p)
        if touched and outcome == "unchanged":
            row["updated_at"] = opts.now
            outcome = "updated"
        if opts.job_id and row.get("last_import") != opts.job_id:
            row["last_import"] = opts.job_id
            self._mark(contact_id)
        if outcome != "unchanged":
            self._mark(contact_id)
        self.written.add(contact_id)
        return ItemResult(outcome, contact_id)

    def _create_fresh(self, wire: tuple, present: dict[str, str]) -> ItemResult:
        """An import line that is nobody yet: no row dict, its values go to the insert as read. It cannot
        be merged into later (a later line for it is a duplicate) nor conflict (nothing holds its keys)."""
        contact_id = self.ids[self.next_id]
        self.next_id += 1
        for col, value in present.items():
            self.index[col][value] = contact_id
        fixed_at = self.positions.get("fixed_phone")  # type: ignore[union-attr]
        addresses = {"email_key": present.get("email_key"), "mobile": present.get("mobile"),
                     "fixed_phone": wire[fixed_at] if fixed_at is not None else None}
        mask, reasons = self._suppressed(contact_id, addresses)
        if mask:
            self._took(contact_id, {c: a for c, a in addresses.items() if a})
        self.fresh.append((contact_id, wire, mask, reasons))
        self.lists.change(contact_id, self.opts.list_ids, ())
        self.segments.change(contact_id, self.opts.segment_ids, ())
        self.written.add(contact_id)
        return ItemResult("created", contact_id)

    def _mark(self, contact_id: int) -> None:
        if contact_id not in self.inserted:
            self.dirty.add(contact_id)

    def _create(self, p: Prepared) -> int:
        contact_id = self.ids[self.next_id]
        self.next_id += 1
        row: dict[str, Any] = {c: v for c, v in p.columns.items() if v is not None}
        row.update(id=contact_id, attributes={k: v for k, v in (p.attributes or {}).items() if v is not None},
                   blocked_senders=row.get("blocked_senders", []), status=self.opts.new_status, source=self.opts.source,
                   created_at=self.opts.now, updated_at=self.opts.now, deleted_at=None, last_import=None)
        row["optout_mask"], row["optout_reasons"] = self._suppressed(contact_id, row)
        if row["optout_mask"]:
            self._took(contact_id, {c: row[c] for c in ADDRESS_COLUMNS if row.get(c)})
        self.rows[contact_id] = self.inserted[contact_id] = row
        for col in KEY_COLUMNS:
            if row.get(col):
                self.index[col][row[col]] = contact_id
        return contact_id

    def _update(self, row: dict[str, Any], p: Prepared) -> bool:
        changes = _changes(row, p, self.opts.erase)
        if row["deleted_at"] is not None:
            changes["deleted_at"] = None
        if not changes:
            return False
        for col in KEY_COLUMNS:
            if col in changes:
                if row[col]:
                    self.index[col].pop(row[col], None)
                    if row["id"] not in self.inserted:
                        self.released.setdefault(row["id"], set()).add(col)
                if changes[col]:
                    self.index[col][changes[col]] = row["id"]
        row.update(changes, updated_at=self.opts.now)
        if "email_key" in changes or "mobile" in changes or "fixed_phone" in changes:
            mask, reasons = self._suppressed(row["id"], row)
            row["optout_mask"] |= mask
            row["optout_reasons"] |= reasons
            if row["optout_mask"]:
                self._took(row["id"], {c: changes[c] for c in ADDRESS_COLUMNS if changes.get(c)})
        return True

    def _took(self, contact_id: int, addresses: dict[str, str]) -> None:
        """An opted-out contact took these addresses: its opt-outs block them too (see flush)."""
        if addresses:
            self.taken.setdefault(contact_id, {}).update(addresses)

    def _memberships(self, contact_id: int, p: Prepared) -> bool:
        lists = self.lists.change(contact_id, [*self.opts.list_ids, *p.list_ids], p.unlink_list_ids)
        segments = self.segments.change(contact_id, [*self.opts.segment_ids, *p.segment_ids],
                                        [*self.opts.unlink_segment_ids, *p.unlink_segment_ids])
        return lists or segments

    def _optouts(self, row: dict[str, Any], p: Prepared) -> bool:
        """Blacklist flags and an import's "opt out all": owner_blocked opt-outs, the path optout_contact takes."""
        channels = [*p.blacklist, *self.opts.optout]
        records = block(row, channels, "owner_blocked", self.opts.source) if channels else []
        self.optouts += records
        return bool(records)

    def _suppressed(self, contact_id: int, addresses: dict[str, Any]) -> tuple[int, int]:
        """(mask, reasons) of the opt-outs blocking the contact's addresses (email_key, mobile, fixed_phone
        in `addresses`). Address-only ones found by email or mobile now belong to the contact; a fixed
        phone is nobody's own (a household's, a switchboard's), so its opt-outs stay the address's."""
        if not self.suppressed:  # the usual case: no address of this batch was ever opted out
            return 0, 0
        held = held_addresses(addresses.get("email_key"), addresses.get("mobile"), addresses.get("fixed_phone"))
        mask, reasons = address_bits(held, self.suppressed)
        if mask:
            for a in (addresses.get("email_key"), addresses.get("mobile")):
                if a and a in self.suppressed:
                    self.binds += [(contact_id, b) for b in (a, self.hashed.get(a)) if b]
        return mask, reasons

    def flush(self) -> None:
        w = self.w
        if self.released:
            for col in KEY_COLUMNS:
                ids = [i for i, cols in self.released.items() if col in cols]
                if ids:
                    w.release_keys(ids, [col])
        if self.dirty:
            w.update_contacts([self.rows[i] for i in sorted(self.dirty)])
        if self.inserted:
            w.insert_contacts(list(self.inserted.values()))
        if self.fresh:
            o = self.opts
            ids, lines, masks, reasons = zip(*self.fresh)
            w.insert_wire_rows(tuple(self.positions), ids, lines, source=o.source, now=o.now, last_import=o.job_id,
                               optouts=list(zip(masks, reasons)))
        self.lists.flush(w, "list", self.opts.now)
        self.segments.flush(w, "segment", self.opts.now)
        if self.optouts:
            w.insert_optouts(self.optouts, self.opts.now)
        if self.binds:
            w.bind_optouts(self.binds)
        if self.taken:
            w.add_optout_addresses(follow_addresses(self.taken, w.active_optouts(list(self.taken), [])))


def _fixed_phone(item: Prepared | tuple, at: int | None) -> str | None:
    if item.__class__ is tuple:
        return item[at] if at is not None else None  # type: ignore[index]
    return item.key("fixed_phone")  # type: ignore[union-attr]


def _changes(row: dict[str, Any], p: Prepared, erase: bool) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    for col, value in p.columns.items():
        if value is None and not erase:
            continue
        if col == "blocked_senders" and value is None:
            value = []
        if row.get(col) != value:
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


def apply_batch(w: Writer, items: list[Prepared | tuple | ContactsError], opts: BatchOptions,
                wire_names: tuple[str, ...] = (), slots: Sequence[int] | None = None) -> list[ItemResult]:
    """Apply contacts in order; an item given as an error is reported as failed. Import lines may come
    as read: a tuple of values in `wire_names` order, then the attributes (core/lanes.py sends here the lines
    that are not simply new). `slots`: the id each item takes if it creates a contact (else ids are reserved
    here, one after the other in the order of the contacts created)."""
    items = resolve_group_names(w, items)
    positions = {name: i for i, name in enumerate(wire_names)}
    wire_keys = [(c, positions[c]) for c in KEY_COLUMNS if c in positions]

    def identity(item: Prepared | tuple) -> dict[str, str]:
        if item.__class__ is tuple:
            return {c: v for c, i in wire_keys if (v := item[i])}  # type: ignore[index]
        return {c: v for c in KEY_COLUMNS if (v := item.key(c))}  # type: ignore[union-attr]

    keyed = [(item, identity(item)) for item in items if not isinstance(item, ContactsError)]
    by_column = {c: [v for _, keys in keyed if (v := keys.get(c))] for c in KEY_COLUMNS}
    # The contacts holding any of the batch's identities, by id.
    rows = {row["id"]: row for col, values in by_column.items() if values
            for row in w.contacts_by_key(col, list(set(values)))}
    # Fixed phones are no identity (no contact is matched by one), but opt-outs block them too.
    fixed_at = positions.get("fixed_phone")
    fixed = [v for item, _ in keyed if (v := _fixed_phone(item, fixed_at))]
    suppressed, hashed = suppressions(w, [*by_column["email_key"], *by_column["mobile"], *fixed])
    prepared = [item for item, _ in keyed if isinstance(item, Prepared)]
    targets = [p.target_id for p in prepared if p.target_id is not None]
    for row in w.contacts_by_ids(targets) if targets else []:
        rows[row["id"]] = row
    index = {col: {row[col]: i for i, row in rows.items() if row[col]} for col in KEY_COLUMNS}
    list_ids = list({*opts.list_ids, *(i for p in prepared for i in (*p.list_ids, *p.unlink_list_ids))})
    segment_ids = list({*opts.segment_ids, *opts.unlink_segment_ids,
                        *(i for p in prepared for i in (*p.segment_ids, *p.unlink_segment_ids))})
    batch = _Batch(w=w, opts=opts, rows=rows, index=index, suppressed=suppressed, hashed=hashed,
                   lists=memberships(w, "list", list(rows), list_ids),
                   segments=memberships(w, "segment", list(rows), segment_ids),
                   ids=w.reserve_contact_ids(len(items)) if slots is None else slots, next_id=0, positions=positions)
    results: list[ItemResult] = []
    keys_of = iter(keyed)
    for at, item in enumerate(items):
        if isinstance(item, ContactsError):
            results.append(ItemResult("failed", error=str(item), exception=item))
            continue
        _, present = next(keys_of)
        if slots is not None:
            batch.next_id = at  # the item's own id, should it create a contact
        try:
            results.append(batch.apply(item, present))
        except (Conflict, NotFound, InvalidInput) as exc:
            results.append(ItemResult("failed", error=str(exc), exception=exc))
    batch.flush()
    created_events(w, opts, [r.id for r in results if r.outcome == "created"])
    return results


def created_events(w: Writer, opts: BatchOptions, ids: list[int]) -> None:
    """An event of the batch's type (opts.event_key) for each contact it created."""
    if opts.event_key and ids:
        w.insert_contact_events(opts.event_key, ids, opts.now)
