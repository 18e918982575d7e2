"""Contact rows: lookups by identity, filtered listings, inserts, updates, soft deletion, opt-out masks."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from .session import Session, chunks, like_pattern, marks

# Columns a caller's data may set; anything else is refused before it reaches SQL text.
DATA_COLUMNS = (
    "ext_id", "email", "email_key", "mobile", "fixed_phone", "fax", "civility", "first_name", "last_name",
    "address_1", "address_2", "postal_code", "city", "state", "country", "birth_date", "company",
    "reference", "attributes", "blocked_senders", "status",
)
INSERT_COLUMNS = DATA_COLUMNS + ("source", "created_at", "updated_at")
_JSON_COLUMNS = ("attributes", "blocked_senders")
KEY_COLUMNS = ("ext_id", "email_key", "mobile")


def _encode(values: dict[str, Any]) -> dict[str, Any]:
    out = dict(values)
    for col in _JSON_COLUMNS:
        if col in out and not isinstance(out[col], str):
            out[col] = json.dumps(out[col], ensure_ascii=False, separators=(",", ":"))
    return out


def _decode(row: dict[str, Any]) -> dict[str, Any]:
    for col in _JSON_COLUMNS:
        if col in row and isinstance(row[col], str):
            row[col] = json.loads(row[col])
    return row


class ContactReads(Session):
    def contacts_by_ids(self, ids: Sequence[int]) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        for part in chunks(list(ids)):
            rows += self._all(
                f"SELECT * FROM contacts WHERE account_id = ? AND id IN ({marks(len(part))})",
                [self.account_id, *part])
        return [_decode(r) for r in rows]

    def contacts_by_key(self, column: str, values: Sequence[str]) -> list[dict[str, Any]]:
        """Contacts whose ext_id, email_key or mobile is one of `values` (deleted ones included)."""
        if column not in KEY_COLUMNS:
            raise ValueError(f"not a key column: {column}")
        rows: list[dict[str, Any]] = []
        for part in chunks(list(values)):
            rows += self._all(
                f"SELECT * FROM contacts WHERE account_id = ? AND {column} IN ({marks(len(part))})",
                [self.account_id, *part])
        return [_decode(r) for r in rows]

    def find_matches(self, ext_id: str | None, email_key: str | None,
                     mobile: str | None) -> list[dict[str, Any]]:
        """Every contact (deleted or not) sharing one of the given identities."""
        # One indexed lookup per identity: with OR the planner scans every contact of the account.
        parts, params = [], []
        for column, value in (("ext_id", ext_id), ("email_key", email_key), ("mobile", mobile)):
            if value is not None:
                parts.append(f"SELECT * FROM contacts WHERE account_id = ? AND {column} = ?")
                params += [self.account_id, value]
        if not parts:
            return []
        return [_decode(r) for r in self._all(" UNION ".join(parts), params)]

    def list_contacts(self, *, list_id: int | None, created_since: str | None,
                            modified_since: str | None, search: Sequence[str], deleted: str,
                            descending: bool, after_id: int | None, limit: int) -> list[dict[str, Any]]:
        where = ["c.account_id = ?"]
        params: list[Any] = [self.account_id]
        source = "contacts c"
        if list_id is not None:
            # Driven by the membership key (list_id, contact_id): pages come straight off that index,
            # ~40x faster than `c.id IN (subquery)` on a 200k-contact base.
            source = "list_members m JOIN contacts c ON c.id = m.contact_id"
            where.append("m.list_id = ?")
            params.append(list_id)
        if created_since:
            where.append("c.created_at >= ?")
            params.append(created_since)
        if modified_since:
            where.append("c.updated_at >= ?")
            params.append(modified_since)
        if deleted == "exclude":
            where.append("c.deleted_at IS NULL")
        elif deleted == "only":
            where.append("c.deleted_at IS NOT NULL")
        if search:
            ors = []
            for term in search:
                pattern = like_pattern(term.lower())
                ors.append("c.email_key LIKE ? ESCAPE '\\' OR c.mobile LIKE ? ESCAPE '\\' "
                           "OR c.fixed_phone LIKE ? ESCAPE '\\' OR lower(c.first_name) LIKE ? ESCAPE '\\' "
                           "OR lower(c.last_name) LIKE ? ESCAPE '\\' OR lower(c.company) LIKE ? ESCAPE '\\' "
                           "OR c.ext_id = ?")
                params += [pattern] * 6 + [term]
            where.append("(" + " OR ".join(ors) + ")")
        key = "m.contact_id" if list_id is not None else "c.id"
        if after_id is not None:
            where.append(f"{key} < ?" if descending else f"{key} > ?")
            params.append(after_id)
        order = "DESC" if descending else "ASC"
        params.append(limit)
        rows = self._all(
            f"SELECT c.* FROM {source} WHERE {' AND '.join(where)} ORDER BY {key} {order} LIMIT ?", params)
        return [_decode(r) for r in rows]

    def memberships(self, contact_ids: Sequence[int]) -> dict[int, list[int]]:
        out: dict[int, list[int]] = {}
        for part in chunks(list(contact_ids)):
            rows = self._all(
                f"SELECT contact_id, list_id FROM list_members WHERE account_id = ? "
                f"AND contact_id IN ({marks(len(part))}) ORDER BY list_id", [self.account_id, *part])
            for r in rows:
                out.setdefault(r["contact_id"], []).append(r["list_id"])
        return out

    def optout_channels_for_addresses(self, addresses: Sequence[str]) -> set[str]:
        """The channels opted out by address (suppression entries that outlive contacts)."""
        if not addresses:
            return set()
        rows = self._all(
            f"SELECT DISTINCT channel FROM optouts WHERE account_id = ? AND address IN ({marks(len(addresses))})",
            [self.account_id, *addresses])
        return {r["channel"] for r in rows}


class ContactWrites(ContactReads):
    def insert_contact(self, values: dict[str, Any]) -> int:
        values = _encode(values)
        cols = [c for c in INSERT_COLUMNS if c in values]
        if set(values) - set(INSERT_COLUMNS) - {"optout_mask"}:
            raise ValueError(f"unknown columns: {set(values) - set(INSERT_COLUMNS)}")
        if "optout_mask" in values:
            cols.append("optout_mask")
        return self._value(
            f"INSERT INTO contacts (account_id, {', '.join(cols)}) VALUES (?, {marks(len(cols))}) RETURNING id",
            [self.account_id, *(values[c] for c in cols)])

    def update_contact(self, contact_id: int, values: dict[str, Any]) -> None:
        values = _encode(values)
        allowed = set(DATA_COLUMNS) | {"updated_at", "deleted_at", "optout_mask"}
        if set(values) - allowed:
            raise ValueError(f"unknown columns: {set(values) - allowed}")
        if not values:
            return
        sets = ", ".join(f"{c} = ?" for c in values)
        self._run(f"UPDATE contacts SET {sets} WHERE account_id = ? AND id = ?",
                        [*values.values(), self.account_id, contact_id])

    def set_deleted(self, ids: Sequence[int], deleted_at: str | None, now: str) -> int:
        """Soft-delete (deleted_at set) or restore (None) the given contacts; returns how many changed."""
        changed = 0
        state = "deleted_at IS NULL" if deleted_at else "deleted_at IS NOT NULL"
        for part in chunks(list(ids)):
            changed += self._run(
                f"UPDATE contacts SET deleted_at = ?, updated_at = ? WHERE account_id = ? AND {state} "
                f"AND id IN ({marks(len(part))})", [deleted_at, now, self.account_id, *part])
        return changed

    def add_optout(self, *, contact_id: int | None, address: str | None, channel: str, reason: str,
                         source: str, now: str) -> None:
        """Record an opt-out unless the same one (contact or address, channel) is already there."""
        exists = self._value(
            "SELECT 1 FROM optouts WHERE account_id = ? AND channel = ? AND "
            "(contact_id = ? OR (address IS NOT NULL AND address = ?))",
            [self.account_id, channel, contact_id, address])
        if not exists:
            self._run(
                "INSERT INTO optouts (account_id, contact_id, address, channel, reason, source, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)", [self.account_id, contact_id, address, channel, reason, source, now])

    def raise_optout_mask(self, contact_id: int, bits: int) -> None:
        """Add channels to a contact's opt-out mask. Masks only ever gain bits here: lifting one is a
        restore, which lives in its own audited path."""
        self._run("UPDATE contacts SET optout_mask = optout_mask | ? WHERE account_id = ? AND id = ?",
                        [bits, self.account_id, contact_id])
