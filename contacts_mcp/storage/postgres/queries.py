"""The repositories on PostgreSQL: the shared queries (storage/sqlite/'s mixins, in the SQL both databases
speak, run through connection.Connection) with PostgreSQL's own spelling where the two differ.

Ids come from the identity sequences: never reused, whichever process inserts, and rising, so a unit
that holds its account's write lock (store.py) gets ids above every id its account has.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from ..sqlite.contacts import ContactReads, ContactWrites
from ..sqlite.erase import EraseReads, EraseWrites
from ..sqlite.events import EventReads, EventWrites
from ..sqlite.fields import FieldReads, FieldWrites
from ..sqlite.imports import ImportReads, ImportWrites
from ..sqlite.lists import ListReads, ListWrites
from ..sqlite.optouts import OptoutReads, OptoutWrites
from ..sqlite.segments import SegmentReads, SegmentWrites
from ..sqlite.session import Session
from ..sqlite.stats import StatsReads, StatsWrites


class PostgresSession(Session):
    CONTACT_EVENT_DATA = ("jsonb_build_object('key', COALESCE(email, mobile)) || CASE WHEN mobile IS NULL "
                          "THEN '{}'::jsonb ELSE jsonb_build_object('sms', mobile) END")

    def _new_ids(self, table: str, n: int) -> Sequence[int]:
        if n <= 0:
            return []
        rows = self._conn.execute(f"SELECT nextval(pg_get_serial_sequence('{table}', 'id')) "
                                  f"FROM generate_series(1, ?)", [n]).fetchall()
        return [r[0] for r in rows]

    @staticmethod
    def _attribute(name: str) -> tuple[str, str]:
        return "(c.attributes ->> ?)", name


class PostgresWrites(PostgresSession):
    """Write queries whose SQLite spelling differs; first in the Writer's bases, so they win."""

    def _remove_attribute(self, name: str) -> int:
        return self._run("UPDATE contacts SET attributes = attributes - ? WHERE account_id = ? "
                         "AND attributes ->> ? IS NOT NULL", [name, self.account_id, name])

    def reserve_contact_ids(self, n: int) -> Sequence[int]:
        return self._new_ids("contacts", n)

    @contextmanager
    def secure_delete(self) -> Iterator[None]:
        """Nothing to switch on: a deleted or overwritten row version stays in the table's pages until
        VACUUM (autovacuum, soon after) reclaims it, and VACUUM cannot run inside the transaction. The
        README's operating section says so; an operator wanting it at once runs VACUUM on contacts."""
        yield


class Reader(PostgresSession, ContactReads, OptoutReads, ListReads, FieldReads, ImportReads, SegmentReads,
             EventReads, StatsReads, EraseReads):
    """Read queries, bound to one account."""


class Writer(PostgresWrites, ContactWrites, OptoutWrites, ListWrites, FieldWrites, ImportWrites, SegmentWrites,
             EventWrites, EraseWrites, StatsWrites, Reader):
    """Read and write queries inside one write transaction, bound to one account."""
