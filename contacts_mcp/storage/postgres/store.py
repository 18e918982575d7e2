"""The Store on PostgreSQL: many server processes, one database.

A unit of work runs whole on a pooled connection, in a worker thread (psycopg's blocking API: one hop
per unit, as on SQLite). A write unit is one READ COMMITTED transaction that first takes its account's
transaction-scoped advisory lock: write units of one account are serialised across every process (the
writer model's rule 1, storage/api.py), those of different accounts run side by side. Having waited for
the lock, the unit's statements see everything committed before it (READ COMMITTED takes a snapshot per
statement), so what it reads, decides and settles (the maintained statistics) stays exact. A read unit
is one REPEATABLE READ, READ ONLY transaction: one snapshot.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from typing import Any, TypeVar

import anyio
import psycopg
from psycopg_pool import ConnectionPool

from ..sqlite.accounts import Accounts, token, version
from ..sqlite.events import due_delivery_ids, lease_deliveries
from ..sqlite.imports import expired_exports, pending_jobs
from .connection import Connection, configure
from .migrations import migrate
from .queries import Reader, Writer
from .versions import Versions

T = TypeVar("T")
POOL_SIZE = 8
WRITE_LOCK = 0x77726974  # the advisory lock class of account write units ("writ"); the account id is the key
CLAIM_LOCK = 0x636C6169  # ... and of claims on background work ("clai"), keyed by a hash of the work's name


class _Claim:
    """A session advisory lock on a connection of its own, held while the work runs: released when the
    work ends, or by the server the moment this process's connection drops (a crash, a SIGKILL)."""

    def __init__(self, conn: psycopg.Connection) -> None:
        self._conn = conn

    async def held(self) -> bool:
        # A session's advisory lock lasts as long as the session: a live connection still holds it.
        def alive() -> bool:
            try:
                self._conn.execute("SELECT 1").fetchall()
                return True
            except psycopg.Error:
                return False

        return not self._conn.closed and await anyio.to_thread.run_sync(alive)

    async def release(self) -> None:
        await anyio.to_thread.run_sync(self._conn.close)  # closing the session releases its locks


# UTC, so timestamptz values come back as the '…Z' strings core wrote (connection._IsoTime). Custom plans only:
# psycopg prepares a statement run often, and a generic plan made while an import's table was still small
# kept scanning it whole once it held 100,000 rows (2.4 s a lookup instead of 0.1 ms).
SESSION = {"autocommit": True, "options": "-c TimeZone=UTC -c plan_cache_mode=force_custom_plan"}


def _connect(url: str) -> psycopg.Connection:
    """A connection of its own, outside the pools (migrations, claims, the event loop's lookups)."""
    return psycopg.connect(url, **SESSION)


def _transaction(raw: psycopg.Connection, begin: str, fn: Callable[..., T], *args: Any) -> T:
    """`fn(*args)` in the transaction `begin` opens, committed if it returns, rolled back if it raises. `begin`
    is sent as it is (integers only, never a caller's text): opening a unit costs one round trip."""
    raw.execute(begin)
    try:
        result = fn(*args)
    except BaseException:
        with contextlib.suppress(psycopg.Error):  # a broken connection: the pool discards it
            raw.execute("ROLLBACK")
        raise
    raw.execute("COMMIT")
    return result


def _write_unit(raw: psycopg.Connection, account_id: int, fn: Callable[[Writer], T]) -> T:
    def unit() -> T:
        w = Writer(Connection(raw), account_id)
        result = fn(w)
        w.settle()  # the maintained statistics, in the same transaction as the changes they count
        return result

    # The account's write lock first: every statement after it sees what the account's last unit committed.
    return _transaction(raw, f"BEGIN; SELECT pg_advisory_xact_lock({WRITE_LOCK}, {int(account_id)})", unit)


def _read_unit(raw: psycopg.Connection, account_id: int, fn: Callable[[Reader], T]) -> T:
    return _transaction(raw, "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY",
                        lambda: fn(Reader(Connection(raw), account_id)))


def _plain_write(raw: psycopg.Connection, fn: Callable[..., T], *args: Any) -> T:
    """`fn(conn, *args)` in one transaction, no account bound (administration)."""
    return _transaction(raw, "BEGIN", fn, Connection(raw), *args)


def _plain_read(raw: psycopg.Connection, fn: Callable[..., T], *args: Any) -> T:
    return _transaction(raw, "BEGIN READ ONLY", fn, Connection(raw), *args)


class _Pool:
    """Pooled connections and the worker threads that use them, one unit at a time each."""

    def __init__(self, url: str, size: int, name: str, versions: Versions) -> None:
        def setup(conn: psycopg.Connection) -> None:
            configure(conn)
            versions.attach(conn)

        self.pool = ConnectionPool(url, min_size=1, max_size=size, kwargs=SESSION,
                                   configure=setup, open=False, name=name)
        self.limit = anyio.CapacityLimiter(size)

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        def unit() -> T:
            with self.pool.connection() as raw:
                return fn(raw, *args)

        return await anyio.to_thread.run_sync(unit, limiter=self.limit)


class Store:
    # Reads and writes draw on pools of their own: a write may wait for its account's lock, and twenty such
    # writes must not hold every connection while reads, which never wait for it, queue behind them.
    def __init__(self, url: str, size: int = POOL_SIZE) -> None:
        self.url = url
        self._now_lock = threading.Lock()  # the event loop's own connection (token, version): one user at a time
        self._now: psycopg.Connection | None = None
        self._closed = False
        self._gates: dict[int, anyio.Lock] = {}  # per account: see write()
        self._versions = Versions(lambda: _connect(url), lambda name, account: self._at_once(version, name, account))
        self._reads = _Pool(url, size, "contacts-mcp-reads", self._versions)
        self._writes = _Pool(url, size, "contacts-mcp-writes", self._versions)

    @classmethod
    async def open(cls, url: str, *, size: int = POOL_SIZE) -> Store:
        """Connect, and bring the schema up to date (one process at a time: see migrations)."""
        def start() -> Store:
            with _connect(url) as conn:
                migrate(conn)
            store = cls(url, size)
            for pool in (store._reads, store._writes):
                pool.pool.open(wait=True, timeout=30)
            return store

        return await anyio.to_thread.run_sync(start)

    def _check_open(self) -> None:
        if self._closed:
            raise psycopg.OperationalError("the store is closed")

    async def _run(self, pool: _Pool, fn: Callable[..., T], *args: Any) -> T:
        self._check_open()
        return await pool.run(fn, *args)

    async def write(self, account_id: int, fn: Callable[[Writer], T], *, small: bool = False) -> T:
        # Write units of one account wait for one another here first, in the event loop: only one of this
        # process's units of an account at a time holds a connection and waits for the account's lock.
        gate = self._gates.get(account_id)
        if gate is None:
            gate = self._gates[account_id] = anyio.Lock()
        try:
            async with gate:
                return await self._run(self._writes, _write_unit, account_id, fn)
        finally:
            if not gate.locked() and not gate.statistics().tasks_waiting:
                self._gates.pop(account_id, None)

    async def read(self, account_id: int, fn: Callable[[Reader], T]) -> T:
        return await self._run(self._reads, _read_unit, account_id, fn)

    async def admin(self, fn: Callable[[Accounts], T], *, write: bool = True) -> T:
        return await self._run(self._writes if write else self._reads, _plain_write if write else _plain_read,
                               lambda conn: fn(Accounts(conn)))

    async def claim(self, name: str) -> _Claim | None:
        def take() -> _Claim | None:
            conn = _connect(self.url)
            try:
                [(held,)] = conn.execute("SELECT pg_try_advisory_lock(%s, hashtext(%s))", [CLAIM_LOCK, name]).fetchall()
            except BaseException:
                conn.close()
                raise
            if held:
                return _Claim(conn)
            conn.close()
            return None

        self._check_open()
        return await anyio.to_thread.run_sync(take)

    async def pending_jobs(self) -> list[tuple[int, str]]:
        return await self._run(self._reads, _plain_read, pending_jobs)

    async def expired_exports(self, now: str) -> list[tuple[int, str, str]]:
        return await self._run(self._reads, _plain_read, expired_exports, now)

    async def stream(self, account_id: int, fn: Callable[[Reader], T]) -> T:
        def unit() -> T:
            raw = _connect(self.url)  # not a pooled one: an export may read for minutes
            try:
                configure(raw)
                return _read_unit(raw, account_id, fn)
            finally:
                raw.close()

        self._check_open()
        return await anyio.to_thread.run_sync(unit)

    async def claim_deliveries(self, now: str, until: str, limit: int) -> list[dict[str, Any]]:
        ids = await self._run(self._reads, _plain_read, due_delivery_ids, now, limit)
        if not ids:
            return []
        # Rows another process is leasing at this moment are skipped, not waited for.
        return await self._run(self._writes, _plain_write, lease_deliveries, ids, now, until, "FOR UPDATE SKIP LOCKED")

    def _at_once(self, fn: Callable[..., T], *args: Any) -> T:
        """A one-row primary-key read on the caller's thread (the verifier's token, a cache version): a
        round trip to the server, cheaper than the hop to a worker thread and back."""
        self._check_open()
        with self._now_lock:
            if self._now is None or self._now.closed:
                self._now = _connect(self.url)
                configure(self._now)
            return fn(Connection(self._now), *args)

    def token(self, token_id: str) -> dict[str, Any] | None:
        return self._at_once(token, token_id)

    def version(self, name: str, account_id: int = 0) -> int:
        self._check_open()
        return self._versions.get(name, account_id)

    async def checkpoints(self, every: float = 1.0) -> None:
        """Nothing to do here: PostgreSQL checkpoints itself."""
        await anyio.sleep_forever()

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        await anyio.to_thread.run_sync(self._versions.close)
        for pool in (self._reads, self._writes):
            await anyio.to_thread.run_sync(pool.pool.close)
        with self._now_lock:
            if self._now is not None:
                self._now.close()
