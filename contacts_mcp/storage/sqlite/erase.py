"""Erasure: deleting contacts' personal data for good, and the keyed hashes their opt-outs are kept as.

A hashed address is stored where the clear one was (`optout_addresses.address`, `optouts.address`) as
HASHED + hex digest: an email key always holds an '@' and a number starts with '+', so a hash never equals
a clear address. What is hashed and how is decided in core/optouts.py and core/erase.py; here are the queries.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from ..rows import HASHED
from .session import Session, chunks, marks

_HASHED_RANGE = ("h:", "h;")  # every string starting with "h:" sorts in [h:, h;)


class EraseReads(Session):
    def address_secret(self) -> bytes:
        """The server's key for hashing erased addresses (made once by migration 10, never shown)."""
        return bytes.fromhex(self._value("SELECT value FROM server_secrets WHERE name = 'address_hmac'"))

    def has_hashed_addresses(self) -> bool:
        """Whether any active opt-out of the account blocks an address kept only as a hash (an index range)."""
        return bool(self._value(
            "SELECT 1 FROM optout_addresses a JOIN optouts o ON o.id = a.optout_id WHERE a.account_id = ? "
            "AND a.address >= ? AND a.address < ? AND o.restored_at IS NULL LIMIT 1",
            [self.account_id, *_HASHED_RANGE]))

    def optout_addresses_of(self, contact_ids: Sequence[int], addresses: Sequence[str]
                            ) -> list[tuple[int, int | None, str | None, str | None]]:
        """(record id, its contact, its first address, one of its address rows) for every record, lifted
        ones included, of these contacts or holding any of these addresses; a record without address rows
        comes once with None."""
        account = self.account_id
        ids: set[int] = set()
        for part in chunks(list(dict.fromkeys(contact_ids))):
            ids.update(r[0] for r in self._conn.execute(
                f"SELECT id FROM optouts WHERE account_id = ? AND contact_id IN ({marks(len(part))})", [account, *part]))
        for part in chunks(list(dict.fromkeys(addresses))):
            ids.update(r[0] for r in self._conn.execute(
                f"SELECT optout_id FROM optout_addresses WHERE account_id = ? AND address IN ({marks(len(part))})",
                [account, *part]))
            ids.update(r[0] for r in self._conn.execute(
                f"SELECT id FROM optouts WHERE account_id = ? AND address IN ({marks(len(part))})", [account, *part]))
        out: list[tuple[int, int | None, str | None, str | None]] = []
        for part in chunks(sorted(ids)):
            out += [tuple(r) for r in self._conn.execute(
                f"SELECT o.id, o.contact_id, o.address, a.address FROM optouts o LEFT JOIN optout_addresses a "
                f"ON a.optout_id = o.id WHERE o.account_id = ? AND o.id IN ({marks(len(part))})", [account, *part])]
        return out  # type: ignore[return-value]

    def import_error_rows(self) -> Iterator[tuple[str, int, Any, str]]:
        """(job id, line, values as read, reason) of every rejected import line of the account."""
        for job_id, line, data, reason in self._conn.execute(
                "SELECT job_id, line, data, reason FROM import_errors WHERE account_id = ?", [self.account_id]).fetchall():
            yield job_id, line, json.loads(data), reason


class EraseWrites(EraseReads):
    @contextmanager
    def secure_delete(self) -> Iterator[None]:
        """Within: whatever the transaction deletes or overwrites is zeroed in the file, whole freed pages
        included (the writer otherwise runs with secure_delete=FAST: freed cells only)."""
        self._conn.execute("PRAGMA secure_delete = ON").fetchall()
        try:
            yield
        finally:
            self._conn.execute("PRAGMA secure_delete = FAST").fetchall()

    def hash_optout_addresses(self, rows: Sequence[tuple[int, str, str]]) -> None:
        """(record id, clear address, its hash): the address replaced by its hash in the record (merged
        into the hash's row if the record holds both, as one re-created after an erasure may)."""
        account = self.account_id
        self._conn.executemany(
            "INSERT INTO optout_addresses (optout_id, account_id, address, mask) SELECT optout_id, account_id, ?, mask "
            "FROM optout_addresses WHERE account_id = ? AND optout_id = ? AND address = ? "
            "ON CONFLICT (optout_id, address) DO UPDATE SET mask = optout_addresses.mask | excluded.mask",
            [(h, account, i, a) for i, a, h in rows])
        self._conn.executemany("DELETE FROM optout_addresses WHERE account_id = ? AND optout_id = ? AND address = ?",
                               [(account, i, a) for i, a, _ in rows])
        self._conn.executemany("UPDATE optouts SET address = ? WHERE account_id = ? AND id = ? AND address = ?",
                               [(h, account, i, a) for i, a, h in rows])

    def unlink_optouts(self, contact_ids: Sequence[int]) -> None:
        """The records of erased contacts belong to nobody now (they block by address only)."""
        for part in chunks(list(contact_ids)):
            self._run(f"UPDATE optouts SET contact_id = NULL WHERE account_id = ? AND contact_id IN ({marks(len(part))})",
                      [self.account_id, *part])

    def delete_import_errors(self, keys: Sequence[tuple[str, int]]) -> None:
        self._conn.executemany("DELETE FROM import_errors WHERE account_id = ? AND job_id = ? AND line = ?",
                               [(self.account_id, job_id, line) for job_id, line in keys])

    def erase_contacts(self, ids: Sequence[int]) -> int:
        """Delete contacts for good with their memberships and confirmation tokens; their events stay
        (type, time, contact id) without email or data. Returns how many were deleted."""
        self._touch(ids)  # the maintained statistics lose what they counted for
        account, deleted = self.account_id, 0
        for part in chunks(list(dict.fromkeys(ids))):
            where = f"account_id = ? AND contact_id IN ({marks(len(part))})"
            for table in ("list_members", "segment_members", "confirmations", "list_unsubscribes"):
                self._run(f"DELETE FROM {table} WHERE {where}", [account, *part])
            self._run(f"UPDATE events SET email = NULL, data = '{{}}' WHERE {where}", [account, *part])
            deleted += self._run(f"DELETE FROM contacts WHERE account_id = ? AND id IN ({marks(len(part))})",
                                 [account, *part])
        return deleted

    def insert_erasure(self, *, erased_by: str, reason: str, contact_ids: Sequence[int], now: str) -> None:
        self._run("INSERT INTO erasures (account_id, erased_by, reason, erased, contact_ids, max_contact_id, created_at) "
                  "VALUES (?, ?, ?, ?, ?, ?, ?)", [self.account_id, erased_by, reason, len(contact_ids),
                                                   json.dumps(sorted(contact_ids)), max(contact_ids), now])
