"""Events, webhook subscriptions and their deliveries, and double opt-in confirmations."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from .session import Session, chunks, marks


class EventReads(Session):
    def list_events(self, *, type: str | None, contact_id: int | None, since: str | None, until: str | None,
                    after_id: int | None, limit: int) -> list[dict[str, Any]]:
        where, params = ["account_id = ?"], [self.account_id]
        for sql, value in (("type = ?", type), ("contact_id = ?", contact_id), ("created_at >= ?", since),
                           ("created_at < ?", until), ("id > ?", after_id)):
            if value is not None:
                where.append(sql)
                params.append(value)
        rows = self._all(f"SELECT * FROM events WHERE {' AND '.join(where)} ORDER BY id LIMIT ?", [*params, limit])
        for r in rows:
            r["data"] = json.loads(r["data"])
        return rows

    def webhooks(self, ids: Sequence[int] | None = None) -> list[dict[str, Any]]:
        rows = (self._all("SELECT * FROM webhooks WHERE account_id = ? ORDER BY id", [self.account_id]) if ids is None
                else sorted(self._rows_by_ids("webhooks", ids), key=lambda r: r["id"]))
        for r in rows:
            r["event_types"] = json.loads(r["event_types"])
        return rows

    def delivery_counts(self, webhook_ids: Sequence[int]) -> dict[int, dict[str, int]]:
        out: dict[int, dict[str, int]] = {i: {} for i in webhook_ids}
        for part in chunks(list(webhook_ids)):
            for r in self._all(f"SELECT webhook_id, status, COUNT(*) AS n FROM webhook_deliveries WHERE account_id = ? "
                               f"AND webhook_id IN ({marks(len(part))}) GROUP BY 1, 2", [self.account_id, *part]):
                out[r["webhook_id"]][r["status"]] = r["n"]
        return out

    def recent_deliveries(self, webhook_id: int, limit: int) -> list[dict[str, Any]]:
        return self._all("SELECT d.*, e.type FROM webhook_deliveries d JOIN events e ON e.id = d.event_id "
                         "WHERE d.account_id = ? AND d.webhook_id = ? ORDER BY d.id DESC LIMIT ?",
                         [self.account_id, webhook_id, limit])

    def confirmation(self, token_hash: str) -> dict[str, Any] | None:
        return self._one("SELECT * FROM confirmations WHERE account_id = ? AND token_hash = ?",
                         [self.account_id, token_hash])


class EventWrites(EventReads):
    def insert_events(self, rows: Sequence[tuple[str, int | None, str | None, dict]], now: str) -> None:
        """(type, contact id, email, data) events, and a pending delivery for each webhook wanting the type."""
        if not rows:
            return
        ids = self._new_ids("events", len(rows))
        self._conn.executemany(
            "INSERT INTO events (id, account_id, type, contact_id, email, data, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [(event_id, self.account_id, t, cid, email, json.dumps(data, separators=(",", ":")), now)
             for event_id, (t, cid, email, data) in zip(ids, rows)])
        self._queue_deliveries(ids[0], now)

    def insert_contact_events(self, type: str, contact_ids: Sequence[int], now: str) -> None:
        """One `type` event per contact (an event key on an import or bulk upsert), with its id, email and, in
        data, its SMS number and its key: the email, else the mobile."""
        if not contact_ids:
            return
        # Every id the inserts below take is above this one: ids rise, and this account's writes are serialised.
        [first] = self._new_ids("events", 1)
        for part in chunks(list(contact_ids)):
            self._run(f"INSERT INTO events (account_id, type, contact_id, email, data, created_at) "
                      f"SELECT account_id, ?, id, email, {self.CONTACT_EVENT_DATA}, ? "
                      f"FROM contacts WHERE account_id = ? AND id IN ({marks(len(part))}) ORDER BY id",
                      [type, now, self.account_id, *part])
        self._queue_deliveries(first, now)

    def _queue_deliveries(self, first: int, now: str) -> None:
        # One set-based insert per webhook: a million-line import with an event key stays a few statements.
        for hook in self.webhooks():
            types = hook["event_types"]
            self._run(
                f"INSERT INTO webhook_deliveries (account_id, webhook_id, event_id, status, next_attempt_at) "
                f"SELECT account_id, ?, id, 'pending', ? FROM events WHERE account_id = ? AND id >= ? "
                f"AND ({'1 = 1' if '*' in types else f'type IN ({marks(len(types))})'})",
                [hook["id"], now, self.account_id, first, *([] if "*" in types else types)])

    def insert_webhook(self, url: str, event_types: list[str], secret: str, now: str) -> int:
        return self._value("INSERT INTO webhooks (account_id, url, event_types, secret, created_at) "
                           "VALUES (?, ?, ?, ?, ?) RETURNING id", [self.account_id, url, json.dumps(event_types), secret, now])

    def delete_webhook(self, webhook_id: int) -> int:
        return self._run("DELETE FROM webhooks WHERE account_id = ? AND id = ?", [self.account_id, webhook_id])

    def record_attempt(self, delivery_id: int, *, ok: bool, final: bool, status: int | None, error: str | None,
                       now: str, next_at: str) -> None:
        state = "delivered" if ok else ("failed" if final else "pending")
        self._run("UPDATE webhook_deliveries SET status = ?, attempts = attempts + 1, last_status = ?, last_error = ?, "
                  "next_attempt_at = ?, delivered_at = ? WHERE account_id = ? AND id = ?",
                  [state, status, error, next_at, now if ok else None, self.account_id, delivery_id])

    def insert_confirmation(self, token_hash: str, contact_id: int, form_type: str | None, now: str,
                            expires_at: str) -> None:
        self._run("INSERT INTO confirmations (token_hash, account_id, contact_id, form_type, created_at, expires_at) "
                  "VALUES (?, ?, ?, ?, ?, ?)", [token_hash, self.account_id, contact_id, form_type, now, expires_at])

    def use_confirmation(self, token_hash: str, now: str) -> int:
        """Marks the token used; 0 when it was already used (single use, even under races)."""
        return self._run("UPDATE confirmations SET used_at = ? WHERE account_id = ? AND token_hash = ? "
                         "AND used_at IS NULL", [now, self.account_id, token_hash])

    def set_status(self, contact_id: int, status: str, now: str) -> None:
        self._touch([contact_id])
        self._run("UPDATE contacts SET status = ?, updated_at = ? WHERE account_id = ? AND id = ?",
                  [status, now, self.account_id, contact_id])


DELIVERIES = ("SELECT d.id, d.account_id, d.attempts, w.url, w.secret, e.id AS event_id, e.type, e.contact_id, e.email, "
              "e.data, e.created_at FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id "
              "JOIN events e ON e.id = d.event_id")


def due_delivery_ids(conn: Any, now: str, limit: int) -> list[int]:
    """Deliveries to attempt now, across accounts (the webhook sender's poll: a read, most often empty)."""
    return [r[0] for r in conn.execute(
        "SELECT id FROM webhook_deliveries WHERE status = 'pending' AND next_attempt_at <= ? "
        "ORDER BY next_attempt_at, id LIMIT ?", [now, limit]).fetchall()]


def lease_deliveries(conn: Any, ids: list[int], now: str, until: str, lock: str = "") -> list[dict[str, Any]]:
    """Those of `ids` still due, leased to the caller until `until` (their next attempt moved there, so no
    other sender takes them meanwhile; one that dies mid-attempt leaves them to be tried again then), with
    their URL and event. `lock`: the row-lock clause that lets concurrent senders skip each other's rows."""
    if not ids:
        return []
    taken = [r[0] for r in conn.execute(
        f"UPDATE webhook_deliveries SET next_attempt_at = ? WHERE id IN (SELECT id FROM webhook_deliveries "
        f"WHERE id IN ({marks(len(ids))}) AND status = 'pending' AND next_attempt_at <= ? {lock}) RETURNING id",
        [until, *ids, now]).fetchall()]
    if not taken:
        return []
    return [dict(r) for r in conn.execute(f"{DELIVERIES} WHERE d.id IN ({marks(len(taken))}) ORDER BY d.id",
                                          taken).fetchall()]
