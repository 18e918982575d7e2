"""Opt-outs: blocking channels with a reason, listing them, and the one audited way to lift them.

A contact's opt-outs live twice, in step within each transaction: as records in `optouts` (what, why,
when, from where; kept when the contact is deleted), and as bits on the contact (`optout_mask` per
channel, `optout_reasons` per reason) that reachability filters and statistics read without a join.
A record also blocks every address its channel uses, for whoever has that address now or later (see
`addresses_for`): an address opted out before it was ever a contact, or given up by an opted-out
contact, is blocked as soon as another contact takes it.

Every way a contact gets blocked goes through `block` (optout_contact, blacklist flags on create or
upsert, an import's "opt out all"); only `restore_optouts` clears bits, and it writes who and why.
"""

from __future__ import annotations

import hashlib
import hmac
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Literal

from ..storage.api import HASHED
from ..storage.api import Reader, Writer
from .errors import InvalidInput, LimitExceeded, NotFound
from .models import ALL_CHANNELS_MASK, CHANNEL_BITS, OptOut, OptOutPage, OptOutResult, RestoreResult
from .normalize import email_key, normalize_email, normalize_phone, parse_ts, utc_now
from .pagination import decode_cursor, page
from .scope import SMALL_WRITE, Scope

Reason = Literal["unsubscribed", "owner_blocked", "hardbounce", "complaint"]
REASONS: tuple[str, ...] = ("unsubscribed", "owner_blocked", "hardbounce", "complaint")
REASON_BITS = {r: 1 << i for i, r in enumerate(REASONS)}
TARGETS_MAX = 10_000
EMAIL_MASK = CHANNEL_BITS["email"]
PHONE_MASK = ALL_CHANNELS_MASK & ~EMAIL_MASK                   # what a mobile serves: sms, voice, voicemail
VOICE_MASK = CHANNEL_BITS["voice"] | CHANNEL_BITS["voicemail"]  # what a fixed phone serves

Addresses = list[tuple[str, int]]  # (normalised address, the channels it blocks, as optout_mask bits)
OptoutRecord = tuple[int | None, Addresses, str, str, str]  # contact id, addresses, channel, reason, source


def default_channels(reason: str) -> list[str]:
    """What an opt-out blocks when no channels are given: a hard bounce (an invalid address) and a complaint
    (a spam report) are facts about an email; a person unsubscribing or the owner blocking is about them."""
    return ["email"] if reason in ("hardbounce", "complaint") else ["all"]


def channel_bits(channel: str) -> int:
    return ALL_CHANNELS_MASK if channel == "all" else CHANNEL_BITS[channel]


def channels_mask(channels: Iterable[str]) -> int:
    """The optout_mask bits of some channels ("all" included)."""
    mask = 0
    for channel in channels:
        mask |= channel_bits(channel)
    return mask


def addresses_for(row: Mapping[str, Any], bits: int) -> Addresses:
    """The addresses of a contact that an opt-out of these channels (optout_mask bits) is recorded under,
    so that it outlives the contact and its addresses: the email for email, the mobile for sms, voice and
    voicemail, the fixed phone for voice and voicemail. The email and the mobile identify a person (the
    same one, whoever has them later) and block every channel of the opt-out; a fixed phone identifies
    nobody (a household, a switchboard) and only ever blocks the channels it serves."""
    held: dict[str, int] = {}
    for column, serves, carries in (("email_key", EMAIL_MASK, bits), ("mobile", PHONE_MASK, bits),
                                    ("fixed_phone", VOICE_MASK, bits & VOICE_MASK)):
        address = row.get(column)
        if address and bits & serves:
            held[address] = held.get(address, 0) | carries
    return list(held.items())


def held_addresses(email_key: str | None, mobile: str | None, fixed_phone: str | None) -> Addresses:
    """A contact's addresses, each with the channels an opt-out found under it may block on the contact:
    every channel through an identity (email, mobile), voice and voicemail through a fixed phone."""
    return [(a, serves) for a, serves in ((email_key, ALL_CHANNELS_MASK), (mobile, ALL_CHANNELS_MASK),
                                          (fixed_phone, VOICE_MASK)) if a]


def address_bits(held: Addresses, found: Mapping[str, list[tuple[int, str]]]) -> tuple[int, int]:
    """(mask, reasons) the opt-outs found by address, as {address: [(mask, reason)]}, put on a contact
    that holds these addresses."""
    mask = reasons = 0
    for address, serves in held:
        for bits, reason in found.get(address, ()):
            if bits & serves:
                mask |= bits & serves
                reasons |= REASON_BITS[reason]
    return mask, reasons


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
        records.append((row["id"], addresses_for(row, bits), channel, reason, source))
    return records


def block_rows(w: Writer, rows: Iterable[dict[str, Any]], channels: list[str], reason: str, source: str, now: str,
               more: Iterable[OptoutRecord] = ()) -> int:
    """Opt these contacts out (block, then their bits and records written, with `more` records); returns how
    many changed (the others had these opt-outs already)."""
    records: list[OptoutRecord] = list(more)
    changed = []
    for row in rows:
        new = block(row, channels, reason, source)
        if new:
            records += new
            changed.append((row["id"], row["optout_mask"], row["optout_reasons"]))
    w.set_optout_bits(changed, now)
    w.insert_optouts(records, now)
    return len(changed)


def follow_addresses(taken: Mapping[int, Mapping[str, str]],
                     active: list[dict[str, Any]]) -> list[tuple[int, str, int]]:
    """(record id, address, mask) for addresses opted-out contacts took ({contact id: {column: address}})
    that their own active records do not block yet: such a contact opts a new address out too, so that
    giving it up later leaves it blocked for whoever takes it next."""
    out: list[tuple[int, str, int]] = []
    for record in active:
        addresses = taken.get(record["contact_id"])
        if addresses is None:
            continue
        have = dict(record["addresses"])
        for address, mask in addresses_for(addresses, channel_bits(record["channel"])):
            if have.get(address, 0) & mask != mask:
                out.append((record["id"], address, mask))
    return out


# ---------------------------------------------------------------- erased addresses


def hasher(secret: bytes) -> Callable[[str], str]:
    """How an erased contact's address is kept: HMAC-SHA256 of the normalised address with the server's
    secret (so a leaked database alone cannot test guesses), marked with HASHED."""
    base = hmac.new(secret, digestmod=hashlib.sha256)

    def token(address: str) -> str:
        h = base.copy()
        h.update(address.encode())
        return HASHED + h.hexdigest()

    return token


def is_hashed(address: str | None) -> bool:
    return bool(address) and address.startswith(HASHED)  # type: ignore[union-attr]


def hashes_of(r: Reader, addresses: Iterable[str]) -> dict[str, str]:
    """{hash: address} for addresses that may be blocked as an erased contact's; empty (and no hashing)
    while the account has no such opt-out."""
    if not r.has_hashed_addresses():
        return {}
    token = hasher(r.address_secret())
    return {token(a): a for a in dict.fromkeys(addresses)}


def suppressions(r: Reader, addresses: list[str]) -> tuple[dict[str, list[tuple[int, str]]], dict[str, str]]:
    """Active opt-outs blocking these addresses, {address: [(mask, reason)]}, whether they hold an address
    in clear or, an erased contact's, as a hash; and {address: hash} of those found by hash."""
    if not addresses or not r.has_address_optouts():  # most accounts: one cheap probe, no lookup per address
        return {}, {}
    hashes = hashes_of(r, addresses)
    found = r.optouts_by_address([*addresses, *hashes])
    by_hash: dict[str, str] = {}
    for h, a in hashes.items():
        if h in found:
            found.setdefault(a, []).extend(found.pop(h))
            by_hash[a] = h
    return found, by_hash


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
    # A blank address is a missing one: it would record an opt-out that blocks nothing.
    for i, e in enumerate(emails):
        try:
            key = email_key(normalize_email(e, f"emails[{i}]"))
            if key is None:
                raise InvalidInput(f"emails[{i}]", "is blank; give an address like 'name@example.com'")
            out.append(("email_key", key))
        except InvalidInput as exc:
            problems.append(str(exc))
    for i, m in enumerate(mobiles):
        try:
            number = normalize_phone(m, region, f"mobiles[{i}]")
            if number is None:
                raise InvalidInput(f"mobiles[{i}]", "is blank; give a number like '+33612345678'")
            out.append(("mobile", number))
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
    """Opt contacts out, named by id or address (up to 10,000; a whole list or filter: core/bulk.py)."""
    addresses = _addresses(contact_ids, emails, mobiles, scope.settings.default_region)
    now = utc_now()

    def unit(w: Writer) -> OptOutResult:
        rows, loose = _targets(w, contact_ids, addresses)
        # An address that is nobody's yet: a suppression entry that blocks it (on every channel given: it
        # names a person) when it becomes a contact.
        changed = block_rows(w, rows.values(), channels, reason, source, now, [
            (None, [(a, channel_bits(ch))], ch, reason, source) for _, a in loose for ch in dict.fromkeys(channels)])
        return OptOutResult(opted_out=changed, already=len(rows) - changed,
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
        held = {row["id"]: held_addresses(row["email_key"], row["mobile"], row["fixed_phone"]) for row in rows.values()}
        # An erased contact's opt-outs block its addresses as hashes: an address named (or held) names those too.
        hashes = {a: h for h, a in hashes_of(w, [*(a for _, a in loose), *(a for h in held.values() for a, _ in h)]).items()}
        held = {i: [*h, *((hashes[a], serves) for a, serves in h if a in hashes)] for i, h in held.items()}
        named: dict[str, int] = {a: ALL_CHANNELS_MASK for _, a in loose}  # address -> channels it blocks here
        named.update({hashes[a]: ALL_CHANNELS_MASK for _, a in loose if a in hashes})
        for addresses_held in held.values():
            for a, serves in addresses_held:
                named[a] = named.get(a, 0) | serves
        active = w.active_optouts(list(rows), list(named))
        lifted: list[dict[str, Any]] = []
        kept: list[OptoutRecord] = []
        for o in active:
            # What the record blocks on the contacts and addresses named: all of its channels on its own
            # contact, through an address what that address blocks there (a shared fixed phone: voice).
            here = channel_bits(o["channel"]) if o["contact_id"] in rows else 0
            for a, mask in o["addresses"]:
                here |= mask & named.get(a, 0)
            if not here & lifting:
                continue
            lifted.append(o)
            if o["contact_id"] in rows:
                # A named contact's own: lifted on every address it recorded. Lifting some channels of an
                # "all" opt-out keeps the others blocked, as separate records on the same addresses.
                kept += [(o["contact_id"], [(a, mask & bit) for a, mask in o["addresses"] if mask & bit], ch,
                          o["reason"], o["source"])
                         for ch, bit in CHANNEL_BITS.items() if bit & channel_bits(o["channel"]) & ~lifting]
            else:
                # Another contact's (or an address's), found through an address named: lifted there only.
                # It stays on its own contact and its other addresses, re-recorded without the lifted part.
                rest = [(a, m) for a, mask in o["addresses"] if (m := mask & ~(lifting & named.get(a, 0)))]
                if rest or o["contact_id"] is not None:
                    kept.append((o["contact_id"], rest, o["channel"], o["reason"], o["source"]))
        w.lift_optouts([o["id"] for o in lifted], now=now, by=restored_by, reason=reason.strip())
        w.insert_optouts(kept, now)
        # Recompute each contact's bits from what stays active (its own records and its addresses'):
        # what was active, less what was lifted, plus what was kept of lifted records.
        gone = {o["id"] for o in lifted}
        by_contact: dict[int | None, int] = defaultdict(int)
        reasons_of: dict[int | None, int] = defaultdict(int)
        by_address: dict[str, list[tuple[int, str]]] = defaultdict(list)
        for contact_id, addresses_of, channel, why in [
                *((o["contact_id"], o["addresses"], o["channel"], o["reason"]) for o in active if o["id"] not in gone),
                *(k[:4] for k in kept)]:
            by_contact[contact_id] |= channel_bits(channel)
            reasons_of[contact_id] |= REASON_BITS[why]
            for a, mask in addresses_of:
                by_address[a].append((mask, why))
        updates, reachable_again = [], 0
        for row in rows.values():
            # A record found both ways counts twice: harmless, the bits are or-ed.
            mask, reasons = address_bits(held[row["id"]], by_address)
            mask, reasons = mask | by_contact[row["id"]], reasons | reasons_of[row["id"]]
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
        # An erased contact's record: its addresses are hashes, shown as such, never as addresses.
        return [OptOut(**{k: v for k, v in row.items() if k in OptOut.model_fields and k != "address"},
                       address=None if is_hashed(row["address"]) else row["address"],
                       erased=is_hashed(row["address"]) or (row["address"] is None and row["contact_id"] is None)
                       or None,
                       other_addresses=[a for a, _ in row["addresses"] if a != row["address"] and not is_hashed(a)])
                for row in rows]

    kept, next_cursor = page(await scope.read(unit), limit=limit, key=lambda o: o.id, query=filters)
    return OptOutPage(optouts=kept, next_cursor=next_cursor)
