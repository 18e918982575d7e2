"""Opt-outs: blocking channels with a reason, listing them, and the one audited way to lift them.

A contact's opt-outs live twice, in step within each transaction: as records in `optouts` (what, why,
when, from where; kept when the contact is deleted, and keyed by the normalised address as well, so an
address opted out before it was ever a contact is blocked as soon as it becomes one), and as bits on
the contact (`optout_mask` per channel, `optout_reasons` per reason) that reachability filters and
statistics read without a join.

Every way a contact gets blocked goes through `block` (optout_contact, blacklist flags on create or
upsert, an import's "opt out all"); only `restore_optouts` clears bits, and it writes who and why.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any, Literal

from ..storage.store import Reader, Writer
from .errors import InvalidInput, LimitExceeded, NotFound
from .models import ALL_CHANNELS_MASK, CHANNEL_BITS, OptOut, OptOutPage, OptOutResult, RestoreResult
from .normalize import email_key, normalize_email, normalize_phone, parse_ts, utc_now
from .pagination import decode_cursor, page
from .scope import SMALL_WRITE, Scope

Reason = Literal["unsubscribed", "owner_blocked", "hardbounce", "complaint"]
REASONS: tuple[str, ...] = ("unsubscribed", "owner_blocked", "hardbounce", "complaint")
REASON_BITS = {r: 1 << i for i, r in enumerate(REASONS)}
TARGETS_MAX = 10_000

OptoutRecord = tuple[int | None, str | None, str, str, str]  # contact id, address, channel, reason, source


def channel_bits(channel: str) -> int:
    return ALL_CHANNELS_MASK if channel == "all" else CHANNEL_BITS[channel]


def channels_mask(channels: Iterable[str]) -> int:
    """The optout_mask bits of some channels ("all" included)."""
    mask = 0
    for channel in channels:
        mask |= channel_bits(channel)
    return mask


def address_for(row: dict[str, Any], channel: str) -> str | None:
    """The normalised address an opt-out of `channel` is recorded under, so that it outlives the contact."""
    if channel == "email":
        return row.get("email_key")
    if channel == "sms":
        return row.get("mobile")
    if channel in ("voice", "voicemail"):
        return row.get("mobile") or row.get("fixed_phone")
    return row.get("email_key") or row.get("mobile") or row.get("fixed_phone")


def block(row: dict[str, Any], channels: list[str] | tuple[str, ...], reason: str, source: str) -> list[OptoutRecord]:
    """Opt the contact (a row, changed in place) out of `channels`; returns the records to write. A
    channel already blocked for the same reason writes nothing: repeating an opt-out is harmless."""
    records: list[OptoutRecord] = []
    for channel in dict.fromkeys(channels):
        bits, reason_bit = channel_bits(channel), REASON_BITS[reason]
        if row["optout_mask"] & bits == bits and row.get("optout_reasons", 0) & reason_bit:
            continue
        row["optout_mask"] |= bits
        row["optout_reasons"] = row.get("optout_reasons", 0) | reason_bit
        records.append((row["id"], address_for(row, channel), channel, reason, source))
    return records


def suppression_bits(entries: list[tuple[str, str]]) -> tuple[int, int]:
    """(mask, reasons) of address-keyed opt-outs given as (channel, reason) pairs."""
    mask = reasons = 0
    for channel, reason in entries:
        mask |= channel_bits(channel)
        reasons |= REASON_BITS[reason]
    return mask, reasons


# ---------------------------------------------------------------- targets


def _addresses(contact_ids: list[int], emails: list[str], mobiles: list[str], region: str) -> list[tuple[str, str]]:
    """(kind, normalised address) for each given address, after checking the call names 1 to 10,000
    contacts; a bad address fails the call, naming every bad one at once."""
    total = len(contact_ids) + len(emails) + len(mobiles)
    if total == 0:
        raise InvalidInput("contact_ids", "name at least one contact: contact_ids, emails or mobiles")
    if total > TARGETS_MAX:
        raise LimitExceeded("contact_ids + emails + mobiles", f"{TARGETS_MAX:,}", f"{total:,}", "Split the call.")
    out: list[tuple[str, str]] = []
    problems: list[str] = []
    for i, e in enumerate(emails):
        try:
            out.append(("email_key", email_key(normalize_email(e, f"emails[{i}]"))))
        except InvalidInput as exc:
            problems.append(str(exc))
    for i, m in enumerate(mobiles):
        try:
            out.append(("mobile", normalize_phone(m, region, f"mobiles[{i}]")))
        except InvalidInput as exc:
            problems.append(str(exc))
    if problems:
        raise InvalidInput("addresses", "; ".join(problems))
    return out


def _targets(w: Reader, contact_ids: list[int], addresses: list[tuple[str, str]]
             ) -> tuple[dict[int, dict[str, Any]], list[tuple[str, str]]]:
    """The contacts named by id (all must exist) or by address, and the addresses that are nobody's."""
    rows = {r["id"]: r for r in w.contacts_by_ids(contact_ids)} if contact_ids else {}
    missing = sorted(set(contact_ids) - set(rows))
    if missing:
        raise NotFound("contact id", missing, "Find contacts with get_contacts, or name them by email or mobile.")
    loose: list[tuple[str, str]] = []
    for col in ("email_key", "mobile"):
        wanted = [a for kind, a in addresses if kind == col]
        found = {r[col]: r for r in w.contacts_by_key(col, wanted)} if wanted else {}
        for r in found.values():
            rows.setdefault(r["id"], r)
        loose += [(col, a) for a in dict.fromkeys(wanted) if a not in found]
    return rows, loose


# ---------------------------------------------------------------- operations


async def optout(scope: Scope, *, contact_ids: list[int], emails: list[str], mobiles: list[str],
                 channels: list[str], reason: str, source: str) -> OptOutResult:
    addresses = _addresses(contact_ids, emails, mobiles, scope.settings.default_region)
    now = utc_now()

    def unit(w: Writer) -> OptOutResult:
        rows, loose = _targets(w, contact_ids, addresses)
        records: list[OptoutRecord] = []
        changed = []
        for row in rows.values():
            new = block(row, channels, reason, source)
            if new:
                records += new
                changed.append(row)
        w.set_optout_bits([(r["id"], r["optout_mask"], r["optout_reasons"]) for r in changed], now)
        # An address that is nobody's yet: a suppression entry that blocks it when it becomes a contact.
        records += [(None, a, ch, reason, source) for _, a in loose for ch in dict.fromkeys(channels)]
        w.insert_optouts(records, now)
        return OptOutResult(opted_out=len(changed), already=len(rows) - len(changed),
                            suppressed_addresses=[a for _, a in loose][:200], suppressed_count=len(loose))

    return await scope.write(unit, small=len(addresses) + len(contact_ids) <= SMALL_WRITE)


async def restore(scope: Scope, *, contact_ids: list[int], emails: list[str], mobiles: list[str],
                  channels: list[str], reason: str, restored_by: str) -> RestoreResult:
    addresses = _addresses(contact_ids, emails, mobiles, scope.settings.default_region)
    if len(reason.strip()) < 3:
        raise InvalidInput("reason", "state why the opt-out is lifted (e.g. 'contact re-subscribed by phone "
                                     "on 2026-11-20'); it is kept in the audit trail")
    now = utc_now()
    lifting = channels_mask(channels)

    def unit(w: Writer) -> RestoreResult:
        rows, loose = _targets(w, contact_ids, addresses)
        keys = {a for row in rows.values() for a in (row["email_key"], row["mobile"], row["fixed_phone"]) if a}
        keys |= {a for _, a in loose}
        active = w.active_optouts(list(rows), list(keys))
        lifted, kept = [], []
        for o in active:
            bits = channel_bits(o["channel"])
            if bits & lifting:
                lifted.append(o)
                if o["channel"] == "all" and lifting != ALL_CHANNELS_MASK:
                    # Lifting one channel of an "all" opt-out keeps the others blocked, as separate records.
                    kept += [(o["contact_id"], o["address"], ch, o["reason"], o["source"])
                             for ch, bit in CHANNEL_BITS.items() if not bit & lifting]
        w.lift_optouts([o["id"] for o in lifted], now=now, by=restored_by, reason=reason.strip())
        w.insert_optouts(kept, now)
        # Recompute each contact's bits from what stays active (its own records and its addresses'):
        # what was active, less what was lifted, plus what was kept of lifted "all" opt-outs.
        gone = {o["id"] for o in lifted}
        by_contact: dict[int, list[tuple[str, str]]] = defaultdict(list)
        by_address: dict[str, list[tuple[str, str]]] = defaultdict(list)
        for contact_id, address, channel, why in [
                *((o["contact_id"], o["address"], o["channel"], o["reason"]) for o in active if o["id"] not in gone),
                *(k[:4] for k in kept)]:
            by_contact[contact_id].append((channel, why))
            by_address[address].append((channel, why))
        updates, reachable_again = [], 0
        for row in rows.values():
            own = {row["email_key"], row["mobile"], row["fixed_phone"]} - {None}
            # A record found both ways counts twice: harmless, the bits are or-ed.
            mask, reasons = suppression_bits([*by_contact[row["id"]], *(e for a in own for e in by_address[a])])
            if (mask, reasons) != (row["optout_mask"], row["optout_reasons"]):
                updates.append((row["id"], mask, reasons))
                reachable_again += 1
        w.set_optout_bits(updates, now)
        return RestoreResult(restored=len(lifted), contacts_changed=reachable_again)

    return await scope.write(unit, small=len(addresses) + len(contact_ids) <= SMALL_WRITE)


async def get_optouts(scope: Scope, *, reason: str | None, channel: str | None, since: str | None,
                      until: str | None, list_id: int | None, contact_id: int | None, include_restored: bool,
                      limit: int, cursor: str | None) -> OptOutPage:
    filters = {"reason": reason, "channel": channel, "since": since and parse_ts("since", since),
               "until": until and parse_ts("until", until), "list_id": list_id, "contact_id": contact_id,
               "include_restored": include_restored}
    after = decode_cursor(cursor, filters)

    def unit(r: Reader) -> OptOutPage:
        if list_id is not None and not r.existing_list_ids([list_id]):
            raise NotFound("list id", [list_id], "Find lists with get_lists.")
        rows = r.list_optouts(**filters, before_id=after, limit=limit + 1)
        return [OptOut(**{k: v for k, v in row.items() if k in OptOut.model_fields}) for row in rows]

    kept, next_cursor = page(await scope.read(unit), limit=limit, key=lambda o: o.id, query=filters)
    return OptOutPage(optouts=kept, next_cursor=next_cursor)
