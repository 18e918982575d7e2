"""Opt-out records and the addresses each one blocks.

A record (`optouts`) is one opt-out: a channel, a reason, where it came from, and, once lifted, who lifted
it and why. The addresses it blocks for whoever has them, now or later, are in `optout_addresses`, one
row per (record, address) with the channels that address blocks (`mask`, the optout_mask bits): so an
"all" opt-out of a contact with an email, a mobile and a fixed phone is one record, listed once, that
blocks three addresses. An address row only counts while its record is active: lifting the record
lifts every address it recorded. `optouts.address` keeps the first address (the one a record was
given for), which listings show first and address-only records are told apart by.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .session import Session, chunks, marks

# (contact id or None, [(address, mask)], channel, reason, source)
OptoutRow = tuple[int | None, Sequence[tuple[str, int]], str, str, str]


class OptoutReads(Session):
    def has_address_optouts(self) -> bool:
        return bool(self._value("SELECT 1 FROM optout_addresses a JOIN optouts o ON o.id = a.optout_id "
                                "WHERE a.account_id = ? AND o.restored_at IS NULL LIMIT 1", [self.account_id]))

    def optouts_by_address(self, addresses: Sequence[str]) -> dict[str, list[tuple[int, str]]]:
        """Active opt-outs per normalised address, as (channels blocked there, reason)."""
        out: dict[str, list[tuple[int, str]]] = {}
        for part in chunks(list(dict.fromkeys(addresses))):
            for address, mask, reason in self._conn.execute(
                    f"SELECT a.address, a.mask, o.reason FROM optout_addresses a JOIN optouts o ON o.id = a.optout_id "
                    f"WHERE a.account_id = ? AND a.address IN ({marks(len(part))}) AND o.restored_at IS NULL",
                    [self.account_id, *part]):
                out.setdefault(address, []).append((mask, reason))
        return out

    def addresses_of_optouts(self, ids: Sequence[int]) -> dict[int, list[tuple[str, int]]]:
        """The (address, mask) rows of these records, first address first."""
        out: dict[int, list[tuple[str, int]]] = {}
        for part in chunks(list(dict.fromkeys(ids))):
            for optout_id, address, mask in self._conn.execute(
                    f"SELECT a.optout_id, a.address, a.mask FROM optout_addresses a "
                    f"JOIN optouts o ON o.id = a.optout_id "
                    f"WHERE a.account_id = ? AND a.optout_id IN ({marks(len(part))}) "
                    f"ORDER BY a.optout_id, a.address IS NOT o.address, a.rowid", [self.account_id, *part]):
                out.setdefault(optout_id, []).append((address, mask))
        return out

    def active_optouts(self, contact_ids: Sequence[int], addresses: Sequence[str]) -> list[dict[str, Any]]:
        """Active records of these contacts or blocking any of these addresses, each with its "addresses"."""
        found: dict[int, dict[str, Any]] = {}
        account = self.account_id
        for part in chunks(list(dict.fromkeys(contact_ids))):
            for r in self._all(f"SELECT * FROM optouts WHERE account_id = ? AND restored_at IS NULL "
                               f"AND contact_id IN ({marks(len(part))})", [account, *part]):
                found[r["id"]] = r
        for part in chunks(list(dict.fromkeys(addresses))):
            for r in self._all(f"SELECT * FROM optouts WHERE account_id = ? AND restored_at IS NULL AND id IN "
                               f"(SELECT optout_id FROM optout_addresses WHERE account_id = ? "
                               f"AND address IN ({marks(len(part))}))", [account, account, *part]):
                found[r["id"]] = r
        return self._with_addresses(list(found.values()))

    def _with_addresses(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        held = self.addresses_of_optouts([r["id"] for r in rows])
        for r in rows:
            r["addresses"] = held.get(r["id"], [])
        return rows

    def list_optouts(self, *, reason: str | None, channel: str | None, since: str | None, until: str | None,
                     list_id: int | None, contact_id: int | None, include_restored: bool,
                     before_id: int | None, limit: int) -> list[dict[str, Any]]:
        """Records newest first, each with its "addresses"."""
        where, params = ["account_id = ?"], [self.account_id]
        for column, value in (("reason", reason), ("channel", channel), ("contact_id", contact_id)):
            if value is not None:
                where.append(f"{column} = ?")
                params.append(value)
        if since:
            where.append("created_at >= ?")
            params.append(since)
        if until:
            where.append("created_at < ?")
            params.append(until)
        if list_id is not None:
            where.append("contact_id IN (SELECT contact_id FROM list_members WHERE list_id = ?)")
            params.append(list_id)
        if not include_restored:
            where.append("restored_at IS NULL")
        if before_id is not None:
            where.append("id < ?")
            params.append(before_id)
        return self._with_addresses(self._all(
            f"SELECT * FROM optouts WHERE {' AND '.join(where)} ORDER BY id DESC LIMIT ?", [*params, limit]))


class OptoutWrites(OptoutReads):
    def insert_optouts(self, rows: Sequence[OptoutRow], now: str) -> None:
        """New records with the addresses they block. One already active for the same contact (or, for an
        address-only record, the same first address), channel and reason is not repeated."""
        if not rows:
            return
        # Ids handed out here (there is one writer) so that address rows can name their record without a
        # round trip per record; a record skipped as a repeat leaves a gap, and its address rows go with it.
        ids = self._new_ids("optouts", len(rows))
        account = self.account_id
        # The repeat is looked for by contact, or for an address-only record by address: two statements, each an
        # index lookup (one `contact_id IS ?` for both would make PostgreSQL scan every record of the base).
        insert = ("INSERT INTO optouts (id, account_id, contact_id, address, channel, reason, source, created_at) "
                  "SELECT ?, ?, ?, ?, ?, ?, ?, ? WHERE NOT EXISTS (SELECT 1 FROM optouts WHERE account_id = ? AND {} "
                  "AND channel = ? AND reason = ? AND restored_at IS NULL)")
        records = [(optout_id, account, cid, addrs[0][0] if addrs else None, ch, reason, src, now)
                   for optout_id, (cid, addrs, ch, reason, src) in zip(ids, rows)]
        self._conn.executemany(insert.format("contact_id = ?"),
                               [(*r, account, r[2], r[4], r[5]) for r in records if r[2] is not None])
        self._conn.executemany(insert.format("contact_id IS NULL AND address = ?"),
                               [(*r, account, r[3], r[4], r[5]) for r in records if r[2] is None])
        self._conn.executemany(
            "INSERT INTO optout_addresses (optout_id, account_id, address, mask) SELECT ?, ?, ?, ? "
            "WHERE EXISTS (SELECT 1 FROM optouts WHERE id = ?)",
            [(optout_id, account, address, mask, optout_id)
             for optout_id, (_, addrs, _, _, _) in zip(ids, rows) for address, mask in addrs])

    def add_optout_addresses(self, rows: Sequence[tuple[int, str, int]]) -> None:
        """(record id, address, mask): more addresses an active record blocks (a mask only ever grows). A
        record that had none (an sms opt-out of a contact without a mobile) is now listed under the first."""
        account = self.account_id
        self._conn.executemany(
            "INSERT INTO optout_addresses (optout_id, account_id, address, mask) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (optout_id, address) DO UPDATE SET mask = optout_addresses.mask | excluded.mask",
            [(optout_id, account, address, mask) for optout_id, address, mask in rows])
        self._conn.executemany("UPDATE optouts SET address = ? WHERE account_id = ? AND id = ? AND address IS NULL",
                               [(address, account, optout_id) for optout_id, address, _ in rows])

    def bind_optouts(self, pairs: Sequence[tuple[int, str]]) -> None:
        """(contact id, address): address-only opt-outs now belong to the contact that has the address."""
        self._conn.executemany(
            "UPDATE optouts SET contact_id = ? WHERE account_id = ? AND contact_id IS NULL AND address = ?",
            [(cid, self.account_id, addr) for cid, addr in pairs])

    def lift_optouts(self, ids: Sequence[int], *, now: str, by: str, reason: str) -> None:
        """Mark records restored (they stay, as the audit trail of who lifted them and why); their address
        rows stop counting with them."""
        self._conn.executemany(
            "UPDATE optouts SET restored_at = ?, restored_by = ?, restore_reason = ? WHERE account_id = ? AND id = ?",
            [(now, by, reason, self.account_id, i) for i in ids])
