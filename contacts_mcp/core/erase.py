"""Erasure (the right to be forgotten): contacts deleted for good, their opt-outs kept as keyed hashes.

What goes: the contact row (every field, attributes, blocked senders), its list and segment memberships,
its confirmation (subscription) tokens, its events' email and data (the events stay, with their type,
time and contact id), and the rejected import lines that hold its email, mobile, fixed phone or ext_id
(found by normalising each value of each line of the account's error reports, and the emails and
numbers in each line's reason: a scan of the error reports, nothing else).

What stays: its opt-out records, so that its addresses stay blocked for whoever has them later. Every
address they hold (and any other record's copy of the contact's addresses, but for an address that record's
own living contact still holds: a shared fixed phone) is replaced by a keyed hash
(`optouts.hasher`: HMAC-SHA256 with a secret of the server's, kept in the database), the records belong
to no contact any more, and the blocking path is the one clear addresses take (`optouts.suppressions`).
They are listed with no address (`erased`), and lifted by giving the address again to restore_optout.

Guarded: nothing changes unless `confirm` is exactly "erase N contacts" (N the contacts found), which a
first call without it returns. Audited: a row in `erasures` with who, when, why, how many and the ids,
and no personal data. Contact ids are never handed out again. Deletes run with SQLite's secure_delete on,
so the freed bytes are zeroed rather than left in the file.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from ..storage.api import Reader, Writer
from .exports.jobs import delete_files, forget_files
from .errors import InvalidInput
from .models import DeleteResult
from .normalize import normalize_phone, utc_now
from .optouts import hasher, is_hashed
from .scope import Scope

_EMAIL = re.compile(r"[^\s\"',;:<>()\[\]{}]+@[^\s\"',;:<>()\[\]{}]+")
_NUMBER = re.compile(r"\+?\d[\d .\-/()]{5,}\d")


def phrase(n: int) -> str:
    return f"erase {n} contact{'s' if n != 1 else ''}"


def _found(r: Reader, ids: list[int]) -> tuple[list[dict[str, Any]], list[int]]:
    rows = r.contacts_by_ids(ids)
    known = {row["id"] for row in rows}
    return rows, [i for i in dict.fromkeys(ids) if i not in known]


async def erase(scope: Scope, ids: list[int], *, confirm: str | None, reason: str | None, by: str) -> DeleteResult:
    if confirm is None:
        rows, missing = await scope.read(lambda r: _found(r, ids))
        return DeleteResult(changed=0, not_found=missing, note=(
            f"nothing changed. Erasing deletes {len(rows)} contact(s) for good (deleted ones included): data, "
            "memberships, events' emails; their opt-outs stay, as hashes. To go ahead, call again with "
            f"confirm='{phrase(len(rows))}' and a reason.") if rows else "nothing to erase")
    reason = (reason or "").strip()
    if len(reason) < 3:
        raise InvalidInput("reason", "state why the contacts are erased (e.g. 'erasure request of 2026-11-20'); "
                                     "it is kept in the audit trail")
    region = scope.settings.default_region
    now = utc_now()

    def unit(w: Writer) -> DeleteResult:
        rows, missing = _found(w, ids)
        if not rows:
            return DeleteResult(changed=0, not_found=missing)
        if confirm != phrase(len(rows)):
            raise InvalidInput("confirm", f"must be exactly '{phrase(len(rows))}' ({len(rows)} of the ids are "
                                          "contacts); call without confirm to see what would be erased")
        found = [row["id"] for row in rows]
        with w.secure_delete():
            _hash_optouts(w, found, {a for row in rows for c in ("email_key", "mobile", "fixed_phone") if (a := row[c])})
            w.delete_import_errors(_error_lines(w, rows, region))
            erased = w.erase_contacts(found)
            w.insert_erasure(erased_by=by, reason=reason, contact_ids=found, now=now)
            exports_files.extend(forget_files(w))
        return DeleteResult(changed=erased, not_found=missing)

    exports_files: list = []
    result = await scope.write(unit)
    delete_files(exports_files)  # once committed: an export file may hold an erased contact
    return result


def _hash_optouts(w: Writer, contact_ids: list[int], addresses: set[str]) -> None:
    """Every address of the contacts' own records (current and given up), and every other record's copy
    of their current addresses, replaced by its hash; the records then belong to nobody."""
    mine = set(contact_ids)
    token = hasher(w.address_secret())
    found = w.optout_addresses_of(contact_ids, list(addresses))
    # Another living contact's record keeps what that contact still holds itself (a shared fixed phone):
    # that address is its own too, and its record no erased one.
    owners = {o for _, o, _, _ in found if o is not None and o not in mine}
    own = {(row["id"], row[c]) for row in (w.contacts_by_ids(sorted(owners)) if owners else [])
           for c in ("email_key", "mobile", "fixed_phone") if row[c]}
    changes: set[tuple[int, str, str]] = set()
    for record, contact_id, first, address in found:
        for a in (first, address):
            if a and not is_hashed(a) and (contact_id in mine or (a in addresses and (contact_id, a) not in own)):
                changes.add((record, a, token(a)))
    w.hash_optout_addresses(sorted(changes))
    w.unlink_optouts(contact_ids)


def _error_lines(r: Reader, rows: list[dict[str, Any]], region: str) -> list[tuple[str, int]]:
    """(job id, line) of the rejected import lines holding one of the contacts' identities or addresses."""
    emails = {v for row in rows for c in ("email_key", "email") if (v := row[c])}
    emails = {e.lower() for e in emails}
    numbers = {v for row in rows for c in ("mobile", "fixed_phone") if (v := row[c])}
    ext_ids = {row["ext_id"] for row in rows if row["ext_id"]}
    hits = []
    for job_id, line, data, reason in r.import_error_rows():
        values = data.values() if isinstance(data, Mapping) else data if isinstance(data, list) else [data]
        if _holds(_strings(values), reason, emails, numbers, ext_ids, region):
            hits.append((job_id, line))
    return hits


def _strings(values: Iterable[Any]) -> list[str]:
    return [str(v).strip() for v in values if v is not None and str(v).strip()]


def _holds(values: list[str], reason: str, emails: set[str], numbers: set[str], ext_ids: set[str],
           region: str) -> bool:
    texts = [*values, reason or ""]
    for text in texts:
        if text in ext_ids or text.lower() in emails:
            return True
        if any(m.lower() in emails for m in _EMAIL.findall(text)):
            return True
        for m in _NUMBER.findall(text):
            try:
                if normalize_phone(m, region) in numbers:
                    return True
            except InvalidInput:
                continue
    return False
