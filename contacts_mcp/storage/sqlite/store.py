"""The Store: the one async interface core/ uses to reach the database.

A unit of work is a plain synchronous function that receives a session bound to one account and runs
whole on a connection's own thread: `await store.write(account, fn)` inside one `BEGIN IMMEDIATE`
transaction on the single writer connection (datasette's pattern: one connection owns writes), and
`await store.read(account, fn)` inside one WAL snapshot on one of a few read connections.

Why whole functions and not one await per query: handing a query to the connection's thread and back
costs ~95 µs here, against ~1 µs for a small query itself, so a create that makes eight queries
would spend almost all its time in hand-offs. One hop per unit of work also means a transaction can
never be interleaved with another coroutine's: the writer thread runs units one after the other.

A *small* write (one contact, one list: a few rows by key, `write(..., small=True)`) skips even that
one hop when the writer is idle: it runs right away on the event loop, on the same writer connection,
under the lock the writer thread takes for each unit. It never waits there: if the writer thread is
busy, or another process holds the database's write lock, it queues for the thread like any unit.

Reads are handled the other way round, since the caller cannot always know in advance whether a read
is small (a search that matches early reads a few rows; one that matches nothing scans the base). Each
read first runs on the event loop's own read connection with a budget of SQLite work
(INLINE_READ_BUDGET); if it needs more, SQLite stops it, and it runs again whole on a reader thread.
Most reads end within the budget, so they make no hop at all; a scan costs the loop at most the budget.
"""

from __future__ import annotations

import asyncio
import queue
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import anyio

from .accounts import Accounts, token, version
from .contacts import ContactReads, ContactWrites
from .erase import EraseReads, EraseWrites
from .events import EventReads, EventWrites, due_delivery_ids, lease_deliveries
from ..tree import fold
from .fields import FieldReads, FieldWrites
from .exports import ExportReads
from .filters import FilterSql, PlanWrites
from .imports import ImportReads, ImportWrites, expired_exports, pending_jobs
from .lists import ListReads, ListWrites
from .migrations import migrate
from .optouts import OptoutReads, OptoutWrites
from .segments import SegmentReads, SegmentWrites
from .session import Session
from .stats import StatsReads, StatsWrites

T = TypeVar("T")
READERS = 3
WAL_AUTOCHECKPOINT = 10000  # pages (~40 MB)
BUSY_TIMEOUT_MS = 10000
INLINE_READ_BUDGET = 0.002  # seconds of SQLite work a read may do on the event loop (see the docstring)
PROGRESS_STEPS = 1000  # SQLite VM steps between two looks at the clock during such a read


class Reader(ContactReads, OptoutReads, ListReads, FieldReads, ImportReads, SegmentReads, EventReads, StatsReads,
             EraseReads, ExportReads):
    """Read queries, bound to one account."""


class Writer(ContactWrites, OptoutWrites, ListWrites, FieldWrites, ImportWrites, SegmentWrites, EventWrites,
             EraseWrites, StatsWrites, PlanWrites, Reader):
    """Read and write queries inside one write transaction, bound to one account."""


class _InProcess:
    """A claim with one process on the file: the job runner never starts a job twice itself."""

    async def held(self) -> bool:
        return True

    async def release(self) -> None:
        pass


class _Busy(Exception):
    """Another connection holds the database's write lock (a small write then queues for the thread)."""


def _transaction(conn: sqlite3.Connection, fn: Callable[..., T], *args: object, wait: bool = True) -> T:
    """`fn(conn, *args)` in one write transaction: committed if it returns, rolled back if it raises.
    With wait=False, a write lock held elsewhere raises _Busy at once instead of being waited for."""
    if wait:
        conn.execute("BEGIN IMMEDIATE")
    else:
        conn.execute("PRAGMA busy_timeout = 0").fetchall()
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            if exc.sqlite_errorcode & 0xFF != sqlite3.SQLITE_BUSY:
                raise
            raise _Busy from None
        finally:
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}").fetchall()
    try:
        result = fn(conn, *args)
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
    return result


def _write_transaction(conn: sqlite3.Connection, account_id: int, fn: Callable[[Writer], T],
                       wait: bool = True) -> T:
    w = Writer(conn, account_id)

    def unit(_: sqlite3.Connection) -> T:
        result = fn(w)
        w.settle()  # the maintained statistics, in the same transaction as the changes they count
        if w.defer_checkpoint:
            # One big write (a merge of large lists): its caller does not wait for its pages to be copied
            # into the database at commit; the background checkpointer does that a moment later.
            conn.execute("PRAGMA wal_autocheckpoint = 0").fetchall()
        return result

    try:
        return _transaction(conn, unit, wait=wait)
    finally:
        if w.defer_checkpoint:
            conn.execute(f"PRAGMA wal_autocheckpoint = {WAL_AUTOCHECKPOINT}").fetchall()


def _admin_unit(fn: Callable[[Accounts], T]) -> Callable[[sqlite3.Connection], T]:
    return lambda conn: fn(Accounts(conn))


def _passive_checkpoint(conn: sqlite3.Connection) -> None:
    conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()


def _read_snapshot(conn: sqlite3.Connection, account_id: int, fn: Callable[[Reader], T],
                   budget: float | None = None) -> T:
    """`fn` on one snapshot; with a budget (seconds), SQLite stops it (SQLITE_INTERRUPT) once that has passed."""
    conn.execute("BEGIN")
    if budget is not None:
        deadline = time.perf_counter() + budget
        conn.set_progress_handler(lambda: time.perf_counter() > deadline, PROGRESS_STEPS)
    try:
        return fn(Reader(conn, account_id))
    finally:
        if budget is not None:
            conn.set_progress_handler(None, 0)  # before COMMIT, which must not be stopped
        conn.execute("COMMIT")


class _Connection:
    """One SQLite connection and the thread that owns it (datasette's pattern): units of work queue up and
    run one after the other on that thread, and the awaiting caller gets the result. A caller cancelled
    while waiting does not cut a unit short: it runs whole, and its result is dropped."""

    def __init__(self, path: Path, writer: bool) -> None:
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        # Used from its own thread only, except the writer's, also used from the event loop (small
        # writes), never at the same time: Store._writing sees to that. Transactions are explicit.
        self.conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self.closed = False
        self._thread = threading.Thread(target=self._serve, name=f"sqlite-{'writer' if writer else 'reader'}",
                                        daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _serve(self) -> None:
        while (item := self._queue.get()) is not None:
            fn, args, loop, future = item
            try:
                result = fn(self.conn, *args)
            except StopIteration as exc:  # a Future refuses it (its caller would wait forever)
                error = RuntimeError("a unit of work raised StopIteration")
                error.__cause__ = exc
                outcome: tuple[Any, BaseException | None] = (None, error)
            except BaseException as exc:  # noqa: BLE001 - handed to the awaiting caller
                outcome = (None, exc)
            else:
                outcome = (result, None)
            try:
                loop.call_soon_threadsafe(_settle, future, *outcome)
            except RuntimeError:  # the loop is closed: its caller is gone; keep serving the queue
                pass
        self.conn.close()

    async def run(self, fn: Callable[..., T], *args: object) -> T:
        """`fn(conn, *args)` on this connection's thread; after close(), it fails at once."""
        if self.closed:
            raise sqlite3.ProgrammingError("Cannot operate on a closed database.")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._queue.put((fn, args, loop, future))
        return await future

    async def close(self) -> None:
        """Run the units already queued, then close; a second call does nothing."""
        if not self.closed:
            self.closed = True
            self._queue.put(None)
        await anyio.to_thread.run_sync(self._thread.join)


def _settle(future: asyncio.Future[Any], result: Any, exc: BaseException | None) -> None:
    if future.done():  # its caller was cancelled meanwhile
        return
    if exc is not None:
        future.set_exception(exc)
    else:
        future.set_result(result)


def _configure(conn: sqlite3.Connection, writer: bool) -> None:
    conn.row_factory = sqlite3.Row
    # lower() beyond ASCII for a search term that has such letters (Session.FOLD_ANY), as PostgreSQL's does:
    # a Python call per row, so ASCII terms keep the built-in one (SQLite's lower() folds ASCII only).
    conn.create_function(Session.FOLD_ANY, 1, lambda text: text.lower() if text.__class__ is str else text,
                         deterministic=True)
    # Filters' text conditions compare folded (storage/tree.py); the common fields are indexed on it (migration
    # 014), so every connection that writes contacts needs it.
    conn.create_function(FilterSql.FOLD, 1, fold, deterministic=True)
    # Every result is read to the end: a statement left open would block the next COMMIT.
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}").fetchall()
    conn.execute("PRAGMA foreign_keys = ON").fetchall()
    conn.execute("PRAGMA synchronous = NORMAL").fetchall()
    if writer:
        conn.execute("PRAGMA journal_mode = WAL").fetchall()
        # 32 MB of page cache for the one connection that writes: a million contacts carry five indexes,
        # and inserts touch them at random; the default 2 MB makes every batch re-read them from disk.
        conn.execute("PRAGMA cache_size = -32768").fetchall()
        # Cells a write frees are zeroed (no extra I/O): a contact's old values do not linger in the file's
        # free space after an update; an erasure turns it fully on (whole freed pages too), see storage/sqlite/erase.py.
        conn.execute("PRAGMA secure_delete = FAST").fetchall()
        # WAL checkpoints mostly run beside the writer, from a connection of their own (Store.checkpoints),
        # so a big import or merge does not stop at commit to copy pages. The writer still checkpoints
        # past ~40 MB of WAL (by then little is left to copy): that is what lets the WAL restart from
        # its beginning instead of growing with every write of a long import.
        conn.execute(f"PRAGMA wal_autocheckpoint = {WAL_AUTOCHECKPOINT}").fetchall()
        migrate(conn)


async def _connect(path: Path, writer: bool = False) -> _Connection:
    conn = await anyio.to_thread.run_sync(_Connection, path, writer)
    conn.start()
    await conn.run(_configure, writer)
    return conn


class Store:
    def __init__(self, path: Path, writer: _Connection, readers: list[_Connection],
                 checkpointer: _Connection) -> None:
        self.path = path
        self._writer = writer
        self._readers = readers
        self._checkpointer = checkpointer
        self._inline: sqlite3.Connection | None = None  # the event loop's own read connection: see now
        self._writing = threading.Lock()  # held by whoever uses the writer connection: its thread, or the loop
        self._free = anyio.Semaphore(len(readers))
        self._closed = False

    @classmethod
    async def open(cls, path: Path | str) -> Store:
        """Open (creating if needed) the database file and bring its schema up to date."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        writer = await _connect(path, writer=True)
        readers = [await _connect(path) for _ in range(READERS)]
        return cls(path, writer, readers, await _connect(path))

    async def checkpoint(self) -> None:
        """Copy committed WAL pages into the database, without waiting for (or blocking) the writer."""
        await self._checkpointer.run(_passive_checkpoint)

    async def checkpoints(self, every: float = 1.0) -> None:
        """Checkpoint the WAL every `every` seconds, for as long as the caller's task runs."""
        while True:
            await anyio.sleep(every)
            await self.checkpoint()

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        await self.checkpoint()
        for conn in [self._writer, *self._readers, self._checkpointer]:
            await conn.close()
        if self._inline is not None:
            self._inline.close()

    async def write(self, account_id: int, fn: Callable[[Writer], T], *, small: bool = False) -> T:
        """Run `fn` in one write transaction: committed if it returns, rolled back entirely if it raises.
        A caller cancelled while waiting does not cut the transaction short: it completes or rolls back
        whole on the writer thread. `small`: `fn` touches a few rows by key, so it may run right here
        (see the module docstring)."""
        if small and self._writing.acquire(blocking=False):
            try:
                return _write_transaction(self._writer.conn, account_id, fn, wait=False)
            except _Busy:
                pass
            finally:
                self._writing.release()
        return await self._on_writer(_write_transaction, account_id, fn)

    async def claim(self, name: str) -> _InProcess:
        return _InProcess()

    async def pending_jobs(self) -> list[tuple[int, str]]:
        """(account id, job id) of the import jobs to run, across accounts (the job runner's query). A
        read: it need not queue behind the writer, nor hold it (WAL readers see every commit)."""
        return await self._on_reader(pending_jobs)

    async def expired_exports(self, now: str) -> list[tuple[int, str, str]]:
        return await self._on_reader(expired_exports, now)

    async def stream(self, account_id: int, fn: Callable[[Reader], T]) -> T:
        """`fn` on one snapshot, on a connection and thread of its own (see storage/api.py)."""
        def unit() -> T:
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            try:
                _configure(conn, False)
                return _read_snapshot(conn, account_id, fn)
            finally:
                conn.close()

        if self._closed:
            raise sqlite3.ProgrammingError("Cannot operate on a closed database.")
        return await anyio.to_thread.run_sync(unit)

    async def claim_deliveries(self, now: str, until: str, limit: int) -> list[dict]:
        """Webhook deliveries due now, leased until `until` (storage/api.py). The poll is a read; only when
        something is due does the lease take the writer."""
        ids = await self._on_reader(due_delivery_ids, now, limit)
        if not ids:
            return []
        return await self._on_writer(_transaction, lambda conn: lease_deliveries(conn, ids, now, until))

    async def admin(self, fn: Callable[[Accounts], T], *, write: bool = True) -> T:
        """Run an administration unit (accounts, tokens: storage/sqlite/accounts.py) with no account bound:
        in one write transaction, or (write=False) on a reader."""
        unit = _admin_unit(fn)
        if write:
            return await self._on_writer(_transaction, unit)
        return await self._on_reader(unit)

    def token(self, token_id: str) -> dict | None:
        """An API token's row, read at once (a primary-key lookup)."""
        return self.now(token, token_id)

    async def _on_writer(self, fn: Callable[..., T], *args: object) -> T:
        return await self._writer.run(self._locked, fn, *args)

    def _locked(self, conn: sqlite3.Connection, fn: Callable[..., T], *args: object) -> T:
        with self._writing:
            return fn(conn, *args)

    def now(self, fn: Callable[..., T], *args: object) -> T:
        """Run `fn(conn, *args)` for a *small* read (a few index lookups) right here, on the event loop's
        own connection: for such a read the hop to a reader thread and back costs more than the read."""
        if self._closed:  # the inline connection may be closed already, or must not be reopened
            raise sqlite3.ProgrammingError("Cannot operate on a closed database.")
        if self._inline is None:
            self._inline = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            _configure(self._inline, False)
        return fn(self._inline, *args)

    def version(self, name: str, account_id: int = 0) -> int:
        """A cache version ('fields' of an account, 'tokens'), read at once: see storage/api.py."""
        return self.now(version, name, account_id)

    async def read(self, account_id: int, fn: Callable[[Reader], T]) -> T:
        """Run `fn` against one consistent snapshot: on the event loop within a budget of SQLite work,
        else whole again on a reader thread (see the module docstring)."""
        try:
            return self.now(_read_snapshot, account_id, fn, INLINE_READ_BUDGET)
        except sqlite3.OperationalError as exc:
            if exc.sqlite_errorcode != sqlite3.SQLITE_INTERRUPT:  # not stopped for its budget: a real error
                raise
        return await self._on_reader(_read_snapshot, account_id, fn)

    async def _on_reader(self, fn: Callable[..., T], *args: object) -> T:
        async with self._free:
            conn = self._readers.pop()
            try:
                return await conn.run(fn, *args)
            finally:
                self._readers.append(conn)
