"""The Store: the one async interface core/ uses to reach the database.

One connection owns every write (`Store.write`, serialised by a lock, `BEGIN IMMEDIATE`); reads go
through a small pool of read connections (`Store.read`), each read a consistent WAL snapshot.
Both hand out a session bound to one account.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiosqlite
import anyio

from .contacts import ContactReads, ContactWrites
from .lists import ListReads, ListWrites
from .migrations import migrate

READERS = 3


class Reader(ContactReads, ListReads):
    """Read queries, bound to one account."""


class Writer(ContactWrites, ListWrites, Reader):
    """Read and write queries inside one write transaction, bound to one account."""

    @asynccontextmanager
    async def savepoint(self) -> AsyncIterator[None]:
        """Undo only this block's writes if it raises (per-item isolation in bulk calls)."""
        await self._conn.execute("SAVEPOINT item")
        try:
            yield
        except BaseException:
            with anyio.CancelScope(shield=True):
                await self._conn.execute("ROLLBACK TO item")
                await self._conn.execute("RELEASE item")
            raise
        else:
            await self._conn.execute("RELEASE item")


async def _connect(path: Path) -> aiosqlite.Connection:
    conn = await aiosqlite.connect(path, isolation_level=None)  # transactions are explicit
    conn.row_factory = aiosqlite.Row
    await conn.execute("PRAGMA busy_timeout = 10000")
    await conn.execute("PRAGMA foreign_keys = ON")
    await conn.execute("PRAGMA synchronous = NORMAL")
    return conn


class Store:
    def __init__(self, path: Path, writer: aiosqlite.Connection, readers: list[aiosqlite.Connection]) -> None:
        self.path = path
        self._writer = writer
        self._write_lock = anyio.Lock()
        self._readers = readers
        self._free = anyio.Semaphore(len(readers))

    @classmethod
    async def open(cls, path: Path | str) -> Store:
        """Open (creating if needed) the database file and bring its schema up to date."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        writer = await _connect(path)
        await writer.execute("PRAGMA journal_mode = WAL")
        await migrate(writer)
        readers = [await _connect(path) for _ in range(READERS)]
        return cls(path, writer, readers)

    async def close(self) -> None:
        for conn in [self._writer, *self._readers]:
            await conn.close()

    @asynccontextmanager
    async def write(self, account_id: int) -> AsyncIterator[Writer]:
        """One write transaction: committed when the block ends, rolled back entirely if it raises."""
        async with self._write_lock:
            await self._writer.execute("BEGIN IMMEDIATE")
            try:
                yield Writer(self._writer, account_id)
            except BaseException:
                # Shielded: a cancelled caller must still leave no half-written data behind.
                with anyio.CancelScope(shield=True):
                    await self._writer.execute("ROLLBACK")
                raise
            with anyio.CancelScope(shield=True):
                await self._writer.execute("COMMIT")

    @asynccontextmanager
    async def read(self, account_id: int) -> AsyncIterator[Reader]:
        """A consistent snapshot for several queries."""
        async with self._free:
            conn = self._readers.pop()
            try:
                await conn.execute("BEGIN")
                try:
                    yield Reader(conn, account_id)
                finally:
                    with anyio.CancelScope(shield=True):
                        await conn.execute("COMMIT")
            finally:
                self._readers.append(conn)
