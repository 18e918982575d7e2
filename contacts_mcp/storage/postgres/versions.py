"""Cache versions (storage/api.py, rule 5) kept in the process until PostgreSQL says one was raised.

Every request reads a version or two (the tokens', the account's fields'): a round trip each, made on the
event loop's thread, was a fifth of a create_contact's time. The triggers that raise a version also
NOTIFY the channel below when their transaction commits (migration 004); a thread of this class LISTENs
on a connection of its own and forgets every version it kept when a notification comes. While it is not
listening (starting, or its connection lost until it reconnects), nothing is kept: every read goes to
the database, as before.

The pooled connections LISTEN too (`attach`): a session receives its own notification with its COMMIT's
answer, so a process that raised a version has forgotten it before its write returns (read your writes);
other processes hear of it within a fraction of a millisecond, through their listening thread.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import psycopg

CHANNEL = "contacts_mcp_versions"


class Versions:
    def __init__(self, connect: Callable[[], psycopg.Connection], read: Callable[[str, int], int]) -> None:
        self._connect = connect
        self._read = read  # the version from the database
        self._kept: dict[tuple[str, int], int] = {}
        self._lock = threading.Lock()
        self._generation = 0  # raised by every notification (and by losing the connection)
        self._listening = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._listen, name="contacts-mcp-versions", daemon=True)
        self._thread.start()

    def get(self, name: str, account_id: int) -> int:
        key = (name, account_id)
        with self._lock:
            if key in self._kept:
                return self._kept[key]
            generation = self._generation
        value = self._read(name, account_id)
        with self._lock:
            # Kept only if no notification came while it was read: the value read might predate it.
            if self._listening and generation == self._generation:
                self._kept[key] = value
        return value

    def attach(self, conn: psycopg.Connection) -> None:
        """Have a pooled connection's notifications forget the kept versions too (see the module)."""
        conn.add_notify_handler(lambda _: self._forget())
        conn.execute(f"LISTEN {CHANNEL}")

    def _forget(self, listening: bool | None = None) -> None:
        with self._lock:
            self._kept.clear()
            self._generation += 1
            if listening is not None:
                self._listening = listening

    def _listen(self) -> None:
        while not self._stop.is_set():
            try:
                with self._connect() as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    self._forget(listening=True)  # what was read before LISTEN may have missed a notification
                    while not self._stop.is_set():
                        for _ in conn.notifies(timeout=0.5):
                            self._forget()
            except psycopg.Error:
                self._forget(listening=False)
                self._stop.wait(1.0)  # then connect again
        self._forget(listening=False)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
